/* control.c — see control.h. Command lines are at most 255 bytes; a client
 * that sends more, or nothing within its connection's life, is closed. */
#include "supervisor/control.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct ctl_conn {
	struct control *ctl;
	int fd;
	struct loop_fd *h;
	char line[256];
	size_t len;
	bool held, taken;
	struct ctl_conn *next;
};

struct control {
	struct loop *loop;
	int fd;
	struct loop_fd *h;
	char *path;
	ctl_command_cb cb;
	void *ctx;
	struct ctl_conn *conns;
};

static void conn_free(struct ctl_conn *cc)
{
	for (struct ctl_conn **pp = &cc->ctl->conns; *pp; pp = &(*pp)->next) {
		if (*pp == cc) {
			*pp = cc->next;
			break;
		}
	}
	loop_del_fd(cc->h);
	if (cc->fd >= 0)
		close(cc->fd);
	free(cc);
}

void ctl_reply(struct ctl_conn *cc, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* Replies are short; a client that does not read them loses them. */
	if (send(cc->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("control: reply dropped: %s", strerror(errno));
}

void ctl_hold(struct ctl_conn *cc)
{
	cc->held = true;
}

int ctl_take_fd(struct ctl_conn *cc)
{
	int fd = cc->fd;

	cc->taken = true;
	loop_del_fd(cc->h);
	cc->h = NULL;
	cc->fd = -1;
	return fd;
}

static void conn_event(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct ctl_conn *cc = data;
	struct control *ctl = cc->ctl;
	ssize_t n;
	char *nl;

	n = recv(fd, cc->line + cc->len, sizeof(cc->line) - 1 - cc->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_free(cc); /* EOF: a waiter gave up, or a client left */
		return;
	}
	if (cc->held)
		return; /* waiters say nothing more */
	cc->len += (size_t)n;
	cc->line[cc->len] = '\0';
	nl = strchr(cc->line, '\n');
	if (!nl) {
		if (cc->len == sizeof(cc->line) - 1) {
			ctl_reply(cc, "err command too long");
			conn_free(cc);
		}
		return;
	}
	*nl = '\0';
	ctl->cb(ctl->ctx, cc, cc->line);
	if (cc->taken) {
		conn_free(cc);
		return;
	}
	if (!cc->held)
		conn_free(cc);
}

static void accept_event(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct control *ctl = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ctl_conn *cc;

	if (cfd < 0)
		return;
	cc = calloc(1, sizeof(*cc));
	if (!cc || loop_add_fd(ctl->loop, cfd, EPOLLIN, conn_event, cc, &cc->h)) {
		free(cc);
		close(cfd);
		return;
	}
	cc->ctl = ctl;
	cc->fd = cfd;
	cc->next = ctl->conns;
	ctl->conns = cc;
}

int control_new(struct loop *l, const char *path, ctl_command_cb cb, void *ctx,
		struct control **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *ctl;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		return -ENOMEM;
	}
	strcpy(sa.sun_path, path);
	ctl->loop = l;
	ctl->cb = cb;
	ctl->ctx = ctx;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	old = umask(077);
	r = ctl->fd < 0 || bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    listen(ctl->fd, 16) < 0
		    ? -errno
		    : 0;
	umask(old);
	if (!r)
		r = loop_add_fd(l, ctl->fd, EPOLLIN, accept_event, ctl, &ctl->h);
	if (r) {
		if (ctl->fd >= 0)
			close(ctl->fd);
		free(ctl->path);
		free(ctl);
		return r;
	}
	*out = ctl;
	return 0;
}

void control_notify_all(struct control *ctl, const char *line)
{
	for (struct ctl_conn *cc = ctl->conns, *next; cc; cc = next) {
		next = cc->next;
		if (cc->held) {
			ctl_reply(cc, "%s", line);
			conn_free(cc);
		}
	}
}

void control_free(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->conns)
		conn_free(ctl->conns);
	loop_del_fd(ctl->h);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

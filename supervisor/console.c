/* console.c — see console.h. */
#include "supervisor/console.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_ROTATE_BYTES (8u << 20)
#define CLIENT_MAX_QUEUE (256u << 10)

struct client {
	struct console *con;
	int fd;
	struct loop_fd *h;
	struct buf out;
	struct client *next;
};

struct console {
	struct loop *loop;
	int guest_fd;
	struct loop_fd *guest_h;
	struct buf to_guest;
	char *ring;
	size_t ring_size, ring_pos; /* next write position */
	uint64_t total;
	int log_fd;
	char *log_path;
	uint64_t log_bytes;
	struct client *clients;
};

static void ring_put(struct console *con, const char *p, size_t n)
{
	con->total += n;
	if (n >= con->ring_size) {
		memcpy(con->ring, p + n - con->ring_size, con->ring_size);
		con->ring_pos = 0;
		return;
	}
	size_t first = MIN(n, con->ring_size - con->ring_pos);
	memcpy(con->ring + con->ring_pos, p, first);
	memcpy(con->ring, p + first, n - first);
	con->ring_pos = (con->ring_pos + n) % con->ring_size;
}

size_t console_ring_copy(const struct console *con, char *out, size_t max)
{
	size_t have = con->total < con->ring_size ? (size_t)con->total : con->ring_size;
	size_t start = (con->ring_pos + con->ring_size - have) % con->ring_size;
	size_t n = MIN(have, max), first;

	start = (start + (have - n)) % con->ring_size; /* the newest n bytes */
	first = MIN(n, con->ring_size - start);
	memcpy(out, con->ring + start, first);
	memcpy(out + first, con->ring, n - first);
	return n;
}

uint64_t console_bytes(const struct console *con)
{
	return con->total;
}

static void log_rotate(struct console *con)
{
	char old[4096];

	snprintf(old, sizeof(old), "%s.1", con->log_path);
	close(con->log_fd);
	rename(con->log_path, old);
	con->log_fd = open(con->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	con->log_bytes = 0;
}

static void log_put(struct console *con, const void *p, size_t n)
{
	if (con->log_fd < 0)
		return;
	if (con->log_bytes + n > LOG_ROTATE_BYTES)
		log_rotate(con);
	if (con->log_fd >= 0 && write_all(con->log_fd, p, n) == 0)
		con->log_bytes += n;
}

static void client_free(struct client *cl)
{
	struct console *con = cl->con;

	for (struct client **pp = &con->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	loop_del_fd(cl->h);
	close(cl->fd);
	buf_free(&cl->out);
	free(cl);
}

static void client_flush(struct client *cl)
{
	while (buf_used(&cl->out)) {
		ssize_t n = send(cl->fd, buf_head(&cl->out), buf_used(&cl->out),
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		buf_consume(&cl->out, (size_t)n);
	}
	loop_mod_fd(cl->h, EPOLLIN | (buf_used(&cl->out) ? EPOLLOUT : 0));
}

static void guest_update(struct console *con)
{
	if (con->guest_h)
		loop_mod_fd(con->guest_h, EPOLLIN | (buf_used(&con->to_guest) ? EPOLLOUT : 0));
}

static void guest_flush(struct console *con)
{
	while (con->guest_fd >= 0 && buf_used(&con->to_guest)) {
		ssize_t n = send(con->guest_fd, buf_head(&con->to_guest), buf_used(&con->to_guest),
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		buf_consume(&con->to_guest, (size_t)n);
	}
	guest_update(con);
}

static void client_event(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct client *cl = data;
	char b[4096];

	if (events & EPOLLIN) {
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_free(cl);
			return;
		}
		if (n > 0 && buf_used(&cl->con->to_guest) < CLIENT_MAX_QUEUE) {
			buf_append(&cl->con->to_guest, b, (size_t)n);
			guest_flush(cl->con);
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		client_free(cl);
		return;
	}
	if (events & EPOLLOUT)
		client_flush(cl);
}

static void guest_event(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct console *con = data;
	char b[16384];

	if (events & EPOLLIN) {
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n > 0) {
			ring_put(con, b, (size_t)n);
			log_put(con, b, (size_t)n);
			for (struct client *cl = con->clients, *next; cl; cl = next) {
				next = cl->next;
				if (buf_used(&cl->out) + (size_t)n > CLIENT_MAX_QUEUE ||
				    buf_append(&cl->out, b, (size_t)n)) {
					client_free(cl); /* too slow: drop it, not the guest */
					continue;
				}
				client_flush(cl);
			}
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* The engine went away; the supervisor replaces the guest side. */
			loop_del_fd(con->guest_h);
			con->guest_h = NULL;
			close(con->guest_fd);
			con->guest_fd = -1;
			return;
		}
	}
	if (events & EPOLLOUT)
		guest_flush(con);
}

void console_set_guest(struct console *con, int guest_fd)
{
	if (con->guest_h)
		loop_del_fd(con->guest_h);
	if (con->guest_fd >= 0)
		close(con->guest_fd);
	con->guest_h = NULL;
	con->guest_fd = guest_fd;
	fd_set_nonblock(guest_fd, true);
	if (loop_add_fd(con->loop, guest_fd, EPOLLIN, guest_event, con, &con->guest_h))
		log_err("console: cannot watch the guest side");
}

int console_new(struct loop *l, int guest_fd, const char *log_path, size_t ring_size,
		struct console **out)
{
	struct console *con = calloc(1, sizeof(*con));
	struct stat sb;

	if (!con)
		return -ENOMEM;
	con->loop = l;
	con->guest_fd = -1;
	con->ring_size = ring_size;
	con->ring = malloc(ring_size);
	con->log_path = strdup(log_path);
	if (!con->ring || !con->log_path) {
		free(con->ring);
		free(con->log_path);
		free(con);
		return -ENOMEM;
	}
	con->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (con->log_fd < 0)
		log_warn("console log %s: %s", log_path, strerror(errno));
	else if (fstat(con->log_fd, &sb) == 0)
		con->log_bytes = (uint64_t)sb.st_size;
	console_set_guest(con, guest_fd);
	*out = con;
	return 0;
}

int console_attach(struct console *con, int fd)
{
	struct client *cl = calloc(1, sizeof(*cl));
	size_t have = con->total < con->ring_size ? (size_t)con->total : con->ring_size;
	char *tmp = malloc(have ? have : 1);

	if (!cl || !tmp) {
		free(cl);
		free(tmp);
		close(fd);
		return -ENOMEM;
	}
	cl->con = con;
	cl->fd = fd;
	fd_set_nonblock(fd, true);
	have = console_ring_copy(con, tmp, have);
	if (buf_append(&cl->out, tmp, have) ||
	    loop_add_fd(con->loop, fd, EPOLLIN | EPOLLOUT, client_event, cl, &cl->h)) {
		free(tmp);
		buf_free(&cl->out);
		close(fd);
		free(cl);
		return -ENOMEM;
	}
	free(tmp);
	cl->next = con->clients;
	con->clients = cl;
	return 0;
}

void console_note(struct console *con, const char *fmt, ...)
{
	char line[512], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	int n;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "\n[airlock %s] ", stamp);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	log_put(con, line, (size_t)n);
}

void console_free(struct console *con)
{
	if (!con)
		return;
	while (con->clients)
		client_free(con->clients);
	if (con->guest_h)
		loop_del_fd(con->guest_h);
	if (con->guest_fd >= 0)
		close(con->guest_fd);
	if (con->log_fd >= 0)
		close(con->log_fd);
	buf_free(&con->to_guest);
	free(con->ring);
	free(con->log_path);
	free(con);
}

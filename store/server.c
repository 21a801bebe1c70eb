/* server.c — sockets around the store core.
 *
 * Each iteration of the event loop reads whatever requests arrived and
 * hands complete messages to the core, which queues replies and watch
 * events in the connections' output buffers. Just before the loop sleeps,
 * the prepare hook makes the state durable (store_sync: one fdatasync for
 * every change of the iteration in "power" mode) and only then writes the
 * queued output: no reply or event leaves before the change it reports is
 * on disk (group commit).
 *
 * Memory stays bounded per connection: a request is at most 16 + 4096
 * bytes, input is read into a fixed buffer, and a connection stops being
 * read while it has more unread replies than its domain's "outstanding"
 * quota (or its output exceeds half of max_conn_buffer). A connection whose
 * output still grows past max_conn_buffer — watch events for a client that
 * never reads — is closed, with a warning; nobody else notices.
 */
#include "store/server.h"
#include "common/log.h"
#include "common/buf.h"
#include "common/util.h"
#include "xs/xs_msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define IN_BUF (XS_HDR_SIZE + XS_PAYLOAD_MAX) * 4

struct listener {
	struct server *srv;
	uint32_t domid;
	int fd;
	char *path;
	struct loop_fd *h;
	struct listener *next;
};

struct sconn {
	struct server *srv;
	struct conn *c;
	uint32_t domid;
	int fd;
	struct loop_fd *h;
	uint8_t in[IN_BUF];
	size_t in_len;
	struct buf out;
	unsigned int queued; /* messages queued since the output last drained */
	bool closing;
	struct log_ratelimit rl;
	struct sconn *next;
};

struct server {
	struct loop *loop;
	struct store *st;
	struct server_options o;
	struct listener *listeners;
	struct sconn *conns;
};

static const struct conn_ops sconn_ops;

static void sconn_free(struct sconn *sc)
{
	struct server *srv = sc->srv;

	for (struct sconn **pp = &srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == sc) {
			*pp = sc->next;
			break;
		}
	}
	if (sc->c)
		store_conn_free(sc->c);
	loop_del_fd(sc->h);
	close(sc->fd);
	buf_free(&sc->out);
	free(sc);
}

static bool sconn_paused(const struct sconn *sc)
{
	unsigned lim = store_conn_outstanding_limit(sc->c);

	return (lim && sc->queued >= lim) || buf_used(&sc->out) > sc->srv->o.max_conn_buffer / 2;
}

static void sconn_update_events(struct sconn *sc)
{
	uint32_t ev = 0;

	if (!sconn_paused(sc) && sc->in_len < sizeof(sc->in))
		ev |= EPOLLIN;
	if (buf_used(&sc->out))
		ev |= EPOLLOUT;
	loop_mod_fd(sc->h, ev);
}

/* Hands every complete message in the input buffer to the core. */
static void sconn_process(struct sconn *sc)
{
	size_t off = 0;
	uint8_t payload[XS_PAYLOAD_MAX + 1];

	while (!sc->closing && !sconn_paused(sc) && sc->in_len - off >= XS_HDR_SIZE) {
		struct xs_hdr h;
		if (xs_hdr_decode(sc->in + off, &h)) {
			log_rl(&sc->rl, LOG_LVL_WARN,
			       "domain %u: message of %u bytes exceeds the 4096-byte limit; "
			       "closing the connection",
			       sc->domid, h.len);
			sc->closing = true;
			break;
		}
		if (sc->in_len - off < XS_HDR_SIZE + h.len)
			break;
		memcpy(payload, sc->in + off + XS_HDR_SIZE, h.len);
		payload[h.len] = '\0';
		off += XS_HDR_SIZE + h.len;
		store_conn_request(sc->c, &h, payload);
	}
	if (off) {
		memmove(sc->in, sc->in + off, sc->in_len - off);
		sc->in_len -= off;
	}
}

static void sconn_flush(struct sconn *sc)
{
	while (buf_used(&sc->out)) {
		ssize_t n = send(sc->fd, buf_head(&sc->out), buf_used(&sc->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				sc->closing = true;
			break;
		}
		buf_consume(&sc->out, (size_t)n);
	}
	if (!buf_used(&sc->out))
		sc->queued = 0;
}

static void sconn_event(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct sconn *sc = data;

	if (events & EPOLLIN) {
		ssize_t n =
			recv(fd, sc->in + sc->in_len, sizeof(sc->in) - sc->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			sc->closing = true;
			return;
		}
		if (n > 0) {
			sc->in_len += (size_t)n;
			sconn_process(sc);
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		sc->closing = true;
		return;
	}
	if (events & EPOLLOUT)
		sconn_flush(sc);
}

static int sconn_send(struct conn *c, const struct xs_hdr *h, const void *payload)
{
	struct sconn *sc = store_conn_data(c);
	uint8_t raw[XS_HDR_SIZE];

	if (sc->closing)
		return -EPIPE;
	if (buf_used(&sc->out) + XS_HDR_SIZE + h->len > sc->srv->o.max_conn_buffer) {
		log_rl(&sc->rl, LOG_LVL_WARN,
		       "domain %u: connection does not read its replies and events (%zu bytes "
		       "queued); closing it",
		       sc->domid, buf_used(&sc->out));
		sc->closing = true;
		return -ENOBUFS;
	}
	xs_hdr_encode(h, raw);
	if (buf_append(&sc->out, raw, sizeof(raw)) || buf_append(&sc->out, payload, h->len)) {
		sc->closing = true;
		return -ENOMEM;
	}
	sc->queued++;
	return 0;
}

static const struct conn_ops sconn_ops = {.send = sconn_send};

static void listener_accept(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct listener *li = data;
	struct server *srv = li->srv;
	struct sconn *sc;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (cfd < 0)
		return;
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		close(cfd);
		return;
	}
	sc->srv = srv;
	sc->fd = cfd;
	sc->domid = li->domid;
	sc->c = store_conn_new(srv->st, li->domid, &sconn_ops, sc);
	if (!sc->c || loop_add_fd(srv->loop, cfd, EPOLLIN, sconn_event, sc, &sc->h)) {
		if (sc->c)
			store_conn_free(sc->c);
		close(cfd);
		free(sc);
		return;
	}
	sc->next = srv->conns;
	srv->conns = sc;
	log_debug("domain %u: connection accepted", li->domid);
}

/* Binds a listening socket at `path`, refusing one a live daemon answers. */
static int listen_at(const char *path, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;
	mode_t old;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

static int listener_add(struct server *srv, uint32_t domid, const char *path)
{
	struct listener *li = calloc(1, sizeof(*li));
	int r;

	if (!li || !(li->path = strdup(path))) {
		free(li);
		return -ENOMEM;
	}
	li->srv = srv;
	li->domid = domid;
	r = listen_at(path, &li->fd);
	if (r) {
		log_err("socket %s: %s", path,
			r == -EADDRINUSE ? "in use by a running daemon" : err_str(r));
		free(li->path);
		free(li);
		return r;
	}
	r = loop_add_fd(srv->loop, li->fd, EPOLLIN, listener_accept, li, &li->h);
	if (r) {
		close(li->fd);
		unlink(li->path);
		free(li->path);
		free(li);
		return r;
	}
	li->next = srv->listeners;
	srv->listeners = li;
	return 0;
}

static void listener_free(struct listener *li)
{
	loop_del_fd(li->h);
	close(li->fd);
	unlink(li->path);
	free(li->path);
	free(li);
}

static int host_introduce(void *ctx, uint32_t domid)
{
	struct server *srv = ctx;
	char path[4096];

	if (mkdir(srv->o.domain_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%u", srv->o.domain_dir, domid);
	return listener_add(srv, domid, path);
}

static void host_release(void *ctx, uint32_t domid)
{
	struct server *srv = ctx;

	for (struct listener **pp = &srv->listeners; *pp;) {
		struct listener *li = *pp;
		if (li->domid == domid && domid != 0) {
			*pp = li->next;
			listener_free(li);
		} else {
			pp = &li->next;
		}
	}
	for (struct sconn *sc = srv->conns; sc; sc = sc->next)
		if (sc->domid == domid)
			sc->closing = true;
}

const struct store_host_ops server_host_ops = {
	.introduce = host_introduce,
	.release = host_release,
};

/* Before sleeping: durability first, then output, then housekeeping. */
static void server_prepare(void *data)
{
	struct server *srv = data;
	bool again = true;

	if (!srv->st)
		return;
	/* Resumed connections may produce more output; loop until quiet. */
	while (again) {
		again = false;
		store_sync(srv->st);
		for (struct sconn *sc = srv->conns; sc; sc = sc->next) {
			bool was_paused = sconn_paused(sc);
			if (buf_used(&sc->out) && !sc->closing)
				sconn_flush(sc);
			if (was_paused && !sconn_paused(sc) && sc->in_len >= XS_HDR_SIZE &&
			    !sc->closing) {
				sconn_process(sc);
				again = true;
			}
		}
	}
	for (struct sconn *sc = srv->conns, *next; sc; sc = next) {
		next = sc->next;
		if (sc->closing)
			sconn_free(sc);
		else
			sconn_update_events(sc);
	}
}

int server_new(struct loop *l, const struct server_options *o, struct server **out)
{
	struct server *srv = calloc(1, sizeof(*srv));
	int r;

	if (!srv)
		return -ENOMEM;
	srv->loop = l;
	srv->o = *o;
	r = listener_add(srv, 0, o->socket_path);
	if (!r)
		r = loop_add_prepare(l, server_prepare, srv);
	if (r) {
		server_free(srv);
		return r;
	}
	*out = srv;
	return 0;
}

void server_attach(struct server *srv, struct store *st)
{
	srv->st = st;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	while (srv->conns) {
		sconn_flush(srv->conns);
		sconn_free(srv->conns);
	}
	while (srv->listeners) {
		struct listener *li = srv->listeners;
		srv->listeners = li->next;
		listener_free(li);
	}
	rmdir(srv->o.domain_dir);
	free(srv);
}

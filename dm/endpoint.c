/* endpoint.c — see endpoint.h. */
#include "dm/endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vhost/vhost.h"

struct dm_endpoint {
	struct loop *loop;
	const struct vdev_ops *ops;
	void *dev;
	struct loop_fd *listen_h;
	struct vhost_conn *conn;
	struct loop_fd *conn_h;
	char name[32];
};

/* ---- the loop behind vhost_watch_ops ---- */
struct watch {
	void (*cb)(void *);
	void *arg;
	struct loop_fd *h;
};

static void watch_fired(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct watch *w = data;
	w->cb(w->arg);
}

static void *ep_watch(void *ctx, int fd, void (*cb)(void *), void *arg)
{
	struct dm_endpoint *e = ctx;
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cb = cb;
	w->arg = arg;
	if (loop_add_fd(e->loop, fd, EPOLLIN, watch_fired, w, &w->h) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

static void ep_unwatch(void *ctx, void *handle)
{
	struct watch *w = handle;
	loop_del_fd(w->h);
	free(w);
}

static const struct vhost_watch_ops ep_watch_ops = {ep_watch, ep_unwatch};

/* ---- connections ---- */
static void drop_conn(struct dm_endpoint *e)
{
	if (e->conn_h)
		loop_del_fd(e->conn_h);
	vhost_conn_free(e->conn);
	e->conn = NULL;
	e->conn_h = NULL;
}

static void on_conn(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct dm_endpoint *e = data;
	int rc = vhost_conn_on_readable(e->conn);
	if (rc < 0) {
		log_info("%s: front end %s", e->name, rc == -EPIPE ? "disconnected" : "dropped");
		drop_conn(e);
	}
}

static void on_accept(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct dm_endpoint *e = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (e->conn) {
		log_warn("%s: a front end is already connected: refusing another", e->name);
		close(c);
		return;
	}
	if (vhost_conn_new(c, e->ops, e->dev, &ep_watch_ops, e, &e->conn) < 0) {
		close(c);
		return;
	}
	if (loop_add_fd(e->loop, c, EPOLLIN, on_conn, e, &e->conn_h) < 0) {
		vhost_conn_free(e->conn);
		e->conn = NULL;
		return;
	}
	log_info("%s: front end connected", e->name);
}

int dm_endpoint_new(struct loop *loop, int listen_fd, const char *name, const struct vdev_ops *ops,
		    void *dev, struct dm_endpoint **out)
{
	struct dm_endpoint *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	e->loop = loop;
	e->ops = ops;
	e->dev = dev;
	snprintf(e->name, sizeof(e->name), "%s", name);
	rc = loop_add_fd(loop, listen_fd, EPOLLIN, on_accept, e, &e->listen_h);
	if (rc < 0) {
		free(e);
		return rc;
	}
	*out = e;
	return 0;
}

void dm_endpoint_free(struct dm_endpoint *e)
{
	if (!e)
		return;
	if (e->conn)
		drop_conn(e);
	loop_del_fd(e->listen_h);
	free(e);
}

int dm_listen_unix(const char *path)
{
	return unix_listen(path, 4);
}

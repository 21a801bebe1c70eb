/* vhost.h — the vhost-user back end: one front-end connection serving one
 * virtio device.
 *
 * The device is a `struct vdev_ops` table (virtio/vdev.h) plus an opaque pointer: it
 * states its features, queue count and config space, and is handed a ready
 * `struct vq` whenever the driver kicks one; it never sees sockets, eventfds
 * or memory tables. The event loop is the program's: the connection asks for
 * its kick eventfds to be watched through `struct vhost_watch_ops`, and the
 * program calls vhost_conn_on_readable() when the connection socket is
 * readable. See the essay atop vhost.c for the state machine.
 */
#ifndef AIRLOCK_VHOST_H
#define AIRLOCK_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/vdev.h"
#include "virtio/vq.h"

#define VHOST_MAX_QUEUES VDEV_MAX_QUEUES

/* How the connection asks the program's loop to watch an fd for input. */
struct vhost_watch_ops {
	/* Calls cb(arg) whenever fd is readable. Returns a handle, or NULL on
	 * failure. */
	void *(*watch)(void *ctx, int fd, void (*cb)(void *arg), void *arg);
	/* Stops watching (handle from watch). */
	void (*unwatch)(void *ctx, void *handle);
};

struct vhost_conn;

/* Creates a connection on the connected stream socket `fd` (taken over: it
 * is closed by vhost_conn_free). Returns 0 or -ENOMEM (fd then not taken). */
int vhost_conn_new(int fd, const struct vdev_ops *ops, void *dev,
		   const struct vhost_watch_ops *watch, void *watch_ctx, struct vhost_conn **out);

/* Reads and handles one message. Returns 0, or -errno when the connection
 * must be closed (-EPIPE: the front end hung up; -EPROTO: a malformed or
 * refused message). The caller then calls vhost_conn_free(). */
int vhost_conn_on_readable(struct vhost_conn *c);

/* Stops every ring, unwatches and closes its fds, unmaps guest memory,
 * closes the socket and frees c. NULL is ignored. */
void vhost_conn_free(struct vhost_conn *c);

/* Signals the driver of queue idx if it wants an interrupt (used when a
 * device completes requests outside queue_kick). */
void vhost_conn_notify(struct vhost_conn *c, unsigned int idx);

/* The socket, for the program's loop. */
int vhost_conn_fd(const struct vhost_conn *c);

/* True if queue idx is started (rings mapped, kick fd watched). */
bool vhost_conn_queue_started(const struct vhost_conn *c, unsigned int idx);

#endif

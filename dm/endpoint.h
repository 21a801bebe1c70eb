/* endpoint.h — one device served on one listening socket.
 *
 * An endpoint accepts front ends (the engine) on its listening socket, one
 * at a time, and runs a vhost-user connection (lib/vhost) per front end
 * against its device. When the front end goes away (or is dropped for a
 * malformed message) the endpoint keeps listening, so a reconnecting or
 * restarted engine is served again. A second front end while one is
 * connected is refused (closed at once).
 */
#ifndef AIRLOCK_DM_ENDPOINT_H
#define AIRLOCK_DM_ENDPOINT_H

#include "common/loop.h"
#include "virtio/vdev.h"

struct dm_endpoint;

/* Starts serving device (ops, dev) on the listening socket listen_fd (not
 * taken over: the caller closes it after dm_endpoint_free). name is used in
 * log lines (copied). Returns 0 or -errno. */
int dm_endpoint_new(struct loop *loop, int listen_fd, const char *name, const struct vdev_ops *ops,
		    void *dev, struct dm_endpoint **out);

/* Drops the connected front end, if any, and stops listening. NULL is
 * ignored. */
void dm_endpoint_free(struct dm_endpoint *e);

/* Binds and listens on a UNIX socket at path (a stale socket file there is
 * replaced). Returns the fd or -errno. */
int dm_listen_unix(const char *path);

#endif

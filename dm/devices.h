/* devices.h — a device of airlock-dm, opened from its --device spec and
 * served on its listening socket. */
#ifndef AIRLOCK_DM_DEVICES_H
#define AIRLOCK_DM_DEVICES_H

#include "common/loop.h"
#include "dm/devspec.h"

struct dm_device;

/* Opens the device `spec` describes (image file, tap or stream fd), binds
 * its socket if the spec names a path, and starts serving it on `loop`.
 * `index` names it in log lines. Logs why on failure. Returns 0 or -errno
 * (nothing left open then, except the spec's inherited fds). */
int dm_device_open(const struct dm_devspec *spec, struct loop *loop, unsigned int index,
		   struct dm_device **out);

/* Stops serving, closes the device and the listening socket (and unlinks
 * a socket path it bound). NULL is ignored. */
void dm_device_close(struct dm_device *d);

#endif

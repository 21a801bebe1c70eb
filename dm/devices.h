/* devices.h — a device of airlock-dm, opened from its --device spec and
 * served on its listening socket, or (channel=K, in a stub domain) handed
 * to the stub transport. */
#ifndef AIRLOCK_DM_DEVICES_H
#define AIRLOCK_DM_DEVICES_H

#include "common/loop.h"
#include "dm/devspec.h"
#include "virtio/vdev.h"

struct dm_device;

/* Opens the device `spec` describes (image file, tap or stream fd, or an
 * interface of our own for packet=), binds its socket if the spec names a
 * path, and starts serving it on `loop`. A spec with channel= gets no
 * socket and no endpoint: the stub transport serves it (dm_device_vdev),
 * and its guest RAM is a VFIO BAR, so a disk bounces every transfer
 * (blk_set_bounce_all).
 * `index` names it in log lines. Logs why on failure. Returns 0 or -errno
 * (nothing left open then, except the spec's inherited fds). */
int dm_device_open(const struct dm_devspec *spec, struct loop *loop, unsigned int index,
		   struct dm_device **out);

/* The device as the transports see it. */
void dm_device_vdev(const struct dm_device *d, const struct vdev_ops **ops, void **dev);

/* Stops serving, closes the device and the listening socket (and unlinks
 * a socket path it bound). NULL is ignored. */
void dm_device_close(struct dm_device *d);

#endif

/* vdev.h — what a virtio device offers its transport.
 *
 * A device (virtio-blk, virtio-net) is a `static const struct vdev_ops`
 * table plus an opaque pointer. A transport (the vhost-user back end in
 * lib/vhost, later the stub-domain relay) negotiates features, serves the
 * config space through get/set_config and hands the device a ready
 * `struct vq` when the driver kicks; it signals the driver afterwards. The
 * device never sees sockets, eventfds or memory tables.
 */
#ifndef AIRLOCK_VIRTIO_VDEV_H
#define AIRLOCK_VIRTIO_VDEV_H

#include <stdint.h>

#include "virtio/vq.h"

#define VDEV_MAX_QUEUES 8

struct vdev_ops {
	/* Virtio feature bits offered (device, ring and VERSION_1 bits). */
	uint64_t features;
	/* Optional: the bits this instance offers, when they differ per
	 * instance (a read-only disk); replaces `features`. */
	uint64_t (*get_features)(void *dev);
	/* Number of queues the device has (1..VDEV_MAX_QUEUES). */
	unsigned int num_queues;
	/* Copies config bytes [offset, offset + len) into buf. Returns 0 or
	 * -EINVAL when the range is outside the device's config space. NULL
	 * if the device has no config space. */
	int (*get_config)(void *dev, uint32_t offset, uint8_t *buf, uint32_t len);
	/* Writes config bytes; NULL: config writes are refused (-ENOTSUP). */
	int (*set_config)(void *dev, uint32_t offset, const uint8_t *buf, uint32_t len);
	/* The driver kicked queue `idx` (or it was just started): pop, serve and
	 * push requests. The transport signals the driver afterwards. */
	void (*queue_kick)(void *dev, struct vq *vq, unsigned int idx);
	/* The front end reset the device (optional). */
	void (*reset)(void *dev);
};

#endif

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

/* What a transport hands a device with each started queue: a way to signal
 * the driver after requests completed outside queue_kick (io_uring
 * completions, packets arriving from a tap). */
struct vdev_notifier {
	/* Signals the driver of queue idx if it wants an interrupt now (the
	 * transport asks vq_should_notify) and reports a queue the device
	 * marked broken. */
	void (*notify)(void *ctx, unsigned int idx);
	void *ctx;
};

struct vdev_ops {
	/* Virtio feature bits offered (device, ring and VERSION_1 bits). */
	uint64_t features;
	/* Optional: the bits this instance offers, when they differ per
	 * instance (a read-only disk); replaces `features`. */
	uint64_t (*get_features)(void *dev);
	/* Number of queues the device has (1..VDEV_MAX_QUEUES). */
	unsigned int num_queues;
	/* Optional: the driver acked `features` (a subset of those offered);
	 * called before any queue starts. A reset means features 0 again. */
	void (*set_features)(void *dev, uint64_t features);
	/* Copies config bytes [offset, offset + len) into buf. Returns 0 or
	 * -EINVAL when the range is outside the device's config space. NULL
	 * if the device has no config space. */
	int (*get_config)(void *dev, uint32_t offset, uint8_t *buf, uint32_t len);
	/* True when the front end builds this device's config space itself
	 * (QEMU's virtio-net on a vhost-user netdev does): the transport does
	 * not offer to serve config (vhost-user PROTOCOL_F_CONFIG), which such
	 * a front end warns about. get_config stays for other transports. */
	bool config_by_frontend;
	/* Writes config bytes; NULL: config writes are refused (-ENOTSUP). */
	int (*set_config)(void *dev, uint32_t offset, const uint8_t *buf, uint32_t len);
	/* The driver kicked queue `idx` (or it was just started): pop, serve and
	 * push requests. The transport signals the driver afterwards. */
	void (*queue_kick)(void *dev, struct vq *vq, unsigned int idx);
	/* Optional: queue idx is started on `vq` (which stays valid until
	 * queue_stop). Called before the first queue_kick. A device that
	 * completes requests asynchronously, or produces them itself (net
	 * receive), keeps vq and n and calls n->notify after pushing. */
	void (*queue_start)(void *dev, struct vq *vq, unsigned int idx,
			    const struct vdev_notifier *n);
	/* Optional: queue idx is about to stop (GET_VRING_BASE, a new memory
	 * table, reset, disconnect). The device must finish or abandon every
	 * request it popped from vq before returning: afterwards the ring's
	 * last_avail is handed to the front end as the queue's base, and the
	 * guest memory may be unmapped. */
	void (*queue_stop)(void *dev, unsigned int idx);
	/* The front end reset the device (optional). */
	void (*reset)(void *dev);
};

#endif

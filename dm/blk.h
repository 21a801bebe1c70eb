/* blk.h — the virtio-blk device (virtio 1.2, section 5.2) on a raw image.
 *
 * Transport-free: blk_vdev_ops is a struct vdev_ops that any transport can
 * serve (airlock-dm serves it over vhost-user).
 */
#ifndef AIRLOCK_DM_BLK_H
#define AIRLOCK_DM_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/vdev.h"

struct blk_dev;

/* Number of request queues the device offers. */
#define BLK_NUM_QUEUES 4

struct loop;

/* Opens the raw image at path (read-only if ro). `loop` is the program's
 * event loop, where the device watches what it waits on (NULL: it waits
 * for nothing and serves each request before queue_kick returns). Returns
 * 0 and the device in *out, or -errno (nothing allocated). */
int blk_open(const char *path, bool ro, struct loop *loop, struct blk_dev **out);

/* Opens the stub domain's own virtio disk at PCI address bdf (which
 * vpci.c drives through VFIO) as the device's back end: requests are
 * checked here and passed to that disk with the guest's buffers as their
 * data, so its DMA moves the data between the host's disk and guest RAM
 * (the BAR of dma_window.h). Needs a loop. ro as for blk_open (a disk the
 * device says is read-only cannot be opened for writing). Returns 0 or
 * -errno (nothing allocated). */
int blk_open_vpci(const char *bdf, bool ro, struct loop *loop, struct blk_dev **out);

/* Moves every READ and WRITE through the bounce pool, aligned or not: for
 * guest RAM that O_DIRECT cannot reach (a BAR mapped through VFIO in a stub
 * domain has no struct pages for the kernel to pin, so direct I/O into it
 * fails with EFAULT). Without O_DIRECT nothing changes: buffered I/O
 * copies anyway. Call before the queues start. */
void blk_set_bounce_all(struct blk_dev *d);

/* Closes the image and frees d. NULL is ignored. */
void blk_close(struct blk_dev *d);

/* The device's ops; pass the blk_dev as its opaque pointer. */
extern const struct vdev_ops blk_vdev_ops;

#endif

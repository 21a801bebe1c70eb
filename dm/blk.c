/* blk.c — virtio-blk on a raw image: opening it, the config space, the
 * features, and the vdev_ops table that routes queues to one of two paths.
 *
 * With a loop, requests run asynchronously on io_uring (blk_uring.c); with
 * none (the fuzzer), or when io_uring cannot be set up, synchronously
 * (blk_sync.c). Both share the request rules (blk_req.c) and the steps of
 * each request (blk_io.c); the choice is logged once at open.
 *
 * At open the image is probed for what it allows:
 *   - O_DIRECT: tried first (not on block devices whose logical block size
 *     is not 512: requests are addressed in 512-byte sectors); a filesystem
 *     that refuses it at open or on a first aligned read (tmpfs on older
 *     kernels, a 4 KiB-sector disk under the filesystem) gets buffered I/O,
 *     logged once. Unaligned guest buffers are bounced (blk_bounce.c).
 *   - fallocate PUNCH_HOLE and ZERO_RANGE (KEEP_SIZE), beyond the end of
 *     the image so no data changes: DISCARD is offered when punching works,
 *     WRITE_ZEROES when zeroing does (write_zeroes_may_unmap when both do).
 *     Read-only disks offer neither.
 */
#include "dm/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/blk_int.h"
#include "dm/vpci.h"

static void blk_queue_kick(void *dev, struct vq *vq, unsigned int idx)
{
	struct blk_dev *d = dev;

	if (!d->as || idx >= BLK_NUM_QUEUES) {
		blk_sync_kick(d, vq);
		return;
	}
	d->q[idx].vq = vq;
	blk_async_kick(d, &d->q[idx]);
}

static void blk_queue_start(void *dev, struct vq *vq, unsigned int idx,
			    const struct vdev_notifier *n)
{
	struct blk_dev *d = dev;

	if (idx >= BLK_NUM_QUEUES)
		return;
	d->q[idx].vq = vq;
	d->q[idx].n = *n;
	d->q[idx].has_notifier = n->notify != NULL;
}

static void blk_queue_stop(void *dev, unsigned int idx)
{
	struct blk_dev *d = dev;

	if (idx >= BLK_NUM_QUEUES)
		return;
	if (d->as)
		blk_async_drain(d, &d->q[idx]);
	d->q[idx].vq = NULL;
	d->q[idx].has_notifier = false;
}

static int blk_get_config(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	struct blk_dev *d = dev;
	if (off > BLK_CONFIG_SIZE || len > BLK_CONFIG_SIZE - off)
		return -EINVAL;
	memcpy(buf, d->config + off, len);
	return 0;
}

static uint64_t blk_get_features(void *dev)
{
	struct blk_dev *d = dev;
	uint64_t f = blk_vdev_ops.features;
	if (d->ro)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (!d->ro && d->can_punch)
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
	if (!d->ro && d->can_zero)
		f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

const struct vdev_ops blk_vdev_ops = {
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		    (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		    (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
		    (1ull << VIRTIO_BLK_F_MQ),
	.get_features = blk_get_features,
	.num_queues = BLK_NUM_QUEUES,
	.get_config = blk_get_config,
	.queue_kick = blk_queue_kick,
	.queue_start = blk_queue_start,
	.queue_stop = blk_queue_stop,
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Opens path with O_DIRECT if that works for aligned 512-byte reads;
 * otherwise buffered. Sets d->fd, d->direct, d->align. Returns 0 or
 * -errno. */
static int open_image(struct blk_dev *d, const char *path, bool ro)
{
	int flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	void *buf = NULL;

	d->align = BLK_SECTOR;
	d->fd = open(path, flags | O_DIRECT);
	if (d->fd >= 0 && fstat(d->fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		int lbs = 0;
		if (ioctl(d->fd, BLKSSZGET, &lbs) < 0 || lbs != (int)BLK_SECTOR) {
			close(d->fd);
			d->fd = -1;
		}
	}
	if (d->fd >= 0 && posix_memalign(&buf, 4096, BLK_SECTOR) == 0 &&
	    pread(d->fd, buf, BLK_SECTOR, 0) >= 0) {
		d->direct = true;
		free(buf);
		return 0;
	}
	free(buf);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = open(path, flags);
	if (d->fd < 0)
		return -errno;
	log_info("blk: %s does not allow O_DIRECT: buffered I/O", path);
	return 0;
}

/* Probes fallocate modes past the end of the image (data untouched). */
static void probe_fallocate(struct blk_dev *d, uint64_t size)
{
	off_t end = (off_t)((size + 4095) & ~4095ull);
	if (d->ro)
		return;
	d->can_punch = fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, end, 4096) == 0;
	d->can_zero = fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, end, 4096) == 0;
	if (d->can_zero && d->can_punch) /* give back the block just allocated */
		(void)!fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, end, 4096);
}

/* Fills what both opens share: the queues' back pointers. */
static void init_queues(struct blk_dev *d)
{
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++) {
		d->q[i].d = d;
		d->q[i].idx = i;
	}
}

static void fill_config(struct blk_dev *d)
{
	uint16_t nq = BLK_NUM_QUEUES;
	memcpy(d->config + 0, &d->sectors, 8); /* capacity */
	put32(d->config + 12, BLK_SEG_MAX);    /* seg_max */
	put32(d->config + 20, BLK_SECTOR);     /* blk_size */
	memcpy(d->config + 34, &nq, 2);	       /* num_queues */
	if (d->can_punch) {
		put32(d->config + 36, BLK_MAX_DZ_SECTORS); /* max_discard_sectors */
		put32(d->config + 40, BLK_MAX_DZ_SEG);	   /* max_discard_seg */
		put32(d->config + 44, BLK_DISCARD_ALIGN);  /* discard_sector_alignment */
	}
	if (d->can_zero) {
		put32(d->config + 48, BLK_MAX_DZ_SECTORS); /* max_write_zeroes_sectors */
		put32(d->config + 52, BLK_MAX_DZ_SEG);	   /* max_write_zeroes_seg */
		d->config[56] = d->can_punch;		   /* write_zeroes_may_unmap */
	}
}

void blk_set_bounce_all(struct blk_dev *d)
{
	d->bounce_all = true;
}

int blk_open(const char *path, bool ro, struct loop *loop, struct blk_dev **out)
{
	struct blk_dev *d = calloc(1, sizeof(*d));
	struct stat st;
	uint64_t size;
	int rc;

	if (!d)
		return -ENOMEM;
	d->ro = ro;
	rc = open_image(d, path, ro);
	if (rc < 0)
		goto free_dev;
	if (fstat(d->fd, &st) < 0) {
		rc = -errno;
		goto close_fd;
	}
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(d->fd, BLKGETSIZE64, &size) < 0) {
		rc = -errno;
		goto close_fd;
	}
	d->sectors = size / BLK_SECTOR;
	snprintf(d->id, sizeof(d->id), "airlock-%llx", (unsigned long long)st.st_ino);
	if (S_ISREG(st.st_mode))
		probe_fallocate(d, size);
	fill_config(d);
	init_queues(d);
	if (!loop) {
		log_info("blk: synchronous I/O (no event loop)");
	} else if ((rc = blk_uring_init(d)) < 0 || (rc = blk_async_init(d, loop)) < 0) {
		if (d->be)
			d->be->fini(d);
		d->be = NULL;
		log_info("blk: synchronous I/O (io_uring unavailable: %s)", strerror(-rc));
	} else {
		log_info("blk: io_uring, %u requests in flight per queue%s", BLK_DEPTH,
			 d->direct ? ", O_DIRECT" : "");
	}
	*out = d;
	return 0;
close_fd:
	close(d->fd);
free_dev:
	free(d);
	return rc;
}

int blk_open_vpci(const char *bdf, bool ro, struct loop *loop, struct blk_dev **out)
{
	char dma[160];
	const char *dir = getenv("AIRLOCK_DMA_DIR");
	struct blk_dev *d;
	uint64_t cap;
	int rc;

	if (!loop)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = -1;
	d->ro = ro;
	d->align = BLK_SECTOR;
	snprintf(dma, sizeof(dma), "%s/%s", dir && *dir ? dir : "/run/airlock-dma", bdf);
	rc = vpci_open(bdf, VPCI_DEVICE_BLK,
		       (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_RO), dma, &d->vpci);
	if (rc < 0)
		goto fail;
	if (vpci_config(d->vpci, 0, &cap, sizeof(cap)) < 0) {
		rc = -ENODEV;
		goto fail;
	}
	if (!ro && (vpci_features(d->vpci) & (1ull << VIRTIO_BLK_F_RO))) {
		log_err("blk: %s is read-only, the device was asked to write", bdf);
		rc = -EROFS;
		goto fail;
	}
	d->sectors = cap;
	snprintf(d->id, sizeof(d->id), "airlock-%s", bdf);
	fill_config(d);
	init_queues(d);
	if ((rc = blk_vpci_init(d)) < 0 || (rc = blk_async_init(d, loop)) < 0)
		goto fail;
	log_info("blk: %s: %llu sectors, requests passed to the stub's disk (no copies)", bdf,
		 (unsigned long long)cap);
	*out = d;
	return 0;
fail:
	blk_close(d);
	return rc;
}

void blk_close(struct blk_dev *d)
{
	if (!d)
		return;
	blk_async_fini(d);
	if (d->be)
		d->be->fini(d);
	vpci_close(d->vpci);
	blk_bounce_free(&d->bounce);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

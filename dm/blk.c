/* blk.c — virtio-blk on a raw image file with synchronous preadv/pwritev.
 *
 * Each request is header (16 bytes, driver-readable), data, and a status
 * byte (the last device-writable byte). The header is gathered with memcpy
 * from however the driver split it (SeaBIOS aligns it only to 4 bytes).
 * Reads and writes are bounds-checked against the image size in sectors;
 * FLUSH calls fdatasync before it is acknowledged; a read-only disk answers
 * writes with VIRTIO_BLK_S_IOERR. A chain with no writable byte for the
 * status cannot be answered at all: the queue is marked broken.
 */
#include "dm/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO	      5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_F_MQ	      12

#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR		512u
#define BLK_ID_BYTES	20
#define BLK_SEG_MAX	254u
#define BLK_CONFIG_SIZE 256u

struct blk_dev {
	int fd;
	bool ro;
	uint64_t sectors;
	char id[BLK_ID_BYTES];
	uint8_t config[BLK_CONFIG_SIZE];
	struct vq_elem elem;
	struct iovec data[VQ_MAX_IOV];
	struct log_ratelimit rl;
};

struct blk_outhdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

/* Copies len bytes from the iovecs into buf. Returns false if they hold less. */
static bool iov_gather(const struct iovec *iov, unsigned int n, void *buf, size_t len)
{
	uint8_t *d = buf;
	for (unsigned int i = 0; i < n && len > 0; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
		memcpy(d, iov[i].iov_base, k);
		d += k;
		len -= k;
	}
	return len == 0;
}

/* Copies len bytes of buf into the iovecs (as many as fit). */
static void iov_scatter(const struct iovec *iov, unsigned int n, const void *buf, size_t len)
{
	const uint8_t *s = buf;
	for (unsigned int i = 0; i < n && len > 0; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
		memcpy(iov[i].iov_base, s, k);
		s += k;
		len -= k;
	}
}

/* dst = bytes [skip, skip + len) of src. Returns the iovec count. */
static unsigned int iov_slice(const struct iovec *src, unsigned int n, size_t skip, size_t len,
			      struct iovec *dst)
{
	unsigned int k = 0;
	for (unsigned int i = 0; i < n && len > 0; i++) {
		size_t l = src[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t take = l - skip < len ? l - skip : len;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[k].iov_len = take;
		k++;
		skip = 0;
		len -= take;
	}
	return k;
}

/* preadv/pwritev until all of iov is done. Returns 0 or -errno (-EIO at
 * end of file). iov is consumed. */
static int rw_all(int fd, struct iovec *iov, unsigned int n, uint64_t off, bool wr)
{
	while (n > 0) {
		int cnt = n > IOV_MAX ? IOV_MAX : (int)n;
		ssize_t r =
			wr ? pwritev(fd, iov, cnt, (off_t)off) : preadv(fd, iov, cnt, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Serves one request; returns the status and sets *written (data bytes put
 * into the driver's buffers, without the status byte). */
static uint8_t serve(struct blk_dev *d, struct vq_elem *e, uint32_t *written)
{
	struct blk_outhdr h;
	const struct iovec *in = e->iov + e->out_num;
	size_t in_data = e->in_len - 1; /* the last in byte is the status */
	unsigned int n;

	*written = 0;
	if (!iov_gather(e->iov, e->out_num, &h, sizeof(h)))
		return VIRTIO_BLK_S_IOERR;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool wr = h.type == VIRTIO_BLK_T_OUT;
		size_t len = wr ? e->out_len - sizeof(h) : in_data;
		if (wr && d->ro)
			return VIRTIO_BLK_S_IOERR;
		if (h.sector > d->sectors || (len + SECTOR - 1) / SECTOR > d->sectors - h.sector)
			return VIRTIO_BLK_S_IOERR;
		n = wr ? iov_slice(e->iov, e->out_num, sizeof(h), len, d->data)
		       : iov_slice(in, e->in_num, 0, len, d->data);
		if (rw_all(d->fd, d->data, n, h.sector * SECTOR, wr) < 0)
			return VIRTIO_BLK_S_IOERR;
		if (!wr)
			*written = (uint32_t)len;
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_FLUSH:
		if (!d->ro && fdatasync(d->fd) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		size_t k = in_data < BLK_ID_BYTES ? in_data : BLK_ID_BYTES;
		n = iov_slice(in, e->in_num, 0, in_data, d->data);
		iov_scatter(d->data, n, d->id, k);
		*written = (uint32_t)k;
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_queue_kick(void *dev, struct vq *vq, unsigned int idx)
{
	struct blk_dev *d = dev;
	struct vq_elem *e = &d->elem;
	/* A guest can keep the ring full forever (even by having requests read
	 * data over its own avail index): bound one kick's work. What is left
	 * comes with the driver's next kick, which the ring's event index
	 * (avail_event = last_avail) asks for. */
	unsigned int budget = 4 * vq->num;

	while (budget-- > 0 && vq_pop(vq, e) == 1) {
		if (e->in_len == 0) {
			vq_mark_broken(vq, "virtio-blk request without a status byte");
			return;
		}
		uint32_t written;
		uint8_t status = serve(d, e, &written);
		if (status == VIRTIO_BLK_S_IOERR)
			log_rl(&d->rl, LOG_LVL_DEBUG, "blk: request failed");
		struct iovec st;
		unsigned int k = iov_slice(e->iov + e->out_num, e->in_num, e->in_len - 1, 1, &st);
		if (k == 1)
			*(uint8_t *)st.iov_base = status;
		vq_push(vq, e->head, written + 1);
	}
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
	return blk_vdev_ops.features | (d->ro ? 1ull << VIRTIO_BLK_F_RO : 0);
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
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

int blk_open(const char *path, bool ro, struct loop *loop, struct blk_dev **out)
{
	(void)loop;
	struct blk_dev *d = calloc(1, sizeof(*d));
	struct stat st;
	int rc;

	if (!d)
		return -ENOMEM;
	d->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0) {
		rc = -errno;
		goto free_dev;
	}
	if (fstat(d->fd, &st) < 0) {
		rc = -errno;
		goto close_fd;
	}
	d->ro = ro;
	d->sectors = (uint64_t)st.st_size / SECTOR;
	snprintf(d->id, sizeof(d->id), "airlock-%llx", (unsigned long long)st.st_ino);
	memcpy(d->config + 0, &d->sectors, 8); /* capacity */
	put32(d->config + 12, BLK_SEG_MAX);    /* seg_max */
	put32(d->config + 20, SECTOR);	       /* blk_size */
	uint16_t nq = BLK_NUM_QUEUES;
	memcpy(d->config + 34, &nq, 2); /* num_queues */
	*out = d;
	return 0;
close_fd:
	close(d->fd);
free_dev:
	free(d);
	return rc;
}

void blk_close(struct blk_dev *d)
{
	if (!d)
		return;
	close(d->fd);
	free(d);
}

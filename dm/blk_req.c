/* blk_req.c — a popped virtio-blk chain becomes a compact request record.
 *
 * Every rule about what a driver may ask lives here, so the synchronous and
 * the io_uring paths answer the same chain the same way:
 *   - the 16-byte header is gathered from however the driver split it
 *     (SeaBIOS aligns it only to 4 bytes);
 *   - the status is the chain's last device-writable byte; a chain without
 *     one cannot be answered (the caller marks the queue broken);
 *   - IN/OUT data lengths are whole sectors and lie inside the capacity
 *     (checked without overflow), in at most BLK_REQ_IOV buffers;
 *   - DISCARD/WRITE_ZEROES carry 1..BLK_MAX_DZ_SEG segments of at most
 *     BLK_MAX_DZ_SECTORS sectors each, inside the capacity; the only flag
 *     is UNMAP and only on WRITE_ZEROES (anything else: UNSUPP); they are
 *     answered UNSUPP when the feature is not offered;
 *   - a read-only disk answers OUT, DISCARD and WRITE_ZEROES with IOERR
 *     and FLUSH with OK (there is nothing to make durable).
 * What is checked is copied into the record first, so a guest rewriting its
 * buffers afterwards changes nothing that was validated.
 */
#include <string.h>

#include "dm/blk_int.h"

struct blk_outhdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

/* dst = bytes [skip, skip + len) of src, at most cap iovecs. Returns the
 * count, or cap + 1 when more would be needed. */
static unsigned int slice(const struct iovec *src, unsigned int n, size_t skip, size_t len,
			  struct iovec *dst, unsigned int cap)
{
	unsigned int k = iov_slice(src, n, skip, len, dst, cap);

	return k == cap && iov_size(dst, k) < len ? cap + 1 : k;
}

/* The host address of the chain's last device-writable byte. */
static uint8_t *status_byte(const struct vq_elem *e)
{
	for (unsigned int i = e->out_num + e->in_num; i > e->out_num; i--) {
		const struct iovec *v = &e->iov[i - 1];
		if (v->iov_len > 0)
			return (uint8_t *)v->iov_base + v->iov_len - 1;
	}
	return NULL;
}

static enum blk_parse answer(struct blk_req *r, uint8_t status)
{
	r->status = status;
	return BLK_PARSE_DONE;
}

static bool misaligned(const struct blk_dev *d, const struct blk_req *r)
{
	uintptr_t m = 0;
	for (unsigned int i = 0; i < r->niov; i++)
		m |= (uintptr_t)r->iov[i].iov_base | r->iov[i].iov_len;
	return (m & (d->align - 1)) != 0;
}

static enum blk_parse parse_rw(struct blk_dev *d, const struct vq_elem *e,
			       const struct blk_outhdr *h, struct blk_req *r)
{
	bool wr = h->type == VIRTIO_BLK_T_OUT;
	size_t len = wr ? e->out_len - sizeof(*h) : e->in_len - 1u;

	if (wr && d->ro)
		return answer(r, VIRTIO_BLK_S_IOERR);
	if (len % BLK_SECTOR != 0 || h->sector > d->sectors ||
	    len / BLK_SECTOR > d->sectors - h->sector)
		return answer(r, VIRTIO_BLK_S_IOERR);
	r->op = wr ? BLK_OP_WRITE : BLK_OP_READ;
	r->off = h->sector * BLK_SECTOR;
	r->len = (uint32_t)len;
	if (len == 0)
		return answer(r, VIRTIO_BLK_S_OK);
	r->niov = wr ? slice(e->iov, e->out_num, sizeof(*h), len, r->iov, BLK_REQ_IOV)
		     : slice(e->iov + e->out_num, e->in_num, 0, len, r->iov, BLK_REQ_IOV);
	if (r->niov > BLK_REQ_IOV)
		return answer(r, VIRTIO_BLK_S_IOERR);
	r->bounce_needed = d->direct && (d->bounce_all || misaligned(d, r));
	return BLK_PARSE_IO;
}

static enum blk_parse parse_dz(struct blk_dev *d, const struct vq_elem *e,
			       const struct blk_outhdr *h, struct blk_req *r)
{
	bool discard = h->type == VIRTIO_BLK_T_DISCARD;
	size_t bytes = e->out_len - sizeof(*h);
	size_t n = bytes / sizeof(struct blk_seg);

	if (d->ro)
		return answer(r, VIRTIO_BLK_S_IOERR);
	if (discard ? !d->can_punch : !d->can_zero)
		return answer(r, VIRTIO_BLK_S_UNSUPP);
	if (bytes % sizeof(struct blk_seg) != 0 || n == 0 || n > BLK_MAX_DZ_SEG)
		return answer(r, VIRTIO_BLK_S_IOERR);
	if (!iov_gather(e->iov, e->out_num, sizeof(*h), r->seg, bytes))
		return answer(r, VIRTIO_BLK_S_IOERR);
	for (size_t i = 0; i < n; i++) {
		const struct blk_seg *s = &r->seg[i];
		if ((s->flags & ~VIRTIO_BLK_WZ_UNMAP) || (discard && s->flags))
			return answer(r, VIRTIO_BLK_S_UNSUPP);
		if (s->num_sectors > BLK_MAX_DZ_SECTORS || s->sector > d->sectors ||
		    s->num_sectors > d->sectors - s->sector)
			return answer(r, VIRTIO_BLK_S_IOERR);
	}
	r->op = discard ? BLK_OP_DISCARD : BLK_OP_WZ;
	r->nseg = (unsigned int)n;
	return BLK_PARSE_IO;
}

enum blk_parse blk_req_parse(struct blk_dev *d, const struct vq_elem *e, struct blk_req *r)
{
	struct blk_outhdr h;

	r->head = e->head;
	r->status = VIRTIO_BLK_S_OK;
	r->written = 0;
	r->off = 0;
	r->len = r->done = 0;
	r->bounce_needed = false;
	r->bounce = -1;
	r->niov = r->iov_at = r->nseg = r->seg_at = 0;
	r->status_byte = status_byte(e);
	if (!r->status_byte)
		return BLK_PARSE_BROKEN;
	if (!iov_gather(e->iov, e->out_num, 0, &h, sizeof(h)))
		return answer(r, VIRTIO_BLK_S_IOERR);
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_rw(d, e, &h, r);
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_OP_FLUSH;
		return d->ro ? answer(r, VIRTIO_BLK_S_OK) : BLK_PARSE_IO;
	case VIRTIO_BLK_T_GET_ID: {
		size_t room = e->in_len - 1u;
		size_t k = room < BLK_ID_BYTES ? room : BLK_ID_BYTES;
		iov_from_buf(e->iov + e->out_num, e->in_num, 0, d->id, k);
		r->written = (uint32_t)k;
		return answer(r, VIRTIO_BLK_S_OK);
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_dz(d, e, &h, r);
	default:
		return answer(r, VIRTIO_BLK_S_UNSUPP);
	}
}

void blk_req_push(struct blk_dev *d, struct blk_req *r, struct vq *vq)
{
	if (r->status == VIRTIO_BLK_S_IOERR)
		log_rl(&d->rl, LOG_LVL_DEBUG, "blk: request failed");
	*r->status_byte = r->status;
	vq_push(vq, r->head, r->written + 1);
}

/* blk_io.c — one request's system calls, one step at a time.
 *
 * Both paths run a request the same way: ask blk_io_step() for the next
 * system call, make it (preadv/pwritev/fdatasync/fallocate directly, or as
 * an io_uring submission), and hand the result to blk_io_advance(), which
 * says whether the request is finished. The steps:
 *
 *   - READ/WRITE straight from guest memory: one call over the remaining
 *     iovecs. A short transfer consumes what was done from the iovecs and
 *     the next step asks for the rest; 0 bytes before the end is EOF
 *     (IOERR: the image shrank under us).
 *   - READ/WRITE through a bounce buffer (O_DIRECT and a guest buffer not
 *     aligned to the logical block size): the request moves in windows of
 *     at most BLK_BOUNCE_SIZE bytes. A write's window is copied in from the
 *     guest when its step is described; a read's is copied out to the guest
 *     when its result arrives. Short transfers just make the next window
 *     start earlier. So a request of any size needs one buffer, and the
 *     pool bounds the memory.
 *   - FLUSH: one fdatasync.
 *   - DISCARD/WRITE_ZEROES: one fallocate per segment, in order
 *     (PUNCH_HOLE|KEEP_SIZE for discard and for write-zeroes with UNMAP
 *     when punching works, ZERO_RANGE|KEEP_SIZE otherwise).
 * Any error is IOERR; -EINTR/-EAGAIN repeat the same step.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "dm/blk_int.h"

bool blk_io_begin(struct blk_dev *d, struct blk_req *r)
{
	if (!r->bounce_needed || r->bounce >= 0)
		return true;
	r->bounce = blk_bounce_get(&d->bounce);
	return r->bounce >= 0;
}

void blk_io_end(struct blk_dev *d, struct blk_req *r)
{
	if (r->bounce >= 0)
		blk_bounce_put(&d->bounce, r->bounce);
	r->bounce = -1;
}

static uint32_t window(const struct blk_req *r)
{
	uint32_t left = r->len - r->done;
	return left < BLK_BOUNCE_SIZE ? left : BLK_BOUNCE_SIZE;
}

void blk_io_step(struct blk_dev *d, struct blk_req *r, struct blk_step *s)
{
	memset(s, 0, sizeof(*s));
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		s->kind = r->op == BLK_OP_WRITE ? BLK_STEP_WRITE : BLK_STEP_READ;
		s->off = r->off + r->done;
		if (r->bounce >= 0) {
			r->sub.iov_base = blk_bounce_buf(&d->bounce, r->bounce);
			r->sub.iov_len = window(r);
			if (r->op == BLK_OP_WRITE)
				iov_gather(r->iov, r->niov, r->done, r->sub.iov_base,
					   r->sub.iov_len);
			s->iov = &r->sub;
			s->iovcnt = 1;
		} else {
			s->iov = r->iov + r->iov_at;
			s->iovcnt = r->niov - r->iov_at;
		}
		s->len = r->len - r->done;
		return;
	case BLK_OP_FLUSH:
		s->kind = BLK_STEP_FSYNC;
		return;
	case BLK_OP_DISCARD:
	case BLK_OP_WZ: {
		const struct blk_seg *g = &r->seg[r->seg_at];
		bool unmap = r->op == BLK_OP_DISCARD ||
			     ((g->flags & VIRTIO_BLK_WZ_UNMAP) && d->can_punch);
		s->kind = BLK_STEP_FALLOC;
		s->mode =
			FALLOC_FL_KEEP_SIZE | (unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
		s->off = g->sector * BLK_SECTOR;
		s->len = (uint64_t)g->num_sectors * BLK_SECTOR;
		return;
	}
	}
}

/* Consumes n transferred bytes from the front of r's unbounced iovecs. */
static void consume(struct blk_req *r, size_t n)
{
	while (r->iov_at < r->niov && n >= r->iov[r->iov_at].iov_len) {
		n -= r->iov[r->iov_at].iov_len;
		r->iov_at++;
	}
	if (r->iov_at < r->niov) {
		r->iov[r->iov_at].iov_base = (uint8_t *)r->iov[r->iov_at].iov_base + n;
		r->iov[r->iov_at].iov_len -= n;
	}
}

static bool fail(struct blk_req *r)
{
	r->status = VIRTIO_BLK_S_IOERR;
	r->written = 0;
	return true;
}

bool blk_io_advance(struct blk_dev *d, struct blk_req *r, int64_t res)
{
	if (res == -EINTR || res == -EAGAIN)
		return false;
	if (res < 0)
		return fail(r);
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE: {
		uint64_t want = r->bounce >= 0 ? r->sub.iov_len : r->len - r->done;
		if (res == 0 || (uint64_t)res > want)
			return fail(r);
		if (r->bounce >= 0 && r->op == BLK_OP_READ)
			iov_from_buf(r->iov, r->niov, r->done,
				     blk_bounce_buf(&d->bounce, r->bounce), (size_t)res);
		else if (r->bounce < 0)
			consume(r, (size_t)res);
		r->done += (uint32_t)res;
		if (r->done < r->len)
			return false;
		r->written = r->op == BLK_OP_READ ? r->len : 0;
		return true;
	}
	case BLK_OP_FLUSH:
		return true;
	case BLK_OP_DISCARD:
	case BLK_OP_WZ:
		return ++r->seg_at == r->nseg;
	}
	return fail(r);
}

/* blk_sync.c — the synchronous path: each request is served before
 * queue_kick returns, with plain system calls (preadv, pwritev, fdatasync,
 * fallocate). Used without a loop (the fuzzer) or when io_uring cannot be
 * set up (an old kernel, a seccomp filter). Parsing and stepping are the
 * shared blk_req.c / blk_io.c; only the way each step is made differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "dm/blk_int.h"

/* Makes step s; returns bytes (or 0) or -errno. */
static int64_t do_step(struct blk_dev *d, const struct blk_step *s)
{
	ssize_t r = 0;
	switch (s->kind) {
	case BLK_STEP_READ:
		r = preadv(d->fd, s->iov, (int)s->iovcnt, (off_t)s->off);
		break;
	case BLK_STEP_WRITE:
		r = pwritev(d->fd, s->iov, (int)s->iovcnt, (off_t)s->off);
		break;
	case BLK_STEP_FSYNC:
		r = fdatasync(d->fd);
		break;
	case BLK_STEP_FALLOC:
		r = fallocate(d->fd, s->mode, (off_t)s->off, (off_t)s->len);
		break;
	}
	return r < 0 ? -errno : (int64_t)r;
}

void blk_sync_kick(struct blk_dev *d, struct vq *vq)
{
	struct blk_req *r = &d->sync_req;
	/* A guest can keep the ring full forever (even by having requests read
	 * data over its own avail index): bound one kick's work. What is left
	 * comes with the driver's next kick, which the ring's event index
	 * (avail_event = last_avail) asks for. */
	unsigned int budget = 4 * vq->num;

	while (budget-- > 0 && vq_pop(vq, &d->elem) == 1) {
		enum blk_parse p = blk_req_parse(d, &d->elem, r);
		if (p == BLK_PARSE_BROKEN) {
			vq_mark_broken(vq, "virtio-blk request without a status byte");
			return;
		}
		if (p == BLK_PARSE_IO) {
			struct blk_step s;
			bool done = !blk_io_begin(d, r); /* no buffer at all: IOERR */
			if (done)
				r->status = VIRTIO_BLK_S_IOERR;
			while (!done) {
				blk_io_step(d, r, &s);
				done = blk_io_advance(d, r, do_step(d, &s));
			}
			blk_io_end(d, r);
		}
		blk_req_push(d, r, vq);
	}
}

/* blk_uring.c — the asynchronous path's io_uring back end: each step of a
 * request (blk_io.c) is one submission on the image's fd.
 *
 * One ring per device serves all its queues. Its completions raise an
 * eventfd (io_uring_register_eventfd) that the engine (blk_async.c)
 * watches. One ring rather than one per queue: the queues of one guest
 * share one image and one thread, so more rings would only add fds and
 * kernel memory without adding parallelism (the kernel's own workers do
 * the waiting either way). A record has at most one step in flight, so the
 * completion queue (2 × SQ = BLK_NUM_QUEUES × BLK_DEPTH entries) can never
 * overflow.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <liburing.h>

#include "dm/blk_int.h"

#define RING_ENTRIES (BLK_NUM_QUEUES * BLK_DEPTH / 2)

struct uring {
	struct io_uring ring;
	int efd;
};

static struct io_uring_sqe *get_sqe(struct uring *u)
{
	struct io_uring_sqe *sqe;
	/* The queue is full only of steps not yet submitted; submitting empties
	 * it (the kernel takes every entry; errors come back as completions). */
	while (!(sqe = io_uring_get_sqe(&u->ring)))
		io_uring_submit(&u->ring);
	return sqe;
}

static void ur_submit(struct blk_dev *d, struct blk_req *r)
{
	struct uring *u = d->be_priv;
	struct blk_step s;
	blk_io_step(d, r, &s);
	struct io_uring_sqe *sqe = get_sqe(u);
	switch (s.kind) {
	case BLK_STEP_READ:
		io_uring_prep_readv(sqe, d->fd, s.iov, s.iovcnt, s.off);
		break;
	case BLK_STEP_WRITE:
		io_uring_prep_writev(sqe, d->fd, s.iov, s.iovcnt, s.off);
		break;
	case BLK_STEP_FSYNC:
		io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_STEP_FALLOC:
		io_uring_prep_fallocate(sqe, d->fd, s.mode, s.off, s.len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
}

static void ur_flush(struct blk_dev *d)
{
	struct uring *u = d->be_priv;
	io_uring_submit(&u->ring);
}

static void ur_reap(struct blk_dev *d)
{
	struct uring *u = d->be_priv;
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		blk_async_done(d, r, res);
	}
}

static int ur_wait(struct blk_dev *d)
{
	struct uring *u = d->be_priv;
	int rc = io_uring_submit_and_wait(&u->ring, 1);
	return rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY ? rc : 0;
}

static int ur_fd(struct blk_dev *d)
{
	return ((struct uring *)d->be_priv)->efd;
}

static void ur_fini(struct blk_dev *d)
{
	struct uring *u = d->be_priv;
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u);
	d->be_priv = NULL;
}

static const struct blk_backend uring_backend = {
	.name = "io_uring",
	.completion_fd = ur_fd,
	.submit = ur_submit,
	.flush = ur_flush,
	.reap = ur_reap,
	.wait = ur_wait,
	.fini = ur_fini,
};

int blk_uring_init(struct blk_dev *d)
{
	struct uring *u = calloc(1, sizeof(*u));
	int rc;

	if (!u)
		return -ENOMEM;
	rc = io_uring_queue_init(RING_ENTRIES, &u->ring, 0);
	if (rc < 0)
		goto free_u;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0) {
		rc = -errno;
		goto exit_ring;
	}
	rc = io_uring_register_eventfd(&u->ring, u->efd);
	if (rc < 0)
		goto close_efd;
	d->be = &uring_backend;
	d->be_priv = u;
	return 0;
close_efd:
	close(u->efd);
exit_ring:
	io_uring_queue_exit(&u->ring);
free_u:
	free(u);
	return rc;
}

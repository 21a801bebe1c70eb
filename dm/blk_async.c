/* blk_uring.c — the asynchronous path: virtio-blk requests on io_uring.
 *
 * One ring per device serves all its queues. Its completions raise an
 * eventfd (io_uring_register_eventfd) that the program's loop watches; a
 * kick only pops, parses and submits, and returns. One ring rather than
 * one per queue: the queues of one guest share one image and one thread,
 * so more rings would only add fds and kernel memory without adding
 * parallelism (the kernel's own workers do the waiting either way).
 *
 * Records. Each queue owns BLK_DEPTH request records (blk_int.h: about
 * 4 KiB each — head, status byte, the data iovecs, progress), on a free
 * list. A request takes a record when popped and gives it back when pushed.
 * A record has at most one system call in flight, so the ring's completion
 * queue (2 × SQ = BLK_NUM_QUEUES × BLK_DEPTH entries) can never overflow.
 * Requests answered while parsing (bad bounds, GET_ID, unsupported types)
 * never take one.
 *
 * Backpressure. When a queue has no free record it stops popping and is
 * marked starved; the driver's kick for those requests has been consumed
 * already, so nobody else would come back for them: after each batch of
 * completions every starved queue with free records is served again. A
 * request that needs a bounce buffer (blk_bounce.c) when none is free
 * waits, in arrival order, on the device's wait list, and the next buffer
 * given back starts it. Memory is therefore bounded by BLK_NUM_QUEUES ×
 * BLK_DEPTH records plus the pool, whatever the guest does.
 *
 * Completions. A completion advances its request (blk_io.c): a short
 * transfer, the next bounce window or the next discard segment is submitted
 * at once; a finished request writes its status byte and is pushed. After
 * the batch, each queue that pushed calls its notifier once.
 *
 * FLUSH ordering. The fsync (IORING_FSYNC_DATASYNC) is submitted at once,
 * in parallel with writes still in flight. Virtio (1.2, 5.2.6) serves
 * requests "probably out of order" and a flush need only cover writes that
 * were completed — pushed to the used ring — before the driver sent it: a
 * driver that wants a write covered waits for its completion first (Linux's
 * block layer does exactly that for REQ_PREFLUSH). Every such write had
 * its CQE reaped before we pushed it, i.e. the kernel finished it, so an
 * fdatasync started after that covers it. The flush is acknowledged only
 * from its own completion, after the data is on stable storage.
 *
 * Stopping. queue_stop must leave nothing in flight: drain() marks the
 * queue stopping (nothing more is popped), then submits and waits on the
 * ring until the queue's last record came back (other queues' completions
 * met on the way are pushed and notified as usual), and notifies the queue
 * once more. blk_close drains every queue before the ring goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <liburing.h>

#include "common/loop.h"
#include "dm/blk_int.h"

#define RING_ENTRIES (BLK_NUM_QUEUES * BLK_DEPTH / 2)

struct blk_uring {
	struct io_uring ring;
	int efd;
	struct loop_fd *h;
	struct blk_req *wait_head, *wait_tail; /* waiting for a bounce buffer */
};

static struct io_uring_sqe *get_sqe(struct blk_uring *ur)
{
	struct io_uring_sqe *sqe;
	/* The queue is full only of steps not yet submitted; submitting empties
	 * it (the kernel takes every entry; errors come back as completions). */
	while (!(sqe = io_uring_get_sqe(&ur->ring)))
		io_uring_submit(&ur->ring);
	return sqe;
}

static void submit_step(struct blk_dev *d, struct blk_req *r)
{
	struct blk_step s;
	blk_io_step(d, r, &s);
	struct io_uring_sqe *sqe = get_sqe(d->ur);
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

static void start(struct blk_dev *d, struct blk_req *r, bool queued);

/* r is finished: answer it, give back its buffer (starting a waiter) and
 * its record. */
static void finish(struct blk_dev *d, struct blk_req *r)
{
	struct blk_queue *q = r->q;
	struct blk_uring *ur = d->ur;
	bool had_bounce = r->bounce >= 0;

	blk_io_end(d, r);
	blk_req_push(d, r, q->vq);
	q->pushed = true;
	r->next = q->free;
	q->free = r;
	q->inflight--;
	if (had_bounce && ur->wait_head) {
		struct blk_req *w = ur->wait_head;
		ur->wait_head = w->next;
		if (!ur->wait_head)
			ur->wait_tail = NULL;
		start(d, w, true);
	}
}

/* Starts r (which holds a record): its first step, or the bounce wait.
 * queued: r comes off the wait list (else it waits behind what is there). */
static void start(struct blk_dev *d, struct blk_req *r, bool queued)
{
	struct blk_uring *ur = d->ur;

	if (r->bounce_needed && ur->wait_head && !queued)
		goto wait;
	if (!blk_io_begin(d, r)) {
		if (d->bounce.busy == 0) { /* the pool could not even allocate */
			r->status = VIRTIO_BLK_S_IOERR;
			finish(d, r);
			return;
		}
		goto wait;
	}
	submit_step(d, r);
	return;
wait:
	r->next = NULL;
	if (ur->wait_tail)
		ur->wait_tail->next = r;
	else
		ur->wait_head = r;
	ur->wait_tail = r;
}

/* Pops, parses and starts what q offers, while it has free records. */
static void serve(struct blk_dev *d, struct blk_queue *q)
{
	struct vq *vq = q->vq;

	q->starved = false;
	if (!vq || q->stopping)
		return;
	/* Bound one call's work, as the synchronous path does: requests
	 * answered while parsing take no record. */
	for (unsigned int budget = 4 * vq->num; budget > 0; budget--) {
		if (!q->free) {
			q->starved = true;
			return;
		}
		if (vq_pop(vq, &d->elem) != 1)
			return;
		struct blk_req *r = q->free;
		enum blk_parse p = blk_req_parse(d, &d->elem, r);
		if (p == BLK_PARSE_BROKEN) {
			vq_mark_broken(vq, "virtio-blk request without a status byte");
			q->pushed = true; /* the transport reports the broken queue */
			return;
		}
		if (p == BLK_PARSE_DONE) {
			blk_req_push(d, r, vq);
			q->pushed = true;
			continue;
		}
		q->free = r->next;
		q->inflight++;
		r->q = q;
		start(d, r, false);
	}
}

static void reap(struct blk_dev *d)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&d->ur->ring, &cqe) == 0) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&d->ur->ring, cqe);
		if (blk_io_advance(d, r, res))
			finish(d, r);
		else
			submit_step(d, r);
	}
}

static void notify(struct blk_queue *q)
{
	if (q->pushed && q->has_notifier)
		q->n.notify(q->n.ctx, q->idx);
	q->pushed = false;
}

/* One batch: reap every completion, serve starved queues again, notify
 * each queue that pushed, submit what was prepared. */
static void process(struct blk_dev *d)
{
	reap(d);
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++) {
		struct blk_queue *q = &d->q[i];
		if (q->starved && q->free)
			serve(d, q);
		notify(q);
	}
	io_uring_submit(&d->ur->ring);
}

static void on_completion(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	(void)h;
	(void)events;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: completions were reaped already (by a drain). */
	}
	process(data);
}

void blk_uring_kick(struct blk_dev *d, struct blk_queue *q)
{
	serve(d, q);
	q->pushed = false; /* the transport signals after queue_kick */
	io_uring_submit(&d->ur->ring);
}

void blk_uring_drain(struct blk_dev *d, struct blk_queue *q)
{
	q->stopping = true;
	while (q->inflight > 0) {
		int rc = io_uring_submit_and_wait(&d->ur->ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			/* The kernel may still write into guest memory that the
			 * transport is about to unmap: nothing safe is left. */
			log_err("blk: cannot wait for io_uring completions: %s", strerror(-rc));
			abort();
		}
		process(d);
	}
	notify(q);
	q->stopping = false;
	q->starved = false;
}

int blk_uring_init(struct blk_dev *d, struct loop *loop)
{
	struct blk_uring *ur = calloc(1, sizeof(*ur));
	int rc;

	if (!ur)
		return -ENOMEM;
	rc = io_uring_queue_init(RING_ENTRIES, &ur->ring, 0);
	if (rc < 0)
		goto free_ur;
	ur->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ur->efd < 0) {
		rc = -errno;
		goto exit_ring;
	}
	rc = io_uring_register_eventfd(&ur->ring, ur->efd);
	if (rc < 0)
		goto close_efd;
	rc = loop_add_fd(loop, ur->efd, EPOLLIN, on_completion, d, &ur->h);
	if (rc < 0)
		goto close_efd;
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++) {
		struct blk_queue *q = &d->q[i];
		q->recs = calloc(BLK_DEPTH, sizeof(*q->recs));
		if (!q->recs) {
			rc = -ENOMEM;
			goto free_recs;
		}
		for (unsigned int k = 0; k < BLK_DEPTH; k++) {
			q->recs[k].next = q->free;
			q->free = &q->recs[k];
		}
	}
	d->ur = ur;
	return 0;
free_recs:
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++) {
		free(d->q[i].recs);
		d->q[i].recs = NULL;
		d->q[i].free = NULL;
	}
	loop_del_fd(ur->h);
close_efd:
	close(ur->efd);
exit_ring:
	io_uring_queue_exit(&ur->ring);
free_ur:
	free(ur);
	return rc;
}

void blk_uring_fini(struct blk_dev *d)
{
	struct blk_uring *ur = d->ur;

	if (!ur)
		return;
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++)
		d->q[i].stopping = true;
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++)
		blk_uring_drain(d, &d->q[i]);
	loop_del_fd(ur->h);
	io_uring_queue_exit(&ur->ring);
	close(ur->efd);
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++)
		free(d->q[i].recs);
	free(ur);
	d->ur = NULL;
}

/* blk_async.c — the asynchronous path: virtio-blk requests served by a
 * back end that completes them later (blk_uring.c: io_uring on the image;
 * blk_vpci.c: the stub domain's own virtio disk, driven from user space).
 *
 * The engine owns everything about requests; a back end only carries out
 * steps (blk_io.c) and reports their results through blk_async_done. Its
 * completions raise an fd that the program's loop watches; a kick only
 * pops, parses and submits, and returns.
 *
 * Records. Each queue owns BLK_DEPTH request records (blk_int.h: about
 * 4 KiB each — head, status byte, the data iovecs, progress), on a free
 * list. A request takes a record when popped and gives it back when pushed.
 * A record has at most one step in flight. Requests answered while parsing
 * (bad bounds, GET_ID, unsupported types) never take one.
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
 * FLUSH ordering. The flush is submitted at once, in parallel with writes
 * still in flight. Virtio (1.2, 5.2.6) serves requests "probably out of
 * order" and a flush need only cover writes that were completed — pushed
 * to the used ring — before the driver sent it: a driver that wants a
 * write covered waits for its completion first (Linux's block layer does
 * exactly that for REQ_PREFLUSH). Every such write's completion was reaped
 * before we pushed it, i.e. the back end finished it, so a flush started
 * after that covers it. The flush is acknowledged only from its own
 * completion, after the data is on stable storage.
 *
 * Stopping. queue_stop must leave nothing in flight: drain() marks the
 * queue stopping (nothing more is popped), then waits on the back end
 * until the queue's last record came back (other queues' completions met
 * on the way are pushed and notified as usual), and notifies the queue
 * once more. blk_close drains every queue before the back end goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/loop.h"
#include "dm/blk_int.h"

struct blk_async {
	struct loop_fd *h;
	struct blk_req *wait_head, *wait_tail; /* waiting for a bounce buffer */
};

static void start(struct blk_dev *d, struct blk_req *r, bool queued);

/* r is finished: answer it, give back its buffer (starting a waiter) and
 * its record. */
static void finish(struct blk_dev *d, struct blk_req *r)
{
	struct blk_queue *q = r->q;
	struct blk_async *as = d->as;
	bool had_bounce = r->bounce >= 0;

	blk_io_end(d, r);
	blk_req_push(d, r, q->vq);
	q->pushed = true;
	r->next = q->free;
	q->free = r;
	q->inflight--;
	if (had_bounce && as->wait_head) {
		struct blk_req *w = as->wait_head;
		as->wait_head = w->next;
		if (!as->wait_head)
			as->wait_tail = NULL;
		start(d, w, true);
	}
}

/* Starts r (which holds a record): its first step, or the bounce wait.
 * queued: r comes off the wait list (else it waits behind what is there). */
static void start(struct blk_dev *d, struct blk_req *r, bool queued)
{
	struct blk_async *as = d->as;

	if (r->bounce_needed && as->wait_head && !queued)
		goto wait;
	if (!blk_io_begin(d, r)) {
		if (d->bounce.busy == 0) { /* the pool could not even allocate */
			r->status = VIRTIO_BLK_S_IOERR;
			finish(d, r);
			return;
		}
		goto wait;
	}
	d->be->submit(d, r);
	return;
wait:
	r->next = NULL;
	if (as->wait_tail)
		as->wait_tail->next = r;
	else
		as->wait_head = r;
	as->wait_tail = r;
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

void blk_async_done(struct blk_dev *d, struct blk_req *r, int64_t res)
{
	if (blk_io_advance(d, r, res))
		finish(d, r);
	else
		d->be->submit(d, r);
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
	d->be->reap(d);
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++) {
		struct blk_queue *q = &d->q[i];
		if (q->starved && q->free)
			serve(d, q);
		notify(q);
	}
	d->be->flush(d);
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

void blk_async_kick(struct blk_dev *d, struct blk_queue *q)
{
	serve(d, q);
	q->pushed = false; /* the transport signals after queue_kick */
	d->be->flush(d);
}

void blk_async_drain(struct blk_dev *d, struct blk_queue *q)
{
	q->stopping = true;
	while (q->inflight > 0) {
		int rc = d->be->wait(d);
		if (rc < 0) {
			/* The back end may still write into guest memory that
			 * the transport is about to unmap: nothing safe is left. */
			log_err("blk: cannot wait for %s completions: %s", d->be->name,
				strerror(-rc));
			abort();
		}
		process(d);
	}
	notify(q);
	q->stopping = false;
	q->starved = false;
}

int blk_async_init(struct blk_dev *d, struct loop *loop)
{
	struct blk_async *as = calloc(1, sizeof(*as));
	int rc;

	if (!as)
		return -ENOMEM;
	rc = loop_add_fd(loop, d->be->completion_fd(d), EPOLLIN, on_completion, d, &as->h);
	if (rc < 0)
		goto free_as;
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
	d->as = as;
	return 0;
free_recs:
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++) {
		free(d->q[i].recs);
		d->q[i].recs = NULL;
		d->q[i].free = NULL;
	}
	loop_del_fd(as->h);
free_as:
	free(as);
	return rc;
}

void blk_async_fini(struct blk_dev *d)
{
	struct blk_async *as = d->as;

	if (!as)
		return;
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++)
		d->q[i].stopping = true;
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++)
		blk_async_drain(d, &d->q[i]);
	loop_del_fd(as->h);
	for (unsigned int i = 0; i < BLK_NUM_QUEUES; i++)
		free(d->q[i].recs);
	free(as);
	d->as = NULL;
}

/* vq_inflight.c — attaching an inflight-tracking region to a split
 * virtqueue, and recovering the requests a dead back end left in flight.
 *
 * Design
 * ------
 * The problem. A back end that completes requests out of order (io_uring)
 * and is killed leaves some popped chains without a used entry. The rings
 * alone cannot say which: the used ring holds what was completed, the
 * avail ring what was offered, and once the driver got back used entries
 * it refills avail slots and descriptor heads. So the back end records
 * every head it pops in a region the front end keeps for it (inflight.h):
 * a flag and a pop counter per head, plus the used index and the last
 * pushed head. On reconnect the front end hands the region back before
 * the rings are set up, and vq_set_inflight() runs the recovery below.
 *
 * What a pop and a push write (vq.c), in this order, each a release store:
 *   pop  h:  desc[h].counter = counter++; desc[h].inflight = 1
 *   push h:  desc[h].next = last_batch_head; last_batch_head = h;
 *            used ring entry; used->idx += 1;
 *            desc[h].inflight = 0; region used_idx = used->idx
 * A SIGKILL can fall between any two stores. Before used->idx moved, h is
 * still inflight and the region agrees with the ring; the guest never saw
 * the completion, so running h again is what it expects. After used->idx
 * moved but before the region caught up, used->idx - region used_idx is
 * the size of the interrupted batch (1 here), and the batch's heads are
 * the list that starts at last_batch_head: recovery clears their flags
 * (whether or not the dead process got to it) and sets region used_idx to
 * used->idx. After the last store the region is consistent.
 *
 * Which heads run again. After that resolution, the heads with the flag
 * set are exactly those popped and not returned. They are handed out again
 * by vq_pop, oldest counter first (ties by head index), before anything
 * from the avail ring, and without moving last_avail.
 *
 * Where the avail ring resumes: the subtle part. Popping takes avail slots
 * strictly in order and each push adds one used entry, so at every instant
 * (unpop aside, below)
 *       last_avail - used->idx == number of heads inflight   (mod 2^16)
 * whatever the completion order. The dead process's last_avail is lost,
 * but it is therefore used->idx + inflight: recovery sets last_avail to
 * that, and used_idx (our next used slot) to used->idx. QEMU on reconnect
 * sends SET_VRING_BASE with the used index (it rolls its own last_avail
 * back to used->idx when the back end dies), which is also what
 * libvhost-user receives and then overrides the same way (it counts the
 * inflight heads and starts avail at used index + that count). Taking the
 * base as last_avail instead would re-pop the slots [used, used + n): they
 * hold the very chains that were popped before the crash, the ones still
 * inflight (which then run twice: once resubmitted from the region, once
 * from avail) and, with out-of-order completion, also ones completed
 * already (which would then run a second time and be returned twice). So
 * the base is ignored on a region in use; a clean restart gives the same
 * number anyway (GET_VRING_BASE returns last_avail, which is used + n).
 *
 * Worked example, num = 8: the driver offers heads 0,1,2,3 in slots 0..3;
 * we pop all four (counters 1..4, last_avail 4) and complete 2 then 0
 * (used->idx 2). Killed. The region says 1 and 3 are inflight; QEMU sends
 * base 2. Recovery: used 2, n 2, last_avail 4; vq_pop returns 1, then 3,
 * then whatever the driver offers from slot 4 on. Starting at base 2 would
 * have re-popped slot 2 (head 2, completed) and slot 3 (head 3, resubmitted
 * too).
 *
 * vq_unpop keeps the flags of the chains it gives back (their slots will
 * be popped again): the identity then reads last_avail_before_unpop - used
 * == inflight, and a crash before the re-pop resubmits them once, exactly
 * as if they had not been given back.
 *
 * Hostile contents. The region is shared with the front end, which may
 * write anything at any time. Every field is read once into a local and
 * checked there: a version other than 0 or 1, a desc_num that is not the
 * one the transport sized the region with, or an interrupted batch larger
 * than the queue makes the region unusable (-EINVAL: the transport refuses
 * to start the ring); the batch list is walked at most `batch` steps and
 * stops at an index out of range; only heads below the queue size are
 * collected (flags above it are ignored); counters only order the list.
 * So recovery is bounded by the queue size, and vq_pop never hands out a
 * head >= num (each is walked like any avail head). A driver that offers a
 * head that is still in flight breaks the identity for itself only: its
 * requests may be lost or repeated after a crash, nothing worse.
 */
#include "virtio/vq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	uint64_t counter;
	uint16_t head;
};

static int by_counter(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->counter != y->counter)
		return x->counter < y->counter ? -1 : 1;
	return (x->head > y->head) - (x->head < y->head);
}

static uint16_t ring_used_idx(const struct vq *vq)
{
	return __atomic_load_n((uint16_t *)(vq->used + 2), __ATOMIC_ACQUIRE);
}

/* A region never used: zero the head states, then publish version 1. */
static void init_region(struct vq *vq, struct inflight_queue *q, unsigned int desc_num)
{
	memset(q->desc, 0, sizeof(q->desc[0]) * desc_num);
	__atomic_store_n(&q->features, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->desc_num, (uint16_t)desc_num, __ATOMIC_RELAXED);
	__atomic_store_n(&q->last_batch_head, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->used_idx, ring_used_idx(vq), __ATOMIC_RELAXED);
	__atomic_store_n(&q->version, (uint16_t)INFLIGHT_VERSION, __ATOMIC_RELEASE);
	vq->inflight = q;
	vq->inflight_counter = 1;
}

/* Clears the flags of an interrupted batch. Returns 0 or -EINVAL. */
static int resolve_batch(const struct vq *vq, struct inflight_queue *q, uint16_t used)
{
	uint16_t batch = (uint16_t)(used - __atomic_load_n(&q->used_idx, __ATOMIC_RELAXED));

	if (batch > vq->num)
		return -EINVAL;
	uint16_t h = __atomic_load_n(&q->last_batch_head, __ATOMIC_RELAXED);
	for (uint16_t k = 0; k < batch && h < vq->num; k++) {
		__atomic_store_n(&q->desc[h].inflight, 0, __ATOMIC_RELAXED);
		h = __atomic_load_n(&q->desc[h].next, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&q->used_idx, used, __ATOMIC_RELEASE);
	return 0;
}

/* Collects the heads still inflight into a list sorted by counter. */
static int collect(struct vq *vq, struct inflight_queue *q)
{
	struct pending *p = malloc(sizeof(*p) * vq->num);
	unsigned int n = 0;

	if (!p)
		return -ENOMEM;
	for (unsigned int i = 0; i < vq->num; i++) {
		if (!__atomic_load_n(&q->desc[i].inflight, __ATOMIC_RELAXED))
			continue;
		p[n].counter = __atomic_load_n(&q->desc[i].counter, __ATOMIC_RELAXED);
		p[n].head = (uint16_t)i;
		n++;
	}
	uint16_t *list = NULL;
	if (n > 0) {
		qsort(p, n, sizeof(*p), by_counter);
		list = malloc(sizeof(*list) * n);
		if (!list) {
			free(p);
			return -ENOMEM;
		}
		for (unsigned int i = 0; i < n; i++)
			list[i] = p[i].head;
		vq->inflight_counter = p[n - 1].counter + 1;
	} else {
		vq->inflight_counter = 1;
	}
	free(p);
	vq->resubmit = list;
	vq->resubmit_n = n;
	vq->resubmit_next = 0;
	return 0;
}

int vq_set_inflight(struct vq *vq, struct inflight_queue *region, unsigned int desc_num)
{
	if (!vq->ready || vq->inflight || !region || desc_num < vq->num || desc_num > VQ_MAX_SIZE)
		return -EINVAL;
	uint16_t version = __atomic_load_n(&region->version, __ATOMIC_ACQUIRE);
	if (version == 0) {
		init_region(vq, region, desc_num);
		return 0;
	}
	if (version != INFLIGHT_VERSION ||
	    __atomic_load_n(&region->desc_num, __ATOMIC_RELAXED) != desc_num)
		return -EINVAL;
	uint16_t used = ring_used_idx(vq);
	int rc = resolve_batch(vq, region, used);
	if (rc == 0)
		rc = collect(vq, region);
	if (rc < 0)
		return rc;
	vq->inflight = region;
	vq->used_idx = used;
	vq->last_avail = (uint16_t)(used + vq->resubmit_n);
	vq->avail_pops = 0;
	if (vq->event_idx)
		__atomic_store_n((uint16_t *)(vq->used + 4 + 8 * (size_t)vq->num), vq->last_avail,
				 __ATOMIC_RELAXED);
	return 0;
}

unsigned int vq_resubmit_pending(const struct vq *vq)
{
	return vq->resubmit_n - vq->resubmit_next;
}

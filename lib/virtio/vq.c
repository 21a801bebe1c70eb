/* vq.c — split virtqueues, device side.
 *
 * Design
 * ------
 * The three rings live in guest memory, which the guest may rewrite at any
 * moment, including while we read them. So every value is read exactly once
 * into a local (indices with an acquire load, descriptors copied whole with
 * memcpy) and checked there; nothing is ever re-read after it was checked.
 *
 * Popping a chain:
 *   1. avail->idx is loaded; if it is more than `num` ahead of last_avail the
 *      driver claims more chains than the ring holds: broken.
 *   2. The head index comes from avail->ring[last_avail % num]; >= num is
 *      broken.
 *   3. The chain is walked in a descriptor table: first the ring's own
 *      table (num entries), and, when a descriptor carries INDIRECT, the
 *      indirect table it points at (len / 16 entries). Each step checks:
 *        - the index is inside the current table;
 *        - at most `table size` descriptors are visited in one table; a
 *          chain that has not ended by then loops (or is longer than the
 *          queue): broken. This bound replaces any visited-set bookkeeping;
 *        - INDIRECT only if negotiated, only in the ring's table, never
 *          together with NEXT, with a length that is a non-zero multiple of
 *          16; the indirect table is read descriptor by descriptor through
 *          vmem_read(), so it may not leave guest RAM either;
 *        - a readable buffer after a writable one is refused (virtio 2.7.4);
 *        - every buffer [addr, addr + len) must lie in guest RAM
 *          (vmem_map_iov() checks the overflow of addr + len, and splits a
 *          buffer that crosses adjacent regions);
 *        - the byte totals of each direction must fit in 32 bits.
 *   4. last_avail advances only when the whole chain was accepted.
 *
 * A broken queue logs one rate-limited line naming the queue and the reason,
 * then pops nothing until the transport resets it (a vhost-user front end
 * re-sends the ring set-up; a device may also set DEVICE_NEEDS_RESET). The
 * guest's other queues and devices are not affected and nothing aborts.
 *
 * Pushing writes the used element, then (release) the used index. With
 * EVENT_IDX the driver's used_event says after which index it wants an
 * interrupt (vring_need_event), and we publish avail_event so the driver
 * kicks only when it passes our last_avail; without it, the NO_INTERRUPT
 * and NO_NOTIFY flags do the same coarsely.
 *
 * With inflight tracking on (vq_set_inflight, vhost-user INFLIGHT_SHMFD)
 * a pop also marks its head inflight in the shared region (counter first,
 * then the flag) and a push follows the spec's order: the head is linked
 * in as the last batch, the used element and index are published, then
 * the flag is cleared and the region's used_idx caught up. Each store is a
 * release store, so the compiler keeps that order and a SIGKILL between
 * any two of them leaves a state recovery can resolve (vq_inflight.c has
 * the recovery and its argument). Heads recovered from the region are
 * popped before the avail ring and do not move last_avail.
 *
 * Chain length: a direct chain may visit at most num descriptors (a loop
 * is caught the same way); an indirect table at most its own length
 * (≤ VQ_MAX_SIZE entries), and one element at most VQ_MAX_IOV buffers. The
 * spec asks the driver not to build chains longer than the queue, but an
 * indirect table longer than a small queue is what Linux's virtio-blk
 * legitimately builds when seg_max (254 here) exceeds the queue size
 * (vhost-user-blk-pci defaults to 128), and QEMU's own devices accept it:
 * refusing it would break honest guests, while every bound above keeps a
 * hostile one to bounded work.
 *
 * Worked example: num = 4, a driver sets desc[0].next = 1, desc[1].next = 0,
 * both with NEXT. The walk visits 0, 1, 0, 1 and at the fifth step has
 * visited 4 = num descriptors without reaching the end: "chain too long or
 * looped", queue broken, last_avail unchanged.
 */
#include "virtio/vq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtio rings are little-endian; this host is not"
#endif

uint64_t vq_desc_size(unsigned int num)
{
	return 16ull * num;
}

uint64_t vq_avail_size(unsigned int num)
{
	return 6ull + 2ull * num;
}

uint64_t vq_used_size(unsigned int num)
{
	return 6ull + 8ull * num;
}

static uint16_t *avail_idx_p(const struct vq *vq)
{
	return (uint16_t *)(vq->avail + 2);
}

static uint16_t *avail_flags_p(const struct vq *vq)
{
	return (uint16_t *)vq->avail;
}

static uint16_t *avail_ring_p(const struct vq *vq, unsigned int i)
{
	return (uint16_t *)(vq->avail + 4 + 2 * i);
}

static uint16_t *used_event_p(const struct vq *vq)
{
	return avail_ring_p(vq, vq->num);
}

static uint16_t *used_flags_p(const struct vq *vq)
{
	return (uint16_t *)vq->used;
}

static uint16_t *used_idx_p(const struct vq *vq)
{
	return (uint16_t *)(vq->used + 2);
}

static uint16_t *avail_event_p(const struct vq *vq)
{
	return (uint16_t *)(vq->used + 4 + 8 * vq->num);
}

int vq_setup(struct vq *vq, const struct vmem *mem, unsigned int num, void *desc, void *avail,
	     void *used, uint64_t features, uint16_t base, const char *name)
{
	vq_reset(vq);
	if (num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)) != 0)
		return -EINVAL;
	if (!desc || !avail || !used || ((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) ||
	    ((uintptr_t)used & 3))
		return -EINVAL;
	vq->mem = mem;
	vq->num = num;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	vq->event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	vq->name = name ? name : "vq";
	vq->last_avail = base;
	vq->used_idx = base;
	vq->ready = true;
	return 0;
}

int vq_setup_gpa(struct vq *vq, const struct vmem *mem, unsigned int num, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features, uint16_t base, const char *name)
{
	if (num == 0 || num > VQ_MAX_SIZE) {
		vq_reset(vq);
		return -EINVAL;
	}
	return vq_setup(vq, mem, num, vmem_gpa_to_hva(mem, desc, vq_desc_size(num)),
			vmem_gpa_to_hva(mem, avail, vq_avail_size(num)),
			vmem_gpa_to_hva(mem, used, vq_used_size(num)), features, base, name);
}

void vq_reset(struct vq *vq)
{
	struct log_ratelimit rl = vq->rl;

	free(vq->resubmit);
	memset(vq, 0, sizeof(*vq));
	vq->rl = rl;
}

void vq_mark_broken(struct vq *vq, const char *why)
{
	if (vq->broken)
		return;
	vq->broken = true;
	log_rl(&vq->rl, LOG_LVL_WARN, "%s: virtqueue broken: %s", vq->name ? vq->name : "vq", why);
}

bool vq_is_ready(const struct vq *vq)
{
	return vq->ready;
}

bool vq_is_broken(const struct vq *vq)
{
	return vq->broken;
}

/* Reads descriptor i of the current table: the ring's (table_gpa == 0 and
 * indirect false) or an indirect table at table_gpa. */
static int read_desc(const struct vq *vq, bool indirect, uint64_t table_gpa, unsigned int i,
		     struct vring_desc *d)
{
	if (!indirect) {
		memcpy(d, vq->desc + 16 * (size_t)i, sizeof(*d));
		return 0;
	}
	return vmem_read(vq->mem, table_gpa + 16ull * i, d, sizeof(*d));
}

/* True if all of [gpa, gpa + len) is guest memory (possibly spanning
 * adjacent regions). */
static bool table_in_memory(const struct vmem *m, uint64_t gpa, uint64_t len)
{
	struct iovec iov[VMEM_MAX_REGIONS];
	unsigned int n = 0;

	return vmem_map_iov(m, gpa, len, iov, VMEM_MAX_REGIONS, &n) == 0;
}

/* Walks the chain starting at `head` into elem. Returns 0 or a reason. */
static const char *walk_chain(struct vq *vq, uint16_t head, struct vq_elem *elem)
{
	bool in_indirect = false;
	uint64_t table_gpa = 0;
	unsigned int table_size = vq->num, visited = 0, i = head;
	uint64_t out_len = 0, in_len = 0;

	elem->head = head;
	elem->out_num = elem->in_num = 0;
	for (;;) {
		struct vring_desc d;

		if (i >= table_size)
			return "descriptor index out of range";
		if (++visited > table_size)
			return "chain too long or looped";
		if (read_desc(vq, in_indirect, table_gpa, i, &d) < 0)
			return "indirect table outside guest memory";
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return "INDIRECT without the feature";
			if (in_indirect)
				return "nested indirect table";
			if (d.flags & VRING_DESC_F_NEXT)
				return "INDIRECT together with NEXT";
			if (d.len == 0 || d.len % 16 != 0 || d.len / 16 > VQ_MAX_SIZE)
				return "bad indirect table length";
			if (!table_in_memory(vq->mem, d.addr, d.len))
				return "indirect table outside guest memory";
			in_indirect = true;
			table_gpa = d.addr;
			table_size = d.len / 16;
			visited = 0;
			i = 0;
			continue;
		}
		unsigned int n = elem->out_num + elem->in_num;
		int rc;
		if (d.flags & VRING_DESC_F_WRITE) {
			in_len += d.len;
			if (in_len > UINT32_MAX)
				return "writable length overflows";
			rc = vmem_map_iov(vq->mem, d.addr, d.len, elem->iov, VQ_MAX_IOV, &n);
			if (rc == 0)
				elem->in_num = n - elem->out_num;
		} else {
			if (elem->in_num)
				return "readable descriptor after a writable one";
			out_len += d.len;
			if (out_len > UINT32_MAX)
				return "readable length overflows";
			rc = vmem_map_iov(vq->mem, d.addr, d.len, elem->iov, VQ_MAX_IOV, &n);
			if (rc == 0)
				elem->out_num = n;
		}
		if (rc == -ENOBUFS)
			return "too many buffers in one chain";
		if (rc < 0)
			return "buffer outside guest memory";
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
	}
	elem->out_len = (uint32_t)out_len;
	elem->in_len = (uint32_t)in_len;
	return NULL;
}

/* Marks head inflight in the region: counter, then (release) the flag. */
static void inflight_mark(struct vq *vq, uint16_t head)
{
	struct inflight_desc *d = &vq->inflight->desc[head];

	__atomic_store_n(&d->counter, vq->inflight_counter++, __ATOMIC_RELAXED);
	__atomic_store_n(&d->inflight, 1, __ATOMIC_RELEASE);
}

/* The next head recovered from the inflight region, walked like any chain;
 * last_avail does not move. */
static int pop_resubmit(struct vq *vq, struct vq_elem *elem)
{
	uint16_t head = vq->resubmit[vq->resubmit_next];
	const char *why = walk_chain(vq, head, elem);

	if (why) {
		vq_mark_broken(vq, why);
		return -EIO;
	}
	/* Still inflight (the front end may have scribbled on the flag). */
	__atomic_store_n(&vq->inflight->desc[head].inflight, 1, __ATOMIC_RELEASE);
	vq->resubmit_next++;
	return 1;
}

int vq_pop(struct vq *vq, struct vq_elem *elem)
{
	if (!vq->ready || vq->broken)
		return 0;
	if (vq->resubmit_next < vq->resubmit_n)
		return pop_resubmit(vq, elem);
	uint16_t avail_idx = __atomic_load_n(avail_idx_p(vq), __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->num) {
		vq_mark_broken(vq, "avail index runs ahead of the ring");
		return -EIO;
	}
	uint16_t head =
		__atomic_load_n(avail_ring_p(vq, vq->last_avail % vq->num), __ATOMIC_RELAXED);
	if (head >= vq->num) {
		vq_mark_broken(vq, "head index out of range");
		return -EIO;
	}
	const char *why = walk_chain(vq, head, elem);
	if (why) {
		vq_mark_broken(vq, why);
		return -EIO;
	}
	if (vq->inflight)
		inflight_mark(vq, head);
	if (vq->avail_pops < UINT32_MAX)
		vq->avail_pops++;
	vq->last_avail++;
	if (vq->event_idx)
		__atomic_store_n(avail_event_p(vq), vq->last_avail, __ATOMIC_RELAXED);
	return 1;
}

void vq_unpop(struct vq *vq, unsigned int n)
{
	/* Avail pops came after every resubmitted one: undo those first. */
	unsigned int from_avail = n < vq->avail_pops ? n : vq->avail_pops;
	unsigned int from_resubmit = n - from_avail;

	vq->avail_pops -= from_avail;
	vq->last_avail = (uint16_t)(vq->last_avail - from_avail);
	if (from_resubmit > vq->resubmit_next)
		from_resubmit = vq->resubmit_next;
	vq->resubmit_next -= from_resubmit;
}

void vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	if (!vq->ready || head >= vq->num)
		return;
	struct inflight_queue *q = vq->inflight;
	if (q) {
		/* A batch of one: desc[head].next = last_batch_head, then
		 * last_batch_head = head. */
		uint16_t prev = __atomic_load_n(&q->last_batch_head, __ATOMIC_RELAXED);
		__atomic_store_n(&q->desc[head].next, prev, __ATOMIC_RELAXED);
		__atomic_store_n(&q->last_batch_head, head, __ATOMIC_RELEASE);
	}
	struct vring_used_elem e = {.id = head, .len = len};
	memcpy(vq->used + 4 + 8 * (size_t)(vq->used_idx % vq->num), &e, sizeof(e));
	vq->used_idx++;
	__atomic_store_n(used_idx_p(vq), vq->used_idx, __ATOMIC_RELEASE);
	if (q) {
		__atomic_store_n(&q->desc[head].inflight, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&q->used_idx, vq->used_idx, __ATOMIC_RELEASE);
	}
}

/* virtio 2.7.10: notify if new_idx has passed event_idx since old. */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_notify(struct vq *vq)
{
	if (!vq->ready)
		return false;
	/* Our used-index store must be visible before we read the driver's
	 * wish, or both sides may decide to wait. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool notify;
	if (vq->event_idx) {
		uint16_t ev = __atomic_load_n(used_event_p(vq), __ATOMIC_RELAXED);
		notify = !vq->signalled_valid || need_event(ev, vq->used_idx, vq->signalled);
	} else {
		uint16_t fl = __atomic_load_n(avail_flags_p(vq), __ATOMIC_RELAXED);
		notify = !(fl & VRING_AVAIL_F_NO_INTERRUPT);
	}
	if (notify || !vq->signalled_valid) {
		vq->signalled = vq->used_idx;
		vq->signalled_valid = true;
	}
	return notify;
}

bool vq_set_kicks(struct vq *vq, bool enable)
{
	if (!vq->ready)
		return false;
	if (vq->event_idx) {
		if (enable)
			__atomic_store_n(avail_event_p(vq), vq->last_avail, __ATOMIC_RELAXED);
	} else {
		uint16_t fl = enable ? 0 : VRING_USED_F_NO_NOTIFY;
		__atomic_store_n(used_flags_p(vq), fl, __ATOMIC_RELAXED);
	}
	if (!enable)
		return false;
	if (vq->resubmit_next < vq->resubmit_n)
		return true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(avail_idx_p(vq), __ATOMIC_ACQUIRE) != vq->last_avail;
}

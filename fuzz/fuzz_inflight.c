/* fuzz_inflight.c — libFuzzer target for inflight I/O tracking on split
 * virtqueues (lib/virtio/vq_inflight.c and the tracking in vq.c).
 *
 * The inflight region is shared with the front end, so its contents are
 * hostile, and so are the rings. Input: byte 0 picks the queue size
 * (1 << (b % 7): 1..64), byte 1 the features (bit 0 INDIRECT_DESC, bit 1
 * EVENT_IDX), byte 2 how many more heads the region holds than the ring
 * (b % 8), byte 3 the number of operations; then the region's bytes
 * (inflight_queue_size(desc_num), in a heap block of exactly that size so
 * AddressSanitizer sees any access past it), the operations, and the rest
 * is guest memory laid out as in fuzz_vq (two adjacent 8 KiB regions at
 * guest-physical 0x1000; descriptors at 0x1000, avail at 0x1800, used at
 * 0x3000).
 *
 * The queue starts at base = the used ring's idx (what QEMU sends on a
 * reconnect) and the region is attached. Operations: pop one chain; push
 * one of the chains held; "crash" (vq_reset, set up again at the used
 * index, attach the region again), optionally in the middle of a push
 * (the spec's steps done by hand up to a point); or flip a region byte.
 *
 * Oracles: vq_set_inflight and every vq_pop return (bounded by the input,
 * no hang), no popped head is >= the queue size, no sanitizer report; and,
 * while neither the region was flipped nor the driver offered a head that
 * was in flight already (its own fault), every restart hands out exactly
 * the heads that were popped and not returned (plus those still waiting
 * to be resubmitted), each once, and resumes the avail ring where the
 * dead queue stopped.
 */
#include "virtio/inflight.h"
#include "virtio/vmem.h"
#include "virtio/vq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_inflight: invariant failed: %s\n", #cond);           \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define REGION	 0x2000u
#define DESC_GPA 0x1000u
#define AVAIL	 0x1800u
#define USED	 0x3000u

struct state {
	struct vmem mem;
	struct vq vq;
	struct inflight_queue *region;
	size_t region_len;
	unsigned int num, desc_num;
	uint64_t features;
	/* What the oracle tracks. */
	uint16_t held[64]; /* popped, not returned: count per head */
	bool trusted;	   /* no flipped byte, no head offered twice */
};

static struct vq_elem elem;

static void guest_write(struct state *s, uint64_t gpa, const void *src, size_t len)
{
	void *p = vmem_gpa_to_hva(&s->mem, gpa, len);
	CHECK(p);
	memcpy(p, src, len);
}

static uint16_t ring_used_idx(struct state *s)
{
	uint16_t v;
	CHECK(vmem_read(&s->mem, USED + 2, &v, 2) == 0);
	return v;
}

/* Sets the queue up at the used index and attaches the region. Returns
 * false if the region was refused. */
static bool start(struct state *s)
{
	CHECK(vq_setup_gpa(&s->vq, &s->mem, s->num, DESC_GPA, AVAIL, USED, s->features,
			   ring_used_idx(s), "fuzz") == 0);
	return vq_set_inflight(&s->vq, s->region, s->desc_num) == 0;
}

/* True if head h waits in the resubmit list. */
static bool pending(const struct state *s, uint16_t h)
{
	for (unsigned int i = s->vq.resubmit_next; i < s->vq.resubmit_n; i++)
		if (s->vq.resubmit[i] == h)
			return true;
	return false;
}

static void pop(struct state *s)
{
	bool resubmit = vq_resubmit_pending(&s->vq) > 0;
	int rc = vq_pop(&s->vq, &elem);
	if (rc != 1)
		return;
	CHECK(elem.head < s->num);
	CHECK(elem.out_num + elem.in_num <= VQ_MAX_IOV);
	/* The driver offering a head that is in flight: outside the spec. */
	if (s->held[elem.head] || (!resubmit && pending(s, elem.head)))
		s->trusted = false;
	s->held[elem.head]++;
}

static int nth_held(const struct state *s, unsigned int k)
{
	unsigned int n = 0;
	for (unsigned int h = 0; h < s->num; h++)
		n += s->held[h] > 0;
	if (n == 0)
		return -1;
	k %= n;
	for (unsigned int h = 0; h < s->num; h++)
		if (s->held[h] && k-- == 0)
			return (int)h;
	return -1;
}

static void push(struct state *s, unsigned int k)
{
	int h = nth_held(s, k);
	if (h < 0)
		return;
	vq_push(&s->vq, (uint16_t)h, 0);
	s->held[h]--;
}

/* The first `steps` stores of a push of a held head, as a process killed
 * in the middle would leave them (1: batch link; 2: + used entry and idx;
 * 3: + flag cleared). */
static void partial_push(struct state *s, unsigned int k, unsigned int steps)
{
	int h = nth_held(s, k);
	struct inflight_queue *q = s->region;
	if (h < 0 || steps == 0)
		return;
	q->desc[h].next = q->last_batch_head;
	q->last_batch_head = (uint16_t)h;
	if (steps >= 2) {
		uint16_t u = ring_used_idx(s);
		uint32_t e[2] = {(uint32_t)h, 0};
		guest_write(s, USED + 4 + 8ull * (u % s->num), e, 8);
		u++;
		guest_write(s, USED + 2, &u, 2);
		s->held[h]--;
	}
	if (steps >= 3)
		q->desc[h].inflight = 0;
}

/* Kills the queue and starts it again; checks what comes back. */
static void restart(struct state *s)
{
	uint16_t last_avail = s->vq.last_avail;
	/* Heads not yet resubmitted are still held. */
	for (unsigned int i = s->vq.resubmit_next; i < s->vq.resubmit_n; i++)
		s->held[s->vq.resubmit[i]]++;
	vq_reset(&s->vq);
	if (!start(s)) {
		CHECK(!s->trusted);
		return;
	}
	unsigned int want = 0;
	for (unsigned int h = 0; h < s->num; h++)
		want += s->held[h];
	if (s->trusted) {
		CHECK(vq_resubmit_pending(&s->vq) == want);
		CHECK(s->vq.last_avail == last_avail);
		for (unsigned int i = 0; i < s->vq.resubmit_n; i++)
			CHECK(s->held[s->vq.resubmit[i]] == 1);
	}
	/* From here on the resubmit list is what is held. */
	memset(s->held, 0, sizeof(s->held));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_set_level(LOG_LVL_ERR);
		quiet = true;
	}
	if (size < 4)
		return 0;
	struct state *s = calloc(1, sizeof(*s));
	CHECK(s);
	s->num = 1u << (data[0] % 7);
	if (data[1] & 1)
		s->features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[1] & 2)
		s->features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	s->desc_num = s->num + data[2] % 8;
	size_t nops = data[3];
	data += 4;
	size -= 4;

	s->region_len = inflight_queue_size(s->desc_num);
	s->region = calloc(1, s->region_len);
	CHECK(s->region);
	size_t n = size < s->region_len ? size : s->region_len;
	memcpy(s->region, data, n);
	data += n;
	size -= n;
	if (nops > size)
		nops = size;
	const uint8_t *ops = data;
	data += nops;
	size -= nops;

	uint8_t *r0 = calloc(1, REGION), *r1 = calloc(1, REGION);
	CHECK(r0 && r1);
	size_t n0 = size < REGION ? size : REGION;
	memcpy(r0, data, n0);
	if (size > REGION)
		memcpy(r1, data + REGION, size - REGION < REGION ? size - REGION : REGION);
	vmem_init(&s->mem);
	CHECK(vmem_add(&s->mem, 0x1000, REGION, 0x100000, r0) == 0);
	CHECK(vmem_add(&s->mem, 0x1000 + REGION, REGION, 0x200000, r1) == 0);

	s->trusted = true;
	bool ok = start(s);
	for (size_t i = 0; ok && i < nops; i++) {
		uint8_t op = ops[i];
		if (op < 0x40) {
			pop(s);
		} else if (op < 0x78) {
			push(s, op);
		} else if (op < 0x7c) {
			restart(s);
		} else if (op < 0x80) {
			partial_push(s, i, op - 0x7b);
			restart(s);
		} else {
			((uint8_t *)s->region)[(op * 131u + i) % s->region_len] ^= op;
			s->trusted = false;
		}
		if (!vq_is_ready(&s->vq))
			break;
	}
	vq_reset(&s->vq);
	free(r0);
	free(r1);
	free(s->region);
	free(s);
	return 0;
}

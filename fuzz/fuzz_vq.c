/* fuzz_vq.c — libFuzzer target for descriptor-chain walking (lib/virtio).
 *
 * Input: byte 0 picks the queue size (1 << (b % 7): 1..64), byte 1 the
 * features (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX), byte 2 the starting ring
 * index; the rest is the guest's memory, copied into two adjacent regions
 * of 8 KiB (guest-physical 0x1000..0x5000) that are separate heap blocks,
 * so any access the translation lets slip past a region's end is caught by
 * AddressSanitizer. The descriptor table sits at 0x1000, the avail ring at
 * 0x1800, the used ring at 0x3000 (crossing into the second region is up to
 * the input's addresses).
 *
 * The target pops until the ring is empty or broken (at most 256 times),
 * and for every element checks that each iovec lies inside one region and
 * that the counts and byte totals add up, reads every readable byte and
 * writes every writable one, then pushes it and asks whether to notify.
 * Any violated invariant aborts.
 */
#include "virtio/vmem.h"
#include "virtio/vq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_vq: invariant failed: %s\n", #cond);                 \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define REGION 0x2000u

static struct vq_elem elem;

static bool inside(const struct iovec *v, const uint8_t *base)
{
	const uint8_t *p = v->iov_base;
	return p >= base && v->iov_len <= REGION && (size_t)(p - base) <= REGION - v->iov_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_set_level(LOG_LVL_ERR);
		quiet = true;
	}
	if (size < 3)
		return 0;
	unsigned int num = 1u << (data[0] % 7);
	uint64_t features = 0;
	if (data[1] & 1)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[1] & 2)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	uint16_t base = data[2];
	data += 3;
	size -= 3;

	uint8_t *r0 = calloc(1, REGION), *r1 = calloc(1, REGION);
	CHECK(r0 && r1);
	size_t n0 = size < REGION ? size : REGION;
	memcpy(r0, data, n0);
	if (size > REGION)
		memcpy(r1, data + REGION, size - REGION < REGION ? size - REGION : REGION);

	struct vmem mem;
	vmem_init(&mem);
	CHECK(vmem_add(&mem, 0x1000, REGION, 0x100000, r0) == 0);
	CHECK(vmem_add(&mem, 0x1000 + REGION, REGION, 0x200000, r1) == 0);

	struct vq vq = {0};
	CHECK(vq_setup_gpa(&vq, &mem, num, 0x1000, 0x1800, 0x3000, features, base, "fuzz") == 0);
	volatile uint8_t sink = 0;
	for (int round = 0; round < 256; round++) {
		int rc = vq_pop(&vq, &elem);
		if (rc <= 0) {
			CHECK(rc == 0 || vq_is_broken(&vq));
			break;
		}
		CHECK(elem.head < num);
		CHECK(elem.out_num + elem.in_num <= VQ_MAX_IOV);
		uint64_t out = 0, in = 0;
		for (unsigned int i = 0; i < elem.out_num + elem.in_num; i++) {
			const struct iovec *v = &elem.iov[i];
			CHECK(inside(v, r0) || inside(v, r1));
			uint8_t *p = v->iov_base;
			if (i < elem.out_num) {
				out += v->iov_len;
				for (size_t k = 0; k < v->iov_len; k++)
					sink ^= p[k];
			} else {
				in += v->iov_len;
				memset(p, 0x5a, v->iov_len);
			}
		}
		CHECK(out == elem.out_len && in == elem.in_len);
		vq_push(&vq, elem.head, elem.in_len);
		(void)vq_should_notify(&vq);
		if (round & 1)
			(void)vq_set_kicks(&vq, round & 2);
	}
	(void)sink;
	free(r0);
	free(r1);
	return 0;
}

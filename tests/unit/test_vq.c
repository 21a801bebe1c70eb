/* test_vq.c — lib/virtio: guest-memory translation and split virtqueues,
 * driven through rings built by hand in a fake guest memory, every
 * malicious chain included. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tap.h"
#include "virtio/vmem.h"
#include "virtio/vq.h"

#define GUEST_BASE 0x10000ull
#define GUEST_SIZE 0x20000ull /* two adjacent regions of 64 KiB */
#define NUM	   8
#define DESC_GPA   GUEST_BASE
#define AVAIL_GPA  (GUEST_BASE + 0x1000)
#define USED_GPA   (GUEST_BASE + 0x2000)
#define DATA_GPA   (GUEST_BASE + 0x4000)
#define INDIR_GPA  (GUEST_BASE + 0x3000)

static uint8_t *guest;
static struct vmem mem;
static struct vq vq;
static struct vq_elem elem;

static void *g(uint64_t gpa)
{
	return guest + (gpa - GUEST_BASE);
}

static void set_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
	memcpy(g(table + 16ull * i), &d, sizeof(d));
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, g(gpa), 2);
	return v;
}

static void wr16(uint64_t gpa, uint16_t v)
{
	memcpy(g(gpa), &v, 2);
}

/* Offers `head` in the next avail slot. */
static void offer(uint16_t head)
{
	uint16_t idx = rd16(AVAIL_GPA + 2);
	wr16(AVAIL_GPA + 4 + 2 * (idx % NUM), head);
	wr16(AVAIL_GPA + 2, (uint16_t)(idx + 1));
}

static void fresh(uint64_t features)
{
	memset(guest, 0, GUEST_SIZE);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, NUM, DESC_GPA, AVAIL_GPA, USED_GPA, features, 0, "t"),
		     0);
}

static void setup(void)
{
	guest = aligned_alloc(4096, GUEST_SIZE);
	vmem_init(&mem);
	CHECK_EQ_INT(vmem_add(&mem, GUEST_BASE, 0x10000, 0x7000000, guest), 0);
	CHECK_EQ_INT(vmem_add(&mem, GUEST_BASE + 0x10000, 0x10000, 0x9000000, guest + 0x10000), 0);
}

static void test_vmem(void)
{
	struct vmem m;
	uint8_t buf[64];
	vmem_init(&m);
	CHECK_EQ_INT(vmem_add(&m, 0, 0, 0, buf), -EINVAL);
	CHECK_EQ_INT(vmem_add(&m, UINT64_MAX - 10, 64, 0, buf), -EINVAL);
	CHECK_EQ_INT(vmem_add(&m, 0, 64, UINT64_MAX - 10, buf), -EINVAL);
	CHECK_EQ_INT(vmem_add(&m, 0x1000, 64, 0x5000, buf), 0);
	CHECK_EQ_INT(vmem_add(&m, 0x1020, 64, 0x8000, buf), -EINVAL); /* gpa overlap */
	CHECK_EQ_INT(vmem_add(&m, 0x9000, 64, 0x5010, buf), -EINVAL); /* uva overlap */
	CHECK(vmem_gpa_to_hva(&m, 0x1000, 64) == buf);
	CHECK(vmem_gpa_to_hva(&m, 0x1010, 48) == buf + 16);
	CHECK(vmem_gpa_to_hva(&m, 0x1010, 49) == NULL);
	CHECK(vmem_gpa_to_hva(&m, 0xfff, 1) == NULL);
	CHECK(vmem_gpa_to_hva(&m, 0x1040, 0) == NULL);
	CHECK(vmem_gpa_to_hva(&m, 0x1001, UINT64_MAX) == NULL);
	CHECK(vmem_uva_to_hva(&m, 0x5008, 8) == buf + 8);
	CHECK(vmem_uva_to_hva(&m, 0x1000, 8) == NULL);
	for (int i = 0; i < 7; i++)
		CHECK_EQ_INT(vmem_add(&m, 0x100000 * (i + 1), 1, 0x100000 * (i + 1), buf), 0);
	CHECK_EQ_INT(vmem_add(&m, 0x10000000, 1, 0x10000000, buf), -ENOSPC);

	/* Crossing two adjacent regions splits; a hole fails. */
	struct iovec iov[4];
	unsigned int n = 0;
	CHECK_EQ_INT(vmem_map_iov(&mem, GUEST_BASE + 0xfff0, 0x20, iov, 4, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(iov[0].iov_len, 0x10);
	CHECK_EQ_INT(iov[1].iov_len, 0x10);
	CHECK(iov[1].iov_base == guest + 0x10000);
	CHECK_EQ_INT(vmem_map_iov(&mem, GUEST_BASE + 0xfff0, 0x20, iov, 3, &n), -ENOBUFS);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(vmem_map_iov(&mem, GUEST_BASE + GUEST_SIZE - 1, 2, iov, 4, &n), -EFAULT);
	CHECK_EQ_INT(vmem_map_iov(&mem, UINT64_MAX - 1, 4, iov, 4, &n), -EFAULT);
	CHECK_EQ_INT(n, 2);
	memset(guest + 0xfffe, 0xab, 4);
	uint32_t v = 0;
	CHECK_EQ_INT(vmem_read(&mem, GUEST_BASE + 0xfffe, &v, 4), 0);
	CHECK_EQ_INT(v, 0xabababab);
	CHECK_EQ_INT(vmem_read(&mem, GUEST_BASE + GUEST_SIZE - 2, &v, 4), -EFAULT);
}

static void test_setup_checks(void)
{
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, 6, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0, "t"), -EINVAL);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, 65536, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0, "t"),
		     -EINVAL);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, NUM, DESC_GPA + 8, AVAIL_GPA, USED_GPA, 0, 0, "t"),
		     -EINVAL);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, NUM, DESC_GPA, AVAIL_GPA + 1, USED_GPA, 0, 0, "t"),
		     -EINVAL);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, NUM, DESC_GPA, AVAIL_GPA, USED_GPA + 2, 0, 0, "t"),
		     -EINVAL);
	/* The used ring running off the end of guest memory. */
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, NUM, DESC_GPA, AVAIL_GPA, GUEST_BASE + GUEST_SIZE - 16,
				  0, 0, "t"),
		     -EINVAL);
	CHECK(!vq_is_ready(&vq));
	CHECK_EQ_INT(vq_pop(&vq, &elem), 0);
}

static void test_pop_push(void)
{
	fresh(0);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 0);
	set_desc(DESC_GPA, 3, DATA_GPA, 16, VRING_DESC_F_NEXT, 5);
	set_desc(DESC_GPA, 5, DATA_GPA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(DESC_GPA, 1, DATA_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	offer(3);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	CHECK_EQ_INT(elem.head, 3);
	CHECK_EQ_INT(elem.out_num, 1);
	CHECK_EQ_INT(elem.in_num, 2);
	CHECK_EQ_INT(elem.out_len, 16);
	CHECK_EQ_INT(elem.in_len, 513);
	CHECK(elem.iov[0].iov_base == g(DATA_GPA));
	CHECK(elem.iov[2].iov_base == g(DATA_GPA + 0x400));
	CHECK_EQ_INT(vq_pop(&vq, &elem), 0);
	vq_push(&vq, 3, 513);
	CHECK_EQ_INT(rd16(USED_GPA + 2), 1);
	uint32_t id, len;
	memcpy(&id, g(USED_GPA + 4), 4);
	memcpy(&len, g(USED_GPA + 8), 4);
	CHECK_EQ_INT(id, 3);
	CHECK_EQ_INT(len, 513);
	CHECK(vq_should_notify(&vq));
	wr16(AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&vq, 3, 0);
	CHECK(!vq_should_notify(&vq));
	/* unpop gives the chain back. */
	offer(3);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	vq_unpop(&vq, 1);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	CHECK_EQ_INT(elem.head, 3);
	/* Kicks without EVENT_IDX: the NO_NOTIFY flag. */
	CHECK(!vq_set_kicks(&vq, false));
	CHECK_EQ_INT(rd16(USED_GPA), VRING_USED_F_NO_NOTIFY);
	CHECK(!vq_set_kicks(&vq, true));
	CHECK_EQ_INT(rd16(USED_GPA), 0);
	offer(3);
	CHECK(vq_set_kicks(&vq, true));
	/* Ring indices wrap around 65536. */
	fresh(0);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, NUM, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 65535, "t"), 0);
	wr16(AVAIL_GPA + 2, 65535);
	set_desc(DESC_GPA, 0, DATA_GPA, 8, 0, 0);
	offer(0);
	offer(0);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 0);
}

static void test_cross_region_buffer(void)
{
	fresh(0);
	set_desc(DESC_GPA, 0, GUEST_BASE + 0xff00, 0x200, 0, 0);
	offer(0);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	CHECK_EQ_INT(elem.out_num, 2);
	CHECK_EQ_INT(elem.out_len, 0x200);
}

static void test_indirect(void)
{
	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	set_desc(INDIR_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(INDIR_GPA, 2, DATA_GPA + 16, 100, VRING_DESC_F_NEXT, 1);
	set_desc(INDIR_GPA, 1, DATA_GPA + 0x200, 1, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 4, DATA_GPA + 0x800, 4, VRING_DESC_F_NEXT, 6);
	set_desc(DESC_GPA, 6, INDIR_GPA, 48, VRING_DESC_F_INDIRECT, 0);
	offer(4);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	CHECK_EQ_INT(elem.head, 4);
	CHECK_EQ_INT(elem.out_num, 3);
	CHECK_EQ_INT(elem.in_num, 1);
	CHECK_EQ_INT(elem.out_len, 120);
	CHECK_EQ_INT(elem.in_len, 1);
	CHECK(!vq_is_broken(&vq));
}

/* Each case builds a chain at head 0 and expects the queue broken. */
static void expect_broken(const char *what)
{
	int rc = vq_pop(&vq, &elem);
	if (rc != -EIO || !vq_is_broken(&vq))
		printf("# case: %s (rc %d)\n", what, rc);
	CHECK_EQ_INT(rc, -EIO);
	CHECK(vq_is_broken(&vq));
	/* A broken queue pops nothing more and never moves last_avail. */
	CHECK_EQ_INT(vq_pop(&vq, &elem), 0);
	CHECK_EQ_INT(vq.last_avail, 0);
}

static void test_malicious(void)
{
	const uint64_t ind = 1ull << VIRTIO_RING_F_INDIRECT_DESC;

	fresh(0); /* loop of two */
	set_desc(DESC_GPA, 0, DATA_GPA, 1, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA, 1, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_broken("loop");

	fresh(0); /* self loop */
	set_desc(DESC_GPA, 0, DATA_GPA, 1, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_broken("self loop");

	fresh(0); /* a full-length chain is fine, one more is a loop */
	for (unsigned int i = 0; i < NUM; i++)
		set_desc(DESC_GPA, i, DATA_GPA, 1, i + 1 < NUM ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(0);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	CHECK_EQ_INT(elem.out_num, NUM);
	set_desc(DESC_GPA, NUM - 1, DATA_GPA, 1, VRING_DESC_F_NEXT, 0);
	offer(0);
	CHECK_EQ_INT(vq_pop(&vq, &elem), -EIO);

	fresh(0); /* next out of range */
	set_desc(DESC_GPA, 0, DATA_GPA, 1, VRING_DESC_F_NEXT, NUM);
	offer(0);
	expect_broken("next out of range");

	fresh(0); /* head out of range */
	offer(NUM);
	expect_broken("head out of range");

	fresh(0); /* avail idx too far ahead */
	wr16(AVAIL_GPA + 2, NUM + 1);
	expect_broken("avail ahead");

	fresh(0); /* buffer beyond guest memory */
	set_desc(DESC_GPA, 0, GUEST_BASE + GUEST_SIZE - 4, 8, 0, 0);
	offer(0);
	expect_broken("buffer past end");

	fresh(0); /* buffer below guest memory */
	set_desc(DESC_GPA, 0, 0, 8, 0, 0);
	offer(0);
	expect_broken("buffer at 0");

	fresh(0); /* addr + len overflows */
	set_desc(DESC_GPA, 0, UINT64_MAX - 2, 16, 0, 0);
	offer(0);
	expect_broken("addr overflow");

	fresh(0); /* readable after writable */
	set_desc(DESC_GPA, 0, DATA_GPA, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(DESC_GPA, 1, DATA_GPA, 1, 0, 0);
	offer(0);
	expect_broken("out after in");

	fresh(0); /* INDIRECT without the feature */
	set_desc(DESC_GPA, 0, INDIR_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect unnegotiated");

	fresh(ind); /* INDIRECT with NEXT */
	set_desc(INDIR_GPA, 0, DATA_GPA, 1, 0, 0);
	set_desc(DESC_GPA, 0, INDIR_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	offer(0);
	expect_broken("indirect+next");

	fresh(ind); /* length not a multiple of 16 */
	set_desc(DESC_GPA, 0, INDIR_GPA, 17, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect len 17");

	fresh(ind); /* length 0 */
	set_desc(DESC_GPA, 0, INDIR_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect len 0");

	fresh(ind); /* table beyond guest memory */
	set_desc(DESC_GPA, 0, GUEST_BASE + GUEST_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect table past end");

	fresh(ind); /* table address overflows */
	set_desc(DESC_GPA, 0, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect table overflow");

	fresh(ind); /* nested indirect */
	set_desc(INDIR_GPA, 0, INDIR_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(DESC_GPA, 0, INDIR_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("nested indirect");

	fresh(ind); /* loop inside an indirect table */
	set_desc(INDIR_GPA, 0, DATA_GPA, 1, VRING_DESC_F_NEXT, 1);
	set_desc(INDIR_GPA, 1, DATA_GPA, 1, VRING_DESC_F_NEXT, 0);
	set_desc(DESC_GPA, 0, INDIR_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect loop");

	fresh(ind); /* next beyond the indirect table */
	set_desc(INDIR_GPA, 0, DATA_GPA, 1, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 0, INDIR_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect next out of range");

	/* Reset, then set up again: the queue works. */
	vq_reset(&vq);
	CHECK(!vq_is_broken(&vq));
	fresh(0);
	set_desc(DESC_GPA, 0, DATA_GPA, 1, 0, 0);
	offer(0);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
}

/* Totals above 4 GiB: a large region reserved but never touched. */
static void test_length_overflow(void)
{
	size_t big = 3ull << 30;
	void *p = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	struct vmem m = mem;
	CHECK_EQ_INT(vmem_add(&m, 1ull << 32, big, 1ull << 40, p), 0);
	memset(guest, 0, GUEST_SIZE);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &m, NUM, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0, "t"), 0);
	set_desc(DESC_GPA, 0, 1ull << 32, 0xc0000000u, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, 1ull << 32, 0xc0000000u, 0, 0);
	offer(0);
	expect_broken("out length overflow");

	memset(guest, 0, GUEST_SIZE);
	CHECK_EQ_INT(vq_setup_gpa(&vq, &m, NUM, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0, "t"), 0);
	set_desc(DESC_GPA, 0, 1ull << 32, 0xc0000000u, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(DESC_GPA, 1, 1ull << 32, 0xc0000000u, VRING_DESC_F_WRITE, 0);
	offer(0);
	expect_broken("in length overflow");
	munmap(p, big);
}

static void test_event_idx(void)
{
	fresh(1ull << VIRTIO_RING_F_EVENT_IDX);
	set_desc(DESC_GPA, 0, DATA_GPA, 1, 0, 0);
	offer(0);
	offer(0);
	offer(0);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	/* avail_event follows last_avail. */
	CHECK_EQ_INT(rd16(USED_GPA + 4 + 8 * NUM), 1);
	const uint64_t used_event = AVAIL_GPA + 4 + 2 * NUM;
	wr16(used_event, 1);	      /* interrupt once used idx passes 1 */
	vq_push(&vq, 0, 0);	      /* used 1 */
	CHECK(vq_should_notify(&vq)); /* first one always */
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	vq_push(&vq, 0, 0); /* used 2: passes event 1 */
	CHECK(vq_should_notify(&vq));
	CHECK_EQ_INT(vq_pop(&vq, &elem), 1);
	vq_push(&vq, 0, 0); /* used 3: event still 1, already signalled past it */
	CHECK(!vq_should_notify(&vq));
	wr16(used_event, 5);
	CHECK_EQ_INT(vq_pop(&vq, &elem), 0);
	CHECK(!vq_set_kicks(&vq, true));
	CHECK_EQ_INT(rd16(USED_GPA + 4 + 8 * NUM), 3);
	/* The flags are ignored with EVENT_IDX. */
	CHECK(!vq_set_kicks(&vq, false));
	CHECK_EQ_INT(rd16(USED_GPA), 0);
}

int main(void)
{
	setup();
	RUN(test_vmem);
	RUN(test_setup_checks);
	RUN(test_pop_push);
	RUN(test_cross_region_buffer);
	RUN(test_indirect);
	RUN(test_malicious);
	RUN(test_length_overflow);
	RUN(test_event_idx);
	free(guest);
	return tap_done();
}

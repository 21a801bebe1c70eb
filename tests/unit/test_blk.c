/* test_blk.c — the virtio-blk device (dm/blk*.c) driven directly through
 * hand-built rings in fake guest memory.
 *
 * Synchronous path (no loop): reads, writes, flush, get-id, a header split
 * at 4-byte alignment (as SeaBIOS places it), bounds, a read-only disk,
 * unsupported types and a request with no status byte.
 *
 * io_uring path (a real struct loop, run until completions arrive or a
 * 10 s deadline fails the test): many requests in flight at once, unaligned
 * buffers bounced both ways (and in several windows), a split header,
 * flush among writes in flight, discard and write-zeroes (data reads back
 * as zeroes, every bounds rule), a read-only disk, queue_stop with requests
 * in flight, and more requests than a queue's records (all served without
 * another kick). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/loop.h"
#include "dm/blk.h"
#include "dm/blk_int.h"
#include "tap.h"

#define GBASE	0x1000ull
#define GSIZE	0x100000ull
#define NUM	16
#define DESC	GBASE
#define AVAIL	(GBASE + 0x1000)
#define USED	(GBASE + 0x2000)
#define HDR	(GBASE + 0x3004) /* only 4-byte aligned */
#define DATA	(GBASE + 0x4000)
#define STATUS	(GBASE + 0x3800)
#define SECTORS 64

static uint8_t *guest;
static struct vmem mem;
static struct vq vq;
static char path[64];
static uint16_t avail_idx;

static void *g(uint64_t a)
{
	return guest + (a - GBASE);
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {addr, len, flags, next};
	memcpy(g(DESC + 16 * i), &d, 16);
}

static void hdr(uint32_t type, uint64_t sector)
{
	memcpy(g(HDR), &type, 4);
	memset(g(HDR + 4), 0, 4);
	memcpy(g(HDR + 8), &sector, 8);
}

/* Offers head 0, runs the device, returns the status byte and used len. */
static int run(struct blk_dev *d, uint32_t *used_len)
{
	memcpy(g(AVAIL + 4 + 2 * (avail_idx % NUM)), &(uint16_t){0}, 2);
	avail_idx++;
	memcpy(g(AVAIL + 2), &avail_idx, 2);
	*(uint8_t *)g(STATUS) = 0xee;
	blk_vdev_ops.queue_kick(d, &vq, 0);
	uint16_t u;
	memcpy(&u, g(USED + 2), 2);
	if (u != avail_idx)
		return -1;
	memcpy(used_len, g(USED + 4 + 8 * ((u - 1) % NUM) + 4), 4);
	return *(uint8_t *)g(STATUS);
}

static struct blk_dev *open_disk(bool ro)
{
	struct blk_dev *d = NULL;
	CHECK_EQ_INT(blk_open(path, ro, NULL, &d), 0);
	memset(guest, 0, GSIZE);
	avail_idx = 0;
	CHECK_EQ_INT(vq_setup_gpa(&vq, &mem, NUM, DESC, AVAIL, USED,
				  1ull << VIRTIO_RING_F_INDIRECT_DESC, 0, "blk"),
		     0);
	return d;
}

static void test_config_and_features(void)
{
	struct blk_dev *d = open_disk(true);
	uint8_t cfg[60];
	CHECK_EQ_INT(blk_vdev_ops.get_config(d, 0, cfg, sizeof(cfg)), 0);
	uint64_t cap;
	memcpy(&cap, cfg, 8);
	CHECK_EQ_INT(cap, SECTORS);
	CHECK(blk_vdev_ops.get_features(d) & (1ull << 5)); /* RO */
	CHECK_EQ_INT(blk_vdev_ops.get_config(d, 200, cfg, 60), -EINVAL);
	blk_close(d);
	d = open_disk(false);
	CHECK(!(blk_vdev_ops.get_features(d) & (1ull << 5)));
	blk_close(d);
}

static void test_read_write_flush_id(void)
{
	struct blk_dev *d = open_disk(false);
	uint32_t len;
	/* Write sectors 2..3 with the header split in two descriptors. */
	memset(g(DATA), 0xa5, 1024);
	hdr(1, 2);
	desc(0, HDR, 4, VRING_DESC_F_NEXT, 1);
	desc(1, HDR + 4, 12, VRING_DESC_F_NEXT, 2);
	desc(2, DATA, 1024, VRING_DESC_F_NEXT, 3);
	desc(3, STATUS, 1, VRING_DESC_F_WRITE, 0);
	CHECK_EQ_INT(run(d, &len), 0);
	CHECK_EQ_INT(len, 1);
	/* Flush. */
	hdr(4, 0);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 3);
	CHECK_EQ_INT(run(d, &len), 0);
	/* Read them back into a buffer split in three. */
	memset(g(DATA), 0, 1024);
	hdr(0, 2);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, DATA + 100, 924, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	CHECK_EQ_INT(run(d, &len), 0);
	CHECK_EQ_INT(len, 1025);
	CHECK_EQ_INT(((uint8_t *)g(DATA))[1023], 0xa5);
	/* The image file has them. */
	int fd = open(path, O_RDONLY);
	uint8_t b = 0;
	CHECK_EQ_INT(pread(fd, &b, 1, 3 * 512 + 7), 1);
	CHECK_EQ_INT(b, 0xa5);
	close(fd);
	/* GET_ID. */
	hdr(8, 0);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 20, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	CHECK_EQ_INT(run(d, &len), 0);
	CHECK(memcmp(g(DATA), "airlock-", 8) == 0);
	/* Out of range: last sector + 1, and a read running past the end. */
	hdr(0, SECTORS);
	desc(1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	CHECK_EQ_INT(run(d, &len), 1);
	hdr(0, SECTORS - 1);
	desc(1, DATA, 1024, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	CHECK_EQ_INT(run(d, &len), 1);
	hdr(0, UINT64_MAX);
	CHECK_EQ_INT(run(d, &len), 1);
	/* Unknown type. */
	hdr(77, 0);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 3);
	CHECK_EQ_INT(run(d, &len), 2);
	/* A header shorter than 16 bytes. */
	desc(0, HDR, 8, VRING_DESC_F_NEXT, 3);
	CHECK_EQ_INT(run(d, &len), 1);
	/* No status byte at all: the queue is broken. */
	desc(0, HDR, 16, 0, 0);
	CHECK_EQ_INT(run(d, &len), -1);
	CHECK(vq_is_broken(&vq));
	blk_close(d);
}

/* ---- the io_uring path ---- */

#define ABASE	    (GBASE + 0x20000)
#define ANUM	    512
#define ADESC	    ABASE
#define AAVAIL	    (ABASE + 0x2000)
#define AUSED	    (ABASE + 0x3000)
#define AHDR(i)	    (ABASE + 0x5004 + 20ull * (i)) /* 4-byte aligned only */
#define ASTAT(i)    (ABASE + 0x6000 + (i))
#define ADATA(i)    (ABASE + 0x8000 + 0x1000ull * (i))
#define ASECTORS    2048
#define DEADLINE_MS 10000

static char apath[64];
static struct vq avq;
static uint16_t aidx;
static struct loop *aloop;
static unsigned int notified;

static void count_notify(void *ctx, unsigned int idx)
{
	(void)ctx;
	(void)idx;
	notified++;
}

static void adesc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc x = {addr, len, flags, next};
	memcpy(g(ADESC + 16 * i), &x, 16);
}

static void ahdr(unsigned int i, uint32_t type, uint64_t sector)
{
	memcpy(g(AHDR(i)), &type, 4);
	memset(g(AHDR(i) + 4), 0, 4);
	memcpy(g(AHDR(i) + 8), &sector, 8);
}

/* Request i: descriptors 3i.. (header, data if len, status); offered now. */
static void areq(unsigned int i, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
		 bool in)
{
	unsigned int d0 = 3 * i;
	ahdr(i, type, sector);
	*(uint8_t *)g(ASTAT(i)) = 0xee;
	if (len) {
		adesc(d0, AHDR(i), 16, VRING_DESC_F_NEXT, d0 + 1);
		adesc(d0 + 1, data, len, VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0), d0 + 2);
		adesc(d0 + 2, ASTAT(i), 1, VRING_DESC_F_WRITE, 0);
	} else {
		adesc(d0, AHDR(i), 16, VRING_DESC_F_NEXT, d0 + 1);
		adesc(d0 + 1, ASTAT(i), 1, VRING_DESC_F_WRITE, 0);
	}
	uint16_t head = (uint16_t)d0;
	memcpy(g(AAVAIL + 4 + 2 * (aidx % ANUM)), &head, 2);
	aidx++;
	memcpy(g(AAVAIL + 2), &aidx, 2);
}

static uint16_t aused(void)
{
	uint16_t u;
	memcpy(&u, g(AUSED + 2), 2);
	return u;
}

/* Runs the loop until the used index reaches aidx; false at the deadline. */
static bool await_all(void)
{
	for (int t = 0; t < DEADLINE_MS / 10 && aused() != aidx; t++)
		loop_run_once(aloop, 10);
	return aused() == aidx;
}

static uint8_t astat(unsigned int i)
{
	return *(uint8_t *)g(ASTAT(i));
}

/* Used length last pushed for head 3i (searched in the used ring). */
static int64_t aused_len(unsigned int i)
{
	for (unsigned int k = aused(); k-- > 0;) {
		uint32_t id, len;
		memcpy(&id, g(AUSED + 4 + 8 * (k % ANUM)), 4);
		memcpy(&len, g(AUSED + 8 + 8 * (k % ANUM)), 4);
		if (id == 3 * i)
			return len;
	}
	return -1;
}

static void kick(struct blk_dev *d)
{
	blk_vdev_ops.queue_kick(d, &avq, 0);
}

static struct blk_dev *aopen(bool ro)
{
	struct blk_dev *d = NULL;
	struct vdev_notifier n = {count_notify, NULL};
	CHECK_EQ_INT(blk_open(apath, ro, aloop, &d), 0);
	CHECK(d->as != NULL);
	if (!d->direct)
		printf("# %s does not allow O_DIRECT: the bounce pool is not exercised\n", apath);
	memset(g(ABASE), 0, GSIZE - (ABASE - GBASE));
	aidx = 0;
	notified = 0;
	CHECK_EQ_INT(vq_setup_gpa(&avq, &mem, ANUM, ADESC, AAVAIL, AUSED, 0, 0, "ablk"), 0);
	blk_vdev_ops.queue_start(d, &avq, 0, &n);
	return d;
}

static void aclose(struct blk_dev *d)
{
	blk_vdev_ops.queue_stop(d, 0);
	blk_close(d);
}

static int file_byte(uint64_t off)
{
	int fd = open(apath, O_RDONLY);
	uint8_t b = 0;
	int r = pread(fd, &b, 1, (off_t)off) == 1 ? b : -1;
	close(fd);
	return r;
}

static void test_async_many(void)
{
	struct blk_dev *d = aopen(false);
	enum { N = 100 };
	for (unsigned int i = 0; i < N; i++) {
		memset(g(ADATA(i)), 0x10 + i, 4096);
		areq(i, 1, 8 * i, ADATA(i), 4096, false);
	}
	kick(d);
	/* All popped and in flight at once: nothing was answered inline. */
	CHECK_EQ_INT(avq.last_avail, N);
	CHECK(aused() < N);
	CHECK(await_all());
	CHECK(notified > 0);
	for (unsigned int i = 0; i < N; i++) {
		CHECK_EQ_INT(astat(i), 0);
		CHECK_EQ_INT(aused_len(i), 1);
	}
	CHECK_EQ_INT(file_byte(8 * 512 * 37 + 4095), 0x10 + 37);
	/* Read them all back, in flight together, into cleared buffers. */
	memset(g(ADATA(0)), 0, 4096 * N);
	for (unsigned int i = 0; i < N; i++)
		areq(i, 0, 8 * i, ADATA(i), 4096, true);
	kick(d);
	CHECK(await_all());
	for (unsigned int i = 0; i < N; i++) {
		CHECK_EQ_INT(astat(i), 0);
		CHECK_EQ_INT(((uint8_t *)g(ADATA(i)))[0], 0x10 + i);
		CHECK_EQ_INT(((uint8_t *)g(ADATA(i)))[4095], 0x10 + i);
	}
	CHECK_EQ_INT(aused_len(99), 4097);
	aclose(d);
}

static void test_async_bounce_split_header(void)
{
	struct blk_dev *d = aopen(false);
	/* A write of 2048 bytes from an odd address, split 100 + 1948, with
	 * the header split 4 + 12 at a 4-byte-aligned address. */
	uint8_t *src = g(ADATA(0) + 3);
	for (unsigned int k = 0; k < 2048; k++)
		src[k] = (uint8_t)(k * 7 + 1);
	ahdr(0, 1, 100);
	adesc(0, AHDR(0), 4, VRING_DESC_F_NEXT, 1);
	adesc(1, AHDR(0) + 4, 12, VRING_DESC_F_NEXT, 2);
	adesc(2, ADATA(0) + 3, 100, VRING_DESC_F_NEXT, 3);
	adesc(3, ADATA(0) + 103, 1948, VRING_DESC_F_NEXT, 4);
	adesc(4, ASTAT(0), 1, VRING_DESC_F_WRITE, 0);
	*(uint8_t *)g(ASTAT(0)) = 0xee;
	memcpy(g(AAVAIL + 4), &(uint16_t){0}, 2);
	aidx = 1;
	memcpy(g(AAVAIL + 2), &aidx, 2);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(0), 0);
	CHECK_EQ_INT(file_byte(100 * 512 + 1000), (uint8_t)(1000 * 7 + 1));
	CHECK_EQ_INT(file_byte(100 * 512 + 2047), (uint8_t)(2047 * 7 + 1));
	/* Read back into an odd address (request 1: descriptors 3..5). */
	areq(1, 0, 100, ADATA(8) + 5, 2048, true);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(1), 0);
	CHECK(memcmp(g(ADATA(8) + 5), src, 2048) == 0);
	/* 200 KiB from and into odd addresses: several bounce windows. */
	uint8_t *big = g(ADATA(2) + 9);
	for (unsigned int k = 0; k < 200 * 1024; k++)
		big[k] = (uint8_t)(k / 512 + k);
	areq(2, 1, 600, ADATA(2) + 9, 200 * 1024, false);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(2), 0);
	CHECK_EQ_INT(file_byte(600 * 512 + 150000), (uint8_t)(150000 / 512 + 150000));
	areq(3, 0, 600, ADATA(60) + 11, 200 * 1024, true);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(3), 0);
	CHECK(memcmp(g(ADATA(60) + 11), big, 200 * 1024) == 0);
	CHECK_EQ_INT(d->bounce.busy, 0);
	aclose(d);
}

static void test_async_flush(void)
{
	struct blk_dev *d = aopen(false);
	for (unsigned int i = 0; i < 10; i++) {
		memset(g(ADATA(i)), 0x77, 4096);
		areq(i, 1, 8 * i, ADATA(i), 4096, false);
	}
	areq(10, 4, 0, 0, 0, true);
	kick(d);
	CHECK(await_all());
	for (unsigned int i = 0; i <= 10; i++)
		CHECK_EQ_INT(astat(i), 0);
	CHECK_EQ_INT(aused_len(10), 1);
	/* A flush alone after the writes completed. */
	areq(11, 4, 0, 0, 0, true);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(11), 0);
	CHECK_EQ_INT(file_byte(9 * 4096), 0x77);
	aclose(d);
}

/* A discard/write-zeroes request i with segments segs[0..n). */
static void adz(unsigned int i, uint32_t type, const struct blk_seg *segs, unsigned int n)
{
	memcpy(g(ADATA(i)), segs, n * sizeof(*segs));
	areq(i, type, 0, ADATA(i), n * (uint32_t)sizeof(*segs), false);
}

static void test_async_discard_write_zeroes(void)
{
	struct blk_dev *d = aopen(false);
	uint8_t cfg[60];
	uint32_t v;
	uint64_t f = blk_vdev_ops.get_features(d);
	blk_vdev_ops.get_config(d, 0, cfg, sizeof(cfg));
	CHECK(d->can_punch || d->can_zero); /* ext4 and tmpfs can punch */
	CHECK_EQ_INT(!!(f & (1ull << 13)), d->can_punch);
	CHECK_EQ_INT(!!(f & (1ull << 14)), d->can_zero);
	memcpy(&v, cfg + 40, 4);
	CHECK_EQ_INT(v, d->can_punch ? BLK_MAX_DZ_SEG : 0);
	memcpy(&v, cfg + 48, 4);
	CHECK_EQ_INT(v, d->can_zero ? BLK_MAX_DZ_SECTORS : 0);
	CHECK_EQ_INT(cfg[56], d->can_zero && d->can_punch);

	/* Fill sectors 0..31 with 0xab, then zero 0..7 and 16..23 (two
	 * segments) and 8..15 with the other command. */
	memset(g(ADATA(0)), 0xab, 16384);
	areq(0, 1, 0, ADATA(0), 16384, false);
	kick(d);
	CHECK(await_all());
	struct blk_seg two[2] = {{0, 8, 0}, {16, 8, 0}}, one = {8, 8, 0};
	uint32_t t2 = d->can_punch ? 11 : 13, t1 = d->can_zero ? 13 : 11;
	adz(1, t2, two, 2);
	one.flags = (t1 == 13 && d->can_punch) ? 1 : 0; /* UNMAP where allowed */
	adz(2, t1, &one, 1);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(1), 0);
	CHECK_EQ_INT(astat(2), 0);
	memset(g(ADATA(10)), 0x55, 16384);
	areq(3, 0, 0, ADATA(10), 16384, true);
	kick(d);
	CHECK(await_all());
	uint8_t *rd = g(ADATA(10));
	CHECK_EQ_INT(rd[0], 0);
	CHECK_EQ_INT(rd[8 * 512 + 100], 0);
	CHECK_EQ_INT(rd[16 * 512 + 4095], 0);
	CHECK_EQ_INT(rd[24 * 512], 0xab);
	CHECK_EQ_INT(file_byte(12 * 512), 0);
	CHECK_EQ_INT(file_byte(31 * 512), 0xab);

	/* Bounds: past the end, too long, a bad flag, UNMAP on discard, no
	 * segment, too many segments, a ragged segment array. */
	uint32_t t = d->can_zero ? 13 : 11;
	struct blk_seg bad[BLK_MAX_DZ_SEG + 1];
	memset(bad, 0, sizeof(bad));
	for (unsigned int k = 0; k <= BLK_MAX_DZ_SEG; k++)
		bad[k] = (struct blk_seg){k, 1, 0};
	struct blk_seg past = {ASECTORS - 4, 8, 0}, huge = {0, BLK_MAX_DZ_SECTORS + 1, 0},
		       flag = {0, 1, 2}, wrap = {UINT64_MAX - 2, 8, 0};
	adz(4, t, &past, 1);
	adz(5, t, &huge, 1);
	adz(6, t, &flag, 1);
	adz(7, t, bad, BLK_MAX_DZ_SEG + 1);
	adz(8, t, &wrap, 1);
	areq(9, t, 0, 0, 0, false);
	areq(10, t, 0, ADATA(10), 12, false);
	struct blk_seg unmap = {0, 1, 1};
	adz(11, 11, &unmap, 1);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(4), 1);
	CHECK_EQ_INT(astat(5), 1);
	CHECK_EQ_INT(astat(6), 2);
	CHECK_EQ_INT(astat(7), 1);
	CHECK_EQ_INT(astat(8), 1);
	CHECK_EQ_INT(astat(9), 1);
	CHECK_EQ_INT(astat(10), 1);
	CHECK_EQ_INT(astat(11), d->can_punch ? 2 : 2);
	CHECK_EQ_INT(file_byte(31 * 512), 0xab);
	aclose(d);
}

static void test_async_read_only(void)
{
	struct blk_dev *d = aopen(true);
	struct blk_seg s = {0, 8, 0};
	CHECK(!(blk_vdev_ops.get_features(d) & (3ull << 13)));
	int before = file_byte(0);
	memset(g(ADATA(0)), 0x99, 4096);
	areq(0, 1, 0, ADATA(0), 4096, false);
	adz(1, 11, &s, 1);
	adz(2, 13, &s, 1);
	areq(3, 4, 0, 0, 0, true);
	areq(4, 0, 0, ADATA(5), 4096, true);
	kick(d);
	CHECK(await_all());
	CHECK_EQ_INT(astat(0), 1);
	CHECK_EQ_INT(astat(1), 1);
	CHECK_EQ_INT(astat(2), 1);
	CHECK_EQ_INT(astat(3), 0);
	CHECK_EQ_INT(astat(4), 0);
	CHECK_EQ_INT(file_byte(0), before);
	aclose(d);
}

static void test_async_queue_stop(void)
{
	struct blk_dev *d = aopen(false);
	enum { N = 120 };
	for (unsigned int i = 0; i < N; i++) {
		memset(g(ADATA(i)), 0x30 + (i & 15), 4096);
		areq(i, i & 1 ? 0 : 1, 8 * (i / 2), ADATA(i), 4096, i & 1);
	}
	/* Unaligned ones too, so some wait for bounce buffers. */
	for (unsigned int i = 0; i < 40; i++)
		adesc(3 * i + 1, ADATA(i) + 1, 2048,
		      VRING_DESC_F_NEXT | (i & 1 ? VRING_DESC_F_WRITE : 0), 3 * i + 2);
	kick(d);
	CHECK_EQ_INT(avq.last_avail, N);
	CHECK(aused() < N);
	unsigned int before = notified;
	blk_vdev_ops.queue_stop(d, 0);
	/* Everything popped was pushed before queue_stop returned. */
	CHECK_EQ_INT(aused(), N);
	CHECK(notified > before);
	for (unsigned int i = 0; i < N; i++)
		CHECK_EQ_INT(astat(i), 0);
	CHECK_EQ_INT(d->q[0].inflight, 0);
	blk_close(d);
}

static void test_async_bound(void)
{
	struct blk_dev *d = aopen(false);
	enum { N = 170 };
	CHECK(N > BLK_DEPTH);
	for (unsigned int i = 0; i < N; i++) {
		memset(g(ADATA(i)), 0x40 + (i & 63), 4096);
		areq(i, 1, 8 * i, ADATA(i), 4096, false);
	}
	kick(d);
	/* Only BLK_DEPTH popped: the rest waits in the ring. */
	CHECK_EQ_INT(avq.last_avail, BLK_DEPTH);
	CHECK_EQ_INT(d->q[0].inflight, BLK_DEPTH);
	/* No further kick: completions free records and the queue is served
	 * again by the device itself. */
	CHECK(await_all());
	CHECK_EQ_INT(avq.last_avail, N);
	for (unsigned int i = 0; i < N; i++)
		CHECK_EQ_INT(astat(i), 0);
	CHECK_EQ_INT(file_byte(8 * 512 * 169 + 10), 0x40 + (169 & 63));
	aclose(d);
}

/* blk_set_bounce_all: aligned requests go through the pool too (with
 * O_DIRECT; buffered images copy anyway) and the data is intact. */
static void test_bounce_all(void)
{
	struct blk_dev *d = open_disk(false);
	uint32_t len;
	blk_set_bounce_all(d);
	for (unsigned int i = 0; i < 4096; i++)
		((uint8_t *)g(DATA))[i] = (uint8_t)(i * 3 + 1);
	hdr(1, 8);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 4096, VRING_DESC_F_NEXT, 2);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	CHECK_EQ_INT(run(d, &len), 0);
	CHECK(!d->direct || d->bounce.buf[0] != NULL);
	memset(g(DATA), 0, 4096);
	hdr(0, 8);
	desc(1, DATA, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	CHECK_EQ_INT(run(d, &len), 0);
	CHECK_EQ_INT(len, 4097);
	for (unsigned int i = 0; i < 4096; i++)
		if (((uint8_t *)g(DATA))[i] != (uint8_t)(i * 3 + 1))
			CHECK(false);
	CHECK_EQ_INT(d->bounce.busy, 0);
	blk_close(d);
}

static void test_read_only(void)
{
	struct blk_dev *d = open_disk(true);
	uint32_t len;
	hdr(1, 0);
	memset(g(DATA), 0x11, 512);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 512, VRING_DESC_F_NEXT, 3);
	desc(3, STATUS, 1, VRING_DESC_F_WRITE, 0);
	CHECK_EQ_INT(run(d, &len), 1);
	int fd = open(path, O_RDONLY);
	uint8_t b = 0xff;
	CHECK_EQ_INT(pread(fd, &b, 1, 0), 1);
	CHECK_EQ_INT(b, 0);
	close(fd);
	hdr(4, 0);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 3);
	CHECK_EQ_INT(run(d, &len), 0);
	blk_close(d);
}

int main(void)
{
	guest = aligned_alloc(4096, GSIZE);
	if (loop_new(&aloop) < 0)
		return 1;
	vmem_init(&mem);
	if (vmem_add(&mem, GBASE, GSIZE, 0, guest) < 0)
		return 1;
	strcpy(path, "/tmp/test_blk.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, SECTORS * 512) < 0)
		return 1;
	close(fd);
	RUN(test_config_and_features);
	RUN(test_read_write_flush_id);
	RUN(test_read_only);
	RUN(test_bounce_all);
	strcpy(apath, "/tmp/test_blk_a.XXXXXX");
	fd = mkstemp(apath);
	if (fd < 0 || ftruncate(fd, ASECTORS * 512) < 0)
		return 1;
	close(fd);
	RUN(test_async_many);
	RUN(test_async_bounce_split_header);
	RUN(test_async_flush);
	RUN(test_async_discard_write_zeroes);
	RUN(test_async_read_only);
	RUN(test_async_queue_stop);
	RUN(test_async_bound);
	unlink(apath);
	unlink(path);
	loop_free(aloop);
	free(guest);
	return tap_done();
}

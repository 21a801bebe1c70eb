/* test_blk.c — the virtio-blk device (dm/blk.c) driven directly through a
 * hand-built ring in fake guest memory: reads, writes, flush, get-id, a
 * header split at 4-byte alignment (as SeaBIOS places it), bounds, a
 * read-only disk, unsupported types and a request with no status byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/blk.h"
#include "tap.h"

#define GBASE	0x1000ull
#define GSIZE	0x20000ull
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
	unlink(path);
	free(guest);
	return tap_done();
}

/* fuzz_blk.c — libFuzzer target for virtio-blk requests (dm/blk.c).
 *
 * Input: byte 0 bit 0 picks the read-only disk, bit 1 INDIRECT_DESC, bit 2
 * the io_uring path (a disk opened with a loop; the kick is followed by
 * queue_stop, which must leave every popped request answered); the
 * rest is 16 KiB of guest memory (two adjacent heap blocks at guest-physical
 * 0x1000..0x5000) holding a 16-entry ring: descriptors at 0x1000, avail at
 * 0x1200, used at 0x1400; requests, headers and buffers wherever the input
 * points. The disk is a 32 KiB memfd image. The device serves whatever the
 * ring offers. Oracles: no crash or sanitizer report; every popped request
 * is answered unless the queue broke; one kick does at most 4 × 16
 * requests; the read-only image never changes.
 */
#include "dm/blk.h"

#include "common/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_blk: invariant failed: %s\n", #cond);                \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define REGION 0x2000u
#define NUM    16
#define DISK   0x8000

static struct blk_dev *disk_rw, *disk_ro, *disk_async;
static struct loop *loop;
static uint8_t *ro_map;
static uint8_t ro_copy[DISK];

static struct blk_dev *open_memfd(bool ro, uint8_t **map, struct loop *l)
{
	int fd = memfd_create("fuzzdisk", MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, DISK) == 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct blk_dev *d = NULL;
	CHECK(blk_open(path, ro, l, &d) == 0);
	if (map) {
		*map = mmap(NULL, DISK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(*map != MAP_FAILED);
		memset(*map, 0x3c, DISK);
		memcpy(ro_copy, *map, DISK);
	}
	close(fd);
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!disk_rw) {
		log_set_level(LOG_LVL_ERR);
		disk_rw = open_memfd(false, NULL, NULL);
		disk_ro = open_memfd(true, &ro_map, NULL);
		CHECK(loop_new(&loop) == 0);
		disk_async = open_memfd(false, NULL, loop);
	}
	if (size < 1)
		return 0;
	bool ro = data[0] & 1;
	bool async = !ro && (data[0] & 4);
	uint64_t features = (data[0] & 2) ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0;
	data++;
	size--;
	uint8_t *r0 = calloc(1, REGION), *r1 = calloc(1, REGION);
	CHECK(r0 && r1);
	memcpy(r0, data, size < REGION ? size : REGION);
	if (size > REGION)
		memcpy(r1, data + REGION, size - REGION < REGION ? size - REGION : REGION);
	struct vmem mem;
	vmem_init(&mem);
	CHECK(vmem_add(&mem, 0x1000, REGION, 0, r0) == 0);
	CHECK(vmem_add(&mem, 0x1000 + REGION, REGION, REGION, r1) == 0);
	struct vq vq = {0};
	CHECK(vq_setup_gpa(&vq, &mem, NUM, 0x1000, 0x1200, 0x1400, features, 0, "fuzz") == 0);
	if (async) {
		blk_vdev_ops.queue_kick(disk_async, &vq, 0);
		blk_vdev_ops.queue_stop(disk_async, 0);
	} else {
		blk_vdev_ops.queue_kick(ro ? disk_ro : disk_rw, &vq, 0);
	}

	/* The guest may overwrite the used ring through its own buffers, so
	 * the device's own counters are the oracle: every popped request was
	 * answered unless the queue broke, and one kick did bounded work. */
	CHECK(vq.used_idx == vq.last_avail || vq_is_broken(&vq));
	CHECK(vq.last_avail <= 4 * NUM);
	if (ro)
		CHECK(memcmp(ro_map, ro_copy, DISK) == 0);
	free(r0);
	free(r1);
	return 0;
}

/* test_stub_vfio — the parts of the stub's VFIO drivers a host can run:
 * finding the ivshmem device in a sysfs tree (a fake one here), the
 * guest-RAM window's bus addresses (dm/dma_window.c) and DMA memory's
 * physical pages (dm/dma_mem.c, as root). The rest (binding, VFIO, MSI-X,
 * the doorbell, the stub's own virtio disk) runs in a stub domain:
 * tests/blackbox/stubdom_dm.sh, stubdom_placement.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/dma_mem.h"
#include "dm/dma_window.h"
#include "dm/stub_vfio.h"
#include "tap.h"

static char root[64];

static void put(const char *dev, const char *file, const char *val)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, dev);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/%s", root, dev, file);
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	fprintf(f, "%s\n", val);
	fclose(f);
}

static void test_find(void)
{
	char bdf[32];
	strcpy(root, "/tmp/test_stub_vfio.XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	CHECK_EQ_INT(stub_vfio_find(root, bdf, sizeof(bdf)), -ENOENT);
	put("0000:00:01.0", "vendor", "0x8086");
	put("0000:00:01.0", "device", "0x1110");
	put("0000:00:02.0", "vendor", "0x1af4");
	put("0000:00:02.0", "device", "0x1000"); /* virtio-net */
	put("0000:00:03.0", "vendor", "0x1af4"); /* no device file */
	CHECK_EQ_INT(stub_vfio_find(root, bdf, sizeof(bdf)), -ENOENT);
	put("0000:00:04.0", "vendor", "0x1af4");
	put("0000:00:04.0", "device", "0x1110");
	CHECK_EQ_INT(stub_vfio_find(root, bdf, sizeof(bdf)), 0);
	CHECK_EQ_STR(bdf, "0000:00:04.0");
	CHECK_EQ_INT(stub_vfio_find(root, bdf, 8), -ENAMETOOLONG);
	CHECK_EQ_INT(stub_vfio_find("/nonexistent/x", bdf, sizeof(bdf)), -ENOENT);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_EQ_INT(system(cmd), 0);
}

static void test_window(void)
{
	static uint8_t bar[8192];
	uint64_t bus = 0;

	CHECK_EQ_INT(dm_dma_window_bus(bar, 1, &bus), -EFAULT); /* no window yet */
	dm_dma_window_set(bar, sizeof(bar), 0x800000000ull);
	CHECK_EQ_INT(dm_dma_window_bus(bar + 100, 50, &bus), 0);
	CHECK(bus == 0x800000000ull + 100);
	CHECK_EQ_INT(dm_dma_window_bus(bar, sizeof(bar), &bus), 0);
	CHECK_EQ_INT(dm_dma_window_bus(bar + 8000, 193, &bus), -EFAULT); /* one past */
	CHECK_EQ_INT(dm_dma_window_bus((uint8_t *)(uintptr_t)((uintptr_t)bar - 1), 2, &bus),
		     -EFAULT);
	CHECK_EQ_INT(dm_dma_window_bus(bar + 10, UINT64_MAX, &bus), -EFAULT);
	dm_dma_window_set(NULL, 0, 0);
	CHECK_EQ_INT(dm_dma_window_bus(bar, 1, &bus), -EFAULT);
}

static void test_dma_mem(void)
{
	char path[96];
	struct dma_mem m;
	uint64_t pa;

	if (geteuid() != 0) {
		printf("# skipping DMA memory: pagemap frames need root\n");
		return;
	}
	snprintf(path, sizeof(path), "/dev/shm/airlock-test-dma-%d", (int)getpid());
	CHECK_EQ_INT(dma_mem_open(path, 3 * DMA_MEM_PAGE - 5, &m), 0);
	CHECK(m.size == 3 * DMA_MEM_PAGE);
	for (unsigned int i = 0; i < 3; i++)
		CHECK(m.page_phys[i] != 0 && m.page_phys[i] % DMA_MEM_PAGE == 0);
	CHECK_EQ_INT(dma_mem_phys(&m, m.base + DMA_MEM_PAGE + 8, 16, &pa), 0);
	CHECK(pa == m.page_phys[1] + 8);
	CHECK_EQ_INT(dma_mem_phys(&m, m.base + DMA_MEM_PAGE - 8, 16, &pa), -EFAULT);
	CHECK_EQ_INT(dma_mem_phys(&m, m.base + 3 * DMA_MEM_PAGE, 1, &pa), -EFAULT);
	CHECK_EQ_INT(dma_mem_phys(&m, m.base - 1, 1, &pa), -EFAULT);
	memcpy(m.base + 2 * DMA_MEM_PAGE, "kept", 4);
	uint64_t first = m.page_phys[2];
	dma_mem_close(&m);
	/* The file's pages outlive the mapping: the same frames, the same
	 * bytes, for the next process. */
	CHECK_EQ_INT(dma_mem_open(path, 3 * DMA_MEM_PAGE, &m), 0);
	CHECK(memcmp(m.base + 2 * DMA_MEM_PAGE, "kept", 4) == 0);
	CHECK(m.page_phys[2] == first);
	dma_mem_close(&m);
	unlink(path);
}

int main(void)
{
	RUN(test_find);
	RUN(test_window);
	RUN(test_dma_mem);
	return tap_done();
}

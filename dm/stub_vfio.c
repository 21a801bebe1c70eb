/* stub_vfio.c — the ivshmem-doorbell device through VFIO, inside a stub
 * domain.
 *
 * The device is QEMU's ivshmem-doorbell, which never does DMA of its own;
 * its BAR2 is the guest-RAM memfd the relay handed the stub QEMU. VFIO in
 * no-IOMMU mode (vfio_pci.c) gives airlock-dm what it needs of it:
 *   - BAR0 (registers: IVPosition at 8, Doorbell at 12) mapped, or, when
 *     vfio-pci does not allow mapping a BAR smaller than a page, written
 *     with pwrite on the device fd (one 32-bit access either way);
 *   - BAR2 mapped whole (struct stub_bar), in 2 MiB pieces so that page
 *     tables are spent only on what is touched, and its bus address, which the
 *     stub's own virtio disks use to DMA straight into guest RAM
 *     (dm_dma_window);
 *   - every MSI-X vector armed with an eventfd of its own.
 *
 * Then the bus ops are trivial: kick_fd(v) is vector v's eventfd; call(v)
 * writes (relay peer << 16) | v to the doorbell after a full fence, so the
 * used ring the device wrote in BAR2 is visible before the relay hears of
 * it.
 */
#include "dm/stub_vfio.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "dm/dma_window.h"
#include "dm/vfio_pci.h"

#define REG_IVPOSITION 8
#define REG_DOORBELL   12
/* BAR2 (guest RAM) is mapped in chunks of this size (vfio_pci.h): only
 * what airlock-dm touches (rings, headers, network buffers; disk data
 * moves by the stub disk's DMA) costs page tables, 4 KiB per chunk. */
#define BAR2_CHUNK (2u << 20)

struct stub_vfio {
	struct vfio_pci pci;
	uint64_t bar0_off;
	volatile uint8_t *bar0; /* NULL: pwrite at bar0_off */
	size_t bar0_len;
	struct stub_bar bar;
	size_t bar_len;
	uint64_t bar_phys; /* 0: unknown */
	unsigned int peer;
};

int stub_vfio_find(const char *sysfs_devices, char *bdf, size_t bdfsz)
{
	return vfio_pci_find(sysfs_devices, STUB_VFIO_VENDOR, STUB_VFIO_DEVICE, bdf, bdfsz);
}

static int map_bars(struct stub_vfio *v)
{
	uint64_t size;
	int mappable;

	if (vfio_pci_bar_info(&v->pci, VFIO_PCI_BAR0_REGION_INDEX, &size, &v->bar0_off, &mappable) <
	    0)
		return -EIO;
	if (size < REG_DOORBELL + 4) {
		log_err("stub: %s: BAR0 of %llu bytes", v->pci.bdf, (unsigned long long)size);
		return -ENODEV;
	}
	if (mappable)
		v->bar0 = vfio_pci_map_bar(&v->pci, VFIO_PCI_BAR0_REGION_INDEX, &v->bar0_len);
	void *p = vfio_pci_map_bar_chunked(&v->pci, VFIO_PCI_BAR2_REGION_INDEX, BAR2_CHUNK,
					   &v->bar_len);
	if (!p)
		return -ENODEV;
	if (vfio_pci_bar_info(&v->pci, VFIO_PCI_BAR2_REGION_INDEX, &size, &(uint64_t){0},
			      &mappable) < 0)
		return -EIO;
	v->bar = (struct stub_bar){.base = p, .size = size};
	if (vfio_pci_bar_phys(&v->pci, VFIO_PCI_BAR2_REGION_INDEX, &v->bar_phys) < 0)
		v->bar_phys = 0;
	uint32_t pos = 0;
	if (v->bar0)
		pos = *(volatile uint32_t *)(v->bar0 + REG_IVPOSITION);
	else if (pread(v->pci.dev, &pos, 4, (off_t)(v->bar0_off + REG_IVPOSITION)) != 4)
		pos = 0;
	v->peer = pos;
	return 0;
}

int stub_vfio_open(struct stub_vfio **out)
{
	char bdf[64];
	int rc;

	struct stub_vfio *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->pci.container = v->pci.group = v->pci.dev = -1;
	rc = stub_vfio_find("/sys/bus/pci/devices", bdf, sizeof(bdf));
	if (rc < 0) {
		log_err("stub: no ivshmem device (%04x:%04x) in /sys/bus/pci/devices: %s",
			STUB_VFIO_VENDOR, STUB_VFIO_DEVICE, strerror(-rc));
		goto fail;
	}
	if ((rc = vfio_pci_open(bdf, &v->pci)) < 0 || (rc = map_bars(v)) < 0 ||
	    (rc = vfio_pci_arm_msix(&v->pci, 0)) < 0)
		goto fail;
	if (v->bar_phys)
		dm_dma_window_set(v->bar.base, v->bar.size, v->bar_phys);
	log_info("stub: ivshmem %s through VFIO: BAR2 %llu MiB at 0x%llx, %u MSI-X vectors, "
		 "peer %u, doorbell by %s",
		 v->pci.bdf, (unsigned long long)(v->bar.size >> 20),
		 (unsigned long long)v->bar_phys, v->pci.nvec, v->peer,
		 v->bar0 ? "mmap" : "pwrite");
	*out = v;
	return 0;
fail:
	stub_vfio_close(v);
	return rc;
}

void stub_vfio_close(struct stub_vfio *v)
{
	if (!v)
		return;
	if (v->bar.base) {
		dm_dma_window_set(NULL, 0, 0);
		munmap(v->bar.base, v->bar_len);
	}
	if (v->bar0)
		munmap((void *)v->bar0, v->bar0_len);
	vfio_pci_close(&v->pci);
	free(v);
}

struct stub_bar stub_vfio_bar(const struct stub_vfio *v)
{
	return v->bar;
}

unsigned int stub_vfio_vectors(const struct stub_vfio *v)
{
	return v->pci.nvec;
}

unsigned int stub_vfio_peer(const struct stub_vfio *v)
{
	return v->peer;
}

static int vfio_kick_fd(void *ctx, unsigned int vector)
{
	struct stub_vfio *v = ctx;
	return vector < v->pci.nvec ? v->pci.efd[vector] : -EINVAL;
}

static void vfio_call(void *ctx, unsigned int vector)
{
	struct stub_vfio *v = ctx;
	uint32_t val = (STUB_VFIO_RELAY_PEER << 16) | (vector & 0xffffu);

	/* What the device wrote to the used ring lands before the doorbell. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (v->bar0)
		*(volatile uint32_t *)(v->bar0 + REG_DOORBELL) = val;
	else
		(void)!pwrite(v->pci.dev, &val, 4, (off_t)(v->bar0_off + REG_DOORBELL));
}

const struct stub_bus_ops stub_vfio_bus_ops = {
	.kick_fd = vfio_kick_fd,
	.call = vfio_call,
};

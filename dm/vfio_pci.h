/* vfio_pci.h — one PCI device of a stub domain driven from user space
 * through VFIO in no-IOMMU mode: bound to vfio-pci, its config space, BAR
 * mappings, MSI-X vectors as eventfds. The design is atop vfio_pci.c.
 *
 * Two users: the ivshmem-doorbell device that carries guest RAM and the
 * stub protocol's vectors (stub_vfio.c), and the stub domain's own virtio
 * disks, which airlock-dm drives itself so that their DMA goes straight
 * between the host's disk and guest RAM (vpci.c).
 */
#ifndef AIRLOCK_DM_VFIO_PCI_H
#define AIRLOCK_DM_VFIO_PCI_H

#include <stddef.h>
#include <stdint.h>

struct vfio_pci {
	int container, group, dev;
	uint64_t cfg_off; /* the config region's offset in the device fd */
	char bdf[32];	  /* "0000:00:04.0" */
	unsigned int nvec;
	int efd[64]; /* MSI-X vector eventfds, nvec of them */
};

/* Finds the first PCI device under `sysfs_devices` (normally
 * "/sys/bus/pci/devices") whose vendor and device files say vendor:device
 * and writes its name (the BDF, "0000:00:04.0") into bdf (bdfsz bytes).
 * Returns 0, -ENOENT when there is none, -ENAMETOOLONG, or -errno. */
int vfio_pci_find(const char *sysfs_devices, unsigned int vendor, unsigned int device, char *bdf,
		  size_t bdfsz);

/* Reads a small sysfs file into buf (NUL-terminated, a trailing newline
 * dropped). Returns 0 or -errno. */
int vfio_pci_sysfs_read(const char *path, char *buf, size_t sz);

/* Binds PCI device bdf (under /sys/bus/pci/devices) to vfio-pci unless it
 * already is (turning vfio's no-IOMMU switch on if the command line did
 * not), opens its group, a container of its own and the device, and turns
 * on memory space and bus mastering. Logs what failed. Returns 0 with *v
 * filled, or -errno (nothing left open). */
int vfio_pci_open(const char *bdf, struct vfio_pci *v);

/* Disarms MSI-X and closes every fd (mappings are the caller's). */
void vfio_pci_close(struct vfio_pci *v);

/* Config space access (n bytes at off). Return 0 or -EIO. */
int vfio_pci_cfg_read(const struct vfio_pci *v, unsigned int off, void *buf, size_t n);
int vfio_pci_cfg_write(const struct vfio_pci *v, unsigned int off, const void *buf, size_t n);

/* The offset in config space of the first capability with this id at or
 * after `from` (0: the start of the list), or 0 when there is none. */
unsigned int vfio_pci_find_cap(const struct vfio_pci *v, uint8_t id, unsigned int from);

/* BAR `index`'s size and offset in the device fd, and whether it may be
 * mapped. Returns 0 or -errno. */
int vfio_pci_bar_info(const struct vfio_pci *v, unsigned int index, uint64_t *size,
		      uint64_t *fd_off, int *mappable);

/* Maps BAR `index` whole (shared, read/write). Returns the address and its
 * length in *len, or NULL (logged). */
void *vfio_pci_map_bar(const struct vfio_pci *v, unsigned int index, size_t *len);

/* Maps BAR `index` whole into one contiguous range of addresses, as
 * separate mappings of `chunk` bytes each (a power of two, a multiple of
 * the page size). vfio-pci fills a whole mapping with page-table entries
 * at its first touch, so a large BAR mapped in one piece costs 2 MiB of
 * page tables per GiB (and the time to write them) as soon as any byte of
 * it is used; in chunks, only the chunks touched cost anything. Returns
 * the address and the length in *len, or NULL (logged). */
void *vfio_pci_map_bar_chunked(const struct vfio_pci *v, unsigned int index, size_t chunk,
			       size_t *len);

/* BAR `index`'s bus address as the stub kernel assigned it (sysfs
 * `resource`), which is the address its DMA uses in a domain with no
 * IOMMU. Returns 0 or -errno. */
int vfio_pci_bar_phys(const struct vfio_pci *v, unsigned int index, uint64_t *phys);

/* Arms MSI-X vectors 0..n-1 (n at most the capability's table size and
 * 64; 0: all of them) with non-blocking eventfds of their own (v->efd,
 * v->nvec). Returns 0 or -errno (logged). */
int vfio_pci_arm_msix(struct vfio_pci *v, unsigned int n);

/* The MSI-X table size from the capability, or 0 when there is none. */
unsigned int vfio_pci_msix_size(const struct vfio_pci *v);

#endif

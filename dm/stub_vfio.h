/* stub_vfio.h — the stub transport's bus inside a stub domain: QEMU's
 * ivshmem-doorbell device (PCI 1af4:1110) driven through VFIO in no-IOMMU
 * mode (docs/stubdom-design.md, "Vectors"). The design is atop stub_vfio.c.
 *
 * Its guest-RAM BAR (BAR2) is struct stub_bar; its MSI-X vectors are the
 * kick fds; its doorbell (BAR0 + 12) rings the relay (peer 0).
 */
#ifndef AIRLOCK_DM_STUB_VFIO_H
#define AIRLOCK_DM_STUB_VFIO_H

#include <stddef.h>

#include "dm/stub_bus.h"

/* PCI ids of QEMU's ivshmem (doorbell or plain). */
#define STUB_VFIO_VENDOR 0x1af4
#define STUB_VFIO_DEVICE 0x1110

/* The relay's ivshmem peer id (it is the ivshmem server). */
#define STUB_VFIO_RELAY_PEER 0u

struct stub_vfio;

/* Finds the first PCI device under `sysfs_devices` (normally
 * "/sys/bus/pci/devices") whose vendor and device files say 1af4:1110 and
 * writes its name (the BDF, "0000:00:04.0") into bdf (bdfsz bytes).
 * Returns 0, -ENOENT when there is none, or -errno. */
int stub_vfio_find(const char *sysfs_devices, char *bdf, size_t bdfsz);

/* Binds the ivshmem device to vfio-pci (unless it already is), opens its
 * no-IOMMU group, a container and the device; turns on memory space and
 * bus mastering, maps BAR0 (or falls back to pwrite) and BAR2, and arms
 * every MSI-X vector with an eventfd of its own. Logs what it did and why
 * it failed. Returns 0 and the bus in *out, or -errno (nothing left). */
int stub_vfio_open(struct stub_vfio **out);

/* Disarms MSI-X, unmaps and closes everything. NULL is ignored. */
void stub_vfio_close(struct stub_vfio *v);

/* BAR2 as mapped. */
struct stub_bar stub_vfio_bar(const struct stub_vfio *v);

/* Number of MSI-X vectors armed (the capability's table size). */
unsigned int stub_vfio_vectors(const struct stub_vfio *v);

/* Our own ivshmem peer id (IVPosition, BAR0 + 8), for log lines. */
unsigned int stub_vfio_peer(const struct stub_vfio *v);

/* The bus ops; pass the struct stub_vfio as their context. */
extern const struct stub_bus_ops stub_vfio_bus_ops;

#endif

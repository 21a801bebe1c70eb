/* vpci.h — a virtio PCI device (virtio 1.x, modern interface, one split
 * queue) driven from user space through VFIO inside a stub domain. The
 * design is atop vpci.c.
 *
 * Requests are chains of segments given as bus addresses; each takes a
 * slot (one ring descriptor pointing at the slot's own indirect table, up
 * to VPCI_MAX_SEGS entries) and 32 bytes of DMA-able scratch for what the
 * driver itself must provide (a request header, a status byte).
 */
#ifndef AIRLOCK_DM_VPCI_H
#define AIRLOCK_DM_VPCI_H

#include <stdbool.h>
#include <stdint.h>

#define VPCI_MAX_SEGS	 256u /* one 4 KiB page of descriptors */
#define VPCI_SCRATCH	 32u
#define VPCI_QUEUE_SLOTS 64u

/* Modern virtio PCI device ids (0x1040 + virtio device id). */
#define VPCI_DEVICE_BLK 0x1042

struct vpci_seg {
	uint64_t addr; /* bus address */
	uint32_t len;
	bool device_writes;
};

struct vpci;

/* Opens virtio PCI device bdf (bound to vfio-pci here) whose PCI device id
 * must be `device_id` (0x1042: block), with its DMA memory in the file
 * dma_path (kept across restarts, dma_mem.c). Resets the device, accepts
 * the features in `want` that it offers (VERSION_1 and INDIRECT_DESC are
 * required), sets up queue 0 with up to VPCI_QUEUE_SLOTS entries and its
 * MSI-X vector, and sets DRIVER_OK. Returns 0 or -errno (logged; nothing
 * left). */
int vpci_open(const char *bdf, uint16_t device_id, uint64_t want, const char *dma_path,
	      struct vpci **out);

/* Resets the device (which finishes what it has in flight) and frees v.
 * NULL is ignored. */
void vpci_close(struct vpci *v);

/* The features both sides accepted. */
uint64_t vpci_features(const struct vpci *v);

/* Reads the device's config space. Returns 0 or -EINVAL (out of range). */
int vpci_config(const struct vpci *v, uint32_t off, void *buf, uint32_t len);

/* The eventfd that becomes readable when the device used buffers (read 8
 * bytes to clear it). */
int vpci_irq_fd(const struct vpci *v);

/* Takes a free slot. Returns its number, or -1 when all are in flight. */
int vpci_slot_get(struct vpci *v);

/* Slot s's scratch (VPCI_SCRATCH bytes) and its bus address. */
void *vpci_scratch(struct vpci *v, unsigned int s, uint64_t *bus);

/* Makes slot s's request the chain segs[0..n) (1 <= n <= VPCI_MAX_SEGS)
 * and puts it on the ring (not notified yet: vpci_kick). Returns 0 or
 * -EINVAL. */
int vpci_submit(struct vpci *v, unsigned int s, const struct vpci_seg *segs, unsigned int n);

/* Notifies the device of what was submitted since the last kick. */
void vpci_kick(struct vpci *v);

/* The next used request: returns 1 with its slot and used length, 0 when
 * there is none. A used entry naming a slot not in flight is logged and
 * skipped. The slot stays taken until vpci_slot_put. */
int vpci_reap(struct vpci *v, unsigned int *slot, uint32_t *len);

/* Gives slot s back. */
void vpci_slot_put(struct vpci *v, unsigned int s);

/* Slots in flight. */
unsigned int vpci_busy(const struct vpci *v);

#endif

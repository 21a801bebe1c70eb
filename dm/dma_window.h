/* dma_window.h — where guest RAM lies in the stub domain's bus addresses.
 *
 * Inside a stub domain guest RAM is the ivshmem device's BAR2, mapped into
 * airlock-dm at some host address and decoded by the stub's PCI bus at some
 * bus address. A device the stub drives itself (its own virtio disk) can
 * DMA straight into guest RAM given the bus address of a buffer; this is
 * the one place that knows the translation. Outside a stub domain no
 * window is set and every translation fails.
 */
#ifndef AIRLOCK_DM_DMA_WINDOW_H
#define AIRLOCK_DM_DMA_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* Declares [hva, hva + size) to be bus addresses [bus, bus + size).
 * hva NULL (or size 0) removes the window. */
void dm_dma_window_set(const void *hva, uint64_t size, uint64_t bus);

/* The bus address of [p, p + len) if the whole range lies in the window.
 * Returns 0 with *bus set, or -EFAULT. */
int dm_dma_window_bus(const void *p, uint64_t len, uint64_t *bus);

#endif

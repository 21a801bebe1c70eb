/* dma_window.c — see dma_window.h. One window per process: a stub domain
 * has one guest. */
#include "dm/dma_window.h"

#include <errno.h>

static struct {
	uintptr_t hva;
	uint64_t size, bus;
} win;

void dm_dma_window_set(const void *hva, uint64_t size, uint64_t bus)
{
	win.hva = (uintptr_t)hva;
	win.size = hva ? size : 0;
	win.bus = bus;
}

int dm_dma_window_bus(const void *p, uint64_t len, uint64_t *bus)
{
	uintptr_t a = (uintptr_t)p;

	if (win.size == 0 || a < win.hva)
		return -EFAULT;
	uint64_t off = (uint64_t)(a - win.hva);
	if (off > win.size || len > win.size - off)
		return -EFAULT;
	*bus = win.bus + off;
	return 0;
}

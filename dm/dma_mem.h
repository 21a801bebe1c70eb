/* dma_mem.h — memory that a device driven from user space (vpci.c) can
 * reach by DMA, inside a stub domain: pages of a tmpfs file, mapped, with
 * their physical addresses. The design is atop dma_mem.c.
 */
#ifndef AIRLOCK_DM_DMA_MEM_H
#define AIRLOCK_DM_DMA_MEM_H

#include <stddef.h>
#include <stdint.h>

#define DMA_MEM_PAGE 4096u

struct dma_mem {
	uint8_t *base;	     /* mapping of the file */
	size_t size;	     /* bytes, a multiple of DMA_MEM_PAGE */
	uint64_t *page_phys; /* physical address of each page */
};

/* Opens the file at path (creating it, mode 0600) at `size` bytes (rounded
 * up to pages), maps it shared, touches every page and reads where each
 * lies from /proc/self/pagemap (which needs CAP_SYS_ADMIN). Existing
 * contents are kept: the caller decides what to reset. Returns 0 with *m
 * filled, or -errno (logged). */
int dma_mem_open(const char *path, size_t size, struct dma_mem *m);

/* Unmaps; the file and its pages stay for the next process. */
void dma_mem_close(struct dma_mem *m);

/* The physical address of [p, p + len), which must lie within one page of
 * m. Returns 0 or -EFAULT. */
int dma_mem_phys(const struct dma_mem *m, const void *p, size_t len, uint64_t *phys);

#endif

/* dma_mem.c — DMA-able memory for user-space drivers in a stub domain.
 *
 * A device airlock-dm drives itself (the stub's own virtio disk, vpci.c)
 * reads its rings and request headers from, and writes completions into,
 * physical addresses: with VFIO in no-IOMMU mode nothing translates them.
 * So the driver needs memory whose physical address it knows and which
 * stays put:
 *
 *   - Where: /proc/self/pagemap tells each mapped page's frame (to
 *     CAP_SYS_ADMIN; airlock-dm is root in its stub). Only pages are known,
 *     not contiguity, so every structure the driver gives a device lies
 *     within one page (rings of up to 4 KiB, one indirect table per page).
 *   - Staying put: the stub kernel has no swap, no compaction, no NUMA
 *     balancing, no memory hot-unplug and no KSM (images/stubdom
 *     kernel.config), so nothing migrates a page that is in use.
 *   - Outliving the process: the pages belong to a file on a tmpfs, not to
 *     the process. If airlock-dm dies with requests in flight, the stub
 *     QEMU still completes them: it writes used-ring entries and status
 *     bytes into these pages. Anonymous memory would have been freed and
 *     reused by then, and those writes would corrupt whatever got the
 *     pages. A file's pages stay allocated until it is removed; the next
 *     airlock-dm maps the same file, resets the device (QEMU finishes
 *     every request before a reset completes) and starts over in the same
 *     pages.
 */
#include "dm/dma_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"

#define PM_PRESENT  (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)

static int lookup(struct dma_mem *m, const char *path)
{
	size_t n = m->size / DMA_MEM_PAGE;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0) {
		log_err("dma: /proc/self/pagemap: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t e;
		uintptr_t va = (uintptr_t)m->base + i * DMA_MEM_PAGE;
		if (pread(fd, &e, sizeof(e), (off_t)(va / DMA_MEM_PAGE * sizeof(e))) !=
		    (ssize_t)sizeof(e)) {
			rc = -EIO;
			break;
		}
		if (!(e & PM_PRESENT) || (e & PM_PFN_MASK) == 0) {
			log_err("dma: %s: page %zu has no frame number in pagemap (not root?)",
				path, i);
			rc = -EPERM;
			break;
		}
		m->page_phys[i] = (e & PM_PFN_MASK) * DMA_MEM_PAGE;
	}
	close(fd);
	return rc;
}

int dma_mem_open(const char *path, size_t size, struct dma_mem *m)
{
	int rc;

	memset(m, 0, sizeof(*m));
	size = (size + DMA_MEM_PAGE - 1) / DMA_MEM_PAGE * DMA_MEM_PAGE;
	if (size == 0)
		return -EINVAL;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("dma: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = -errno;
		log_err("dma: %s: %zu bytes: %s", path, size, strerror(errno));
		close(fd);
		return rc;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	rc = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (rc < 0) {
		log_err("dma: mapping %s: %s", path, strerror(-rc));
		return rc;
	}
	m->base = p;
	m->size = size;
	m->page_phys = calloc(size / DMA_MEM_PAGE, sizeof(*m->page_phys));
	if (!m->page_phys) {
		dma_mem_close(m);
		return -ENOMEM;
	}
	/* A write to each page gives it a frame of its own (a read of a hole
	 * of a tmpfs file may map the shared zero page). */
	for (size_t off = 0; off < size; off += DMA_MEM_PAGE)
		__atomic_fetch_or(m->base + off, 0, __ATOMIC_RELAXED);
	rc = lookup(m, path);
	if (rc < 0)
		dma_mem_close(m);
	return rc;
}

void dma_mem_close(struct dma_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	free(m->page_phys);
	memset(m, 0, sizeof(*m));
}

int dma_mem_phys(const struct dma_mem *m, const void *p, size_t len, uint64_t *phys)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)m->base;

	if (a < b || a - b >= m->size || len > DMA_MEM_PAGE)
		return -EFAULT;
	size_t off = a - b, in = off % DMA_MEM_PAGE;
	if (in + len > DMA_MEM_PAGE)
		return -EFAULT;
	*phys = m->page_phys[off / DMA_MEM_PAGE] + in;
	return 0;
}

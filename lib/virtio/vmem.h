/* vmem.h — a guest's memory as the device model sees it.
 *
 * A vmem is a small table of regions, each a range of guest-physical
 * addresses [gpa, gpa + size) mapped at host address hva (and, for
 * vhost-user, known to the front end as user address uva). Every access a
 * device makes to guest memory goes through this table: a range is usable
 * only if every byte of it lies inside the regions, and every sum of
 * address and length is checked for overflow before it is compared, so no
 * guest-chosen address ever reaches host memory outside the regions.
 *
 * The table does not own the mappings: whoever fills it (the vhost-user
 * core, a test) maps and unmaps them.
 */
#ifndef AIRLOCK_VIRTIO_VMEM_H
#define AIRLOCK_VIRTIO_VMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VMEM_MAX_REGIONS 8

struct vmem_region {
	uint64_t gpa;  /* guest-physical base */
	uint64_t size; /* bytes, > 0 */
	uint64_t uva;  /* the front end's user address of gpa (vhost-user) */
	uint8_t *hva;  /* where the region is mapped here */
};

struct vmem {
	unsigned int n;
	struct vmem_region r[VMEM_MAX_REGIONS];
};

/* Empties `m`. */
void vmem_init(struct vmem *m);

/* Appends a region. Returns 0, -EINVAL if size is 0, hva is NULL, gpa + size
 * or uva + size overflows, or the region overlaps an existing one (in guest-
 * physical or front-end addresses), or -ENOSPC when the table is full. On
 * failure `m` is unchanged. */
int vmem_add(struct vmem *m, uint64_t gpa, uint64_t size, uint64_t uva, void *hva);

/* Returns the host address of [gpa, gpa + len) if that whole range lies in
 * one region (len 0: if gpa lies in a region), else NULL. */
void *vmem_gpa_to_hva(const struct vmem *m, uint64_t gpa, uint64_t len);

/* The same for a front-end user address (vhost-user ring addresses). */
void *vmem_uva_to_hva(const struct vmem *m, uint64_t uva, uint64_t len);

/* Maps [gpa, gpa + len) into iovecs, splitting where the range crosses from
 * one region into an adjacent one. Appends at iov[*n], never past iov[max-1].
 * Returns 0 (len 0 appends nothing), -EFAULT if some byte lies outside the
 * regions (or gpa + len overflows), -ENOBUFS if more than `max` iovecs would
 * be needed. On failure *n is unchanged. */
int vmem_map_iov(const struct vmem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
		 unsigned int max, unsigned int *n);

/* Copies len bytes at guest address gpa into dst (ranges may cross adjacent
 * regions). Returns 0 or -EFAULT (dst then holds unspecified bytes). */
int vmem_read(const struct vmem *m, uint64_t gpa, void *dst, size_t len);

#endif

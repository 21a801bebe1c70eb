/* vmem.c — bounds-checked guest-physical translation (see vmem.h). */
#include "virtio/vmem.h"

#include <errno.h>
#include <string.h>

void vmem_init(struct vmem *m)
{
	memset(m, 0, sizeof(*m));
}

/* Half-open ranges [a, a + alen) and [b, b + blen), both known not to
 * overflow. */
static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vmem_add(struct vmem *m, uint64_t gpa, uint64_t size, uint64_t uva, void *hva)
{
	if (size == 0 || !hva || gpa + size < gpa || uva + size < uva ||
	    (uintptr_t)hva + size < (uintptr_t)hva)
		return -EINVAL;
	if (m->n >= VMEM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned int i = 0; i < m->n; i++) {
		if (ranges_overlap(gpa, size, m->r[i].gpa, m->r[i].size) ||
		    ranges_overlap(uva, size, m->r[i].uva, m->r[i].size))
			return -EINVAL;
	}
	m->r[m->n++] = (struct vmem_region){.gpa = gpa, .size = size, .uva = uva, .hva = hva};
	return 0;
}

/* The region holding address a (by gpa or uva), or NULL. */
static const struct vmem_region *find(const struct vmem *m, uint64_t a, bool by_uva)
{
	for (unsigned int i = 0; i < m->n; i++) {
		uint64_t base = by_uva ? m->r[i].uva : m->r[i].gpa;
		if (a >= base && a - base < m->r[i].size)
			return &m->r[i];
	}
	return NULL;
}

static void *to_hva(const struct vmem *m, uint64_t a, uint64_t len, bool by_uva)
{
	const struct vmem_region *r = find(m, a, by_uva);
	if (!r)
		return NULL;
	uint64_t off = a - (by_uva ? r->uva : r->gpa);
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

void *vmem_gpa_to_hva(const struct vmem *m, uint64_t gpa, uint64_t len)
{
	return to_hva(m, gpa, len, false);
}

void *vmem_uva_to_hva(const struct vmem *m, uint64_t uva, uint64_t len)
{
	return to_hva(m, uva, len, true);
}

int vmem_map_iov(const struct vmem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
		 unsigned int max, unsigned int *n)
{
	unsigned int k = *n;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len > 0) {
		const struct vmem_region *r = find(m, gpa, false);
		if (!r)
			return -EFAULT;
		if (k >= max)
			return -ENOBUFS;
		uint64_t off = gpa - r->gpa;
		uint64_t chunk = r->size - off;
		if (chunk > len)
			chunk = len;
		iov[k].iov_base = r->hva + off;
		iov[k].iov_len = (size_t)chunk;
		k++;
		gpa += chunk;
		len -= chunk;
	}
	*n = k;
	return 0;
}

int vmem_read(const struct vmem *m, uint64_t gpa, void *dst, size_t len)
{
	uint8_t *d = dst;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len > 0) {
		const struct vmem_region *r = find(m, gpa, false);
		if (!r)
			return -EFAULT;
		uint64_t off = gpa - r->gpa;
		uint64_t chunk = r->size - off;
		if (chunk > len)
			chunk = len;
		memcpy(d, r->hva + off, (size_t)chunk);
		d += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

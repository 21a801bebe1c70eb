/* relay_mem.c — the guest-RAM memfd as the relay sees it: what the engine
 * may map (regions of the memfd inside guest RAM, nothing else), how its
 * ring addresses become guest-physical ones for the stub, and where each
 * device's inflight area lies in the padding past guest RAM.
 *
 * The relay never maps guest RAM: it checks the engine's table against the
 * memfd's identity and size and keeps it as numbers. The only bytes it
 * writes are a device's inflight area when the engine asks for a fresh
 * one (GET_INFLIGHT_FD), with pwrite.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay/relay_int.h"
#include "stubproto/sp_codec.h"
#include "virtio/inflight.h"

#define PAGE 4096u

static uint64_t align_page(uint64_t v)
{
	return (v + PAGE - 1) / PAGE * PAGE;
}

uint64_t relay_inflight_layout(uint64_t ram_size, const unsigned int *queues, unsigned int n,
			       uint64_t *offsets, uint64_t *sizes)
{
	uint64_t at = align_page(ram_size);

	if (at < ram_size)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t sz = align_page((uint64_t)queues[i] *
					 inflight_queue_size(RELAY_INFLIGHT_QSIZE_MAX));
		if (offsets)
			offsets[i] = at;
		if (sizes)
			sizes[i] = sz;
		if (at + sz < at)
			return 0;
		at += sz;
	}
	return at;
}

int relay_mem_init(struct relay *r)
{
	struct stat st;
	unsigned int q[RELAY_MAX_DEVICES];
	uint64_t off[RELAY_MAX_DEVICES], sz[RELAY_MAX_DEVICES];

	if (fstat(r->ram_fd, &st) < 0)
		return -errno;
	r->ram_dev = st.st_dev;
	r->ram_ino = st.st_ino;
	r->memfd_size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	for (unsigned int i = 0; i < r->ndevs; i++)
		q[i] = r->dev[i].desc.queues;
	uint64_t need = relay_inflight_layout(r->ram_size, q, r->ndevs, off, sz);
	if (need == 0 || need > r->memfd_size) {
		log_err("guest-RAM memfd: %llu bytes, need %llu (RAM and inflight areas)",
			(unsigned long long)r->memfd_size, (unsigned long long)need);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < r->ndevs; i++) {
		r->dev[i].area_offset = off[i];
		r->dev[i].area_size = sz[i];
	}
	return 0;
}

int relay_mem_is_ram(const struct relay *r, int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	return st.st_dev == r->ram_dev && st.st_ino == r->ram_ino ? 0 : -EBADF;
}

int relay_mem_check_table(const struct relay *r, const struct vhost_msg *m, const char **why)
{
	const struct vhost_mem_table *t = &m->p.mem;
	struct sp_mem_table sp = {.n = t->nregions};

	if (t->nregions == 0 || t->nregions > VHOST_USER_MAX_REGIONS || m->nfds != t->nregions) {
		*why = "region count";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < t->nregions; i++) {
		const struct vhost_mem_region *g = &t->regions[i];
		if (relay_mem_is_ram(r, m->fds[i]) < 0) {
			*why = "a region's fd is not the guest-RAM memfd";
			return -EBADF;
		}
		if (g->size == 0 || g->mmap_offset + g->size < g->mmap_offset ||
		    g->mmap_offset + g->size > r->ram_size) {
			*why = "a region lies outside guest RAM";
			return -EINVAL;
		}
		if (g->uva + g->size < g->uva || g->gpa + g->size < g->gpa) {
			*why = "a region wraps the address space";
			return -EINVAL;
		}
		for (unsigned int k = 0; k < i; k++) {
			const struct vhost_mem_region *o = &t->regions[k];
			if (g->uva < o->uva + o->size && o->uva < g->uva + g->size) {
				*why = "regions overlap in the engine's addresses";
				return -EINVAL;
			}
		}
		sp.r[i] = (struct sp_region){
			.gpa = g->gpa, .size = g->size, .offset = g->mmap_offset};
	}
	if (sp_check_mem_table(&sp, why) < 0 || sp_check_mem_table_bar(&sp, r->memfd_size, why) < 0)
		return -EINVAL;
	return 0;
}

int relay_mem_uva_to_gpa(const struct relay_dev *d, uint64_t uva, uint64_t len, uint64_t *gpa)
{
	for (unsigned int i = 0; i < d->nregions; i++) {
		const struct vhost_mem_region *g = &d->regions[i];
		if (uva < g->uva || uva - g->uva >= g->size)
			continue;
		if (len > g->size - (uva - g->uva))
			return -EFAULT;
		*gpa = g->gpa + (uva - g->uva);
		return 0;
	}
	return -EFAULT;
}

void relay_mem_sp_table(const struct relay_dev *d, struct sp_mem_table *out)
{
	memset(out, 0, sizeof(*out));
	out->n = d->nregions;
	for (unsigned int i = 0; i < d->nregions; i++)
		out->r[i] = (struct sp_region){.gpa = d->regions[i].gpa,
					       .size = d->regions[i].size,
					       .offset = d->regions[i].mmap_offset};
}

static bool counts_ok(const struct relay_dev *d, const struct vhost_inflight_info *info)
{
	unsigned int qs = info->queue_size;
	return info->num_queues >= 1 && info->num_queues <= d->desc.queues && qs >= 1 &&
	       qs <= RELAY_INFLIGHT_QSIZE_MAX && (qs & (qs - 1)) == 0;
}

static uint64_t area_bytes(const struct vhost_inflight_info *info)
{
	return (uint64_t)info->num_queues * inflight_queue_size(info->queue_size);
}

static void record(struct relay_dev *d, const struct vhost_inflight_info *info)
{
	d->inflight = (struct sp_set_inflight){.offset = d->area_offset,
					       .size = area_bytes(info),
					       .num_queues = info->num_queues,
					       .queue_size = info->queue_size};
	d->inflight_gen++;
	if (d->inflight_gen == 0)
		d->inflight_gen = 1;
}

int relay_mem_inflight_get(struct relay_dev *d, struct vhost_inflight_info *info)
{
	static const uint8_t zero[PAGE];
	int fd = d->r->ram_fd;

	if (!counts_ok(d, info) || area_bytes(info) > d->area_size)
		return -EINVAL;
	uint64_t size = area_bytes(info);
	/* A fresh area: zeros (every region version 0), each queue's
	 * desc_num set, as a back end that creates its own memfd does. */
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < PAGE ? (size_t)(size - done) : PAGE;
		ssize_t w = pwrite(fd, zero, n, (off_t)(d->area_offset + done));
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += (uint64_t)w;
	}
	for (unsigned int q = 0; q < info->num_queues; q++) {
		uint16_t num = info->queue_size;
		off_t at = (off_t)(d->area_offset + q * inflight_queue_size(info->queue_size) +
				   offsetof(struct inflight_queue, desc_num));
		if (pwrite(fd, &num, sizeof(num), at) != (ssize_t)sizeof(num))
			return -EIO;
	}
	info->mmap_size = size;
	info->mmap_offset = d->area_offset;
	info->padding = 0;
	record(d, info);
	return 0;
}

int relay_mem_inflight_set(struct relay_dev *d, const struct vhost_inflight_info *info, int fd)
{
	if (relay_mem_is_ram(d->r, fd) < 0)
		return -EBADF;
	if (!counts_ok(d, info) || info->mmap_offset != d->area_offset ||
	    info->mmap_size != area_bytes(info) || info->mmap_size > d->area_size)
		return -EINVAL;
	record(d, info);
	return 0;
}

/* vhost_inflight.c — the inflight-tracking area of a connection: a memfd we
 * create for GET_INFLIGHT_FD, or the fd the front end hands back with
 * SET_INFLIGHT_FD, checked against its size before it is mapped. */
#include "vhost/vhost_inflight.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/vq.h"

static bool counts_ok(const struct vhost_inflight_info *info, unsigned int max_queues)
{
	return info->num_queues >= 1 && info->num_queues <= max_queues && info->queue_size >= 1 &&
	       info->queue_size <= VQ_MAX_SIZE;
}

static uint64_t area_size(const struct vhost_inflight_info *info)
{
	return (uint64_t)info->num_queues * inflight_queue_size(info->queue_size);
}

static void install(struct vhost_inflight *inf, void *map, size_t len, uint64_t offset,
		    const struct vhost_inflight_info *info)
{
	vhost_inflight_release(inf);
	inf->map = map;
	inf->map_len = len;
	inf->base = (uint8_t *)map + offset;
	inf->num_queues = info->num_queues;
	inf->queue_size = info->queue_size;
}

int vhost_inflight_create(struct vhost_inflight *inf, struct vhost_inflight_info *info,
			  unsigned int max_queues, int *fd_out)
{
	if (!counts_ok(info, max_queues))
		return -EINVAL;
	uint64_t size = area_size(info);
	int fd = memfd_create("airlock-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* A fresh memfd reads as zeros: every region has version 0. */
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	info->mmap_size = size;
	info->mmap_offset = 0;
	info->padding = 0;
	install(inf, p, (size_t)size, 0, info);
	for (unsigned int i = 0; i < info->num_queues; i++)
		vhost_inflight_queue(inf, i)->desc_num = info->queue_size;
	*fd_out = fd;
	return 0;
}

int vhost_inflight_adopt(struct vhost_inflight *inf, const struct vhost_inflight_info *info, int fd,
			 unsigned int max_queues)
{
	struct stat st;

	if (!counts_ok(info, max_queues) || info->mmap_size != area_size(info) ||
	    info->mmap_offset % 8 != 0)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	uint64_t end = info->mmap_offset + info->mmap_size;
	if (end < info->mmap_offset || st.st_size < 0 || end > (uint64_t)st.st_size ||
	    end > SIZE_MAX)
		return -EINVAL;
	void *p = mmap(NULL, (size_t)end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	install(inf, p, (size_t)end, info->mmap_offset, info);
	return 0;
}

void vhost_inflight_release(struct vhost_inflight *inf)
{
	if (inf->map)
		munmap(inf->map, inf->map_len);
	memset(inf, 0, sizeof(*inf));
}

struct inflight_queue *vhost_inflight_queue(const struct vhost_inflight *inf, unsigned int idx)
{
	if (!inf->map || idx >= inf->num_queues)
		return NULL;
	return (struct inflight_queue *)(inf->base + idx * inflight_queue_size(inf->queue_size));
}

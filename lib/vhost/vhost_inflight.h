/* vhost_inflight.h — the inflight-tracking area of one vhost-user
 * connection (GET_INFLIGHT_FD / SET_INFLIGHT_FD, protocol feature
 * INFLIGHT_SHMFD): creating it, checking and mapping one the front end
 * hands back, and finding each queue's region in it.
 *
 * The area is num_queues queue regions of inflight_queue_size(queue_size)
 * bytes each (virtio/inflight.h). What the regions hold is the business of
 * lib/virtio (vq_set_inflight); this file only guarantees that every
 * region it hands out is mapped in full.
 */
#ifndef AIRLOCK_VHOST_INFLIGHT_H
#define AIRLOCK_VHOST_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "vhost/vhost_msg.h"
#include "virtio/inflight.h"

struct vhost_inflight {
	void *map; /* [0, map_len) of the fd, or NULL */
	size_t map_len;
	uint8_t *base; /* map + mmap_offset: queue 0's region */
	unsigned int num_queues;
	unsigned int queue_size;
};

/* GET_INFLIGHT_FD: creates a zeroed area for info->num_queues (1 ..
 * max_queues) queues of info->queue_size (1 .. VQ_MAX_SIZE) heads in a
 * sealed memfd (it can neither shrink nor grow), maps it in place of
 * whatever *inf held, and fills info->mmap_size and mmap_offset (0).
 * *fd_out is the memfd, for the reply; the caller closes it. Returns 0,
 * -EINVAL for counts out of range, or -errno (inf then unchanged). */
int vhost_inflight_create(struct vhost_inflight *inf, struct vhost_inflight_info *info,
			  unsigned int max_queues, int *fd_out);

/* SET_INFLIGHT_FD: checks info (counts in range as above, mmap_size exactly
 * num_queues regions of queue_size heads, mmap_offset 8-byte aligned and
 * offset + size inside the fd's size by fstat, no overflow) and maps the
 * area in place of whatever *inf held. fd stays the caller's. Returns 0,
 * -EINVAL, or -errno (inf then unchanged). */
int vhost_inflight_adopt(struct vhost_inflight *inf, const struct vhost_inflight_info *info, int fd,
			 unsigned int max_queues);

/* Unmaps the area (if any); inf is then empty. */
void vhost_inflight_release(struct vhost_inflight *inf);

/* Queue idx's region, or NULL when no area is mapped or idx is beyond its
 * queues. */
struct inflight_queue *vhost_inflight_queue(const struct vhost_inflight *inf, unsigned int idx);

#endif

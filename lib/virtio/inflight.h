/* inflight.h — the inflight-tracking region of one split virtqueue
 * (QEMU docs/interop/vhost-user.rst, "Inflight I/O tracking").
 *
 * The region lives in memory shared with the front end, which keeps it
 * across a back-end crash and hands it back on reconnect. Per queue it is a
 * 16-byte header and one 16-byte state per descriptor head; queue regions
 * follow each other, each rounded up to 64 bytes (the stride other back
 * ends use too, so a region is read the same whoever wrote it). Its
 * contents are written by the front end as much as by us: whoever reads
 * them (lib/virtio/vq_inflight.c) treats every field as hostile.
 */
#ifndef AIRLOCK_VIRTIO_INFLIGHT_H
#define AIRLOCK_VIRTIO_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#define INFLIGHT_VERSION 1u
#define INFLIGHT_ALIGN	 64u

/* State of one descriptor head (the spec's DescStateSplit). */
struct inflight_desc {
	uint8_t inflight; /* 1: popped, not yet returned in the used ring */
	uint8_t padding[5];
	uint16_t next;	  /* the last used batch, as a list */
	uint64_t counter; /* pop order */
};

/* One queue's region (the spec's QueueRegionSplit). */
struct inflight_queue {
	uint64_t features; /* 0 */
	uint16_t version;  /* INFLIGHT_VERSION; 0: never initialised */
	uint16_t desc_num; /* entries in desc[] (the front end's queue size) */
	uint16_t last_batch_head;
	uint16_t used_idx; /* the used ring's idx after the last complete push */
	struct inflight_desc desc[];
};

_Static_assert(sizeof(struct inflight_desc) == 16, "DescStateSplit is 16 bytes");
_Static_assert(offsetof(struct inflight_desc, next) == 6, "DescStateSplit.next at 6");
_Static_assert(offsetof(struct inflight_desc, counter) == 8, "DescStateSplit.counter at 8");
_Static_assert(offsetof(struct inflight_queue, desc) == 16, "QueueRegionSplit.desc at 16");

/* Bytes one queue's region takes for queue_size descriptor heads, rounded
 * up to INFLIGHT_ALIGN: the stride between queue regions. */
static inline uint64_t inflight_queue_size(unsigned int queue_size)
{
	uint64_t raw = sizeof(struct inflight_queue) + sizeof(struct inflight_desc) * queue_size;
	return (raw + INFLIGHT_ALIGN - 1) / INFLIGHT_ALIGN * INFLIGHT_ALIGN;
}

#endif

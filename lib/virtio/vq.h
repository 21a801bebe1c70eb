/* vq.h — split virtqueues (virtio 1.2, section 2.7), device side.
 *
 * A device pops requests with vq_pop(), which walks one descriptor chain and
 * hands back the buffers as iovecs in host memory, and returns them with
 * vq_push(). It then asks vq_should_notify() whether to signal the driver.
 * The queue knows nothing of how rings were set up or how notifications
 * travel (vhost-user eventfds, a stub domain's event channel): that is the
 * transport's business, and devices never see it.
 *
 * Everything the rings hold is written by the guest and is hostile: see the
 * essay at the top of vq.c for what is checked and what a broken queue does.
 */
#ifndef AIRLOCK_VIRTIO_VQ_H
#define AIRLOCK_VIRTIO_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/log.h"
#include "virtio/inflight.h"
#include "virtio/vmem.h"

#define VQ_MAX_SIZE 32768u
/* Most buffers (iovecs) one element may carry; longer chains are refused. */
#define VQ_MAX_IOV 1024u

#define VRING_DESC_F_NEXT	   1
#define VRING_DESC_F_WRITE	   2
#define VRING_DESC_F_INDIRECT	   4
#define VRING_USED_F_NO_NOTIFY	   1
#define VRING_AVAIL_F_NO_INTERRUPT 1

#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vq {
	/* Set by vq_setup(). */
	const struct vmem *mem;
	unsigned int num;
	uint8_t *desc;	/* num * 16 bytes */
	uint8_t *avail; /* flags, idx, ring[num], used_event */
	uint8_t *used;	/* flags, idx, ring[num], avail_event */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	const char *name;

	/* Device-side state. */
	uint16_t last_avail;  /* next avail slot to pop */
	uint16_t used_idx;    /* our copy of used->idx */
	uint16_t signalled;   /* used_idx when the driver was last notified */
	bool signalled_valid; /* false until the first notification */
	bool ready;
	bool broken;
	struct log_ratelimit rl;

	/* Inflight tracking (vq_set_inflight; NULL: off). */
	struct inflight_queue *inflight;
	uint64_t inflight_counter;  /* next pop's counter */
	uint16_t *resubmit;	    /* heads to pop again, oldest first */
	unsigned int resubmit_n;    /* entries in resubmit */
	unsigned int resubmit_next; /* next one to pop */
	unsigned int avail_pops;    /* chains popped from avail (saturating) */
};

/* One popped chain: out[0..out_num) are the driver's readable buffers,
 * then in (device-writable) buffers follow at iov[out_num..out_num+in_num). */
struct vq_elem {
	uint16_t head;
	unsigned int out_num, in_num;
	uint32_t out_len, in_len; /* byte totals */
	struct iovec iov[VQ_MAX_IOV];
};

/* Byte sizes of the three rings for a queue of `num` entries (with the
 * event-index fields). */
uint64_t vq_desc_size(unsigned int num);
uint64_t vq_avail_size(unsigned int num);
uint64_t vq_used_size(unsigned int num);

/* Attaches `vq` to rings already translated to host addresses; `name` is
 * used in log lines (not copied). features are the negotiated virtio
 * feature bits. The caller guarantees that each ring's whole size (above)
 * lies in guest memory. Returns 0 or -EINVAL (num not a power of two in
 * 1..VQ_MAX_SIZE, or misaligned rings); on failure vq is not ready.
 * Indices start at last_avail = used_idx = base. */
int vq_setup(struct vq *vq, const struct vmem *mem, unsigned int num, void *desc, void *avail,
	     void *used, uint64_t features, uint16_t base, const char *name);

/* The same with guest-physical ring addresses, checked against `mem`. */
int vq_setup_gpa(struct vq *vq, const struct vmem *mem, unsigned int num, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features, uint16_t base, const char *name);

/* Turns on inflight tracking (vhost-user INFLIGHT_SHMFD) for a queue that
 * vq_setup() just set up: `region` is this queue's part of the shared
 * region, with desc_num (>= the queue size) descriptor states; the caller
 * guarantees inflight_queue_size(desc_num) bytes there, 8-byte aligned,
 * mapped until vq_reset/vq_setup. From then on every pop marks its head
 * inflight and every push follows the spec's split-ring procedure.
 *
 * A region never used (version 0) is initialised and indices stay at the
 * base. A region in use is recovered first (essay atop vq_inflight.c): an
 * interrupted push is resolved against the used ring, the used index is
 * taken from the used ring, last_avail becomes used + the number of heads
 * still inflight, and vq_pop hands those heads out again, oldest first,
 * before any new avail entry.
 *
 * Returns 0, -EINVAL (queue not ready, desc_num below the queue size, a
 * region of another version or size, or one that contradicts the used
 * ring: the queue must not be served), or -ENOMEM. On failure tracking
 * stays off and the queue is unchanged. */
int vq_set_inflight(struct vq *vq, struct inflight_queue *region, unsigned int desc_num);

/* Number of heads vq_pop will still hand out again from an inflight
 * region before it reads new avail entries. */
unsigned int vq_resubmit_pending(const struct vq *vq);

/* Detaches the rings: the queue is no longer ready, nor broken. */
void vq_reset(struct vq *vq);

/* Pops the next available chain into *elem: with inflight tracking, heads
 * to resubmit come first (last_avail does not move for them). Returns 1
 * with *elem filled, 0 if no chain is available (or the queue is not ready
 * or broken), or -EIO when the chain is malformed: the queue is then marked
 * broken (one rate-limited log line) and pops nothing more until
 * vq_reset/vq_setup. */
int vq_pop(struct vq *vq, struct vq_elem *elem);

/* Gives the last `n` popped chains back (they will be popped again, in the
 * same order). Their heads stay marked inflight: if the back end dies
 * before popping them again, recovery hands them out once. */
void vq_unpop(struct vq *vq, unsigned int n);

/* Returns chain `head` to the driver, `len` bytes written into its in
 * buffers, and publishes the used index; with inflight tracking, in the
 * spec's order (batch head, used ring, inflight flag, region used_idx) so
 * that a crash between any two steps is resolved on recovery. A no-op on
 * a queue not ready or a head out of range. */
void vq_push(struct vq *vq, uint16_t head, uint32_t len);

/* After pushes: returns true if the driver wants an interrupt now (per
 * EVENT_IDX's used_event, else the avail ring's NO_INTERRUPT flag), and
 * records that it was notified. */
bool vq_should_notify(struct vq *vq);

/* Asks the driver for kicks (enable) or not. Returns true when, after
 * enabling, chains are already available (so the caller must poll again
 * rather than wait for a kick that may never come). */
bool vq_set_kicks(struct vq *vq, bool enable);

/* Marks the queue broken with one rate-limited log line (only the first
 * time). Devices call it for requests they cannot make sense of. */
void vq_mark_broken(struct vq *vq, const char *why);

/* Predicates. */
bool vq_is_ready(const struct vq *vq);
bool vq_is_broken(const struct vq *vq);

#endif

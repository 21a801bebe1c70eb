/* blk_int.h — what the files of the virtio-blk device share (not for the
 * transport: it only sees blk.h).
 *
 *   blk.c        open/close, config space, features, the vdev_ops table
 *   blk_req.c    parsing a popped chain into a compact request record
 *   blk_io.c     one request's system calls, step by step (both paths)
 *   blk_bounce.c the bounded pool of aligned buffers for O_DIRECT
 *   blk_sync.c   the synchronous path (no loop, or no io_uring)
 *   blk_async.c  the asynchronous path: records, backpressure, completions
 *   blk_uring.c  its back end on an image file: io_uring
 *   blk_vpci.c   its back end in a stub domain: the stub's own virtio disk
 */
#ifndef AIRLOCK_DM_BLK_INT_H
#define AIRLOCK_DM_BLK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/log.h"
#include "dm/blk.h"
#include "virtio/iov.h"
#include "virtio/vdev.h"

#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WZ_UNMAP 1u /* the one flag a discard/write-zeroes segment may carry */

#define BLK_SECTOR	512u
#define BLK_ID_BYTES	20
#define BLK_SEG_MAX	254u /* data segments a driver may use (config seg_max) */
#define BLK_CONFIG_SIZE 256u

/* Data buffers one request record holds: seg_max plus slack for segments
 * that straddle two adjacent memory regions. More: VIRTIO_BLK_S_IOERR. */
#define BLK_REQ_IOV 256u
/* Requests in flight per queue (the records each queue owns). */
#define BLK_DEPTH 128u
/* Discard / write-zeroes: segments per request and sectors per segment. */
#define BLK_MAX_DZ_SEG	   16u
#define BLK_MAX_DZ_SECTORS 0x400000u /* 2 GiB */
#define BLK_DISCARD_ALIGN  8u	     /* sectors: 4 KiB, the usual fs block */

/* The bounce pool: BLK_BOUNCE_BUFS buffers of BLK_BOUNCE_SIZE bytes, each
 * allocated on first use (2 MiB at most per device). */
#define BLK_BOUNCE_BUFS 32u
#define BLK_BOUNCE_SIZE (64u * 1024u)

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DISCARD, BLK_OP_WZ };

struct blk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk_queue;

/* One request between pop and push: what it asks, where its answer goes,
 * how far it got. About 4 KiB (the iovec array), not a vq_elem's 16. */
struct blk_req {
	struct blk_queue *q;  /* owner; NULL on the synchronous path */
	struct blk_req *next; /* free list or bounce wait list */
	uint16_t head;
	uint8_t status;
	enum blk_op op;
	uint8_t *status_byte; /* host address of the chain's last writable byte */
	uint32_t written;     /* data bytes written into the driver's buffers */
	uint64_t off;	      /* image byte offset of the data */
	uint32_t len;	      /* data bytes */
	uint32_t done;	      /* data bytes transferred so far */
	bool bounce_needed;
	int bounce;		   /* bounce buffer index, -1 when none */
	unsigned int niov, iov_at; /* iov[iov_at..niov) still to transfer */
	unsigned int nseg, seg_at; /* discard / write-zeroes progress */
	struct iovec sub;	   /* the bounce window being transferred */
	union {
		struct iovec iov[BLK_REQ_IOV];
		struct blk_seg seg[BLK_MAX_DZ_SEG];
	};
};

struct blk_bounce {
	void *buf[BLK_BOUNCE_BUFS];
	uint32_t busy; /* bit i: buf[i] lent out */
};

struct blk_queue {
	struct blk_dev *d;
	unsigned int idx;
	struct vq *vq; /* NULL while stopped */
	struct vdev_notifier n;
	bool has_notifier;
	struct blk_req *recs; /* BLK_DEPTH records (asynchronous path) */
	struct blk_req *free;
	unsigned int inflight;
	bool starved;  /* stopped popping for want of a record */
	bool stopping; /* queue_stop is draining: pop nothing */
	bool pushed;   /* pushed since the driver was last notified */
};

struct blk_async;
struct blk_backend;
struct vpci;

struct blk_dev {
	int fd;
	bool ro;
	bool direct;	 /* opened with O_DIRECT */
	bool bounce_all; /* every READ/WRITE bounced (blk_set_bounce_all) */
	bool can_punch;	 /* fallocate PUNCH_HOLE works on the image */
	bool can_zero;	 /* fallocate ZERO_RANGE works on the image */
	uint32_t align;	 /* O_DIRECT alignment of buffers (logical block size) */
	uint64_t sectors;
	char id[BLK_ID_BYTES];
	uint8_t config[BLK_CONFIG_SIZE];
	struct vq_elem elem; /* scratch for vq_pop; records keep what they need */
	struct blk_req sync_req;
	struct blk_bounce bounce;
	struct blk_queue q[BLK_NUM_QUEUES];
	struct vpci *vpci;	      /* the stub's disk (blk_vpci.c), or NULL */
	const struct blk_backend *be; /* the asynchronous path's back end */
	void *be_priv;
	struct blk_async *as; /* NULL: the synchronous path */
	struct log_ratelimit rl;
};

/* ---- blk_req.c ---- */

enum blk_parse {
	BLK_PARSE_DONE,	  /* answered already: r->status and r->written are final */
	BLK_PARSE_IO,	  /* r describes I/O to do (blk_io.c) */
	BLK_PARSE_BROKEN, /* no status byte: the chain cannot be answered */
};

/* Turns popped chain e into record r (head, status byte, data iovecs or
 * segments, all bounds checked against d). Every rule about what a request
 * may ask is here, shared by both paths. */
enum blk_parse blk_req_parse(struct blk_dev *d, const struct vq_elem *e, struct blk_req *r);

/* Writes r's status byte and pushes r's head with its used length (a
 * rate-limited debug line for a failed request). */
void blk_req_push(struct blk_dev *d, struct blk_req *r, struct vq *vq);

/* ---- blk_io.c ---- */

enum blk_step_kind { BLK_STEP_READ, BLK_STEP_WRITE, BLK_STEP_FSYNC, BLK_STEP_FALLOC };

/* One system call of a request: preadv/pwritev (iov, iovcnt, off),
 * fdatasync, or fallocate (mode, off, len). */
struct blk_step {
	enum blk_step_kind kind;
	const struct iovec *iov;
	unsigned int iovcnt;
	uint64_t off, len;
	int mode;
};

/* Takes a bounce buffer for r if it needs one. Returns false when the pool
 * is exhausted (r must wait); true when r may start. */
bool blk_io_begin(struct blk_dev *d, struct blk_req *r);

/* Gives r's bounce buffer back (if any). */
void blk_io_end(struct blk_dev *d, struct blk_req *r);

/* Describes r's next system call in *s (for a bounced write, copies the
 * window's data into the bounce buffer first). */
void blk_io_step(struct blk_dev *d, struct blk_req *r, struct blk_step *s);

/* Accounts the result of the step (bytes or -errno). Returns true when r is
 * finished (r->status, r->written final), false when another step follows
 * (short transfer, next window, next segment). */
bool blk_io_advance(struct blk_dev *d, struct blk_req *r, int64_t res);

/* ---- blk_bounce.c ---- */

/* Lends a buffer of BLK_BOUNCE_SIZE bytes aligned to 4 KiB. Returns its
 * index, or -1 when all are lent (or the first allocation failed). */
int blk_bounce_get(struct blk_bounce *b);

/* The buffer at index i (lent). */
void *blk_bounce_buf(struct blk_bounce *b, int i);

/* Returns buffer i to the pool. */
void blk_bounce_put(struct blk_bounce *b, int i);

/* Frees every buffer (none may be lent). */
void blk_bounce_free(struct blk_bounce *b);

/* ---- blk_sync.c ---- */

/* Serves queue vq to completion: pop, parse, system calls, push. */
void blk_sync_kick(struct blk_dev *d, struct vq *vq);

/* ---- blk_async.c and its back ends ---- */

/* What the asynchronous path needs of a back end. */
struct blk_backend {
	const char *name;
	/* The fd the loop watches: readable when completions are waiting. */
	int (*completion_fd)(struct blk_dev *d);
	/* Starts r's next step (blk_io_step); its result comes back through
	 * blk_async_done from reap. May queue until flush. */
	void (*submit)(struct blk_dev *d, struct blk_req *r);
	/* Sends what submit queued. */
	void (*flush)(struct blk_dev *d);
	/* Hands every completion waiting to blk_async_done. */
	void (*reap)(struct blk_dev *d);
	/* Sends what is queued and blocks until a completion may be waiting.
	 * Returns 0, or -errno when it cannot wait at all. */
	int (*wait)(struct blk_dev *d);
	/* Frees the back end (nothing is in flight). */
	void (*fini)(struct blk_dev *d);
};

/* Sets up the engine on the back end in d->be (its completion fd watched
 * in loop) and the queues' records. Returns 0 or -errno (nothing left
 * allocated of the engine; the back end stays the caller's). */
int blk_async_init(struct blk_dev *d, struct loop *loop);

/* Drains every queue and tears the engine down (not the back end). */
void blk_async_fini(struct blk_dev *d);

/* Pops and submits what q's ring offers, up to the free records. */
void blk_async_kick(struct blk_dev *d, struct blk_queue *q);

/* Waits until q has nothing in flight (all pushed and notified). */
void blk_async_drain(struct blk_dev *d, struct blk_queue *q);

/* A back end's completion of r's current step: res is bytes transferred
 * or -errno. */
void blk_async_done(struct blk_dev *d, struct blk_req *r, int64_t res);

/* Makes io_uring on d->fd the back end (d->be). Returns 0 or -errno. */
int blk_uring_init(struct blk_dev *d);

/* Makes the stub's virtio disk d->vpci the back end (d->be). Returns 0 or
 * -errno. */
int blk_vpci_init(struct blk_dev *d);

#endif

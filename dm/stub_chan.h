/* stub_chan.h — one device channel of the stub transport: the device state
 * the relay's requests build (features, memory table, inflight area, rings)
 * and the requests that build it. The transport (stub_transport.c) owns the
 * session and the byte stream; a channel never sees either: it turns one
 * request into one reply and reports breaks through its environment.
 * The design is atop stub_chan.c.
 */
#ifndef AIRLOCK_DM_STUB_CHAN_H
#define AIRLOCK_DM_STUB_CHAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/loop.h"
#include "dm/stub_bus.h"
#include "stubproto/sp_wire.h"
#include "virtio/vdev.h"
#include "virtio/vmem.h"
#include "virtio/vq.h"

/* What a channel needs from its transport (shared by all channels). */
struct stub_env {
	struct loop *loop;
	const struct stub_bus_ops *bus;
	void *bus_ctx;
	struct stub_bar bar;
	/* Sends DEVICE_BROKEN{queue, reason} on channel ch (dropped when no
	 * session is up: a new session resets the device anyway). */
	void (*broken)(void *ctx, unsigned int ch, uint16_t queue, uint32_t reason);
	/* Sends a LOG line (level 0 err .. 3 debug) on channel ch. */
	void (*log)(void *ctx, unsigned int ch, uint16_t level, const char *text);
	void *ctx;
};

struct stub_chan;

struct stub_ring {
	struct stub_chan *chan;
	unsigned int idx;
	struct vq vq;
	struct sp_vring_start cfg; /* the VRING_START it runs (or ran) with */
	uint16_t base;		   /* where it resumes: last_avail when stopped */
	bool started;
	bool broken_reported; /* DEVICE_BROKEN sent for this start */
	struct loop_fd *kick_h;
	int kick_fd;
	char name[24];
};

struct stub_chan {
	const struct stub_env *env;
	unsigned int ch; /* 1-based channel number */
	const struct vdev_ops *ops;
	void *dev;
	uint64_t features;
	bool have_mt;
	struct sp_mem_table mt;
	struct vmem mem; /* mt's regions at BAR + offset */
	bool have_inflight;
	struct sp_set_inflight inflight;
	struct stub_ring rings[VDEV_MAX_QUEUES];
	struct vdev_notifier notifier;
	char name[16];
};

/* Initialises channel `ch` (1..SP_MAX_CHANNELS-1) serving device (ops,
 * dev) in env (kept, not copied: it must outlive the channel). Nothing is
 * started. */
void stub_chan_init(struct stub_chan *c, const struct stub_env *env, unsigned int ch,
		    const struct vdev_ops *ops, void *dev);

/* Serves request `type` (a relay → stub request, already checked by the
 * codec) with message m and fills *r's status (0 or a positive errno),
 * len and result; r->req_seq and r->req_type are the caller's. Every
 * address the request names is checked against the BAR and the memory
 * table: a refused request changes nothing and the channel keeps working. */
void stub_chan_request(struct stub_chan *c, uint16_t type, const union sp_msg *m,
		       struct sp_reply *r);

/* The session was lost: stops every ring (the device finishes what it
 * popped), forgets the memory table, the inflight area and the features,
 * and resets the device. */
void stub_chan_forget(struct stub_chan *c);

/* Stops every ring (the device finishes what it popped) and unwatches
 * their kick fds; the device is not reset. For teardown. */
void stub_chan_stop_all(struct stub_chan *c);

/* True if queue idx is started. */
bool stub_chan_queue_started(const struct stub_chan *c, unsigned int idx);

#endif

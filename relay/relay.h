/* relay.h — airlock-relay's core: one relay per stub domain, between the
 * engine QEMU (vhost-user front ends, one per device) in dom0 and
 * airlock-dm inside the stub domain (the stub protocol over a
 * virtio-serial port, plus ivshmem doorbells and the guest-RAM memfd as
 * the stub's BAR2). docs/relay.md describes it; docs/stubdom-design.md is
 * the contract it implements; the design essay is atop relay.c.
 *
 * The core owns no loop: the program (relay/main.c) or a test creates one
 * and hands it over; every fd the core watches is registered there.
 */
#ifndef AIRLOCK_RELAY_H
#define AIRLOCK_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"

#define RELAY_MAX_DEVICES 7u /* 1 + 8 × 7 = 57 vectors, below ivshmem's 64 */
#define RELAY_MAX_QUEUES  8u /* per device: the stub protocol's limit */
#define RELAY_CONFIG_MAX  256u

enum relay_kind {
	RELAY_BLK,
	RELAY_NET,
};

/* One device as dom0 describes it (the supervisor computes features and
 * config with the code airlock-dm uses). */
struct relay_dev_desc {
	enum relay_kind kind;
	int listen_fd;	     /* listening UNIX socket for the engine (taken over) */
	uint64_t features;   /* virtio feature bits offered to the engine */
	unsigned int queues; /* 1..RELAY_MAX_QUEUES */
	unsigned int config_len;
	uint8_t config[RELAY_CONFIG_MAX];
};

struct relay_config {
	const char *name;  /* the stub's name, for log prefixes (not copied) */
	int ram_fd;	   /* the guest-RAM memfd (taken over) */
	uint64_t ram_size; /* guest RAM at the memfd's start */
	int ivshmem_fd;	   /* listening socket for the stub QEMU's ivshmem chardev,
			    * or -1 (taken over) */
	int port_fd;	   /* listening socket for the stub QEMU's port chardev,
			    * or -1 (taken over) */
	unsigned int ndevs;
	struct relay_dev_desc devs[RELAY_MAX_DEVICES];
};

struct relay_stats {
	uint64_t kicks;		 /* engine kicks forwarded to the stub */
	uint64_t calls;		 /* stub doorbells forwarded to the engine */
	uint64_t engine_refused; /* engine messages refused */
	uint64_t engine_drops;	 /* engine connections dropped */
	uint64_t stub_sessions;	 /* HELLOs that started a session */
	uint64_t stub_restarts;	 /* sessions that replaced an earlier one */
	uint64_t stub_requests;	 /* requests sent to the stub */
	uint64_t stub_failed;	 /* stub replies with a non-zero status */
	uint64_t broken;	 /* DEVICE_BROKEN notices */
	uint64_t armed;		 /* vector-0 doorbells ("interrupts armed") */
	uint64_t ivshmem_clients;
};

struct relay;

/* Creates the relay on `loop`: checks the configuration (1..7 devices,
 * 1..8 queues each, ram_size > 0 and 4 KiB aligned, the memfd large enough
 * for guest RAM and every device's inflight area), creates 2 × (1 + 8 ×
 * ndevs) eventfds and watches the listening sockets. Every fd in cfg is
 * taken over, also on failure. Returns 0, -EINVAL (with a log line) or
 * -errno. */
int relay_new(const struct relay_config *cfg, struct loop *loop, struct relay **out);

/* Closes every connection, fd and eventfd and frees r. NULL is ignored. */
void relay_free(struct relay *r);

/* Counters, for tests and log lines. */
const struct relay_stats *relay_stats(const struct relay *r);

/* Whether the stub protocol session is up (a HELLO was acknowledged). */
bool relay_stub_up(const struct relay *r);

/* The bytes of the memfd where device `dev`'s inflight area starts and how
 * many it may take (see relay_inflight_layout). -EINVAL for no such device. */
int relay_inflight_area(const struct relay *r, unsigned int dev, uint64_t *offset, uint64_t *size);

/* The inflight layout, for whoever sizes the memfd (the supervisor): device
 * i's area starts at offsets[i] (4 KiB aligned, past guest RAM) and takes
 * room for queues[i] queues of up to RELAY_INFLIGHT_QSIZE_MAX heads. Returns
 * the memfd size needed (guest RAM plus every area), or 0 on overflow. */
#define RELAY_INFLIGHT_QSIZE_MAX 1024u /* QEMU's VIRTQUEUE_MAX_SIZE */
uint64_t relay_inflight_layout(uint64_t ram_size, const unsigned int *queues, unsigned int n,
			       uint64_t *offsets, uint64_t *sizes);

/* The ivshmem vector of device `dev` (0-based), queue q: 1 + 8 dev + q. */
static inline unsigned int relay_vector(unsigned int dev, unsigned int q)
{
	return 1 + 8 * dev + q;
}

#endif

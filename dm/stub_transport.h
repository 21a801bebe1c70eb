/* stub_transport.h — airlock-dm's transport inside a stub domain: the same
 * devices (struct vdev_ops + opaque pointer) that lib/vhost serves over
 * vhost-user, served to the relay in dom0 over the stub protocol
 * (docs/stubproto.md, lib/stubproto) on one byte stream, with guest RAM in
 * a BAR and notifications on numbered vectors (dm/stub_bus.h).
 *
 * Its inputs are abstract so a host test can supply them: the stream is an
 * fd (the stub's /dev/vportNpM, or a socketpair), the BAR a pointer and a
 * size (VFIO's BAR2 mapping, or an mmap'ed memfd), the vectors a struct
 * stub_bus_ops (VFIO MSI-X eventfds and the doorbell, or eventfds). The
 * session and the requests are described atop stub_transport.c; per-device
 * state atop stub_chan.c.
 */
#ifndef AIRLOCK_DM_STUB_TRANSPORT_H
#define AIRLOCK_DM_STUB_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"
#include "dm/stub_bus.h"
#include "virtio/vdev.h"

/* Device k of the stub's airlock-dm is channel k + 1. */
struct stub_device {
	const struct vdev_ops *ops;
	void *dev;
};

struct stub_params {
	int port_fd; /* the stream to the relay (not taken over) */
	struct stub_bar bar;
	const struct stub_bus_ops *bus;
	void *bus_ctx;
	const struct stub_device *devs; /* copied */
	unsigned int ndevs;		/* 1..SP_MAX_CHANNELS-1 */
	unsigned int hello_ms;		/* HELLO repeat interval; 0: 1000 ms */
};

struct stub_transport_stats {
	uint64_t sessions; /* sessions that came up */
	uint64_t breaks;   /* sessions lost (REHELLO, sequence gaps) */
	uint64_t requests; /* requests answered */
	uint64_t refused;  /* of those, answered with a non-zero status */
	uint64_t broken;   /* DEVICE_BROKEN frames sent */
	uint64_t tx_lost;  /* frames that could not be written whole */
};

struct stub_transport;

/* Creates the transport on `loop`: watches p->port_fd, rings vector 0 once
 * (interrupts can be delivered), sends the preamble and HELLO and repeats
 * the HELLO every hello_ms until acknowledged. Returns 0 or -errno
 * (-EINVAL for a bad ndevs or a missing bus/BAR; nothing left then). */
int stub_transport_new(struct loop *loop, const struct stub_params *p, struct stub_transport **out);

/* Stops every ring (devices finish what they popped), unwatches the port
 * and the kick fds, cancels the timer and frees t. The port fd and the
 * devices stay the caller's. NULL is ignored. */
void stub_transport_free(struct stub_transport *t);

/* Handles bytes received from the relay (what the port watch does with
 * what it reads; exposed for fuzzers that have no stream). Every complete
 * frame is acted on before it returns. */
void stub_transport_feed(struct stub_transport *t, const uint8_t *data, size_t len);

/* True while a session is up. */
bool stub_transport_up(const struct stub_transport *t);

/* True once the port reported end of file or an error: the transport has
 * stopped every ring and no longer reads; the program should exit (the
 * stub's init restarts it). */
bool stub_transport_closed(const struct stub_transport *t);

/* True if channel ch's queue idx is started. */
bool stub_transport_queue_started(const struct stub_transport *t, unsigned int ch,
				  unsigned int idx);

/* Counters, for tests and log lines. */
const struct stub_transport_stats *stub_transport_stats(const struct stub_transport *t);

#endif

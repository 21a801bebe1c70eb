/* stub_bus.h — how the stub transport reaches the ivshmem device's
 * notifications: one "kick" fd to watch per incoming vector and one "call"
 * per outgoing vector (docs/stubdom-design.md, "Vectors").
 *
 * In the stub domain the bus is VFIO (dm/stub_vfio.c): kick fds are the
 * MSI-X eventfds armed through VFIO, a call writes (relay_peer << 16) |
 * vector to BAR0+12. In host tests it is a table of eventfds. The transport
 * never knows which.
 */
#ifndef AIRLOCK_DM_STUB_BUS_H
#define AIRLOCK_DM_STUB_BUS_H

#include <stdint.h>

struct stub_bus_ops {
	/* The fd that becomes readable (EPOLLIN) when the relay signals
	 * `vector`; reading 8 bytes from it clears it (eventfd semantics).
	 * Returns the fd (owned by the bus, valid until the bus goes away) or
	 * -errno (-EINVAL: no such vector on this bus). */
	int (*kick_fd)(void *ctx, unsigned int vector);
	/* Rings `vector` towards the relay. Must not block or fail loudly: a
	 * lost call is a lost interrupt, which the driver survives. */
	void (*call)(void *ctx, unsigned int vector);
};

/* The guest-RAM BAR as mapped here: [base, base + size). */
struct stub_bar {
	uint8_t *base;
	uint64_t size;
};

#endif

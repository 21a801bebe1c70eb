/* relay_notify.c — the relay's eventfds, two per ivshmem vector, created
 * once and kept for the relay's life (the stub QEMU got them through the
 * ivshmem server and cannot be given new ones):
 *   stub_ev[v]  the relay writes it: QEMU raises MSI-X vector v in the stub
 *               (a kick of the queue that vector v serves);
 *   own_ev[v]   the stub's doorbell write (peer 0, vector v) lands here: the
 *               relay reads it and writes the engine's current call eventfd
 *               of that queue. Vector 0 is the stub's "interrupts armed".
 * The engine's kick eventfds change with every SET_VRING_KICK and
 * reconnect; each is watched while set and forwarded to its vector.
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "relay/relay_int.h"

void relay_notify_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* A counter at its maximum: the other end is signalled already. */
	}
}

static void on_doorbell(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay *r = data;
	uint64_t v;
	unsigned int vec = 0;

	while (vec < r->nvec && r->own_ev[vec] != fd)
		vec++;
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v) || vec >= r->nvec)
		return;
	if (vec == 0) {
		r->st.armed++;
		log_info("%s: stub interrupts armed", r->name);
		return;
	}
	unsigned int dev = (vec - 1) / 8, q = (vec - 1) % 8;
	if (dev >= r->ndevs || q >= r->dev[dev].desc.queues) {
		log_rl(&r->rl_vec, LOG_LVL_WARN, "%s: doorbell on unused vector %u", r->name, vec);
		return;
	}
	r->st.calls++;
	relay_notify_signal(r->dev[dev].rings[q].call_fd);
}

static void on_kick(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay_ring *g = data;
	struct relay_dev *d = g->d;
	uint64_t v;

	ssize_t n = read(fd, &v, sizeof(v));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(v)) {
		/* Not an eventfd (a pipe at its end, a socket): unusable. */
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: queue %u: kick fd unreadable, ignored",
		       d->r->name, d->idx, g->q);
		relay_notify_unwatch_kick(d, g->q);
		return;
	}
	d->r->st.kicks++;
	relay_notify_signal(d->r->stub_ev[relay_vector(d->idx, g->q)]);
}

int relay_notify_watch_kick(struct relay_dev *d, unsigned int q)
{
	struct relay_ring *g = &d->rings[q];

	relay_notify_unwatch_kick(d, q);
	if (g->kick_fd < 0)
		return 0;
	return loop_add_fd(d->r->loop, g->kick_fd, EPOLLIN, on_kick, g, &g->kick_h);
}

void relay_notify_unwatch_kick(struct relay_dev *d, unsigned int q)
{
	struct relay_ring *g = &d->rings[q];

	if (g->kick_h)
		loop_del_fd(g->kick_h);
	g->kick_h = NULL;
}

int relay_notify_init(struct relay *r)
{
	r->nvec = 1 + 8 * r->ndevs;
	for (unsigned int v = 0; v < RELAY_MAX_VECTORS; v++)
		r->stub_ev[v] = r->own_ev[v] = -1;
	for (unsigned int v = 0; v < r->nvec; v++) {
		r->stub_ev[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r->own_ev[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (r->stub_ev[v] < 0 || r->own_ev[v] < 0)
			return -errno;
		int rc = loop_add_fd(r->loop, r->own_ev[v], EPOLLIN, on_doorbell, r, &r->own_h[v]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void relay_notify_fini(struct relay *r)
{
	for (unsigned int v = 0; v < RELAY_MAX_VECTORS; v++) {
		if (r->own_h[v])
			loop_del_fd(r->own_h[v]);
		r->own_h[v] = NULL;
		if (r->stub_ev[v] >= 0)
			close(r->stub_ev[v]);
		if (r->own_ev[v] >= 0)
			close(r->own_ev[v]);
		r->stub_ev[v] = r->own_ev[v] = -1;
	}
}

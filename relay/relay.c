/* relay.c — creating and tearing down the relay core.
 *
 * Design
 * ------
 * airlock-relay stands between two parties that must not meet: the engine
 * QEMU in dom0, which speaks vhost-user (and hands over fds: guest RAM,
 * eventfds), and airlock-dm inside the stub domain, which can only be told
 * numbers over a byte stream (the stub protocol) and rung through ivshmem
 * doorbells. The relay therefore terminates vhost-user (relay_engine.c),
 * keeps every fd, and tells the stub what it can act on: offsets into the
 * guest-RAM BAR, guest-physical ring addresses, vector numbers
 * (relay_sync.c over relay_stub.c). Interrupts never pass through the
 * protocol: each queue has one ivshmem vector, and relay_notify.c copies
 * engine kicks to the stub's vector eventfd and stub doorbells to the
 * engine's call eventfd. The stub QEMU gets the memfd and the vector
 * eventfds from the relay's ivshmem server (relay_ivshmem.c), once; they
 * never change, so a restarted airlock-dm inside the stub finds them as
 * they were.
 *
 * State lives in three places, each with one writer: the engine's records
 * per device (relay_engine.c), what the stub was told in the current
 * session (relay_sync.c), and the session itself (lib/stubproto). The
 * records are the truth; the stub is brought in line with them one request
 * at a time (the essay atop relay_sync.c). Two events throw state away:
 * the engine hanging up (its records go, the stub is told DEVICE_RESET),
 * and a new stub session after an earlier one (the stub's airlock-dm
 * restarted: the engine's connections are dropped so that QEMU reconnects
 * and sets everything up again, with the inflight areas carrying the
 * requests in flight).
 *
 * Both peers are untrusted: the stub domain runs the device model that
 * parses the guest's rings, and the engine runs the guest. Every message
 * from either is checked before it changes anything; a refusal costs the
 * offender its connection (engine) or its session (stub), never the relay.
 *
 * Confinement: the supervisor starts the relay as its own uid (AIRLOCK_UID
 * base + 0x8000 + the guest's domid) with no groups, no capabilities and
 * NoNewPrivs; main() refuses root and, after relay_new() and before
 * loop_run(), installs the seccomp allowlist of relay_sandbox.c. Nothing
 * here opens a path or creates an fd after relay_new() but accept4 and
 * what recvmsg brings (docs/relay.md, "Confinement").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay/relay_int.h"

static void close_cfg_fds(const struct relay_config *cfg)
{
	if (cfg->ram_fd >= 0)
		close(cfg->ram_fd);
	if (cfg->ivshmem_fd >= 0)
		close(cfg->ivshmem_fd);
	if (cfg->port_fd >= 0)
		close(cfg->port_fd);
	for (unsigned int i = 0; i < cfg->ndevs && i < RELAY_MAX_DEVICES; i++)
		if (cfg->devs[i].listen_fd >= 0)
			close(cfg->devs[i].listen_fd);
}

static int check_cfg(const struct relay_config *cfg)
{
	if (cfg->ndevs == 0 || cfg->ndevs > RELAY_MAX_DEVICES) {
		log_err("relay: 1..%u devices, not %u", RELAY_MAX_DEVICES, cfg->ndevs);
		return -EINVAL;
	}
	if (cfg->ram_fd < 0 || cfg->ram_size == 0 || cfg->ram_size % 4096) {
		log_err("relay: guest RAM needs a memfd and a size that is a multiple of 4096");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->ndevs; i++) {
		const struct relay_dev_desc *d = &cfg->devs[i];
		if (d->listen_fd < 0 || d->queues == 0 || d->queues > RELAY_MAX_QUEUES ||
		    d->config_len > RELAY_CONFIG_MAX) {
			log_err("relay: device %u: bad description", i);
			return -EINVAL;
		}
	}
	return 0;
}

int relay_new(const struct relay_config *cfg, struct loop *loop, struct relay **out)
{
	int rc = check_cfg(cfg);
	if (rc < 0) {
		close_cfg_fds(cfg);
		return rc;
	}
	struct relay *r = calloc(1, sizeof(*r));
	if (!r) {
		close_cfg_fds(cfg);
		return -ENOMEM;
	}
	r->loop = loop;
	r->name = cfg->name ? cfg->name : "relay";
	r->ram_fd = cfg->ram_fd;
	r->ram_size = cfg->ram_size;
	r->ivs_listen = cfg->ivshmem_fd;
	r->ivs_conn = -1;
	r->port_listen = cfg->port_fd;
	r->port = -1;
	r->ndevs = cfg->ndevs;
	for (unsigned int i = 0; i < RELAY_MAX_VECTORS; i++)
		r->stub_ev[i] = r->own_ev[i] = -1;
	for (unsigned int i = 0; i < r->ndevs; i++) {
		struct relay_dev *d = &r->dev[i];
		d->r = r;
		d->idx = i;
		d->desc = cfg->devs[i];
		d->conn = -1;
		for (unsigned int q = 0; q < RELAY_MAX_QUEUES; q++) {
			struct relay_ring *g = &d->rings[q];
			g->kick_fd = g->call_fd = g->err_fd = -1;
			g->d = d;
			g->q = q;
		}
	}
	rc = relay_mem_init(r);
	if (rc == 0)
		rc = relay_notify_init(r);
	if (rc == 0)
		rc = relay_stub_listen(r);
	if (rc == 0)
		rc = relay_ivshmem_listen(r);
	for (unsigned int i = 0; rc == 0 && i < r->ndevs; i++)
		rc = relay_engine_listen(&r->dev[i]);
	if (rc < 0) {
		relay_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	relay_stub_close(r);
	for (unsigned int i = 0; i < r->ndevs; i++) {
		struct relay_dev *d = &r->dev[i];
		relay_engine_drop(d, "relay exiting");
		if (d->listen_h)
			loop_del_fd(d->listen_h);
		if (d->desc.listen_fd >= 0)
			close(d->desc.listen_fd);
	}
	relay_ivshmem_close(r);
	relay_notify_fini(r);
	if (r->ram_fd >= 0)
		close(r->ram_fd);
	free(r);
}

const struct relay_stats *relay_stats(const struct relay *r)
{
	return &r->st;
}

bool relay_stub_up(const struct relay *r)
{
	return r->ses.state == SP_ST_UP;
}

int relay_inflight_area(const struct relay *r, unsigned int dev, uint64_t *offset, uint64_t *size)
{
	if (dev >= r->ndevs)
		return -EINVAL;
	*offset = r->dev[dev].area_offset;
	*size = r->dev[dev].area_size;
	return 0;
}

/* relay_engine.c — the relay's vhost-user back end towards the engine QEMU,
 * one connection per device at a time.
 *
 * Design
 * ------
 * The relay terminates vhost-user: it serves nothing itself, it records.
 * The early questions (GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM,
 * GET_CONFIG) are answered from the device description dom0 computed, so
 * the engine can start before the stub is up. Everything the engine sets
 * (features, memory table, rings, kick/call/err fds, the inflight area) is
 * checked and kept as records in struct relay_dev; relay_sync.c turns the
 * records into stub requests when, and as soon as, the stub can take them.
 * Nothing is answered on the stub's behalf except GET_VRING_BASE: when the
 * ring runs in the stub the answer waits for the stub's VRING_STOP reply
 * (the engine's socket is not read meanwhile: a front end sends nothing
 * before that answer anyway), otherwise it is the recorded base.
 *
 * A ring is wanted in the stub when the engine gave it a size, addresses, a
 * kick fd, a memory table and (PROTOCOL_FEATURES negotiated) enabled it;
 * the ring addresses are then translated to guest-physical ones and must
 * lie in the table, aligned. Messages that change a wanted ring's layout
 * are refused, as lib/vhost does.
 *
 * Protocol features offered, and why only these:
 *   MQ              GET_QUEUE_NUM: the queue count is the description's;
 *   REPLY_ACK       errors reach the front end without dropping it;
 *   CONFIG          GET_CONFIG from the description's bytes (only when it
 *                   has some; SET_CONFIG is refused: the stub has no way to
 *                   take config writes);
 *   INFLIGHT_SHMFD  the areas live in the guest-RAM memfd past guest RAM,
 *                   so a restarted airlock-dm finds them (the design);
 *   RESET_DEVICE    forwarded as DEVICE_RESET.
 * Not offered: LOG_SHMFD (no dirty logging, no migration), SLAVE_REQ /
 * BACKEND_REQ (no channel from the stub to the engine), CONFIGURE_MEM_SLOTS
 * (the stub takes whole tables), HOST_NOTIFIER, PAGEFAULT, STATUS and the
 * rest: nothing in the stub could honour them.
 *
 * Every message takes lib/vhost's path (vhost_serve_one, the one
 * airlock-dm's back end takes): every refusal is logged (rate-limited) and
 * answered with an error ack if the front end asked for one, else the
 * connection is dropped; the engine reconnects. Nothing the engine sends
 * can stop the relay.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/util.h"
#include "relay/relay_int.h"
#include "stubproto/sp_codec.h"
#include "vhost/vhost_serve.h"
#include "virtio/vq.h"

static uint64_t offered_features(const struct relay_dev *d)
{
	return d->desc.features | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

static uint64_t offered_protocol(const struct relay_dev *d)
{
	uint64_t p = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
		     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		     (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
		     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE);
	if (d->desc.config_len > 0)
		p |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	return p;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void ring_clear(struct relay_dev *d, unsigned int q)
{
	struct relay_ring *g = &d->rings[q];

	relay_notify_unwatch_kick(d, q);
	close_fd(&g->kick_fd);
	close_fd(&g->call_fd);
	close_fd(&g->err_fd);
	g->num = 0;
	g->addr_set = false;
	g->base = 0;
	g->enabled = false;
	g->want = false;
	g->failed = false;
	g->err_signalled = false;
	g->base_fresh = false;
}

static bool any_wanted(const struct relay_dev *d)
{
	for (unsigned int q = 0; q < d->desc.queues; q++)
		if (d->rings[q].want || d->rings[q].in_stub)
			return true;
	return false;
}

/* The stub had something of this device: it must be reset before it is
 * told the next engine's set-up. */
static void stub_forget(struct relay_dev *d)
{
	bool had = d->view.features_sent || d->view.mem_gen || d->view.inflight_gen;
	for (unsigned int q = 0; q < d->desc.queues; q++)
		had |= d->rings[q].in_stub;
	if (had && d->r->ses.state == SP_ST_UP)
		d->view.reset_due = true;
}

static void records_clear(struct relay_dev *d)
{
	for (unsigned int q = 0; q < RELAY_MAX_QUEUES; q++)
		ring_clear(d, q);
	d->features = 0;
	d->features_set = false;
	d->inflight_gen = 0;
	memset(&d->inflight, 0, sizeof(d->inflight));
	stub_forget(d);
}

bool relay_engine_ring_update(struct relay_dev *d, unsigned int q)
{
	struct relay_ring *g = &d->rings[q];
	bool proto = d->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);

	g->want = false;
	if (g->kick_fd < 0 || !g->addr_set || g->num == 0 || d->nregions == 0 ||
	    (proto && !g->enabled))
		return true;
	uint64_t n = g->num;
	if (relay_mem_uva_to_gpa(d, g->desc_uva, 16 * n, &g->gpa_desc) < 0 ||
	    relay_mem_uva_to_gpa(d, g->avail_uva, 6 + 2 * n, &g->gpa_avail) < 0 ||
	    relay_mem_uva_to_gpa(d, g->used_uva, 6 + 8 * n, &g->gpa_used) < 0 || g->gpa_desc % 16 ||
	    g->gpa_avail % 2 || g->gpa_used % 4) {
		log_rl(&d->rl, LOG_LVL_WARN,
		       "%s dev%u: queue %u: rings outside the memory table "
		       "or misaligned",
		       d->r->name, d->idx, q);
		return false;
	}
	g->want = true;
	return true;
}

/* The ring a vring message names (index < the device's queues), or NULL. */
static struct relay_ring *ring_of(struct relay_dev *d, uint32_t index)
{
	return index < d->desc.queues ? &d->rings[index] : NULL;
}

static int h_get_features(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	return vhost_answer_u64(m, x, offered_features(d));
}

static int h_set_features(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	if (m->p.u64 & ~offered_features(d))
		return -EINVAL;
	if (any_wanted(d))
		return -EBUSY;
	d->features = m->p.u64;
	d->features_set = true;
	return 0;
}

static int h_get_protocol(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	return vhost_answer_u64(m, x, offered_protocol(d));
}

static int h_set_protocol(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	if (m->p.u64 & ~offered_protocol(d))
		return -EINVAL;
	d->protocol = m->p.u64;
	return 0;
}

static int h_set_owner(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	d->owner = true;
	return 0;
}

static int h_reset(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	records_clear(d);
	return 0;
}

static int h_set_mem_table(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	const char *why = "";
	int rc = relay_mem_check_table(d->r, m, &why);

	if (rc < 0) {
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: SET_MEM_TABLE refused: %s", d->r->name,
		       d->idx, why);
		return rc;
	}
	d->nregions = m->p.mem.nregions;
	memcpy(d->regions, m->p.mem.regions, sizeof(d->regions[0]) * d->nregions);
	if (++d->mem_gen == 0)
		d->mem_gen = 1;
	for (unsigned int q = 0; q < d->desc.queues; q++) {
		d->rings[q].failed = false;
		bool was = d->rings[q].want;
		if (!relay_engine_ring_update(d, q) && was)
			relay_notify_signal(d->rings[q].err_fd);
	}
	return 0;
}

static int h_set_vring_num(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	struct relay_ring *g = ring_of(d, m->p.state.index);
	uint32_t num = m->p.state.num;

	if (!g || g->want || num == 0 || num > SP_RING_MAX || (num & (num - 1)))
		return -EINVAL;
	g->num = num;
	g->failed = false;
	return 0;
}

static int h_set_vring_addr(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	struct relay_ring *g = ring_of(d, m->p.addr.index);

	if (!g || g->want)
		return -EINVAL;
	g->desc_uva = m->p.addr.desc;
	g->avail_uva = m->p.addr.avail;
	g->used_uva = m->p.addr.used;
	g->addr_set = true;
	g->failed = false;
	return 0;
}

static int h_set_vring_base(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	struct relay_ring *g = ring_of(d, m->p.state.index);

	if (!g || g->want || m->p.state.num > 0xffff)
		return -EINVAL;
	g->base = (uint16_t)m->p.state.num;
	g->base_fresh = true;
	g->failed = false;
	return 0;
}

static int h_get_vring_base(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	uint32_t q = m->p.state.index;
	struct relay_ring *g = ring_of(d, q);

	if (!g)
		return -EINVAL;
	relay_notify_unwatch_kick(d, q);
	close_fd(&g->kick_fd);
	g->enabled = false;
	g->want = false;
	g->err_signalled = false;
	if (g->in_stub && d->r->ses.state == SP_ST_UP) {
		g->wait_base = true;
		x->deferred = true;
		return 0;
	}
	m->p.state.num = g->base;
	m->hdr.size = sizeof(m->p.state);
	x->reply = true;
	return 0;
}

static int h_set_vring_fd(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	uint32_t q = (uint32_t)(m->p.u64 & VHOST_USER_VRING_IDX_MASK);
	struct relay_ring *g = ring_of(d, q);
	int fd = m->nfds ? m->fds[0] : -1;

	if (!g || (m->p.u64 & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD)))
		return -EINVAL;
	m->nfds = 0;
	switch (m->hdr.request) {
	case VHOST_USER_SET_VRING_KICK:
		relay_notify_unwatch_kick(d, q);
		close_fd(&g->kick_fd);
		g->kick_fd = fd;
		g->failed = false;
		if (fd >= 0 && relay_notify_watch_kick(d, q) < 0)
			return -ENOMEM;
		return relay_engine_ring_update(d, q) ? 0 : -EFAULT;
	case VHOST_USER_SET_VRING_CALL:
		close_fd(&g->call_fd);
		g->call_fd = fd;
		return 0;
	default:
		close_fd(&g->err_fd);
		g->err_fd = fd;
		g->err_signalled = false;
		return 0;
	}
}

static int h_get_queue_num(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	return vhost_answer_u64(m, x, d->desc.queues);
}

static int h_set_vring_enable(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	struct relay_ring *g = ring_of(d, m->p.state.index);

	if (!g || m->p.state.num > 1)
		return -EINVAL;
	g->enabled = m->p.state.num;
	g->failed = false;
	return relay_engine_ring_update(d, m->p.state.index) ? 0 : -EFAULT;
}

static int h_get_config(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	struct vhost_config *c = &m->p.config;

	x->reply = true;
	if (d->desc.config_len == 0 || c->offset > d->desc.config_len ||
	    c->size > d->desc.config_len - c->offset) {
		m->hdr.size = 0; /* the spec's failure answer */
		return 0;
	}
	memcpy(c->data, d->desc.config + c->offset, c->size);
	return 0;
}

static int h_set_config(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	return -ENOTSUP;
}

static bool inflight_negotiated(const struct relay_dev *d)
{
	return d->protocol & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
}

static int h_get_inflight_fd(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	if (!inflight_negotiated(d) || any_wanted(d))
		return -EINVAL;
	int rc = relay_mem_inflight_get(d, &m->p.inflight);
	if (rc < 0)
		return rc;
	m->hdr.size = sizeof(m->p.inflight);
	x->reply = true;
	x->reply_fd = d->r->ram_fd;
	return 0;
}

static int h_set_inflight_fd(struct relay_dev *d, struct vhost_msg *m, struct vhost_answer *x)
{
	if (!inflight_negotiated(d) || any_wanted(d))
		return -EINVAL;
	return relay_mem_inflight_set(d, &m->p.inflight, m->fds[0]);
}

VHOST_SERVE_DISPATCH(handle, struct relay_dev)

static bool waiting(const struct relay_dev *d)
{
	for (unsigned int q = 0; q < RELAY_MAX_QUEUES; q++)
		if (d->rings[q].wait_base)
			return true;
	return false;
}

static void log_event(void *be, enum vhost_serve_event ev, const struct vhost_msg *m, int rc,
		      bool ack)
{
	struct relay_dev *d = be;

	if (ev == VHOST_SERVE_UNREADABLE) {
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: unreadable vhost-user message (%s)",
		       d->r->name, d->idx, err_str(rc));
	} else if (ev == VHOST_SERVE_MALFORMED) {
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: malformed %s (%u bytes, %u fds)",
		       d->r->name, d->idx, vhost_req_name(m->hdr.request), m->hdr.size, m->nfds);
	} else {
		d->r->st.engine_refused++;
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: %s refused: %s%s", d->r->name, d->idx,
		       vhost_req_name(m->hdr.request), err_str(rc), ack ? "" : ": dropping");
	}
}

/* The records changed (or a refusal was answered): the stub hears of it
 * before the engine gets its answer. */
static void handled(void *be)
{
	relay_sync(be);
}

static const struct vhost_serve_ops serve_ops = {
	.handle = handle,
	.log = log_event,
	.handled = handled,
};

static void on_conn(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay_dev *d = data;

	if (waiting(d)) {
		if (events & (EPOLLHUP | EPOLLERR))
			relay_engine_drop(d, "hung up");
		return;
	}
	int rc = vhost_serve_one(d->conn, &d->protocol, &serve_ops, d);
	if (rc < 0)
		relay_engine_drop(d, rc == -EPIPE ? "hung up" : "refused");
	else if (d->conn >= 0 && waiting(d))
		(void)loop_mod_fd(d->conn_h, 0);
}

void relay_engine_answer_base(struct relay_dev *d, unsigned int q)
{
	struct vhost_msg m;

	memset(&m.hdr, 0, sizeof(m.hdr));
	d->rings[q].wait_base = false;
	if (d->conn < 0)
		return;
	m.hdr.request = VHOST_USER_GET_VRING_BASE;
	m.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY;
	m.hdr.size = sizeof(m.p.state);
	m.p.state.index = q;
	m.p.state.num = d->rings[q].base;
	m.nfds = 0;
	if (vhost_msg_send(d->conn, &m) < 0)
		relay_engine_drop(d, "unwritable");
}

void relay_engine_resume(struct relay_dev *d)
{
	if (d->conn >= 0 && !waiting(d))
		(void)loop_mod_fd(d->conn_h, EPOLLIN);
}

void relay_engine_drop(struct relay_dev *d, const char *why)
{
	if (d->conn >= 0) {
		log_info("%s dev%u: engine connection closed (%s)", d->r->name, d->idx, why);
		d->r->st.engine_drops++;
		loop_del_fd(d->conn_h);
		close(d->conn);
	}
	d->conn = -1;
	d->conn_h = NULL;
	d->owner = false;
	d->protocol = 0;
	for (unsigned int q = 0; q < RELAY_MAX_QUEUES; q++)
		d->rings[q].wait_base = false;
	d->nregions = 0;
	d->mem_gen = 0;
	records_clear(d);
	relay_sync(d);
}

static void on_accept(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay_dev *d = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (d->conn >= 0) {
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: a second engine connection refused",
		       d->r->name, d->idx);
		close(c);
		return;
	}
	/* A front end that stops mid-message must not hang the relay. */
	struct timeval tv = {.tv_sec = 2};
	(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (loop_add_fd(d->r->loop, c, EPOLLIN, on_conn, d, &d->conn_h) < 0) {
		close(c);
		return;
	}
	d->conn = c;
	log_info("%s dev%u: engine connected", d->r->name, d->idx);
}

int relay_engine_listen(struct relay_dev *d)
{
	return loop_add_fd(d->r->loop, d->desc.listen_fd, EPOLLIN, on_accept, d, &d->listen_h);
}

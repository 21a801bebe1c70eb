/* relay_sync.c — bringing the stub in line with what the engine set.
 *
 * Design
 * ------
 * The stub protocol allows one outstanding request per device channel, and
 * the engine may send anything at any time, before the stub exists, while a
 * request is out, or while the stub restarts. Queueing the engine's
 * messages would need a bound and would replay stale steps; instead this
 * file is level-triggered: the records (relay_dev, what the engine set)
 * are the wanted state, `view` is what the stub has been told in the
 * current session, and relay_sync() sends the one request that brings the
 * view one step closer, whenever the channel is free. A new session zeroes
 * the view (the stub reset every device), so the replay after HELLO is the
 * same code as normal forwarding, and an engine that changes its mind ten
 * times while a request is out costs one request, not ten.
 *
 * The order of steps, first match wins:
 *   1. DEVICE_RESET when the stub holds state of an engine that is gone;
 *   2. VRING_STOP for a ring running in the stub that the engine no longer
 *      wants, or whose features, table or inflight area are about to
 *      change (the stub never sees them change under a running ring);
 *   3. SET_FEATURES, 4. SET_MEM_TABLE, 5. SET_INFLIGHT when they differ;
 *   6. VRING_START for a wanted ring not running in the stub (not again
 *      after the stub refused it, until the engine changes the ring).
 * The stub's replies update the view (relay_sync_reply). A VRING_STOP's
 * base becomes the ring's recorded base, and answers the engine's
 * GET_VRING_BASE if it waits. A request the stub refuses is logged and
 * counted as done (no retry loop against a stub that refuses it again); a
 * refused VRING_START is signalled on the ring's err eventfd.
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "relay/relay_int.h"
#include "stubproto/sp_codec.h"

static uint16_t channel(const struct relay_dev *d)
{
	return (uint16_t)(d->idx + 1);
}

/* Takes the channel for `type` and sends the encoded frame. */
static void send_req(struct relay_dev *d, uint16_t type, uint16_t queue, uint64_t val,
		     const union sp_msg *m)
{
	struct relay *r = d->r;
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];

	int rc = sp_session_tx(&r->ses, type, channel(d), 0, &a);
	if (rc < 0) {
		log_err("%s dev%u: %s not sendable: %s", r->name, d->idx, sp_type_name(type),
			err_str(rc));
		return;
	}
	int n = sp_encode(buf, sizeof(buf), type, &a, m);
	if (n < 0) {
		/* The message was checked before the seq was taken: this is a
		 * bug. The gap it leaves breaks the session, which recovers. */
		log_err("%s dev%u: %s does not encode", r->name, d->idx, sp_type_name(type));
		return;
	}
	d->req.busy = true;
	d->req.type = type;
	d->req.queue = queue;
	d->req.val = val;
	r->st.stub_requests++;
	(void)relay_stub_send(r, buf, (size_t)n);
}

/* The features the stub gets: the engine's, without vhost-user's own
 * PROTOCOL_FEATURES bit (a property of the vhost-user connection, which
 * the stub's device has never offered). */
static uint64_t stub_features(const struct relay_dev *d)
{
	return d->features & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

static bool features_dirty(const struct relay_dev *d)
{
	return d->features_set && (!d->view.features_sent || d->view.features != stub_features(d));
}

static bool mem_dirty(const struct relay_dev *d)
{
	return d->mem_gen != 0 && d->mem_gen != d->view.mem_gen;
}

static bool inflight_dirty(const struct relay_dev *d)
{
	return d->inflight_gen != 0 && d->inflight_gen != d->view.inflight_gen;
}

static void start_ring(struct relay_dev *d, unsigned int q)
{
	struct relay_ring *g = &d->rings[q];
	union sp_msg m;
	const char *why = "";

	memset(&m, 0, sizeof(m));
	m.vring_start = (struct sp_vring_start){
		.queue = (uint16_t)q,
		.num = (uint16_t)g->num,
		.base = g->base,
		.kick_vector = (uint16_t)relay_vector(d->idx, q),
		.call_vector = (uint16_t)relay_vector(d->idx, q),
		.desc = g->gpa_desc,
		.avail = g->gpa_avail,
		.used = g->gpa_used,
	};
	if (g->num > SP_RING_MAX || sp_check_vring_start(&m.vring_start, &why) < 0) {
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: queue %u not startable: %s", d->r->name,
		       d->idx, q, why);
		g->failed = true;
		relay_notify_signal(g->err_fd);
		return;
	}
	g->in_stub = true;
	g->base_fresh = false;
	send_req(d, SP_T_VRING_START, (uint16_t)q, 0, &m);
}

void relay_sync(struct relay_dev *d)
{
	struct relay *r = d->r;
	union sp_msg m;
	const char *why = "";

	if (r->ses.state != SP_ST_UP || d->req.busy || r->quiet)
		return;
	memset(&m, 0, sizeof(m));
	if (d->view.reset_due) {
		send_req(d, SP_T_DEVICE_RESET, 0, 0, &m);
		return;
	}
	bool fd = features_dirty(d), md = mem_dirty(d), id = inflight_dirty(d);
	for (unsigned int q = 0; q < d->desc.queues; q++) {
		struct relay_ring *g = &d->rings[q];
		if (g->in_stub && (!g->want || fd || md || id)) {
			m.vring_stop.queue = (uint16_t)q;
			g->base_fresh = false;
			send_req(d, SP_T_VRING_STOP, (uint16_t)q, 0, &m);
			return;
		}
	}
	if (fd) {
		m.set_features.features = stub_features(d);
		send_req(d, SP_T_SET_FEATURES, 0, stub_features(d), &m);
		return;
	}
	if (md) {
		relay_mem_sp_table(d, &m.mem_table);
		if (sp_check_mem_table(&m.mem_table, &why) < 0) {
			log_err("%s dev%u: memory table not sendable: %s", r->name, d->idx, why);
			d->view.mem_gen = d->mem_gen;
			return;
		}
		send_req(d, SP_T_SET_MEM_TABLE, 0, d->mem_gen, &m);
		return;
	}
	if (id) {
		m.set_inflight = d->inflight;
		if (sp_check_set_inflight(&m.set_inflight, &why) < 0) {
			log_err("%s dev%u: inflight area not sendable: %s", r->name, d->idx, why);
			d->view.inflight_gen = d->inflight_gen;
			return;
		}
		send_req(d, SP_T_SET_INFLIGHT, 0, d->inflight_gen, &m);
		return;
	}
	for (unsigned int q = 0; q < d->desc.queues; q++) {
		struct relay_ring *g = &d->rings[q];
		if (g->want && !g->in_stub && !g->failed) {
			start_ring(d, q);
			if (d->req.busy)
				return;
		}
	}
}

void relay_sync_all(struct relay *r)
{
	for (unsigned int i = 0; i < r->ndevs; i++)
		relay_sync(&r->dev[i]);
}

static void view_clear(struct relay_dev *d)
{
	memset(&d->view, 0, sizeof(d->view));
	for (unsigned int q = 0; q < RELAY_MAX_QUEUES; q++) {
		d->rings[q].in_stub = false;
		d->rings[q].failed = false;
	}
}

void relay_sync_session_start(struct relay *r)
{
	for (unsigned int i = 0; i < r->ndevs; i++) {
		r->dev[i].req.busy = false;
		view_clear(&r->dev[i]);
	}
}

void relay_sync_session_lost(struct relay *r)
{
	for (unsigned int i = 0; i < r->ndevs; i++) {
		struct relay_dev *d = &r->dev[i];
		d->req.busy = false;
		view_clear(d);
		for (unsigned int q = 0; q < RELAY_MAX_QUEUES; q++)
			if (d->rings[q].wait_base)
				relay_engine_answer_base(d, q);
		relay_engine_resume(d);
	}
}

void relay_sync_reply(struct relay_dev *d, const struct sp_reply *rep)
{
	struct relay *r = d->r;
	unsigned int q = d->req.queue < RELAY_MAX_QUEUES ? d->req.queue : 0;
	struct relay_ring *g = &d->rings[q];

	if (!d->req.busy || rep->req_type != d->req.type)
		return; /* the session matched it; this only guards our own record */
	d->req.busy = false;
	if (rep->status) {
		r->st.stub_failed++;
		log_rl(&d->rl, LOG_LVL_WARN, "%s dev%u: stub refused %s (queue %u): %s", r->name,
		       d->idx, sp_type_name(rep->req_type), q, errno_name((int)rep->status));
	}
	switch (rep->req_type) {
	case SP_T_DEVICE_RESET:
		view_clear(d);
		break;
	case SP_T_SET_FEATURES:
		d->view.features_sent = true;
		d->view.features = d->req.val;
		break;
	case SP_T_SET_MEM_TABLE:
		d->view.mem_gen = (uint32_t)d->req.val;
		break;
	case SP_T_SET_INFLIGHT:
		d->view.inflight_gen = (uint32_t)d->req.val;
		break;
	case SP_T_VRING_START:
		if (rep->status) {
			g->in_stub = false;
			g->failed = true;
			relay_notify_signal(g->err_fd);
		}
		break;
	case SP_T_VRING_STOP:
		g->in_stub = false;
		if (rep->status == 0 && rep->len == 2 && !g->base_fresh)
			g->base = (uint16_t)(rep->result[0] | rep->result[1] << 8);
		if (g->wait_base) {
			relay_engine_answer_base(d, q);
			relay_engine_resume(d);
		}
		break;
	default:
		break;
	}
	relay_sync(d);
}

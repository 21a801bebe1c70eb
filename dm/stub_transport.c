/* stub_transport.c — the stub end of the stub protocol, serving devices.
 *
 * Design
 * ------
 * One struct stub_transport per airlock-dm in a stub domain: the port fd,
 * a streaming decoder (sp_decoder, role stub), a session (sp_session, role
 * stub), the HELLO timer and one struct stub_chan per device (channel k =
 * device k-1). It is the stub-domain counterpart of lib/vhost/vhost.c: the
 * devices are the same vdev_ops, only the transport differs.
 *
 * Start. The transport rings vector 0 once (the relay learns that
 * interrupts from the stub can be delivered, docs/stubdom-design.md), then
 * sends the preamble and HELLO with a fresh random nonce and repeats that
 * HELLO (same nonce, no preamble) every hello_ms until its HELLO_ACK
 * arrives. The preamble completes whatever cut frame the relay's decoder
 * holds from a predecessor; repeats complete one the preamble could not
 * (a relay that connected late).
 *
 * Receiving. Bytes read from the port go to sp_decode; each frame it hands
 * out goes to sp_session_rx, whose verdict decides:
 *   - UP: a new session. Every channel is forgotten (rings stopped, memory
 *     table and inflight area dropped, device reset): the relay replays the
 *     state it holds. READY goes out on channel 0 and on every device
 *     channel.
 *   - REHANDSHAKE (REHELLO, or a sequence gap in the relay's frames): the
 *     session is lost. Every channel is forgotten the same way and a new
 *     HELLO under a fresh nonce (with the preamble) starts a new handshake.
 *     Requests of the old session are never answered.
 *   - DELIVER: a request of the session. Exactly one REPLY answers it: a
 *     frame the decoder refused for a payload field gets EINVAL, a channel
 *     with no device ENODEV, anything else what stub_chan_request says.
 *   - DROP: stale frames (another session), counted by the session.
 * Framing errors cost at most the frames they overlap (the decoder
 * resynchronises) and are logged rate-limited; if they swallowed a
 * request, the next frame's seq shows the gap and the session is redone.
 *
 * Sending. Replies and notices (READY, DEVICE_BROKEN, LOG) take the next
 * seq from the session and are written whole; with no session up, notices
 * are dropped (a new session resets every device anyway). A frame that
 * cannot be written whole is counted and logged: the relay's decoder then
 * sees a cut frame or a sequence gap and asks for a new handshake, so the
 * stream heals itself.
 *
 * End. End of file or an error on the port stops every ring and the
 * transport stops reading (stub_transport_closed); the program exits and
 * the stub's init starts a new airlock-dm, which the relay treats as a
 * restart.
 */
#include "dm/stub_transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "dm/stub_chan.h"
#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_session.h"

#define HELLO_MS_DEFAULT 1000u

struct stub_transport {
	struct loop *loop;
	int port_fd;
	struct loop_fd *port_h;
	struct loop_timer *hello_timer;
	unsigned int hello_ms;
	bool closed;
	struct sp_decoder dec;
	struct sp_session ses;
	struct stub_env env;
	unsigned int nchans;
	struct stub_chan chans[SP_MAX_CHANNELS - 1];
	struct stub_transport_stats st;
	struct log_ratelimit rl;
};

static void send_bytes(struct stub_transport *t, const uint8_t *buf, int n)
{
	size_t off = 0;

	if (n <= 0 || t->closed)
		return;
	while (off < (size_t)n) {
		ssize_t w = write(t->port_fd, buf + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			t->st.tx_lost++;
			log_rl(&t->rl, LOG_LVL_WARN, "stub: cannot write to the port: %s",
			       w < 0 ? strerror(errno) : "nothing written");
			return;
		}
		off += (size_t)w;
	}
}

/* ---- notices (the channels' environment) ---- */

static void send_broken(void *ctx, unsigned int ch, uint16_t queue, uint32_t reason)
{
	struct stub_transport *t = ctx;
	struct sp_device_broken m = {.queue = queue, .reason = reason};
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];

	if (sp_session_tx(&t->ses, SP_T_DEVICE_BROKEN, (uint16_t)ch, 0, &a) < 0)
		return;
	t->st.broken++;
	send_bytes(t, buf, sp_encode_device_broken(buf, sizeof(buf), &a, &m));
}

static void send_log(void *ctx, unsigned int ch, uint16_t level, const char *text)
{
	struct stub_transport *t = ctx;
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];

	if (sp_session_tx(&t->ses, SP_T_LOG, (uint16_t)ch, 0, &a) < 0)
		return;
	send_bytes(t, buf, sp_encode_log(buf, sizeof(buf), &a, level, text));
}

static void send_ready(struct stub_transport *t, unsigned int ch)
{
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];

	if (sp_session_tx(&t->ses, SP_T_READY, (uint16_t)ch, 0, &a) < 0)
		return;
	send_bytes(t, buf, sp_encode_ready(buf, sizeof(buf), &a));
}

/* ---- the handshake ---- */

static void arm_hello_timer(struct stub_transport *t);

static void on_hello_timer(void *data)
{
	struct stub_transport *t = data;
	uint8_t buf[SP_PREAMBLE_LEN + SP_FRAME_MAX];

	t->hello_timer = NULL;
	if (t->closed || t->ses.state != SP_ST_HELLO_SENT)
		return;
	send_bytes(t, buf, sp_session_hello(&t->ses, t->ses.nonce, false, buf, sizeof(buf)));
	arm_hello_timer(t);
}

static void arm_hello_timer(struct stub_transport *t)
{
	if (t->hello_timer)
		loop_cancel_timer(t->hello_timer);
	t->hello_timer = loop_add_timer(t->loop, t->hello_ms, on_hello_timer, t);
	if (!t->hello_timer)
		log_rl(&t->rl, LOG_LVL_WARN, "stub: no memory for the HELLO timer");
}

/* A new handshake attempt under a fresh nonce. */
static void hello_new(struct stub_transport *t)
{
	uint8_t buf[SP_PREAMBLE_LEN + SP_FRAME_MAX];
	uint64_t nonce = 0;

	while (nonce == 0 || nonce == t->ses.nonce)
		random_bytes(&nonce, sizeof(nonce));
	send_bytes(t, buf, sp_session_hello(&t->ses, nonce, true, buf, sizeof(buf)));
	arm_hello_timer(t);
}

static void forget_all(struct stub_transport *t)
{
	for (unsigned int i = 0; i < t->nchans; i++)
		stub_chan_forget(&t->chans[i]);
}

/* ---- requests ---- */

static void answer(struct stub_transport *t, const struct sp_frame *f)
{
	uint16_t ch = f->hdr.channel;
	struct sp_reply r = {.req_seq = f->hdr.seq, .req_type = f->hdr.type};
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];

	if (f->refused) {
		log_rl(&t->rl, LOG_LVL_WARN, "stub: %s on channel %u refused: %s",
		       sp_type_name(f->hdr.type), ch, f->why ? f->why : "bad field");
		r.status = EINVAL;
	} else if (ch == 0 || ch > t->nchans) {
		log_rl(&t->rl, LOG_LVL_WARN, "stub: %s on channel %u: no such device",
		       sp_type_name(f->hdr.type), ch);
		r.status = ENODEV;
	} else {
		stub_chan_request(&t->chans[ch - 1], f->hdr.type, &f->m, &r);
	}
	t->st.requests++;
	if (r.status)
		t->st.refused++;
	/* Only received frames change the session: it is still up. */
	if (sp_session_tx(&t->ses, SP_T_REPLY, ch, 0, &a) < 0)
		return;
	int n = sp_encode_reply(buf, sizeof(buf), &a, &r);
	if (n < 0)
		log_rl(&t->rl, LOG_LVL_ERR, "stub: cannot encode the reply to %s: %s",
		       sp_type_name(f->hdr.type), strerror(-n));
	send_bytes(t, buf, n);
}

static void on_frame(struct stub_transport *t, const struct sp_frame *f)
{
	switch (sp_session_rx(&t->ses, f)) {
	case SP_V_UP:
		if (t->hello_timer)
			loop_cancel_timer(t->hello_timer);
		t->hello_timer = NULL;
		forget_all(t);
		t->st.sessions++;
		log_info("stub: session %u up", t->ses.session);
		send_ready(t, 0);
		for (unsigned int i = 0; i < t->nchans; i++)
			send_ready(t, i + 1);
		break;
	case SP_V_REHANDSHAKE:
		t->st.breaks++;
		log_info("stub: session lost (%s: %s): stopping every device, new handshake",
			 sp_err_name(t->ses.err), t->ses.why ? t->ses.why : "?");
		forget_all(t);
		hello_new(t);
		break;
	case SP_V_DELIVER:
		if (sp_type_is_request(f->hdr.type))
			answer(t, f);
		break;
	default:
		break;
	}
}

void stub_transport_feed(struct stub_transport *t, const uint8_t *data, size_t len)
{
	struct sp_frame f;
	int rc;

	while ((rc = sp_decode(&t->dec, &data, &len, &f)) != 0) {
		if (rc < 0) {
			log_rl(&t->rl, LOG_LVL_WARN, "stub: %s",
			       t->dec.why ? t->dec.why : "garbage");
			continue;
		}
		on_frame(t, &f);
		if (t->closed)
			return;
	}
}

static void port_closed(struct stub_transport *t, const char *why)
{
	log_info("stub: port %s: stopping every device", why);
	if (t->port_h)
		loop_del_fd(t->port_h);
	t->port_h = NULL;
	if (t->hello_timer)
		loop_cancel_timer(t->hello_timer);
	t->hello_timer = NULL;
	forget_all(t);
	t->closed = true;
}

static void on_port(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct stub_transport *t = data;
	uint8_t buf[4096];

	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		stub_transport_feed(t, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	port_closed(t, n == 0 ? "closed" : strerror(errno));
}

int stub_transport_new(struct loop *loop, const struct stub_params *p, struct stub_transport **out)
{
	if (!loop || !p->bus || !p->bus->kick_fd || !p->bus->call || !p->bar.base ||
	    p->bar.size == 0 || p->ndevs == 0 || p->ndevs >= SP_MAX_CHANNELS || !p->devs)
		return -EINVAL;
	for (unsigned int i = 0; i < p->ndevs; i++)
		if (!p->devs[i].ops || !p->devs[i].ops->queue_kick)
			return -EINVAL;
	struct stub_transport *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->loop = loop;
	t->port_fd = p->port_fd;
	t->hello_ms = p->hello_ms ? p->hello_ms : HELLO_MS_DEFAULT;
	sp_decoder_init(&t->dec, SP_ROLE_STUB);
	sp_session_init(&t->ses, SP_ROLE_STUB, 0);
	t->env = (struct stub_env){
		.loop = loop,
		.bus = p->bus,
		.bus_ctx = p->bus_ctx,
		.bar = p->bar,
		.broken = send_broken,
		.log = send_log,
		.ctx = t,
	};
	t->nchans = p->ndevs;
	for (unsigned int i = 0; i < p->ndevs; i++)
		stub_chan_init(&t->chans[i], &t->env, i + 1, p->devs[i].ops, p->devs[i].dev);
	int rc = loop_add_fd(loop, p->port_fd, EPOLLIN, on_port, t, &t->port_h);
	if (rc < 0) {
		free(t);
		return rc;
	}
	/* Interrupts can be delivered: tell the relay (vector 0). */
	p->bus->call(p->bus_ctx, 0);
	hello_new(t);
	*out = t;
	return 0;
}

void stub_transport_free(struct stub_transport *t)
{
	if (!t)
		return;
	for (unsigned int i = 0; i < t->nchans; i++)
		stub_chan_stop_all(&t->chans[i]);
	if (t->port_h)
		loop_del_fd(t->port_h);
	if (t->hello_timer)
		loop_cancel_timer(t->hello_timer);
	free(t);
}

bool stub_transport_up(const struct stub_transport *t)
{
	return t->ses.state == SP_ST_UP;
}

bool stub_transport_closed(const struct stub_transport *t)
{
	return t->closed;
}

bool stub_transport_queue_started(const struct stub_transport *t, unsigned int ch, unsigned int idx)
{
	return ch >= 1 && ch <= t->nchans && stub_chan_queue_started(&t->chans[ch - 1], idx);
}

const struct stub_transport_stats *stub_transport_stats(const struct stub_transport *t)
{
	return &t->st;
}

/* sp_session.c — the stub protocol's session state machine, both ends.
 *
 * The problem. A byte stream has no reset. The stub's airlock-dm can die
 * and come back (a new process opening the same port) and the relay can be
 * restarted under a running stub; each may have frames of the old life in
 * flight, and the new life must neither act on them nor lose its own. And
 * because there are no fds, the relay must be able to rebuild the stub's
 * device state (memory table, rings) at any time from what it holds.
 *
 * Sessions. Every life of the conversation is a session, opened by a
 * handshake and named by a 32-bit id the relay chooses (never 0; ids count
 * up from a random seed, so a restarted relay does not reuse its
 * predecessor's). The stub opens with HELLO{version, nonce}: the nonce is
 * fresh random bytes per attempt, so the relay can tell a new stub (new
 * nonce: a new session, SP_V_ACK) from the same HELLO repeated by a timer
 * (same nonce as the current session: the same HELLO_ACK again,
 * SP_V_ACK_AGAIN, nothing reset). The relay answers HELLO_ACK{nonce, id};
 * the stub takes only the ACK carrying its own pending nonce, so ACKs to
 * earlier HELLOs (of a previous life or an abandoned attempt) are dropped.
 * The relay can ask for a handshake with REHELLO (after its own restart, or
 * when it found the stream broken); the stub answers any REHELLO with a new
 * HELLO under a fresh nonce. Handshake frames carry session 0 and seq 0 and
 * stand outside the sequence; every other frame carries the id and is
 * dropped (counted) unless it names the current session.
 *
 * A new session means every device in the stub starts from reset: the stub
 * resets them when its session comes UP, and the relay, told SP_V_ACK,
 * replays features, memory table, inflight area and rings from its own
 * records. Requests outstanding in the old session are lost, never
 * answered: the relay's caller fails or reissues them.
 *
 * Sequence numbers. Each direction numbers its sequenced frames from 0
 * after the handshake (wrapping at 2^32). The transport is reliable and
 * ordered, so within one session a receiver that sees anything but the next
 * number has lost frames to a resync (or faces a broken peer): it cannot
 * know what they said, so it breaks the session — the relay sends REHELLO
 * and waits for a HELLO, the stub goes back to IDLE and sends a new HELLO.
 * Both paths converge on one fresh session whatever crosses on the wire:
 * each HELLO attempt has its own nonce, and the relay resets to the latest.
 *
 * Requests. The relay keeps at most one request outstanding per channel
 * (vhost-user is itself one request at a time per device), which bounds
 * its state to SP_MAX_CHANNELS entries and lets it check each REPLY: same
 * channel, the request's seq and type, and the result length the request
 * implies (2 for VRING_STOP, the asked length for GET_CONFIG, else 0) when
 * the status is 0. A reply that answers nothing breaks the session: a stub
 * that answers wrongly cannot be trusted to have done what was asked.
 *
 * States: stub IDLE → (hello) HELLO_SENT → (its ACK) UP → (REHELLO or a
 * broken sequence) IDLE; relay WAIT_HELLO → (HELLO) UP → (a new HELLO) UP
 * with a new id, or (a broken sequence, rehello) WAIT_HELLO.
 */
#include "stubproto/sp_session.h"
#include "stubproto/sp_codec.h"

#include <errno.h>
#include <string.h>

void sp_session_init(struct sp_session *s, enum sp_role role, uint32_t first_id)
{
	memset(s, 0, sizeof(*s));
	s->role = role;
	s->state = role == SP_ROLE_STUB ? SP_ST_IDLE : SP_ST_WAIT_HELLO;
	s->next_session = first_id ? first_id : 1;
}

const char *sp_verdict_name(enum sp_verdict v)
{
	static const char *const names[] = {"deliver",	 "drop", "ack",
					    "ack-again", "up",	 "rehandshake"};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

static void go_down(struct sp_session *s)
{
	s->state = s->role == SP_ROLE_STUB ? SP_ST_IDLE : SP_ST_WAIT_HELLO;
	s->session = 0;
	s->tx_seq = s->rx_seq = 0;
	memset(s->pending, 0, sizeof(s->pending));
}

static enum sp_verdict brk(struct sp_session *s, enum sp_err err, const char *why)
{
	go_down(s);
	s->err = err;
	s->why = why;
	s->st.breaks++;
	return SP_V_REHANDSHAKE;
}

int sp_session_hello(struct sp_session *s, uint64_t nonce, bool with_preamble, uint8_t *buf,
		     size_t cap)
{
	struct sp_hello h = {.version = SP_VERSION, .nonce = nonce};
	size_t need = SP_HDR_SIZE + 16 + (with_preamble ? SP_PREAMBLE_LEN : 0);
	bool repeat = s->state == SP_ST_HELLO_SENT && nonce == s->nonce;
	size_t off = 0;

	/* A new attempt needs a new nonce, or the relay takes it for a repeat
	 * and resets nothing. */
	if (s->role != SP_ROLE_STUB || nonce == 0 || (!repeat && nonce == s->nonce))
		return -EINVAL;
	if (cap < need)
		return -ENOSPC;
	if (with_preamble)
		off = (size_t)sp_encode_preamble(buf, cap);
	int n = sp_encode_hello(buf + off, cap - off, &h);
	if (n < 0)
		return n;
	if (!repeat) {
		go_down(s);
		s->state = SP_ST_HELLO_SENT;
		s->nonce = nonce;
	}
	return (int)off + n;
}

int sp_session_ack(const struct sp_session *s, uint8_t *buf, size_t cap)
{
	struct sp_hello_ack a = {.nonce = s->nonce, .session = s->session};

	if (s->role != SP_ROLE_RELAY || s->state != SP_ST_UP)
		return -EINVAL;
	return sp_encode_hello_ack(buf, cap, &a);
}

int sp_session_rehello(struct sp_session *s, enum sp_err reason, uint8_t *buf, size_t cap)
{
	struct sp_rehello r = {.reason = reason};
	const char *why;

	if (s->role != SP_ROLE_RELAY || sp_check_rehello(&r, &why) < 0)
		return -EINVAL;
	if (cap < SP_PREAMBLE_LEN + SP_HDR_SIZE + 8)
		return -ENOSPC;
	go_down(s);
	int off = sp_encode_preamble(buf, cap);
	int n = sp_encode_rehello(buf + off, cap - (size_t)off, &r);
	return n < 0 ? n : off + n;
}

int sp_session_tx(struct sp_session *s, uint16_t type, uint16_t channel, uint16_t get_config_len,
		  struct sp_addr *out)
{
	if (!sp_type_from(type, s->role) || sp_type_is_handshake(type) ||
	    !sp_type_channel_ok(type, channel))
		return -EINVAL;
	if (type == SP_T_GET_CONFIG && (get_config_len == 0 || get_config_len > SP_CONFIG_MAX))
		return -EINVAL;
	if (s->state != SP_ST_UP)
		return -ENOTCONN;
	if (sp_type_is_request(type)) {
		struct sp_pending *p = &s->pending[channel];
		if (p->busy)
			return -EBUSY;
		p->busy = true;
		p->type = type;
		p->seq = s->tx_seq;
		p->want_len = sp_reply_len_for(type, get_config_len);
	}
	out->channel = channel;
	out->session = s->session;
	out->seq = s->tx_seq++;
	return 0;
}

static enum sp_verdict rx_hello(struct sp_session *s, const struct sp_hello *h)
{
	if (s->state == SP_ST_UP && h->nonce == s->nonce)
		return SP_V_ACK_AGAIN;
	go_down(s);
	s->state = SP_ST_UP;
	s->nonce = h->nonce;
	s->session = s->next_session++;
	if (s->next_session == 0)
		s->next_session = 1;
	s->st.handshakes++;
	return SP_V_ACK;
}

static enum sp_verdict rx_hello_ack(struct sp_session *s, const struct sp_hello_ack *a)
{
	if (s->state != SP_ST_HELLO_SENT || a->nonce != s->nonce) {
		s->st.stale++;
		return SP_V_DROP;
	}
	s->state = SP_ST_UP;
	s->session = a->session;
	s->tx_seq = s->rx_seq = 0;
	s->st.handshakes++;
	return SP_V_UP;
}

static enum sp_verdict rx_reply(struct sp_session *s, const struct sp_frame *f)
{
	const struct sp_reply *r = &f->m.reply;
	struct sp_pending *p = &s->pending[f->hdr.channel];

	if (f->refused)
		return brk(s, SP_ERR_REPLY, "malformed reply");
	if (!p->busy || r->req_seq != p->seq || r->req_type != p->type)
		return brk(s, SP_ERR_REPLY, "reply answers no outstanding request");
	if (r->status == 0 && r->len != p->want_len)
		return brk(s, SP_ERR_REPLY, "reply result length wrong for the request");
	p->busy = false;
	return SP_V_DELIVER;
}

enum sp_verdict sp_session_rx(struct sp_session *s, const struct sp_frame *f)
{
	const struct sp_hdr *h = &f->hdr;
	enum sp_role peer = s->role == SP_ROLE_STUB ? SP_ROLE_RELAY : SP_ROLE_STUB;

	/* The decoder already refuses these; a session fed by other means
	 * must not trust its caller either. */
	if (!sp_type_from(h->type, peer) || !sp_type_channel_ok(h->type, h->channel)) {
		s->st.stale++;
		return SP_V_DROP;
	}
	if (sp_type_is_handshake(h->type)) {
		if (f->refused || h->session != 0) {
			s->st.stale++;
			return SP_V_DROP;
		}
		if (h->type == SP_T_HELLO)
			return rx_hello(s, &f->m.hello);
		if (h->type == SP_T_HELLO_ACK)
			return rx_hello_ack(s, &f->m.hello_ack);
		/* A REHELLO while our HELLO is on its way asks for what we
		 * already did: the relay sends one as soon as the port
		 * connects, before the stub's airlock-dm has read anything.
		 * Breaking here would cost a second handshake at every start
		 * (and the relay would take the second HELLO for a restart);
		 * if the relay discarded our HELLO, its repeat answers. */
		if (s->state == SP_ST_HELLO_SENT) {
			s->st.stale++;
			return SP_V_DROP;
		}
		return brk(s, (enum sp_err)f->m.rehello.reason,
			   "the relay asked for a new handshake");
	}
	if (s->state != SP_ST_UP || h->session != s->session) {
		s->st.stale++;
		return SP_V_DROP;
	}
	if (h->seq != s->rx_seq)
		return brk(s, SP_ERR_GAP, "sequence gap");
	s->rx_seq++;
	if (s->role == SP_ROLE_RELAY && h->type == SP_T_REPLY)
		return rx_reply(s, f);
	return SP_V_DELIVER;
}

/* fuzz_stubproto_session.c — libFuzzer target for the stub protocol's
 * session state machine (lib/stubproto/sp_session.c) with both ends'
 * decoders, a relay and a stub joined by two byte queues ("wires").
 *
 * Input: a sequence of operations, each an opcode byte and its operand
 * bytes (missing bytes read as 0):
 *   0 s  the stub (re)starts its handshake: fresh nonce, preamble if s&1
 *   1 t c f[8]  the relay sends request t%7 on channel c%16, its fields
 *        from f (what the encoder refuses is not sent)
 *   2    the stub handles its wire: answers each request (EINVAL if
 *        refused, a wrong reply if the fuzzer's next byte says so), a new
 *        HELLO after REHANDSHAKE
 *   3    the relay handles its wire: HELLO_ACK after ACK/ACK_AGAIN,
 *        REHELLO after REHANDSHAKE
 *   4 w n b[n]  n raw bytes into wire w&1 (hostile or corrupt bytes)
 *   5 w n  cut the last n bytes of wire w&1 (a writer died mid-frame)
 *   6    the stub restarts: new session and decoder (port reopened)
 *   7    the relay restarts: new session and decoder, then REHELLO
 *   8 w t c s q f[16]  a well-formed frame of type t with an arbitrary
 *        session s and seq q into wire w&1 (stale, future, forged)
 *   9 k  the stub sends notice k%3 (READY, DEVICE_BROKEN, LOG)
 *
 * Oracles: no sanitizer report; state and session id agree (UP ⇔ id ≠ 0);
 * a frame the session delivers belongs to the current session and carries
 * the seq just expected; a reply the relay accepts answers a request it
 * sent and leaves its channel free; and liveness: after the sequence the
 * stub restarts (as a reopened port does) and, with honest ends, timer-driven
 * HELLO repeats and at most 16 rounds, both ends are UP in the same
 * session and a request is answered.
 */
#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_le.h"
#include "stubproto/sp_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_stubproto_session: invariant failed: %s\n", #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define WIRE_CAP 65536

struct wire {
	uint8_t b[WIRE_CAP];
	size_t n;
};

struct world {
	struct sp_session relay, stub;
	struct sp_decoder at_relay, at_stub;
	struct wire to_relay, to_stub; /* stub → relay, relay → stub */
	uint64_t nonce;
	uint32_t relay_seed;
	unsigned int answered; /* replies the relay accepted */
	const uint8_t *in;
	size_t left;
};

static uint8_t byte(struct world *w)
{
	if (!w->left)
		return 0;
	w->left--;
	return *w->in++;
}

static uint64_t bytes(struct world *w, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)byte(w) << (8 * i);
	return v;
}

static void put(struct wire *wi, const uint8_t *p, int n)
{
	if (n <= 0)
		return;
	if ((size_t)n > WIRE_CAP - wi->n)
		n = (int)(WIRE_CAP - wi->n); /* a full wire drops: a cut */
	memcpy(wi->b + wi->n, p, (size_t)n);
	wi->n += (size_t)n;
}

static void check_state(const struct sp_session *s)
{
	CHECK((s->state == SP_ST_UP) == (s->session != 0));
	if (s->role == SP_ROLE_RELAY) {
		CHECK(s->state == SP_ST_UP || s->state == SP_ST_WAIT_HELLO);
		CHECK(!s->pending[0].busy);
	} else {
		CHECK(s->state != SP_ST_WAIT_HELLO);
	}
}

static void stub_hello(struct world *w, bool preamble)
{
	uint8_t b[SP_PREAMBLE_LEN + SP_FRAME_MAX];
	w->nonce++;
	if (w->nonce == 0)
		w->nonce = 1;
	int n = sp_session_hello(&w->stub, w->nonce, preamble, b, sizeof(b));
	CHECK(n > 0);
	put(&w->to_relay, b, n);
}

static void stub_answer(struct world *w, const struct sp_frame *f, bool honest)
{
	uint8_t b[SP_FRAME_MAX];
	struct sp_addr a;
	struct sp_reply r = {.req_seq = f->hdr.seq, .req_type = f->hdr.type};

	if (f->refused) {
		r.status = EINVAL;
	} else if (f->hdr.type == SP_T_VRING_STOP) {
		r.len = 2;
		sp_put16(r.result, 0x1234);
	} else if (f->hdr.type == SP_T_GET_CONFIG) {
		r.len = f->m.get_config.len;
		memset(r.result, 0x33, r.len);
	}
	if (!honest) {
		uint8_t how = byte(w);
		r.req_seq += how & 1;
		if (how & 2)
			r.len = (uint16_t)(r.len ? r.len - 1 : 1);
	}
	if (sp_session_tx(&w->stub, SP_T_REPLY, f->hdr.channel, 0, &a) < 0)
		return;
	put(&w->to_relay, b, sp_encode_reply(b, sizeof(b), &a, &r));
}

/* Runs one end over its wire. */
static void handle(struct world *w, bool at_stub, bool honest)
{
	struct sp_session *s = at_stub ? &w->stub : &w->relay;
	struct sp_decoder *d = at_stub ? &w->at_stub : &w->at_relay;
	struct wire *in = at_stub ? &w->to_stub : &w->to_relay;
	static uint8_t copy[WIRE_CAP];
	const uint8_t *p = copy;
	size_t left = in->n;
	struct sp_frame f;
	int rc;

	memcpy(copy, in->b, in->n);
	in->n = 0;
	while ((rc = sp_decode(d, &p, &left, &f)) != 0) {
		if (rc < 0)
			continue;
		uint32_t want_seq = s->rx_seq, sess = s->session;
		bool pending = f.hdr.channel < SP_MAX_CHANNELS && s->pending[f.hdr.channel].busy;
		uint8_t b[SP_PREAMBLE_LEN + SP_FRAME_MAX];
		enum sp_verdict v = sp_session_rx(s, &f);
		check_state(s);
		switch (v) {
		case SP_V_DELIVER:
			CHECK(!sp_type_is_handshake(f.hdr.type));
			CHECK(f.hdr.session == sess && f.hdr.seq == want_seq);
			CHECK(s->rx_seq == want_seq + 1);
			if (at_stub && sp_type_is_request(f.hdr.type))
				stub_answer(w, &f, honest);
			if (!at_stub && f.hdr.type == SP_T_REPLY) {
				CHECK(pending && !s->pending[f.hdr.channel].busy);
				w->answered++;
			}
			break;
		case SP_V_ACK:
		case SP_V_ACK_AGAIN:
			CHECK(!at_stub && f.hdr.type == SP_T_HELLO);
			put(&w->to_stub, b, sp_session_ack(s, b, sizeof(b)));
			break;
		case SP_V_UP:
			CHECK(at_stub && s->session == f.m.hello_ack.session);
			break;
		case SP_V_REHANDSHAKE:
			CHECK(s->state != SP_ST_UP && s->err != SP_ERR_NONE);
			if (at_stub)
				stub_hello(w, true);
			else
				put(&w->to_stub, b, sp_session_rehello(s, s->err, b, sizeof(b)));
			break;
		case SP_V_DROP:
			break;
		}
	}
}

static void relay_request(struct world *w, uint8_t t, uint16_t ch, const uint8_t *f)
{
	static const uint16_t types[7] = {SP_T_SET_FEATURES, SP_T_SET_MEM_TABLE, SP_T_VRING_START,
					  SP_T_VRING_STOP,   SP_T_DEVICE_RESET,	 SP_T_GET_CONFIG,
					  SP_T_SET_INFLIGHT};
	uint16_t type = types[t % 7];
	union sp_msg m;
	uint8_t b[SP_FRAME_MAX];
	struct sp_addr a;

	memset(&m, 0, sizeof(m));
	switch (type) {
	case SP_T_SET_FEATURES:
		m.set_features.features = sp_get64(f);
		break;
	case SP_T_SET_MEM_TABLE:
		m.mem_table.n = 1 + f[0] % 3;
		for (uint32_t i = 0; i < m.mem_table.n; i++)
			m.mem_table.r[i] = (struct sp_region){(uint64_t)(i * 16 + f[1]) << 20,
							      (uint64_t)(1 + f[2 + i]) << 12,
							      (uint64_t)(i * 16 + f[5]) << 20};
		break;
	case SP_T_VRING_START:
		m.vring_start =
			(struct sp_vring_start){f[0] % 9,	 (uint16_t)(1u << (f[1] % 17)),
						sp_get16(f + 2), f[4] % 65,
						f[5] % 65,	 0x1000,
						0x2000,		 0x3000};
		break;
	case SP_T_VRING_STOP:
		m.vring_stop.queue = f[0] % 9;
		break;
	case SP_T_GET_CONFIG:
		m.get_config =
			(struct sp_get_config){sp_get16(f), (uint16_t)(sp_get16(f + 2) % 300)};
		break;
	case SP_T_SET_INFLIGHT:
		m.set_inflight =
			(struct sp_set_inflight){(uint64_t)f[0] << 12, (uint64_t)f[1] << 12,
						 f[2] % 9, (uint16_t)(1u << (f[3] % 16))};
		break;
	}
	if (sp_session_tx(&w->relay, type, ch, type == SP_T_GET_CONFIG ? m.get_config.len : 0, &a) <
	    0)
		return;
	int n = sp_encode(b, sizeof(b), type, &a, &m);
	if (n == -EINVAL) {
		/* the encoder refuses it: a relay would not send it either;
		 * its seq is spent, so send a valid one in its place */
		n = sp_encode_device_reset(b, sizeof(b), &a);
		if (n > 0 && type != SP_T_DEVICE_RESET) {
			/* the outstanding request is now a DEVICE_RESET */
			w->relay.pending[ch].type = SP_T_DEVICE_RESET;
			w->relay.pending[ch].want_len = 0;
		}
	}
	CHECK(n > 0);
	put(&w->to_stub, b, n);
}

static void forged(struct world *w)
{
	uint8_t which = byte(w), t = byte(w), ch = byte(w);
	struct sp_addr a = {(uint16_t)(ch % SP_MAX_CHANNELS), (uint32_t)bytes(w, 1),
			    (uint32_t)bytes(w, 1)};
	union sp_msg m;
	uint8_t b[SP_FRAME_MAX];
	uint8_t f[16];

	for (int i = 0; i < 16; i++)
		f[i] = byte(w);
	memset(&m, 0, sizeof(m));
	/* a handful of fields from f; most messages then fail their checks
	 * and are not encoded, which is fine: forged frames are a spice */
	m.hello.version = SP_VERSION;
	m.hello.nonce = sp_get64(f) | 1ull << 63; /* never a nonce the stub draws */
	if (t % SP_T_LIMIT == SP_T_HELLO_ACK) {
		m.hello_ack.nonce = (f[8] & 1) ? w->nonce : sp_get64(f);
		m.hello_ack.session = sp_get32(f + 9);
	} else if (t % SP_T_LIMIT == SP_T_REPLY) {
		m.reply.req_seq = f[0];
		m.reply.req_type = SP_T_DEVICE_RESET;
	} else if (t % SP_T_LIMIT == SP_T_REHELLO) {
		m.rehello.reason = 1 + f[0] % (SP_ERR_LIMIT - 1);
	} else if (t % SP_T_LIMIT == SP_T_LOG) {
		m.log.len = 1;
		m.log.text[0] = 'x';
	} else if (t % SP_T_LIMIT == SP_T_DEVICE_BROKEN) {
		m.device_broken.reason = SP_BROKEN_IO;
	}
	if (f[15] & 1) /* near the live session */
		a.session = (which & 2) ? w->relay.session : w->stub.session;
	if (f[15] & 2)
		a.seq = ((which & 1) ? w->relay.rx_seq : w->stub.rx_seq) + (f[14] % 3);
	if (sp_type_is_handshake(t % SP_T_LIMIT))
		a.session = a.seq = 0, a.channel = 0;
	int n = sp_encode(b, sizeof(b), t % SP_T_LIMIT, &a, &m);
	if (n > 0)
		put((which & 1) ? &w->to_relay : &w->to_stub, b, n);
}

static void stub_notice(struct world *w, uint8_t k)
{
	uint8_t b[SP_FRAME_MAX];
	struct sp_addr a;
	static const uint16_t types[3] = {SP_T_READY, SP_T_DEVICE_BROKEN, SP_T_LOG};
	uint16_t ch = k % 3 == 0 ? 0 : 1 + (k >> 4) % 4;
	struct sp_device_broken db = {(uint16_t)((k >> 2) & 3), SP_BROKEN_RING};

	if (sp_session_tx(&w->stub, types[k % 3], ch, 0, &a) < 0)
		return;
	int n = k % 3 == 0   ? sp_encode_ready(b, sizeof(b), &a)
		: k % 3 == 1 ? sp_encode_device_broken(b, sizeof(b), &a, &db)
			     : sp_encode_log(b, sizeof(b), &a, 3, "queue\t0 ok\n");
	CHECK(n > 0);
	put(&w->to_relay, b, n);
}

static void relay_restart(struct world *w)
{
	uint8_t b[SP_PREAMBLE_LEN + SP_FRAME_MAX];
	sp_session_init(&w->relay, SP_ROLE_RELAY, w->relay_seed += 1000);
	sp_decoder_init(&w->at_relay, SP_ROLE_RELAY);
	put(&w->to_stub, b, sp_session_rehello(&w->relay, SP_ERR_GARBAGE, b, sizeof(b)));
}

/* Liveness: a reopened stub and honest ends converge on one session. */
static void settle(struct world *w)
{
	sp_session_init(&w->stub, SP_ROLE_STUB, 0);
	sp_decoder_reset(&w->at_stub);
	w->to_stub.n = 0; /* what the old port held is gone with it */
	stub_hello(w, true);
	int round;
	for (round = 0; round < 16; round++) {
		handle(w, false, true);
		handle(w, true, true);
		if (w->stub.state == SP_ST_UP && w->relay.state == SP_ST_UP &&
		    w->stub.session == w->relay.session && w->to_relay.n == 0 && w->to_stub.n == 0)
			break;
		if (w->stub.state == SP_ST_HELLO_SENT && w->to_relay.n == 0)
			stub_hello(w, false); /* the timer's repeat (same nonce) */
	}
	CHECK(round < 16);
	unsigned int before = w->answered;
	uint8_t f[16] = {0};
	relay_request(w, 4, 1, f);
	handle(w, true, true);
	handle(w, false, true);
	CHECK(w->answered == before + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct world w;
	uint8_t f[16];

	memset(&w, 0, sizeof(w));
	w.in = data;
	w.left = size;
	w.relay_seed = 100;
	w.nonce = 0x1000;
	sp_session_init(&w.relay, SP_ROLE_RELAY, w.relay_seed);
	sp_session_init(&w.stub, SP_ROLE_STUB, 0);
	sp_decoder_init(&w.at_relay, SP_ROLE_RELAY);
	sp_decoder_init(&w.at_stub, SP_ROLE_STUB);
	int ops = 0;
	while (w.left > 0 && ops++ < 256) {
		uint8_t op = byte(&w);
		switch (op % 10) {
		case 0:
			stub_hello(&w, byte(&w) & 1);
			break;
		case 1: {
			uint8_t t = byte(&w), c = byte(&w);
			for (int i = 0; i < 8; i++)
				f[i] = byte(&w);
			relay_request(&w, t, c % SP_MAX_CHANNELS ? c % SP_MAX_CHANNELS : 1, f);
			break;
		}
		case 2:
			handle(&w, true, !(op & 0x80));
			break;
		case 3:
			handle(&w, false, true);
			break;
		case 4: {
			struct wire *wi = byte(&w) & 1 ? &w.to_relay : &w.to_stub;
			uint8_t n = byte(&w);
			uint8_t b[256];
			for (int i = 0; i < n; i++)
				b[i] = byte(&w);
			put(wi, b, n);
			break;
		}
		case 5: {
			struct wire *wi = byte(&w) & 1 ? &w.to_relay : &w.to_stub;
			size_t n = byte(&w);
			wi->n -= n < wi->n ? n : wi->n;
			break;
		}
		case 6:
			sp_session_init(&w.stub, SP_ROLE_STUB, 0);
			sp_decoder_reset(&w.at_stub);
			break;
		case 7:
			relay_restart(&w);
			break;
		case 8:
			forged(&w);
			break;
		case 9:
			stub_notice(&w, byte(&w));
			break;
		}
		check_state(&w.relay);
		check_state(&w.stub);
	}
	settle(&w);
	return 0;
}

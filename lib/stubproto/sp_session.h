/* sp_session.h — the stub protocol's session: the reset handshake, session
 * ids, per-direction sequence numbers and (relay side) the one outstanding
 * request per channel, as a pure state machine for either end. It sends
 * nothing itself: it says what the caller must send. The design is atop
 * sp_session.c. */
#ifndef AIRLOCK_SP_SESSION_H
#define AIRLOCK_SP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "stubproto/sp_wire.h"

enum sp_state {
	SP_ST_IDLE,	  /* stub: no HELLO sent yet (or a restart is due) */
	SP_ST_HELLO_SENT, /* stub: waiting for the HELLO_ACK of our nonce */
	SP_ST_WAIT_HELLO, /* relay: no session; only a HELLO is taken */
	SP_ST_UP,	  /* a session: sequenced frames flow */
};

/* What the caller does with a received frame (sp_session_rx). */
enum sp_verdict {
	SP_V_DELIVER,	  /* a frame of the session, in order: act on it */
	SP_V_DROP,	  /* stale, duplicate or unexpected: ignore (counted) */
	SP_V_ACK,	  /* relay: a new session: send sp_session_ack(); the stub
			   * has reset every device, so replay the devices' state */
	SP_V_ACK_AGAIN,	  /* relay: the current session's HELLO repeated: send
			   * sp_session_ack() again, nothing was reset */
	SP_V_UP,	  /* stub: the session is up: reset every device, then
			   * serve requests */
	SP_V_REHANDSHAKE, /* the session broke (s->err, s->why): relay: send
			   * sp_session_rehello(); stub: reset every device and
			   * sp_session_hello() with a fresh nonce */
};

struct sp_pending {
	bool busy;
	uint16_t type;
	uint16_t want_len; /* a successful reply's result length */
	uint32_t seq;
};

struct sp_session_stats {
	uint64_t handshakes; /* sessions established */
	uint64_t stale;	     /* frames of another session, or none, dropped */
	uint64_t breaks;     /* REHANDSHAKE verdicts */
};

struct sp_session {
	enum sp_role role;
	enum sp_state state;
	uint32_t session;      /* current id; 0 when none */
	uint64_t nonce;	       /* stub: our HELLO's; relay: the session's */
	uint32_t next_session; /* relay: the id the next HELLO gets */
	uint32_t tx_seq;       /* the seq of our next sequenced frame */
	uint32_t rx_seq;       /* the seq we expect next */
	enum sp_err err;       /* why the last REHANDSHAKE */
	const char *why;
	struct sp_pending pending[SP_MAX_CHANNELS]; /* relay only */
	struct sp_session_stats st;
};

/* Initialises a session for the end `role`: a stub starts IDLE, a relay
 * WAIT_HELLO. first_id seeds the relay's session ids (pass a random
 * number, so a restarted relay does not reuse its predecessor's ids; 0 is
 * skipped); the stub ignores it. */
void sp_session_init(struct sp_session *s, enum sp_role role, uint32_t first_id);

/* Stub: starts (or restarts) the handshake with `nonce` (fresh random bytes
 * each time the port is opened or the session broke; a HELLO repeated by a
 * timer reuses the nonce: call with the same value) and writes the
 * preamble (with_preamble) and HELLO into buf. The state becomes
 * HELLO_SENT. Returns bytes written, -ENOSPC, or -EINVAL on a relay. */
int sp_session_hello(struct sp_session *s, uint64_t nonce, bool with_preamble, uint8_t *buf,
		     size_t cap);

/* Relay: writes the HELLO_ACK for the current session (after SP_V_ACK or
 * SP_V_ACK_AGAIN). Returns bytes, -ENOSPC, or -EINVAL when not UP. */
int sp_session_ack(const struct sp_session *s, uint8_t *buf, size_t cap);

/* Relay: drops the session (state WAIT_HELLO, outstanding requests
 * forgotten) and writes the preamble and a REHELLO{reason} asking the stub
 * for a new HELLO: after SP_V_REHANDSHAKE, or when the relay (re)starts on a
 * stub that may already be running. Returns bytes, -ENOSPC or -EINVAL. */
int sp_session_rehello(struct sp_session *s, enum sp_err reason, uint8_t *buf, size_t cap);

/* Takes the address of our next sequenced frame of `type` on `channel`.
 * Relay: a request needs its channel free of an outstanding request
 * (-EBUSY otherwise) and marks it outstanding until its REPLY arrives;
 * get_config_len is GET_CONFIG's len (else ignored). Returns 0, -ENOTCONN
 * when not UP, -EINVAL for a type this end does not send or a bad channel.
 * The seq is used up even if the frame is never sent, so send it. */
int sp_session_tx(struct sp_session *s, uint16_t type, uint16_t channel, uint16_t get_config_len,
		  struct sp_addr *out);

/* Judges a frame from the decoder (refused ones included) and advances the
 * state; see enum sp_verdict. In UP: frames of another session are
 * dropped; a seq other than the expected one breaks the session (the
 * frames between are lost, and requests cannot be replayed blindly); at
 * the relay a REPLY must answer the outstanding request of its channel
 * with the right type, seq and result length, and a refused REPLY breaks
 * the session. */
enum sp_verdict sp_session_rx(struct sp_session *s, const struct sp_frame *f);

/* The verdict's name for log lines. */
const char *sp_verdict_name(enum sp_verdict v);

#endif

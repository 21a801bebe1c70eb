/* sp_decoder.h — the stub protocol's streaming decoder: bytes in, whole
 * validated frames out, one at a time, resynchronising after garbage.
 * Owns no socket and allocates nothing: its state is one frame's worth of
 * bytes (SP_FRAME_MAX) inside the struct. The algorithm is described atop
 * sp_decoder.c. */
#ifndef AIRLOCK_SP_DECODER_H
#define AIRLOCK_SP_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "stubproto/sp_wire.h"

struct sp_decoder_stats {
	uint64_t frames;	 /* frames handed out, refused ones included */
	uint64_t refused;	 /* of those, refused for a payload field */
	uint64_t framing_errors; /* candidate frames thrown away */
	uint64_t skipped;	 /* bytes thrown away (padding not counted) */
	uint64_t reports;	 /* framing errors reported (one per episode) */
};

struct sp_decoder {
	enum sp_role role; /* this end: accepts what the other end sends */
	bool resyncing;	   /* an error was reported; quiet until a good frame */
	bool have_hdr;	   /* buf holds a checked header; hdr is valid */
	size_t len;	   /* bytes in buf */
	struct sp_hdr hdr;
	enum sp_err err; /* the last framing error reported */
	const char *why; /* its reason, for a (rate-limited) log line */
	struct sp_decoder_stats st;
	uint8_t buf[SP_FRAME_MAX];
};

/* Initialises an empty decoder for the end `role` (SP_ROLE_RELAY decodes
 * what a stub sends, SP_ROLE_STUB what the relay sends). */
void sp_decoder_init(struct sp_decoder *d, enum sp_role role);

/* Forgets a partly received frame (the port was reopened: what follows is
 * a new stream). Statistics are kept. */
void sp_decoder_reset(struct sp_decoder *d);

/* Consumes bytes from (*data, *len), advancing both, until one frame is
 * complete or the input is used up. Returns:
 *   1         a frame in *out; out->refused says a payload field was out of
 *             range (header, checksum and sequence fields are then valid,
 *             out->why says which field, out->m is zeroed);
 *   0         every input byte consumed, no frame complete yet;
 *   -EBADMSG  bytes that are no frame were thrown away: d->err and d->why
 *             say why. Reported once per episode of garbage; the decoder
 *             then scans quietly for the next magic until a frame decodes.
 * Call again until it returns 0. Never reads outside the input or keeps a
 * pointer to it. */
int sp_decode(struct sp_decoder *d, const uint8_t **data, size_t *len, struct sp_frame *out);

#endif

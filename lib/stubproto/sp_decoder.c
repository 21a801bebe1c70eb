/* sp_decoder.c — streaming decoder of stub-protocol frames.
 *
 * The problem. The relay and the stub's airlock-dm share one virtio-serial
 * byte stream. Neither end can tell the other "start over": when the stub
 * domain's airlock-dm dies mid-write and a new one opens the port, the relay
 * has half a frame in hand and the new stream's bytes follow it with no
 * seam. The stub side sees the same at a relay restart. A stub is also
 * hostile: anything it sends must be bounded, checked, and unable to make
 * the relay read out of bounds or hold more than one frame's worth of bytes.
 *
 * The shape. Frames are self-delimiting (magic, then a header whose type
 * bounds the length) and self-checking (a CRC-32C over header and payload).
 * The decoder holds at most one candidate frame, buf[0..len), and keeps one
 * invariant: buf is empty or starts with a prefix of the magic. It grows
 * the candidate in three stages, each needing a known number of bytes:
 *
 *   1. the 8 magic bytes — while len < 8, every byte copied in must extend
 *      the magic prefix;
 *   2. the 32-byte header — checked by sp_check_hdr (version, type sent by
 *      the other end, exact or bounded length for the type, channel, flags,
 *      session/seq form); a good header fixes the frame's total length,
 *      never more than SP_FRAME_MAX;
 *   3. the payload — then the CRC over all of it, then sp_parse's field
 *      checks.
 *
 * Resynchronisation. A failure at stage 1, 2 or the CRC means the candidate
 * is no frame: the decoder drops its first byte and slides buf down to the
 * next position whose bytes are a prefix of the magic (they may already be
 * in buf: the new stream's HELLO is often inside the "payload" of the cut
 * frame), then carries on with the bytes it holds before taking more. Every
 * byte is thus examined as a possible frame start at most once per
 * position, so the work is linear in the input times the frame size, and
 * no frame that begins after a cut can be lost to it: a real frame's magic
 * is never skipped, because dropping stops at the first magic prefix.
 * With an empty buf, input bytes up to the next 'A' are skipped in one go
 * (memchr); zero bytes there are padding (the preamble a restarting end
 * sends so that any cut frame it left behind is completed and fails its
 * CRC) and are not counted as garbage.
 *
 * A frame whose header and CRC are good but whose payload breaks a field
 * rule is different: the stream is in step, so the whole frame is dropped
 * and handed out marked `refused` (the session still counts its sequence
 * number; a stub answers a refused request with EINVAL).
 *
 * Reporting. The first framing error of an episode returns -EBADMSG with a
 * code and a reason for a rate-limited log line; later ones are counted and
 * not reported until a frame decodes again, so a flood of garbage costs one
 * log line, not one per byte.
 *
 * Why a CRC at all, over a reliable transport: it is what tells a cut frame
 * whose tail was filled in by the next stream's bytes from a real one.
 * Without it, a REPLY cut by a stub restart and completed by the new
 * stub's HELLO would be taken for an answer of the old session.
 */
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_codec.h"
#include "stubproto/sp_le.h"

#include <errno.h>
#include <string.h>

void sp_decoder_init(struct sp_decoder *d, enum sp_role role)
{
	memset(d, 0, sizeof(*d));
	d->role = role;
}

void sp_decoder_reset(struct sp_decoder *d)
{
	d->len = 0;
	d->have_hdr = false;
	d->resyncing = false;
}

/* True if buf[i..len) is a prefix of the magic (or the whole magic). */
static bool magic_prefix(const struct sp_decoder *d, size_t i)
{
	size_t n = d->len - i < SP_MAGIC_LEN ? d->len - i : SP_MAGIC_LEN;
	return memcmp(d->buf + i, SP_MAGIC, n) == 0;
}

/* Drops buf[0..k) and any following bytes up to the next magic prefix. */
static void slide(struct sp_decoder *d, size_t k)
{
	size_t i = k;

	while (i < d->len && !magic_prefix(d, i))
		i++;
	for (size_t j = 0; j < i; j++)
		d->st.skipped += d->buf[j] != 0;
	memmove(d->buf, d->buf + i, d->len - i);
	d->len -= i;
	d->have_hdr = false;
}

/* The candidate in buf is no frame. Returns -EBADMSG if this opens an
 * episode (report it), 0 to carry on quietly. */
static int framing_error(struct sp_decoder *d, enum sp_err err, const char *why)
{
	d->st.framing_errors++;
	slide(d, 1);
	if (d->resyncing)
		return 0;
	d->resyncing = true;
	d->err = err;
	d->why = why;
	d->st.reports++;
	return -EBADMSG;
}

static void parse_hdr(struct sp_decoder *d)
{
	const uint8_t *b = d->buf;

	d->hdr.version = sp_get16(b + 8);
	d->hdr.type = sp_get16(b + 10);
	d->hdr.channel = sp_get16(b + 12);
	d->hdr.flags = sp_get16(b + 14);
	d->hdr.session = sp_get32(b + 16);
	d->hdr.seq = sp_get32(b + 20);
	d->hdr.len = sp_get32(b + 24);
	d->hdr.crc = sp_get32(b + 28);
}

/* A whole, checked candidate: hand it out (refused or not) and drop it. */
static int deliver(struct sp_decoder *d, struct sp_frame *out)
{
	const uint8_t *p = d->buf + SP_HDR_SIZE;
	size_t total = SP_HDR_SIZE + d->hdr.len;

	out->hdr = d->hdr;
	out->refused = sp_parse(d->hdr.type, p, d->hdr.len, &out->m, &out->why) < 0;
	if (out->refused) {
		memset(&out->m, 0, sizeof(out->m));
		d->st.refused++;
	}
	d->st.frames++;
	d->resyncing = false;
	memmove(d->buf, d->buf + total, d->len - total);
	d->len -= total;
	d->have_hdr = false;
	return 1;
}

/* Tries to finish the candidate with the bytes in buf. Returns 1 (a frame),
 * -EBADMSG (report), 0 (quiet framing error: call again), or 2 (more bytes
 * are needed: *want says how many in all). */
static int step(struct sp_decoder *d, struct sp_frame *out, size_t *want)
{
	const char *why;

	if (d->len > 0 && !magic_prefix(d, 0))
		return framing_error(d, SP_ERR_GARBAGE, "bytes outside a frame");
	if (d->len < SP_HDR_SIZE) {
		*want = SP_HDR_SIZE;
		return 2;
	}
	if (!d->have_hdr) {
		parse_hdr(d);
		enum sp_err e = sp_check_hdr(&d->hdr, d->role, &why);
		if (e != SP_ERR_NONE)
			return framing_error(d, e, why);
		d->have_hdr = true;
	}
	if (d->len < SP_HDR_SIZE + d->hdr.len) {
		*want = SP_HDR_SIZE + d->hdr.len;
		return 2;
	}
	uint32_t crc = sp_crc32c(0, d->buf, 28);
	crc = sp_crc32c(crc, d->buf + SP_HDR_SIZE, d->hdr.len);
	if (crc != d->hdr.crc)
		return framing_error(d, SP_ERR_CRC, "checksum mismatch (a cut or corrupt frame)");
	return deliver(d, out);
}

int sp_decode(struct sp_decoder *d, const uint8_t **data, size_t *len, struct sp_frame *out)
{
	for (;;) {
		size_t want = 0;
		int rc = step(d, out, &want);
		if (rc == 1 || rc < 0)
			return rc;
		if (rc == 0)
			continue;
		if (*len == 0)
			return 0;
		if (d->len == 0) {
			/* Between frames: skip to the next possible magic. */
			const uint8_t *a = memchr(*data, SP_MAGIC[0], *len);
			size_t skip = a ? (size_t)(a - *data) : *len;
			uint64_t garbage = 0;
			for (size_t i = 0; i < skip; i++)
				garbage += (*data)[i] != 0;
			d->st.skipped += garbage;
			*data += skip;
			*len -= skip;
			if (garbage && !d->resyncing) {
				d->resyncing = true;
				d->err = SP_ERR_GARBAGE;
				d->why = "bytes outside a frame";
				d->st.framing_errors++;
				d->st.reports++;
				return -EBADMSG;
			}
			if (*len == 0)
				return 0;
		}
		/* Until the magic is whole, take one byte at a time so a
		 * mismatch is seen at the byte that breaks it. */
		size_t n = want - d->len;
		if (d->len < SP_MAGIC_LEN)
			n = 1;
		if (n > *len)
			n = *len;
		memcpy(d->buf + d->len, *data, n);
		d->len += n;
		*data += n;
		*len -= n;
	}
}

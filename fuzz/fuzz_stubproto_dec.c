/* fuzz_stubproto_dec.c — libFuzzer target for the stub protocol's streaming
 * decoder (lib/stubproto/sp_decoder.c, sp_parse.c, sp_rules.c).
 *
 * Input: one control byte, then the stream. The stream is decoded by both
 * ends' decoders — as the relay sees what a hostile stub sends, and as the
 * stub sees what the relay sends — once fed in chunks whose sizes come
 * from the control byte (a small generator, 1..64 bytes) and once in a
 * single chunk.
 *
 * Oracles: no sanitizer report; every call consumes what it says; the
 * decoder never holds more than SP_FRAME_MAX bytes; both feedings give the
 * same frames and the same number of reports (chunking changes nothing);
 * reports never outnumber the frames by more than one (one per episode of
 * garbage); every frame's header passes sp_check_hdr for the receiver;
 * every frame not refused passes its type's check and re-encodes to a
 * frame of the same length that decodes to the same frame.
 */
#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_stubproto_dec: invariant failed: %s\n", #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define MAXF 256

struct run {
	struct sp_frame f[MAXF];
	size_t n;
	uint64_t reports;
};

static void check_frame(const struct sp_frame *f, enum sp_role role)
{
	const char *why;
	struct sp_addr a = {f->hdr.channel, f->hdr.session, f->hdr.seq};
	uint8_t buf[SP_FRAME_MAX];

	CHECK(sp_check_hdr(&f->hdr, role, &why) == SP_ERR_NONE);
	if (f->refused) {
		CHECK(f->why != NULL);
		return;
	}
	int n = sp_encode(buf, sizeof(buf), f->hdr.type, &a, &f->m);
	CHECK(n == (int)(SP_HDR_SIZE + f->hdr.len));
	struct sp_decoder d;
	struct sp_frame g;
	const uint8_t *p = buf;
	size_t left = (size_t)n;
	sp_decoder_init(&d, role);
	CHECK(sp_decode(&d, &p, &left, &g) == 1);
	CHECK(left == 0 && !g.refused);
	CHECK(memcmp(&g.hdr, &f->hdr, sizeof(g.hdr)) == 0);
	CHECK(memcmp(&g.m, &f->m, sizeof(g.m)) == 0);
}

static void decode(enum sp_role role, const uint8_t *data, size_t size, uint8_t seed, struct run *r)
{
	static struct sp_decoder d;
	uint32_t x = seed * 2654435761u + 1;
	size_t off = 0;

	sp_decoder_init(&d, role);
	r->n = 0;
	r->reports = 0;
	while (off < size) {
		size_t chunk = size - off;
		if (seed) {
			x = x * 1103515245u + 12345u;
			chunk = 1 + (x >> 16) % 64;
			if (chunk > size - off)
				chunk = size - off;
		}
		const uint8_t *p = data + off;
		size_t left = chunk;
		int rc;
		do {
			const uint8_t *before = p;
			size_t left_before = left;
			struct sp_frame *f = &r->f[r->n < MAXF ? r->n : MAXF - 1];
			rc = sp_decode(&d, &p, &left, f);
			CHECK(p - before == (ptrdiff_t)(left_before - left));
			CHECK(d.len <= SP_FRAME_MAX);
			CHECK(rc == 1 || rc == 0 || rc == -EBADMSG);
			if (rc == 1) {
				check_frame(f, role);
				r->n++;
			}
			if (rc < 0) {
				CHECK(d.why != NULL && d.err != SP_ERR_NONE);
				r->reports++;
			}
		} while (rc != 0);
		CHECK(left == 0);
		off += chunk;
	}
	CHECK(r->reports <= r->n + 1);
	CHECK(d.st.frames == r->n && d.st.reports == r->reports);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run a, b;

	if (size < 1)
		return 0;
	for (int role = SP_ROLE_RELAY; role <= SP_ROLE_STUB; role++) {
		decode((enum sp_role)role, data + 1, size - 1, data[0] | 1, &a);
		decode((enum sp_role)role, data + 1, size - 1, 0, &b);
		CHECK(a.n == b.n && a.reports == b.reports);
		for (size_t i = 0; i < a.n && i < MAXF; i++) {
			CHECK(memcmp(&a.f[i].hdr, &b.f[i].hdr, sizeof(a.f[i].hdr)) == 0);
			CHECK(a.f[i].refused == b.f[i].refused);
			CHECK(memcmp(&a.f[i].m, &b.f[i].m, sizeof(a.f[i].m)) == 0);
		}
	}
	return 0;
}

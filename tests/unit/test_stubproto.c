/* test_stubproto.c — lib/stubproto: the stub protocol's codec, streaming
 * decoder and session state machine.
 *
 * Round trips of every message through encoder and decoder; a stream of
 * frames split at every byte boundary and fed byte by byte; several frames
 * in one chunk; garbage before, between and inside frames (every cut point
 * of a frame followed by a good one); every header and field refusal, each
 * followed by a good frame the decoder must still find; and the handshake:
 * a fresh start, a stub restarted with half a frame in the stream (with and
 * without the preamble), stale sessions, repeated HELLOs, sequence gaps on
 * either side, replies that answer nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_le.h"
#include "stubproto/sp_session.h"
#include "tap.h"

#define MAXF 64

struct got {
	struct sp_frame f[MAXF];
	int n;
	int reports;
	enum sp_err first_err;
};

/* Feeds bytes in chunks of `chunk` (0: all at once) into d. */
static void feed(struct sp_decoder *d, const uint8_t *p, size_t n, size_t chunk, struct got *g)
{
	size_t off = 0;
	while (off < n || (n == 0 && off == 0)) {
		size_t k = chunk && n - off > chunk ? chunk : n - off;
		const uint8_t *q = p + off;
		size_t left = k;
		int rc;
		while ((rc = sp_decode(d, &q, &left,
				       g->n < MAXF ? &g->f[g->n] : &g->f[MAXF - 1])) != 0) {
			if (rc == 1 && g->n < MAXF)
				g->n++;
			if (rc < 0) {
				if (!g->reports)
					g->first_err = d->err;
				g->reports++;
			}
		}
		CHECK(left == 0);
		off += k;
		if (n == 0)
			break;
	}
}

static struct sp_addr A(uint16_t ch, uint32_t sess, uint32_t seq) {
	struct sp_addr a = {ch, sess, seq};
	return a;
}

/* One sample of every message, with the end that receives it. */
struct sample {
	uint16_t type;
	enum sp_role to;
	struct sp_addr a;
	union sp_msg m;
};

static int samples(struct sample *s)
{
	int n = 0;
	memset(s, 0, sizeof(*s) * 16);
	s[n] = (struct sample){
		SP_T_HELLO, SP_ROLE_RELAY, A(0, 0, 0), {.hello = {1, 0x1122334455667788ull}}};
	n++;
	s[n] = (struct sample){
		SP_T_HELLO_ACK, SP_ROLE_STUB, A(0, 0, 0), {.hello_ack = {0xabcdefull, 7}}};
	n++;
	s[n] = (struct sample){SP_T_REHELLO, SP_ROLE_STUB, A(0, 0, 0), {.rehello = {SP_ERR_GAP}}};
	n++;
	s[n] = (struct sample){SP_T_SET_FEATURES,
			       SP_ROLE_STUB,
			       A(1, 7, 0),
			       {.set_features = {0x8000000130000000ull}}};
	n++;
	s[n].type = SP_T_SET_MEM_TABLE, s[n].to = SP_ROLE_STUB, s[n].a = A(2, 7, 1);
	s[n].m.mem_table.n = 2;
	s[n].m.mem_table.r[0] = (struct sp_region){0, 0xa0000, 0};
	s[n].m.mem_table.r[1] = (struct sp_region){0x100000, 0x7f00000, 0x100000};
	n++;
	s[n] = (struct sample){SP_T_VRING_START,
			       SP_ROLE_STUB,
			       A(1, 7, 2),
			       {.vring_start = {3, 256, 65535, 5, 63, 0x10000, 0x11000, 0x12000}}};
	n++;
	s[n] = (struct sample){SP_T_VRING_STOP, SP_ROLE_STUB, A(1, 7, 3), {.vring_stop = {7}}};
	n++;
	s[n] = (struct sample){SP_T_DEVICE_RESET, SP_ROLE_STUB, A(15, 7, 4), {.set_features = {0}}};
	n++;
	s[n] = (struct sample){SP_T_GET_CONFIG, SP_ROLE_STUB, A(1, 7, 5), {.get_config = {8, 256}}};
	n++;
	s[n] = (struct sample){SP_T_SET_INFLIGHT,
			       SP_ROLE_STUB,
			       A(1, 7, 6),
			       {.set_inflight = {0x8000000, 0x5000, 2, 128}}};
	n++;
	s[n].type = SP_T_REPLY, s[n].to = SP_ROLE_RELAY, s[n].a = A(1, 7, 0);
	s[n].m.reply = (struct sp_reply){.req_seq = 5, .req_type = SP_T_GET_CONFIG, .len = 256};
	for (int i = 0; i < 256; i++)
		s[n].m.reply.result[i] = (uint8_t)(i * 7 + 1);
	n++;
	s[n] = (struct sample){SP_T_READY, SP_ROLE_RELAY, A(0, 7, 1), {.set_features = {0}}};
	n++;
	s[n] = (struct sample){SP_T_DEVICE_BROKEN,
			       SP_ROLE_RELAY,
			       A(3, 7, 2),
			       {.device_broken = {SP_QUEUE_ALL, SP_BROKEN_IO}}};
	n++;
	s[n].type = SP_T_LOG, s[n].to = SP_ROLE_RELAY, s[n].a = A(0, 7, 3);
	s[n].m.log.level = 2;
	strcpy(s[n].m.log.text, "blk0: queue 1 started, 128 entries");
	s[n].m.log.len = (uint16_t)strlen(s[n].m.log.text);
	n++;
	return n;
}

static void test_crc(void)
{
	CHECK_EQ_INT(sp_crc32c(0, "123456789", 9), 0xe3069283u);
	CHECK_EQ_INT(sp_crc32c(sp_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

static void test_roundtrip(void)
{
	struct sample s[16];
	int n = samples(s);
	uint8_t buf[SP_FRAME_MAX];

	CHECK_EQ_INT(n, 14);
	for (int i = 0; i < n; i++) {
		int len = sp_encode(buf, sizeof(buf), s[i].type, &s[i].a, &s[i].m);
		CHECK(len >= (int)SP_HDR_SIZE);
		if (len < 0)
			continue;
		CHECK(memcmp(buf, "ALKSTUB1", 8) == 0);
		CHECK_EQ_INT(sp_get32(buf + 24), len - (int)SP_HDR_SIZE);
		struct sp_decoder d;
		struct got g = {0};
		sp_decoder_init(&d, s[i].to);
		feed(&d, buf, (size_t)len, 0, &g);
		CHECK_EQ_INT(g.n, 1);
		CHECK_EQ_INT(g.reports, 0);
		const struct sp_frame *f = &g.f[0];
		CHECK(!f->refused);
		CHECK_EQ_INT(f->hdr.type, s[i].type);
		CHECK_EQ_INT(f->hdr.channel, s[i].a.channel);
		CHECK_EQ_INT(f->hdr.session, s[i].a.session);
		CHECK_EQ_INT(f->hdr.seq, s[i].a.seq);
		CHECK(memcmp(&f->m, &s[i].m, sizeof(f->m)) == 0);
		/* The other end's decoder refuses it: wrong direction. */
		struct got h = {0};
		sp_decoder_init(&d, s[i].to == SP_ROLE_STUB ? SP_ROLE_RELAY : SP_ROLE_STUB);
		feed(&d, buf, (size_t)len, 0, &h);
		CHECK_EQ_INT(h.n, 0);
		CHECK_EQ_INT(h.first_err, SP_ERR_DIRECTION);
		/* Too little room: -ENOSPC and nothing written past cap. */
		CHECK_EQ_INT(sp_encode(buf, (size_t)len - 1, s[i].type, &s[i].a, &s[i].m), -ENOSPC);
	}
	CHECK_EQ_STR(sp_type_name(SP_T_VRING_START), "VRING_START");
	CHECK_EQ_STR(sp_type_name(0x99), "unknown");
	CHECK_EQ_STR(sp_err_name(SP_ERR_CRC), "crc");
}

/* The relay → stub samples back to back (what a stub's decoder sees). */
static size_t stream_to_stub(uint8_t *out, size_t cap, int *count)
{
	struct sample s[16];
	int n = samples(s);
	size_t off = 0;
	*count = 0;
	for (int i = 0; i < n; i++) {
		if (s[i].to != SP_ROLE_STUB)
			continue;
		int len = sp_encode(out + off, cap - off, s[i].type, &s[i].a, &s[i].m);
		CHECK(len > 0);
		off += (size_t)len;
		(*count)++;
	}
	return off;
}

static void test_split_everywhere(void)
{
	static uint8_t st[4096];
	int count;
	size_t n = stream_to_stub(st, sizeof(st), &count);
	struct sp_decoder d;
	int bad = 0;

	CHECK_EQ_INT(count, 9);
	for (size_t cut = 0; cut <= n; cut++) {
		static struct got g;
		memset(&g, 0, sizeof(g));
		sp_decoder_init(&d, SP_ROLE_STUB);
		feed(&d, st, cut, 0, &g);
		feed(&d, st + cut, n - cut, 0, &g);
		bad += g.n != count || g.reports != 0 || d.len != 0;
	}
	CHECK_EQ_INT(bad, 0);
	for (size_t chunk = 1; chunk <= 7; chunk++) {
		static struct got g;
		memset(&g, 0, sizeof(g));
		sp_decoder_init(&d, SP_ROLE_STUB);
		feed(&d, st, n, chunk, &g);
		CHECK_EQ_INT(g.n, count);
		CHECK_EQ_INT(g.reports, 0);
		CHECK_EQ_INT(g.f[count - 1].hdr.type, SP_T_SET_INFLIGHT);
	}
}

static void test_one_chunk(void)
{
	static uint8_t st[4096];
	static struct got g;
	int count;
	size_t n = stream_to_stub(st, sizeof(st), &count);
	struct sp_decoder d;

	sp_decoder_init(&d, SP_ROLE_STUB);
	feed(&d, st, n, 0, &g);
	CHECK_EQ_INT(g.n, count);
	CHECK_EQ_INT(d.st.frames, count);
	CHECK_EQ_INT(d.st.skipped, 0);
	CHECK_EQ_INT(g.f[0].hdr.type, SP_T_HELLO_ACK);
	CHECK_EQ_INT(g.f[3].m.mem_table.r[1].offset, 0x100000);
}

static int good_frame(uint8_t *buf, uint32_t seq)
{
	struct sp_addr a = A(1, 9, seq);
	struct sp_set_features m = {seq * 3ull};
	return sp_encode_set_features(buf, SP_FRAME_MAX, &a, &m);
}

static void test_garbage(void)
{
	uint8_t st[2048];
	struct sp_decoder d;
	static struct got g;
	size_t n = 0;

	/* before, between (with a fake magic), zero padding, a good frame */
	memcpy(st, "hello\n\xff\x01", 8), n = 8;
	n += (size_t)good_frame(st + n, 0);
	memcpy(st + n, "ALKSTUB1ALKSTUB", 15), n += 15;
	memset(st + n, 'A', 20), n += 20;
	n += (size_t)good_frame(st + n, 1);
	memset(st + n, 0, 40), n += 40;
	n += (size_t)good_frame(st + n, 2);
	for (size_t chunk = 0; chunk <= 3; chunk++) {
		memset(&g, 0, sizeof(g));
		sp_decoder_init(&d, SP_ROLE_STUB);
		feed(&d, st, n, chunk, &g);
		CHECK_EQ_INT(g.n, 3);
		CHECK_EQ_INT(g.f[2].m.set_features.features, 6);
		CHECK_EQ_INT(g.reports, 2); /* one per episode */
		CHECK_EQ_INT(g.first_err, SP_ERR_GARBAGE);
	}
	/* a pure flood reports once */
	uint8_t junk[1500];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t) "ALKSTUB1\x01\x00xyz"[i % 13];
	memset(&g, 0, sizeof(g));
	sp_decoder_init(&d, SP_ROLE_STUB);
	feed(&d, junk, sizeof(junk), 0, &g);
	CHECK_EQ_INT(g.reports, 1);
	CHECK_EQ_INT(g.n, 0);
	CHECK(d.len < SP_HDR_SIZE); /* at most a header candidate is held */
	/* padding alone is no error */
	memset(&g, 0, sizeof(g));
	sp_decoder_init(&d, SP_ROLE_STUB);
	memset(junk, 0, sizeof(junk));
	feed(&d, junk, sizeof(junk), 0, &g);
	CHECK_EQ_INT(g.reports, 0);
	CHECK_EQ_INT(d.st.skipped, 0);
}

/* A frame cut at every point, then a good one: the good one is decoded. */
static void test_cut_frames(void)
{
	uint8_t cutf[SP_FRAME_MAX], st[2 * SP_FRAME_MAX];
	struct sample s[16];
	int ns = samples(s);
	int bad = 0, cases = 0;

	for (int i = 0; i < ns; i++) {
		if (s[i].to != SP_ROLE_RELAY)
			continue;
		int clen = sp_encode(cutf, sizeof(cutf), s[i].type, &s[i].a, &s[i].m);
		for (int k = 1; k < clen; k++) {
			struct sp_addr a = A(1, 7, 99);
			struct sp_reply r = {.req_seq = 4,
					     .req_type = SP_T_VRING_STOP,
					     .len = 2,
					     .result = {0x34, 0x12}};
			memcpy(st, cutf, (size_t)k);
			int glen = sp_encode_reply(st + k, sizeof(st) - (size_t)k, &a, &r);
			struct sp_decoder d;
			static struct got g;
			memset(&g, 0, sizeof(g));
			sp_decoder_init(&d, SP_ROLE_RELAY);
			feed(&d, st, (size_t)(k + glen), 0, &g);
			cases++;
			if (g.n != 1 || g.f[0].hdr.seq != 99 || g.reports != 1 ||
			    g.f[0].m.reply.result[1] != 0x12) {
				bad++;
				printf("# cut %s at %d: %d frames, %d reports\n",
				       sp_type_name(s[i].type), k, g.n, g.reports);
			}
		}
	}
	CHECK(cases > 400);
	CHECK_EQ_INT(bad, 0);
}

/* Rewrites a header field of an encoded frame and fixes its CRC. */
static void refresh_crc(uint8_t *b)
{
	uint32_t len = sp_get32(b + 24);
	uint32_t crc = sp_crc32c(0, b, 28);
	if (len <= SP_PAYLOAD_MAX)
		crc = sp_crc32c(crc, b + SP_HDR_SIZE, len);
	sp_put32(b + 28, crc);
}

/* Feeds a patched frame then a good one; returns the first error seen
 * (SP_ERR_NONE if it was taken) and checks the good one still decodes. */
static enum sp_err feed_patched(const uint8_t *frame, size_t flen, enum sp_role to, bool *refused,
				const char **why)
{
	uint8_t st[4 * SP_FRAME_MAX];
	struct sp_decoder d;
	static struct got g;
	memcpy(st, frame, flen);
	struct sp_addr a = A(1, 9, 5);
	int glen;
	if (to == SP_ROLE_STUB) {
		glen = good_frame(st + flen, 5);
	} else {
		glen = sp_encode_ready(st + flen, SP_FRAME_MAX, &a);
	}
	memset(&g, 0, sizeof(g));
	sp_decoder_init(&d, to);
	feed(&d, st, flen + (size_t)glen, 0, &g);
	CHECK(g.n >= 1);
	CHECK_EQ_INT(g.f[g.n - 1].hdr.seq, 5);
	CHECK(!g.f[g.n - 1].refused);
	*refused = g.n == 2 && g.f[0].refused;
	*why = *refused ? g.f[0].why : d.why;
	return g.reports ? g.first_err : SP_ERR_NONE;
}

static void test_header_refusals(void)
{
	uint8_t b[SP_FRAME_MAX + 8];
	bool refused;
	const char *why;
	struct sp_addr a = A(1, 9, 0);
	struct sp_vring_stop vs = {1};
	int n;

#define PATCH(stmt, want)                                                                          \
	do {                                                                                       \
		n = sp_encode_vring_stop(b, sizeof(b), &a, &vs);                                   \
		stmt;                                                                              \
		refresh_crc(b);                                                                    \
		CHECK_EQ_INT(feed_patched(b, (size_t)n, SP_ROLE_STUB, &refused, &why), want);      \
	} while (0)
	PATCH((void)0, SP_ERR_NONE);
	PATCH(sp_put16(b + 8, 2), SP_ERR_VERSION);
	PATCH(sp_put16(b + 8, 0), SP_ERR_VERSION);
	PATCH(sp_put16(b + 10, 0x17), SP_ERR_TYPE);
	PATCH(sp_put16(b + 10, 0), SP_ERR_TYPE);
	PATCH(sp_put16(b + 10, SP_T_LIMIT), SP_ERR_TYPE);
	PATCH(sp_put16(b + 10, SP_T_READY), SP_ERR_DIRECTION);
	PATCH((sp_put32(b + 24, 5), n++), SP_ERR_SIZE);
	PATCH((sp_put32(b + 24, 3), n--), SP_ERR_SIZE);
	PATCH(sp_put32(b + 24, 0xfffffff0u), SP_ERR_SIZE);
	PATCH(sp_put16(b + 12, 0), SP_ERR_CHANNEL);
	PATCH(sp_put16(b + 12, SP_MAX_CHANNELS), SP_ERR_CHANNEL);
	PATCH(sp_put16(b + 12, 15), SP_ERR_NONE);
	PATCH(sp_put16(b + 14, 1), SP_ERR_FLAGS);
	PATCH(sp_put32(b + 16, 0), SP_ERR_ADDR);
#undef PATCH
	/* CRC: a payload byte flipped without fixing the checksum */
	n = sp_encode_vring_stop(b, sizeof(b), &a, &vs);
	b[SP_HDR_SIZE] ^= 4;
	CHECK_EQ_INT(feed_patched(b, (size_t)n, SP_ROLE_STUB, &refused, &why), SP_ERR_CRC);
	/* handshake frames with a session or seq; on a device channel */
	struct sp_hello_ack ack = {1, 2};
	for (int i = 0; i < 3; i++) {
		n = sp_encode_hello_ack(b, sizeof(b), &ack);
		if (i == 0)
			sp_put32(b + 16, 1);
		if (i == 1)
			sp_put32(b + 20, 1);
		if (i == 2)
			sp_put16(b + 12, 1);
		refresh_crc(b);
		CHECK_EQ_INT(feed_patched(b, (size_t)n, SP_ROLE_STUB, &refused, &why),
			     i == 2 ? SP_ERR_CHANNEL : SP_ERR_ADDR);
	}
	/* every fixed size: one byte more and one less */
	struct sample s[16];
	int ns = samples(s);
	for (int i = 0; i < ns; i++) {
		int len = sp_encode(b, sizeof(b), s[i].type, &s[i].a, &s[i].m);
		uint32_t pl = (uint32_t)len - SP_HDR_SIZE;
		if (s[i].type == SP_T_SET_MEM_TABLE || s[i].type == SP_T_LOG)
			continue;
		for (int delta = -1; delta <= 1; delta += 2) {
			if (pl == 0 && delta < 0)
				continue;
			sp_put32(b + 24, pl + (uint32_t)delta);
			b[len] = 0;
			refresh_crc(b);
			enum sp_err e =
				feed_patched(b, (size_t)(len + delta), s[i].to, &refused, &why);
			if (e != SP_ERR_SIZE)
				printf("# %s size %d: %s\n", sp_type_name(s[i].type), delta,
				       sp_err_name(e));
			CHECK_EQ_INT(e, SP_ERR_SIZE);
		}
	}
}

/* A message with one field out of range, encoded past the encoder's own
 * checks (a good one patched, CRC fixed): the decoder hands it out refused,
 * the stream stays in step. */
static void expect_refused(uint16_t type, const union sp_msg *good, size_t at, const void *bytes,
			   size_t nb, const char *want)
{
	uint8_t b[SP_FRAME_MAX + 8];
	struct sp_addr a = sp_type_is_handshake(type) ? A(0, 0, 0) : A(1, 9, 0);
	bool refused = false;
	const char *why = NULL;
	enum sp_role to = sp_type_from(type, SP_ROLE_RELAY) ? SP_ROLE_STUB : SP_ROLE_RELAY;

	int n = sp_encode(b, sizeof(b), type, &a, good);
	CHECK(n > 0);
	if (n <= 0)
		return;
	memcpy(b + SP_HDR_SIZE + at, bytes, nb);
	refresh_crc(b);
	CHECK_EQ_INT(feed_patched(b, (size_t)n, to, &refused, &why), SP_ERR_NONE);
	CHECK(refused);
	if (refused && (!why || !strstr(why, want))) {
		printf("# %s: refused for \"%s\", expected \"%s\"\n", sp_type_name(type),
		       why ? why : "(null)", want);
		tap_cur_failed = 1;
	}
}

static void le16(uint8_t *p, uint16_t v)
{
	sp_put16(p, v);
}

static void test_field_refusals(void)
{
	union sp_msg m;
	uint8_t v[8];

#define REFUSE(type, at, val, width, want)                                                         \
	do {                                                                                       \
		memset(v, 0, 8);                                                                   \
		if (width == 2)                                                                    \
			le16(v, (uint16_t)(val));                                                  \
		else if (width == 4)                                                               \
			sp_put32(v, (uint32_t)(val));                                              \
		else                                                                               \
			sp_put64(v, (uint64_t)(val));                                              \
		expect_refused(type, &m, at, v, width, want);                                      \
	} while (0)

	memset(&m, 0, sizeof(m));
	m.hello = (struct sp_hello){1, 5};
	REFUSE(SP_T_HELLO, 0, 2, 2, "version");
	REFUSE(SP_T_HELLO, 2, 1, 2, "reserved");
	m.hello_ack = (struct sp_hello_ack){5, 9};
	REFUSE(SP_T_HELLO_ACK, 8, 0, 4, "session 0");
	REFUSE(SP_T_HELLO_ACK, 12, 1, 4, "reserved");
	m.rehello.reason = SP_ERR_GAP;
	REFUSE(SP_T_REHELLO, 0, 0, 4, "reason");
	REFUSE(SP_T_REHELLO, 0, SP_ERR_LIMIT, 4, "reason");

	memset(&m, 0, sizeof(m));
	m.mem_table.n = 2;
	m.mem_table.r[0] = (struct sp_region){0, 0x10000, 0};
	m.mem_table.r[1] = (struct sp_region){0x100000, 0x10000, 0x10000};
	REFUSE(SP_T_SET_MEM_TABLE, 0, 1, 4, "count");
	REFUSE(SP_T_SET_MEM_TABLE, 0, 3, 4, "count");
	REFUSE(SP_T_SET_MEM_TABLE, 0, 0, 4, "count");
	REFUSE(SP_T_SET_MEM_TABLE, 4, 1, 4, "reserved");
	REFUSE(SP_T_SET_MEM_TABLE, 8 + 8, 0, 8, "empty");
	REFUSE(SP_T_SET_MEM_TABLE, 8, 0x800, 8, "aligned");
	REFUSE(SP_T_SET_MEM_TABLE, 8 + 16, 0x10, 8, "aligned");
	REFUSE(SP_T_SET_MEM_TABLE, 8 + 24, 0xfffffffffffff000ull, 8, "gpa + size wraps");
	REFUSE(SP_T_SET_MEM_TABLE, 8 + 24 + 16, 0xffffffffffff0000ull, 8, "offset + size wraps");
	REFUSE(SP_T_SET_MEM_TABLE, 8 + 24, 0x8000, 8, "overlap in guest memory");
	REFUSE(SP_T_SET_MEM_TABLE, 8 + 24 + 16, 0xf000, 8, "overlap in the BAR");
	/* nine regions cannot be encoded, nor an empty table */
	uint8_t b[SP_FRAME_MAX];
	struct sp_addr a = A(1, 9, 0);
	m.mem_table.n = 9;
	CHECK_EQ_INT(sp_encode_mem_table(b, sizeof(b), &a, &m.mem_table), -EINVAL);
	m.mem_table.n = 0;
	CHECK_EQ_INT(sp_encode_mem_table(b, sizeof(b), &a, &m.mem_table), -EINVAL);
	m.mem_table.n = 2;
	const char *why;
	CHECK_EQ_INT(sp_check_mem_table_bar(&m.mem_table, 0x20000, &why), 0);
	CHECK_EQ_INT(sp_check_mem_table_bar(&m.mem_table, 0x1f000, &why), -EINVAL);
	CHECK(strstr(why, "past the end"));

	memset(&m, 0, sizeof(m));
	m.vring_start = (struct sp_vring_start){0, 256, 0, 0, 1, 0x1000, 0x2000, 0x3000};
	REFUSE(SP_T_VRING_START, 0, 8, 2, "queue");
	REFUSE(SP_T_VRING_START, 2, 0, 2, "power of two");
	REFUSE(SP_T_VRING_START, 2, 384, 2, "power of two");
	REFUSE(SP_T_VRING_START, 6, 64, 2, "vector");
	REFUSE(SP_T_VRING_START, 8, 64, 2, "vector");
	REFUSE(SP_T_VRING_START, 10, 1, 2, "reserved");
	REFUSE(SP_T_VRING_START, 12, 1, 4, "reserved");
	REFUSE(SP_T_VRING_START, 16, 0x1008, 8, "misaligned");
	REFUSE(SP_T_VRING_START, 24, 0x2001, 8, "misaligned");
	REFUSE(SP_T_VRING_START, 32, 0x3002, 8, "misaligned");
	REFUSE(SP_T_VRING_START, 16, 0xfffffffffffff000ull, 8, "wraps");
	REFUSE(SP_T_VRING_START, 32, 0xfffffffffffffffcull, 8, "wraps");
	m.vring_start.num = 32768;
	m.vring_start.base = 0xffff;
	CHECK(sp_encode_vring_start(b, sizeof(b), &a, &m.vring_start) > 0);

	m.vring_stop.queue = 7;
	REFUSE(SP_T_VRING_STOP, 0, 8, 2, "queue");
	REFUSE(SP_T_VRING_STOP, 2, 1, 2, "reserved");
	m.get_config = (struct sp_get_config){0xffff, 1};
	REFUSE(SP_T_GET_CONFIG, 2, 0, 2, "len");
	REFUSE(SP_T_GET_CONFIG, 2, 257, 2, "len");

	memset(&m, 0, sizeof(m));
	m.set_inflight = (struct sp_set_inflight){0x10000, 0x3000, 1, 256};
	REFUSE(SP_T_SET_INFLIGHT, 8, 0, 8, "empty");
	REFUSE(SP_T_SET_INFLIGHT, 0, 0x10800, 8, "aligned");
	REFUSE(SP_T_SET_INFLIGHT, 8, 0xffffffffffff0000ull, 8, "wraps");
	REFUSE(SP_T_SET_INFLIGHT, 16, 0, 2, "num_queues");
	REFUSE(SP_T_SET_INFLIGHT, 16, 9, 2, "num_queues");
	REFUSE(SP_T_SET_INFLIGHT, 18, 0, 2, "queue_size");
	REFUSE(SP_T_SET_INFLIGHT, 18, 100, 2, "queue_size");
	REFUSE(SP_T_SET_INFLIGHT, 20, 1, 4, "reserved");
	struct sp_mem_table mt = {.n = 1, .r = {{0, 0x10000, 0}}};
	CHECK_EQ_INT(sp_check_set_inflight_bar(&m.set_inflight, &mt, 0x13000, &why), 0);
	CHECK_EQ_INT(sp_check_set_inflight_bar(&m.set_inflight, NULL, 0x12fff, &why), -EINVAL);
	mt.r[0].size = 0x11000;
	CHECK_EQ_INT(sp_check_set_inflight_bar(&m.set_inflight, &mt, 0x13000, &why), -EINVAL);
	CHECK(strstr(why, "overlaps guest RAM"));

	memset(&m, 0, sizeof(m));
	m.reply = (struct sp_reply){.req_seq = 1, .req_type = SP_T_VRING_STOP, .len = 2};
	REFUSE(SP_T_REPLY, 8, 4096, 4, "errno");
	REFUSE(SP_T_REPLY, 8, 22, 4, "failure with a result");
	REFUSE(SP_T_REPLY, 4, SP_T_REPLY, 2, "no request");
	REFUSE(SP_T_REPLY, 4, SP_T_HELLO, 2, "no request");
	REFUSE(SP_T_REPLY, 6, 257, 2, "longer");
	REFUSE(SP_T_REPLY, 12, 1, 4, "reserved");
	REFUSE(SP_T_REPLY, 16 + 2, 1, 2, "past the result");
	REFUSE(SP_T_REPLY, 16 + 255, 1, 1, "past the result");

	m.device_broken = (struct sp_device_broken){0, SP_BROKEN_RING};
	REFUSE(SP_T_DEVICE_BROKEN, 0, 8, 2, "queue");
	REFUSE(SP_T_DEVICE_BROKEN, 4, 0, 4, "reason");
	REFUSE(SP_T_DEVICE_BROKEN, 4, SP_BROKEN_LIMIT, 4, "reason");
	REFUSE(SP_T_DEVICE_BROKEN, 2, 1, 2, "reserved");

	memset(&m, 0, sizeof(m));
	m.log.len = 3;
	memcpy(m.log.text, "abc", 3);
	REFUSE(SP_T_LOG, 0, 4, 2, "level");
	REFUSE(SP_T_LOG, 2, 1, 2, "reserved");
#undef REFUSE
}

static void test_log_sanitised(void)
{
	uint8_t b[SP_FRAME_MAX];
	struct sp_addr a = A(0, 9, 0);
	char longtext[400];
	static struct got g;
	struct sp_decoder d;

	/* control bytes and high bytes patched into the wire: replaced */
	int n = sp_encode_log(b, sizeof(b), &a, 1, "ab\ncd");
	b[SP_HDR_SIZE + 4 + 2] = '\n';
	b[SP_HDR_SIZE + 4 + 3] = 0xff;
	b[SP_HDR_SIZE + 4 + 4] = 0;
	refresh_crc(b);
	sp_decoder_init(&d, SP_ROLE_RELAY);
	feed(&d, b, (size_t)n, 0, &g);
	CHECK_EQ_INT(g.n, 1);
	CHECK(!g.f[0].refused);
	CHECK_EQ_STR(g.f[0].m.log.text, "ab???");
	CHECK_EQ_INT(g.f[0].m.log.len, 5);
	/* the encoder cuts at 200 and sanitises too */
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = 0;
	longtext[3] = '\t';
	n = sp_encode_log(b, sizeof(b), &a, 3, longtext);
	CHECK_EQ_INT(n, (int)(SP_HDR_SIZE + 4 + SP_LOG_MAX));
	memset(&g, 0, sizeof(g));
	feed(&d, b, (size_t)n, 0, &g);
	CHECK_EQ_INT(g.n, 1);
	CHECK_EQ_INT(g.f[0].m.log.len, 200);
	CHECK_EQ_INT(g.f[0].m.log.text[3], '?');
	CHECK_EQ_INT(sp_encode_log(b, sizeof(b), &a, 4, "x"), -EINVAL);
	CHECK(sp_encode_log(b, sizeof(b), &a, 0, "") > 0);
	/* encoders refuse what decoders refuse: addresses too */
	struct sp_addr bad = A(0, 9, 0);
	struct sp_vring_stop vs = {0};
	CHECK_EQ_INT(sp_encode_vring_stop(b, sizeof(b), &bad, &vs), -EINVAL);
	bad = A(1, 0, 0);
	CHECK_EQ_INT(sp_encode_vring_stop(b, sizeof(b), &bad, &vs), -EINVAL);
	CHECK_EQ_INT(sp_encode_preamble(b, 10), -ENOSPC);
}

/* ---- sessions: a relay and a stub joined by their decoders ---- */

struct pair {
	struct sp_session relay, stub;
	struct sp_decoder at_relay, at_stub;
	struct sp_frame last;
};

/* Delivers bytes to one end; returns the verdict of the last frame (or -1
 * if none) and how many frames in *nf. */
static int deliver(struct sp_decoder *d, struct sp_session *s, const uint8_t *b, size_t n,
		   struct sp_frame *last, int *nf)
{
	int v = -1;
	const uint8_t *p = b;
	size_t left = n;
	int rc;
	*nf = 0;
	while ((rc = sp_decode(d, &p, &left, last)) != 0)
		if (rc == 1) {
			v = (int)sp_session_rx(s, last);
			(*nf)++;
		}
	return v;
}

static void handshake(struct pair *pp, uint64_t nonce, uint32_t want_session)
{
	uint8_t b[2 * SP_FRAME_MAX + 64];
	int nf;

	int n = sp_session_hello(&pp->stub, nonce, true, b, sizeof(b));
	CHECK(n > (int)SP_PREAMBLE_LEN);
	CHECK_EQ_INT(pp->stub.state, SP_ST_HELLO_SENT);
	CHECK_EQ_INT(deliver(&pp->at_relay, &pp->relay, b, (size_t)n, &pp->last, &nf), SP_V_ACK);
	CHECK_EQ_INT(pp->relay.session, want_session);
	n = sp_session_ack(&pp->relay, b, sizeof(b));
	CHECK(n > 0);
	CHECK_EQ_INT(deliver(&pp->at_stub, &pp->stub, b, (size_t)n, &pp->last, &nf), SP_V_UP);
	CHECK_EQ_INT(pp->stub.session, want_session);
}

static void pair_init(struct pair *pp)
{
	memset(pp, 0, sizeof(*pp));
	sp_session_init(&pp->relay, SP_ROLE_RELAY, 100);
	sp_session_init(&pp->stub, SP_ROLE_STUB, 0);
	sp_decoder_init(&pp->at_relay, SP_ROLE_RELAY);
	sp_decoder_init(&pp->at_stub, SP_ROLE_STUB);
}

/* relay: request on channel ch; stub: check and answer; relay: check. */
static void round_trip(struct pair *pp, uint16_t ch)
{
	uint8_t b[SP_FRAME_MAX];
	struct sp_addr a;
	int nf;
	struct sp_vring_stop vs = {2};

	CHECK_EQ_INT(sp_session_tx(&pp->relay, SP_T_VRING_STOP, ch, 0, &a), 0);
	int n = sp_encode_vring_stop(b, sizeof(b), &a, &vs);
	CHECK_EQ_INT(deliver(&pp->at_stub, &pp->stub, b, (size_t)n, &pp->last, &nf), SP_V_DELIVER);
	uint32_t req_seq = pp->last.hdr.seq;
	CHECK_EQ_INT(sp_session_tx(&pp->stub, SP_T_REPLY, ch, 0, &a), 0);
	struct sp_reply r = {.req_seq = req_seq, .req_type = SP_T_VRING_STOP, .len = 2};
	sp_put16(r.result, 0x4321);
	n = sp_encode_reply(b, sizeof(b), &a, &r);
	CHECK_EQ_INT(deliver(&pp->at_relay, &pp->relay, b, (size_t)n, &pp->last, &nf),
		     SP_V_DELIVER);
	CHECK_EQ_INT(sp_get16(pp->last.m.reply.result), 0x4321);
}

static void test_session_fresh(void)
{
	static struct pair pp;
	struct sp_addr a;

	pair_init(&pp);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_SET_FEATURES, 1, 0, &a), -ENOTCONN);
	CHECK_EQ_INT(sp_session_tx(&pp.stub, SP_T_READY, 0, 0, &a), -ENOTCONN);
	handshake(&pp, 0x1234, 100);
	for (int i = 0; i < 5; i++)
		round_trip(&pp, (uint16_t)(1 + i % 3));
	CHECK_EQ_INT(pp.relay.tx_seq, 5);
	CHECK_EQ_INT(pp.relay.rx_seq, 5);
	CHECK_EQ_INT(pp.stub.tx_seq, 5);
	CHECK_EQ_INT(pp.stub.rx_seq, 5);
	/* wrong sender, handshake types, channels */
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_REPLY, 1, 0, &a), -EINVAL);
	CHECK_EQ_INT(sp_session_tx(&pp.stub, SP_T_HELLO, 0, 0, &a), -EINVAL);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_SET_FEATURES, 0, 0, &a), -EINVAL);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_GET_CONFIG, 1, 0, &a), -EINVAL);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_GET_CONFIG, 1, 257, &a), -EINVAL);
	/* one outstanding request per channel */
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_DEVICE_RESET, 4, 0, &a), 0);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_DEVICE_RESET, 4, 0, &a), -EBUSY);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_DEVICE_RESET, 5, 0, &a), 0);
	CHECK_EQ_INT(pp.relay.st.handshakes, 1);
	CHECK_EQ_INT(pp.stub.st.handshakes, 1);
}

static void test_session_stub_restart(void)
{
	for (int preamble = 0; preamble <= 1; preamble++) {
		static struct pair pp;
		uint8_t b[4 * SP_FRAME_MAX], old[SP_FRAME_MAX];
		struct sp_addr a;
		int nf, n;

		pair_init(&pp);
		handshake(&pp, 0x1111, 100);
		round_trip(&pp, 1);
		/* the old stub sends half a REPLY and dies */
		struct sp_session dead = pp.stub;
		CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_GET_CONFIG, 1, 16, &a), 0);
		CHECK_EQ_INT(sp_session_tx(&dead, SP_T_REPLY, 1, 0, &a), 0);
		struct sp_reply r = {.req_seq = 1, .req_type = SP_T_GET_CONFIG, .len = 16};
		memset(r.result, 0x5a, 16);
		int olen = sp_encode_reply(old, sizeof(old), &a, &r);
		CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, old, 40, &pp.last, &nf), -1);
		/* a new stub: fresh session state, new nonce */
		sp_session_init(&pp.stub, SP_ROLE_STUB, 0);
		sp_decoder_init(&pp.at_stub, SP_ROLE_STUB);
		n = sp_session_hello(&pp.stub, 0x2222, preamble, b, sizeof(b));
		int v = deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf);
		if (preamble) {
			CHECK_EQ_INT(v, SP_V_ACK);
		} else {
			/* the HELLO sits inside the cut frame's payload until
			 * enough repeats (timer-driven in a real stub) complete
			 * that frame: 40 + 6 * 48 >= 304 */
			CHECK_EQ_INT(v, -1);
			int repeats = 1;
			while (pp.relay.st.handshakes < 2 && repeats < 10) {
				n = sp_session_hello(&pp.stub, 0x2222, false, b, sizeof(b));
				v = deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf);
				repeats++;
			}
			CHECK_EQ_INT(repeats, 6);
			CHECK_EQ_INT(v, SP_V_ACK_AGAIN); /* the later repeats */
		}
		CHECK_EQ_INT(pp.relay.st.handshakes, 2);
		CHECK_EQ_INT(pp.at_relay.err, SP_ERR_CRC);
		CHECK_EQ_INT(pp.at_relay.st.reports, 1);
		CHECK_EQ_INT(pp.relay.session, 101);
		CHECK_EQ_INT(pp.relay.pending[1].busy, false); /* the lost request */
		n = sp_session_ack(&pp.relay, b, sizeof(b));
		CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_UP);
		/* extra HELLO repeats still in flight: the same ack again, nothing reset */
		n = sp_session_hello(&pp.stub, 0x2222, false, b, sizeof(b));
		CHECK_EQ_INT(n, -EINVAL); /* the stub is UP: no repeat from it */
		struct sp_hello h = {1, 0x2222};
		n = sp_encode_hello(b, sizeof(b), &h);
		CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf),
			     SP_V_ACK_AGAIN);
		CHECK_EQ_INT(pp.relay.session, 101);
		n = sp_session_ack(&pp.relay, b, sizeof(b));
		CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf),
			     SP_V_DROP);
		/* a whole frame of the old session arriving late: dropped */
		uint64_t stale = pp.relay.st.stale;
		CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, old, (size_t)olen, &pp.last, &nf),
			     SP_V_DROP);
		CHECK_EQ_INT(pp.relay.st.stale, stale + 1);
		round_trip(&pp, 2);
		round_trip(&pp, 1);
	}
}

static void test_session_gaps(void)
{
	static struct pair pp;
	uint8_t b[2 * SP_FRAME_MAX];
	struct sp_addr a;
	int nf, n;

	/* stub → relay gap: a READY the relay never saw */
	pair_init(&pp);
	handshake(&pp, 0x10, 100);
	CHECK_EQ_INT(sp_session_tx(&pp.stub, SP_T_READY, 0, 0, &a), 0); /* lost */
	CHECK_EQ_INT(sp_session_tx(&pp.stub, SP_T_READY, 0, 0, &a), 0);
	n = sp_encode_ready(b, sizeof(b), &a);
	CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf),
		     SP_V_REHANDSHAKE);
	CHECK_EQ_INT(pp.relay.err, SP_ERR_GAP);
	CHECK_EQ_INT(pp.relay.state, SP_ST_WAIT_HELLO);
	/* frames of the broken session are dropped until a new HELLO */
	CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf), SP_V_DROP);
	n = sp_session_rehello(&pp.relay, SP_ERR_GAP, b, sizeof(b));
	CHECK_EQ_INT(n, (int)(SP_PREAMBLE_LEN + SP_HDR_SIZE + 8));
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_REHANDSHAKE);
	CHECK_EQ_INT(pp.stub.state, SP_ST_IDLE);
	CHECK_EQ_INT(pp.stub.err, SP_ERR_GAP);
	CHECK_EQ_INT(sp_session_hello(&pp.stub, 0x10, true, b, sizeof(b)), -EINVAL); /* reused */
	handshake(&pp, 0x11, 101);
	round_trip(&pp, 3);

	/* relay → stub gap */
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_DEVICE_RESET, 1, 0, &a), 0);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_DEVICE_RESET, 2, 0, &a), 0);
	n = sp_encode_device_reset(b, sizeof(b), &a);
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_REHANDSHAKE);
	CHECK_EQ_INT(pp.stub.state, SP_ST_IDLE);
	/* a repeat of an old seq breaks it too */
	handshake(&pp, 0x12, 102);
	round_trip(&pp, 1);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_DEVICE_RESET, 1, 0, &a), 0);
	n = sp_encode_device_reset(b, sizeof(b), &a);
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_DELIVER);
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_REHANDSHAKE);
	CHECK_EQ_INT(pp.stub.st.breaks, 3);
}

/* The relay's REHELLO at port connect reaches the stub after its HELLO
 * went out: dropped, the HELLO is acked, one session, no second handshake. */
static void test_session_rehello_crossing_hello(void)
{
	static struct pair pp;
	uint8_t hb[2 * SP_FRAME_MAX + 64], rb[2 * SP_FRAME_MAX];
	int nf;

	pair_init(&pp);
	int rn = sp_session_rehello(&pp.relay, SP_ERR_GARBAGE, rb, sizeof(rb));
	CHECK(rn > 0);
	int hn = sp_session_hello(&pp.stub, 0x77, true, hb, sizeof(hb));
	CHECK(hn > 0);
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, rb, (size_t)rn, &pp.last, &nf), SP_V_DROP);
	CHECK_EQ_INT(pp.stub.state, SP_ST_HELLO_SENT);
	CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, hb, (size_t)hn, &pp.last, &nf), SP_V_ACK);
	int n = sp_session_ack(&pp.relay, rb, sizeof(rb));
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, rb, (size_t)n, &pp.last, &nf), SP_V_UP);
	CHECK_EQ_INT(pp.stub.st.handshakes, 1);
	CHECK_EQ_INT(pp.stub.st.breaks, 0);
	round_trip(&pp, 1);
	/* Once up, a REHELLO still breaks the session. */
	n = sp_session_rehello(&pp.relay, SP_ERR_GAP, rb, sizeof(rb));
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, rb, (size_t)n, &pp.last, &nf),
		     SP_V_REHANDSHAKE);
}

static void test_session_stale_and_acks(void)
{
	static struct pair pp;
	uint8_t b[2 * SP_FRAME_MAX];
	struct sp_addr a = A(1, 100, 0);
	int nf, n;

	pair_init(&pp);
	/* nothing but HELLO before a session; nothing but its ACK in HELLO_SENT */
	n = sp_encode_ready(b, sizeof(b), &a);
	CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf), SP_V_DROP);
	n = sp_session_hello(&pp.stub, 0x77, false, b, sizeof(b));
	n = sp_encode_device_reset(b, sizeof(b), &a);
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_DROP);
	struct sp_hello_ack wrong = {0x76, 5};
	n = sp_encode_hello_ack(b, sizeof(b), &wrong);
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_DROP);
	CHECK_EQ_INT(pp.stub.state, SP_ST_HELLO_SENT);
	/* the repeat of a pending HELLO keeps its nonce; a new nonce restarts */
	CHECK(sp_session_hello(&pp.stub, 0x77, false, b, sizeof(b)) > 0);
	CHECK_EQ_INT(sp_session_hello(&pp.stub, 0x77, true, b, 10), -ENOSPC);
	CHECK_EQ_INT(sp_session_hello(&pp.stub, 0, false, b, sizeof(b)), -EINVAL);
	CHECK_EQ_INT(sp_session_hello(&pp.relay, 5, false, b, sizeof(b)), -EINVAL);
	CHECK_EQ_INT(sp_session_ack(&pp.relay, b, sizeof(b)), -EINVAL);
	handshake(&pp, 0x78, 100);
	/* a new stub nonce while UP: a new session, old frames stale */
	struct sp_addr olda;
	CHECK_EQ_INT(sp_session_tx(&pp.stub, SP_T_READY, 0, 0, &olda), 0);
	handshake(&pp, 0x79, 101);
	n = sp_encode_ready(b, sizeof(b), &olda);
	CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf), SP_V_DROP);
	CHECK(pp.relay.st.stale >= 2);
	/* a relay restart: a new relay asks for a HELLO */
	sp_session_init(&pp.relay, SP_ROLE_RELAY, 0xffffffffu);
	sp_decoder_init(&pp.at_relay, SP_ROLE_RELAY);
	n = sp_session_rehello(&pp.relay, SP_ERR_NONE, b, sizeof(b));
	CHECK_EQ_INT(n, -EINVAL);
	n = sp_session_rehello(&pp.relay, SP_ERR_GARBAGE, b, sizeof(b));
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_REHANDSHAKE);
	handshake(&pp, 0x80, 0xffffffffu);
	CHECK_EQ_INT(pp.relay.next_session, 1); /* 0 is skipped */
	round_trip(&pp, 15);
}

static void test_session_replies(void)
{
	static struct pair pp;
	uint8_t b[2 * SP_FRAME_MAX];
	struct sp_addr a;
	int nf, n;

	struct {
		uint16_t req, cfg_len;
		struct sp_reply r;
		int verdict;
	} cases[] = {
		/* no request outstanding on channel 2 */
		{0, 0, {.req_seq = 0, .req_type = SP_T_DEVICE_RESET}, SP_V_REHANDSHAKE},
		{SP_T_DEVICE_RESET, 0, {.req_seq = 0, .req_type = SP_T_DEVICE_RESET}, SP_V_DELIVER},
		{SP_T_DEVICE_RESET,
		 0,
		 {.req_seq = 1, .req_type = SP_T_DEVICE_RESET},
		 SP_V_REHANDSHAKE},
		{SP_T_DEVICE_RESET,
		 0,
		 {.req_seq = 0, .req_type = SP_T_VRING_STOP, .len = 2},
		 SP_V_REHANDSHAKE},
		{SP_T_VRING_STOP, 0, {.req_seq = 0, .req_type = SP_T_VRING_STOP}, SP_V_REHANDSHAKE},
		{SP_T_VRING_STOP,
		 0,
		 {.req_seq = 0, .req_type = SP_T_VRING_STOP, .status = 5},
		 SP_V_DELIVER},
		{SP_T_GET_CONFIG,
		 12,
		 {.req_seq = 0, .req_type = SP_T_GET_CONFIG, .len = 12},
		 SP_V_DELIVER},
		{SP_T_GET_CONFIG,
		 12,
		 {.req_seq = 0, .req_type = SP_T_GET_CONFIG, .len = 13},
		 SP_V_REHANDSHAKE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pair_init(&pp);
		handshake(&pp, 0x500 + i, 100);
		if (cases[i].req)
			CHECK_EQ_INT(
				sp_session_tx(&pp.relay, cases[i].req, 2, cases[i].cfg_len, &a), 0);
		CHECK_EQ_INT(sp_session_tx(&pp.stub, SP_T_REPLY, 2, 0, &a), 0);
		n = sp_encode_reply(b, sizeof(b), &a, &cases[i].r);
		CHECK(n > 0);
		int v = deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf);
		if (v != cases[i].verdict)
			printf("# case %zu: %s\n", i, sp_verdict_name((enum sp_verdict)v));
		CHECK_EQ_INT(v, cases[i].verdict);
		if (v == SP_V_DELIVER)
			CHECK(!pp.relay.pending[2].busy);
	}
	/* a refused reply (reserved bytes set) breaks the session */
	pair_init(&pp);
	handshake(&pp, 0x600, 100);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_DEVICE_RESET, 2, 0, &a), 0);
	CHECK_EQ_INT(sp_session_tx(&pp.stub, SP_T_REPLY, 2, 0, &a), 0);
	struct sp_reply r = {.req_seq = 0, .req_type = SP_T_DEVICE_RESET};
	n = sp_encode_reply(b, sizeof(b), &a, &r);
	b[SP_HDR_SIZE + 12] = 1;
	refresh_crc(b);
	CHECK_EQ_INT(deliver(&pp.at_relay, &pp.relay, b, (size_t)n, &pp.last, &nf),
		     SP_V_REHANDSHAKE);
	CHECK(pp.last.refused);
	CHECK_EQ_INT(pp.relay.err, SP_ERR_REPLY);
	/* a refused request is delivered, marked, and its seq counted */
	pair_init(&pp);
	handshake(&pp, 0x601, 100);
	CHECK_EQ_INT(sp_session_tx(&pp.relay, SP_T_VRING_STOP, 1, 0, &a), 0);
	struct sp_vring_stop vs = {0};
	n = sp_encode_vring_stop(b, sizeof(b), &a, &vs);
	sp_put16(b + SP_HDR_SIZE, 9);
	refresh_crc(b);
	CHECK_EQ_INT(deliver(&pp.at_stub, &pp.stub, b, (size_t)n, &pp.last, &nf), SP_V_DELIVER);
	CHECK(pp.last.refused);
	CHECK_EQ_INT(pp.stub.rx_seq, 1);
	CHECK_EQ_STR(sp_verdict_name(SP_V_ACK_AGAIN), "ack-again");
}

int main(void)
{
	RUN(test_crc);
	RUN(test_roundtrip);
	RUN(test_split_everywhere);
	RUN(test_one_chunk);
	RUN(test_garbage);
	RUN(test_cut_frames);
	RUN(test_header_refusals);
	RUN(test_field_refusals);
	RUN(test_log_sanitised);
	RUN(test_session_fresh);
	RUN(test_session_stub_restart);
	RUN(test_session_gaps);
	RUN(test_session_rehello_crossing_hello);
	RUN(test_session_stale_and_acks);
	RUN(test_session_replies);
	return tap_done();
}

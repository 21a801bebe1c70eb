/* fuzz_msg.c — libFuzzer target for the xenstore message parsers.
 *
 * The input is a stream of messages as a client would send them: a 16-byte
 * header and up to `len` bytes of payload (cut short at the end of the
 * input). For each message:
 *
 *   - xs_hdr_decode, which must refuse exactly the lengths over 4096;
 *   - xs_req_parse for the header's type and for every other type, with the
 *     payload in a heap block of exactly len + 1 bytes (the NUL guard), so
 *     AddressSanitizer sees any read past it. A successful parse must split
 *     the payload into consecutive strings lying inside it, plus WRITE's
 *     value, covering every byte, with an argument count the type allows;
 *   - xs_path_canonical on every argument, for domains 0 and 7 with special
 *     paths allowed or not, checked against a reference validator written
 *     from xs_path.h's rules, then checked for the shape of its result
 *     (leading '/' or '@', no "//", no trailing '/', idempotent) and for
 *     agreement with xs_path_parent_len, xs_path_basename, xs_path_is_child;
 *   - xs_perm_parse on every argument, and a format/parse round trip.
 *
 * Any violated invariant aborts with a message naming it.
 */
#include "xs/xs_msg.h"
#include "xs/xs_path.h"
#include "xs/xs_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_msg: invariant failed: %s: ", #cond);                \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Messages per input: enough for interesting streams, few enough to keep
 * an input's work bounded. */
#define MAX_MESSAGES 64

/* The argument counts each type allows, restated from the protocol
 * (docs/misc/xenstore.txt) as an independent check of xs_msg.c's table:
 * min, max (0 max: not a request type), and whether a value follows. */
static const struct {
	unsigned min, max;
	bool tail;
} expect[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {1, XS_ARGS_MAX, false},
	[XS_DIRECTORY] = {1, 1, false},
	[XS_READ] = {1, 1, false},
	[XS_GET_PERMS] = {1, 1, false},
	[XS_WATCH] = {2, XS_ARGS_MAX, false},
	[XS_UNWATCH] = {2, XS_ARGS_MAX, false},
	[XS_TRANSACTION_START] = {0, 1, false},
	[XS_TRANSACTION_END] = {1, 1, false},
	[XS_INTRODUCE] = {3, XS_ARGS_MAX, false},
	[XS_RELEASE] = {1, 1, false},
	[XS_GET_DOMAIN_PATH] = {1, 1, false},
	[XS_WRITE] = {1, 1, true},
	[XS_MKDIR] = {1, 1, false},
	[XS_RM] = {1, 1, false},
	[XS_SET_PERMS] = {2, XS_ARGS_MAX, false},
	[XS_IS_DOMAIN_INTRODUCED] = {1, 1, false},
	[XS_RESUME] = {1, 1, false},
	[XS_SET_TARGET] = {2, 2, false},
	[XS_RESET_WATCHES] = {0, 1, false},
	[XS_DIRECTORY_PART] = {2, 2, false},
	[XS_GET_FEATURE] = {0, 1, false},
	[XS_SET_FEATURE] = {2, 2, false},
	[XS_GET_QUOTA] = {0, 2, false},
	[XS_SET_QUOTA] = {2, 3, false},
};

static bool ref_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-/_@", c) != NULL;
}

/* Reference for xs_path_canonical, from the rules in xs_path.h. Returns
 * whether `in` is valid and writes its absolute form into `out`. */
static bool ref_canonical(const char *in, unsigned domid, bool special, char *out)
{
	size_t len = strlen(in), ol;

	if (len == 0 || len > XS_ABS_PATH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ref_char_ok(in[i]))
			return false;
	if (in[0] == '@') {
		if (!special || strchr(in, '/'))
			return false;
		strcpy(out, in);
		return true;
	}
	if (in[0] == '/') {
		strcpy(out, in);
	} else {
		if (len > XS_REL_PATH_MAX)
			return false;
		if ((size_t)snprintf(out, XS_PATH_BUF, "/local/domain/%u/%s", domid, in) >
		    XS_ABS_PATH_MAX)
			return false;
	}
	ol = strlen(out);
	return !strstr(out, "//") && (ol == 1 || out[ol - 1] != '/');
}

/* Checks the shape of a canonical path and the helpers that take one. */
static void check_canonical(const char *in, const char *out, unsigned domid, bool special, bool rel)
{
	char again[XS_PATH_BUF], parent[XS_PATH_BUF];
	size_t len = strlen(out), pl;
	bool rel2 = true;

	CHECK(len >= 1 && len <= XS_ABS_PATH_MAX, "in \"%s\" out len %zu", in, len);
	CHECK(out[0] == '/' || out[0] == '@', "in \"%s\" out \"%s\"", in, out);
	CHECK(!strstr(out, "//"), "in \"%s\" out \"%s\"", in, out);
	CHECK(len == 1 || out[len - 1] != '/', "in \"%s\" out \"%s\"", in, out);
	CHECK(out[0] != '@' || special, "special path \"%s\" accepted", in);
	CHECK(rel == (in[0] != '/' && in[0] != '@'), "in \"%s\" relative %d", in, rel);
	/* Canonical form is a fixed point, whoever asks. */
	CHECK(xs_path_canonical(out, domid ^ 1, special, again, &rel2) == 0, "out \"%s\"", out);
	CHECK(!rel2 && strcmp(again, out) == 0, "\"%s\" -> \"%s\"", out, again);
	if (out[0] == '@') {
		CHECK(xs_path_is_special(out), "\"%s\"", out);
		return;
	}
	CHECK(!xs_path_is_special(out), "\"%s\"", out);
	CHECK(xs_path_is_child(out, out) && xs_path_is_child(out, "/"), "\"%s\"", out);
	pl = xs_path_parent_len(out);
	if (len == 1) {
		CHECK(pl == 0 && strcmp(xs_path_basename(out), "") == 0, "root");
		return;
	}
	CHECK(pl >= 1 && pl < len, "\"%s\" parent len %zu", out, pl);
	CHECK(pl == 1 || out[pl] == '/', "\"%s\" parent len %zu", out, pl);
	memcpy(parent, out, pl);
	parent[pl] = '\0';
	CHECK(xs_path_is_child(out, parent), "\"%s\" under \"%s\"", out, parent);
	CHECK(!xs_path_is_child(parent, out), "\"%s\" under \"%s\"", parent, out);
	CHECK(xs_path_basename(out) == out + (pl == 1 ? 1 : pl + 1), "\"%s\"", out);
	CHECK(!strchr(xs_path_basename(out), '/') && xs_path_basename(out)[0], "\"%s\"", out);
}

static void check_path(const char *arg)
{
	static const unsigned domids[] = {0, 7};
	char out[XS_PATH_BUF], ref[XS_PATH_BUF];

	for (unsigned d = 0; d < 2; d++) {
		for (int special = 0; special < 2; special++) {
			bool rel = false;
			int r = xs_path_canonical(arg, domids[d], special, out, &rel);
			bool ok = ref_canonical(arg, domids[d], special, ref);

			CHECK(r == 0 || r == -EINVAL, "returned %d", r);
			CHECK((r == 0) == ok, "\"%.80s\" (domid %u, special %d): %d, expected %s",
			      arg, domids[d], special, r, ok ? "valid" : "invalid");
			if (r)
				continue;
			CHECK(strcmp(out, ref) == 0, "\"%s\" -> \"%s\", expected \"%s\"", arg, out,
			      ref);
			check_canonical(arg, out, domids[d], special, rel);
		}
	}
}

static void check_perm(const char *arg)
{
	struct xs_perm p, p2;
	char text[16];
	int n;

	if (xs_perm_parse(arg, &p))
		return;
	CHECK(strchr("rwbn", arg[0]) && arg[0], "\"%s\" accepted", arg);
	CHECK(p.domid <= XS_DOMID_MAX && p.bits <= XS_PERM_BOTH, "\"%s\"", arg);
	CHECK(arg[1] >= '0' && arg[1] <= '9', "\"%s\" accepted", arg);
	n = xs_perm_format(&p, text, sizeof(text));
	CHECK(n > 1 && (size_t)n < sizeof(text) && text[0] == arg[0], "\"%s\" -> \"%s\"", arg,
	      text);
	CHECK(xs_perm_parse(text, &p2) == 0 && p2.domid == p.domid && p2.bits == p.bits,
	      "\"%s\" -> \"%s\" does not parse back", arg, text);
}

/* Parses `payload` as type `type` and checks the result; returns whether
 * it parsed. */
static bool check_parse(uint32_t type, const uint8_t *payload, uint32_t len, struct xs_req *req)
{
	const char *why = NULL;
	size_t covered = 0;
	int r = xs_req_parse(type, payload, len, req, &why);

	CHECK(req->type == type, "type %u", type);
	if (r) {
		CHECK(r == -EINVAL || r == -ENOSYS || r == -E2BIG, "type %u: %d", type, r);
		CHECK(why && why[0], "type %u: no reason", type);
		CHECK(r != -ENOSYS || type >= XS_TYPE_COUNT || expect[type].max == 0,
		      "type %u refused as unknown", type);
		return false;
	}
	CHECK(type < XS_TYPE_COUNT && expect[type].max, "type %u accepted", type);
	CHECK(req->nargs <= XS_ARGS_MAX, "%u args", req->nargs);
	CHECK(req->nargs >= expect[type].min && req->nargs <= expect[type].max, "type %u: %u args",
	      type, req->nargs);
	for (unsigned i = 0; i < req->nargs; i++) {
		const uint8_t *a = (const uint8_t *)req->args[i];
		CHECK(a == payload + covered, "type %u: arg %u at offset %td, expected %zu", type,
		      i, a - payload, covered);
		CHECK(covered < len && memchr(a, 0, len - covered),
		      "type %u: arg %u not terminated inside the payload", type, i);
		covered += strlen(req->args[i]) + 1;
	}
	if (expect[type].tail) {
		CHECK(req->value == payload + covered, "type %u: value misplaced", type);
		CHECK(covered + req->value_len == len, "type %u: value length %zu", type,
		      req->value_len);
	} else {
		CHECK(req->value == NULL && req->value_len == 0, "type %u: value", type);
		CHECK(covered == len, "type %u: %zu of %u bytes covered", type, covered, len);
	}
	/* A type with no argument takes nothing or one empty string
	 * (GET_FEATURE's argument is optional, not absent). */
	if (type == XS_TRANSACTION_START || type == XS_RESET_WATCHES)
		CHECK(req->nargs == 0 || req->args[0][0] == '\0', "type %u: argument", type);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xs_req req; /* 32 KiB: not on the stack */
	size_t pos = 0;

	for (unsigned m = 0; m < MAX_MESSAGES && size - pos >= XS_HDR_SIZE; m++) {
		struct xs_hdr h;
		uint8_t raw[XS_HDR_SIZE];
		uint8_t *payload;
		uint32_t len;
		int r = xs_hdr_decode(data + pos, &h);

		CHECK(r == 0 || r == -E2BIG, "decode returned %d", r);
		CHECK((r == -E2BIG) == (h.len > XS_PAYLOAD_MAX), "len %u: %d", h.len, r);
		xs_hdr_encode(&h, raw);
		CHECK(memcmp(raw, data + pos, XS_HDR_SIZE) == 0, "header does not round-trip");
		pos += XS_HDR_SIZE;
		if (r)
			break; /* the server disconnects: the stream cannot resynchronise */
		len = h.len < size - pos ? h.len : (uint32_t)(size - pos);
		payload = malloc((size_t)len + 1);
		if (!payload)
			abort();
		memcpy(payload, data + pos, len);
		payload[len] = 0;
		pos += len;
		/* Every type's shape rules see the payload... */
		for (uint32_t t = 0; t <= XS_TYPE_COUNT; t++)
			check_parse(t, payload, len, &req);
		check_parse(XS_INVALID, payload, len, &req);
		/* ...and the arguments as the header's type splits them (else as
		 * CONTROL or WRITE would, which take any strings) go through the
		 * path and permission parsers. */
		if (check_parse(h.type, payload, len, &req) ||
		    check_parse(XS_CONTROL, payload, len, &req) ||
		    check_parse(XS_WRITE, payload, len, &req)) {
			for (unsigned i = 0; i < req.nargs; i++) {
				check_path(req.args[i]);
				check_perm(req.args[i]);
			}
		}
		free(payload);
	}
	return 0;
}

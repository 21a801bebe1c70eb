/* xs_msg.h — parsing and building xenstore messages.
 *
 * Everything here treats its input as hostile: it comes from a client or a
 * guest. Parsers never read past the bytes they are given, never allocate,
 * and say why they reject something.
 */
#ifndef AIRLOCK_XS_MSG_H
#define AIRLOCK_XS_MSG_H

#include "xs/xs_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes a raw header. Returns 0, or -E2BIG if len exceeds
 * XS_PAYLOAD_MAX (the peer must be disconnected: the stream cannot be
 * resynchronised). */
int xs_hdr_decode(const uint8_t raw[XS_HDR_SIZE], struct xs_hdr *out);

/* Encodes a header into 16 raw bytes. */
void xs_hdr_encode(const struct xs_hdr *h, uint8_t raw[XS_HDR_SIZE]);

/* Most NUL-terminated strings a payload can hold (a 4096-byte payload of
 * empty strings). */
#define XS_ARGS_MAX (XS_PAYLOAD_MAX)

/* A request payload split into its parts. Pointers point into the payload,
 * which the caller keeps alive and NUL-guarded (one extra zero byte). */
struct xs_req {
	uint32_t type;
	unsigned int nargs; /* NUL-terminated strings */
	const char *args[XS_ARGS_MAX];
	const uint8_t *value; /* WRITE: the bytes after the path */
	size_t value_len;
};

/* Splits and shape-checks a request payload of type `type` (the header has
 * already passed xs_hdr_decode). On success returns 0 with `req` filled; on
 * failure returns -EINVAL (wrong shape: missing terminator, wrong number of
 * arguments) or -ENOSYS (unknown or unsupported type), with a static
 * description in *why. `payload` must have one readable zero byte after
 * `len` bytes. */
int xs_req_parse(uint32_t type, const uint8_t *payload, uint32_t len, struct xs_req *req,
		 const char **why);

/* One permission as stored: a domain and its XS_PERM_* bits. */
struct xs_perm {
	uint32_t domid;
	uint8_t bits;
};

/* Parses "r5", "w0", "b12", "n3". Returns 0, or -EINVAL (bad letter, bad or
 * out-of-range domid). */
int xs_perm_parse(const char *s, struct xs_perm *out);

/* Writes a permission as text ("b12") into `out` (at least 8 bytes).
 * Returns the length written. */
int xs_perm_format(const struct xs_perm *p, char *out, size_t outsz);

#endif

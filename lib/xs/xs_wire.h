/* xs_wire.h — the xenstore wire protocol as airlock speaks it.
 *
 * Written from Xen's docs/misc/xenstore.txt and the message/error tables of
 * xs_wire.h (which define the protocol; this is airlock's own rendering).
 * Every message in either direction is a 16-byte header in host byte order
 * followed by `len` bytes of payload, len <= XS_PAYLOAD_MAX.
 */
#ifndef AIRLOCK_XS_WIRE_H
#define AIRLOCK_XS_WIRE_H

#include <stdint.h>

enum xs_type {
	XS_CONTROL = 0, /* formerly XS_DEBUG */
	XS_DIRECTORY = 1,
	XS_READ = 2,
	XS_GET_PERMS = 3,
	XS_WATCH = 4,
	XS_UNWATCH = 5,
	XS_TRANSACTION_START = 6,
	XS_TRANSACTION_END = 7,
	XS_INTRODUCE = 8,
	XS_RELEASE = 9,
	XS_GET_DOMAIN_PATH = 10,
	XS_WRITE = 11,
	XS_MKDIR = 12,
	XS_RM = 13,
	XS_SET_PERMS = 14,
	XS_WATCH_EVENT = 15,
	XS_ERROR = 16,
	XS_IS_DOMAIN_INTRODUCED = 17,
	XS_RESUME = 18,
	XS_SET_TARGET = 19,
	XS_RESTRICT = 20, /* removed upstream: always invalid */
	XS_RESET_WATCHES = 21,
	XS_DIRECTORY_PART = 22,
	XS_GET_FEATURE = 23,
	XS_SET_FEATURE = 24,
	XS_GET_QUOTA = 25,
	XS_SET_QUOTA = 26,
	XS_TYPE_COUNT,
	XS_INVALID = 0xffff,
};

struct xs_hdr {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len;
};

#define XS_HDR_SIZE	16u
#define XS_PAYLOAD_MAX	4096u
#define XS_ABS_PATH_MAX 3072u
#define XS_REL_PATH_MAX 2048u
#define XS_DOMID_MAX	65535u

/* Permission bits as airlock stores them; on the wire a permission is a
 * letter (r, w, b, n) followed by a decimal domid. */
#define XS_PERM_NONE  0u
#define XS_PERM_READ  1u
#define XS_PERM_WRITE 2u
#define XS_PERM_BOTH  (XS_PERM_READ | XS_PERM_WRITE)

/* The protocol's error names, in xs_wire.h's order. Returns the name for a
 * positive errno, or "EINVAL" for any errno the protocol cannot name. */
const char *xs_error_name(int err);

/* Returns the positive errno for an error name, or 0 if unknown. */
int xs_error_from_name(const char *name);

/* Returns "READ", "WRITE", ... or "UNKNOWN" for a type. */
const char *xs_type_name(uint32_t type);

#endif

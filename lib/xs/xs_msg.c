/* xs_msg.c — see xs_msg.h. */
#include "xs/xs_msg.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int xs_hdr_decode(const uint8_t raw[XS_HDR_SIZE], struct xs_hdr *out)
{
	memcpy(out, raw, sizeof(*out));
	if (out->len > XS_PAYLOAD_MAX)
		return -E2BIG;
	return 0;
}

void xs_hdr_encode(const struct xs_hdr *h, uint8_t raw[XS_HDR_SIZE])
{
	memcpy(raw, h, XS_HDR_SIZE);
}

/* Argument-count rules per type: at least `min` strings, at most `max`;
 * `tail` allows unterminated bytes after the last string (WRITE's value). */
struct shape {
	uint16_t min, max;
	bool tail;
};

#define ANY XS_ARGS_MAX
static const struct shape shapes[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {1, ANY, false},
	[XS_DIRECTORY] = {1, 1, false},
	[XS_READ] = {1, 1, false},
	[XS_GET_PERMS] = {1, 1, false},
	[XS_WATCH] = {2, ANY, false}, /* <wpath>|<token>|? */
	[XS_UNWATCH] = {2, ANY, false},
	[XS_TRANSACTION_START] = {0, 1, false},
	[XS_TRANSACTION_END] = {1, 1, false},
	[XS_INTRODUCE] = {3, ANY, false},
	[XS_RELEASE] = {1, 1, false},
	[XS_GET_DOMAIN_PATH] = {1, 1, false},
	[XS_WRITE] = {1, 1, true},
	[XS_MKDIR] = {1, 1, false},
	[XS_RM] = {1, 1, false},
	[XS_SET_PERMS] = {2, ANY, false},
	[XS_IS_DOMAIN_INTRODUCED] = {1, 1, false},
	[XS_RESUME] = {1, 1, false},
	[XS_SET_TARGET] = {2, 2, false},
	[XS_RESET_WATCHES] = {0, 1, false},
	[XS_DIRECTORY_PART] = {2, 2, false},
	[XS_GET_FEATURE] = {0, 1, false}, /* [<domid>] */
	[XS_SET_FEATURE] = {2, 2, false},
	[XS_GET_QUOTA] = {0, 2, false},
	[XS_SET_QUOTA] = {2, 3, false},
};

int xs_req_parse(uint32_t type, const uint8_t *payload, uint32_t len, struct xs_req *req,
		 const char **why)
{
	const struct shape *sh;
	uint32_t pos = 0;

	req->type = type;
	req->nargs = 0;
	req->value = NULL;
	req->value_len = 0;
	if (type >= XS_TYPE_COUNT || shapes[type].max == 0) {
		*why = "unknown or unsupported message type";
		return -ENOSYS;
	}
	if (len > XS_PAYLOAD_MAX) {
		*why = "payload longer than 4096 bytes";
		return -E2BIG;
	}
	sh = &shapes[type];
	while (pos < len && req->nargs < sh->max) {
		const uint8_t *nul = memchr(payload + pos, 0, len - pos);
		if (!nul)
			break; /* unterminated tail */
		req->args[req->nargs++] = (const char *)payload + pos;
		pos = (uint32_t)(nul - payload) + 1;
	}
	if (pos < len) {
		if (!sh->tail) {
			*why = req->nargs == sh->max ? "too many arguments"
						     : "argument not NUL-terminated";
			return -EINVAL;
		}
	}
	if (sh->tail) {
		req->value = payload + pos;
		req->value_len = len - pos;
	}
	if (req->nargs < sh->min) {
		*why = "too few arguments";
		return -EINVAL;
	}
	/* Types that take no argument accept "" or a single empty string
	 * (GET_FEATURE's one argument is optional, not absent). */
	if ((type == XS_TRANSACTION_START || type == XS_RESET_WATCHES) && req->nargs == 1 &&
	    req->args[0][0] != '\0') {
		*why = "unexpected argument";
		return -EINVAL;
	}
	return 0;
}

int xs_perm_parse(const char *s, struct xs_perm *out)
{
	unsigned int domid;
	uint8_t bits;

	switch (s[0]) {
	case 'r':
		bits = XS_PERM_READ;
		break;
	case 'w':
		bits = XS_PERM_WRITE;
		break;
	case 'b':
		bits = XS_PERM_BOTH;
		break;
	case 'n':
		bits = XS_PERM_NONE;
		break;
	default:
		return -EINVAL;
	}
	if (parse_uint(s + 1, XS_DOMID_MAX, &domid))
		return -EINVAL;
	out->domid = domid;
	out->bits = bits;
	return 0;
}

int xs_perm_format(const struct xs_perm *p, char *out, size_t outsz)
{
	static const char letters[4] = {'n', 'r', 'w', 'b'};
	int n = snprintf(out, outsz, "%c%u", letters[p->bits & 3], (unsigned)p->domid);

	return n < 0 ? 0 : n;
}

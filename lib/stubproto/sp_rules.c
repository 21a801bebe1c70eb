/* sp_rules.c — the stub protocol's per-type table (sender, channel, payload
 * length, handshake or sequenced) and the header check built on it. */
#include "stubproto/sp_codec.h"

#include <errno.h>

enum chan_rule { CH_CONTROL, CH_DEVICE, CH_ANY };

struct type_rule {
	const char *name;
	enum sp_role from;
	enum chan_rule chan;
	uint16_t min_len, max_len;
	bool handshake; /* session 0, seq 0, outside the sequence */
	bool request;
};

static const struct type_rule rules[SP_T_LIMIT] = {
	[SP_T_HELLO] = {"HELLO", SP_ROLE_STUB, CH_CONTROL, 16, 16, true, false},
	[SP_T_HELLO_ACK] = {"HELLO_ACK", SP_ROLE_RELAY, CH_CONTROL, 16, 16, true, false},
	[SP_T_REHELLO] = {"REHELLO", SP_ROLE_RELAY, CH_CONTROL, 8, 8, true, false},
	[SP_T_SET_FEATURES] = {"SET_FEATURES", SP_ROLE_RELAY, CH_DEVICE, 8, 8, false, true},
	[SP_T_SET_MEM_TABLE] = {"SET_MEM_TABLE", SP_ROLE_RELAY, CH_DEVICE, 8 + 24,
				8 + 24 * SP_MAX_REGIONS, false, true},
	[SP_T_VRING_START] = {"VRING_START", SP_ROLE_RELAY, CH_DEVICE, 40, 40, false, true},
	[SP_T_VRING_STOP] = {"VRING_STOP", SP_ROLE_RELAY, CH_DEVICE, 4, 4, false, true},
	[SP_T_DEVICE_RESET] = {"DEVICE_RESET", SP_ROLE_RELAY, CH_DEVICE, 0, 0, false, true},
	[SP_T_GET_CONFIG] = {"GET_CONFIG", SP_ROLE_RELAY, CH_DEVICE, 4, 4, false, true},
	[SP_T_SET_INFLIGHT] = {"SET_INFLIGHT", SP_ROLE_RELAY, CH_DEVICE, 24, 24, false, true},
	[SP_T_REPLY] = {"REPLY", SP_ROLE_STUB, CH_DEVICE, SP_REPLY_SIZE, SP_REPLY_SIZE, false,
			false},
	[SP_T_READY] = {"READY", SP_ROLE_STUB, CH_ANY, 0, 0, false, false},
	[SP_T_DEVICE_BROKEN] = {"DEVICE_BROKEN", SP_ROLE_STUB, CH_DEVICE, 8, 8, false, false},
	[SP_T_LOG] = {"LOG", SP_ROLE_STUB, CH_ANY, 4 + 1, 4 + SP_LOG_MAX, false, false},
};

_Static_assert(SP_REPLY_SIZE == 272, "REPLY payload is 272 bytes");
_Static_assert(SP_FRAME_MAX == 304, "largest frame is 304 bytes");

static const char *const err_names[SP_ERR_LIMIT] = {
	[SP_ERR_NONE] = "none",		  [SP_ERR_GARBAGE] = "garbage",
	[SP_ERR_VERSION] = "version",	  [SP_ERR_TYPE] = "type",
	[SP_ERR_DIRECTION] = "direction", [SP_ERR_SIZE] = "size",
	[SP_ERR_CHANNEL] = "channel",	  [SP_ERR_FLAGS] = "flags",
	[SP_ERR_ADDR] = "address",	  [SP_ERR_CRC] = "crc",
	[SP_ERR_FIELD] = "field",	  [SP_ERR_GAP] = "gap",
	[SP_ERR_REPLY] = "reply",
};

static const struct type_rule *rule_of(uint16_t type)
{
	if (type >= SP_T_LIMIT || !rules[type].name)
		return NULL;
	return &rules[type];
}

const char *sp_type_name(uint16_t type)
{
	const struct type_rule *r = rule_of(type);
	return r ? r->name : "unknown";
}

const char *sp_err_name(uint32_t err)
{
	return err < SP_ERR_LIMIT ? err_names[err] : "unknown";
}

bool sp_type_is_request(uint16_t type)
{
	const struct type_rule *r = rule_of(type);
	return r && r->request;
}

bool sp_type_from(uint16_t type, enum sp_role sender)
{
	const struct type_rule *r = rule_of(type);
	return r && r->from == sender;
}

bool sp_type_channel_ok(uint16_t type, uint16_t channel)
{
	const struct type_rule *r = rule_of(type);
	if (!r || channel >= SP_MAX_CHANNELS)
		return false;
	if (r->chan == CH_CONTROL)
		return channel == 0;
	if (r->chan == CH_DEVICE)
		return channel != 0;
	return true;
}

bool sp_type_is_handshake(uint16_t type)
{
	const struct type_rule *r = rule_of(type);
	return r && r->handshake;
}

bool sp_type_len_ok(uint16_t type, size_t len)
{
	const struct type_rule *r = rule_of(type);
	return r && len >= r->min_len && len <= r->max_len;
}

uint16_t sp_reply_len_for(uint16_t req, uint16_t get_config_len)
{
	if (req == SP_T_VRING_STOP)
		return 2;
	if (req == SP_T_GET_CONFIG)
		return get_config_len;
	return 0;
}

enum sp_err sp_check_hdr(const struct sp_hdr *h, enum sp_role receiver, const char **why)
{
	const struct type_rule *r = rule_of(h->type);

	if (h->version != SP_VERSION) {
		*why = "unsupported version";
		return SP_ERR_VERSION;
	}
	if (!r) {
		*why = "unknown type";
		return SP_ERR_TYPE;
	}
	if (r->from == receiver) {
		*why = "type sent in the wrong direction";
		return SP_ERR_DIRECTION;
	}
	if (h->len < r->min_len || h->len > r->max_len) {
		*why = "payload length wrong for the type";
		return SP_ERR_SIZE;
	}
	if (!sp_type_channel_ok(h->type, h->channel)) {
		*why = "channel wrong for the type";
		return SP_ERR_CHANNEL;
	}
	if (h->flags != 0) {
		*why = "reserved flags set";
		return SP_ERR_FLAGS;
	}
	if (r->handshake ? (h->session != 0 || h->seq != 0) : h->session == 0) {
		*why = r->handshake ? "handshake frame with a session or seq"
				    : "sequenced frame without a session";
		return SP_ERR_ADDR;
	}
	return SP_ERR_NONE;
}

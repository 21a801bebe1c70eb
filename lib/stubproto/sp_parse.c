/* sp_parse.c — stub-protocol payloads from wire bytes into struct sp_*:
 * reserved bytes must be zero, SET_MEM_TABLE's length must match its
 * count exactly, LOG text is sanitised; then the type's check runs. */
#include "stubproto/sp_codec.h"
#include "stubproto/sp_le.h"

#include <errno.h>
#include <string.h>

static bool zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

void sp_sanitise(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
}

static int parse_mem_table(const uint8_t *p, size_t len, struct sp_mem_table *m, const char **why)
{
	uint32_t n = sp_get32(p);

	if (!zero(p + 4, 4)) {
		*why = "SET_MEM_TABLE: reserved bytes set";
		return -EINVAL;
	}
	if (n == 0 || n > SP_MAX_REGIONS || len != 8 + 24 * (size_t)n) {
		*why = "SET_MEM_TABLE: payload length does not match the region count";
		return -EINVAL;
	}
	m->n = n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = p + 8 + 24 * i;
		m->r[i].gpa = sp_get64(r);
		m->r[i].size = sp_get64(r + 8);
		m->r[i].offset = sp_get64(r + 16);
	}
	return sp_check_mem_table(m, why);
}

static int parse_reply(const uint8_t *p, struct sp_reply *m, const char **why)
{
	if (!zero(p + 12, 4)) {
		*why = "REPLY: reserved bytes set";
		return -EINVAL;
	}
	m->req_seq = sp_get32(p);
	m->req_type = sp_get16(p + 4);
	m->len = sp_get16(p + 6);
	m->status = sp_get32(p + 8);
	memcpy(m->result, p + 16, SP_CONFIG_MAX);
	return sp_check_reply(m, why);
}

static int parse_log(const uint8_t *p, size_t len, struct sp_log *m, const char **why)
{
	if (!zero(p + 2, 2)) {
		*why = "LOG: reserved bytes set";
		return -EINVAL;
	}
	m->level = sp_get16(p);
	m->len = (uint16_t)(len - 4);
	memcpy(m->text, p + 4, m->len);
	m->text[m->len] = '\0';
	sp_sanitise(m->text, m->len);
	return sp_check_log(m, why);
}

/* Fixed layouts: `res` reserved bytes at `res_at` must be zero. */
static int reserved(const uint8_t *p, size_t res_at, size_t res, const char *name, const char **why)
{
	if (zero(p + res_at, res))
		return 0;
	*why = name;
	return -EINVAL;
}

int sp_parse(uint16_t type, const uint8_t *p, size_t len, union sp_msg *out, const char **why)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (!sp_type_len_ok(type, len)) {
		*why = "payload length wrong for the type";
		return -EINVAL;
	}
	switch (type) {
	case SP_T_HELLO:
		rc = reserved(p, 2, 6, "HELLO: reserved bytes set", why);
		out->hello.version = sp_get16(p);
		out->hello.nonce = sp_get64(p + 8);
		return rc ? rc : sp_check_hello(&out->hello, why);
	case SP_T_HELLO_ACK:
		rc = reserved(p, 12, 4, "HELLO_ACK: reserved bytes set", why);
		out->hello_ack.nonce = sp_get64(p);
		out->hello_ack.session = sp_get32(p + 8);
		return rc ? rc : sp_check_hello_ack(&out->hello_ack, why);
	case SP_T_REHELLO:
		rc = reserved(p, 4, 4, "REHELLO: reserved bytes set", why);
		out->rehello.reason = sp_get32(p);
		return rc ? rc : sp_check_rehello(&out->rehello, why);
	case SP_T_SET_FEATURES:
		out->set_features.features = sp_get64(p);
		return 0;
	case SP_T_SET_MEM_TABLE:
		return parse_mem_table(p, len, &out->mem_table, why);
	case SP_T_VRING_START: {
		struct sp_vring_start *v = &out->vring_start;
		rc = reserved(p, 10, 6, "VRING_START: reserved bytes set", why);
		v->queue = sp_get16(p);
		v->num = sp_get16(p + 2);
		v->base = sp_get16(p + 4);
		v->kick_vector = sp_get16(p + 6);
		v->call_vector = sp_get16(p + 8);
		v->desc = sp_get64(p + 16);
		v->avail = sp_get64(p + 24);
		v->used = sp_get64(p + 32);
		return rc ? rc : sp_check_vring_start(v, why);
	}
	case SP_T_VRING_STOP:
		rc = reserved(p, 2, 2, "VRING_STOP: reserved bytes set", why);
		out->vring_stop.queue = sp_get16(p);
		return rc ? rc : sp_check_vring_stop(&out->vring_stop, why);
	case SP_T_DEVICE_RESET:
	case SP_T_READY:
		return 0;
	case SP_T_GET_CONFIG:
		out->get_config.offset = sp_get16(p);
		out->get_config.len = sp_get16(p + 2);
		return sp_check_get_config(&out->get_config, why);
	case SP_T_SET_INFLIGHT:
		rc = reserved(p, 20, 4, "SET_INFLIGHT: reserved bytes set", why);
		out->set_inflight.offset = sp_get64(p);
		out->set_inflight.size = sp_get64(p + 8);
		out->set_inflight.num_queues = sp_get16(p + 16);
		out->set_inflight.queue_size = sp_get16(p + 18);
		return rc ? rc : sp_check_set_inflight(&out->set_inflight, why);
	case SP_T_REPLY:
		return parse_reply(p, &out->reply, why);
	case SP_T_DEVICE_BROKEN:
		rc = reserved(p, 2, 2, "DEVICE_BROKEN: reserved bytes set", why);
		out->device_broken.queue = sp_get16(p);
		out->device_broken.reason = sp_get32(p + 4);
		return rc ? rc : sp_check_device_broken(&out->device_broken, why);
	case SP_T_LOG:
		return parse_log(p, len, &out->log, why);
	}
	*why = "unknown type";
	return -EINVAL;
}

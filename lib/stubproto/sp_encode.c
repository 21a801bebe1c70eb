/* sp_encode.c — stub-protocol frames into a caller's buffer. A message is
 * checked with the rules a decoder applies before a byte is written, so
 * neither end can emit what the other must refuse. */
#include "stubproto/sp_codec.h"
#include "stubproto/sp_le.h"

#include <errno.h>
#include <string.h>

/* The payload of `type` into p (SP_PAYLOAD_MAX bytes); returns its length
 * or -EINVAL if a check fails. */
static int payload(uint16_t type, const union sp_msg *m, uint8_t *p)
{
	const char *why;

	memset(p, 0, SP_PAYLOAD_MAX);
	switch (type) {
	case SP_T_HELLO:
		if (sp_check_hello(&m->hello, &why))
			return -EINVAL;
		sp_put16(p, m->hello.version);
		sp_put64(p + 8, m->hello.nonce);
		return 16;
	case SP_T_HELLO_ACK:
		if (sp_check_hello_ack(&m->hello_ack, &why))
			return -EINVAL;
		sp_put64(p, m->hello_ack.nonce);
		sp_put32(p + 8, m->hello_ack.session);
		return 16;
	case SP_T_REHELLO:
		if (sp_check_rehello(&m->rehello, &why))
			return -EINVAL;
		sp_put32(p, m->rehello.reason);
		return 8;
	case SP_T_SET_FEATURES:
		sp_put64(p, m->set_features.features);
		return 8;
	case SP_T_SET_MEM_TABLE:
		if (sp_check_mem_table(&m->mem_table, &why))
			return -EINVAL;
		sp_put32(p, m->mem_table.n);
		for (uint32_t i = 0; i < m->mem_table.n; i++) {
			uint8_t *r = p + 8 + 24 * i;
			sp_put64(r, m->mem_table.r[i].gpa);
			sp_put64(r + 8, m->mem_table.r[i].size);
			sp_put64(r + 16, m->mem_table.r[i].offset);
		}
		return (int)(8 + 24 * m->mem_table.n);
	case SP_T_VRING_START: {
		const struct sp_vring_start *v = &m->vring_start;
		if (sp_check_vring_start(v, &why))
			return -EINVAL;
		sp_put16(p, v->queue);
		sp_put16(p + 2, v->num);
		sp_put16(p + 4, v->base);
		sp_put16(p + 6, v->kick_vector);
		sp_put16(p + 8, v->call_vector);
		sp_put64(p + 16, v->desc);
		sp_put64(p + 24, v->avail);
		sp_put64(p + 32, v->used);
		return 40;
	}
	case SP_T_VRING_STOP:
		if (sp_check_vring_stop(&m->vring_stop, &why))
			return -EINVAL;
		sp_put16(p, m->vring_stop.queue);
		return 4;
	case SP_T_DEVICE_RESET:
	case SP_T_READY:
		return 0;
	case SP_T_GET_CONFIG:
		if (sp_check_get_config(&m->get_config, &why))
			return -EINVAL;
		sp_put16(p, m->get_config.offset);
		sp_put16(p + 2, m->get_config.len);
		return 4;
	case SP_T_SET_INFLIGHT:
		if (sp_check_set_inflight(&m->set_inflight, &why))
			return -EINVAL;
		sp_put64(p, m->set_inflight.offset);
		sp_put64(p + 8, m->set_inflight.size);
		sp_put16(p + 16, m->set_inflight.num_queues);
		sp_put16(p + 18, m->set_inflight.queue_size);
		return 24;
	case SP_T_REPLY:
		if (sp_check_reply(&m->reply, &why))
			return -EINVAL;
		sp_put32(p, m->reply.req_seq);
		sp_put16(p + 4, m->reply.req_type);
		sp_put16(p + 6, m->reply.len);
		sp_put32(p + 8, m->reply.status);
		memcpy(p + 16, m->reply.result, SP_CONFIG_MAX);
		return (int)SP_REPLY_SIZE;
	case SP_T_DEVICE_BROKEN:
		if (sp_check_device_broken(&m->device_broken, &why))
			return -EINVAL;
		sp_put16(p, m->device_broken.queue);
		sp_put32(p + 4, m->device_broken.reason);
		return 8;
	case SP_T_LOG:
		if (m->log.len == 0 || m->log.len > SP_LOG_MAX || m->log.level > 3)
			return -EINVAL;
		sp_put16(p, m->log.level);
		memcpy(p + 4, m->log.text, m->log.len);
		sp_sanitise((char *)p + 4, m->log.len);
		return 4 + m->log.len;
	}
	return -EINVAL;
}

int sp_encode(uint8_t *buf, size_t cap, uint16_t type, const struct sp_addr *a,
	      const union sp_msg *m)
{
	static const union sp_msg none;
	uint8_t p[SP_PAYLOAD_MAX];
	const char *why;
	int plen = payload(type, m ? m : &none, p);

	if (plen < 0)
		return plen;
	struct sp_hdr h = {
		.version = SP_VERSION,
		.type = type,
		.channel = a->channel,
		.session = a->session,
		.seq = a->seq,
		.len = (uint32_t)plen,
	};
	/* Either end's decoder: sp_check_hdr only refuses a direction for the
	 * receiver, so try the receiver the type is meant for. */
	if (sp_check_hdr(&h, SP_ROLE_RELAY, &why) != SP_ERR_NONE &&
	    sp_check_hdr(&h, SP_ROLE_STUB, &why) != SP_ERR_NONE)
		return -EINVAL;
	if (cap < SP_HDR_SIZE + (size_t)plen)
		return -ENOSPC;
	memcpy(buf, SP_MAGIC, SP_MAGIC_LEN);
	sp_put16(buf + 8, h.version);
	sp_put16(buf + 10, h.type);
	sp_put16(buf + 12, h.channel);
	sp_put16(buf + 14, 0);
	sp_put32(buf + 16, h.session);
	sp_put32(buf + 20, h.seq);
	sp_put32(buf + 24, h.len);
	memcpy(buf + SP_HDR_SIZE, p, (size_t)plen);
	uint32_t crc = sp_crc32c(0, buf, 28);
	crc = sp_crc32c(crc, p, (size_t)plen);
	sp_put32(buf + 28, crc);
	return (int)SP_HDR_SIZE + plen;
}

static const struct sp_addr control = {0, 0, 0};

int sp_encode_hello(uint8_t *buf, size_t cap, const struct sp_hello *m)
{
	union sp_msg u = {.hello = *m};

	return sp_encode(buf, cap, SP_T_HELLO, &control, &u);
}

int sp_encode_hello_ack(uint8_t *buf, size_t cap, const struct sp_hello_ack *m)
{
	union sp_msg u = {.hello_ack = *m};

	return sp_encode(buf, cap, SP_T_HELLO_ACK, &control, &u);
}

int sp_encode_rehello(uint8_t *buf, size_t cap, const struct sp_rehello *m)
{
	union sp_msg u = {.rehello = *m};

	return sp_encode(buf, cap, SP_T_REHELLO, &control, &u);
}

int sp_encode_set_features(uint8_t *buf, size_t cap, const struct sp_addr *a,
			   const struct sp_set_features *m)
{
	union sp_msg u = {.set_features = *m};

	return sp_encode(buf, cap, SP_T_SET_FEATURES, a, &u);
}

int sp_encode_mem_table(uint8_t *buf, size_t cap, const struct sp_addr *a,
			const struct sp_mem_table *m)
{
	union sp_msg u = {.mem_table = *m};

	return sp_encode(buf, cap, SP_T_SET_MEM_TABLE, a, &u);
}

int sp_encode_vring_start(uint8_t *buf, size_t cap, const struct sp_addr *a,
			  const struct sp_vring_start *m)
{
	union sp_msg u = {.vring_start = *m};

	return sp_encode(buf, cap, SP_T_VRING_START, a, &u);
}

int sp_encode_vring_stop(uint8_t *buf, size_t cap, const struct sp_addr *a,
			 const struct sp_vring_stop *m)
{
	union sp_msg u = {.vring_stop = *m};

	return sp_encode(buf, cap, SP_T_VRING_STOP, a, &u);
}

int sp_encode_device_reset(uint8_t *buf, size_t cap, const struct sp_addr *a)
{
	return sp_encode(buf, cap, SP_T_DEVICE_RESET, a, NULL);
}

int sp_encode_get_config(uint8_t *buf, size_t cap, const struct sp_addr *a,
			 const struct sp_get_config *m)
{
	union sp_msg u = {.get_config = *m};

	return sp_encode(buf, cap, SP_T_GET_CONFIG, a, &u);
}

int sp_encode_set_inflight(uint8_t *buf, size_t cap, const struct sp_addr *a,
			   const struct sp_set_inflight *m)
{
	union sp_msg u = {.set_inflight = *m};

	return sp_encode(buf, cap, SP_T_SET_INFLIGHT, a, &u);
}

int sp_encode_reply(uint8_t *buf, size_t cap, const struct sp_addr *a, const struct sp_reply *m)
{
	union sp_msg u = {.reply = *m};

	return sp_encode(buf, cap, SP_T_REPLY, a, &u);
}

int sp_encode_ready(uint8_t *buf, size_t cap, const struct sp_addr *a)
{
	return sp_encode(buf, cap, SP_T_READY, a, NULL);
}

int sp_encode_device_broken(uint8_t *buf, size_t cap, const struct sp_addr *a,
			    const struct sp_device_broken *m)
{
	union sp_msg u = {.device_broken = *m};

	return sp_encode(buf, cap, SP_T_DEVICE_BROKEN, a, &u);
}

int sp_encode_log(uint8_t *buf, size_t cap, const struct sp_addr *a, uint16_t level,
		  const char *text)
{
	union sp_msg m = {.log = {.level = level}};
	size_t n = strnlen(text, SP_LOG_MAX);

	if (n == 0)
		text = "-", n = 1;
	memcpy(m.log.text, text, n);
	m.log.len = (uint16_t)n;
	return sp_encode(buf, cap, SP_T_LOG, a, &m);
}

int sp_encode_preamble(uint8_t *buf, size_t cap)
{
	if (cap < SP_PREAMBLE_LEN)
		return -ENOSPC;
	memset(buf, 0, SP_PREAMBLE_LEN);
	return (int)SP_PREAMBLE_LEN;
}

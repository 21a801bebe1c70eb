/* sp_check.c — per-message field checks of the stub protocol: ranges,
 * alignment, address-space wrap and overlap. Each names the first field
 * it refuses. Shared by the decoder (what arrives) and the encoders (what
 * leaves), so both ends apply one rule set. */
#include "stubproto/sp_codec.h"

#include <errno.h>

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static bool pow2_upto(uint32_t v, uint32_t max)
{
	return v != 0 && v <= max && (v & (v - 1)) == 0;
}

/* True if the last byte of [a, a+len) would lie past 2^64 - 1, or the end
 * a + len would not be representable (the rule regions follow too). */
static bool wraps(uint64_t a, uint64_t len)
{
	return len > UINT64_MAX - a;
}

/* Half-open ranges [a, a+al) and [b, b+bl), neither wrapping, intersect. */
static bool overlaps(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return a < b + bl && b < a + al;
}

int sp_check_hello(const struct sp_hello *m, const char **why)
{
	if (m->version != SP_VERSION)
		return refuse(why, "HELLO: unsupported protocol version");
	return 0;
}

int sp_check_hello_ack(const struct sp_hello_ack *m, const char **why)
{
	if (m->session == 0)
		return refuse(why, "HELLO_ACK: session 0");
	return 0;
}

int sp_check_rehello(const struct sp_rehello *m, const char **why)
{
	if (m->reason == SP_ERR_NONE || m->reason >= SP_ERR_LIMIT)
		return refuse(why, "REHELLO: unknown reason");
	return 0;
}

int sp_check_mem_table(const struct sp_mem_table *m, const char **why)
{
	if (m->n == 0 || m->n > SP_MAX_REGIONS)
		return refuse(why, "SET_MEM_TABLE: region count not 1..8");
	for (uint32_t i = 0; i < m->n; i++) {
		const struct sp_region *r = &m->r[i];
		if (r->size == 0)
			return refuse(why, "SET_MEM_TABLE: empty region");
		if ((r->gpa | r->size | r->offset) % SP_REGION_ALIGN)
			return refuse(why, "SET_MEM_TABLE: region not 4 KiB aligned");
		/* Aligned: a wrap means the end is exactly 2^64 or beyond;
		 * refuse both, so gpa + size is always representable. */
		if (r->size > UINT64_MAX - r->gpa)
			return refuse(why, "SET_MEM_TABLE: gpa + size wraps");
		if (r->size > UINT64_MAX - r->offset)
			return refuse(why, "SET_MEM_TABLE: offset + size wraps");
		for (uint32_t j = 0; j < i; j++) {
			const struct sp_region *o = &m->r[j];
			if (overlaps(r->gpa, r->size, o->gpa, o->size))
				return refuse(why,
					      "SET_MEM_TABLE: regions overlap in guest memory");
			if (overlaps(r->offset, r->size, o->offset, o->size))
				return refuse(why, "SET_MEM_TABLE: regions overlap in the BAR");
		}
	}
	return 0;
}

int sp_check_mem_table_bar(const struct sp_mem_table *m, uint64_t bar_size, const char **why)
{
	int rc = sp_check_mem_table(m, why);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < m->n; i++)
		if (m->r[i].offset > bar_size || m->r[i].size > bar_size - m->r[i].offset)
			return refuse(why, "SET_MEM_TABLE: region past the end of the BAR");
	return 0;
}

int sp_check_vring_start(const struct sp_vring_start *m, const char **why)
{
	uint64_t n = m->num;

	if (m->queue >= SP_MAX_QUEUES)
		return refuse(why, "VRING_START: queue >= 8");
	if (!pow2_upto(m->num, SP_RING_MAX))
		return refuse(why, "VRING_START: num not a power of two 1..32768");
	if (m->kick_vector >= SP_MAX_VECTORS || m->call_vector >= SP_MAX_VECTORS)
		return refuse(why, "VRING_START: vector >= 64");
	if (m->desc % 16 || m->avail % 2 || m->used % 4)
		return refuse(why, "VRING_START: ring misaligned");
	/* split ring sizes: 16 n; 6 + 2 n; 6 + 8 n (event index fields included) */
	if (wraps(m->desc, 16 * n) || wraps(m->avail, 6 + 2 * n) || wraps(m->used, 6 + 8 * n))
		return refuse(why, "VRING_START: ring wraps the address space");
	return 0;
}

int sp_check_vring_stop(const struct sp_vring_stop *m, const char **why)
{
	if (m->queue >= SP_MAX_QUEUES)
		return refuse(why, "VRING_STOP: queue >= 8");
	return 0;
}

int sp_check_get_config(const struct sp_get_config *m, const char **why)
{
	if (m->len == 0 || m->len > SP_CONFIG_MAX)
		return refuse(why, "GET_CONFIG: len not 1..256");
	return 0;
}

int sp_check_set_inflight(const struct sp_set_inflight *m, const char **why)
{
	if (m->size == 0)
		return refuse(why, "SET_INFLIGHT: empty area");
	if (m->offset % SP_INFLIGHT_ALIGN)
		return refuse(why, "SET_INFLIGHT: offset not 4 KiB aligned");
	if (m->size > UINT64_MAX - m->offset)
		return refuse(why, "SET_INFLIGHT: offset + size wraps");
	if (m->num_queues == 0 || m->num_queues > SP_MAX_QUEUES)
		return refuse(why, "SET_INFLIGHT: num_queues not 1..8");
	if (!pow2_upto(m->queue_size, SP_RING_MAX))
		return refuse(why, "SET_INFLIGHT: queue_size not a power of two 1..32768");
	return 0;
}

int sp_check_set_inflight_bar(const struct sp_set_inflight *m, const struct sp_mem_table *mt,
			      uint64_t bar_size, const char **why)
{
	int rc = sp_check_set_inflight(m, why);
	if (rc < 0)
		return rc;
	if (m->offset > bar_size || m->size > bar_size - m->offset)
		return refuse(why, "SET_INFLIGHT: area past the end of the BAR");
	for (uint32_t i = 0; mt && i < mt->n && i < SP_MAX_REGIONS; i++)
		if (overlaps(m->offset, m->size, mt->r[i].offset, mt->r[i].size))
			return refuse(why, "SET_INFLIGHT: area overlaps guest RAM");
	return 0;
}

int sp_check_reply(const struct sp_reply *m, const char **why)
{
	if (m->status > SP_STATUS_MAX)
		return refuse(why, "REPLY: status is no errno");
	if (!sp_type_is_request(m->req_type))
		return refuse(why, "REPLY: req_type is no request");
	if (m->len > SP_CONFIG_MAX)
		return refuse(why, "REPLY: result longer than 256");
	if (m->status != 0 && m->len != 0)
		return refuse(why, "REPLY: a failure with a result");
	for (size_t i = m->len; i < SP_CONFIG_MAX; i++)
		if (m->result[i] != 0)
			return refuse(why, "REPLY: bytes past the result");
	return 0;
}

int sp_check_device_broken(const struct sp_device_broken *m, const char **why)
{
	if (m->queue >= SP_MAX_QUEUES && m->queue != SP_QUEUE_ALL)
		return refuse(why, "DEVICE_BROKEN: queue >= 8");
	if (m->reason == 0 || m->reason >= SP_BROKEN_LIMIT)
		return refuse(why, "DEVICE_BROKEN: unknown reason");
	return 0;
}

int sp_check_log(const struct sp_log *m, const char **why)
{
	if (m->level > 3)
		return refuse(why, "LOG: level > 3");
	if (m->len == 0 || m->len > SP_LOG_MAX)
		return refuse(why, "LOG: text not 1..200 bytes");
	for (size_t i = 0; i < m->len; i++)
		if (m->text[i] < 0x20 || m->text[i] > 0x7e)
			return refuse(why, "LOG: text not printable ASCII");
	if (m->text[m->len] != '\0')
		return refuse(why, "LOG: text not terminated");
	return 0;
}

/* sp_wire.h — the stub protocol's wire format: airlock's own framing
 * between the relay in dom0 and airlock-dm inside a stub domain, over one
 * virtio-serial port (a plain byte stream, no fds). docs/stubproto.md is
 * the specification; this header is its constants and its messages as C
 * structures (host order, already validated once a decoder hands them out).
 *
 * A frame is a 32-byte header and a payload, all little-endian:
 *
 *   0  magic "ALKSTUB1"   8 bytes
 *   8  version  u16       SP_VERSION
 *  10  type     u16       enum sp_type
 *  12  channel  u16       0 = control, k = device k-1 of the stub's airlock-dm
 *  14  flags    u16       none defined: must be 0
 *  16  session  u32       0 on handshake frames, the session id on all others
 *  20  seq      u32       per direction, from 0 after each handshake
 *  24  len      u32       payload bytes: exact per type, or a small maximum
 *  28  crc      u32       CRC-32C of bytes 0..27 and the payload
 *
 * Relay→stub requests are each answered by exactly one REPLY (stub→relay)
 * of one fixed size; notices (READY, DEVICE_BROKEN, LOG) are answered by
 * nothing.
 */
#ifndef AIRLOCK_SP_WIRE_H
#define AIRLOCK_SP_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#define SP_MAGIC	  "ALKSTUB1"
#define SP_MAGIC_LEN	  8u
#define SP_VERSION	  1u
#define SP_HDR_SIZE	  32u
#define SP_MAX_REGIONS	  8u
#define SP_MAX_QUEUES	  8u
#define SP_MAX_VECTORS	  64u
#define SP_MAX_CHANNELS	  16u /* control + 15 devices */
#define SP_RING_MAX	  32768u
#define SP_CONFIG_MAX	  256u
#define SP_LOG_MAX	  200u
#define SP_STATUS_MAX	  4095u	  /* a status is 0 or a positive errno below this */
#define SP_QUEUE_ALL	  0xffffu /* DEVICE_BROKEN: the whole device */
#define SP_REPLY_SIZE	  (16u + SP_CONFIG_MAX)
#define SP_PAYLOAD_MAX	  SP_REPLY_SIZE /* the largest payload of any type */
#define SP_FRAME_MAX	  (SP_HDR_SIZE + SP_PAYLOAD_MAX)
#define SP_PREAMBLE_LEN	  SP_FRAME_MAX /* zero bytes that complete any cut frame */
#define SP_REGION_ALIGN	  4096u
#define SP_INFLIGHT_ALIGN 4096u

enum sp_type {
	/* control channel, outside the sequence (session 0, seq 0) */
	SP_T_HELLO = 0x01,     /* stub → relay */
	SP_T_HELLO_ACK = 0x02, /* relay → stub */
	SP_T_REHELLO = 0x03,   /* relay → stub: "send HELLO again" */
	/* relay → stub requests, on a device channel */
	SP_T_SET_FEATURES = 0x10,
	SP_T_SET_MEM_TABLE = 0x11,
	SP_T_VRING_START = 0x12,
	SP_T_VRING_STOP = 0x13,
	SP_T_DEVICE_RESET = 0x14,
	SP_T_GET_CONFIG = 0x15,
	SP_T_SET_INFLIGHT = 0x16,
	/* stub → relay */
	SP_T_REPLY = 0x20,
	SP_T_READY = 0x30,
	SP_T_DEVICE_BROKEN = 0x31,
	SP_T_LOG = 0x32,
	SP_T_LIMIT = 0x33, /* one past the largest type */
};

/* Which end this is. A decoder of role R accepts what the other end sends. */
enum sp_role {
	SP_ROLE_RELAY = 0,
	SP_ROLE_STUB = 1,
};

/* Why a frame or a session was refused: the decoder's and the session's
 * error codes, and REHELLO's reason. */
enum sp_err {
	SP_ERR_NONE = 0,
	SP_ERR_GARBAGE,	  /* bytes outside any frame */
	SP_ERR_VERSION,	  /* header version is not SP_VERSION */
	SP_ERR_TYPE,	  /* unknown type */
	SP_ERR_DIRECTION, /* a type the other end never sends */
	SP_ERR_SIZE,	  /* payload length wrong for the type */
	SP_ERR_CHANNEL,	  /* channel out of range or wrong for the type */
	SP_ERR_FLAGS,	  /* reserved flags set */
	SP_ERR_ADDR,	  /* session/seq wrong for the type (0 vs not 0) */
	SP_ERR_CRC,	  /* checksum mismatch: a cut or corrupted frame */
	SP_ERR_FIELD,	  /* a payload field out of range */
	SP_ERR_GAP,	  /* sequence gap or repeat within the session */
	SP_ERR_REPLY,	  /* a reply that answers no outstanding request */
	SP_ERR_LIMIT,
};

/* Header fields in host order. */
struct sp_hdr {
	uint16_t version;
	uint16_t type;
	uint16_t channel;
	uint16_t flags;
	uint32_t session;
	uint32_t seq;
	uint32_t len;
	uint32_t crc;
};

/* Where an outgoing frame goes: the header fields an encoder needs. */
struct sp_addr {
	uint16_t channel;
	uint32_t session;
	uint32_t seq;
};

/* HELLO: wire u16 version, u16 0, u32 0, u64 nonce (16 bytes). */
struct sp_hello {
	uint16_t version;
	uint64_t nonce;
};

/* HELLO_ACK: wire u64 nonce, u32 session (not 0), u32 0 (16 bytes). */
struct sp_hello_ack {
	uint64_t nonce;
	uint32_t session;
};

/* REHELLO: wire u32 reason (an enum sp_err, not 0), u32 0 (8 bytes). */
struct sp_rehello {
	uint32_t reason;
};

/* SET_FEATURES: wire u64 features (8 bytes). */
struct sp_set_features {
	uint64_t features;
};

/* One guest-RAM region: guest-physical [gpa, gpa+size) is BAR bytes
 * [offset, offset+size). Wire: u64 gpa, u64 size, u64 offset (24 bytes). */
struct sp_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
};

/* SET_MEM_TABLE: wire u32 n (1..8), u32 0, n regions (8 + 24 n bytes). */
struct sp_mem_table {
	uint32_t n;
	struct sp_region r[SP_MAX_REGIONS];
};

/* VRING_START: wire u16 queue, u16 num, u16 base, u16 kick_vector,
 * u16 call_vector, u16 0, u32 0, u64 desc, u64 avail, u64 used (40 bytes).
 * desc/avail/used are guest-physical; base is the avail index to resume
 * from; kick_vector is the stub's MSI-X vector the relay signals on a
 * kick, call_vector the doorbell vector the stub rings for a call. */
struct sp_vring_start {
	uint16_t queue;
	uint16_t num;
	uint16_t base;
	uint16_t kick_vector;
	uint16_t call_vector;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

/* VRING_STOP: wire u16 queue, u16 0 (4 bytes). Reply: base (u16). */
struct sp_vring_stop {
	uint16_t queue;
};

/* GET_CONFIG: wire u16 offset, u16 len (1..256) (4 bytes). Reply: len bytes. */
struct sp_get_config {
	uint16_t offset;
	uint16_t len;
};

/* SET_INFLIGHT: wire u64 offset, u64 size, u16 num_queues, u16 queue_size,
 * u32 0 (24 bytes). The vhost-user inflight area, in the BAR past guest RAM. */
struct sp_set_inflight {
	uint64_t offset;
	uint64_t size;
	uint16_t num_queues;
	uint16_t queue_size;
};

/* REPLY: wire u32 req_seq, u16 req_type, u16 len, u32 status, u32 0,
 * u8 result[256] (272 bytes, always). status is 0 or a positive errno; a
 * failed reply has len 0; result bytes past len are 0. VRING_STOP's result
 * is the base (u16 LE, len 2), GET_CONFIG's the config bytes (len as asked),
 * every other request's is empty. */
struct sp_reply {
	uint32_t req_seq;
	uint16_t req_type;
	uint16_t len;
	uint32_t status;
	uint8_t result[SP_CONFIG_MAX];
};

/* DEVICE_BROKEN: wire u16 queue (< 8, or SP_QUEUE_ALL), u16 0, u32 reason
 * (enum sp_broken) (8 bytes). */
enum sp_broken {
	SP_BROKEN_RING = 1,   /* the guest's ring is malformed */
	SP_BROKEN_IO = 2,     /* the backend failed */
	SP_BROKEN_MEMORY = 3, /* an address outside the memory table */
	SP_BROKEN_INTERNAL = 4,
	SP_BROKEN_LIMIT,
};

struct sp_device_broken {
	uint16_t queue;
	uint32_t reason;
};

/* LOG: wire u16 level (0 err .. 3 debug), u16 0, then 1..200 bytes of text
 * (4 + n bytes). Decoded text is printable ASCII (0x20..0x7e; anything else
 * becomes '?') and NUL-terminated. */
struct sp_log {
	uint16_t level;
	uint16_t len;
	char text[SP_LOG_MAX + 1];
};

union sp_msg {
	struct sp_hello hello;
	struct sp_hello_ack hello_ack;
	struct sp_rehello rehello;
	struct sp_set_features set_features;
	struct sp_mem_table mem_table;
	struct sp_vring_start vring_start;
	struct sp_vring_stop vring_stop;
	struct sp_get_config get_config;
	struct sp_set_inflight set_inflight;
	struct sp_reply reply;
	struct sp_device_broken device_broken;
	struct sp_log log;
};

/* A decoded frame. When `refused` is set the header is valid and its
 * checksum matched (the stream is in step) but a payload field was out of
 * range: `m` is zeroed and `why` says which field. */
struct sp_frame {
	struct sp_hdr hdr;
	bool refused;
	const char *why;
	union sp_msg m;
};

#endif

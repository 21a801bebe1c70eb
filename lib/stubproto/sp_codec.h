/* sp_codec.h — the stub protocol's per-type rules, payload checks,
 * payload parsing and frame encoders (both ends). No I/O, no allocation.
 *
 * Every rule the decoder applies lives here, so an encoder refuses exactly
 * what a decoder would refuse: sp_encode_* never writes a frame the other
 * end's decoder would reject.
 */
#ifndef AIRLOCK_SP_CODEC_H
#define AIRLOCK_SP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "stubproto/sp_wire.h"

/* The type's name ("VRING_START"), or "unknown". */
const char *sp_type_name(uint16_t type);

/* The error code's name ("crc"), or "unknown". */
const char *sp_err_name(uint32_t err);

/* True if `type` is a relay → stub request (answered by one REPLY). */
bool sp_type_is_request(uint16_t type);

/* Checks a header against its type's rules as seen by `receiver`: version,
 * known type sent by the other end, payload length (exact, or within the
 * type's bounds), channel (control-only types on 0, device types on
 * 1..SP_MAX_CHANNELS-1), flags 0, session and seq both 0 on handshake
 * frames and session non-zero on all others. The checksum is not looked
 * at. Returns SP_ERR_NONE or the first rule broken, with *why set. */
enum sp_err sp_check_hdr(const struct sp_hdr *h, enum sp_role receiver, const char **why);

/* Per-message field checks: each returns 0, or -EINVAL with *why naming
 * the field. They need no context beyond the message itself. */
int sp_check_hello(const struct sp_hello *m, const char **why);
int sp_check_hello_ack(const struct sp_hello_ack *m, const char **why);
int sp_check_rehello(const struct sp_rehello *m, const char **why);
/* Regions: 1..8; size > 0; gpa, size and offset multiples of 4096;
 * gpa + size and offset + size do not wrap; no two overlap in guest-physical
 * space nor in the BAR. */
int sp_check_mem_table(const struct sp_mem_table *m, const char **why);
/* queue < 8; num a power of two 1..32768; vectors < 64; desc 16-, avail 2-,
 * used 4-byte aligned; none of the three rings wraps the address space. */
int sp_check_vring_start(const struct sp_vring_start *m, const char **why);
int sp_check_vring_stop(const struct sp_vring_stop *m, const char **why);
/* len 1..256 (offset + len cannot wrap: both are u16). */
int sp_check_get_config(const struct sp_get_config *m, const char **why);
/* size > 0; offset a multiple of 4096; offset + size does not wrap;
 * num_queues 1..8; queue_size a power of two 1..32768. */
int sp_check_set_inflight(const struct sp_set_inflight *m, const char **why);
/* status <= SP_STATUS_MAX; req_type a request; len <= 256 and 0 when
 * status is not 0; result bytes past len are 0. */
int sp_check_reply(const struct sp_reply *m, const char **why);
/* queue < 8 or SP_QUEUE_ALL; reason a known enum sp_broken. */
int sp_check_device_broken(const struct sp_device_broken *m, const char **why);
/* level <= 3; len 1..200; text printable ASCII, NUL at len. */
int sp_check_log(const struct sp_log *m, const char **why);

/* Checks that need the BAR's size (the receiver's context): every region
 * lies inside [0, bar_size). Returns 0 or -EINVAL with *why. */
int sp_check_mem_table_bar(const struct sp_mem_table *m, uint64_t bar_size, const char **why);

/* The inflight area lies inside [0, bar_size) and overlaps no region of
 * `mt` in the BAR (mt may be NULL: no table yet). 0 or -EINVAL with *why. */
int sp_check_set_inflight_bar(const struct sp_set_inflight *m, const struct sp_mem_table *mt,
			      uint64_t bar_size, const char **why);

/* True if `sender` is the end that sends `type`. */
bool sp_type_from(uint16_t type, enum sp_role sender);

/* True if `type` belongs on `channel` (control-only types on 0, device
 * types on 1..SP_MAX_CHANNELS-1, the rest on any channel below that). */
bool sp_type_channel_ok(uint16_t type, uint16_t channel);

/* True for HELLO, HELLO_ACK and REHELLO: session 0, seq 0, unsequenced. */
bool sp_type_is_handshake(uint16_t type);

/* True if `len` is a payload length the type allows (false for unknown
 * types). */
bool sp_type_len_ok(uint16_t type, size_t len);

/* The result length a successful reply to request `req` must carry:
 * 2 for VRING_STOP, get_config_len for GET_CONFIG, else 0. */
uint16_t sp_reply_len_for(uint16_t req, uint16_t get_config_len);

/* Parses the payload `p` (len bytes, len already checked by sp_check_hdr)
 * of a frame of `type` into *out and runs the type's check. LOG text is
 * sanitised (bytes outside 0x20..0x7e become '?'), not refused. Returns 0
 * or -EINVAL with *why; *out is zeroed first. */
int sp_parse(uint16_t type, const uint8_t *p, size_t len, union sp_msg *out, const char **why);

/* Replaces every byte of s[0..len) outside printable ASCII with '?'. */
void sp_sanitise(char *s, size_t len);

/* Encodes one frame of `type` for `a` carrying *m (ignored for the empty
 * types DEVICE_RESET and READY) into buf. LOG text is sanitised on the way
 * out. Returns the frame's size, -ENOSPC if cap is too small, or -EINVAL if
 * the message or the address breaks a rule a decoder applies (the check
 * functions above, sp_check_hdr for the address); buf is then untouched. */
int sp_encode(uint8_t *buf, size_t cap, uint16_t type, const struct sp_addr *a,
	      const union sp_msg *m);

/* Typed wrappers of sp_encode, same contract. */
int sp_encode_hello(uint8_t *buf, size_t cap, const struct sp_hello *m);
int sp_encode_hello_ack(uint8_t *buf, size_t cap, const struct sp_hello_ack *m);
int sp_encode_rehello(uint8_t *buf, size_t cap, const struct sp_rehello *m);
int sp_encode_set_features(uint8_t *buf, size_t cap, const struct sp_addr *a,
			   const struct sp_set_features *m);
int sp_encode_mem_table(uint8_t *buf, size_t cap, const struct sp_addr *a,
			const struct sp_mem_table *m);
int sp_encode_vring_start(uint8_t *buf, size_t cap, const struct sp_addr *a,
			  const struct sp_vring_start *m);
int sp_encode_vring_stop(uint8_t *buf, size_t cap, const struct sp_addr *a,
			 const struct sp_vring_stop *m);
int sp_encode_device_reset(uint8_t *buf, size_t cap, const struct sp_addr *a);
int sp_encode_get_config(uint8_t *buf, size_t cap, const struct sp_addr *a,
			 const struct sp_get_config *m);
int sp_encode_set_inflight(uint8_t *buf, size_t cap, const struct sp_addr *a,
			   const struct sp_set_inflight *m);
int sp_encode_reply(uint8_t *buf, size_t cap, const struct sp_addr *a, const struct sp_reply *m);
int sp_encode_ready(uint8_t *buf, size_t cap, const struct sp_addr *a);
int sp_encode_device_broken(uint8_t *buf, size_t cap, const struct sp_addr *a,
			    const struct sp_device_broken *m);
/* `text` is any C string; it is cut at 200 bytes and sanitised. An empty
 * text is sent as "-". */
int sp_encode_log(uint8_t *buf, size_t cap, const struct sp_addr *a, uint16_t level,
		  const char *text);

/* Writes SP_PREAMBLE_LEN zero bytes: sent before a HELLO or REHELLO after a
 * (re)open, it completes any frame the peer's decoder holds half of (which
 * then fails its checksum) and is skipped as padding otherwise. Returns
 * SP_PREAMBLE_LEN or -ENOSPC. */
int sp_encode_preamble(uint8_t *buf, size_t cap);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start with 0). */
uint32_t sp_crc32c(uint32_t crc, const void *p, size_t len);

#endif

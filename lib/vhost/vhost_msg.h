/* vhost_msg.h — vhost-user message framing (QEMU docs/interop/vhost-user.rst).
 *
 * A message is a 12-byte header (request, flags, payload size) and a
 * payload; file descriptors travel as SCM_RIGHTS ancillary data with the
 * header. vhost_msg_recv() reads one message, vhost_msg_check() says whether
 * its payload size and fd count are exactly what its type allows. Both the
 * back end (lib/vhost/vhost.c) and test front ends use these.
 */
#ifndef AIRLOCK_VHOST_MSG_H
#define AIRLOCK_VHOST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vhost_req {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_REQ_MAX = 41,
};

#define VHOST_USER_VERSION	1u
#define VHOST_USER_VERSION_MASK 3u
#define VHOST_USER_REPLY	(1u << 2)
#define VHOST_USER_NEED_REPLY	(1u << 3)

#define VHOST_USER_F_PROTOCOL_FEATURES	     30
#define VHOST_USER_PROTOCOL_F_MQ	     0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK	     3
#define VHOST_USER_PROTOCOL_F_CONFIG	     9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE   13

#define VHOST_USER_MAX_REGIONS	  8
#define VHOST_USER_MAX_CONFIG	  256
#define VHOST_USER_MAX_FDS	  8
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD	  (1u << 8)

struct vhost_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vhost_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhost_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct vhost_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_mem_region regions[VHOST_USER_MAX_REGIONS];
};

struct vhost_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[VHOST_USER_MAX_CONFIG];
};

#define VHOST_CONFIG_HDR_SIZE 12u

/* GET/SET_INFLIGHT_FD: the shared inflight-tracking area (QEMU's
 * VhostUserInflight, 24 bytes with its tail padding). */
struct vhost_inflight_info {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding;
};

struct vhost_msg {
	struct vhost_msg_hdr hdr;
	union {
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_addr addr;
		struct vhost_mem_table mem;
		struct vhost_config config;
		struct vhost_inflight_info inflight;
		uint8_t raw[sizeof(struct vhost_mem_table) > sizeof(struct vhost_config)
				    ? sizeof(struct vhost_mem_table)
				    : sizeof(struct vhost_config)];
	} p;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nfds;
};

#define VHOST_MSG_MAX_PAYLOAD (sizeof(((struct vhost_msg *)0)->p))

/* Reads one message from the stream socket `fd`: header with its fds, then
 * the payload. Returns 0, -EPIPE at a clean end of stream before a header,
 * -EPROTO for a truncated message, a payload larger than any message's,
 * more fds than VHOST_USER_MAX_FDS, or a bad version, or another -errno from
 * the socket. Received fds are in msg->fds whatever the result; on failure
 * they are closed and msg->nfds is 0. */
int vhost_msg_recv(int fd, struct vhost_msg *msg);

/* Checks a received request: no reply flag, a known type, the exact payload
 * size for its type (SET_MEM_TABLE: 8 + 32 * nregions with 1..8 regions;
 * GET/SET_CONFIG: 12 + size, size <= 256; GET/SET_INFLIGHT_FD: 24) and the
 * exact number of fds (one per region, one for a vring fd message unless it
 * says NOFD, one for SET_INFLIGHT_FD, else none).
 * Returns 0, -ENOSYS for an unknown request, or -EPROTO. */
int vhost_msg_check(const struct vhost_msg *msg);

/* Sends msg (header, hdr.size payload bytes, fds[0..nfds) as SCM_RIGHTS).
 * Returns 0 or -errno (-EPIPE if the peer is gone); never raises SIGPIPE. */
int vhost_msg_send(int fd, const struct vhost_msg *msg);

/* Sends a request as a front end does: `request` with `flags` (beside the
 * version), `size` payload bytes copied from payload and nfds fds.
 * Returns vhost_msg_send's result, or -EINVAL for more than
 * VHOST_MSG_MAX_PAYLOAD bytes or VHOST_USER_MAX_FDS fds. */
int vhost_msg_send_req(int fd, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		       const int *fds, unsigned int nfds);

/* Answers the request in msg on fd, reusing msg: with its payload as the
 * handler left it when `payload` is set (a GET_* reply; reply_fd >= 0 rides
 * along and stays the caller's), otherwise with REPLY_ACK's u64 status
 * (0, or -rc for a handler's -errno). Returns vhost_msg_send's result. */
int vhost_msg_reply(int fd, struct vhost_msg *msg, bool payload, int rc, int reply_fd);

/* Closes every fd still held in msg and sets nfds to 0. */
void vhost_msg_close_fds(struct vhost_msg *msg);

/* The request's name for log lines ("SET_MEM_TABLE", or "unknown"). */
const char *vhost_req_name(uint32_t request);

#endif

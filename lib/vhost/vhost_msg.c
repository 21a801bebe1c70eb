/* vhost_msg.c — vhost-user framing and per-type size checks. */
#include "vhost/vhost_msg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(sizeof(struct vhost_msg_hdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(struct vhost_vring_addr) == 40, "vring addr is 40 bytes");
_Static_assert(sizeof(struct vhost_mem_region) == 32, "memory region is 32 bytes");
_Static_assert(sizeof(struct vhost_inflight_info) == 24, "inflight description is 24 bytes");

/* What each request may carry. size: the exact payload size, or VAR. */
enum { SZ_VAR = -1 };
enum fd_rule { FDS_NONE, FDS_ONE, FDS_VRING, FDS_REGIONS };

struct req_rule {
	const char *name;
	int size;
	enum fd_rule fds;
};

static const struct req_rule rules[VHOST_USER_REQ_MAX] = {
	[VHOST_USER_GET_FEATURES] = {"GET_FEATURES", 0, FDS_NONE},
	[VHOST_USER_SET_FEATURES] = {"SET_FEATURES", 8, FDS_NONE},
	[VHOST_USER_SET_OWNER] = {"SET_OWNER", 0, FDS_NONE},
	[VHOST_USER_RESET_OWNER] = {"RESET_OWNER", 0, FDS_NONE},
	[VHOST_USER_SET_MEM_TABLE] = {"SET_MEM_TABLE", SZ_VAR, FDS_REGIONS},
	[VHOST_USER_SET_VRING_NUM] = {"SET_VRING_NUM", 8, FDS_NONE},
	[VHOST_USER_SET_VRING_ADDR] = {"SET_VRING_ADDR", 40, FDS_NONE},
	[VHOST_USER_SET_VRING_BASE] = {"SET_VRING_BASE", 8, FDS_NONE},
	[VHOST_USER_GET_VRING_BASE] = {"GET_VRING_BASE", 8, FDS_NONE},
	[VHOST_USER_SET_VRING_KICK] = {"SET_VRING_KICK", 8, FDS_VRING},
	[VHOST_USER_SET_VRING_CALL] = {"SET_VRING_CALL", 8, FDS_VRING},
	[VHOST_USER_SET_VRING_ERR] = {"SET_VRING_ERR", 8, FDS_VRING},
	[VHOST_USER_GET_PROTOCOL_FEATURES] = {"GET_PROTOCOL_FEATURES", 0, FDS_NONE},
	[VHOST_USER_SET_PROTOCOL_FEATURES] = {"SET_PROTOCOL_FEATURES", 8, FDS_NONE},
	[VHOST_USER_GET_QUEUE_NUM] = {"GET_QUEUE_NUM", 0, FDS_NONE},
	[VHOST_USER_SET_VRING_ENABLE] = {"SET_VRING_ENABLE", 8, FDS_NONE},
	[VHOST_USER_GET_CONFIG] = {"GET_CONFIG", SZ_VAR, FDS_NONE},
	[VHOST_USER_SET_CONFIG] = {"SET_CONFIG", SZ_VAR, FDS_NONE},
	[VHOST_USER_GET_INFLIGHT_FD] = {"GET_INFLIGHT_FD", 24, FDS_NONE},
	[VHOST_USER_SET_INFLIGHT_FD] = {"SET_INFLIGHT_FD", 24, FDS_ONE},
	[VHOST_USER_RESET_DEVICE] = {"RESET_DEVICE", 0, FDS_NONE},
};

const char *vhost_req_name(uint32_t request)
{
	if (request < VHOST_USER_REQ_MAX && rules[request].name)
		return rules[request].name;
	return "unknown";
}

void vhost_msg_close_fds(struct vhost_msg *msg)
{
	for (unsigned int i = 0; i < msg->nfds; i++)
		close(msg->fds[i]);
	msg->nfds = 0;
}

/* Reads exactly len bytes (after a header was seen: EOF is truncation). */
static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -EPROTO : -errno;
		if (n == 0)
			return -EPROTO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vhost_msg_recv(int fd, struct vhost_msg *msg)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;
	int rc = 0;

	msg->nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (msg->nfds < VHOST_USER_MAX_FDS)
				msg->fds[msg->nfds++] = f;
			else {
				close(f);
				rc = -EPROTO;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		rc = -EPROTO;
	if (n == 0 && rc == 0)
		return -EPIPE;
	if (rc == 0 && (size_t)n < sizeof(msg->hdr))
		rc = read_full(fd, (uint8_t *)&msg->hdr + n, sizeof(msg->hdr) - (size_t)n);
	if (rc == 0 && (msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		rc = -EPROTO;
	if (rc == 0 && msg->hdr.size > VHOST_MSG_MAX_PAYLOAD)
		rc = -EPROTO;
	if (rc == 0 && msg->hdr.size > 0)
		rc = read_full(fd, &msg->p, msg->hdr.size);
	if (rc < 0)
		vhost_msg_close_fds(msg);
	return rc;
}

int vhost_msg_check(const struct vhost_msg *msg)
{
	uint32_t req = msg->hdr.request;

	if (req >= VHOST_USER_REQ_MAX || !rules[req].name)
		return -ENOSYS;
	if (msg->hdr.flags & VHOST_USER_REPLY)
		return -EPROTO;
	if (msg->hdr.size > VHOST_MSG_MAX_PAYLOAD)
		return -EPROTO;
	const struct req_rule *r = &rules[req];
	unsigned int want_fds = 0;
	if (r->size >= 0 && msg->hdr.size != (uint32_t)r->size)
		return -EPROTO;
	if (req == VHOST_USER_SET_MEM_TABLE) {
		if (msg->hdr.size < 8)
			return -EPROTO;
		uint32_t n = msg->p.mem.nregions;
		if (n == 0 || n > VHOST_USER_MAX_REGIONS || msg->hdr.size != 8 + 32 * n)
			return -EPROTO;
		want_fds = n;
	} else if (req == VHOST_USER_GET_CONFIG || req == VHOST_USER_SET_CONFIG) {
		if (msg->hdr.size < VHOST_CONFIG_HDR_SIZE)
			return -EPROTO;
		uint32_t sz = msg->p.config.size;
		if (sz > VHOST_USER_MAX_CONFIG || msg->hdr.size != VHOST_CONFIG_HDR_SIZE + sz)
			return -EPROTO;
	} else if (r->fds == FDS_VRING) {
		want_fds = (msg->p.u64 & VHOST_USER_VRING_NOFD) ? 0 : 1;
	} else if (r->fds == FDS_ONE) {
		want_fds = 1;
	}
	if (msg->nfds != want_fds)
		return -EPROTO;
	return 0;
}

int vhost_msg_send(int fd, const struct vhost_msg *msg)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{.iov_base = (void *)&msg->hdr, .iov_len = sizeof(msg->hdr)},
		{.iov_base = (void *)&msg->p, .iov_len = msg->hdr.size},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = msg->hdr.size ? 2 : 1};

	if (msg->hdr.size > VHOST_MSG_MAX_PAYLOAD || msg->nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	if (msg->nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(msg->nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(msg->nfds * sizeof(int));
		memcpy(CMSG_DATA(c), msg->fds, msg->nfds * sizeof(int));
	}
	size_t total = sizeof(msg->hdr) + msg->hdr.size;
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != total)
		return -EIO; /* small messages on a blocking stream: not expected */
	return 0;
}

int vhost_msg_send_req(int fd, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		       const int *fds, unsigned int nfds)
{
	struct vhost_msg m = {.hdr = {request, VHOST_USER_VERSION | flags, size}};

	if (size > VHOST_MSG_MAX_PAYLOAD || nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	if (size)
		memcpy(&m.p, payload, size);
	if (nfds)
		memcpy(m.fds, fds, nfds * sizeof(int));
	m.nfds = nfds;
	return vhost_msg_send(fd, &m);
}

int vhost_msg_reply(int fd, struct vhost_msg *msg, bool payload, int rc, int reply_fd)
{
	if (!payload) {
		msg->p.u64 = rc < 0 ? (uint64_t)-rc : 0;
		msg->hdr.size = 8;
	}
	msg->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY;
	msg->nfds = 0;
	if (payload && reply_fd >= 0) {
		msg->fds[0] = reply_fd;
		msg->nfds = 1;
	}
	return vhost_msg_send(fd, msg);
}

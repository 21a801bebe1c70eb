/* fuzz_vhost_msg.c — libFuzzer target for vhost-user messages (lib/vhost).
 *
 * The input is a sequence of records, each: one control byte, a 12-byte
 * header, then the payload bytes the header's size names (clamped to what
 * is left and to the largest payload). Control bits 0-2 give how many fds
 * ride with the header (a 64 KiB memfd for SET_MEM_TABLE and
 * SET_INFLIGHT_FD, eventfds for any other request), so memory tables map and
 * rings really start; the inflight area handed over is the guest memory
 * itself, so the guest's writes land in it (hostile region contents). Bit 6
 * on a SET_INFLIGHT_FD sets mmap_size to what its queue counts need, so the
 * area is mapped more often than chance would allow. Bit 7 sends
 * the record as raw bytes (no fds, the payload cut at control bits 3-6 ×
 * 4 bytes) and then ends the stream, to reach truncation paths.
 *
 * Each record is written to a socketpair and the back end handles it; its
 * replies are drained. When the back end closes the connection (a refused
 * message), a fresh connection takes over, as the daemon would accept the
 * next front end. The device is a toy that pops and pushes every request.
 * Oracles: no crash, no sanitizer report, no leaked fd or mapping (LSan and
 * the fd count at the end), replies are well-formed (an fd only with a
 * GET_INFLIGHT_FD reply, and then exactly one).
 */
#include "vhost/vhost.h"
#include "vhost/vhost_msg.h"
#include "virtio/inflight.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_vhost_msg: invariant failed: %s\n", #cond);          \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void toy_kick(void *dev, struct vq *vq, unsigned int idx)
{
	static struct vq_elem e;
	int n = 0;
	while (n++ < 64 && vq_pop(vq, &e) == 1)
		vq_push(vq, e.head, 0);
}

static int toy_get_config(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	if (off > 16 || len > 16 - off)
		return -EINVAL;
	memset(buf, 0x11, len);
	return 0;
}

static const struct vdev_ops toy_ops = {
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		    (1ull << VIRTIO_RING_F_EVENT_IDX),
	.num_queues = 2,
	.get_config = toy_get_config,
	.queue_kick = toy_kick,
};

struct watch {
	void (*cb)(void *);
	void *arg;
};
static struct watch watched[VHOST_MAX_QUEUES * 2];

static void *f_watch(void *ctx, int fd, void (*cb)(void *), void *arg)
{
	for (unsigned int i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		if (!watched[i].cb) {
			watched[i] = (struct watch){cb, arg};
			return &watched[i];
		}
	return NULL;
}

static void f_unwatch(void *ctx, void *h)
{
	*(struct watch *)h = (struct watch){0};
}

static const struct vhost_watch_ops f_ops = {f_watch, f_unwatch};

/* Open fds this target creates (sockets, eventfds, memfds); libFuzzer's
 * own files come and go and are not counted. */
static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[300], link[256];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = 0;
		if (!strncmp(link, "socket:", 7) || strstr(link, "eventfd") ||
		    strstr(link, "memfd:fuzz"))
			n++;
	}
	closedir(d);
	return n;
}

struct session {
	int fe;
	struct vhost_conn *conn;
};

static void open_session(struct session *s)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	s->fe = sv[0];
	CHECK(vhost_conn_new(sv[1], &toy_ops, NULL, &f_ops, NULL, &s->conn) == 0);
}

static void close_session(struct session *s)
{
	vhost_conn_free(s->conn);
	close(s->fe);
	s->conn = NULL;
}

/* Handles what the back end can read, drains replies. Returns false when
 * the back end closed the connection. */
static bool pump(struct session *s)
{
	char b;
	while (recv(vhost_conn_fd(s->conn), &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
		if (vhost_conn_on_readable(s->conn) < 0)
			return false;
		struct vhost_msg r;
		while (recv(s->fe, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
			if (vhost_msg_recv(s->fe, &r) < 0)
				break;
			CHECK(r.hdr.flags & VHOST_USER_REPLY);
			if (r.hdr.request == VHOST_USER_GET_INFLIGHT_FD && r.hdr.size == 24)
				CHECK(r.nfds == 1);
			else
				CHECK(r.nfds == 0);
			vhost_msg_close_fds(&r);
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int base_fds = -1;
	if (base_fds < 0) {
		log_set_level(LOG_LVL_ERR);
		base_fds = count_fds();
	}
	struct session s;
	open_session(&s);
	int memfd = memfd_create("fuzz", MFD_CLOEXEC);
	CHECK(memfd >= 0 && ftruncate(memfd, 0x10000) == 0);

	size_t pos = 0;
	int records = 0;
	while (pos + 13 <= size && records++ < 64) {
		uint8_t ctl = data[pos];
		struct vhost_msg m = {0};
		memcpy(&m.hdr, data + pos + 1, 12);
		pos += 13;
		size_t plen = m.hdr.size;
		if (plen > size - pos)
			plen = size - pos;
		if (plen > VHOST_MSG_MAX_PAYLOAD)
			plen = VHOST_MSG_MAX_PAYLOAD;
		memcpy(&m.p, data + pos, plen);
		pos += plen;
		if (ctl & 0x80) {
			size_t cut = ((ctl >> 3) & 15) * 4u;
			if (cut > plen)
				cut = plen;
			if (write(s.fe, &m.hdr, 12) != 12 || write(s.fe, &m.p, cut) < 0) {
				/* the back end's buffer is full: it will see EOF */
			}
			shutdown(s.fe, SHUT_WR);
			(void)pump(&s);
			break;
		}
		m.hdr.size = (uint32_t)plen;
		if (m.hdr.request == VHOST_USER_SET_INFLIGHT_FD && (ctl & 0x40))
			m.p.inflight.mmap_size = (uint64_t)m.p.inflight.num_queues *
						 inflight_queue_size(m.p.inflight.queue_size);
		m.nfds = ctl & 7;
		if (m.nfds > VHOST_USER_MAX_FDS)
			m.nfds = VHOST_USER_MAX_FDS;
		for (unsigned int i = 0; i < m.nfds; i++)
			m.fds[i] = m.hdr.request == VHOST_USER_SET_MEM_TABLE ||
						   m.hdr.request == VHOST_USER_SET_INFLIGHT_FD
					   ? dup(memfd)
					   : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		int rc = vhost_msg_send(s.fe, &m);
		vhost_msg_close_fds(&m);
		if (rc < 0 || !pump(&s)) {
			close_session(&s);
			open_session(&s);
		}
		/* Kick every started ring once. */
		for (unsigned int i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
			if (watched[i].cb)
				watched[i].cb(watched[i].arg);
	}
	close_session(&s);
	close(memfd);
	for (unsigned int i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		CHECK(watched[i].cb == NULL);
	CHECK(count_fds() == base_fds);
	return 0;
}

/* test_vhost.c — the vhost-user back end driven by a test front end of our
 * own (vhost_peer.c): a socketpair for the connection, a memfd for guest
 * memory, eventfds for kick and call. A toy device ("sum") answers each
 * request with the byte-sum of its readable buffers in its first writable
 * byte. Covers the handshake, a ring round trip, GET_VRING_BASE, reset,
 * REPLY_ACK errors, and malformed messages (each closes the connection, a
 * new one works). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "vhost_peer.h"

/* ---- a toy device ---- */
static int kicks;

static void sum_kick(void *dev, struct vq *vq, unsigned int idx)
{
	static struct vq_elem e;
	kicks++;
	while (vq_pop(vq, &e) == 1) {
		uint8_t s = 0;
		for (unsigned int i = 0; i < e.out_num; i++)
			for (size_t k = 0; k < e.iov[i].iov_len; k++)
				s += ((uint8_t *)e.iov[i].iov_base)[k];
		uint32_t len = 0;
		if (e.in_num && e.iov[e.out_num].iov_len) {
			*(uint8_t *)e.iov[e.out_num].iov_base = s;
			len = 1;
		}
		vq_push(vq, e.head, len);
	}
}

static int sum_get_config(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	static const uint8_t cfg[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	if (off > sizeof(cfg) || len > sizeof(cfg) - off)
		return -EINVAL;
	memcpy(buf, cfg + off, len);
	return 0;
}

static int resets;
static void sum_reset(void *dev)
{
	resets++;
}

static const struct vdev_ops sum_ops = {
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		    (1ull << VIRTIO_RING_F_EVENT_IDX),
	.num_queues = 2,
	.get_config = sum_get_config,
	.queue_kick = sum_kick,
	.reset = sum_reset,
};

/* ---- the front end ---- */
static void disconnect(void)
{
	vhost_conn_free(conn);
	conn = NULL;
	close(fe);
	CHECK_EQ_INT(nwatched(), 0);
}

/* Handshake and start queue 0 at base 0. */
static void handshake(void)
{
	uint64_t f = get_u64(VHOST_USER_GET_FEATURES);
	CHECK(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	CHECK(f & (1ull << VIRTIO_RING_F_EVENT_IDX));
	CHECK_EQ_INT(send_u64(VHOST_USER_SET_FEATURES, f), 0);
	uint64_t p = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);
	CHECK(p & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	CHECK(p & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	CHECK(p & (1ull << VHOST_USER_PROTOCOL_F_MQ));
	CHECK_EQ_INT(send_u64(VHOST_USER_SET_PROTOCOL_FEATURES, p), 0);
	CHECK_EQ_INT(get_u64(VHOST_USER_GET_QUEUE_NUM), 2);
	CHECK_EQ_INT(send_req(VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	ring_setup(0);
	/* With PROTOCOL_FEATURES the ring waits for SET_VRING_ENABLE. */
	CHECK(!vhost_conn_queue_started(conn, 0));
	ring_enable();
}

static void put_desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {addr, len, flags, next};
	memcpy(guest + (DESC - GPA) + 16 * i, &d, 16);
}

static uint16_t avail_idx;
static void offer(uint16_t head)
{
	memcpy(guest + (AVAIL - GPA) + 4 + 2 * (avail_idx % NUM), &head, 2);
	avail_idx++;
	memcpy(guest + (AVAIL - GPA) + 2, &avail_idx, 2);
}

static void test_handshake_and_ring(void)
{
	memset(guest, 0, MEM_SIZE);
	avail_idx = 0;
	connect_fresh(&sum_ops);
	handshake();
	/* A request: 3 bytes out, 1 byte in. */
	guest[DATA - GPA] = 10;
	guest[DATA - GPA + 1] = 20;
	guest[DATA - GPA + 2] = 30;
	put_desc(0, DATA, 3, VRING_DESC_F_NEXT, 1);
	put_desc(1, DATA + 0x100, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	uint64_t one = 1;
	CHECK_EQ_INT(write(kick_fd, &one, 8), 8);
	pump_kicks();
	CHECK_EQ_INT(used_idx(), 1);
	CHECK_EQ_INT(guest[DATA - GPA + 0x100], 60);
	uint64_t v = 0;
	CHECK_EQ_INT(read(call_fd, &v, 8), 8); /* the driver was signalled */

	/* GET_CONFIG. */
	struct vhost_config cfg = {.offset = 2, .size = 4};
	struct vhost_msg m;
	CHECK_EQ_INT(send_req(VHOST_USER_GET_CONFIG, 0, &cfg, 12 + 4, NULL, 0), 0);
	recv_reply(&m, VHOST_USER_GET_CONFIG);
	CHECK_EQ_INT(m.hdr.size, 16);
	CHECK_EQ_INT(m.p.config.data[0], 3);
	/* Out of range: an empty answer. */
	cfg = (struct vhost_config){.offset = 6, .size = 4};
	CHECK_EQ_INT(send_req(VHOST_USER_GET_CONFIG, 0, &cfg, 12 + 4, NULL, 0), 0);
	recv_reply(&m, VHOST_USER_GET_CONFIG);
	CHECK_EQ_INT(m.hdr.size, 0);

	/* REPLY_ACK: a refused request is reported and the connection lives. */
	struct vhost_vring_state s = {0, 3}; /* not a power of two (and started) */
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_NUM, VHOST_USER_NEED_REPLY, &s, 8, NULL, 0), 0);
	recv_reply(&m, VHOST_USER_SET_VRING_NUM);
	CHECK(m.p.u64 != 0);
	s = (struct vhost_vring_state){5, 1}; /* no such queue */
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ENABLE, VHOST_USER_NEED_REPLY, &s, 8, NULL, 0),
		     0);
	recv_reply(&m, VHOST_USER_SET_VRING_ENABLE);
	CHECK(m.p.u64 != 0);
	CHECK_EQ_INT(send_u64(VHOST_USER_SET_FEATURES, 1ull << 63), -EPROTO); /* no ack asked */
	disconnect();
}

static void test_vring_base_and_reset(void)
{
	memset(guest, 0, MEM_SIZE);
	avail_idx = 0;
	connect_fresh(&sum_ops);
	handshake();
	put_desc(0, DATA, 1, 0, 0);
	offer(0);
	offer(0);
	pump_kicks();
	CHECK_EQ_INT(used_idx(), 2);
	struct vhost_vring_state s = {0, 0};
	struct vhost_msg m;
	CHECK_EQ_INT(send_req(VHOST_USER_GET_VRING_BASE, 0, &s, 8, NULL, 0), 0);
	recv_reply(&m, VHOST_USER_GET_VRING_BASE);
	CHECK_EQ_INT(m.p.state.num, 2);
	CHECK(!vhost_conn_queue_started(conn, 0));
	CHECK_EQ_INT(nwatched(), 0);
	/* A stopped ring is not served. */
	offer(0);
	pump_kicks();
	CHECK_EQ_INT(used_idx(), 2);
	int r0 = resets;
	CHECK_EQ_INT(send_req(VHOST_USER_RESET_OWNER, 0, NULL, 0, NULL, 0), 0);
	CHECK_EQ_INT(resets, r0 + 1);
	disconnect();
}

static void test_broken_ring(void)
{
	memset(guest, 0, MEM_SIZE);
	avail_idx = 0;
	connect_fresh(&sum_ops);
	handshake();
	int err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t idx = 0;
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ERR, 0, &idx, 8, &err_fd, 1), 0);
	put_desc(0, DATA, 1, VRING_DESC_F_NEXT, 0); /* self loop */
	offer(0);
	pump_kicks();
	CHECK_EQ_INT(used_idx(), 0);
	uint64_t v = 0;
	CHECK_EQ_INT(read(err_fd, &v, 8), 8);
	/* The connection still answers. */
	CHECK_EQ_INT(get_u64(VHOST_USER_GET_QUEUE_NUM), 2);
	close(err_fd);
	disconnect();
}

/* Each malformed message closes the connection; the next one works. */
static void expect_closed(int rc, const char *what)
{
	if (rc >= 0)
		printf("# not refused: %s\n", what);
	CHECK(rc < 0);
	disconnect();
	connect_fresh(&sum_ops);
}

static void test_malformed(void)
{
	connect_fresh(&sum_ops);
	uint64_t v = 0;
	struct vhost_mem_table t = {.nregions = 1};
	t.regions[0] = (struct vhost_mem_region){GPA, MEM_SIZE, UVA, 0};

	expect_closed(send_req(VHOST_USER_SET_FEATURES, 0, &v, 4, NULL, 0), "short u64");
	expect_closed(send_req(VHOST_USER_GET_FEATURES, 0, &v, 8, NULL, 0), "payload on GET");
	expect_closed(send_req(99, 0, NULL, 0, NULL, 0), "unknown request");
	expect_closed(send_req(VHOST_USER_SET_LOG_BASE, 0, &v, 8, NULL, 0), "LOG_BASE");
	expect_closed(send_req(VHOST_USER_SET_OWNER, VHOST_USER_REPLY, NULL, 0, NULL, 0),
		      "reply flag");
	expect_closed(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, NULL, 0),
		      "mem table without fd");
	int two[2] = {memfd, memfd};
	expect_closed(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, two, 2),
		      "mem table with two fds");
	expect_closed(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 64, &memfd, 1),
		      "mem table size mismatch");
	t.nregions = 9;
	expect_closed(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, &memfd, 1), "nine regions");
	t.nregions = 1;
	t.regions[0].size = MEM_SIZE + 4096;
	expect_closed(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, &memfd, 1),
		      "region larger than its fd");
	t.regions[0].size = MEM_SIZE;
	t.regions[0].mmap_offset = UINT64_MAX - 10;
	expect_closed(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, &memfd, 1),
		      "offset overflow");
	t.regions[0].mmap_offset = 0;
	t.regions[0].gpa = UINT64_MAX - 100;
	expect_closed(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, &memfd, 1), "gpa overflow");
	int efd = eventfd(0, EFD_CLOEXEC);
	v = VHOST_USER_VRING_NOFD;
	expect_closed(send_req(VHOST_USER_SET_VRING_KICK, 0, &v, 8, &efd, 1), "NOFD with an fd");
	v = 0;
	expect_closed(send_req(VHOST_USER_SET_VRING_KICK, 0, &v, 8, NULL, 0), "kick without fd");
	v = 7;
	expect_closed(send_req(VHOST_USER_SET_VRING_CALL, 0, &v, 8, &efd, 1), "ring 7");
	close(efd);
	struct vhost_vring_state s = {0, 65536};
	expect_closed(send_req(VHOST_USER_SET_VRING_NUM, 0, &s, 8, NULL, 0), "num 65536");
	s = (struct vhost_vring_state){0, 0x10000};
	expect_closed(send_req(VHOST_USER_SET_VRING_BASE, 0, &s, 8, NULL, 0), "base 65536");
	struct vhost_config cfg = {.size = 300};
	expect_closed(send_req(VHOST_USER_GET_CONFIG, 0, &cfg, 12, NULL, 0), "config size 300");
	cfg.size = 8;
	expect_closed(send_req(VHOST_USER_GET_CONFIG, 0, &cfg, 12 + 4, NULL, 0),
		      "config size mismatch");
	expect_closed(send_req(VHOST_USER_SET_CONFIG, 0, &cfg, 12 + 8, NULL, 0),
		      "SET_CONFIG unsupported");

	/* A bad version, a truncated header, a truncated payload. */
	uint32_t bad[3] = {VHOST_USER_GET_FEATURES, 2, 0};
	CHECK_EQ_INT(write(fe, bad, 12), 12);
	expect_closed(vhost_conn_on_readable(conn), "version 2");
	CHECK_EQ_INT(write(fe, bad, 5), 5);
	shutdown(fe, SHUT_WR);
	expect_closed(vhost_conn_on_readable(conn), "half a header");
	uint32_t hdr[3] = {VHOST_USER_SET_FEATURES, 1, 8};
	CHECK_EQ_INT(write(fe, hdr, 12), 12);
	CHECK_EQ_INT(write(fe, &v, 3), 3);
	shutdown(fe, SHUT_WR);
	expect_closed(vhost_conn_on_readable(conn), "truncated payload");
	hdr[2] = 4096;
	CHECK_EQ_INT(write(fe, hdr, 12), 12);
	expect_closed(vhost_conn_on_readable(conn), "payload too large");

	/* Rings outside guest memory: refused with an ack. */
	CHECK_EQ_INT(send_u64(VHOST_USER_SET_FEATURES, 1ull << VHOST_USER_F_PROTOCOL_FEATURES), 0);
	CHECK_EQ_INT(
		send_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK),
		0);
	set_mem();
	s = (struct vhost_vring_state){0, NUM};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_NUM, 0, &s, 8, NULL, 0), 0);
	struct vhost_vring_addr a = {0, 0, UVA + MEM_SIZE - 16, UVA + 0x2000, UVA + 0x1000, 0};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ADDR, 0, &a, 40, NULL, 0), 0);
	s = (struct vhost_vring_state){0, 1};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ENABLE, 0, &s, 8, NULL, 0), 0);
	int k = eventfd(0, EFD_CLOEXEC);
	uint64_t idx = 0;
	struct vhost_msg m;
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_KICK, VHOST_USER_NEED_REPLY, &idx, 8, &k, 1), 0);
	recv_reply(&m, VHOST_USER_SET_VRING_KICK);
	CHECK(m.p.u64 != 0);
	CHECK(!vhost_conn_queue_started(conn, 0));
	close(k);
	/* The connection is still usable. */
	CHECK_EQ_INT(get_u64(VHOST_USER_GET_QUEUE_NUM), 2);
	/* The front end hanging up. */
	close(fe);
	fe = -1;
	CHECK_EQ_INT(vhost_conn_on_readable(conn), -EPIPE);
	vhost_conn_free(conn);
	conn = NULL;
}

int main(void)
{
	if (guest_map() < 0)
		return 1;
	RUN(test_handshake_and_ring);
	RUN(test_vring_base_and_reset);
	RUN(test_broken_ring);
	RUN(test_malformed);
	close(kick_fd);
	close(call_fd);
	return tap_done();
}

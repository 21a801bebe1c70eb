/* test_relay.c — the relay core driven in-process: a test engine (vhost-user
 * front end on a UNIX socket, memfd guest RAM that is the relay's guest-RAM
 * memfd, eventfds), a test stub (lib/stubproto's stub end on the port
 * socket) and a fake ivshmem client (which also hands the test the vector
 * eventfds QEMU would hold). Covers: early answers before the stub exists,
 * the held set-up replayed after HELLO with the right GPAs and vectors, kick
 * and call forwarding, GET_VRING_BASE → VRING_STOP → base, refusals (a
 * foreign memfd, regions outside guest RAM, a foreign inflight fd),
 * GET_INFLIGHT_FD, DEVICE_BROKEN → err eventfd, a stub restart dropping the
 * engine, and the ivshmem server's messages. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "relay/relay.h"
#include "relay/relay_desc.h"
#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_session.h"
#include "tap.h"
#include "vhost/vhost_msg.h"
#include "virtio/inflight.h"

#define RAM_SIZE 0x100000ull
#define GPA	 0x0ull
#define UVA	 0x7f0000000000ull
#define NUM	 16
#define FEATURES 0x130000044ull /* VERSION_1 | a few device bits */
#define NVEC	 9

static struct loop *loop;
static struct relay *rl;
static int memfd = -1;
static uint64_t memfd_size;
static char sock_names[3][64]; /* engine, port, ivshmem (abstract) */
static int counter;

static int listen_abstract(int which)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sock_names[which], sizeof(sock_names[which]), "airlock-test-relay-%d-%d-%d",
		 (int)getpid(), counter, which);
	memcpy(a.sun_path + 1, sock_names[which], strlen(sock_names[which]));
	socklen_t len =
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sock_names[which]));
	CHECK_EQ_INT(bind(s, (struct sockaddr *)&a, len), 0);
	CHECK_EQ_INT(listen(s, 4), 0);
	return s;
}

static int connect_abstract(int which)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(a.sun_path + 1, sock_names[which], strlen(sock_names[which]));
	socklen_t len =
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sock_names[which]));
	CHECK_EQ_INT(connect(s, (struct sockaddr *)&a, len), 0);
	return s;
}

static void pump(void)
{
	for (int i = 0; i < 8; i++)
		loop_run_once(loop, 0);
}

static int new_memfd(uint64_t size)
{
	int fd = memfd_create("test-ram", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void relay_up(void)
{
	unsigned int q = 2;
	counter++;
	memfd_size = relay_inflight_layout(RAM_SIZE, &q, 1, NULL, NULL);
	CHECK(memfd_size > RAM_SIZE);
	memfd = new_memfd(memfd_size);
	struct relay_config cfg = {.name = "test", .ram_size = RAM_SIZE, .ndevs = 1};
	cfg.ram_fd = dup(memfd);
	char err[128];
	CHECK_EQ_INT(
		relay_desc_parse("blk,fd=0,features=0x130000044,queues=2,config=0102030405060708",
				 &cfg.devs[0], err, sizeof(err)),
		0);
	cfg.devs[0].listen_fd = listen_abstract(0);
	cfg.port_fd = listen_abstract(1);
	cfg.ivshmem_fd = listen_abstract(2);
	CHECK_EQ_INT(loop_new(&loop), 0);
	CHECK_EQ_INT(relay_new(&cfg, loop, &rl), 0);
}

static void relay_down(void)
{
	relay_free(rl);
	loop_free(loop);
	close(memfd);
	rl = NULL;
}

/* ---- the engine ---- */
static int fe = -1;

static void engine_connect(void)
{
	fe = connect_abstract(0);
	pump();
}

static void fe_send(uint32_t req, uint32_t flags, const void *payload, uint32_t size,
		    const int *fds, unsigned int nfds)
{
	CHECK_EQ_INT(vhost_msg_send_req(fe, req, flags, payload, size, fds, nfds), 0);
	pump();
}

static bool fe_readable(void)
{
	struct pollfd p = {.fd = fe, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

static void fe_reply(struct vhost_msg *m, uint32_t req)
{
	CHECK(fe_readable());
	CHECK_EQ_INT(vhost_msg_recv(fe, m), 0);
	CHECK_EQ_INT(m->hdr.request, req);
	CHECK(m->hdr.flags & VHOST_USER_REPLY);
}

static uint64_t fe_get_u64(uint32_t req)
{
	struct vhost_msg m;
	fe_send(req, 0, NULL, 0, NULL, 0);
	fe_reply(&m, req);
	CHECK_EQ_INT(m.hdr.size, 8);
	return m.p.u64;
}

/* Sends with NEED_REPLY (REPLY_ACK negotiated) and returns the ack. */
static int64_t fe_ack(uint32_t req, const void *payload, uint32_t size, const int *fds,
		      unsigned int nfds)
{
	struct vhost_msg m;
	fe_send(req, VHOST_USER_NEED_REPLY, payload, size, fds, nfds);
	fe_reply(&m, req);
	CHECK_EQ_INT(m.hdr.size, 8);
	return (int64_t)m.p.u64;
}

static int kick_fd = -1, call_fd = -1, err_fd = -1;

static void engine_setup(void)
{
	uint64_t f = fe_get_u64(VHOST_USER_GET_FEATURES);
	CHECK_EQ_INT(f, FEATURES | (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	uint64_t p = fe_get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);
	CHECK(p & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	CHECK(p & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
	CHECK(p & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	CHECK(!(p & (1ull << 1)));  /* LOG_SHMFD */
	CHECK(!(p & (1ull << 5)));  /* SLAVE_REQ */
	CHECK(!(p & (1ull << 15))); /* CONFIGURE_MEM_SLOTS */
	fe_send(VHOST_USER_SET_PROTOCOL_FEATURES, 0, &p, 8, NULL, 0);
	CHECK_EQ_INT(fe_get_u64(VHOST_USER_GET_QUEUE_NUM), 2);
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_FEATURES, &f, 8, NULL, 0), 0);
}

static void engine_config(void)
{
	struct vhost_msg m;
	struct vhost_config c = {.offset = 2, .size = 4};
	fe_send(VHOST_USER_GET_CONFIG, 0, &c, VHOST_CONFIG_HDR_SIZE + 4, NULL, 0);
	fe_reply(&m, VHOST_USER_GET_CONFIG);
	CHECK_EQ_INT(m.hdr.size, VHOST_CONFIG_HDR_SIZE + 4);
	CHECK(memcmp(m.p.config.data, "\3\4\5\6", 4) == 0);
	c = (struct vhost_config){.offset = 6, .size = 4}; /* past the end */
	fe_send(VHOST_USER_GET_CONFIG, 0, &c, VHOST_CONFIG_HDR_SIZE + 4, NULL, 0);
	fe_reply(&m, VHOST_USER_GET_CONFIG);
	CHECK_EQ_INT(m.hdr.size, 0);
}

static void engine_inflight(void)
{
	struct vhost_msg m;
	struct vhost_inflight_info in = {.num_queues = 2, .queue_size = NUM};
	uint64_t off, size;
	struct stat a, b;

	CHECK_EQ_INT(relay_inflight_area(rl, 0, &off, &size), 0);
	CHECK(off >= RAM_SIZE && off % 4096 == 0 && off + size <= memfd_size);
	fe_send(VHOST_USER_GET_INFLIGHT_FD, 0, &in, sizeof(in), NULL, 0);
	fe_reply(&m, VHOST_USER_GET_INFLIGHT_FD);
	CHECK_EQ_INT(m.nfds, 1);
	CHECK_EQ_INT(m.p.inflight.mmap_offset, off);
	CHECK_EQ_INT(m.p.inflight.mmap_size, 2 * inflight_queue_size(NUM));
	CHECK_EQ_INT(fstat(m.fds[0], &a), 0);
	CHECK_EQ_INT(fstat(memfd, &b), 0);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	/* The area is fresh: queue 1's desc_num says the queue size. */
	uint16_t dn = 0;
	CHECK_EQ_INT(pread(memfd, &dn, 2, (off_t)(off + inflight_queue_size(NUM) + 10)), 2);
	CHECK_EQ_INT(dn, NUM);
	/* Handing it back: the same fd at the same offset is taken... */
	in = m.p.inflight;
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &m.fds[0], 1), 0);
	/* ... another offset or another memfd is not. */
	in.mmap_offset += 4096;
	CHECK(fe_ack(VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &m.fds[0], 1) != 0);
	in.mmap_offset -= 4096;
	int other = new_memfd(memfd_size);
	CHECK(fe_ack(VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &other, 1) != 0);
	close(other);
	close(m.fds[0]);
}

static void engine_mem(void)
{
	struct vhost_mem_table t = {.nregions = 1};
	/* A different memfd of the same size: refused. */
	int other = new_memfd(memfd_size);
	t.regions[0] = (struct vhost_mem_region){GPA, RAM_SIZE, UVA, 0};
	CHECK(fe_ack(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, &other, 1) != 0);
	close(other);
	/* The right memfd, but reaching into the inflight padding: refused. */
	t.regions[0] = (struct vhost_mem_region){GPA, RAM_SIZE, UVA, 0x1000};
	CHECK(fe_ack(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, &memfd, 1) != 0);
	/* All of guest RAM: taken. */
	t.regions[0] = (struct vhost_mem_region){GPA, RAM_SIZE, UVA, 0};
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, &memfd, 1), 0);
}

static void engine_ring(uint16_t base)
{
	struct vhost_vring_state s = {0, NUM};
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_NUM, &s, 8, NULL, 0), 0);
	s.num = base;
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_BASE, &s, 8, NULL, 0), 0);
	struct vhost_vring_addr a = {0, 0, UVA + 0x1000, UVA + 0x3000, UVA + 0x2000, 0};
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0);
	kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t idx = 0;
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_CALL, &idx, 8, &call_fd, 1), 0);
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_ERR, &idx, 8, &err_fd, 1), 0);
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_KICK, &idx, 8, &kick_fd, 1), 0);
	s = (struct vhost_vring_state){0, 1};
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_ENABLE, &s, 8, NULL, 0), 0);
}

static void engine_close(void)
{
	close(fe);
	fe = -1;
	close(kick_fd);
	close(call_fd);
	close(err_fd);
	kick_fd = call_fd = err_fd = -1;
	pump();
}

static bool engine_dropped(void)
{
	char c;
	if (!fe_readable())
		return false;
	return recv(fe, &c, 1, MSG_DONTWAIT) == 0;
}

/* ---- the stub ---- */
static int st = -1;
static struct sp_decoder sdec;
static struct sp_session sses;
static struct sp_frame frames[32];
static int nframes;

static void stub_write(const uint8_t *p, size_t n)
{
	CHECK_EQ_INT(write(st, p, n), (ssize_t)n);
	pump();
}

/* Reads everything the relay sent and keeps the frames the session takes. */
static void stub_read(void)
{
	uint8_t buf[8192];
	nframes = 0;
	for (;;) {
		ssize_t n = recv(st, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		const uint8_t *p = buf;
		size_t len = (size_t)n;
		struct sp_frame f;
		int rc;
		while ((rc = sp_decode(&sdec, &p, &len, &f)) != 0) {
			CHECK(rc == 1);
			if (rc != 1)
				continue;
			enum sp_verdict v = sp_session_rx(&sses, &f);
			if ((v == SP_V_DELIVER || v == SP_V_UP || v == SP_V_REHANDSHAKE) &&
			    nframes < 32)
				frames[nframes++] = f;
		}
	}
}

static void stub_hello(uint64_t nonce)
{
	uint8_t buf[SP_PREAMBLE_LEN + SP_FRAME_MAX];
	int n = sp_session_hello(&sses, nonce, true, buf, sizeof(buf));
	CHECK(n > 0);
	stub_write(buf, (size_t)n);
	stub_read();
}

static void stub_connect(void)
{
	st = connect_abstract(1);
	sp_decoder_init(&sdec, SP_ROLE_STUB);
	sp_session_init(&sses, SP_ROLE_STUB, 0);
	pump();
	stub_read();
	CHECK_EQ_INT(nframes, 1); /* the relay's REHELLO */
	CHECK_EQ_INT(frames[0].hdr.type, SP_T_REHELLO);
}

static void stub_reply(const struct sp_frame *req, uint32_t status, const void *res, uint16_t len)
{
	struct sp_addr a;
	struct sp_reply r = {
		.req_seq = req->hdr.seq, .req_type = req->hdr.type, .status = status, .len = len};
	uint8_t buf[SP_FRAME_MAX];
	if (len)
		memcpy(r.result, res, len);
	CHECK_EQ_INT(sp_session_tx(&sses, SP_T_REPLY, req->hdr.channel, 0, &a), 0);
	int n = sp_encode_reply(buf, sizeof(buf), &a, &r);
	CHECK(n > 0);
	stub_write(buf, (size_t)n);
}

/* Expects exactly one request of `type` from the relay, answers it OK. */
static struct sp_frame expect_req(uint16_t type)
{
	stub_read();
	CHECK_EQ_INT(nframes, 1);
	struct sp_frame f = frames[0];
	CHECK_EQ_INT(f.hdr.type, type);
	CHECK_EQ_INT(f.hdr.channel, 1);
	if (type != SP_T_VRING_STOP)
		stub_reply(&f, 0, NULL, 0);
	return f;
}

/* ---- the ivshmem client ---- */
static int ivs = -1;
static int peer0[NVEC], peer1[NVEC]; /* doorbell targets; own vectors */

static int ivs_recv(int64_t *val, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	uint8_t le[8];
	struct iovec iov = {.iov_base = le, .iov_len = 8};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n = recvmsg(ivs, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n != 8)
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)le[i] << (8 * i);
	*val = (int64_t)v;
	*fd = -1;
	int nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fd, CMSG_DATA(c), sizeof(int));
		}
	return nfds;
}

static void ivshmem_connect(void)
{
	int64_t v;
	int fd;
	struct stat a, b;

	ivs = connect_abstract(2);
	pump();
	CHECK_EQ_INT(ivs_recv(&v, &fd), 0);
	CHECK_EQ_INT(v, 0); /* version */
	CHECK_EQ_INT(ivs_recv(&v, &fd), 0);
	CHECK_EQ_INT(v, 1); /* our id */
	CHECK_EQ_INT(ivs_recv(&v, &fd), 1);
	CHECK_EQ_INT(v, -1); /* shared memory */
	CHECK_EQ_INT(fstat(fd, &a), 0);
	CHECK_EQ_INT(fstat(memfd, &b), 0);
	CHECK(a.st_ino == b.st_ino);
	close(fd);
	for (int i = 0; i < NVEC; i++) {
		CHECK_EQ_INT(ivs_recv(&v, &peer0[i]), 1);
		CHECK_EQ_INT(v, 0);
	}
	for (int i = 0; i < NVEC; i++) {
		CHECK_EQ_INT(ivs_recv(&v, &peer1[i]), 1);
		CHECK_EQ_INT(v, 1);
	}
	CHECK_EQ_INT(ivs_recv(&v, &fd), -1); /* nothing more */
}

static void ivshmem_close(void)
{
	for (int i = 0; i < NVEC; i++) {
		close(peer0[i]);
		close(peer1[i]);
	}
	close(ivs);
	pump();
}

static bool efd_take(int fd)
{
	uint64_t v;
	return read(fd, &v, 8) == 8;
}

/* ---- tests ---- */
static void test_ivshmem_messages(void)
{
	relay_up();
	ivshmem_connect();
	/* A second client while the first is there: closed at once. */
	int second = connect_abstract(2);
	pump();
	char c;
	CHECK_EQ_INT(recv(second, &c, 1, MSG_DONTWAIT), 0);
	close(second);
	ivshmem_close();
	/* After the first left, a new one gets the set-up again. */
	ivshmem_connect();
	CHECK_EQ_INT(relay_stats(rl)->ivshmem_clients, 2);
	/* Vector 0 from the stub: "interrupts armed". */
	uint64_t one = 1;
	CHECK_EQ_INT(write(peer0[0], &one, 8), 8);
	pump();
	CHECK_EQ_INT(relay_stats(rl)->armed, 1);
	ivshmem_close();
	relay_down();
}

static void test_early_answers(void)
{
	relay_up();
	engine_connect();
	engine_setup();
	engine_config();
	CHECK(!relay_stub_up(rl));
	engine_close();
	relay_down();
}

/* The whole path: set-up held, replayed after HELLO, kicks, calls,
 * GET_VRING_BASE, DEVICE_BROKEN, a stub restart. */
static void test_replay_and_forwarding(void)
{
	relay_up();
	ivshmem_connect();
	engine_connect();
	engine_setup();
	engine_inflight();
	engine_mem();
	engine_ring(5);
	CHECK(!relay_stub_up(rl));

	stub_connect();
	stub_hello(0x1234);
	CHECK(relay_stub_up(rl));
	/* HELLO_ACK, then SET_FEATURES at once (the first request). */
	CHECK(nframes >= 1 && frames[0].hdr.type == SP_T_HELLO_ACK);
	CHECK_EQ_INT(nframes, 2);
	CHECK_EQ_INT(frames[1].hdr.type, SP_T_SET_FEATURES);
	/* Without vhost-user's PROTOCOL_FEATURES: the stub's device never
	 * offers it (found when a real airlock-dm refused it). */
	CHECK_EQ_INT(frames[1].m.set_features.features, FEATURES);
	stub_reply(&frames[1], 0, NULL, 0);
	struct sp_frame f = expect_req(SP_T_SET_MEM_TABLE);
	CHECK_EQ_INT(f.m.mem_table.n, 1);
	CHECK_EQ_INT(f.m.mem_table.r[0].gpa, GPA);
	CHECK_EQ_INT(f.m.mem_table.r[0].size, RAM_SIZE);
	CHECK_EQ_INT(f.m.mem_table.r[0].offset, 0);
	f = expect_req(SP_T_SET_INFLIGHT);
	uint64_t off, size;
	relay_inflight_area(rl, 0, &off, &size);
	CHECK_EQ_INT(f.m.set_inflight.offset, off);
	CHECK_EQ_INT(f.m.set_inflight.num_queues, 2);
	CHECK_EQ_INT(f.m.set_inflight.queue_size, NUM);
	f = expect_req(SP_T_VRING_START);
	CHECK_EQ_INT(f.m.vring_start.queue, 0);
	CHECK_EQ_INT(f.m.vring_start.num, NUM);
	CHECK_EQ_INT(f.m.vring_start.base, 5);
	CHECK_EQ_INT(f.m.vring_start.kick_vector, 1);
	CHECK_EQ_INT(f.m.vring_start.call_vector, 1);
	CHECK_EQ_INT(f.m.vring_start.desc, GPA + 0x1000);
	CHECK_EQ_INT(f.m.vring_start.avail, GPA + 0x2000);
	CHECK_EQ_INT(f.m.vring_start.used, GPA + 0x3000);
	stub_read();
	CHECK_EQ_INT(nframes, 0); /* nothing more to do */

	/* Kick: engine kick eventfd → the stub's vector 1. */
	uint64_t one = 1;
	CHECK(!efd_take(peer1[1]));
	CHECK_EQ_INT(write(kick_fd, &one, 8), 8);
	pump();
	CHECK(efd_take(peer1[1]));
	CHECK_EQ_INT(relay_stats(rl)->kicks, 1);
	/* Call: the stub's doorbell on peer 0's vector 1 → engine call fd. */
	CHECK_EQ_INT(write(peer0[1], &one, 8), 8);
	pump();
	CHECK(efd_take(call_fd));
	/* A doorbell on queue 1's vector (no call fd yet): counted, harmless. */
	CHECK_EQ_INT(write(peer0[2], &one, 8), 8);
	pump();
	CHECK_EQ_INT(relay_stats(rl)->calls, 2);

	/* DEVICE_BROKEN for queue 0 → the engine's err eventfd. */
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];
	struct sp_device_broken b = {.queue = 0, .reason = SP_BROKEN_RING};
	CHECK_EQ_INT(sp_session_tx(&sses, SP_T_DEVICE_BROKEN, 1, 0, &a), 0);
	int n = sp_encode_device_broken(buf, sizeof(buf), &a, &b);
	stub_write(buf, (size_t)n);
	CHECK(efd_take(err_fd));
	/* A LOG notice: logged, nothing else. */
	CHECK_EQ_INT(sp_session_tx(&sses, SP_T_LOG, 1, 0, &a), 0);
	n = sp_encode_log(buf, sizeof(buf), &a, 2, "hello from the stub");
	stub_write(buf, (size_t)n);

	/* GET_VRING_BASE → VRING_STOP → the stub's base to the engine. */
	struct vhost_vring_state s = {0, 0};
	fe_send(VHOST_USER_GET_VRING_BASE, 0, &s, 8, NULL, 0);
	CHECK(!fe_readable()); /* waits for the stub */
	f = expect_req(SP_T_VRING_STOP);
	CHECK_EQ_INT(f.m.vring_stop.queue, 0);
	uint8_t base[2] = {42, 0};
	stub_reply(&f, 0, base, 2);
	struct vhost_msg m;
	fe_reply(&m, VHOST_USER_GET_VRING_BASE);
	CHECK_EQ_INT(m.p.state.index, 0);
	CHECK_EQ_INT(m.p.state.num, 42);

	/* Restart the ring: it comes back at the base the stub said. */
	int k2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t idx = 0;
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_KICK, &idx, 8, &k2, 1), 0);
	s = (struct vhost_vring_state){0, 1};
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_ENABLE, &s, 8, NULL, 0), 0);
	f = expect_req(SP_T_VRING_START);
	CHECK_EQ_INT(f.m.vring_start.base, 42);
	close(k2);

	/* The stub's airlock-dm restarts: a new HELLO drops the engine. */
	sp_decoder_init(&sdec, SP_ROLE_STUB);
	sp_session_init(&sses, SP_ROLE_STUB, 0);
	stub_hello(0x5678);
	CHECK_EQ_INT(relay_stats(rl)->stub_restarts, 1);
	CHECK(nframes >= 1 && frames[0].hdr.type == SP_T_HELLO_ACK);
	CHECK_EQ_INT(nframes, 1); /* the engine's records went with it */
	CHECK(engine_dropped());
	engine_close();
	/* The engine reconnects; its set-up reaches the new session. */
	engine_connect();
	engine_setup();
	f = expect_req(SP_T_SET_FEATURES);
	engine_close();
	/* The engine left with state in the stub: the stub is reset. */
	expect_req(SP_T_DEVICE_RESET);
	close(st);
	ivshmem_close();
	relay_down();
}

/* The stub breaks the protocol: REHELLO, and the next HELLO is a restart. */
static void test_broken_session(void)
{
	relay_up();
	engine_connect();
	engine_setup();
	stub_connect();
	stub_hello(0x99);
	CHECK_EQ_INT(nframes, 2);
	/* A REPLY that answers nothing (wrong type). */
	struct sp_frame bogus = frames[1];
	bogus.hdr.type = SP_T_VRING_STOP;
	stub_reply(&bogus, 0, NULL, 0);
	stub_read();
	CHECK(nframes >= 1 && frames[0].hdr.type == SP_T_REHELLO);
	CHECK(!relay_stub_up(rl));
	stub_hello(0x100);
	CHECK(relay_stub_up(rl));
	CHECK(engine_dropped());
	/* Garbage on the port: skipped, the session survives. */
	stub_write((const uint8_t *)"garbage!", 8);
	CHECK(relay_stub_up(rl));
	engine_close();
	close(st);
	relay_down();
}

/* Refusals that drop the engine (no REPLY_ACK): it reconnects fine. */
static void test_malformed_engine(void)
{
	relay_up();
	engine_connect();
	uint64_t bad = 1ull << 63;
	fe_send(VHOST_USER_SET_FEATURES, 0, &bad, 8, NULL, 0);
	CHECK(engine_dropped());
	engine_close();
	engine_connect();
	/* A second engine while one is connected: closed at once. */
	int second = connect_abstract(0);
	pump();
	char c;
	CHECK_EQ_INT(recv(second, &c, 1, MSG_DONTWAIT), 0);
	close(second);
	engine_setup();
	/* A vring message for a queue the device lacks. */
	struct vhost_vring_state s = {7, NUM};
	CHECK(fe_ack(VHOST_USER_SET_VRING_NUM, &s, 8, NULL, 0) != 0);
	/* SET_CONFIG is not offered. */
	struct vhost_config cfg = {.offset = 0, .size = 1};
	CHECK(fe_ack(VHOST_USER_SET_CONFIG, &cfg, VHOST_CONFIG_HDR_SIZE + 1, NULL, 0) != 0);
	/* An unknown request: dropped. */
	fe_send(40, 0, NULL, 0, NULL, 0);
	CHECK(engine_dropped());
	engine_close();
	CHECK(relay_stats(rl)->engine_drops >= 2);
	relay_down();
}

/* No stub: GET_VRING_BASE answers at once with the recorded base; rings
 * outside the memory table are refused. */
static void test_no_stub_ring(void)
{
	relay_up();
	engine_connect();
	engine_setup();
	engine_mem();
	engine_ring(7);
	struct vhost_msg m;
	struct vhost_vring_state s = {0, 0};
	fe_send(VHOST_USER_GET_VRING_BASE, 0, &s, 8, NULL, 0);
	fe_reply(&m, VHOST_USER_GET_VRING_BASE);
	CHECK_EQ_INT(m.p.state.num, 7);
	/* The used ring past the end of guest RAM: the start is refused. */
	struct vhost_vring_addr a = {0, 0, UVA + 0x1000, UVA + RAM_SIZE - 8, UVA + 0x2000, 0};
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0);
	uint64_t idx = 0;
	int k = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_KICK, &idx, 8, &k, 1), 0);
	s = (struct vhost_vring_state){0, 1};
	CHECK_EQ_INT(fe_ack(VHOST_USER_SET_VRING_ENABLE, &s, 8, NULL, 0), EFAULT);
	close(k);
	engine_close();
	relay_down();
}

static void test_desc_parse(void)
{
	struct relay_dev_desc d;
	char err[128];
	CHECK_EQ_INT(relay_desc_parse("net,fd=5,features=0x1,queues=2", &d, err, sizeof(err)), 0);
	CHECK_EQ_INT(d.kind, RELAY_NET);
	CHECK_EQ_INT(d.config_len, 0);
	CHECK(relay_desc_parse("blk,fd=5,features=0x1,queues=9", &d, err, sizeof(err)) < 0);
	CHECK(relay_desc_parse("blk,fd=5,queues=1", &d, err, sizeof(err)) < 0);
	CHECK(relay_desc_parse("blk,fd=5,features=1,queues=1,config=abc", &d, err, sizeof(err)) <
	      0);
	CHECK(relay_desc_parse("blk,fd=5,fd=6,features=1,queues=1", &d, err, sizeof(err)) < 0);
	CHECK(relay_desc_parse("scsi,fd=5,features=1,queues=1", &d, err, sizeof(err)) < 0);
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	RUN(test_desc_parse);
	RUN(test_ivshmem_messages);
	RUN(test_early_answers);
	RUN(test_replay_and_forwarding);
	RUN(test_broken_session);
	RUN(test_malformed_engine);
	RUN(test_no_stub_ring);
	return tap_done();
}

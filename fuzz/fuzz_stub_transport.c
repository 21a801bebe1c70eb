/* fuzz_stub_transport.c — libFuzzer target for airlock-dm's stub-domain
 * transport (dm/stub_transport.c, dm/stub_chan.c) serving a virtio-blk
 * device (synchronous path) from a 64 KiB memfd BAR.
 *
 * Each input runs one transport: created, its HELLO acknowledged by a test
 * relay (lib/stubproto's relay end, session ids from 1), then the input as
 * a sequence of operations, each an opcode byte and its operands (missing
 * bytes read as 0):
 *   0 n b[n]    n raw bytes as the relay's stream (garbage, forged or cut
 *               frames: the decoder and session see them as they are)
 *   1..7 c f[24] request opcode-1 (SET_FEATURES, SET_MEM_TABLE, VRING_START,
 *               VRING_STOP, DEVICE_RESET, GET_CONFIG, SET_INFLIGHT) on
 *               channel 1 + c%3 (only channel 1 has a device), its fields
 *               from f, scaled so addresses land near the BAR and the
 *               rings; what the encoder refuses is not sent
 *   8 k f[24]   the same request k%7 with one payload byte flipped and the
 *               CRC fixed (a frame the decoder refuses for a field)
 *   9           REHELLO from the relay (a session restart)
 *  10 o n b[n]  the guest writes n bytes at guest RAM offset o*64 (rings,
 *               descriptors, requests)
 *  11 v         the relay kicks vector v%8; the loop runs once
 * After each operation the relay reads what the transport wrote and
 * acknowledges its HELLOs. At the end the transport is freed (every ring
 * stopped).
 *
 * Oracles: no crash or sanitizer report (nothing outside the BAR is ever
 * touched: ASan guards the mapping's neighbours); while only well-formed
 * requests were sent in one session, every request got exactly one REPLY.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/util.h"
#include "dm/blk.h"
#include "dm/stub_transport.h"
#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_le.h"
#include "stubproto/sp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_stub_transport: invariant failed: %s\n", #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define BAR_SIZE 0x10000u
#define RAM_SIZE 0x8000u /* guest RAM at BAR 0, GPA RAM_GPA */
#define RAM_GPA	 0x10000u
#define NVEC	 8
#define DISK	 0x8000

static uint8_t *bar;
static struct loop *loop;
static struct blk_dev *disk;
static int kick_efd[NVEC];
static int port_fd = -1, relay_fd = -1;
static unsigned long calls;

static int f_kick_fd(void *ctx, unsigned int v)
{
	return v < NVEC ? kick_efd[v] : -EINVAL;
}

static void f_call(void *ctx, unsigned int v)
{
	calls++;
}

static const struct stub_bus_ops bus = {f_kick_fd, f_call};

/* ---- the relay ---- */
static struct sp_decoder rdec;
static struct sp_session rses;
static struct stub_transport *tr;
static unsigned long sent, replies;
static bool clean; /* only well-formed requests in this session */

static void relay_pump(void)
{
	uint8_t buf[4096];
	ssize_t n;
	struct sp_frame f;

	while ((n = read(relay_fd, buf, sizeof(buf))) > 0) {
		const uint8_t *p = buf;
		size_t len = (size_t)n;
		int rc;
		while ((rc = sp_decode(&rdec, &p, &len, &f)) != 0) {
			if (rc < 0)
				continue;
			enum sp_verdict v = sp_session_rx(&rses, &f);
			if (v == SP_V_ACK || v == SP_V_ACK_AGAIN) {
				uint8_t out[SP_FRAME_MAX];
				int k = sp_session_ack(&rses, out, sizeof(out));
				CHECK(k > 0);
				if (v == SP_V_ACK) {
					sent = replies = 0;
					clean = true;
				}
				stub_transport_feed(tr, out, (size_t)k);
			} else if (v == SP_V_DELIVER && f.hdr.type == SP_T_REPLY) {
				replies++;
			} else if (v == SP_V_REHANDSHAKE) {
				clean = false;
			}
		}
	}
}

/* Operand reader: missing bytes read as 0. */
struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct in *in)
{
	uint16_t lo = u8(in);
	return (uint16_t)(lo | u8(in) << 8);
}

/* Fills request k's message from the input, near the BAR and the rings. */
static void fill(unsigned int k, struct in *in, union sp_msg *m)
{
	memset(m, 0, sizeof(*m));
	switch (k) {
	case 0: {
		bool all = u8(in) & 1;
		uint64_t mask = u16(in);
		mask |= (uint64_t)u16(in) << 16 | (uint64_t)u16(in) << 32 | (uint64_t)u16(in) << 48;
		m->set_features.features = all ? ~0ull : blk_vdev_ops.get_features(disk) & mask;
		break;
	}
	case 1:
		m->mem_table.n = 1 + u8(in) % 3;
		for (unsigned int i = 0; i < m->mem_table.n; i++) {
			m->mem_table.r[i].gpa = (uint64_t)(u8(in) % 32) * 4096;
			m->mem_table.r[i].size = (uint64_t)(1 + u8(in) % 20) * 4096;
			m->mem_table.r[i].offset = (uint64_t)(u8(in) % 20) * 4096;
		}
		break;
	case 2:
		m->vring_start.queue = u8(in) % 6;
		m->vring_start.num = (uint16_t)(1u << (u8(in) % 8));
		m->vring_start.base = u16(in);
		m->vring_start.kick_vector = u8(in) % 10;
		m->vring_start.call_vector = u8(in) % 10;
		m->vring_start.desc = RAM_GPA + (uint64_t)u16(in) * 16;
		m->vring_start.avail = RAM_GPA + (uint64_t)u16(in) * 2;
		m->vring_start.used = RAM_GPA + (uint64_t)u16(in) * 4;
		break;
	case 3:
		m->vring_stop.queue = u8(in) % 6;
		break;
	case 5:
		m->get_config.offset = u8(in);
		m->get_config.len = (uint16_t)(1 + u8(in) % 80);
		break;
	case 6:
		m->set_inflight.offset = (uint64_t)(u8(in) % 20) * 4096;
		m->set_inflight.size = (uint64_t)u16(in);
		m->set_inflight.num_queues = (uint16_t)(1 + u8(in) % 6);
		m->set_inflight.queue_size = (uint16_t)(1u << (u8(in) % 8));
		break;
	default:
		break;
	}
}

static const uint16_t req_type[7] = {SP_T_SET_FEATURES, SP_T_SET_MEM_TABLE, SP_T_VRING_START,
				     SP_T_VRING_STOP,	SP_T_DEVICE_RESET,  SP_T_GET_CONFIG,
				     SP_T_SET_INFLIGHT};

/* Encodes request k on ch; flip: byte index to corrupt (or -1). */
static void send_request(unsigned int k, uint16_t ch, struct in *in, int flip)
{
	union sp_msg m;
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];
	uint16_t type = req_type[k % 7];

	fill(k % 7, in, &m);
	if (rses.state != SP_ST_UP)
		return;
	rses.pending[ch].busy = false; /* a lost reply must not block the fuzzer */
	if (sp_session_tx(&rses, type, ch, type == SP_T_GET_CONFIG ? m.get_config.len : 0, &a) < 0)
		return;
	int n = sp_encode(buf, sizeof(buf), type, &a, &m);
	if (n < 0) {
		/* Refused by the encoder: the seq is used up, so the stream
		 * would gap; send nothing and let the session restart. */
		clean = false;
		uint8_t rh[SP_PREAMBLE_LEN + SP_FRAME_MAX];
		int k2 = sp_session_rehello(&rses, SP_ERR_FIELD, rh, sizeof(rh));
		if (k2 > 0)
			stub_transport_feed(tr, rh, (size_t)k2);
		return;
	}
	if (flip >= 0 && n > (int)SP_HDR_SIZE) {
		size_t at = SP_HDR_SIZE + (size_t)flip % ((size_t)n - SP_HDR_SIZE);
		buf[at] ^= (uint8_t)(1u << (flip % 8));
		uint32_t crc = sp_crc32c(sp_crc32c(0, buf, 28), buf + SP_HDR_SIZE,
					 (size_t)n - SP_HDR_SIZE);
		sp_put32(buf + 28, crc);
		clean = false;
	}
	sent++;
	stub_transport_feed(tr, buf, (size_t)n);
}

static void init_once(void)
{
	log_set_level(LOG_LVL_ERR);
	int mfd = memfd_create("bar", MFD_CLOEXEC);
	CHECK(mfd >= 0 && ftruncate(mfd, BAR_SIZE) == 0);
	bar = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(bar != MAP_FAILED);
	close(mfd);
	CHECK(loop_new(&loop) == 0);
	for (int i = 0; i < NVEC; i++) {
		kick_efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(kick_efd[i] >= 0);
	}
	int dfd = memfd_create("disk", MFD_CLOEXEC);
	CHECK(dfd >= 0 && ftruncate(dfd, DISK) == 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dfd);
	CHECK(blk_open(path, false, NULL, &disk) == 0);
	close(dfd);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	relay_fd = sv[0];
	port_fd = sv[1];
	CHECK(fd_set_nonblock(relay_fd, true) == 0);
	CHECK(fd_set_nonblock(port_fd, true) == 0);
	/* Room for every reply an 8 KiB input can ask for. */
	int big = 1 << 20;
	(void)setsockopt(port_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	(void)setsockopt(relay_fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!bar)
		init_once();
	memset(bar, 0, BAR_SIZE);
	sp_decoder_init(&rdec, SP_ROLE_RELAY);
	sp_session_init(&rses, SP_ROLE_RELAY, 1);
	struct stub_device dev = {&blk_vdev_ops, disk};
	struct stub_params p = {
		.port_fd = port_fd,
		.bar = {bar, BAR_SIZE},
		.bus = &bus,
		.devs = &dev,
		.ndevs = 1,
		.hello_ms = 60000,
	};
	CHECK(stub_transport_new(loop, &p, &tr) == 0);
	relay_pump();
	CHECK(stub_transport_up(tr));
	struct in in = {data, size};
	while (in.n) {
		uint8_t op = u8(&in) % 12;
		if (op == 0) {
			size_t n = u8(&in) % 65;
			if (n > in.n)
				n = in.n;
			clean = false;
			stub_transport_feed(tr, in.p, n);
			in.p += n;
			in.n -= n;
		} else if (op <= 7) {
			uint16_t ch = (uint16_t)(1 + u8(&in) % 3);
			send_request(op - 1u, ch, &in, -1);
		} else if (op == 8) {
			unsigned int k = u8(&in);
			int flip = u8(&in);
			send_request(k, 1, &in, flip);
		} else if (op == 9) {
			uint8_t rh[SP_PREAMBLE_LEN + SP_FRAME_MAX];
			int k = sp_session_rehello(&rses, SP_ERR_GAP, rh, sizeof(rh));
			clean = false;
			if (k > 0)
				stub_transport_feed(tr, rh, (size_t)k);
		} else if (op == 10) {
			size_t off = (size_t)u8(&in) * 64 % RAM_SIZE;
			size_t n = u8(&in);
			if (n > in.n)
				n = in.n;
			if (n > RAM_SIZE - off)
				n = RAM_SIZE - off;
			memcpy(bar + off, in.p, n);
			in.p += n;
			in.n -= n;
		} else {
			uint64_t one = 1;
			CHECK(write(kick_efd[u8(&in) % NVEC], &one, 8) == 8);
			loop_run_once(loop, 0);
		}
		relay_pump();
		if (clean && rses.state == SP_ST_UP)
			CHECK(replies == sent);
	}
	stub_transport_free(tr);
	tr = NULL;
	relay_pump();
	loop_run_once(loop, 0); /* releases the sources removed meanwhile */
	uint64_t v;
	for (int i = 0; i < NVEC; i++)
		while (read(kick_efd[i], &v, 8) == 8) {
		}
	return 0;
}

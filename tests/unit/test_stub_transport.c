/* test_stub_transport.c — airlock-dm's stub-domain transport
 * (dm/stub_transport.c, dm/stub_chan.c) against a test relay in this
 * process, without any VM.
 *
 * The relay speaks the real relay end of lib/stubproto (decoder, session,
 * encoders) over a socketpair; the guest-RAM BAR is an mmap'ed memfd with
 * hand-built rings at known guest-physical addresses; the vectors are
 * eventfds (a kick eventfd the transport watches and a call eventfd it
 * writes, per vector). The devices are the real virtio-blk on a temporary
 * image, served through io_uring on a struct loop that the test runs with a
 * deadline (a hang fails the test), and a recording device that pops and
 * never completes on its own (for the inflight crash test).
 *
 * Covered: the handshake (vector 0 rung, READY), features, memory table,
 * a virtio-blk write and read through the ring with the call vector
 * signalled, VRING_STOP's base, GET_CONFIG's capacity; hostile requests
 * refused with their errno while the transport keeps working; a
 * descriptor loop reported once as DEVICE_BROKEN; a REHELLO stopping every
 * ring and a new session working; a "crashed" transport whose successor
 * resubmits exactly the requests left in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/loop.h"
#include "common/util.h"
#include "dm/blk.h"
#include "dm/stub_transport.h"
#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_session.h"
#include "tap.h"
#include "virtio/inflight.h"

#define BAR_SIZE   0x100000ull
#define RAM_SIZE   0x80000ull /* guest RAM: BAR [0, RAM_SIZE) */
#define GPA	   0x100000ull
#define INFL_OFF   0x80000ull /* the inflight area, past guest RAM */
#define INFL_QSIZE 16
#define NUM	   16
#define DESC	   (GPA + 0x0)
#define AVAIL	   (GPA + 0x1000)
#define USED	   (GPA + 0x2000)
#define HDR	   (GPA + 0x3000)
#define STATUS	   (GPA + 0x3800)
#define DATA	   (GPA + 0x4000)
#define SECTORS	   64
#define KV	   1 /* queue 0's vector (both directions) */

static uint8_t *bar;
static struct loop *loop;
static char path[64];

static void *g(uint64_t gpa)
{
	return bar + (gpa - GPA);
}

/* ---- the bus: one kick and one call eventfd per vector ---- */
static int kick_efd[SP_MAX_VECTORS], call_efd[SP_MAX_VECTORS];

static int t_kick_fd(void *ctx, unsigned int v)
{
	return v < SP_MAX_VECTORS ? kick_efd[v] : -EINVAL;
}

static void t_call(void *ctx, unsigned int v)
{
	uint64_t one = 1;
	if (v < SP_MAX_VECTORS && write(call_efd[v], &one, 8) < 0) {
		/* saturated: signalled already */
	}
}

static const struct stub_bus_ops bus = {t_kick_fd, t_call};

/* Reads (and clears) call vector v: true if it was rung. */
static bool called(unsigned int v)
{
	uint64_t n;
	return read(call_efd[v], &n, 8) == 8 && n > 0;
}

static void kick(unsigned int v)
{
	uint64_t one = 1;
	CHECK_EQ_INT(write(kick_efd[v], &one, 8), 8);
}

/* ---- the relay ---- */
static int relay_fd = -1, port_fd = -1;
static struct sp_decoder rdec;
static struct sp_session rses;
static struct sp_reply last_reply;
static bool have_reply;
static unsigned int nbroken, nready, nlog;
static struct sp_device_broken last_broken;

static void relay_send(const uint8_t *buf, int n)
{
	CHECK(n > 0);
	if (n > 0)
		CHECK_EQ_INT(write(relay_fd, buf, (size_t)n), n);
}

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
			uint8_t out[SP_FRAME_MAX];
			switch (sp_session_rx(&rses, &f)) {
			case SP_V_ACK:
			case SP_V_ACK_AGAIN:
				relay_send(out, sp_session_ack(&rses, out, sizeof(out)));
				break;
			case SP_V_DELIVER:
				if (f.hdr.type == SP_T_REPLY) {
					last_reply = f.m.reply;
					have_reply = true;
				} else if (f.hdr.type == SP_T_DEVICE_BROKEN) {
					nbroken++;
					last_broken = f.m.device_broken;
				} else if (f.hdr.type == SP_T_READY) {
					nready++;
				} else if (f.hdr.type == SP_T_LOG) {
					nlog++;
				}
				break;
			default:
				break;
			}
		}
	}
}

/* Runs the relay and the transport's loop until cond() or a 5 s deadline. */
static bool wait_for(bool (*cond)(void))
{
	uint64_t end = now_ms() + 5000;
	for (;;) {
		relay_pump();
		if (cond())
			return true;
		if (now_ms() > end)
			return false;
		loop_run_once(loop, 5);
	}
}

static bool got_reply(void)
{
	return have_reply;
}

static bool session_up(void)
{
	return rses.state == SP_ST_UP && nready > 0;
}

/* Sends request `type` on ch and waits for its reply; returns the status
 * (-1 when none came). */
static int request(uint16_t type, uint16_t ch, const void *msg, uint16_t gcl)
{
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];
	CHECK_EQ_INT(sp_session_tx(&rses, type, ch, gcl, &a), 0);
	int n = sp_encode(buf, sizeof(buf), type, &a, msg);
	CHECK(n > 0);
	have_reply = false;
	relay_send(buf, n);
	if (!wait_for(got_reply))
		return -1;
	CHECK_EQ_INT(last_reply.req_seq, a.seq);
	CHECK_EQ_INT(last_reply.req_type, type);
	return (int)last_reply.status;
}

static struct stub_transport *start(const struct stub_device *devs, unsigned int n)
{
	struct stub_transport *t = NULL;
	struct stub_params p = {
		.port_fd = port_fd,
		.bar = {bar, BAR_SIZE},
		.bus = &bus,
		.devs = devs,
		.ndevs = n,
		.hello_ms = 20,
	};
	nready = 0;
	CHECK_EQ_INT(stub_transport_new(loop, &p, &t), 0);
	CHECK(wait_for(session_up));
	CHECK(stub_transport_up(t));
	return t;
}

static int set_features(uint16_t ch, uint64_t f)
{
	struct sp_set_features m = {f};
	return request(SP_T_SET_FEATURES, ch, &m, 0);
}

static int set_mem(uint16_t ch, uint64_t gpa, uint64_t size, uint64_t off)
{
	struct sp_mem_table m = {.n = 1, .r = {{gpa, size, off}}};
	return request(SP_T_SET_MEM_TABLE, ch, &m, 0);
}

static int vring_start(uint16_t ch, uint16_t q, uint16_t base, uint16_t vec, uint64_t desc)
{
	struct sp_vring_start m = {
		.queue = q,
		.num = NUM,
		.base = base,
		.kick_vector = vec,
		.call_vector = vec,
		.desc = desc,
		.avail = AVAIL + 0x100ull * q,
		.used = USED + 0x200ull * q,
	};
	return request(SP_T_VRING_START, ch, &m, 0);
}

static int vring_stop(uint16_t ch, uint16_t q, uint16_t *base)
{
	struct sp_vring_stop m = {q};
	int rc = request(SP_T_VRING_STOP, ch, &m, 0);
	if (rc == 0) {
		CHECK_EQ_INT(last_reply.len, 2);
		*base = (uint16_t)(last_reply.result[0] | last_reply.result[1] << 8);
	}
	return rc;
}

static int set_inflight(uint16_t ch, uint64_t off, uint64_t size, uint16_t nq)
{
	struct sp_set_inflight m = {off, size, nq, INFL_QSIZE};
	return request(SP_T_SET_INFLIGHT, ch, &m, 0);
}

/* ---- the guest's side of queue 0 ---- */
static uint16_t avail_idx;

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {addr, len, flags, next};
	memcpy(g(DESC + 16 * i), &d, 16);
}

static void offer(uint16_t head)
{
	memcpy(g(AVAIL + 4 + 2 * (avail_idx % NUM)), &head, 2);
	avail_idx++;
	memcpy(g(AVAIL + 2), &avail_idx, 2);
}

static uint16_t used_idx(void)
{
	uint16_t u;
	memcpy(&u, g(USED + 2), 2);
	return u;
}

static bool all_used(void)
{
	return used_idx() == avail_idx;
}

static void fresh_rings(void)
{
	memset(bar, 0, RAM_SIZE);
	avail_idx = 0;
}

/* One blk request (type, sector, buffer of len bytes at DATA), head 0;
 * returns the status byte or -1 when it was not completed in time. */
static int blk_request(uint32_t type, uint64_t sector, uint32_t len)
{
	memcpy(g(HDR), &type, 4);
	memset(g(HDR + 4), 0, 4);
	memcpy(g(HDR + 8), &sector, 8);
	*(uint8_t *)g(STATUS) = 0xee;
	uint16_t flags = type == 0 ? VRING_DESC_F_WRITE : 0;
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, len, (uint16_t)(flags | VRING_DESC_F_NEXT), 2);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	/* EVENT_IDX: an interrupt for this completion. */
	uint16_t u = used_idx();
	memcpy(g(AVAIL + 4 + 2 * NUM), &u, 2);
	kick(KV);
	if (!wait_for(all_used))
		return -1;
	return *(uint8_t *)g(STATUS);
}

static struct blk_dev *open_blk(void)
{
	struct blk_dev *d = NULL;
	CHECK_EQ_INT(blk_open(path, false, loop, &d), 0);
	return d;
}

/* Features, memory table and queue 0 on channel 1. */
static void setup_blk(struct blk_dev *d)
{
	fresh_rings();
	CHECK_EQ_INT(set_features(1, blk_vdev_ops.get_features(d)), 0);
	CHECK_EQ_INT(set_mem(1, GPA, RAM_SIZE, 0), 0);
	CHECK_EQ_INT(vring_start(1, 0, 0, KV, DESC), 0);
	(void)called(KV);
}

static void reset_relay(void)
{
	sp_decoder_init(&rdec, SP_ROLE_RELAY);
	sp_session_init(&rses, SP_ROLE_RELAY, 100);
	nbroken = nready = nlog = 0;
	have_reply = false;
}

/* ---- tests ---- */

static void test_handshake(void)
{
	struct blk_dev *d = open_blk();
	struct stub_device dev = {&blk_vdev_ops, d};
	(void)called(0);
	struct stub_transport *t = start(&dev, 1);
	CHECK(called(0));	 /* vector 0 rung once at start */
	CHECK_EQ_INT(nready, 2); /* channel 0 and the device */
	CHECK_EQ_INT(stub_transport_stats(t)->sessions, 1);
	stub_transport_free(t);
	blk_close(d);
}

static void test_blk_io(void)
{
	struct blk_dev *d = open_blk();
	struct stub_device dev = {&blk_vdev_ops, d};
	struct stub_transport *t = start(&dev, 1);
	setup_blk(d);
	CHECK(stub_transport_queue_started(t, 1, 0));
	memset(g(DATA), 0x5a, 1024);
	CHECK_EQ_INT(blk_request(1, 4, 1024), 0); /* write sectors 4..5 */
	CHECK(called(KV));
	memset(g(DATA), 0, 1024);
	CHECK_EQ_INT(blk_request(0, 4, 1024), 0); /* read them back */
	CHECK(called(KV));
	CHECK_EQ_INT(((uint8_t *)g(DATA))[0], 0x5a);
	CHECK_EQ_INT(((uint8_t *)g(DATA))[1023], 0x5a);
	int fd = open(path, O_RDONLY);
	uint8_t b = 0;
	CHECK_EQ_INT(pread(fd, &b, 1, 5 * 512 + 9), 1);
	CHECK_EQ_INT(b, 0x5a);
	close(fd);
	uint16_t base = 0;
	CHECK_EQ_INT(vring_stop(1, 0, &base), 0);
	CHECK_EQ_INT(base, 2);
	CHECK(!stub_transport_queue_started(t, 1, 0));
	struct sp_get_config gc = {0, 8};
	CHECK_EQ_INT(request(SP_T_GET_CONFIG, 1, &gc, 8), 0);
	CHECK_EQ_INT(last_reply.len, 8);
	uint64_t cap;
	memcpy(&cap, last_reply.result, 8);
	CHECK_EQ_INT(cap, SECTORS);
	/* Restart at the base: the next request is served. */
	CHECK_EQ_INT(vring_start(1, 0, base, KV, DESC), 0);
	CHECK_EQ_INT(blk_request(1, 8, 512), 0);
	CHECK(called(KV));
	stub_transport_free(t);
	blk_close(d);
}

/* A frame whose VRING_START num field is 3 (not a power of two): good
 * header and CRC, refused payload. */
static void send_bad_num(void)
{
	struct sp_vring_start m = {.queue = 0,
				   .num = 4,
				   .kick_vector = KV,
				   .call_vector = KV,
				   .desc = DESC,
				   .avail = AVAIL,
				   .used = USED};
	struct sp_addr a;
	uint8_t buf[SP_FRAME_MAX];
	CHECK_EQ_INT(sp_session_tx(&rses, SP_T_VRING_START, 1, 0, &a), 0);
	int n = sp_encode_vring_start(buf, sizeof(buf), &a, &m);
	CHECK_EQ_INT(n, 32 + 40);
	buf[32 + 2] = 3;
	uint32_t crc = sp_crc32c(sp_crc32c(0, buf, 28), buf + 32, 40);
	for (int i = 0; i < 4; i++)
		buf[28 + i] = (uint8_t)(crc >> (8 * i));
	have_reply = false;
	relay_send(buf, n);
	CHECK(wait_for(got_reply));
	CHECK_EQ_INT(last_reply.status, EINVAL);
	CHECK_EQ_INT(last_reply.req_type, SP_T_VRING_START);
}

static void test_hostile(void)
{
	struct blk_dev *d = open_blk();
	struct stub_device dev = {&blk_vdev_ops, d};
	struct stub_transport *t = start(&dev, 1);
	fresh_rings();
	/* Features the device does not offer. */
	CHECK_EQ_INT(set_features(1, 1ull << 63), EINVAL);
	/* A channel with no device. */
	CHECK_EQ_INT(set_features(2, 0), ENODEV);
	CHECK_EQ_INT(set_features(15, 0), ENODEV);
	/* A ring before any memory table. */
	CHECK_EQ_INT(vring_start(1, 0, 0, KV, DESC), EFAULT);
	/* Regions outside the BAR: past its end, and wrapping into it. */
	CHECK_EQ_INT(set_mem(1, GPA, RAM_SIZE, BAR_SIZE - 0x1000), EINVAL);
	CHECK_EQ_INT(set_mem(1, GPA, BAR_SIZE * 2, 0), EINVAL);
	CHECK_EQ_INT(set_mem(1, GPA, 0x1000, BAR_SIZE), EINVAL);
	CHECK_EQ_INT(set_features(1, blk_vdev_ops.get_features(d)), 0);
	CHECK_EQ_INT(set_mem(1, GPA, RAM_SIZE, 0), 0);
	/* Rings outside the table. */
	CHECK_EQ_INT(vring_start(1, 0, 0, KV, GPA + RAM_SIZE), EFAULT);
	CHECK_EQ_INT(vring_start(1, 0, 0, KV, GPA - 0x1000), EFAULT);
	CHECK_EQ_INT(vring_start(1, 0, 0, KV, 0xfffffffffffff000ull), EFAULT);
	/* A queue beyond the device's count (blk has 4). */
	CHECK_EQ_INT(vring_start(1, BLK_NUM_QUEUES, 0, 9, DESC), EINVAL);
	CHECK_EQ_INT(vring_start(1, 7, 0, 9, DESC), EINVAL);
	uint16_t base;
	CHECK_EQ_INT(vring_stop(1, 6, &base), EINVAL);
	/* The reserved vector 0. */
	CHECK_EQ_INT(vring_start(1, 0, 0, 0, DESC), EINVAL);
	/* A field the decoder refuses. */
	send_bad_num();
	/* The inflight area over guest RAM, or past the BAR. */
	CHECK_EQ_INT(set_inflight(1, 0, 4096, 1), EINVAL);
	CHECK_EQ_INT(set_inflight(1, BAR_SIZE, 4096, 1), EINVAL);
	CHECK_EQ_INT(set_inflight(1, INFL_OFF, 64, 1), EINVAL);	  /* too small */
	CHECK_EQ_INT(set_inflight(1, INFL_OFF, 8192, 5), EINVAL); /* more queues than blk */
	/* Config outside the config space. */
	struct sp_get_config gc = {200, 100};
	CHECK_EQ_INT(request(SP_T_GET_CONFIG, 1, &gc, 100), EINVAL);
	CHECK_EQ_INT(last_reply.len, 0);
	/* The transport still works: a ring, I/O, a second ring sharing the
	 * first one's kick vector is refused, a table change is refused to
	 * cover the inflight area... */
	CHECK_EQ_INT(vring_start(1, 0, 0, KV, DESC), 0);
	CHECK_EQ_INT(vring_start(1, 0, 0, KV, DESC), EBUSY);
	CHECK_EQ_INT(vring_start(1, 1, 0, KV, DESC + 0x400), EBUSY);
	CHECK_EQ_INT(set_features(1, 0), EBUSY);
	CHECK_EQ_INT(set_inflight(1, INFL_OFF, 4096, 1), EBUSY);
	memset(g(DATA), 0x11, 512);
	CHECK_EQ_INT(blk_request(1, 0, 512), 0);
	/* ...and a new table moves running rings: GPA now at BAR offset 0
	 * still, but a second region added; the ring keeps going. */
	struct sp_mem_table mt = {.n = 2, .r = {{GPA, RAM_SIZE, 0}, {0, 0x1000, RAM_SIZE}}};
	CHECK_EQ_INT(request(SP_T_SET_MEM_TABLE, 1, &mt, 0), 0);
	CHECK(stub_transport_queue_started(t, 1, 0));
	CHECK_EQ_INT(blk_request(0, 0, 512), 0);
	/* A table that drops the rings: they stop, reported broken (memory). */
	unsigned int b0 = nbroken;
	CHECK_EQ_INT(set_mem(1, 0x40000000, 0x1000, 0), 0);
	CHECK(!stub_transport_queue_started(t, 1, 0));
	relay_pump();
	CHECK_EQ_INT(nbroken, b0 + 1);
	CHECK_EQ_INT(last_broken.reason, SP_BROKEN_MEMORY);
	CHECK(nlog > 0);
	CHECK(stub_transport_stats(t)->refused >= 20);
	CHECK_EQ_INT(stub_transport_stats(t)->breaks, 0);
	stub_transport_free(t);
	blk_close(d);
}

static void test_broken_ring(void)
{
	struct blk_dev *d = open_blk();
	struct stub_device dev = {&blk_vdev_ops, d};
	struct stub_transport *t = start(&dev, 1);
	setup_blk(d);
	/* A descriptor loop: 0 → 1 → 0. */
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 512, VRING_DESC_F_NEXT, 0);
	offer(0);
	kick(KV);
	uint64_t end = now_ms() + 2000;
	while (nbroken == 0 && now_ms() < end) {
		loop_run_once(loop, 5);
		relay_pump();
	}
	CHECK_EQ_INT(nbroken, 1);
	CHECK_EQ_INT(last_broken.queue, 0);
	CHECK_EQ_INT(last_broken.reason, SP_BROKEN_RING);
	/* More kicks: no second report. */
	offer(0);
	kick(KV);
	for (int i = 0; i < 10; i++) {
		loop_run_once(loop, 5);
		relay_pump();
	}
	CHECK_EQ_INT(nbroken, 1);
	/* A restart of the ring is a fresh queue. */
	uint16_t base;
	CHECK_EQ_INT(vring_stop(1, 0, &base), 0);
	stub_transport_free(t);
	blk_close(d);
}

static bool queue_stopped_and_up_again(void);
static struct stub_transport *cur;

static bool queue_stopped_and_up_again(void)
{
	return !stub_transport_queue_started(cur, 1, 0) && rses.state == SP_ST_UP &&
	       stub_transport_up(cur);
}

static void test_rehello(void)
{
	struct blk_dev *d = open_blk();
	struct stub_device dev = {&blk_vdev_ops, d};
	cur = start(&dev, 1);
	setup_blk(d);
	CHECK_EQ_INT(blk_request(0, 0, 512), 0);
	uint32_t old = rses.session;
	uint8_t buf[SP_PREAMBLE_LEN + SP_FRAME_MAX];
	relay_send(buf, sp_session_rehello(&rses, SP_ERR_GAP, buf, sizeof(buf)));
	CHECK(wait_for(queue_stopped_and_up_again));
	CHECK(rses.session != old);
	CHECK_EQ_INT(stub_transport_stats(cur)->breaks, 1);
	CHECK_EQ_INT(stub_transport_stats(cur)->sessions, 2);
	/* The new session starts from nothing: no table, so rings fail... */
	CHECK_EQ_INT(vring_start(1, 0, 1, KV, DESC), EFAULT);
	/* ...until the relay replays its state. */
	CHECK_EQ_INT(set_features(1, blk_vdev_ops.get_features(d)), 0);
	CHECK_EQ_INT(set_mem(1, GPA, RAM_SIZE, 0), 0);
	CHECK_EQ_INT(vring_start(1, 0, 1, KV, DESC), 0);
	CHECK_EQ_INT(blk_request(0, 0, 512), 0);
	/* A gap in the relay's sequence breaks the session too. */
	struct sp_addr a;
	CHECK_EQ_INT(sp_session_tx(&rses, SP_T_DEVICE_RESET, 1, 0, &a), 0);
	a.seq++;
	int n = sp_encode_device_reset(buf, sizeof(buf), &a);
	rses.pending[1].busy = false; /* the reply never comes */
	relay_send(buf, n);
	uint64_t end = now_ms() + 2000;
	while (stub_transport_stats(cur)->breaks < 2 && now_ms() < end) {
		loop_run_once(loop, 5);
		relay_pump();
	}
	CHECK_EQ_INT(stub_transport_stats(cur)->breaks, 2);
	CHECK(wait_for(queue_stopped_and_up_again));
	stub_transport_free(cur);
	cur = NULL;
	blk_close(d);
}

/* ---- the inflight crash: a device that pops and holds ---- */
static struct vq *held;
static uint16_t seen[32];
static unsigned int nseen;

static void rec_kick(void *dev, struct vq *vq, unsigned int idx)
{
	static struct vq_elem e;
	held = vq;
	while (nseen < 32 && vq_pop(vq, &e) == 1)
		seen[nseen++] = e.head;
}

static void rec_stop(void *dev, unsigned int idx)
{
	held = NULL; /* what it held is dropped, as by a killed process */
}

static const struct vdev_ops rec_ops = {
	.features = 1ull << VIRTIO_F_VERSION_1,
	.num_queues = 2,
	.queue_kick = rec_kick,
	.queue_stop = rec_stop,
};

static bool seen3(void)
{
	return nseen == 3;
}

static bool seen2(void)
{
	return nseen == 2;
}

static void rec_setup(uint16_t base)
{
	CHECK_EQ_INT(set_features(1, rec_ops.features), 0);
	CHECK_EQ_INT(set_inflight(1, INFL_OFF, 4096, 2), 0);
	CHECK_EQ_INT(set_mem(1, GPA, RAM_SIZE, 0), 0);
	CHECK_EQ_INT(vring_start(1, 0, base, KV, DESC), 0);
}

static void test_inflight_crash(void)
{
	struct stub_device dev = {&rec_ops, NULL};
	memset(bar + INFL_OFF, 0, 4096);
	fresh_rings();
	nseen = 0;
	struct stub_transport *t = start(&dev, 1);
	rec_setup(0);
	for (uint16_t h = 0; h < 3; h++) {
		desc(h, DATA + 16 * h, 8, 0, 0);
		offer(h);
	}
	kick(KV);
	CHECK(wait_for(seen3));
	CHECK_EQ_INT(seen[0], 0);
	CHECK_EQ_INT(seen[2], 2);
	/* Complete head 1 only, then "crash": the transport goes away and the
	 * device drops what it holds. */
	CHECK(held != NULL);
	if (held)
		vq_push(held, 1, 0);
	CHECK_EQ_INT(used_idx(), 1);
	stub_transport_free(t);
	CHECK(held == NULL);
	/* A new airlock-dm: new session, the relay replays with base = used. */
	reset_relay();
	nseen = 0;
	t = start(&dev, 1);
	rec_setup(used_idx());
	CHECK(wait_for(seen2));
	CHECK_EQ_INT(nseen, 2);
	CHECK_EQ_INT(seen[0], 0);
	CHECK_EQ_INT(seen[1], 2);
	/* Exactly those: nothing more after another kick. */
	kick(KV);
	for (int i = 0; i < 5; i++)
		loop_run_once(loop, 2);
	CHECK_EQ_INT(nseen, 2);
	stub_transport_free(t);
}

static void test_port_closed(void)
{
	struct blk_dev *d = open_blk();
	struct stub_device dev = {&blk_vdev_ops, d};
	struct stub_transport *t = start(&dev, 1);
	setup_blk(d);
	close(relay_fd);
	relay_fd = -1;
	uint64_t end = now_ms() + 2000;
	while (!stub_transport_closed(t) && now_ms() < end)
		loop_run_once(loop, 5);
	CHECK(stub_transport_closed(t));
	CHECK(!stub_transport_queue_started(t, 1, 0));
	stub_transport_free(t);
	blk_close(d);
}

static void test_bad_params(void)
{
	struct stub_transport *t = NULL;
	struct stub_device dev = {&rec_ops, NULL};
	struct stub_params p = {
		.port_fd = port_fd, .bar = {bar, BAR_SIZE}, .bus = &bus, .devs = &dev, .ndevs = 0};
	CHECK_EQ_INT(stub_transport_new(loop, &p, &t), -EINVAL);
	p.ndevs = SP_MAX_CHANNELS;
	CHECK_EQ_INT(stub_transport_new(loop, &p, &t), -EINVAL);
	p.ndevs = 1;
	p.bar.base = NULL;
	CHECK_EQ_INT(stub_transport_new(loop, &p, &t), -EINVAL);
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	int mfd = memfd_create("bar", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, BAR_SIZE) < 0)
		return 1;
	bar = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (bar == MAP_FAILED || loop_new(&loop) < 0)
		return 1;
	for (int i = 0; i < (int)SP_MAX_VECTORS; i++) {
		kick_efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		call_efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (kick_efd[i] < 0 || call_efd[i] < 0)
			return 1;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	relay_fd = sv[0];
	port_fd = sv[1];
	fd_set_nonblock(relay_fd, true);
	strcpy(path, "/tmp/test_stub_transport.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, SECTORS * 512) < 0)
		return 1;
	close(fd);
	reset_relay();
	RUN(test_bad_params);
	RUN(test_handshake);
	reset_relay();
	RUN(test_blk_io);
	reset_relay();
	RUN(test_hostile);
	reset_relay();
	RUN(test_broken_ring);
	reset_relay();
	RUN(test_rehello);
	reset_relay();
	RUN(test_inflight_crash);
	reset_relay();
	RUN(test_port_closed);
	unlink(path);
	close(port_fd);
	loop_free(loop);
	return tap_done();
}

/* test_inflight.c — vhost-user inflight I/O tracking (INFLIGHT_SHMFD): a
 * back end killed with requests in flight, and a reconnect that must
 * deliver exactly the unfinished ones again, each once.
 *
 * A test front end (vhost_peer.c: socketpair, memfd guest memory, eventfds)
 * negotiates the feature, fetches the inflight fd and keeps it, as QEMU's
 * vhost-user-blk does. The device ("rec") records every chain it pops (head
 * and the tag byte its readable buffer carries) and completes nothing until
 * the test says so, in any order; on queue_stop it drops what it holds, as
 * a killed process would. A "crash" frees the connection without completing
 * the rest; the reconnect hands the same fd back with SET_INFLIGHT_FD and
 * SET_VRING_BASE = the used index, as QEMU does.
 *
 * Also: a crash in the middle of a push (the region and used ring edited
 * into each of the spec's intermediate states), malformed and refused
 * GET/SET_INFLIGHT_FD, and at the vq level vq_unpop over resubmitted heads
 * and regions with hostile contents.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "vhost_peer.h"
#include "virtio/inflight.h"

#define QSIZE 16 /* the front end's queue size for the inflight area */
#define NQ    2

static void *g(uint64_t gpa)
{
	return guest + (gpa - GPA);
}

/* ---- the recording device ---- */
struct seen {
	uint16_t head;
	uint8_t tag;
};
static struct seen seen[64];
static int nseen;
static struct vq *held_vq; /* queue 0 while started */

static void rec_kick(void *dev, struct vq *vq, unsigned int idx)
{
	static struct vq_elem e;
	if (idx != 0)
		return;
	held_vq = vq;
	while (nseen < 64 && vq_pop(vq, &e) == 1) {
		CHECK(e.out_num == 1 && e.in_num == 1);
		seen[nseen].head = e.head;
		seen[nseen].tag = *(uint8_t *)e.iov[0].iov_base;
		nseen++;
	}
}

static void rec_stop(void *dev, unsigned int idx)
{
	if (idx == 0)
		held_vq = NULL; /* whatever it held is dropped, never pushed */
}

static const struct vdev_ops rec_ops = {
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX),
	.num_queues = NQ,
	.queue_kick = rec_kick,
	.queue_stop = rec_stop,
};

/* Completes request `head`: status byte 0, then the push. */
static void complete(uint16_t head)
{
	CHECK(held_vq != NULL);
	if (!held_vq)
		return;
	*(uint8_t *)g(DATA + 16ull * head + 8) = 0;
	vq_push(held_vq, head, 1);
}

/* ---- the front end ---- */
/* The back end goes away without finishing anything. */
static void crash(void)
{
	vhost_conn_free(conn);
	conn = NULL;
	close(fe);
	fe = -1;
	close(kick_fd);
	close(call_fd);
	kick_fd = call_fd = -1;
	CHECK(held_vq == NULL);
}

/* Features and protocol features, INFLIGHT_SHMFD and REPLY_ACK included. */
static void negotiate(void)
{
	uint64_t f = get_u64(VHOST_USER_GET_FEATURES);
	CHECK_EQ_INT(send_u64(VHOST_USER_SET_FEATURES, f), 0);
	uint64_t p = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);
	CHECK(p & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
	CHECK_EQ_INT(send_u64(VHOST_USER_SET_PROTOCOL_FEATURES, p), 0);
	CHECK_EQ_INT(send_req(VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
}

/* GET_INFLIGHT_FD: returns the area's fd and checks the reply. */
static int get_inflight(void)
{
	struct vhost_inflight_info in = {.num_queues = NQ, .queue_size = QSIZE};
	struct vhost_msg m;
	CHECK_EQ_INT(send_req(VHOST_USER_GET_INFLIGHT_FD, 0, &in, 24, NULL, 0), 0);
	recv_reply(&m, VHOST_USER_GET_INFLIGHT_FD);
	CHECK_EQ_INT(m.hdr.size, 24);
	CHECK_EQ_INT(m.nfds, 1);
	CHECK_EQ_INT(m.p.inflight.mmap_size, NQ * inflight_queue_size(QSIZE));
	CHECK_EQ_INT(m.p.inflight.mmap_offset, 0);
	CHECK_EQ_INT(m.p.inflight.num_queues, NQ);
	CHECK_EQ_INT(m.p.inflight.queue_size, QSIZE);
	return m.nfds == 1 ? m.fds[0] : -1;
}

static struct vhost_inflight_info area_info(void)
{
	return (struct vhost_inflight_info){.mmap_size = NQ * inflight_queue_size(QSIZE),
					    .num_queues = NQ,
					    .queue_size = QSIZE};
}

static int set_inflight(int fd, uint32_t flags)
{
	struct vhost_inflight_info in = area_info();
	return send_req(VHOST_USER_SET_INFLIGHT_FD, flags, &in, 24, &fd, 1);
}

/* Memory table, queue 0 at `base`, kick and call fds, enable: starts. */
static void start_ring(uint16_t base)
{
	ring_setup(base);
	ring_enable();
}

/* ---- the guest ---- */
static uint16_t avail_idx;

/* Request on heads h (readable tag byte) and h + 1 (writable status). */
static void offer(uint16_t h, uint8_t tag)
{
	struct vring_desc d0 = {DATA + 16ull * h, 1, VRING_DESC_F_NEXT, (uint16_t)(h + 1)};
	struct vring_desc d1 = {DATA + 16ull * h + 8, 1, VRING_DESC_F_WRITE, 0};
	memcpy(g(DESC + 16ull * h), &d0, 16);
	memcpy(g(DESC + 16ull * (h + 1)), &d1, 16);
	*(uint8_t *)g(DATA + 16ull * h) = tag;
	*(uint8_t *)g(DATA + 16ull * h + 8) = 0xff;
	memcpy(g(AVAIL + 4 + 2 * (avail_idx % NUM)), &h, 2);
	avail_idx++;
	memcpy(g(AVAIL + 2), &avail_idx, 2);
}

static uint32_t used_id(uint16_t slot)
{
	uint32_t v;
	memcpy(&v, g(USED + 4 + 8 * (slot % NUM)), 4);
	return v;
}

static void fresh_guest(void)
{
	memset(guest, 0, MEM_SIZE);
	avail_idx = 0;
	nseen = 0;
}

/* Checks that the device saw exactly (head, tag) pairs want[0..n), in
 * that order, and nothing else. */
static void expect_seen(const struct seen *want, int n)
{
	CHECK_EQ_INT(nseen, n);
	for (int i = 0; i < n && i < nseen; i++) {
		CHECK_EQ_INT(seen[i].head, want[i].head);
		CHECK_EQ_INT(seen[i].tag, want[i].tag);
	}
}

/* ---- the crash scenario ----
 * stage 0: a clean kill with requests in flight;
 * stage 1..3: killed in the middle of pushing head 6, after the batch link
 * (1), after the used index (2), after the inflight flag (3). */
static void crash_scenario(int stage)
{
	fresh_guest();
	connect_fresh(&rec_ops);
	negotiate();
	int ifd = get_inflight();
	CHECK(ifd >= 0);
	/* QEMU hands the fd straight back before the rings start. */
	CHECK_EQ_INT(set_inflight(ifd, 0), 0);
	uint8_t *area = mmap(NULL, NQ * inflight_queue_size(QSIZE), PROT_READ | PROT_WRITE,
			     MAP_SHARED, ifd, 0);
	CHECK(area != MAP_FAILED);
	struct inflight_queue *q = (struct inflight_queue *)area;
	start_ring(0);
	CHECK_EQ_INT(q->version, INFLIGHT_VERSION);
	CHECK_EQ_INT(q->desc_num, QSIZE);

	for (uint16_t h = 0; h <= 10; h += 2)
		offer(h, (uint8_t)(10 + h));
	pump_kicks();
	const struct seen first[] = {{0, 10}, {2, 12}, {4, 14}, {6, 16}, {8, 18}, {10, 20}};
	expect_seen(first, 6);
	for (int i = 0; i < 6; i++)
		CHECK_EQ_INT(q->desc[first[i].head].inflight, 1);
	for (int i = 1; i < 6; i++)
		CHECK(q->desc[first[i].head].counter > q->desc[first[i - 1].head].counter);

	/* Out of order: 4, 0, 10 finish; 2, 6 and 8 are still running. */
	complete(4);
	complete(0);
	complete(10);
	CHECK_EQ_INT(used_idx(), 3);
	CHECK_EQ_INT(used_id(0), 4);
	CHECK_EQ_INT(used_id(1), 0);
	CHECK_EQ_INT(used_id(2), 10);
	CHECK_EQ_INT(q->used_idx, 3);
	CHECK_EQ_INT(q->last_batch_head, 10);
	for (uint16_t h = 0; h < NUM; h++)
		CHECK_EQ_INT(q->desc[h].inflight, h == 2 || h == 6 || h == 8);

	crash();

	/* What the dead process left of a push of head 6. */
	if (stage >= 1) {
		q->desc[6].next = q->last_batch_head;
		q->last_batch_head = 6;
	}
	if (stage >= 2) {
		struct vring_used_elem e = {6, 1};
		memcpy(g(USED + 4 + 8 * 3), &e, 8);
		uint16_t u = 4;
		memcpy(g(USED + 2), &u, 2);
	}
	if (stage >= 3)
		q->desc[6].inflight = 0;

	/* Meanwhile the driver reuses head 4 (completed) and offers head 12. */
	offer(4, 99);
	offer(12, 22);

	nseen = 0;
	connect_fresh(&rec_ops);
	negotiate();
	CHECK_EQ_INT(set_inflight(ifd, 0), 0);
	uint16_t used = used_idx();
	start_ring(used); /* QEMU: base = the used index */

	/* Resubmitted first, oldest first, then the new avail entries; each
	 * once. Completed requests (0, 10, the first 4) are not seen again. */
	const struct seen again_all[] = {{2, 12}, {6, 16}, {8, 18}, {4, 99}, {12, 22}};
	const struct seen again_no6[] = {{2, 12}, {8, 18}, {4, 99}, {12, 22}};
	if (stage < 2)
		expect_seen(again_all, 5);
	else
		expect_seen(again_no6, 4);
	/* The region is consistent again. */
	CHECK_EQ_INT(q->used_idx, used_idx());
	CHECK_EQ_INT(q->desc[6].inflight, stage < 2);
	pump_kicks(); /* nothing more */
	CHECK_EQ_INT(nseen, stage < 2 ? 5 : 4);

	for (int i = 0; i < nseen; i++)
		complete(seen[i].head);
	CHECK_EQ_INT(used_idx(), 8);
	for (uint16_t h = 0; h < QSIZE; h++)
		CHECK_EQ_INT(q->desc[h].inflight, 0);
	CHECK_EQ_INT(q->used_idx, 8);
	for (int i = 0; i < nseen; i++)
		CHECK_EQ_INT(*(uint8_t *)g(DATA + 16ull * seen[i].head + 8), 0);

	/* GET_VRING_BASE: every avail slot, 0..7, was consumed once. */
	struct vhost_vring_state s = {0, 0};
	struct vhost_msg m;
	CHECK_EQ_INT(send_req(VHOST_USER_GET_VRING_BASE, 0, &s, 8, NULL, 0), 0);
	recv_reply(&m, VHOST_USER_GET_VRING_BASE);
	CHECK_EQ_INT(m.p.state.num, 8);
	crash();
	munmap(area, NQ * inflight_queue_size(QSIZE));
	close(ifd);
}

static void test_crash_and_resubmit(void)
{
	crash_scenario(0);
}

static void test_crash_mid_push(void)
{
	for (int stage = 1; stage <= 3; stage++) {
		printf("# stage %d\n", stage);
		crash_scenario(stage);
	}
}

/* A clean stop (GET_VRING_BASE) and restart in the same connection, with
 * requests still in flight that the device abandoned: the same heads come
 * again, and the base the back end returned is consistent with them. */
static void test_clean_restart(void)
{
	fresh_guest();
	connect_fresh(&rec_ops);
	negotiate();
	int ifd = get_inflight();
	CHECK_EQ_INT(set_inflight(ifd, 0), 0);
	start_ring(0);
	offer(0, 1);
	offer(2, 3);
	offer(4, 5);
	pump_kicks();
	CHECK_EQ_INT(nseen, 3);
	complete(2);
	struct vhost_vring_state s = {0, 0};
	struct vhost_msg m;
	CHECK_EQ_INT(send_req(VHOST_USER_GET_VRING_BASE, 0, &s, 8, NULL, 0), 0);
	recv_reply(&m, VHOST_USER_GET_VRING_BASE);
	CHECK_EQ_INT(m.p.state.num, 3);
	nseen = 0;
	close(kick_fd);
	close(call_fd);
	start_ring((uint16_t)m.p.state.num);
	const struct seen want[] = {{0, 1}, {4, 5}};
	expect_seen(want, 2);
	complete(0);
	complete(4);
	CHECK_EQ_INT(used_idx(), 3);
	crash();
	close(ifd);
}

/* ---- malformed and refused GET/SET_INFLIGHT_FD ---- */
static void expect_closed(int rc, const char *what)
{
	if (rc >= 0)
		printf("# not refused: %s\n", what);
	CHECK(rc < 0);
	vhost_conn_free(conn);
	close(fe);
	connect_fresh(&rec_ops);
	negotiate();
}

/* With NEED_REPLY: the request is refused with a non-zero ack. */
static void expect_nack(int rc, uint32_t req, const char *what)
{
	struct vhost_msg m;
	CHECK_EQ_INT(rc, 0);
	recv_reply(&m, req);
	if (m.hdr.size != 8 || m.p.u64 == 0)
		printf("# not refused: %s\n", what);
	CHECK_EQ_INT(m.hdr.size, 8);
	CHECK(m.p.u64 != 0);
}

static void test_malformed(void)
{
	fresh_guest();
	/* Before the protocol feature is negotiated. */
	connect_fresh(&rec_ops);
	struct vhost_inflight_info in = {.num_queues = NQ, .queue_size = QSIZE};
	CHECK(send_req(VHOST_USER_GET_INFLIGHT_FD, 0, &in, 24, NULL, 0) < 0);
	vhost_conn_free(conn);
	close(fe);
	connect_fresh(&rec_ops);
	negotiate();

	int ifd = get_inflight();
	int two[2] = {ifd, ifd};
	expect_closed(send_req(VHOST_USER_GET_INFLIGHT_FD, 0, &in, 20, NULL, 0), "GET 20 bytes");
	uint8_t big[32] = {0}; /* the payload: in and 8 bytes more */
	memcpy(big, &in, sizeof(in));
	expect_closed(send_req(VHOST_USER_GET_INFLIGHT_FD, 0, big, 32, NULL, 0), "GET 32 bytes");
	expect_closed(send_req(VHOST_USER_GET_INFLIGHT_FD, 0, &in, 24, &ifd, 1), "GET with fd");
	in = area_info();
	expect_closed(send_req(VHOST_USER_SET_INFLIGHT_FD, 0, &in, 24, NULL, 0), "SET without fd");
	expect_closed(send_req(VHOST_USER_SET_INFLIGHT_FD, 0, &in, 24, two, 2), "SET two fds");
	expect_closed(send_req(VHOST_USER_SET_INFLIGHT_FD, 0, &in, 16, &ifd, 1), "SET 16 bytes");

	uint32_t nr = VHOST_USER_NEED_REPLY;
	struct vhost_inflight_info bad;
	bad = (struct vhost_inflight_info){.num_queues = 3, .queue_size = QSIZE};
	expect_nack(send_req(VHOST_USER_GET_INFLIGHT_FD, nr, &bad, 24, NULL, 0),
		    VHOST_USER_GET_INFLIGHT_FD, "GET 3 queues on a 2-queue device");
	bad = (struct vhost_inflight_info){.num_queues = 0, .queue_size = QSIZE};
	expect_nack(send_req(VHOST_USER_GET_INFLIGHT_FD, nr, &bad, 24, NULL, 0),
		    VHOST_USER_GET_INFLIGHT_FD, "GET 0 queues");
	bad = (struct vhost_inflight_info){.num_queues = 1, .queue_size = 0};
	expect_nack(send_req(VHOST_USER_GET_INFLIGHT_FD, nr, &bad, 24, NULL, 0),
		    VHOST_USER_GET_INFLIGHT_FD, "GET queue size 0");
	bad = (struct vhost_inflight_info){.num_queues = 1, .queue_size = 40000};
	expect_nack(send_req(VHOST_USER_GET_INFLIGHT_FD, nr, &bad, 24, NULL, 0),
		    VHOST_USER_GET_INFLIGHT_FD, "GET queue size 40000");

	bad = area_info();
	bad.num_queues = 3;
	bad.mmap_size = 3 * inflight_queue_size(QSIZE);
	expect_nack(send_req(VHOST_USER_SET_INFLIGHT_FD, nr, &bad, 24, &ifd, 1),
		    VHOST_USER_SET_INFLIGHT_FD, "SET 3 queues");
	bad = area_info();
	bad.mmap_size -= 64;
	expect_nack(send_req(VHOST_USER_SET_INFLIGHT_FD, nr, &bad, 24, &ifd, 1),
		    VHOST_USER_SET_INFLIGHT_FD, "SET size not the layout's");
	bad = area_info();
	bad.mmap_offset = 64; /* runs past the end of the fd */
	expect_nack(send_req(VHOST_USER_SET_INFLIGHT_FD, nr, &bad, 24, &ifd, 1),
		    VHOST_USER_SET_INFLIGHT_FD, "SET past the fd's end");
	bad.mmap_offset = UINT64_MAX - 100;
	expect_nack(send_req(VHOST_USER_SET_INFLIGHT_FD, nr, &bad, 24, &ifd, 1),
		    VHOST_USER_SET_INFLIGHT_FD, "SET offset overflow");
	bad.mmap_offset = 4;
	expect_nack(send_req(VHOST_USER_SET_INFLIGHT_FD, nr, &bad, 24, &ifd, 1),
		    VHOST_USER_SET_INFLIGHT_FD, "SET misaligned offset");
	int small = memfd_create("small", MFD_CLOEXEC);
	CHECK_EQ_INT(ftruncate(small, 64), 0);
	bad = area_info();
	expect_nack(send_req(VHOST_USER_SET_INFLIGHT_FD, nr, &bad, 24, &small, 1),
		    VHOST_USER_SET_INFLIGHT_FD, "SET fd smaller than claimed");
	close(small);
	int efd = eventfd(0, EFD_CLOEXEC);
	expect_nack(send_req(VHOST_USER_SET_INFLIGHT_FD, nr, &bad, 24, &efd, 1),
		    VHOST_USER_SET_INFLIGHT_FD, "SET an eventfd");
	close(efd);

	/* Not while a ring runs. */
	CHECK_EQ_INT(set_inflight(ifd, 0), 0);
	start_ring(0);
	expect_nack(set_inflight(ifd, nr), VHOST_USER_SET_INFLIGHT_FD, "SET while started");
	in = (struct vhost_inflight_info){.num_queues = NQ, .queue_size = QSIZE};
	expect_nack(send_req(VHOST_USER_GET_INFLIGHT_FD, nr, &in, 24, NULL, 0),
		    VHOST_USER_GET_INFLIGHT_FD, "GET while started");
	crash();
	close(ifd);
}

/* A region that cannot be this ring's refuses its start. */
static void test_region_refused(void)
{
	fresh_guest();
	connect_fresh(&rec_ops);
	negotiate();
	int ifd = get_inflight();
	uint8_t *area = mmap(NULL, NQ * inflight_queue_size(QSIZE), PROT_READ | PROT_WRITE,
			     MAP_SHARED, ifd, 0);
	struct inflight_queue *q = (struct inflight_queue *)area;
	q->version = 7;
	CHECK_EQ_INT(set_inflight(ifd, 0), 0);
	struct vhost_mem_table t = {.nregions = 1};
	t.regions[0] = (struct vhost_mem_region){GPA, MEM_SIZE, UVA, 0};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, &memfd, 1), 0);
	struct vhost_vring_state s = {0, NUM};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_NUM, 0, &s, 8, NULL, 0), 0);
	struct vhost_vring_addr a = {
		0, 0, UVA + (DESC - GPA), UVA + (USED - GPA), UVA + (AVAIL - GPA), 0};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ADDR, 0, &a, 40, NULL, 0), 0);
	s = (struct vhost_vring_state){0, 1};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ENABLE, 0, &s, 8, NULL, 0), 0);
	kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t idx = 0;
	expect_nack(
		send_req(VHOST_USER_SET_VRING_KICK, VHOST_USER_NEED_REPLY, &idx, 8, &kick_fd, 1),
		VHOST_USER_SET_VRING_KICK, "unknown region version");
	CHECK(!vhost_conn_queue_started(conn, 0));
	/* An interrupted batch larger than the ring. */
	q->version = INFLIGHT_VERSION;
	q->used_idx = 100;
	expect_nack(
		send_req(VHOST_USER_SET_VRING_KICK, VHOST_USER_NEED_REPLY, &idx, 8, &kick_fd, 1),
		VHOST_USER_SET_VRING_KICK, "batch larger than the ring");
	/* A ring larger than the area's queue size. */
	q->used_idx = 0;
	s = (struct vhost_vring_state){0, 32};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_NUM, 0, &s, 8, NULL, 0), 0);
	expect_nack(
		send_req(VHOST_USER_SET_VRING_KICK, VHOST_USER_NEED_REPLY, &idx, 8, &kick_fd, 1),
		VHOST_USER_SET_VRING_KICK, "ring larger than the region");
	CHECK(!vhost_conn_queue_started(conn, 0));
	/* Fixed: it starts. */
	s = (struct vhost_vring_state){0, NUM};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_NUM, 0, &s, 8, NULL, 0), 0);
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_KICK, 0, &idx, 8, &kick_fd, 1), 0);
	CHECK(vhost_conn_queue_started(conn, 0));
	crash();
	munmap(area, NQ * inflight_queue_size(QSIZE));
	close(ifd);
}

/* ---- vq level: unpop over resubmitted heads, hostile regions ---- */
static struct vmem vm;
static struct vq tvq;
static struct vq_elem el;
static union {
	struct inflight_queue q;
	uint8_t raw[1024];
} region;

static void vq_fresh(uint16_t base)
{
	vmem_init(&vm);
	CHECK_EQ_INT(vmem_add(&vm, GPA, MEM_SIZE, UVA, guest), 0);
	CHECK_EQ_INT(vq_setup_gpa(&tvq, &vm, NUM, DESC, AVAIL, USED, 0, base, "t"), 0);
}

static void test_vq_unpop(void)
{
	fresh_guest();
	memset(&region, 0, sizeof(region));
	vq_fresh(0);
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 32), 0);
	offer(0, 1);
	offer(2, 2);
	offer(4, 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(vq_pop(&tvq, &el), 1);
	vq_push(&tvq, 2, 1);
	/* Restart: 0 and 4 come back. Unpop over them and a new one. */
	offer(6, 4);
	vq_fresh(used_idx());
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 32), 0);
	CHECK_EQ_INT(vq_resubmit_pending(&tvq), 2);
	CHECK_EQ_INT(tvq.last_avail, 3);
	uint16_t heads[3];
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(vq_pop(&tvq, &el), 1);
		heads[i] = el.head;
	}
	CHECK_EQ_INT(heads[0], 0);
	CHECK_EQ_INT(heads[1], 4);
	CHECK_EQ_INT(heads[2], 6);
	CHECK_EQ_INT(tvq.last_avail, 4);
	vq_unpop(&tvq, 2); /* 6 back to avail, 4 back to the resubmit list */
	CHECK_EQ_INT(tvq.last_avail, 3);
	CHECK_EQ_INT(vq_resubmit_pending(&tvq), 1);
	CHECK_EQ_INT(region.q.desc[6].inflight, 1); /* stays marked */
	CHECK_EQ_INT(vq_pop(&tvq, &el), 1);
	CHECK_EQ_INT(el.head, 4);
	CHECK_EQ_INT(vq_pop(&tvq, &el), 1);
	CHECK_EQ_INT(el.head, 6);
	CHECK_EQ_INT(vq_pop(&tvq, &el), 0);
	/* A crash after unpopping (before the re-pop) resubmits it once. */
	vq_unpop(&tvq, 1);
	vq_fresh(used_idx());
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 32), 0);
	CHECK_EQ_INT(vq_resubmit_pending(&tvq), 3);
	CHECK_EQ_INT(tvq.last_avail, 4);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(vq_pop(&tvq, &el), 1);
	CHECK_EQ_INT(el.head, 6);
	CHECK_EQ_INT(vq_pop(&tvq, &el), 0);
	vq_reset(&tvq);
}

static void test_vq_hostile_region(void)
{
	fresh_guest();
	/* Flags on heads beyond the ring, a batch list leaving the ring,
	 * equal counters: bounded, in range, deterministic. */
	memset(&region, 0, sizeof(region));
	region.q.version = INFLIGHT_VERSION;
	region.q.desc_num = 32;
	for (unsigned int i = 0; i < 32; i++) {
		region.q.desc[i].inflight = (i % 3 == 0) ? 0xee : 0;
		region.q.desc[i].counter = 5;
		region.q.desc[i].next = (uint16_t)(i + 40000);
	}
	for (uint16_t h = 0; h < NUM; h += 3) {
		struct vring_desc d = {DATA, 1, 0, 0};
		memcpy(g(DESC + 16ull * h), &d, 16);
	}
	uint16_t u = 3;
	memcpy(g(USED + 2), &u, 2);
	region.q.used_idx = 1; /* a batch of 2 */
	region.q.last_batch_head = 3;
	vq_fresh(0);
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 32), 0);
	/* 3 was cleared by the batch walk, which then left the ring. */
	CHECK_EQ_INT(region.q.desc[3].inflight, 0);
	CHECK_EQ_INT(region.q.used_idx, 3);
	const uint16_t want[] = {0, 6, 9, 12, 15};
	CHECK_EQ_INT(vq_resubmit_pending(&tvq), 5);
	for (unsigned int i = 0; i < 5; i++) {
		CHECK_EQ_INT(vq_pop(&tvq, &el), 1);
		CHECK_EQ_INT(el.head, want[i]);
	}
	CHECK_EQ_INT(tvq.last_avail, 8);
	vq_reset(&tvq);

	/* A resubmitted head whose chain is now bad breaks the queue. */
	memset(&region, 0, sizeof(region));
	region.q.version = INFLIGHT_VERSION;
	region.q.desc_num = 32;
	region.q.used_idx = 3;
	region.q.desc[1].inflight = 1;
	struct vring_desc loop = {DATA, 1, VRING_DESC_F_NEXT, 1};
	memcpy(g(DESC + 16), &loop, 16);
	vq_fresh(0);
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 32), 0);
	CHECK_EQ_INT(vq_pop(&tvq, &el), -EIO);
	CHECK(vq_is_broken(&tvq));
	vq_reset(&tvq);

	/* desc_num not the one the region was sized for; desc_num below the
	 * ring; a second attach. */
	vq_fresh(0);
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 16), -EINVAL);
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 8), -EINVAL);
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 32), 0);
	CHECK_EQ_INT(vq_set_inflight(&tvq, &region.q, 32), -EINVAL);
	vq_reset(&tvq);
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	if (guest_map() < 0)
		return 1;
	RUN(test_crash_and_resubmit);
	RUN(test_crash_mid_push);
	RUN(test_clean_restart);
	RUN(test_malformed);
	RUN(test_region_refused);
	RUN(test_vq_unpop);
	RUN(test_vq_hostile_region);
	return tap_done();
}

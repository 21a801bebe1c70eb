/* test_net.c — the virtio-net device (dm/net*.c) driven directly through
 * hand-built rx and tx rings in fake guest memory, with a socketpair
 * standing in for the backend: SOCK_SEQPACKET for a tap (no tap ioctls
 * work on it: 12-byte headers, no offloads), SOCK_STREAM for the stream
 * backend. Transmit with split headers, hostile headers, broken chains,
 * backpressure; receive with and without MRG_RXBUF, straight into big
 * buffers, with no buffers at all; stream framing split across reads and
 * a bad length; the header checks themselves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/loop.h"
#include "dm/net.h"
#include "dm/net_hdr.h"
#include "tap.h"

#define GBASE 0x10000ull
#define GSIZE 0x100000ull /* 1 MiB */
#define NUM   16
#define BUFS  (GBASE + 0x10000) /* buffers from here */

#define F(b)	 (1ull << (b))
#define F_V1	 F(VIRTIO_F_VERSION_1)
#define F_MRG	 F(VIRTIO_NET_F_MRG_RXBUF)
#define F_IND	 F(VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVTIDX F(VIRTIO_RING_F_EVENT_IDX)
#define TAP	 NET_BACKEND_TAP
#define STREAM	 NET_BACKEND_STREAM
#define PACKET	 NET_BACKEND_PACKET

struct ring {
	uint64_t desc, avail, used;
	uint16_t avail_idx;
	unsigned int next; /* next free descriptor */
	struct vq vq;
};

static uint8_t *guest;
static struct vmem mem;
static struct loop *lp;
static struct ring rx, tx;
static struct net_dev *dev;
static int peer = -1;
static unsigned int notified[2];

static void *g(uint64_t a)
{
	return guest + (a - GBASE);
}

static void on_notify(void *ctx, unsigned int idx)
{
	(void)ctx;
	if (idx < 2)
		notified[idx]++;
}

static const struct vdev_notifier notifier = {.notify = on_notify, .ctx = NULL};

/* Offers a chain of n buffers (addr, len, writable) on r. */
static void add_chain(struct ring *r, unsigned int n, const uint64_t *addr, const uint32_t *len,
		      bool wr)
{
	unsigned int head = r->next;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int idx = r->next++ % NUM;
		struct vring_desc d = {addr[i], len[i], (uint16_t)(wr ? VRING_DESC_F_WRITE : 0),
				       (uint16_t)((idx + 1) % NUM)};
		if (i + 1 < n)
			d.flags |= VRING_DESC_F_NEXT;
		memcpy(g(r->desc + 16 * idx), &d, 16);
	}
	uint16_t h = (uint16_t)(head % NUM);
	memcpy(g(r->avail + 4 + 2 * (r->avail_idx % NUM)), &h, 2);
	r->avail_idx++;
	memcpy(g(r->avail + 2), &r->avail_idx, 2);
}

static void add1(struct ring *r, uint64_t addr, uint32_t len, bool wr)
{
	add_chain(r, 1, &addr, &len, wr);
}

static uint16_t used_idx(const struct ring *r)
{
	uint16_t u;
	memcpy(&u, g(r->used + 2), 2);
	return u;
}

static uint32_t used_len(const struct ring *r, unsigned int i)
{
	uint32_t l;
	memcpy(&l, g(r->used + 4 + 8 * (i % NUM) + 4), 4);
	return l;
}

static void ring_init(struct ring *r, uint64_t base, uint64_t features, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->desc = base;
	r->avail = base + 0x200;
	r->used = base + 0x400;
	CHECK_EQ_INT(vq_setup_gpa(&r->vq, &mem, NUM, r->desc, r->avail, r->used, features, 0, name),
		     0);
}

static bool packet_vnet; /* the next setup(PACKET) speaks 10-byte headers */

/* A device on a fresh socketpair, both queues started and kicked once. */
static void setup(enum net_backend be, uint64_t features)
{
	int sv[2];
	CHECK_EQ_INT(socketpair(AF_UNIX,
				(be == STREAM ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0,
				sv),
		     0);
	struct net_params p = {.backend = be,
			       .fd = sv[0],
			       .mac = {2, 0, 0, 0, 0, 1},
			       .mtu = 0,
			       .packet_vnet = packet_vnet};
	CHECK_EQ_INT(net_open(&p, lp, &dev), 0);
	peer = sv[1];
	memset(guest, 0, GSIZE);
	notified[0] = notified[1] = 0;
	ring_init(&rx, GBASE + 0x1000, features, "rx");
	ring_init(&tx, GBASE + 0x2000, features, "tx");
	net_vdev_ops.set_features(dev, features);
	net_vdev_ops.queue_start(dev, &rx.vq, NET_RXQ, &notifier);
	net_vdev_ops.queue_start(dev, &tx.vq, NET_TXQ, &notifier);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
}

static void teardown(void)
{
	net_vdev_ops.queue_stop(dev, NET_RXQ);
	net_vdev_ops.queue_stop(dev, NET_TXQ);
	net_close(dev);
	close(peer);
	for (int i = 0; i < 3; i++)
		loop_run_once(lp, 0); /* reap */
}

static void spin(void)
{
	for (int i = 0; i < 8; i++)
		loop_run_once(lp, 0);
}

static struct net_stats stats(void)
{
	struct net_stats s;
	net_get_stats(dev, &s);
	return s;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
}

static void put_hdr(uint64_t a, uint8_t flags, uint8_t gso, uint16_t csum_start, uint16_t csum_off)
{
	struct net_hdr h = {.flags = flags,
			    .gso_type = gso,
			    .csum_start = csum_start,
			    .csum_offset = csum_off,
			    .gso_size = gso ? 1400 : 0};
	net_hdr_encode(&h, g(a), NET_HDR_LEN);
}

/* Receives everything the device wrote to the peer (non-blocking). */
static size_t drain(uint8_t *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = recv(peer, buf + n, cap - n, MSG_DONTWAIT);
		if (r <= 0)
			return n;
		n += (size_t)r;
	}
}

static void test_config_and_features(void)
{
	int sv[2];
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct net_params p = {.backend = TAP, .fd = sv[0], .mac = {2, 1, 2, 3, 4, 5}, .mtu = 1400};
	struct net_dev *d = NULL;
	CHECK_EQ_INT(net_open(&p, lp, &d), 0);
	uint64_t f = net_vdev_ops.get_features(d);
	CHECK(f & F_V1);
	CHECK(f & F_MRG);
	CHECK(f & F(VIRTIO_NET_F_MAC));
	CHECK(f & F(VIRTIO_NET_F_STATUS));
	CHECK(f & F(VIRTIO_NET_F_MTU));
	CHECK(!(f & F(VIRTIO_NET_F_CSUM))); /* not a tap: no offloads */
	CHECK(!(f & F(VIRTIO_NET_F_GUEST_TSO4)));
	uint8_t cfg[12];
	CHECK_EQ_INT(net_vdev_ops.get_config(d, 0, cfg, sizeof(cfg)), 0);
	CHECK(memcmp(cfg, p.mac, 6) == 0);
	CHECK_EQ_INT(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	CHECK_EQ_INT(cfg[8] | cfg[9] << 8, 1);
	CHECK_EQ_INT(cfg[10] | cfg[11] << 8, 1400);
	CHECK_EQ_INT(net_vdev_ops.get_config(d, 20, cfg, 12), -EINVAL);
	net_close(d);
	close(sv[1]);

	/* Stream: no MTU bit without an MTU; a non-socket is refused. */
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p = (struct net_params){.backend = STREAM, .fd = sv[0]};
	CHECK_EQ_INT(net_open(&p, lp, &d), 0);
	f = net_vdev_ops.get_features(d);
	CHECK(!(f & F(VIRTIO_NET_F_MTU)));
	CHECK(!(f & F(VIRTIO_NET_F_CSUM)));
	net_close(d);
	close(sv[1]);
	int pfd[2];
	CHECK_EQ_INT(pipe(pfd), 0);
	p.fd = pfd[0];
	CHECK_EQ_INT(net_open(&p, lp, &d), -EINVAL);
	p.fd = -1;
	CHECK_EQ_INT(net_open(&p, lp, &d), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
}

/* A frame whose 12-byte header is split 5 + 7 and whose last header part
 * shares its buffer with the frame's start; then the frame's rest. */
static void offer_split_tx(const uint8_t *frame, size_t len)
{
	uint64_t a = BUFS;
	put_hdr(a, 0, 0, 0, 0);
	memmove(g(a + 12), frame, len);
	uint64_t addr[3] = {a, a + 5, a + 40};
	uint32_t lens[3] = {5, 35, (uint32_t)(12 + len - 40)};
	add_chain(&tx, 3, addr, lens, false);
}

static void test_tx(void)
{
	static uint8_t frame[1000], out[2000];
	fill(frame, sizeof(frame), 1);

	/* Tap: the header (as normalised) then the frame, one packet. */
	setup(TAP, F_V1 | F_IND);
	offer_split_tx(frame, sizeof(frame));
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK_EQ_INT(used_idx(&tx), 1);
	CHECK_EQ_INT(used_len(&tx, 0), 0);
	ssize_t r = recv(peer, out, sizeof(out), MSG_DONTWAIT);
	CHECK_EQ_INT(r, 12 + sizeof(frame));
	static const uint8_t zero[12];
	CHECK(memcmp(out, zero, 12) == 0);
	CHECK(memcmp(out + 12, frame, sizeof(frame)) == 0);
	CHECK_EQ_INT(stats().tx_packets, 1);
	teardown();

	/* Stream: a big-endian length, then the frame, no header. */
	setup(STREAM, F_V1);
	offer_split_tx(frame, sizeof(frame));
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK_EQ_INT(used_idx(&tx), 1);
	CHECK_EQ_INT(drain(out, sizeof(out)), 4 + sizeof(frame));
	CHECK_EQ_INT(out[0] << 24 | out[1] << 16 | out[2] << 8 | out[3], sizeof(frame));
	CHECK(memcmp(out + 4, frame, sizeof(frame)) == 0);
	teardown();

	/* A legacy driver (no VERSION_1, no MRG_RXBUF): 10-byte headers
	 * from the guest, 12 to the tap. */
	setup(TAP, 0);
	put_hdr(BUFS, 0, 0, 0, 0);
	memcpy(g(BUFS + 10), frame, 100);
	add1(&tx, BUFS, 110, false);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK_EQ_INT(recv(peer, out, sizeof(out), MSG_DONTWAIT), 112);
	CHECK(memcmp(out + 12, frame, 100) == 0);
	teardown();
}

static void test_tx_hostile(void)
{
	static uint8_t frame[200], out[400];
	fill(frame, sizeof(frame), 2);
	setup(TAP, F_V1);
	uint64_t a = BUFS;
	/* 1: DATA_VALID is no transmit flag. */
	put_hdr(a, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0);
	add1(&tx, a, 12 + 200, false);
	/* 2: NEEDS_CSUM without CSUM acked. */
	put_hdr(a + 0x1000, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 14, 16);
	add1(&tx, a + 0x1000, 12 + 200, false);
	/* 3: TSO without HOST_TSO4. */
	put_hdr(a + 0x2000, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 34, 16);
	add1(&tx, a + 0x2000, 12 + 200, false);
	/* 4: a header cut short. */
	put_hdr(a + 0x3000, 0, 0, 0, 0);
	add1(&tx, a + 0x3000, 8, false);
	/* 5: a frame shorter than an Ethernet header. */
	put_hdr(a + 0x4000, 0, 0, 0, 0);
	add1(&tx, a + 0x4000, 12 + 5, false);
	/* 6: fine. */
	put_hdr(a + 0x5000, 0, 0, 0, 0);
	memcpy(g(a + 0x5000 + 12), frame, sizeof(frame));
	add1(&tx, a + 0x5000, 12 + 200, false);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK_EQ_INT(used_idx(&tx), 6); /* every chain returned */
	CHECK(!vq_is_broken(&tx.vq));
	CHECK_EQ_INT(stats().tx_dropped, 5);
	CHECK_EQ_INT(stats().tx_packets, 1);
	CHECK_EQ_INT(recv(peer, out, sizeof(out), MSG_DONTWAIT), 212);
	CHECK(memcmp(out + 12, frame, sizeof(frame)) == 0);
	CHECK_EQ_INT(recv(peer, out, sizeof(out), MSG_DONTWAIT), -1); /* only that one */

	/* A writable buffer on the transmit queue breaks it. */
	uint64_t addr[2] = {a + 0x5000, a + 0x6000};
	uint32_t lens[2] = {212, 100};
	add_chain(&tx, 1, addr, lens, false);
	struct vring_desc d;
	memcpy(&d, g(tx.desc + 16 * ((tx.next - 1) % NUM)), 16);
	d.flags = VRING_DESC_F_WRITE;
	memcpy(g(tx.desc + 16 * ((tx.next - 1) % NUM)), &d, 16);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK(vq_is_broken(&tx.vq));
	CHECK_EQ_INT(used_idx(&tx), 6);
	teardown();

	/* A chain of zero readable bytes breaks it too. */
	setup(STREAM, F_V1);
	add1(&tx, a, 0, false);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK(vq_is_broken(&tx.vq));
	teardown();
}

static void test_hdr_checks(void)
{
	uint64_t tso = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4);
	struct net_hdr h;
	h = (struct net_hdr){.flags = 1,
			     .gso_type = 1,
			     .hdr_len = 54,
			     .gso_size = 1448,
			     .csum_start = 34,
			     .csum_offset = 16,
			     .num_buffers = 9};
	CHECK(net_hdr_check_tx(&h, 3000, tso) == NULL);
	CHECK_EQ_INT(h.num_buffers, 0);
	h.csum_start = 2990; /* field at 3006..3008: outside */
	CHECK(net_hdr_check_tx(&h, 3000, tso) != NULL);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff; /* no 16-bit wrap */
	CHECK(net_hdr_check_tx(&h, 3000, tso) != NULL);
	h = (struct net_hdr){.flags = 1,
			     .gso_type = 1,
			     .hdr_len = 54,
			     .gso_size = 0,
			     .csum_start = 34,
			     .csum_offset = 16};
	CHECK(net_hdr_check_tx(&h, 3000, tso) != NULL); /* gso_size 0 */
	h.gso_size = 1448;
	h.hdr_len = 3001;
	CHECK(net_hdr_check_tx(&h, 3000, tso) != NULL);
	h.hdr_len = 54;
	h.flags = 0;
	CHECK(net_hdr_check_tx(&h, 3000, tso) != NULL); /* gso without csum */
	h.flags = 1;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK(net_hdr_check_tx(&h, 3000, tso) != NULL); /* TSO6 not acked */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	CHECK(net_hdr_check_tx(&h, 3000, tso) != NULL);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK(net_hdr_check_tx(&h, 3000, tso | F(VIRTIO_NET_F_HOST_UFO)) != NULL);
	h = (struct net_hdr){.flags = 0, .gso_type = 0, .hdr_len = 60000, .gso_size = 77};
	CHECK(net_hdr_check_tx(&h, 100, 0) == NULL); /* ignored, and zeroed */
	CHECK_EQ_INT(h.hdr_len, 0);
	CHECK_EQ_INT(h.gso_size, 0);

	/* Receive side. */
	h = (struct net_hdr){.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	CHECK(net_hdr_check_rx(&h, 100, 0) == NULL);
	CHECK_EQ_INT(h.flags, 0); /* not without GUEST_CSUM */
	h = (struct net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16};
	CHECK(net_hdr_check_rx(&h, 100, 0) != NULL);
	CHECK(net_hdr_check_rx(&h, 100, F(VIRTIO_NET_F_GUEST_CSUM)) == NULL);
	h = (struct net_hdr){.flags = 1,
			     .gso_type = 1,
			     .gso_size = 1448,
			     .hdr_len = 54,
			     .csum_start = 34,
			     .csum_offset = 16};
	CHECK(net_hdr_check_rx(&h, 3000, F(VIRTIO_NET_F_GUEST_CSUM)) != NULL);
	CHECK(net_hdr_check_rx(&h, 3000, F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4)) ==
	      NULL);
}

/* Reads the header the device wrote at a. */
static struct net_hdr hdr_at(uint64_t a)
{
	struct net_hdr h;
	net_hdr_decode(&h, g(a), NET_HDR_LEN);
	return h;
}

static void send_tap_frame(const uint8_t *frame, size_t len)
{
	static uint8_t pkt[12 + 70000];
	struct net_hdr h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 0x7777};
	net_hdr_encode(&h, pkt, 12);
	memcpy(pkt + 12, frame, len);
	CHECK_EQ_INT(send(peer, pkt, 12 + len, 0), 12 + len);
}

static void test_rx_single(void)
{
	static uint8_t frame[1500];
	fill(frame, sizeof(frame), 3);
	setup(TAP, F_V1 | F_EVTIDX);
	/* A chain whose first buffer splits the header (10 + the rest). */
	uint64_t addr[2] = {BUFS, BUFS + 0x100};
	uint32_t lens[2] = {10, 2038};
	add_chain(&rx, 2, addr, lens, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	unsigned int n0 = notified[0];
	send_tap_frame(frame, 100);
	spin();
	CHECK_EQ_INT(used_idx(&rx), 1);
	CHECK_EQ_INT(used_len(&rx, 0), 112);
	uint8_t hb[12];
	memcpy(hb, g(BUFS), 10);
	memcpy(hb + 10, g(BUFS + 0x100), 2);
	struct net_hdr h;
	net_hdr_decode(&h, hb, 12);
	CHECK_EQ_INT(h.num_buffers, 1);
	CHECK_EQ_INT(h.flags, 0); /* DATA_VALID cleared: GUEST_CSUM not acked */
	CHECK(memcmp(g(BUFS + 0x102), frame, 100) == 0);
	CHECK(notified[0] > n0);

	/* A frame larger than the only chain is dropped; the chain stays. */
	add1(&rx, BUFS + 0x1000, 600, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	send_tap_frame(frame, 1000);
	send_tap_frame(frame, 500);
	spin();
	CHECK_EQ_INT(stats().rx_dropped, 1);
	CHECK_EQ_INT(used_idx(&rx), 2);
	CHECK_EQ_INT(used_len(&rx, 1), 512);
	CHECK(memcmp(g(BUFS + 0x1000 + 12), frame, 500) == 0);
	teardown();
}

static void test_rx_mergeable(void)
{
	static uint8_t frame[40000];
	fill(frame, sizeof(frame), 4);
	setup(TAP, F_V1 | F_MRG);
	for (unsigned int i = 0; i < 4; i++)
		add1(&rx, BUFS + 0x1000 * i, 1000, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	send_tap_frame(frame, 2500);
	spin();
	CHECK_EQ_INT(used_idx(&rx), 3);
	CHECK_EQ_INT(used_len(&rx, 0), 1000);
	CHECK_EQ_INT(used_len(&rx, 1), 1000);
	CHECK_EQ_INT(used_len(&rx, 2), 512);
	CHECK_EQ_INT(hdr_at(BUFS).num_buffers, 3);
	CHECK(memcmp(g(BUFS + 12), frame, 988) == 0);
	CHECK(memcmp(g(BUFS + 0x1000), frame + 988, 1000) == 0);
	CHECK(memcmp(g(BUFS + 0x2000), frame + 1988, 512) == 0);
	/* The fourth chain is held; stopping gives it back. */
	CHECK_EQ_INT(rx.vq.last_avail, 4);
	net_vdev_ops.queue_stop(dev, NET_RXQ);
	CHECK_EQ_INT(rx.vq.last_avail, 3);
	teardown();

	/* Chains big enough for any frame: read straight into them. */
	setup(TAP, F_V1 | F_MRG);
	for (unsigned int i = 0; i < 3; i++)
		add1(&rx, BUFS + 0x8000 * i, 0x8000, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	send_tap_frame(frame, sizeof(frame));
	spin();
	CHECK_EQ_INT(used_idx(&rx), 2);
	CHECK_EQ_INT(used_len(&rx, 0), 0x8000);
	CHECK_EQ_INT(used_len(&rx, 1), 12 + sizeof(frame) - 0x8000);
	CHECK_EQ_INT(hdr_at(BUFS).num_buffers, 2);
	CHECK_EQ_INT(hdr_at(BUFS).flags, 0);
	CHECK(memcmp(g(BUFS + 12), frame, 0x8000 - 12) == 0);
	CHECK(memcmp(g(BUFS + 0x8000), frame + 0x8000 - 12, sizeof(frame) - (0x8000 - 12)) == 0);
	teardown();

	/* The same without MRG_RXBUF: one big chain. */
	setup(TAP, F_V1);
	uint64_t addr[2] = {BUFS, BUFS + 0x10000};
	uint32_t lens[2] = {0x10000, 0x10000};
	add_chain(&rx, 2, addr, lens, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	send_tap_frame(frame, sizeof(frame));
	spin();
	CHECK_EQ_INT(used_idx(&rx), 1);
	CHECK_EQ_INT(used_len(&rx, 0), 12 + sizeof(frame));
	CHECK_EQ_INT(hdr_at(BUFS).num_buffers, 1);
	CHECK(memcmp(g(BUFS + 12), frame, sizeof(frame)) == 0);
	teardown();
}

static void test_rx_backpressure(void)
{
	static uint8_t frame[300];
	setup(TAP, F_V1);
	for (unsigned int i = 0; i < 3; i++) {
		fill(frame, sizeof(frame), 10 + i);
		send_tap_frame(frame, sizeof(frame));
	}
	spin();
	CHECK_EQ_INT(used_idx(&rx), 0);
	CHECK_EQ_INT(stats().rx_dropped, 0);
	/* Nothing was read: the device did not even look. */
	struct net_stats s = stats();
	CHECK_EQ_INT(s.rx_packets, 0);
	uint16_t fl;
	memcpy(&fl, g(rx.used), 2);
	CHECK_EQ_INT(fl & VRING_USED_F_NO_NOTIFY, 0); /* kicks wanted */
	/* Buffers arrive with a kick: all three, in order. */
	for (unsigned int i = 0; i < 3; i++)
		add1(&rx, BUFS + 0x1000 * i, 2048, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	CHECK_EQ_INT(used_idx(&rx), 3);
	for (unsigned int i = 0; i < 3; i++) {
		fill(frame, sizeof(frame), 10 + i);
		CHECK(memcmp(g(BUFS + 0x1000 * i + 12), frame, sizeof(frame)) == 0);
	}
	CHECK_EQ_INT(stats().rx_packets, 3);
	teardown();

	/* Stream: the same, frames stay in the socket meanwhile. */
	setup(STREAM, F_V1 | F_MRG);
	uint8_t wire[4 + 300];
	for (unsigned int i = 0; i < 3; i++) {
		fill(frame, sizeof(frame), 20 + i);
		wire[0] = wire[1] = 0;
		wire[2] = 300 >> 8;
		wire[3] = 300 & 0xff;
		memcpy(wire + 4, frame, 300);
		CHECK_EQ_INT(send(peer, wire, sizeof(wire), 0), sizeof(wire));
	}
	spin();
	CHECK_EQ_INT(used_idx(&rx), 0);
	for (unsigned int i = 0; i < 3; i++)
		add1(&rx, BUFS + 0x1000 * i, 1024, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	spin();
	CHECK_EQ_INT(used_idx(&rx), 3);
	for (unsigned int i = 0; i < 3; i++) {
		fill(frame, sizeof(frame), 20 + i);
		CHECK(memcmp(g(BUFS + 0x1000 * i + 12), frame, sizeof(frame)) == 0);
		CHECK_EQ_INT(hdr_at(BUFS + 0x1000 * i).num_buffers, 1);
	}
	teardown();
}

/* The tap stand-in's unread bytes on the device's side stay put while the
 * guest gives no buffers (the device stops reading). */
static void test_rx_no_buffers_no_read(void)
{
	int sv[2];
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int spy = dup(sv[0]);
	struct net_params p = {.backend = TAP, .fd = sv[0]};
	CHECK_EQ_INT(net_open(&p, lp, &dev), 0);
	peer = sv[1];
	memset(guest, 0, GSIZE);
	ring_init(&rx, GBASE + 0x1000, F_V1, "rx");
	ring_init(&tx, GBASE + 0x2000, F_V1, "tx");
	net_vdev_ops.set_features(dev, F_V1);
	net_vdev_ops.queue_start(dev, &rx.vq, NET_RXQ, &notifier);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	static uint8_t frame[500];
	for (int i = 0; i < 5; i++)
		send_tap_frame(frame, sizeof(frame));
	spin();
	int n = -1;
	CHECK_EQ_INT(ioctl(spy, FIONREAD, &n), 0);
	CHECK_EQ_INT(n, 5 * 512);
	add1(&rx, BUFS, 2048, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	CHECK_EQ_INT(used_idx(&rx), 1);
	CHECK_EQ_INT(ioctl(spy, FIONREAD, &n), 0);
	CHECK_EQ_INT(n, 4 * 512); /* one taken, four left where they were */
	close(spy);
	net_vdev_ops.queue_stop(dev, NET_RXQ);
	net_close(dev);
	close(peer);
}

static void stream_send(const void *p, size_t n)
{
	CHECK_EQ_INT(send(peer, p, n, 0), n);
	spin();
}

static void test_stream_framing(void)
{
	static uint8_t frame[3000], wire[2 * (4 + 3000)];
	fill(frame, sizeof(frame), 5);
	setup(STREAM, F_V1 | F_MRG);
	for (unsigned int i = 0; i < 4; i++)
		add1(&rx, BUFS + 0x1000 * i, 4096, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	uint8_t len[4] = {0, 0, 3000 >> 8, 3000 & 0xff};
	stream_send(len, 3);
	stream_send(len + 3, 1);
	stream_send(frame, 1000);
	CHECK_EQ_INT(used_idx(&rx), 0);
	stream_send(frame + 1000, 1999);
	CHECK_EQ_INT(used_idx(&rx), 0); /* one byte short */
	stream_send(frame + 2999, 1);
	CHECK_EQ_INT(used_idx(&rx), 1);
	CHECK_EQ_INT(used_len(&rx, 0), 3012);
	CHECK(memcmp(g(BUFS + 12), frame, 3000) == 0);
	struct net_hdr h = hdr_at(BUFS);
	CHECK_EQ_INT(h.flags | h.gso_type | h.hdr_len | h.csum_start, 0);
	/* Two frames in one write. */
	memcpy(wire, len, 4);
	memcpy(wire + 4, frame, 3000);
	memcpy(wire + 3004, len, 4);
	memcpy(wire + 3008, frame, 3000);
	wire[3008] ^= 0xff;
	stream_send(wire, sizeof(wire));
	CHECK_EQ_INT(used_idx(&rx), 3);
	CHECK_EQ_INT(((uint8_t *)g(BUFS + 0x2000 + 12))[0], frame[0] ^ 0xff);
	teardown();
}

static void test_stream_bad_length(void)
{
	static uint8_t frame[100], out[256];
	fill(frame, sizeof(frame), 6);
	for (int bad = 0; bad < 2; bad++) {
		setup(STREAM, F_V1);
		for (unsigned int i = 0; i < 2; i++)
			add1(&rx, BUFS + 0x1000 * i, 2048, true);
		net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
		uint8_t wire[4 + 100 + 4] = {0, 0, 0, 100};
		memcpy(wire + 4, frame, 100);
		uint32_t l = bad ? NET_MAX_FRAME + 1 : 0;
		wire[104] = (uint8_t)(l >> 24);
		wire[105] = (uint8_t)(l >> 16);
		wire[106] = (uint8_t)(l >> 8);
		wire[107] = (uint8_t)l;
		stream_send(wire, sizeof(wire));
		CHECK_EQ_INT(used_idx(&rx), 1); /* the good frame before it */
		CHECK(memcmp(g(BUFS + 12), frame, 100) == 0);
		/* The device hung up on the backend... */
		CHECK_EQ_INT(recv(peer, out, sizeof(out), MSG_DONTWAIT), 0);
		uint8_t cfg[8];
		net_vdev_ops.get_config(dev, 0, cfg, 8);
		CHECK_EQ_INT(cfg[6], 0); /* link down */
		/* ...and transmit still returns chains, counted as errors. */
		put_hdr(BUFS + 0x4000, 0, 0, 0, 0);
		add1(&tx, BUFS + 0x4000, 12 + 100, false);
		net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
		CHECK_EQ_INT(used_idx(&tx), 1);
		CHECK_EQ_INT(stats().tx_errors, 1);
		teardown();
	}
}

/* Offers `count` frames of `len` bytes (header, then distinct contents)
 * on the tx ring, reusing descriptors as the ring allows. */
static void offer_tx_frames(unsigned int first, unsigned int count, size_t len)
{
	for (unsigned int i = first; i < first + count; i++) {
		uint64_t a = BUFS + (uint64_t)(i % 12) * 0x10000;
		put_hdr(a, 0, 0, 0, 0);
		fill(g(a + 12), len, 100 + i);
		add1(&tx, a, (uint32_t)(12 + len), false);
	}
}

static void test_tx_backpressure(void)
{
	const size_t len = 60000;
	static uint8_t want[60000], got[12 + 60000];

	/* Stream: frames bigger than what the socket holds come out whole,
	 * in order, as the reader drains. */
	setup(STREAM, F_V1);
	int sz = 65536;
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	offer_tx_frames(0, 12, len);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK(used_idx(&tx) < 12); /* blocked, not dropped */
	CHECK_EQ_INT(stats().tx_dropped + stats().tx_errors, 0);
	for (unsigned int i = 0; i < 12; i++) {
		size_t have = 0;
		for (int tries = 0; have < 4 + len && tries < 10000; tries++) {
			ssize_t r = recv(peer, got + have, 4 + len - have, MSG_DONTWAIT);
			if (r > 0)
				have += (size_t)r;
			else
				loop_run_once(lp, 10);
		}
		CHECK_EQ_INT(have, 4 + len);
		CHECK_EQ_INT(got[1] << 16 | got[2] << 8 | got[3], len);
		fill(want, len, 100 + i);
		CHECK(memcmp(got + 4, want, len) == 0);
	}
	spin();
	CHECK_EQ_INT(used_idx(&tx), 12);
	CHECK_EQ_INT(stats().tx_packets, 12);
	teardown();

	/* Tap stand-in: EAGAIN gives the chain back; it goes out later. */
	setup(TAP, F_V1);
	offer_tx_frames(0, 12, len);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK(used_idx(&tx) < 12);
	CHECK_EQ_INT(tx.vq.last_avail, used_idx(&tx)); /* the blocked one unpopped */
	for (unsigned int i = 0; i < 12; i++) {
		ssize_t r = -1;
		for (int tries = 0; r < 0 && tries < 1000; tries++) {
			r = recv(peer, got, sizeof(got), MSG_DONTWAIT);
			if (r < 0)
				loop_run_once(lp, 10);
		}
		CHECK_EQ_INT(r, 12 + len);
		fill(want, len, 100 + i);
		CHECK(memcmp(got + 12, want, len) == 0);
	}
	spin();
	CHECK_EQ_INT(used_idx(&tx), 12);
	CHECK_EQ_INT(stats().tx_packets, 12);
	CHECK_EQ_INT(stats().tx_dropped + stats().tx_errors, 0);
	teardown();
}

/* A packet socket (the stub domain's eth0): raw frames both ways, no
 * header on the backend side, no offloads offered. */
static void test_packet(void)
{
	static uint8_t frame[1000], out[2000];
	fill(frame, sizeof(frame), 5);
	setup(PACKET, F_V1 | F_MRG);
	CHECK(!(net_vdev_ops.get_features(dev) & F(VIRTIO_NET_F_CSUM)));
	CHECK(!(net_vdev_ops.get_features(dev) & F(VIRTIO_NET_F_GUEST_TSO4)));
	/* tx: the guest's header is dropped, the frame goes out whole. */
	offer_split_tx(frame, sizeof(frame));
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK_EQ_INT(used_idx(&tx), 1);
	CHECK_EQ_INT(recv(peer, out, sizeof(out), MSG_DONTWAIT), sizeof(frame));
	CHECK(memcmp(out, frame, sizeof(frame)) == 0);
	CHECK_EQ_INT(stats().tx_packets, 1);
	/* rx: a raw frame gets a plain header in the guest. */
	add1(&rx, BUFS + 0x1000, 2048, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	CHECK_EQ_INT(send(peer, frame, 700, 0), 700);
	spin();
	CHECK_EQ_INT(used_idx(&rx), 1);
	CHECK_EQ_INT(used_len(&rx, 0), 12 + 700);
	struct net_hdr h;
	net_hdr_decode(&h, g(BUFS + 0x1000), 12);
	CHECK_EQ_INT(h.flags, 0);
	CHECK_EQ_INT(h.gso_type, 0);
	CHECK_EQ_INT(h.num_buffers, 1);
	CHECK(memcmp(g(BUFS + 0x1000 + 12), frame, 700) == 0);
	CHECK_EQ_INT(stats().rx_packets, 1);
	teardown();
}

/* A packet socket with PACKET_VNET_HDR (a stub domain's NIC with
 * offloads): 10-byte headers to and from the backend, 12 in the guest,
 * TSO and checksum offload offered and passed through both ways, and a
 * big frame read straight into the guest's buffers behind the header. */
static void test_packet_offload(void)
{
	static uint8_t frame[60000], out[70000];
	fill(frame, sizeof(frame), 6);
	packet_vnet = true;
	uint64_t f = F_V1 | F_MRG | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |
		     F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4);
	setup(PACKET, f);
	packet_vnet = false;
	uint64_t offered = net_vdev_ops.get_features(dev);
	CHECK((offered & f) == f);
	CHECK_EQ_INT(offered, net_offload_features(0));
	/* tx: a TSO frame keeps its header, cut to 10 bytes. */
	uint64_t a = BUFS;
	put_hdr(a, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 34, 16);
	memcpy(g(a + 12), frame, 3000);
	add1(&tx, a, 12 + 3000, false);
	net_vdev_ops.queue_kick(dev, &tx.vq, NET_TXQ);
	CHECK_EQ_INT(used_idx(&tx), 1);
	CHECK_EQ_INT(recv(peer, out, sizeof(out), MSG_DONTWAIT), 10 + 3000);
	struct net_hdr h;
	net_hdr_decode(&h, out, 10);
	CHECK_EQ_INT(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ_INT(h.gso_size, 1400);
	CHECK_EQ_INT(h.csum_start, 34);
	CHECK(memcmp(out + 10, frame, 3000) == 0);
	/* rx: a 60000-byte GSO frame behind a 10-byte header lands in four
	 * 16 KiB buffers behind the guest's 12-byte header, num_buffers 4. */
	for (unsigned int i = 0; i < 5; i++)
		add1(&rx, BUFS + 0x10000 + i * 0x4000, 0x4000, true);
	net_vdev_ops.queue_kick(dev, &rx.vq, NET_RXQ);
	struct net_hdr in = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .gso_size = 1448,
			     .hdr_len = 66,
			     .csum_start = 34,
			     .csum_offset = 16};
	net_hdr_encode(&in, out, 10);
	memcpy(out + 10, frame, sizeof(frame));
	CHECK_EQ_INT(send(peer, out, 10 + sizeof(frame), 0), 10 + sizeof(frame));
	spin();
	CHECK_EQ_INT(used_idx(&rx), 4);
	net_hdr_decode(&h, g(BUFS + 0x10000), 12);
	CHECK_EQ_INT(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ_INT(h.gso_size, 1448);
	CHECK_EQ_INT(h.num_buffers, 4);
	CHECK(memcmp(g(BUFS + 0x10000 + 12), frame, 0x4000 - 12) == 0);
	CHECK(memcmp(g(BUFS + 0x10000 + 3 * 0x4000), frame + 3 * 0x4000 - 12,
		     sizeof(frame) + 12 - 3 * 0x4000) == 0);
	CHECK_EQ_INT(stats().rx_packets, 1);
	teardown();
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	guest = aligned_alloc(4096, GSIZE);
	vmem_init(&mem);
	if (!guest || vmem_add(&mem, GBASE, GSIZE, 0, guest) < 0 || loop_new(&lp) < 0)
		return 1;
	RUN(test_config_and_features);
	RUN(test_hdr_checks);
	RUN(test_tx);
	RUN(test_tx_hostile);
	RUN(test_rx_single);
	RUN(test_rx_mergeable);
	RUN(test_rx_backpressure);
	RUN(test_rx_no_buffers_no_read);
	RUN(test_stream_framing);
	RUN(test_stream_bad_length);
	RUN(test_tx_backpressure);
	RUN(test_packet);
	RUN(test_packet_offload);
	loop_free(lp);
	free(guest);
	return tap_done();
}

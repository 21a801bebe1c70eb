/* fuzz_net.c — libFuzzer target for virtio-net (dm/net*.c).
 *
 * Input: byte 0 picks the backend (bit 0: stream, else the tap stand-in)
 * and features (bit 1 MRG_RXBUF, bit 2 INDIRECT_DESC, bit 3 EVENT_IDX,
 * bit 4 VERSION_1; without it the driver is legacy, 10-byte headers;
 * bit 5, unless bit 0: a packet socket with PACKET_VNET_HDR instead, 10-byte
 * headers to and from the backend, as in a stub domain; bit 6: the
 * offloads acked, CSUM, GUEST_CSUM, TSO4/6 both ways);
 * byte 1 × 16 is how many bytes at the end of the input are the backend's
 * (for the tap stand-in: packets, each a 2-byte little-endian length then
 * that many bytes; for the stream: raw bytes, framing and all). The rest
 * is 16 KiB of guest memory at guest-physical 0x1000..0x5000 (two adjacent
 * heap blocks) holding a 16-entry rx ring (desc 0x1000, avail 0x1200, used
 * 0x1400) and a 16-entry tx ring (desc 0x1800, avail 0x1a00, used 0x1c00);
 * chains point wherever the input says. The backend is a socketpair
 * (SOCK_SEQPACKET for the tap, SOCK_STREAM for the stream).
 *
 * The device is driven as a transport would: features, both queues
 * started and kicked, backend bytes written, a few loop iterations, an rx
 * kick, both queues stopped. Oracles: no crash or sanitizer report; after
 * queue_stop every chain popped from either queue was pushed (held rx
 * chains given back, a blocked tx chain unpopped) unless the queue broke;
 * whatever reached the backend is well-formed (stream: whole frames of
 * 14..NET_MAX_FRAME bytes; tap: header plus at least an Ethernet header).
 */
#include "dm/net.h"
#include "dm/net_hdr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_net: invariant failed: %s\n", #cond);                \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define REGION 0x2000u
#define NUM    16

static struct loop *lp;

static void on_notify(void *ctx, unsigned int idx)
{
	(void)ctx;
	(void)idx;
}

static const struct vdev_notifier notifier = {.notify = on_notify};

static void feed_backend(int fd, bool stream, const uint8_t *p, size_t n)
{
	if (stream) {
		if (n > 0 && send(fd, p, n, MSG_DONTWAIT) < 0)
			return; /* a full socket: the rest is not sent */
		return;
	}
	while (n >= 2) {
		size_t l = (size_t)(p[0] | p[1] << 8) % (n - 1);
		p += 2;
		n -= 2;
		if (send(fd, p, l, MSG_DONTWAIT) < 0)
			return; /* the receiver's packet queue is full */
		p += l;
		n -= l;
	}
}

/* What the device sent must be well-formed. */
static void check_output(int fd, bool stream, unsigned int be_hdr)
{
	static uint8_t buf[1 << 17];
	size_t have = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + (stream ? have : 0), sizeof(buf) - have, MSG_DONTWAIT);
		if (r <= 0)
			break;
		if (!stream)
			CHECK((size_t)r >= be_hdr + 14);
		else
			have += (size_t)r;
	}
	size_t off = 0;
	while (stream && off < have) {
		CHECK(have - off >= 4);
		uint32_t len = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
			       (uint32_t)buf[off + 2] << 8 | buf[off + 3];
		CHECK(len >= 14 && len <= NET_MAX_FRAME);
		CHECK(have - off - 4 >= len);
		off += 4 + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!lp) {
		log_set_level(LOG_LVL_ERR);
		CHECK(loop_new(&lp) == 0);
	}
	if (size < 2)
		return 0;
	bool stream = data[0] & 1;
	uint64_t features = 0;
	if (data[0] & 2)
		features |= 1ull << 15; /* MRG_RXBUF */
	if (data[0] & 4)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[0] & 8)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (data[0] & 16)
		features |= 1ull << VIRTIO_F_VERSION_1;
	bool packet = !stream && (data[0] & 32);
	if (data[0] & 64)
		features |= (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
			    (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6);
	size_t be_len = (size_t)data[1] * 16;
	data += 2;
	size -= 2;
	if (be_len > size)
		be_len = size;
	const uint8_t *be = data + size - be_len;
	size -= be_len;

	uint8_t *r0 = calloc(1, REGION), *r1 = calloc(1, REGION);
	CHECK(r0 && r1);
	memcpy(r0, data, size < REGION ? size : REGION);
	if (size > REGION)
		memcpy(r1, data + REGION, size - REGION < REGION ? size - REGION : REGION);
	struct vmem mem;
	vmem_init(&mem);
	CHECK(vmem_add(&mem, 0x1000, REGION, 0, r0) == 0);
	CHECK(vmem_add(&mem, 0x1000 + REGION, REGION, REGION, r1) == 0);
	struct vq rx = {0}, tx = {0};
	CHECK(vq_setup_gpa(&rx, &mem, NUM, 0x1000, 0x1200, 0x1400, features, 0, "rx") == 0);
	CHECK(vq_setup_gpa(&tx, &mem, NUM, 0x1800, 0x1a00, 0x1c00, features, 0, "tx") == 0);

	int sv[2];
	CHECK(socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, sv) ==
	      0);
	struct net_params p = {.backend = stream   ? NET_BACKEND_STREAM
					  : packet ? NET_BACKEND_PACKET
						   : NET_BACKEND_TAP,
			       .fd = sv[0],
			       .mac = {2, 0, 0, 0, 0, 1},
			       .mtu = 1500,
			       .packet_vnet = packet};
	struct net_dev *d = NULL;
	CHECK(net_open(&p, lp, &d) == 0);
	net_vdev_ops.set_features(d, features);
	net_vdev_ops.queue_start(d, &rx, NET_RXQ, &notifier);
	net_vdev_ops.queue_kick(d, &rx, NET_RXQ);
	net_vdev_ops.queue_start(d, &tx, NET_TXQ, &notifier);
	net_vdev_ops.queue_kick(d, &tx, NET_TXQ);
	feed_backend(sv[1], stream, be, be_len);
	for (int i = 0; i < 4; i++)
		loop_run_once(lp, 0);
	net_vdev_ops.queue_kick(d, &rx, NET_RXQ);
	net_vdev_ops.queue_kick(d, &tx, NET_TXQ);
	check_output(sv[1], stream, packet ? 10 : 12);
	net_vdev_ops.queue_stop(d, NET_RXQ);
	net_vdev_ops.queue_stop(d, NET_TXQ);

	/* The guest may scribble over the used rings through its own
	 * buffers, so the device's own counters are the oracle. */
	CHECK(rx.used_idx == rx.last_avail || vq_is_broken(&rx));
	CHECK(tx.used_idx == tx.last_avail || vq_is_broken(&tx));
	net_close(d);
	close(sv[1]);
	loop_run_once(lp, 0); /* frees the closed watch */
	free(r0);
	free(r1);
	return 0;
}

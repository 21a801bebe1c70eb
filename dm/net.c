/* net.c — virtio-net on a tap or a stream socket: set-up, features,
 * config space, queue start/stop and the backend fd's watch.
 *
 * Design
 * ------
 * Two queues: receive (0) and transmit (1). The device sits between the
 * guest's rings and one backend fd (a tap, or a unix stream socket with
 * QEMU's 4-byte big-endian length framing) and never blocks the loop:
 * the fd is non-blocking and the device waits on it through one loop
 * watch whose mask follows the state (net_update_watch):
 *
 *   EPOLLIN  while the rx queue is started and not starved;
 *   EPOLLOUT while transmit is blocked (the backend said EAGAIN, or took
 *            only part of a stream frame).
 *
 * With neither wanted the fd is not watched at all, so a hung-up peer
 * cannot wake the loop in a spin.
 *
 * Transmit (net_tx.c) pops a chain, gathers the header with memcpy,
 * checks it (net_hdr.c) and writes the frame. A full backend stops the
 * popping: a tap's EAGAIN gives the chain back (vq_unpop) to be popped
 * again; a stream that took part of a frame gets the rest copied into
 * txbuf, which is flushed first on EPOLLOUT so the framing never breaks.
 * Nothing is dropped silently: a refused header or a gone backend counts
 * the frame and still returns its chain.
 *
 * Receive (net_rx.c) holds popped chains ("held chains", in order) until
 * a frame fills them; that is what lets a tap readv straight into guest
 * memory when the held chains can take the largest frame, and lets
 * MRG_RXBUF spread a frame over several chains. With no chain available
 * the device stops reading (the frame stays in the tap or the socket),
 * enables kicks and waits for the rx kick: a guest that never posts
 * buffers costs nothing. A frame already read (into rxbuf or the stream
 * buffer) waits there. queue_stop gives held chains back with vq_unpop,
 * so the base handed to the front end counts only what was pushed.
 *
 * Budgets bound every pass (4 × the queue size, as blk); when one runs
 * out with work left a zero-delay timer continues, so a busy guest or
 * backend cannot starve the rest of the loop and nothing waits for a
 * kick that may never come.
 *
 * Offloads are offered only on a real tap with a vnet header, where the
 * kernel does the work: the acked GUEST_* bits become TUNSETOFFLOAD (in
 * set_features), HOST_* bits let the guest's GSO frames through. A stream
 * backend or a non-tap fd gets none, so every header on it is plain.
 */
#include "dm/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/loop.h"
#include "dm/net_int.h"

#define BIT(n) (1ull << (n))

#define NET_BASE_FEATURES                                                                          \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |                              \
	 BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MRG_RXBUF) |      \
	 BIT(VIRTIO_NET_F_STATUS))

#define NET_TAP_OFFLOADS                                                                           \
	(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |     \
	 BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_GUEST_TSO4) |                              \
	 BIT(VIRTIO_NET_F_GUEST_TSO6))

static void on_backend(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct net_dev *d = data;
	uint32_t mask = loop_fd_events(h);
	(void)fd;

	if ((events & EPOLLOUT) && d->tx_blocked && d->txq) {
		if (net_tx_run(d))
			d->txn.notify(d->txn.ctx, NET_TXQ);
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && d->rxq)
		net_rx_run(d);
	/* Hung up while only writing (reading would have seen the end). */
	if ((events & (EPOLLHUP | EPOLLERR)) && !(mask & EPOLLIN) && !d->dead)
		net_backend_dead(d, "hung up");
	net_update_watch(d);
}

void net_update_watch(struct net_dev *d)
{
	uint32_t mask = 0;

	if (!d->dead) {
		if (d->rxq && !d->rx_starved)
			mask |= EPOLLIN;
		if (d->txq && d->tx_blocked)
			mask |= EPOLLOUT;
	}
	if (mask == 0) {
		if (d->watch)
			loop_del_fd(d->watch);
		d->watch = NULL;
		return;
	}
	int rc = d->watch ? loop_mod_fd(d->watch, mask)
			  : loop_add_fd(d->loop, d->fd, mask, on_backend, d, &d->watch);
	if (rc < 0)
		log_rl(&d->rl, LOG_LVL_ERR, "net: cannot watch the backend: %s", strerror(-rc));
}

void net_backend_dead(struct net_dev *d, const char *why)
{
	if (d->dead)
		return;
	log_warn("net: backend %s; frames to it are dropped from now on", why);
	d->dead = true;
	d->sin_start = d->sin_end = 0;
	d->rx_pending = false;
	d->tx_off = d->tx_len = 0;
	d->tx_blocked = false;
	d->config[6] = 0; /* status: link down */
	shutdown(d->fd, SHUT_RDWR);
	net_update_watch(d);
}

static void on_resched(void *data)
{
	struct net_dev *d = data;

	d->resched = NULL;
	if (d->txq && net_tx_run(d))
		d->txn.notify(d->txn.ctx, NET_TXQ);
	if (d->rxq)
		net_rx_run(d);
	net_update_watch(d);
}

void net_resched(struct net_dev *d)
{
	if (!d->resched)
		d->resched = loop_add_timer(d->loop, 0, on_resched, d);
}

static uint64_t net_get_features(void *dev)
{
	struct net_dev *d = dev;
	return d->offered;
}

/* The kernel's offload switches for what the driver takes on receive. */
static unsigned int tun_offloads(uint64_t f)
{
	unsigned int o = 0;

	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	o |= TUN_F_CSUM;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
		o |= TUN_F_TSO4;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
		o |= TUN_F_TSO6;
	return o;
}

static void net_set_features(void *dev, uint64_t features)
{
	struct net_dev *d = dev;

	d->features = features & d->offered;
	d->ghdr = (d->features & (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF)))
			  ? NET_HDR_LEN
			  : NET_HDR_LEN_LEGACY;
	if (d->is_tap && ioctl(d->fd, TUNSETOFFLOAD, tun_offloads(d->features)) < 0)
		log_warn("net: TUNSETOFFLOAD: %s; offloaded frames will be dropped",
			 strerror(errno));
}

static void net_reset(void *dev)
{
	net_set_features(dev, 0);
}

static int net_get_config(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	struct net_dev *d = dev;
	if (off > NET_CONFIG_SIZE || len > NET_CONFIG_SIZE - off)
		return -EINVAL;
	memcpy(buf, d->config + off, len);
	return 0;
}

static void net_queue_kick(void *dev, struct vq *vq, unsigned int idx)
{
	struct net_dev *d = dev;
	(void)vq;

	if (idx == NET_TXQ && d->txq)
		net_tx_run(d);
	if (idx == NET_RXQ && d->rxq) {
		d->rx_starved = false;
		net_rx_run(d);
	}
	net_update_watch(d);
}

static void net_queue_start(void *dev, struct vq *vq, unsigned int idx,
			    const struct vdev_notifier *n)
{
	struct net_dev *d = dev;

	if (idx == NET_RXQ) {
		d->rxq = vq;
		d->rxn = *n;
		d->rx_starved = false;
		d->rx_full = false;
	} else if (idx == NET_TXQ) {
		d->txq = vq;
		d->txn = *n;
	}
	/* The transport kicks the queue right after: that starts the work. */
}

static void net_queue_stop(void *dev, unsigned int idx)
{
	struct net_dev *d = dev;

	if (idx == NET_RXQ && d->rxq) {
		net_rx_release(d);
		d->rxq = NULL;
	} else if (idx == NET_TXQ) {
		d->txq = NULL;
	}
	if (!d->rxq && !d->txq && d->resched) {
		loop_cancel_timer(d->resched);
		d->resched = NULL;
	}
	net_update_watch(d);
}

const struct vdev_ops net_vdev_ops = {
	.features = NET_BASE_FEATURES,
	.get_features = net_get_features,
	.set_features = net_set_features,
	.num_queues = 2,
	.get_config = net_get_config,
	.config_by_frontend = true,
	.queue_kick = net_queue_kick,
	.queue_start = net_queue_start,
	.queue_stop = net_queue_stop,
	.reset = net_reset,
};

/* Finds out what the tap fd speaks. A real tap with IFF_VNET_HDR gets
 * 12-byte headers and offloads; a tap without it raw frames; anything else
 * (TUNGETIFF fails) is taken as a packet socket with 12-byte headers. */
static void probe_tap(struct net_dev *d)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	d->be_hdr = NET_HDR_LEN;
	if (ioctl(d->fd, TUNGETIFF, &ifr) < 0) {
		log_debug("net: fd %d is no tap (%s): 12-byte headers, no offloads", d->fd,
			  strerror(errno));
		return;
	}
	if (!(ifr.ifr_flags & IFF_VNET_HDR)) {
		log_info("net: tap %.*s has no vnet header: no offloads", IFNAMSIZ, ifr.ifr_name);
		d->be_hdr = 0;
		return;
	}
	int sz = NET_HDR_LEN;
	if (ioctl(d->fd, TUNSETVNETHDRSZ, &sz) < 0 || ioctl(d->fd, TUNSETOFFLOAD, 0) < 0) {
		log_debug("net: tap %.*s: vnet header set-up failed (%s): no offloads", IFNAMSIZ,
			  ifr.ifr_name, strerror(errno));
		return;
	}
	d->is_tap = true;
	d->offered |= NET_TAP_OFFLOADS;
}

uint64_t net_raw_features(uint16_t mtu)
{
	return NET_BASE_FEATURES | (mtu ? BIT(VIRTIO_NET_F_MTU) : 0);
}

uint64_t net_offload_features(uint16_t mtu)
{
	return net_raw_features(mtu) | NET_TAP_OFFLOADS;
}

int net_open(const struct net_params *p, struct loop *loop, struct net_dev **out)
{
	struct stat st;

	if (!p || !loop || p->fd < 0 ||
	    (p->backend != NET_BACKEND_TAP && p->backend != NET_BACKEND_STREAM &&
	     p->backend != NET_BACKEND_PACKET))
		return -EINVAL;
	if (fstat(p->fd, &st) < 0)
		return -errno;
	if (p->backend == NET_BACKEND_STREAM && !S_ISSOCK(st.st_mode))
		return -EINVAL;
	struct net_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->backend = p->backend;
	d->fd = p->fd;
	d->loop = loop;
	d->is_sock = S_ISSOCK(st.st_mode);
	d->offered = net_raw_features(p->mtu);
	d->ghdr = NET_HDR_LEN_LEGACY;
	if (p->backend != NET_BACKEND_STREAM) {
		if (p->backend == NET_BACKEND_TAP) {
			probe_tap(d); /* sets be_hdr */
		} else if (p->packet_vnet) {
			d->be_hdr = NET_HDR_LEN_LEGACY;
			d->offered |= NET_TAP_OFFLOADS;
		} else {
			d->be_hdr = 0; /* raw frames */
		}
		d->rxbuf = malloc(NET_HDR_LEN + NET_MAX_FRAME + 1);
		d->txbuf = malloc(NET_HDR_LEN + NET_MAX_FRAME);
	} else {
		d->sin = malloc(NET_SIN_SIZE);
		d->txbuf = malloc(4 + NET_MAX_FRAME);
	}
	int rc = -ENOMEM;
	int fl = fcntl(d->fd, F_GETFL);
	if (fl < 0 || fcntl(d->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		rc = -errno;
	else if (d->txbuf && (d->rxbuf || d->sin))
		rc = 0;
	if (rc < 0) {
		free(d->rxbuf);
		free(d->sin);
		free(d->txbuf);
		free(d);
		return rc;
	}
	memcpy(d->config, p->mac, 6);
	d->config[6] = VIRTIO_NET_S_LINK_UP; /* status, le16 */
	d->config[8] = 1;		     /* max_virtqueue_pairs */
	d->config[10] = (uint8_t)p->mtu;
	d->config[11] = (uint8_t)(p->mtu >> 8);
	memset(d->config + 12, 0xff, 5); /* speed and duplex unknown */
	*out = d;
	return 0;
}

void net_close(struct net_dev *d)
{
	if (!d)
		return;
	if (d->watch)
		loop_del_fd(d->watch);
	if (d->resched)
		loop_cancel_timer(d->resched);
	close(d->fd);
	free(d->rxbuf);
	free(d->sin);
	free(d->txbuf);
	free(d);
}

void net_get_stats(const struct net_dev *d, struct net_stats *out)
{
	*out = d->stats;
}

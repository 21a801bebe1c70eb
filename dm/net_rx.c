/* net_rx.c — virtio-net receive: backend frames into the guest's buffers.
 *
 * Design
 * ------
 * Receive chains are popped into an ordered "held" set (d->chains, their
 * writable buffers gathered in d->rx_iov) and pushed back from the front
 * as frames fill them; the held set only ever holds the most recently
 * popped chains, so queue_stop can give them all back with vq_unpop.
 *
 * Each pass first makes sure a chain is held and only then reads the
 * backend, so with no buffers in the guest the frame stays in the tap (or
 * the socket) and the device stops watching it (starved, kicks on). Three
 * ways in:
 *
 *   - tap, direct: the driver's header is 12 bytes, the backend speaks a
 *     header (a tap's 12 bytes, a packet socket's 10: the frame then
 *     lands 2 bytes further, past num_buffers), and the held chains can
 *     take the largest frame (with MRG_RXBUF: held until
 *     they can; without: one big chain). readv() lands header and frame
 *     straight in guest memory; the header is then read back, checked
 *     against the acked features and num_buffers set.
 *   - tap, bounce: otherwise the frame is read into rxbuf and copied into
 *     as many chains as it needs (popping more with MRG_RXBUF). If they
 *     cannot be had yet, it stays in rxbuf until the next rx kick.
 *   - stream: bytes are read into d->sin and parsed there: a 4-byte
 *     big-endian length, then the frame. A length of 0 or over
 *     NET_MAX_FRAME is a protocol error: the backend is dropped. A partial
 *     frame simply waits for more bytes; a complete one is copied out like
 *     the bounce case, and waits in d->sin while the guest has no room.
 *
 * A frame that can never fit is dropped and counted: without MRG_RXBUF a
 * held chain smaller than the frame; with it, held chains at the limits
 * (VQ_MAX_IOV buffers or every chain of the ring) and still too small.
 * Frames shorter than an Ethernet header, or whose header claims what the
 * driver did not ack (net_hdr_check_rx), are dropped and counted too.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dm/net_int.h"
#include "virtio/iov.h"

enum rx_res {
	RX_MORE,  /* progress: go on */
	RX_IDLE,  /* the backend has nothing now */
	RX_NOBUF, /* the guest has no room (or the queue broke) */
};

static bool mrg(const struct net_dev *d)
{
	return d->features & (1ull << VIRTIO_NET_F_MRG_RXBUF);
}

/* Pops one more chain into the held set. Returns 1, 0 (none available,
 * or the held set is at its limits: rx_full), or -1 (queue broken). */
static int hold_one(struct net_dev *d)
{
	struct vq *vq = d->rxq;
	struct vq_elem *e = &d->elem;

	if (d->nchains >= VQ_MAX_IOV || d->nchains >= vq->num) {
		d->rx_full = true;
		return 0;
	}
	int r = vq_pop(vq, e);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	if (e->out_num > 0 || e->in_len == 0) {
		vq_mark_broken(vq, "receive chain with readable or no writable buffers");
		return -1;
	}
	if (e->in_num > VQ_MAX_IOV - d->rx_iov_n) {
		vq_unpop(vq, 1);
		d->rx_full = true;
		return 0;
	}
	struct net_rx_chain *c = &d->chains[d->nchains++];
	c->head = e->head;
	c->iov_first = d->rx_iov_n;
	c->iov_n = e->in_num;
	c->cap = e->in_len;
	memcpy(d->rx_iov + d->rx_iov_n, e->iov + e->out_num, e->in_num * sizeof(struct iovec));
	d->rx_iov_n += e->in_num;
	d->rx_cap += e->in_len;
	return 1;
}

/* Holds chains until they can take `want` bytes (MRG_RXBUF) or one chain
 * is held (without). Returns the usable capacity, or -1 (broken). */
static int64_t hold(struct net_dev *d, uint64_t want)
{
	for (;;) {
		if (mrg(d) ? d->rx_cap >= want : d->nchains > 0)
			break;
		int r = hold_one(d);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	if (d->nchains == 0)
		return 0;
	return (int64_t)(mrg(d) ? d->rx_cap : d->chains[0].cap);
}

/* How many held chains `total` bytes occupy. */
static unsigned int chains_for(const struct net_dev *d, uint64_t total)
{
	unsigned int k = 0;
	while (k < d->nchains && total > 0) {
		total -= total < d->chains[k].cap ? total : d->chains[k].cap;
		k++;
	}
	return k;
}

/* Pushes the first k held chains, `total` bytes written across them, and
 * forgets them. */
static void push_front(struct net_dev *d, unsigned int k, uint64_t total)
{
	for (unsigned int i = 0; i < k; i++) {
		uint32_t used = total < d->chains[i].cap ? (uint32_t)total : d->chains[i].cap;
		vq_push(d->rxq, d->chains[i].head, used);
		total -= used;
		d->rx_cap -= d->chains[i].cap;
	}
	unsigned int iovk = k < d->nchains ? d->chains[k].iov_first : d->rx_iov_n;
	memmove(d->chains, d->chains + k, (d->nchains - k) * sizeof(d->chains[0]));
	d->nchains -= k;
	memmove(d->rx_iov, d->rx_iov + iovk, (d->rx_iov_n - iovk) * sizeof(struct iovec));
	d->rx_iov_n -= iovk;
	for (unsigned int i = 0; i < d->nchains; i++)
		d->chains[i].iov_first -= iovk;
	d->rx_full = false;
	d->stats.rx_packets++;
}

void net_rx_release(struct net_dev *d)
{
	if (d->rxq && d->nchains > 0)
		vq_unpop(d->rxq, d->nchains);
	d->nchains = 0;
	d->rx_iov_n = 0;
	d->rx_cap = 0;
	d->rx_full = false;
}

static void rx_drop(struct net_dev *d, const char *why)
{
	d->stats.rx_dropped++;
	log_rl(&d->rl, LOG_LVL_DEBUG, "net: rx: dropped a frame: %s", why);
}

/* Copies one frame (with the backend's header bh) into held chains.
 * Returns RX_MORE (delivered or dropped) or RX_NOBUF (try again later). */
static enum rx_res deliver(struct net_dev *d, const struct net_hdr *bh, const uint8_t *frame,
			   size_t len)
{
	struct net_hdr h = *bh;
	const char *why = net_hdr_check_rx(&h, (uint32_t)len, d->features);

	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
		why = "bad frame length";
	if (why) {
		rx_drop(d, why);
		return RX_MORE;
	}
	uint64_t need = d->ghdr + len;
	int64_t cap = hold(d, need);
	if (cap < 0 || d->nchains == 0)
		return RX_NOBUF;
	if ((uint64_t)cap < need) {
		if (mrg(d) && !d->rx_full)
			return RX_NOBUF;
		rx_drop(d, "larger than the guest's buffers");
		return RX_MORE;
	}
	unsigned int k = mrg(d) ? chains_for(d, need) : 1;
	unsigned int n = mrg(d) ? d->rx_iov_n : d->chains[0].iov_n;
	uint8_t hb[NET_HDR_LEN];
	h.num_buffers = (uint16_t)k;
	net_hdr_encode(&h, hb, d->ghdr);
	iov_from_buf(d->rx_iov, n, 0, hb, d->ghdr);
	iov_from_buf(d->rx_iov, n, d->ghdr, frame, len);
	push_front(d, k, need);
	return RX_MORE;
}

/* The read failed or hit end of file: RX_MORE to retry, else RX_IDLE. */
static enum rx_res read_failed(struct net_dev *d, ssize_t r)
{
	if (r == 0) {
		net_backend_dead(d, "closed the connection");
		return RX_IDLE;
	}
	if (errno == EINTR)
		return RX_MORE;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		net_backend_dead(d, strerror(errno));
	return RX_IDLE;
}

/* readv straight into the held chains (see the essay for when). A backend
 * header shorter than the driver's (a packet socket's 10 bytes, the
 * driver's 12) is read into hb and the frame lands at the driver's header
 * size; the driver's header is written afterwards either way. */
static enum rx_res tap_direct(struct net_dev *d, uint64_t cap)
{
	unsigned int n = mrg(d) ? d->rx_iov_n : d->chains[0].iov_n;
	size_t skip = NET_HDR_LEN - d->be_hdr;
	uint8_t hb[NET_HDR_LEN];
	struct iovec *iov = d->rx_iov;
	unsigned int niov = n;
	if (skip) {
		d->rx_split[0] = (struct iovec){.iov_base = hb, .iov_len = d->be_hdr};
		niov = 1 + iov_slice(d->rx_iov, n, NET_HDR_LEN, cap - NET_HDR_LEN, d->rx_split + 1,
				     VQ_MAX_IOV - 1);
		iov = d->rx_split;
	}
	ssize_t r = readv(d->fd, iov, (int)niov);
	if (r <= 0)
		return read_failed(d, r);
	size_t got = (size_t)r + skip; /* bytes in the driver's layout */
	struct net_hdr h;
	if (got < NET_HDR_LEN + NET_MIN_FRAME || got - NET_HDR_LEN > NET_MAX_FRAME) {
		rx_drop(d, "bad frame length");
		return RX_MORE;
	}
	if (!skip)
		iov_to_buf(d->rx_iov, n, 0, hb, NET_HDR_LEN);
	net_hdr_decode(&h, hb, d->be_hdr);
	const char *why = net_hdr_check_rx(&h, (uint32_t)(got - NET_HDR_LEN), d->features);
	if (why) {
		rx_drop(d, why);
		return RX_MORE;
	}
	unsigned int k = mrg(d) ? chains_for(d, got) : 1;
	h.num_buffers = (uint16_t)k;
	net_hdr_encode(&h, hb, NET_HDR_LEN);
	iov_from_buf(d->rx_iov, n, 0, hb, NET_HDR_LEN);
	push_front(d, k, got);
	return RX_MORE;
}

/* Delivers the frame waiting in rxbuf. */
static enum rx_res tap_pending(struct net_dev *d)
{
	struct net_hdr h;

	memset(&h, 0, sizeof(h));
	if (d->rx_len < d->be_hdr) {
		d->rx_pending = false;
		rx_drop(d, "shorter than its header");
		return RX_MORE;
	}
	if (d->be_hdr)
		net_hdr_decode(&h, d->rxbuf, d->be_hdr);
	enum rx_res r = deliver(d, &h, d->rxbuf + d->be_hdr, d->rx_len - d->be_hdr);
	if (r != RX_NOBUF)
		d->rx_pending = false;
	return r;
}

static enum rx_res tap_once(struct net_dev *d)
{
	if (d->rx_pending)
		return tap_pending(d);
	if (d->dead)
		return RX_IDLE;
	int64_t cap = hold(d, NET_HDR_LEN + NET_MAX_FRAME);
	if (cap <= 0)
		return RX_NOBUF;
	if (d->be_hdr && d->ghdr == NET_HDR_LEN && (uint64_t)cap >= NET_HDR_LEN + NET_MAX_FRAME)
		return tap_direct(d, (uint64_t)cap);
	ssize_t r = read(d->fd, d->rxbuf, NET_HDR_LEN + NET_MAX_FRAME + 1);
	if (r <= 0)
		return read_failed(d, r);
	d->rx_len = (size_t)r;
	d->rx_pending = true;
	return tap_pending(d);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static enum rx_res stream_once(struct net_dev *d)
{
	size_t have = d->sin_end - d->sin_start;

	if (have >= 4) {
		uint32_t len = be32(d->sin + d->sin_start);
		if (len == 0 || len > NET_MAX_FRAME) {
			log_err("net: stream backend sent a frame length of %u", len);
			d->sin_start = d->sin_end = 0;
			net_backend_dead(d, "broke the stream framing");
			return RX_IDLE;
		}
		if (have >= 4 + (size_t)len) {
			struct net_hdr h;
			memset(&h, 0, sizeof(h));
			if (deliver(d, &h, d->sin + d->sin_start + 4, len) == RX_NOBUF)
				return RX_NOBUF;
			d->sin_start += 4 + (size_t)len;
			if (d->sin_start == d->sin_end)
				d->sin_start = d->sin_end = 0;
			return RX_MORE;
		}
	}
	if (d->dead)
		return RX_IDLE;
	if (hold(d, 1) <= 0)
		return RX_NOBUF;
	if (d->sin_start > 0) {
		memmove(d->sin, d->sin + d->sin_start, have);
		d->sin_start = 0;
		d->sin_end = have;
	}
	ssize_t r = read(d->fd, d->sin + d->sin_end, NET_SIN_SIZE - d->sin_end);
	if (r <= 0)
		return read_failed(d, r);
	d->sin_end += (size_t)r;
	return RX_MORE;
}

void net_rx_run(struct net_dev *d)
{
	struct vq *vq = d->rxq;

	if (!vq)
		return;
	uint16_t used0 = vq->used_idx;
	unsigned int budget = 4 * vq->num;
	for (;;) {
		if (budget-- == 0) {
			net_resched(d);
			break;
		}
		enum rx_res r = d->backend == NET_BACKEND_STREAM ? stream_once(d) : tap_once(d);
		if (r == RX_MORE)
			continue;
		if (r == RX_NOBUF) {
			/* Buffers the driver added while we looked count. */
			if (!vq_is_broken(vq) && vq_set_kicks(vq, true))
				continue;
			d->rx_starved = true;
		}
		break;
	}
	net_update_watch(d);
	if (vq->used_idx != used0 || vq_is_broken(vq))
		d->rxn.notify(d->rxn.ctx, NET_RXQ);
}

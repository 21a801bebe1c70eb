/* net_tx.c — virtio-net transmit: the guest's frames to the backend.
 *
 * Design
 * ------
 * Each chain is header plus frame, all driver-readable. The header is
 * gathered with memcpy (drivers split it anywhere), checked against the
 * frame and the acked features (net_hdr_check_tx) and sent as our own
 * normalised copy, so the guest cannot change it between the check and
 * the kernel's read. The frame itself goes out straight from guest memory
 * with one writev/sendmsg (copied into txbuf only if it has more pieces
 * than IOV_MAX allows).
 *
 * Outcomes per chain, each returning the chain except the last:
 *   sent          counted in tx_packets;
 *   refused       an invalid header or length: tx_dropped, one
 *                 rate-limited line;
 *   backend error the tap refused it (tx_errors), or the backend is gone
 *                 (tx_errors, silently after the one line saying so);
 *   EAGAIN        nothing was sent: the chain is given back (vq_unpop) and
 *                 popping stops until EPOLLOUT (tx_blocked);
 *   partial       a stream took part of a frame: the rest is copied into
 *                 txbuf, the chain returned, and popping stops until that
 *                 rest is flushed on EPOLLOUT, so framing stays intact.
 * A chain with device-writable buffers or no readable byte is not a
 * transmit request at all: the queue is marked broken.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dm/net_int.h"
#include "virtio/iov.h"

enum tx_res { TX_DONE, TX_AGAIN, TX_PARTIAL };

/* One writev/sendmsg. Returns bytes written or -errno. */
static ssize_t send_iov(struct net_dev *d, struct iovec *iov, unsigned int n)
{
	for (;;) {
		ssize_t r;
		if (d->is_sock) {
			struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
			r = sendmsg(d->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			r = writev(d->fd, iov, (int)n);
		}
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -errno : r;
	}
}

static bool gone(int err)
{
	return err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == EBADFD;
}

static void tx_refuse(struct net_dev *d, const char *why)
{
	d->stats.tx_dropped++;
	log_rl(&d->rl, LOG_LVL_WARN, "net: tx: dropped a frame: %s", why);
}

/* Keeps bytes [sent, total) of the frame in txbuf for later. */
static void keep_rest(struct net_dev *d, unsigned int n, size_t sent, size_t total)
{
	if (n == 1 && d->tx_iov[0].iov_base == d->txbuf)
		memmove(d->txbuf, d->txbuf + sent, total - sent);
	else
		iov_to_buf(d->tx_iov, n, sent, d->txbuf, total - sent);
	d->tx_off = 0;
	d->tx_len = total - sent;
}

/* Sends the frame of the chain in d->elem. */
static enum tx_res tx_one(struct net_dev *d)
{
	struct vq_elem *e = &d->elem;
	uint8_t pre[NET_HDR_LEN];
	struct net_hdr h;
	size_t pre_len;

	if (e->out_len < d->ghdr) {
		tx_refuse(d, "shorter than its header");
		return TX_DONE;
	}
	iov_to_buf(e->iov, e->out_num, 0, pre, d->ghdr);
	net_hdr_decode(&h, pre, d->ghdr);
	uint32_t len = e->out_len - d->ghdr;
	const char *why = net_hdr_check_tx(&h, len, d->features);
	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
		why = "bad frame length";
	if (why) {
		tx_refuse(d, why);
		return TX_DONE;
	}
	if (d->dead) {
		d->stats.tx_errors++;
		return TX_DONE;
	}
	if (d->backend == NET_BACKEND_STREAM) {
		pre_len = 4;
		pre[0] = (uint8_t)(len >> 24);
		pre[1] = (uint8_t)(len >> 16);
		pre[2] = (uint8_t)(len >> 8);
		pre[3] = (uint8_t)len;
	} else {
		pre_len = d->be_hdr;
		net_hdr_encode(&h, pre, pre_len);
	}
	size_t total = pre_len + len;
	unsigned int n = 0;
	if (pre_len)
		d->tx_iov[n++] = (struct iovec){.iov_base = pre, .iov_len = pre_len};
	unsigned int k = iov_slice(e->iov, e->out_num, d->ghdr, len, d->tx_iov + n, IOV_MAX - n);
	if (iov_size(d->tx_iov + n, k) == len) {
		n += k;
	} else { /* too many pieces for one call: copy */
		memcpy(d->txbuf, pre, pre_len);
		iov_to_buf(e->iov, e->out_num, d->ghdr, d->txbuf + pre_len, len);
		d->tx_iov[0] = (struct iovec){.iov_base = d->txbuf, .iov_len = total};
		n = 1;
	}
	ssize_t r = send_iov(d, d->tx_iov, n);
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return TX_AGAIN;
	if (r < 0) {
		d->stats.tx_errors++;
		if (d->backend == NET_BACKEND_STREAM || gone((int)-r))
			net_backend_dead(d, strerror((int)-r));
		else
			log_rl(&d->rl, LOG_LVL_WARN, "net: tx: the tap refused a frame: %s",
			       strerror((int)-r));
		return TX_DONE;
	}
	d->stats.tx_packets++;
	if (d->backend == NET_BACKEND_STREAM && (size_t)r < total) {
		keep_rest(d, n, (size_t)r, total);
		return TX_PARTIAL;
	}
	return TX_DONE;
}

/* Sends what a stream left over. Returns true when nothing is left. */
static bool tx_flush(struct net_dev *d)
{
	while (d->tx_off < d->tx_len) {
		struct iovec v = {.iov_base = d->txbuf + d->tx_off,
				  .iov_len = d->tx_len - d->tx_off};
		ssize_t r = send_iov(d, &v, 1);
		if (r == -EAGAIN || r == -EWOULDBLOCK)
			return false;
		if (r < 0) {
			net_backend_dead(d, strerror((int)-r));
			return true;
		}
		d->tx_off += (size_t)r;
	}
	d->tx_off = d->tx_len = 0;
	return true;
}

bool net_tx_run(struct net_dev *d)
{
	struct vq *vq = d->txq;
	struct vq_elem *e = &d->elem;

	if (!vq)
		return false;
	uint16_t used0 = vq->used_idx;
	if (d->tx_blocked) {
		if (!tx_flush(d)) {
			net_update_watch(d);
			return false;
		}
		d->tx_blocked = false;
	}
	/* As blk: a guest can keep the ring full forever, so one pass is
	 * bounded; the rest comes with a zero-delay timer. */
	unsigned int budget = 4 * vq->num;
	for (;;) {
		if (budget-- == 0) {
			net_resched(d);
			break;
		}
		if (vq_pop(vq, e) != 1)
			break;
		if (e->in_num > 0) {
			vq_mark_broken(vq, "transmit chain with device-writable buffers");
			break;
		}
		if (e->out_len == 0) {
			vq_mark_broken(vq, "transmit chain without readable bytes");
			break;
		}
		enum tx_res r = tx_one(d);
		if (r == TX_AGAIN) {
			vq_unpop(vq, 1);
			d->tx_blocked = true;
			break;
		}
		vq_push(vq, e->head, 0);
		if (r == TX_PARTIAL) {
			d->tx_blocked = true;
			break;
		}
	}
	net_update_watch(d);
	return vq->used_idx != used0 || vq_is_broken(vq);
}

/* net_int.h — the net device's state, shared by net.c (set-up, queues,
 * the backend watch), net_tx.c and net_rx.c. Not for other users.
 */
#ifndef AIRLOCK_DM_NET_INT_H
#define AIRLOCK_DM_NET_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/log.h"
#include "dm/net.h"
#include "dm/net_hdr.h"
#include "virtio/vdev.h"

#define NET_CONFIG_SIZE 24u
/* Stream input buffer: one whole frame with its length always fits after
 * the unparsed bytes are moved to the front; the rest batches reads. */
#define NET_SIN_SIZE (2u * (4u + NET_MAX_FRAME))

/* A receive chain popped and held until a frame fills it. Its buffers are
 * rx_iov[iov_first, iov_first + iov_n). */
struct net_rx_chain {
	uint16_t head;
	unsigned int iov_first, iov_n;
	uint32_t cap;
};

struct net_dev {
	enum net_backend backend;
	int fd;
	bool is_sock;	     /* writes use sendmsg(MSG_NOSIGNAL) */
	bool is_tap;	     /* a real tap: TUNSETOFFLOAD applies */
	unsigned int be_hdr; /* virtio-net header bytes the backend speaks: 12, 10 or 0 */
	bool dead;	     /* backend gone: tx drops, rx idle */
	struct loop *loop;
	struct loop_fd *watch;	    /* the backend fd, while a direction wants it */
	struct loop_timer *resched; /* more work than one pass allowed */
	uint64_t offered;
	uint64_t features; /* acked */
	unsigned int ghdr; /* header bytes the driver uses: 12 or 10 */
	uint8_t config[NET_CONFIG_SIZE];
	struct net_stats stats;
	struct log_ratelimit rl;
	struct vq_elem elem; /* scratch for one pop */

	/* Receive. */
	struct vq *rxq;
	struct vdev_notifier rxn;
	bool rx_starved; /* waiting for the driver's buffers (kicks on) */
	bool rx_full;	 /* the held chains cannot grow (limits reached) */
	struct net_rx_chain chains[VQ_MAX_IOV];
	unsigned int nchains;
	struct iovec rx_iov[VQ_MAX_IOV];
	unsigned int rx_iov_n;
	struct iovec rx_split[VQ_MAX_IOV + 1]; /* direct reads behind a short header */
	uint64_t rx_cap;
	uint8_t *rxbuf; /* tap: one frame read but not yet delivered */
	size_t rx_len;
	bool rx_pending;
	uint8_t *sin; /* stream: bytes read, not yet parsed */
	size_t sin_start, sin_end;

	/* Transmit. */
	struct vq *txq;
	struct vdev_notifier txn;
	bool tx_blocked; /* the backend is full: wait for EPOLLOUT */
	uint8_t *txbuf;	 /* stream: the unsent rest of a frame; tap: bounce */
	size_t tx_off, tx_len;
	struct iovec tx_iov[VQ_MAX_IOV + 1];
};

/* Receive: moves frames from the backend into the guest while both have
 * some, within a budget. Called on backend input, rx kicks, queue start. */
void net_rx_run(struct net_dev *d);

/* Gives every held receive chain back to the ring (queue stop). */
void net_rx_release(struct net_dev *d);

/* Transmit: flushes a blocked frame, then pops and sends within a budget.
 * Returns true if it pushed anything. */
bool net_tx_run(struct net_dev *d);

/* Sets the backend fd's event mask from the state (EPOLLIN while the rx
 * queue runs and is not starved, EPOLLOUT while tx is blocked), adding or
 * removing the watch as needed. */
void net_update_watch(struct net_dev *d);

/* Marks the backend gone (EOF, reset, protocol error): logs why, stops
 * watching, drops what was buffered from it, link down. */
void net_backend_dead(struct net_dev *d, const char *why);

/* Asks for another pass soon (a zero-delay timer) when a budget ran out. */
void net_resched(struct net_dev *d);

#endif

/* net.h — the virtio-net device (virtio 1.2, section 5.1) on a tap or a
 * stream socket.
 *
 * Transport-free like blk: net_vdev_ops is a struct vdev_ops any transport
 * can serve (airlock-dm serves it over vhost-user). One receive queue (0),
 * one transmit queue (1), no control queue. The device watches its backend
 * fd in the program's loop; see the essay atop net.c.
 */
#ifndef AIRLOCK_DM_NET_H
#define AIRLOCK_DM_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/vdev.h"

struct loop;
struct net_dev;

enum net_backend { NET_BACKEND_TAP, NET_BACKEND_STREAM, NET_BACKEND_PACKET };

struct net_params {
	enum net_backend backend;
	/* TAP: a tap fd opened with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR (an fd
	 * that is no tap at all is taken as a packet socket speaking 12-byte
	 * virtio-net headers, without offloads). STREAM: a connected unix
	 * stream socket speaking QEMU's "-netdev stream" framing (each frame:
	 * 4-byte big-endian length, then the Ethernet frame), as passt does.
	 * PACKET: a datagram fd carrying one Ethernet frame per read and
	 * write (an AF_PACKET SOCK_RAW socket bound to an interface, as in a
	 * stub domain): raw frames without offloads, or, with packet_vnet,
	 * each behind a 10-byte virtio-net header (PACKET_VNET_HDR, see
	 * dm_packet_offload) with the tap's offloads.
	 * Taken over in every case: made non-blocking, closed by net_close. */
	int fd;
	uint8_t mac[6];
	uint16_t mtu;	  /* 0: not advertised */
	bool packet_vnet; /* PACKET: the socket speaks 10-byte headers */
};

/* Counters, for tests and diagnostics. */
struct net_stats {
	uint64_t tx_packets; /* frames handed to the backend */
	uint64_t tx_dropped; /* frames refused: invalid header or length */
	uint64_t tx_errors;  /* frames the backend refused or lost (gone) */
	uint64_t rx_packets; /* frames put into the guest's buffers */
	uint64_t rx_dropped; /* frames that could never fit, or bad headers */
};

/* Largest Ethernet frame (without the virtio-net header) either way: an
 * IP datagram of 65535 bytes plus an Ethernet header with one VLAN tag. */
#define NET_MAX_FRAME (65535u + 18u)

/* Queue indices. */
#define NET_RXQ 0
#define NET_TXQ 1

/* Takes over p->fd and builds the device; `loop` (required) is where it
 * watches the fd once the queues start. Probes a tap for its vnet header
 * and offloads (TUNGETIFF, TUNSETVNETHDRSZ 12); failures there mean "no
 * offloads" and are logged at debug. Returns 0 and the device in *out, or
 * -errno (-EINVAL for a bad backend, fd or loop; -ENOMEM): on failure the
 * fd is left open for the caller. */
int net_open(const struct net_params *p, struct loop *loop, struct net_dev **out);

/* The feature bits a device on a raw-frame backend (NET_BACKEND_PACKET,
 * or a tap without a vnet header) offers: no offloads. Whoever describes
 * such a device before it exists (the relay's description of a stub
 * domain's NIC) uses this. */
uint64_t net_raw_features(uint16_t mtu);

/* The same for a backend with offloads (a tap with a vnet header, a packet
 * socket with packet_vnet): what the relay promises for a stub domain's
 * NIC, whose airlock-dm is started with offload=on. */
uint64_t net_offload_features(uint16_t mtu);

/* Stops watching, closes the fd and frees d. Queues must be stopped
 * (the transport does so before). NULL is ignored. */
void net_close(struct net_dev *d);

/* Copies the counters into *out. */
void net_get_stats(const struct net_dev *d, struct net_stats *out);

/* The device's ops; pass the net_dev as its opaque pointer. */
extern const struct vdev_ops net_vdev_ops;

#endif

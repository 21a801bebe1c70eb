/* net_hdr.h — the virtio-net packet header (virtio 1.2, 5.1.6): feature
 * bits, layout, and the checks applied to headers crossing the device.
 */
#ifndef AIRLOCK_DM_NET_HDR_H
#define AIRLOCK_DM_NET_HDR_H

#include <stddef.h>
#include <stdint.h>

#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16

#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2

#define VIRTIO_NET_HDR_GSO_NONE	 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP	 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN	 0x80

/* Header bytes with VERSION_1 or MRG_RXBUF (num_buffers present), and
 * without (a legacy driver). */
#define NET_HDR_LEN	   12u
#define NET_HDR_LEN_LEGACY 10u

/* Shortest frame accepted from the guest: an Ethernet header. */
#define NET_MIN_FRAME 14u

/* The header in host order (the wire is little-endian, as is the host:
 * vq.c refuses to build otherwise). */
struct net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/* Decodes len (10 or 12) bytes at p; num_buffers is 0 when len is 10. */
void net_hdr_decode(struct net_hdr *h, const uint8_t *p, size_t len);

/* Encodes h into len (10 or 12) bytes at p. */
void net_hdr_encode(const struct net_hdr *h, uint8_t *p, size_t len);

/* Checks a header the guest sent with a frame of frame_len bytes, given
 * the negotiated features: only NEEDS_CSUM in flags and only with CSUM;
 * a known gso_type whose HOST_* feature was acked, never ECN or UDP, with
 * NEEDS_CSUM and a non-zero gso_size; hdr_len and the checksum
 * field (csum_start + csum_offset + 2) inside the frame. Returns NULL if
 * the header is acceptable (and normalises *h: gso fields zeroed when
 * gso_type is NONE, num_buffers zeroed), else a short reason. */
const char *net_hdr_check_tx(struct net_hdr *h, uint32_t frame_len, uint64_t features);

/* Checks a header the backend produced for a frame of frame_len bytes
 * before the guest sees it: checksum flags survive only with GUEST_CSUM
 * (else cleared; an unfinished checksum without it is refused), GSO only
 * of a kind whose GUEST_* feature was acked. Returns NULL (h fixed up,
 * num_buffers left to the caller) or a reason to drop the frame. */
const char *net_hdr_check_rx(struct net_hdr *h, uint32_t frame_len, uint64_t features);

#endif

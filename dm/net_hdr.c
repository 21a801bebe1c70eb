/* net_hdr.c — virtio-net header coding and checks (see net_hdr.h).
 *
 * Headers travel both ways through the device and each side is checked
 * against what was negotiated. From the guest (transmit), everything is
 * hostile: a header that claims an offload the driver did not ack, or
 * offsets outside its own frame, would otherwise be handed to the host
 * kernel's tap code as if we vouched for it. From the backend (receive),
 * a tap only produces what TUNSETOFFLOAD allowed, but the stand-in packet
 * socket or a stale offload setting could still hand us a GSO frame the
 * driver cannot take; such frames are dropped rather than passed on.
 */
#include "dm/net_hdr.h"

#include <string.h>

#include "dm/net.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void net_hdr_decode(struct net_hdr *h, const uint8_t *p, size_t len)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = get16(p + 2);
	h->gso_size = get16(p + 4);
	h->csum_start = get16(p + 6);
	h->csum_offset = get16(p + 8);
	h->num_buffers = len >= NET_HDR_LEN ? get16(p + 10) : 0;
}

void net_hdr_encode(const struct net_hdr *h, uint8_t *p, size_t len)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	put16(p + 2, h->hdr_len);
	put16(p + 4, h->gso_size);
	put16(p + 6, h->csum_start);
	put16(p + 8, h->csum_offset);
	if (len >= NET_HDR_LEN)
		put16(p + 10, h->num_buffers);
}

static int has(uint64_t features, unsigned int bit)
{
	return (features >> bit) & 1;
}

/* Which feature lets gso_type through in the given direction, or -1. */
static int gso_feature(uint8_t gso_type, int tx)
{
	switch (gso_type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return tx ? VIRTIO_NET_F_HOST_TSO4 : VIRTIO_NET_F_GUEST_TSO4;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return tx ? VIRTIO_NET_F_HOST_TSO6 : VIRTIO_NET_F_GUEST_TSO6;
	default:
		return -1; /* UDP (UFO), ECN and unknown kinds: never offered */
	}
}

/* The checksum field [csum_start + csum_offset, +2) lies in the frame. */
static int csum_inside(const struct net_hdr *h, uint32_t frame_len)
{
	return (uint32_t)h->csum_start + h->csum_offset + 2u <= frame_len;
}

const char *net_hdr_check_tx(struct net_hdr *h, uint32_t frame_len, uint64_t features)
{
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "unknown flags";
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !has(features, VIRTIO_NET_F_CSUM))
		return "checksum offload not negotiated";
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !csum_inside(h, frame_len))
		return "checksum offset outside the frame";
	h->num_buffers = 0;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		h->hdr_len = 0;
		h->gso_size = 0;
		return NULL;
	}
	int f = gso_feature(h->gso_type, 1);
	if (f < 0)
		return "unknown gso type";
	if (!has(features, (unsigned int)f))
		return "segmentation offload not negotiated";
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "gso without a partial checksum";
	if (h->gso_size == 0)
		return "bad gso size";
	if (h->hdr_len > frame_len)
		return "header length past the frame";
	return NULL;
}

const char *net_hdr_check_rx(struct net_hdr *h, uint32_t frame_len, uint64_t features)
{
	int csum = has(features, VIRTIO_NET_F_GUEST_CSUM);

	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!csum)
			return "partial checksum the driver cannot finish";
		if (!csum_inside(h, frame_len))
			return "checksum offset outside the frame";
	}
	h->flags &= csum ? VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID : 0;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		h->hdr_len = 0;
		h->gso_size = 0;
		return NULL;
	}
	int f = gso_feature(h->gso_type, 0);
	if (f < 0 || !has(features, (unsigned int)f))
		return "gso kind the driver did not ack";
	if (h->gso_size == 0 || h->hdr_len > frame_len)
		return "bad gso fields";
	return NULL;
}

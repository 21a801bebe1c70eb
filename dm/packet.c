/* packet.c — see packet.h. */
#include "dm/packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

/* Socket buffers with offloads (each way): about eight 64 KiB frames. */
#define DM_PACKET_BUF (512 * 1024)

int dm_packet_open(const char *ifname)
{
	struct ifreq ifr;
	int rc;

	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		goto fail;
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			goto fail;
	}
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		goto fail;
	/* Frames the host sends are no traffic of the guest's (best effort:
	 * the stub domain sends none of its own). */
	int one = 1;
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

/* An ethtool "get" of one on/off value on ifname. Returns 1, 0 or -errno. */
static int eth_get(int fd, const char *ifname, uint32_t cmd)
{
	struct ethtool_value v = {.cmd = cmd};
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, ifname);
	ifr.ifr_data = (void *)&v;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return -errno;
	return v.data ? 1 : 0;
}

int dm_packet_offload(int fd, const char *ifname)
{
	int tso, csum, one = 1;

	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	tso = eth_get(fd, ifname, ETHTOOL_GTSO);
	csum = eth_get(fd, ifname, ETHTOOL_GTXCSUM);
	if (tso != 1 || csum != 1) {
		log_err("packet: %s does not do TSO (%s) and checksum offload (%s) itself: no "
			"offloads for the guest",
			ifname,
			tso == 1   ? "on"
			: tso == 0 ? "off"
				   : strerror(-tso),
			csum == 1   ? "on"
			: csum == 0 ? "off"
				    : strerror(-csum));
		return -EOPNOTSUPP;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		int rc = -errno;
		log_err("packet: PACKET_VNET_HDR on %s: %s", ifname, strerror(errno));
		return rc;
	}
	/* The default buffers (~208 KiB) hold three 64 KiB frames: a burst of
	 * the host's GSO frames overflows the receive side (the sender sees
	 * losses and backs off) and the send side stalls on each frame's
	 * round trip. Larger, within the stub's means; best effort (FORCE
	 * passes rmem_max/wmem_max for root, the plain option is capped). */
	int buf = DM_PACKET_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return 0;
}

/* packet.h — a network interface of airlock-dm's own as a raw-frame net
 * backend: an AF_PACKET socket (the stub domain's eth0, whose other end is
 * a tap on the guest's bridge in dom0). */
#ifndef AIRLOCK_DM_PACKET_H
#define AIRLOCK_DM_PACKET_H

/* Brings interface `ifname` up, opens an AF_PACKET SOCK_RAW socket for
 * every protocol bound to it, in promiscuous mode (the guest's MAC is not
 * the interface's), not seeing frames the host itself sends. Returns the
 * socket (blocking, close-on-exec) or -errno. */
int dm_packet_open(const char *ifname);

/* Turns on PACKET_VNET_HDR on packet socket fd bound to `ifname`: every
 * frame then carries a 10-byte virtio-net header both ways, so a guest's
 * TSO segments and partial checksums pass through whole and the interface
 * (the stub's own virtio NIC) does the work. Refuses (-EOPNOTSUPP, with a
 * reason logged) an interface that does not do TSO and checksum offload
 * itself: the stub kernel has no TCP/IP of its own to segment with.
 * Returns 0 or -errno. */
int dm_packet_offload(int fd, const char *ifname);

#endif

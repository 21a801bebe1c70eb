/* devspec.h — airlock-dm's `--device` option: one device and where it is
 * served, as a comma-separated list of key=value pairs after the kind.
 *
 *   blk,fd=N|socket=PATH|channel=K,file=IMAGE|pci=BDF[,read-only=on]
 *   net,fd=N|socket=PATH|channel=K,tap-fd=N|stream-fd=N|packet=IFNAME
 *       [,mac=XX:XX:XX:XX:XX:XX][,mtu=N][,offload=on]
 *
 * fd= is a listening UNIX socket the program inherited (the supervisor keeps
 * its own copy, so the path never disappears across a restart); socket= is a
 * path airlock-dm binds itself; channel=K (1..15) is the stub protocol's
 * device channel, in a stub domain (airlock-dm --stubdom): the program
 * checks it against the device's position (docs/stubdom-design.md: channel
 * k is the k-th --device). packet=IFNAME is a network interface of the
 * program's own (the stub domain's eth0), used through an AF_PACKET socket
 * as a raw-frame backend; with offload=on (packet= only) frames pass with
 * virtio-net headers and the guest gets TSO and checksum offload, or the
 * device refuses to start if the interface cannot do them. pci=BDF (with channel= only) is a virtio
 * disk of the stub domain's own, driven by airlock-dm through VFIO so that its DMA moves data
 * straight to and from guest RAM (dm/vpci.c). Values cannot contain ','. The parser only checks
 * syntax and ranges; opening files and fds is the program's job.
 */
#ifndef AIRLOCK_DM_DEVSPEC_H
#define AIRLOCK_DM_DEVSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dm_kind { DM_KIND_BLK, DM_KIND_NET };

/* An interface name's size with its NUL (IFNAMSIZ). */
#define DM_IFNAMSIZ 16

struct dm_devspec {
	enum dm_kind kind;
	int listen_fd;	      /* fd=, or -1 */
	char *socket_path;    /* socket=, or NULL */
	unsigned int channel; /* channel=, or 0 */
	/* blk */
	char *file;
	char *pci; /* pci=, or NULL */
	bool read_only;
	/* net */
	int tap_fd;	 /* tap-fd=, or -1 */
	int stream_fd;	 /* stream-fd=, or -1 */
	char *packet_if; /* packet=, or NULL */
	uint8_t mac[6];
	bool mac_set;
	uint16_t mtu; /* 0: not set */
	bool offload; /* offload=on: packet= with the guest's offloads */
};

/* Parses one --device value into *out (strings malloc'd). Returns 0, or
 * -EINVAL with a message naming the problem in err (errsz bytes); *out is
 * then empty (nothing to free). */
int dm_devspec_parse(const char *s, struct dm_devspec *out, char *err, size_t errsz);

/* Frees the strings of a parsed spec (the fds are not closed). */
void dm_devspec_free(struct dm_devspec *d);

#endif

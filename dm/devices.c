/* devices.c — see devices.h. */
#include "dm/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "dm/blk.h"
#include "dm/net.h"
#include "dm/endpoint.h"
#include "dm/packet.h"

struct dm_device {
	enum dm_kind kind;
	void *dev;
	const struct vdev_ops *ops;
	int listen_fd;
	char *bound_path; /* a socket path we bound, unlinked at close */
	struct dm_endpoint *ep;
};

static void close_dev(struct dm_device *d)
{
	if (d->kind == DM_KIND_BLK)
		blk_close(d->dev);
	else
		net_close(d->dev);
	d->dev = NULL;
}

int dm_device_open(const struct dm_devspec *spec, struct loop *loop, unsigned int index,
		   struct dm_device **out)
{
	struct dm_device *d = calloc(1, sizeof(*d));
	const struct vdev_ops *ops = NULL;
	char name[32];
	int rc;

	if (!d)
		return -ENOMEM;
	d->kind = spec->kind;
	d->listen_fd = -1;
	if (spec->kind == DM_KIND_BLK) {
		snprintf(name, sizeof(name), "blk%u", index);
		if (spec->pci)
			rc = blk_open_vpci(spec->pci, spec->read_only, loop,
					   (struct blk_dev **)&d->dev);
		else
			rc = blk_open(spec->file, spec->read_only, loop,
				      (struct blk_dev **)&d->dev);
		if (rc < 0) {
			log_err("%s: %s: %s", name, spec->pci ? spec->pci : spec->file,
				strerror(-rc));
			goto fail;
		}
		if (spec->channel && !spec->pci)
			blk_set_bounce_all(d->dev);
		ops = &blk_vdev_ops;
	} else {
		struct net_params np = {
			.backend = spec->tap_fd >= 0 ? NET_BACKEND_TAP : NET_BACKEND_STREAM,
			.fd = spec->tap_fd >= 0 ? spec->tap_fd : spec->stream_fd,
			.mtu = spec->mtu,
		};
		const char *what = spec->tap_fd >= 0 ? "tap" : "stream";
		snprintf(name, sizeof(name), "net%u", index);
		if (spec->packet_if) {
			np.backend = NET_BACKEND_PACKET;
			np.fd = dm_packet_open(spec->packet_if);
			what = spec->packet_if;
			if (np.fd < 0) {
				rc = np.fd;
				log_err("%s: packet socket on %s: %s", name, what, strerror(-rc));
				goto fail;
			}
			if (spec->offload && (rc = dm_packet_offload(np.fd, what)) < 0) {
				close(np.fd);
				goto fail;
			}
			np.packet_vnet = spec->offload;
		}
		if (spec->mac_set) {
			memcpy(np.mac, spec->mac, 6);
		} else {
			/* A random locally administered unicast address. */
			random_bytes(np.mac, 6);
			np.mac[0] = (uint8_t)((np.mac[0] & 0xfe) | 0x02);
		}
		rc = net_open(&np, loop, (struct net_dev **)&d->dev);
		if (rc < 0) {
			log_err("%s: %s fd %d: %s", name, what, np.fd, strerror(-rc));
			if (spec->packet_if)
				close(np.fd);
			goto fail;
		}
		ops = &net_vdev_ops;
		log_info("%s: %02x:%02x:%02x:%02x:%02x:%02x on %s fd %d", name, np.mac[0],
			 np.mac[1], np.mac[2], np.mac[3], np.mac[4], np.mac[5], what, np.fd);
	}
	d->ops = ops;
	if (spec->channel) {
		if (spec->kind == DM_KIND_BLK)
			log_info("%s: serving %s%s on stub channel %u", name,
				 spec->pci ? spec->pci : spec->file,
				 spec->read_only ? " (read-only)" : "", spec->channel);
		*out = d;
		return 0;
	}
	if (spec->socket_path) {
		d->listen_fd = dm_listen_unix(spec->socket_path);
		if (d->listen_fd < 0) {
			rc = d->listen_fd;
			log_err("%s: %s: %s", name, spec->socket_path, strerror(-rc));
			goto fail;
		}
		d->bound_path = strdup(spec->socket_path);
	} else {
		d->listen_fd = spec->listen_fd;
	}
	rc = dm_endpoint_new(loop, d->listen_fd, name, ops, d->dev, &d->ep);
	if (rc < 0) {
		log_err("%s: cannot watch its socket: %s", name, strerror(-rc));
		goto fail;
	}
	if (spec->kind == DM_KIND_BLK)
		log_info("%s: serving %s%s on %s", name, spec->file,
			 spec->read_only ? " (read-only)" : "",
			 spec->socket_path ? spec->socket_path : "an inherited socket");
	*out = d;
	return 0;
fail:
	dm_device_close(d);
	return rc;
}

void dm_device_vdev(const struct dm_device *d, const struct vdev_ops **ops, void **dev)
{
	*ops = d->ops;
	*dev = d->dev;
}

void dm_device_close(struct dm_device *d)
{
	if (!d)
		return;
	dm_endpoint_free(d->ep);
	close_dev(d);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	if (d->bound_path)
		unlink(d->bound_path);
	free(d->bound_path);
	free(d);
}

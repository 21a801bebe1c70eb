/* blk_vpci.c — the asynchronous path's back end in a stub domain: each
 * step of a request becomes one request on the stub's own virtio disk
 * (vpci.c), whose data segments are the guest's buffers themselves.
 *
 * The guest's request has been parsed and checked by blk_req.c like any
 * other (type, bounds, read-only, the chain's shape); what reaches the
 * stub's disk is built here from that record, never copied from the
 * guest: a header in the slot's scratch (type, sector), the data iovecs
 * turned into bus addresses inside the guest-RAM BAR (dma_window.c;
 * adjacent ones merged), and a status byte in the scratch. So the stub
 * QEMU moves the data straight between the host's disk and guest RAM, and
 * nothing the guest writes after the check can change what the disk is
 * asked to do. The step's result is the whole length on VIRTIO_BLK_S_OK,
 * -EIO otherwise (a virtio disk has no short transfers).
 *
 * More requests than the queue's slots wait in arrival order and start as
 * slots come back. A step this back end cannot carry (fallocate: the stub
 * offers neither DISCARD nor WRITE_ZEROES; a buffer outside the BAR; more
 * segments than an indirect table holds) fails (IOERR) from reap, never
 * from inside submit: the engine does not expect a completion while it
 * submits. Such failures ring the completion eventfd themselves so the
 * loop comes back for them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/blk_int.h"
#include "dm/dma_window.h"
#include "dm/vpci.h"

struct vblk {
	struct blk_req *slot_req[VPCI_QUEUE_SLOTS];
	uint32_t slot_done[VPCI_QUEUE_SLOTS];  /* the step's result if the disk says OK */
	struct blk_req *wait_head, *wait_tail; /* no slot yet */
	struct blk_req *fail_head;	       /* to complete with -EIO */
	struct vpci_seg segs[VPCI_MAX_SEGS];
};

struct vhdr {
	uint32_t type, ioprio;
	uint64_t sector;
};

static void ring_self(struct blk_dev *d)
{
	uint64_t one = 1;
	(void)!write(vpci_irq_fd(d->vpci), &one, sizeof(one));
}

static void fail_later(struct blk_dev *d, struct blk_req *r)
{
	struct vblk *vb = d->be_priv;
	r->next = vb->fail_head;
	vb->fail_head = r;
	ring_self(d);
}

/* Builds the chain of r's step in vb->segs. Returns the count or -errno. */
static int build(struct blk_dev *d, const struct blk_step *s, uint64_t hdr, uint32_t *len)
{
	struct vblk *vb = d->be_priv;
	unsigned int n = 0;
	bool dev_writes = s->kind == BLK_STEP_READ;

	*len = 0;
	vb->segs[n++] = (struct vpci_seg){.addr = hdr, .len = sizeof(struct vhdr)};
	for (unsigned int i = 0; i < s->iovcnt; i++) {
		uint64_t bus;
		if (dm_dma_window_bus(s->iov[i].iov_base, s->iov[i].iov_len, &bus) < 0)
			return -EFAULT;
		struct vpci_seg *prev = &vb->segs[n - 1];
		if (n > 1 && prev->addr + prev->len == bus &&
		    (uint64_t)prev->len + s->iov[i].iov_len <= UINT32_MAX) {
			prev->len += (uint32_t)s->iov[i].iov_len;
		} else {
			if (n >= VPCI_MAX_SEGS - 1)
				return -E2BIG;
			vb->segs[n++] = (struct vpci_seg){.addr = bus,
							  .len = (uint32_t)s->iov[i].iov_len,
							  .device_writes = dev_writes};
		}
		*len += (uint32_t)s->iov[i].iov_len;
	}
	vb->segs[n++] = (struct vpci_seg){
		.addr = hdr + sizeof(struct vhdr), .len = 1, .device_writes = true};
	return (int)n;
}

/* Puts r's step on the disk's ring if a slot is free; false if not. */
static bool try_submit(struct blk_dev *d, struct blk_req *r)
{
	struct vblk *vb = d->be_priv;
	struct blk_step s;
	uint64_t hdr_bus;
	uint32_t len;

	blk_io_step(d, r, &s);
	if (s.kind == BLK_STEP_FALLOC) {
		fail_later(d, r);
		return true;
	}
	int slot = vpci_slot_get(d->vpci);
	if (slot < 0)
		return false;
	struct vhdr *h = vpci_scratch(d->vpci, (unsigned int)slot, &hdr_bus);
	*h = (struct vhdr){
		.type = s.kind == BLK_STEP_READ	   ? VIRTIO_BLK_T_IN
			: s.kind == BLK_STEP_WRITE ? VIRTIO_BLK_T_OUT
						   : VIRTIO_BLK_T_FLUSH,
		.sector = s.off / BLK_SECTOR,
	};
	((uint8_t *)h)[sizeof(*h)] = 0xff; /* the status byte, until the disk writes it */
	int n = build(d, &s, hdr_bus, &len);
	if (n < 0 || vpci_submit(d->vpci, (unsigned int)slot, vb->segs, (unsigned int)n) < 0) {
		log_rl(&d->rl, LOG_LVL_WARN, "blk: cannot pass a request to the stub's disk: %s",
		       strerror(n < 0 ? -n : EINVAL));
		vpci_slot_put(d->vpci, (unsigned int)slot);
		fail_later(d, r);
		return true;
	}
	vb->slot_req[slot] = r;
	vb->slot_done[slot] = s.kind == BLK_STEP_FSYNC ? 0 : len;
	return true;
}

static void vb_submit(struct blk_dev *d, struct blk_req *r)
{
	struct vblk *vb = d->be_priv;

	if (!vb->wait_head && try_submit(d, r))
		return;
	r->next = NULL;
	if (vb->wait_tail)
		vb->wait_tail->next = r;
	else
		vb->wait_head = r;
	vb->wait_tail = r;
}

static void vb_flush(struct blk_dev *d)
{
	vpci_kick(d->vpci);
}

static void vb_reap(struct blk_dev *d)
{
	struct vblk *vb = d->be_priv;
	unsigned int slot;
	uint32_t used;

	while (vb->fail_head) {
		struct blk_req *r = vb->fail_head;
		vb->fail_head = r->next;
		blk_async_done(d, r, -EIO);
	}
	while (vpci_reap(d->vpci, &slot, &used) == 1) {
		uint64_t bus;
		uint8_t *scratch = vpci_scratch(d->vpci, slot, &bus);
		uint8_t status = scratch[sizeof(struct vhdr)];
		struct blk_req *r = vb->slot_req[slot];
		int64_t res = status == VIRTIO_BLK_S_OK ? (int64_t)vb->slot_done[slot] : -EIO;
		vb->slot_req[slot] = NULL;
		vpci_slot_put(d->vpci, slot);
		if (r)
			blk_async_done(d, r, res);
	}
	while (vb->wait_head) {
		struct blk_req *r = vb->wait_head;
		vb->wait_head = r->next;
		if (!vb->wait_head)
			vb->wait_tail = NULL;
		if (!try_submit(d, r)) {
			r->next = vb->wait_head;
			vb->wait_head = r;
			if (!vb->wait_tail)
				vb->wait_tail = r;
			break;
		}
	}
}

static int vb_wait(struct blk_dev *d)
{
	struct pollfd p = {.fd = vpci_irq_fd(d->vpci), .events = POLLIN};

	vpci_kick(d->vpci);
	if (poll(&p, 1, 1000) < 0 && errno != EINTR)
		return -errno;
	uint64_t v;
	(void)!read(p.fd, &v, sizeof(v));
	return 0;
}

static int vb_fd(struct blk_dev *d)
{
	return vpci_irq_fd(d->vpci);
}

static void vb_fini(struct blk_dev *d)
{
	free(d->be_priv);
	d->be_priv = NULL;
}

static const struct blk_backend vpci_backend = {
	.name = "the stub's virtio disk",
	.completion_fd = vb_fd,
	.submit = vb_submit,
	.flush = vb_flush,
	.reap = vb_reap,
	.wait = vb_wait,
	.fini = vb_fini,
};

int blk_vpci_init(struct blk_dev *d)
{
	struct vblk *vb = calloc(1, sizeof(*vb));

	if (!vb)
		return -ENOMEM;
	d->be = &vpci_backend;
	d->be_priv = vb;
	return 0;
}

/* vpci.c — a user-space virtio-pci driver for the stub domain's own disks.
 *
 * Why
 * ---
 * Inside a stub domain, guest RAM is the ivshmem BAR. A BAR mapped through
 * VFIO has no struct pages, so the stub kernel cannot pin it for O_DIRECT:
 * airlock-dm had to copy every byte of disk I/O between the BAR and a
 * bounce buffer, under the stub's TCG, and the kernel's block layer and
 * virtio_blk driver ran under TCG too. Xen's stub domains do not copy: the
 * stub's blkfront grants the guest's own pages to dom0's blkback. The
 * equivalent here is to let the stub's virtio disk DMA straight into the
 * BAR: the stub QEMU's virtio-blk maps bus addresses through its address
 * space, where the BAR is the guest-RAM memfd, and with cache.direct=on the
 * host kernel moves the data between the disk and guest RAM with no copy
 * at all. airlock-dm still parses and checks every request (blk_req.c);
 * only the data's path changes.
 *
 * So airlock-dm drives the stub's virtio disk itself: the device is bound
 * to vfio-pci (vfio_pci.c) and this file is its driver.
 *
 * The device
 * ----------
 * Virtio 1.x over PCI (virtio 1.2, 4.1): vendor capabilities (id 9) in
 * config space locate the common configuration, the notification area and
 * the device configuration inside BARs, which are mapped through VFIO; the
 * stub TCG turns each access into QEMU's MMIO handler. Opening follows the
 * spec's initialisation: reset (status 0, read back until 0: QEMU's reset
 * drains the device's in-flight requests first), ACKNOWLEDGE, DRIVER,
 * features (VERSION_1 and INDIRECT_DESC required, the caller's others if
 * offered), FEATURES_OK read back, queue 0 set up, DRIVER_OK.
 *
 * The queue
 * ---------
 * One split virtqueue of n = min(device maximum, VPCI_QUEUE_SLOTS)
 * entries. Every request is ONE ring descriptor pointing at an indirect
 * table: descriptor i always points at slot i's table, so a slot number is
 * a ring head and a used entry's id names its slot. The tables, the rings
 * and the slots' scratch live in DMA memory (dma_mem.c) laid out page by
 * page, since only each page's physical address is known:
 *   page 0: descriptor table (n * 16 <= 4096)
 *   page 1: available ring     page 2: used ring
 *   page 3: scratch, VPCI_SCRATCH bytes per slot
 *   page 4 + i: slot i's indirect table (VPCI_MAX_SEGS descriptors)
 * The driver keeps a free stack of slots; a slot is busy from get to put.
 * Completions raise MSI-X vector 0 (VFIO turns it into an eventfd);
 * notifications are suppressed only when the device says so
 * (VRING_USED_F_NO_NOTIFY). Nothing here trusts the device more than it
 * must: a used id out of range or naming a free slot is logged and skipped.
 */
#include "dm/vpci.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "dm/dma_mem.h"
#include "dm/vfio_pci.h"

#define PCI_CAP_ID_VNDR 0x09
#define CAP_COMMON	1
#define CAP_NOTIFY	2
#define CAP_DEVICE	4

/* struct virtio_pci_common_cfg */
#define CC_DFSELECT   0
#define CC_DF	      4
#define CC_GFSELECT   8
#define CC_GF	      12
#define CC_MSIX	      16
#define CC_NUMQ	      18
#define CC_STATUS     20
#define CC_Q_SELECT   22
#define CC_Q_SIZE     24
#define CC_Q_MSIX     26
#define CC_Q_ENABLE   28
#define CC_Q_NOFF     30
#define CC_Q_DESC     32
#define CC_Q_AVAIL    40
#define CC_Q_USED     48
#define CC_COMMON_LEN 56

#define ST_ACK	       1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define ST_FAILED      128

#define NO_VECTOR 0xffff

#define F_INDIRECT  28
#define F_VERSION_1 32

#define DESC_F_NEXT	 1
#define DESC_F_WRITE	 2
#define DESC_F_INDIRECT	 4
#define USED_F_NO_NOTIFY 1

#define PAGE	   DMA_MEM_PAGE
#define PG_DESC	   0
#define PG_AVAIL   1
#define PG_USED	   2
#define PG_SCRATCH 3
#define PG_TABLES  4
#define DMA_PAGES  (PG_TABLES + VPCI_QUEUE_SLOTS)

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct used_elem {
	uint32_t id, len;
};

struct area {
	unsigned int bar;
	uint32_t off, len;
};

struct vpci {
	struct vfio_pci pci;
	struct dma_mem dma;
	void *bar[6];
	size_t bar_len[6];
	struct area common, notify, device;
	uint32_t notify_mult;
	volatile uint8_t *cc;	     /* common configuration */
	volatile uint16_t *doorbell; /* queue 0's notification address */
	uint64_t features;
	unsigned int n; /* queue entries */
	struct desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[n] */
	volatile uint16_t *used_hdr;
	volatile struct used_elem *used;
	uint16_t avail_idx, last_used, since_kick;
	unsigned int nfree, busy;
	uint16_t free_slots[VPCI_QUEUE_SLOTS];
	bool in_flight[VPCI_QUEUE_SLOTS];
	struct log_ratelimit rl;
};

static uint8_t cc_r8(struct vpci *v, unsigned int o)
{
	return *(volatile uint8_t *)(v->cc + o);
}
static uint16_t cc_r16(struct vpci *v, unsigned int o)
{
	return *(volatile uint16_t *)(v->cc + o);
}
static uint32_t cc_r32(struct vpci *v, unsigned int o)
{
	return *(volatile uint32_t *)(v->cc + o);
}
static void cc_w8(struct vpci *v, unsigned int o, uint8_t x)
{
	*(volatile uint8_t *)(v->cc + o) = x;
}
static void cc_w16(struct vpci *v, unsigned int o, uint16_t x)
{
	*(volatile uint16_t *)(v->cc + o) = x;
}
static void cc_w32(struct vpci *v, unsigned int o, uint32_t x)
{
	*(volatile uint32_t *)(v->cc + o) = x;
}
static void cc_w64(struct vpci *v, unsigned int o, uint64_t x)
{
	cc_w32(v, o, (uint32_t)x);
	cc_w32(v, o + 4, (uint32_t)(x >> 32));
}

/* Finds the vendor capabilities and maps the BARs they lie in. */
static int find_areas(struct vpci *v)
{
	bool have[5] = {false};

	for (unsigned int pos = vfio_pci_find_cap(&v->pci, PCI_CAP_ID_VNDR, 0); pos;
	     pos = vfio_pci_find_cap(&v->pci, PCI_CAP_ID_VNDR, pos)) {
		uint8_t c[20];
		if (vfio_pci_cfg_read(&v->pci, pos, c, sizeof(c)) < 0)
			return -EIO;
		unsigned int type = c[3], bar = c[4];
		struct area a;
		memcpy(&a.off, c + 8, 4);
		memcpy(&a.len, c + 12, 4);
		a.bar = bar;
		if (type != CAP_COMMON && type != CAP_NOTIFY && type != CAP_DEVICE)
			continue;
		if (bar > 5 || have[type])
			continue;
		if (!v->bar[bar]) {
			v->bar[bar] = vfio_pci_map_bar(&v->pci, bar, &v->bar_len[bar]);
			if (!v->bar[bar])
				return -ENODEV;
		}
		if (a.off > v->bar_len[bar] || a.len > v->bar_len[bar] - a.off)
			return -ENODEV;
		have[type] = true;
		if (type == CAP_COMMON)
			v->common = a;
		else if (type == CAP_DEVICE)
			v->device = a;
		else {
			v->notify = a;
			memcpy(&v->notify_mult, c + 16, 4);
		}
	}
	if (!have[CAP_COMMON] || !have[CAP_NOTIFY] || v->common.len < CC_COMMON_LEN) {
		log_err("vpci: %s: no modern virtio interface (common/notify capabilities)",
			v->pci.bdf);
		return -ENODEV;
	}
	v->cc = (uint8_t *)v->bar[v->common.bar] + v->common.off;
	return 0;
}

static int reset(struct vpci *v)
{
	cc_w8(v, CC_STATUS, 0);
	for (unsigned int i = 0; i < 10000; i++) {
		if (cc_r8(v, CC_STATUS) == 0)
			return 0;
		nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
	}
	log_err("vpci: %s: the device does not finish its reset", v->pci.bdf);
	return -ETIMEDOUT;
}

static int negotiate(struct vpci *v, uint64_t want)
{
	uint64_t offered;

	cc_w8(v, CC_STATUS, ST_ACK);
	cc_w8(v, CC_STATUS, ST_ACK | ST_DRIVER);
	cc_w32(v, CC_DFSELECT, 0);
	offered = cc_r32(v, CC_DF);
	cc_w32(v, CC_DFSELECT, 1);
	offered |= (uint64_t)cc_r32(v, CC_DF) << 32;
	want |= (1ull << F_VERSION_1) | (1ull << F_INDIRECT);
	v->features = offered & want;
	if (!(v->features & (1ull << F_VERSION_1)) || !(v->features & (1ull << F_INDIRECT))) {
		log_err("vpci: %s: offers features 0x%llx, without VERSION_1 or INDIRECT_DESC",
			v->pci.bdf, (unsigned long long)offered);
		return -ENOTSUP;
	}
	cc_w32(v, CC_GFSELECT, 0);
	cc_w32(v, CC_GF, (uint32_t)v->features);
	cc_w32(v, CC_GFSELECT, 1);
	cc_w32(v, CC_GF, (uint32_t)(v->features >> 32));
	cc_w8(v, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(cc_r8(v, CC_STATUS) & ST_FEATURES_OK)) {
		log_err("vpci: %s: refused features 0x%llx", v->pci.bdf,
			(unsigned long long)v->features);
		return -ENOTSUP;
	}
	return 0;
}

static int phys(struct vpci *v, unsigned int page, uint64_t *pa)
{
	return dma_mem_phys(&v->dma, v->dma.base + (size_t)page * PAGE, PAGE, pa);
}

static int setup_queue(struct vpci *v)
{
	uint64_t pd, pa, pu;

	cc_w16(v, CC_MSIX, NO_VECTOR);
	cc_w16(v, CC_Q_SELECT, 0);
	unsigned int max = cc_r16(v, CC_Q_SIZE);
	if (max == 0) {
		log_err("vpci: %s: queue 0 does not exist", v->pci.bdf);
		return -ENODEV;
	}
	v->n = VPCI_QUEUE_SLOTS;
	while (v->n > max)
		v->n /= 2;
	memset(v->dma.base, 0, (size_t)PG_TABLES * PAGE);
	v->desc = (struct desc *)(v->dma.base + PG_DESC * PAGE);
	v->avail = (uint16_t *)(v->dma.base + PG_AVAIL * PAGE);
	v->used_hdr = (uint16_t *)(v->dma.base + PG_USED * PAGE);
	v->used = (struct used_elem *)(v->dma.base + PG_USED * PAGE + 4);
	if (phys(v, PG_DESC, &pd) || phys(v, PG_AVAIL, &pa) || phys(v, PG_USED, &pu))
		return -EFAULT;
	for (unsigned int i = 0; i < v->n; i++) {
		uint64_t t;
		if (phys(v, PG_TABLES + i, &t))
			return -EFAULT;
		v->desc[i] = (struct desc){.addr = t, .flags = DESC_F_INDIRECT};
	}
	cc_w16(v, CC_Q_SIZE, (uint16_t)v->n);
	cc_w16(v, CC_Q_MSIX, 0);
	if (cc_r16(v, CC_Q_MSIX) != 0) {
		log_err("vpci: %s: cannot route queue 0 to MSI-X vector 0", v->pci.bdf);
		return -ENODEV;
	}
	cc_w64(v, CC_Q_DESC, pd);
	cc_w64(v, CC_Q_AVAIL, pa);
	cc_w64(v, CC_Q_USED, pu);
	uint32_t noff = (uint32_t)cc_r16(v, CC_Q_NOFF) * v->notify_mult;
	if (noff > v->notify.len || v->notify.len - noff < 2) {
		log_err("vpci: %s: queue 0's notification address lies outside its area",
			v->pci.bdf);
		return -ENODEV;
	}
	v->doorbell =
		(volatile uint16_t *)((uint8_t *)v->bar[v->notify.bar] + v->notify.off + noff);
	cc_w16(v, CC_Q_ENABLE, 1);
	v->nfree = 0;
	for (unsigned int i = v->n; i-- > 0;)
		v->free_slots[v->nfree++] = (uint16_t)i;
	return 0;
}

int vpci_open(const char *bdf, uint16_t device_id, uint64_t want, const char *dma_path,
	      struct vpci **out)
{
	uint16_t id;
	int rc;
	struct vpci *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->pci.container = v->pci.group = v->pci.dev = -1;
	if ((rc = vfio_pci_open(bdf, &v->pci)) < 0)
		goto fail;
	if (vfio_pci_cfg_read(&v->pci, 2, &id, 2) < 0 || id != device_id) {
		log_err("vpci: %s: PCI device id 0x%04x, want 0x%04x", bdf, id, device_id);
		rc = -ENODEV;
		goto fail;
	}
	if ((rc = find_areas(v)) < 0 || (rc = vfio_pci_arm_msix(&v->pci, 1)) < 0 ||
	    (rc = reset(v)) < 0 || (rc = dma_mem_open(dma_path, DMA_PAGES * PAGE, &v->dma)) < 0 ||
	    (rc = negotiate(v, want)) < 0 || (rc = setup_queue(v)) < 0)
		goto fail;
	cc_w8(v, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	log_info("vpci: %s: features 0x%llx, %u-entry queue, DMA memory in %s", bdf,
		 (unsigned long long)v->features, v->n, dma_path);
	*out = v;
	return 0;
fail:
	if (v->cc)
		cc_w8(v, CC_STATUS, ST_FAILED);
	vpci_close(v);
	return rc;
}

void vpci_close(struct vpci *v)
{
	if (!v)
		return;
	if (v->cc)
		(void)reset(v);
	for (unsigned int i = 0; i < 6; i++)
		if (v->bar[i])
			munmap(v->bar[i], v->bar_len[i]);
	dma_mem_close(&v->dma);
	vfio_pci_close(&v->pci);
	free(v);
}

uint64_t vpci_features(const struct vpci *v)
{
	return v->features;
}

int vpci_config(const struct vpci *v, uint32_t off, void *buf, uint32_t len)
{
	if (!v->device.len || off > v->device.len || len > v->device.len - off)
		return -EINVAL;
	const volatile uint8_t *p = (uint8_t *)v->bar[v->device.bar] + v->device.off + off;
	uint8_t *b = buf;
	for (uint32_t i = 0; i < len; i++)
		b[i] = p[i];
	return 0;
}

int vpci_irq_fd(const struct vpci *v)
{
	return v->pci.efd[0];
}

int vpci_slot_get(struct vpci *v)
{
	if (v->nfree == 0)
		return -1;
	unsigned int s = v->free_slots[--v->nfree];
	v->in_flight[s] = true;
	v->busy++;
	return (int)s;
}

void vpci_slot_put(struct vpci *v, unsigned int s)
{
	if (s >= v->n || !v->in_flight[s])
		return;
	v->in_flight[s] = false;
	v->busy--;
	v->free_slots[v->nfree++] = (uint16_t)s;
}

unsigned int vpci_busy(const struct vpci *v)
{
	return v->busy;
}

void *vpci_scratch(struct vpci *v, unsigned int s, uint64_t *bus)
{
	uint8_t *p = v->dma.base + PG_SCRATCH * PAGE + (size_t)s * VPCI_SCRATCH;
	if (dma_mem_phys(&v->dma, p, VPCI_SCRATCH, bus) < 0)
		return NULL;
	return p;
}

int vpci_submit(struct vpci *v, unsigned int s, const struct vpci_seg *segs, unsigned int n)
{
	if (s >= v->n || !v->in_flight[s] || n == 0 || n > VPCI_MAX_SEGS)
		return -EINVAL;
	struct desc *t = (struct desc *)(v->dma.base + (size_t)(PG_TABLES + s) * PAGE);
	for (unsigned int i = 0; i < n; i++) {
		t[i] = (struct desc){
			.addr = segs[i].addr,
			.len = segs[i].len,
			.flags = (uint16_t)((segs[i].device_writes ? DESC_F_WRITE : 0) |
					    (i + 1 < n ? DESC_F_NEXT : 0)),
			.next = (uint16_t)(i + 1 < n ? i + 1 : 0),
		};
	}
	v->desc[s].len = n * (uint32_t)sizeof(struct desc);
	v->avail[2 + v->avail_idx % v->n] = (uint16_t)s;
	v->avail_idx++;
	/* The table and the ring entry before the index that publishes them. */
	__atomic_store_n(&v->avail[1], v->avail_idx, __ATOMIC_RELEASE);
	v->since_kick++;
	return 0;
}

void vpci_kick(struct vpci *v)
{
	if (!v->since_kick)
		return;
	v->since_kick = 0;
	/* The index must be visible before the device reads the flags'
	 * verdict and before it is woken (virtio 1.2, 2.7.13.4). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->used_hdr[0], __ATOMIC_ACQUIRE) & USED_F_NO_NOTIFY)
		return;
	*v->doorbell = 0;
}

int vpci_reap(struct vpci *v, unsigned int *slot, uint32_t *len)
{
	for (;;) {
		uint16_t idx = __atomic_load_n(&v->used_hdr[1], __ATOMIC_ACQUIRE);
		if (idx == v->last_used)
			return 0;
		struct used_elem e = {v->used[v->last_used % v->n].id,
				      v->used[v->last_used % v->n].len};
		v->last_used++;
		if (e.id >= v->n || !v->in_flight[e.id]) {
			log_rl(&v->rl, LOG_LVL_WARN, "vpci: %s: used id %u names no request",
			       v->pci.bdf, e.id);
			continue;
		}
		*slot = e.id;
		*len = e.len;
		return 1;
	}
}

/* vringprobe.c — a userspace virtio-blk driver that feeds a device hostile
 * virtqueues, from inside a guest, for airlock's device-model tests.
 *
 *   vringprobe BDF SCENARIO...
 *
 * BDF is a virtio-blk PCI function (modern interface: the virtio-pci vendor
 * capabilities), e.g. 0000:00:04.0. vringprobe binds it to vfio-pci
 * (driver_override, unbinding the kernel's driver), opens its VFIO group and
 * device, and drives the device itself: every register through the VFIO
 * regions (config space and BARs, with pread/pwrite of the register's exact
 * width), rings and buffers in its own locked memory. No interrupts are set
 * up: it polls the used ring.
 *
 * DMA addresses. The device sees guest-physical addresses (QEMU's virtio
 * devices do not translate through a vIOMMU unless iommu_platform=on, and a
 * vhost-user back end reads guest RAM by its physical address). So each
 * buffer's address is its page's physical address, from /proc/self/pagemap
 * (needs root); every buffer lies within one 4 KiB page. With an IOMMU
 * (VFIO type1) the same pages are also mapped with IOVA == physical address,
 * which pins them (their physical addresses cannot change while mapped) and
 * keeps the addresses right for a translating device too. Without an IOMMU
 * group, VFIO's no-IOMMU mode is used when the kernel has it
 * (CONFIG_VFIO_NOIOMMU; Debian's 6.1 kernel does not), and the pages are
 * only mlock'ed.
 *
 * Each scenario starts from a device reset and a full initialisation
 * (ACKNOWLEDGE, DRIVER, features VERSION_1 and INDIRECT_DESC if offered,
 * FEATURES_OK, queue 0 of QSIZE entries, DRIVER_OK), posts its chain on
 * queue 0 and kicks:
 *   good             a read of sector 0 (header, 512-byte buffer, status)
 *   loop             header, then writable 1 -> 2 -> 1 -> 2 ... (only the
 *                    writable ones loop, so no other rule is broken first)
 *   long             a chain through all QSIZE descriptors whose last one
 *                    links back to the second (QSIZE + 1 steps)
 *   loop-indirect    the loop of `loop` inside a 4-entry indirect table
 *   long-indirect    an indirect table of QSIZE + 2 descriptors, one chain
 *                    through all of them: no loop, but longer than the queue
 *                    (virtio 2.7.5.3.1: a driver must not build it; nothing
 *                    requires a device to refuse it)
 *   oob              the data buffer at 1 TiB, outside guest RAM
 *   overflow         the data buffer at 2^64 - 256, 512 bytes: addr + len wraps
 *   badidx           avail idx QSIZE + 1 ahead of the device
 *   badhead          a head index >= QSIZE in the avail ring
 *   nested-indirect  an indirect descriptor inside an indirect table
 *   nostatus         header and buffer both device-readable: no writable byte
 * A hostile scenario then waits WAIT_MS and counts what the device
 * completed (it must complete nothing), then posts a valid read on the same
 * queue, kicks, and counts again (a device that marks the queue broken
 * completes nothing more until it is reset). One line per scenario:
 *   vringprobe: scenario=NAME used=N followup=N devstatus=0xSS result=R
 * with id=, len=, blkstatus=, hash= (FNV-1a 64 of the 512 bytes read) for
 * `good`. R is ok (good: completed, status 0, length 513), refused (hostile:
 * nothing completed, follow-up included), completed (hostile: the device
 * used a buffer), fail (good did not complete correctly) or unsupported
 * (INDIRECT_DESC not negotiated). devstatus is the device status register
 * after the wait (DEVICE_NEEDS_RESET is 0x40). vringprobe reports, the
 * caller judges: the exit status is 0 when every scenario ran (whatever its
 * result), 2 for a set-up error.
 *
 * Built statically by images/build.sh into the guest images; the guest needs
 * vfio-pci and vfio_iommu_type1 loaded (modprobe) and, for type1, an IOMMU
 * (QEMU: -machine q35 -device intel-iommu; the kernel: intel_iommu=on;
 * without interrupt remapping type1 also wants allow_unsafe_interrupts=1,
 * harmless here: no interrupts are used).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define PAGE	    4096u
#define NPAGES	    8u
#define QSIZE	    16u
#define WAIT_MS	    2000u
#define FOLLOWUP_MS 1000u
#define GOOD_MS	    10000u

/* virtio constants (virtio 1.2). */
#define ST_ACKNOWLEDGE	   1u
#define ST_DRIVER	   2u
#define ST_DRIVER_OK	   4u
#define ST_FEATURES_OK	   8u
#define ST_NEEDS_RESET	   0x40u
#define F_INDIRECT_DESC	   (1ull << 28)
#define F_VERSION_1	   (1ull << 32)
#define D_NEXT		   1u
#define D_WRITE		   2u
#define D_INDIRECT	   4u
#define AVAIL_NO_INTERRUPT 1u
#define BLK_T_IN	   0u
#define NO_VECTOR	   0xffffu

/* struct virtio_pci_common_cfg offsets. */
#define CC_DFSELECT    0
#define CC_DF	       4
#define CC_GFSELECT    8
#define CC_GF	       12
#define CC_MSIX	       16
#define CC_STATUS      20
#define CC_Q_SELECT    22
#define CC_Q_SIZE      24
#define CC_Q_MSIX      26
#define CC_Q_ENABLE    28
#define CC_Q_NOTIFYOFF 30
#define CC_Q_DESC      32
#define CC_Q_DRIVER    40
#define CC_Q_DEVICE    48

/* Pages of the DMA area. */
enum { P_DESC, P_AVAIL, P_USED, P_IND, P_IND2, P_HDR, P_DATA, P_DATA2 };
/* Offsets in P_HDR: header and status of the scenario's request and of the
 * follow-up read. */
#define HDR_OFF	   0u
#define STATUS_OFF 64u
#define FHDR_OFF   128u
#define FSTAT_OFF  192u

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct dev {
	const char *bdf;
	int container, group, fd;
	bool noiommu;
	uint64_t cfg_off;		      /* config space region's offset in fd */
	uint64_t bar_off[6];		      /* BAR regions' offsets in fd */
	uint64_t common, notify, isr, devcfg; /* fd offsets of the capabilities */
	uint32_t notify_mult;
	uint64_t offered, features;
	uint64_t kick; /* fd offset of queue 0's notification register */
	uint16_t qsize;
};

struct mem {
	uint8_t *base;
	uint64_t phys[NPAGES];
};

static struct dev D = {.container = -1, .group = -1, .fd = -1};
static struct mem M;

/* Prints a set-up error and exits 2. */
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vringprobe: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};

	nanosleep(&ts, NULL);
}

/* --- sysfs ------------------------------------------------------------------ */

/* Writes s to the sysfs file path; returns 0 or -errno. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		rc = -errno;
	close(fd);
	return rc;
}

/* Copies src into buf of n > 0 bytes, truncating. */
static void copy_str(char *buf, size_t n, const char *src)
{
	size_t k = strnlen(src, n - 1);

	memcpy(buf, src, k);
	buf[k] = 0;
}

/* The last component of the symlink at path, in buf ("" if none). */
static const char *link_name(const char *path, char *buf, size_t n)
{
	char t[512];
	ssize_t k = readlink(path, t, sizeof(t) - 1);

	buf[0] = 0;
	if (k <= 0)
		return buf;
	t[k] = 0;
	const char *b = strrchr(t, '/');
	copy_str(buf, n, b ? b + 1 : t);
	return buf;
}

/* Binds D.bdf to vfio-pci: driver_override, unbind the current driver,
 * drivers_probe. Needs vfio-pci loaded. */
static void bind_vfio(void)
{
	char p[256], drv[128], old[128], grp[64];
	int rc;

	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", D.bdf);
	if (access(p, F_OK) != 0 &&
	    write_file("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "1") < 0)
		die("%s has no IOMMU group and this kernel has no VFIO no-IOMMU mode", D.bdf);
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", D.bdf);
	link_name(p, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci") == 0)
		return;
	copy_str(old, sizeof(old), drv[0] ? drv : "none");
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", D.bdf);
	if ((rc = write_file(p, "vfio-pci")) < 0)
		die("%s: %s", p, strerror(-rc));
	if (drv[0]) {
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver/unbind", D.bdf);
		if ((rc = write_file(p, D.bdf)) < 0)
			die("%s: %s", p, strerror(-rc));
	}
	if ((rc = write_file("/sys/bus/pci/drivers_probe", D.bdf)) < 0)
		die("drivers_probe %s: %s (is vfio-pci loaded?)", D.bdf, strerror(-rc));
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", D.bdf);
	if (strcmp(link_name(p, drv, sizeof(drv)), "vfio-pci") != 0)
		die("%s: bound to '%s', not vfio-pci", D.bdf, drv);
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", D.bdf);
	printf("vringprobe: %s bound to vfio-pci (was %s), iommu group %s\n", D.bdf, old,
	       link_name(p, grp, sizeof(grp)));
}

/* --- VFIO ---------------------------------------------------------------------- */

static uint64_t region_offset(unsigned int index, uint64_t *size)
{
	struct vfio_region_info ri = {.argsz = sizeof(ri), .index = index};

	if (ioctl(D.fd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		die("VFIO_DEVICE_GET_REGION_INFO %u: %s", index, strerror(errno));
	if (size)
		*size = ri.size;
	return ri.offset;
}

/* Opens container, group and device; sets the IOMMU type. */
static void open_vfio(void)
{
	char p[256], grp[64];
	struct vfio_group_status gs = {.argsz = sizeof(gs)};
	struct vfio_device_info di = {.argsz = sizeof(di)};
	int type;

	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", D.bdf);
	if (!link_name(p, grp, sizeof(grp))[0])
		die("%s: no iommu_group", D.bdf);
	D.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (D.container < 0)
		die("/dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(D.container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		die("unknown VFIO API version");
	snprintf(p, sizeof(p), "/dev/vfio/noiommu-%s", grp);
	D.group = open(p, O_RDWR | O_CLOEXEC);
	D.noiommu = D.group >= 0;
	if (D.group < 0) {
		snprintf(p, sizeof(p), "/dev/vfio/%s", grp);
		D.group = open(p, O_RDWR | O_CLOEXEC);
	}
	if (D.group < 0)
		die("%s: %s", p, strerror(errno));
	if (ioctl(D.group, VFIO_GROUP_GET_STATUS, &gs) < 0 || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group %s is not viable (another device of it is bound to a host driver?)",
		    grp);
	if (ioctl(D.group, VFIO_GROUP_SET_CONTAINER, &D.container) < 0)
		die("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	if (D.noiommu)
		type = VFIO_NOIOMMU_IOMMU;
	else if (ioctl(D.container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1)
		type = VFIO_TYPE1v2_IOMMU;
	else
		type = VFIO_TYPE1_IOMMU;
	if (ioctl(D.container, VFIO_SET_IOMMU, type) < 0)
		die("VFIO_SET_IOMMU %d: %s (vfio_iommu_type1 loaded?)", type, strerror(errno));
	D.fd = ioctl(D.group, VFIO_GROUP_GET_DEVICE_FD, D.bdf);
	if (D.fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD %s: %s", D.bdf, strerror(errno));
	if (ioctl(D.fd, VFIO_DEVICE_GET_INFO, &di) < 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI))
		die("%s is not a VFIO PCI device", D.bdf);
	D.cfg_off = region_offset(VFIO_PCI_CONFIG_REGION_INDEX, NULL);
	for (unsigned int i = 0; i < 6; i++)
		D.bar_off[i] = region_offset(VFIO_PCI_BAR0_REGION_INDEX + i, NULL);
	printf("vringprobe: vfio group %s, iommu %s\n", grp,
	       D.noiommu ? "noiommu" : (type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1"));
}

/* Register access through the device fd: exactly `n` bytes at `off`. */
static uint32_t rd(uint64_t off, unsigned int n)
{
	uint32_t v = 0;

	if (pread(D.fd, &v, n, (off_t)off) != (ssize_t)n)
		die("read of %u bytes at 0x%" PRIx64 ": %s", n, off, strerror(errno));
	return v;
}

static void wr(uint64_t off, unsigned int n, uint32_t v)
{
	if (pwrite(D.fd, &v, n, (off_t)off) != (ssize_t)n)
		die("write of %u bytes at 0x%" PRIx64 ": %s", n, off, strerror(errno));
}

/* 64-bit fields as two 32-bit writes, low half first (virtio 4.1.3.1). */
static void wr64(uint64_t off, uint64_t v)
{
	wr(off, 4, (uint32_t)v);
	wr(off + 4, 4, (uint32_t)(v >> 32));
}

/* Finds the virtio-pci capabilities in config space and enables memory
 * decoding and bus mastering (INTx stays disabled: we poll). */
static void find_caps(void)
{
	uint32_t vendor = rd(D.cfg_off + 0, 2), device = rd(D.cfg_off + 2, 2);
	bool have[5] = {false};
	char where[5][32] = {""};

	if (vendor != 0x1af4 || device != 0x1042)
		die("%s is %04x:%04x, not a modern virtio-blk (1af4:1042; disable-legacy=on)",
		    D.bdf, vendor, device);
	if (!(rd(D.cfg_off + 6, 2) & 0x10))
		die("%s has no capability list", D.bdf);
	unsigned int ptr = rd(D.cfg_off + 0x34, 1) & 0xfc;
	for (int guard = 0; ptr && guard < 48; guard++) {
		unsigned int id = rd(D.cfg_off + ptr, 1), next = rd(D.cfg_off + ptr + 1, 1);
		if (id == 0x09) { /* vendor specific: struct virtio_pci_cap */
			unsigned int type = rd(D.cfg_off + ptr + 3, 1),
				     bar = rd(D.cfg_off + ptr + 4, 1);
			uint32_t off = rd(D.cfg_off + ptr + 8, 4);
			if (type >= 1 && type <= 4 && !have[type] && bar < 6) {
				uint64_t at = D.bar_off[bar] + off;
				have[type] = true;
				snprintf(where[type], sizeof(where[type]), "bar%u+0x%x", bar, off);
				if (type == 1)
					D.common = at;
				else if (type == 2) {
					D.notify = at;
					D.notify_mult = rd(D.cfg_off + ptr + 16, 4);
				} else if (type == 3)
					D.isr = at;
				else
					D.devcfg = at;
			}
		}
		ptr = next & 0xfc;
	}
	for (int t = 1; t <= 4; t++)
		if (!have[t])
			die("%s: virtio-pci capability %d missing", D.bdf, t);
	/* PCI_COMMAND: memory space, bus master, INTx disable. */
	wr(D.cfg_off + 4, 2, (rd(D.cfg_off + 4, 2) | 0x2 | 0x4 | 0x400) & 0xffff);
	printf("vringprobe: %04x:%04x common=%s notify=%s(x%u) isr=%s device=%s\n", vendor, device,
	       where[1], where[2], D.notify_mult, where[3], where[4]);
}

/* --- DMA memory -------------------------------------------------------------------- */

/* Physical address of the page at va, from /proc/self/pagemap. */
static uint64_t virt_to_phys(int pm, const void *va)
{
	uint64_t e;
	off_t at = (off_t)((uintptr_t)va / PAGE * 8u);

	if (pread(pm, &e, 8, at) != 8)
		die("/proc/self/pagemap: %s", strerror(errno));
	if (!(e & (1ull << 63)) || (e & ((1ull << 55) - 1)) == 0)
		die("pagemap gives no frame for %p (not root?)", va);
	return (e & ((1ull << 55) - 1)) * PAGE;
}

/* NPAGES locked pages, their physical addresses, and (type1) an identity
 * IOMMU mapping of each, which also pins it. */
static void setup_mem(void)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (pm < 0)
		die("/proc/self/pagemap: %s", strerror(errno));
	M.base = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (M.base == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	madvise(M.base, NPAGES * PAGE, MADV_NOHUGEPAGE);
	memset(M.base, 0x5a, NPAGES * PAGE);
	if (mlock(M.base, NPAGES * PAGE) < 0)
		die("mlock: %s", strerror(errno));
	for (unsigned int i = 0; i < NPAGES; i++)
		M.phys[i] = virt_to_phys(pm, M.base + i * PAGE);
	for (unsigned int i = 0; i < NPAGES && !D.noiommu; i++) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)(M.base + i * PAGE),
			.iova = M.phys[i],
			.size = PAGE,
		};
		if (ioctl(D.container, VFIO_IOMMU_MAP_DMA, &map) < 0)
			die("VFIO_IOMMU_MAP_DMA iova 0x%" PRIx64 ": %s", M.phys[i],
			    strerror(errno));
	}
	for (unsigned int i = 0; i < NPAGES; i++)
		if (virt_to_phys(pm, M.base + i * PAGE) != M.phys[i])
			die("page %u moved while being pinned", i);
	close(pm);
}

static void *page(unsigned int p, unsigned int off)
{
	return M.base + p * PAGE + off;
}

/* Guest-physical address of offset off in DMA page p. */
static uint64_t gpa(unsigned int p, unsigned int off)
{
	return M.phys[p] + off;
}

/* --- the device -------------------------------------------------------------------- */

static uint8_t dev_status(void)
{
	return (uint8_t)rd(D.common + CC_STATUS, 1);
}

static void set_status(uint8_t s)
{
	wr(D.common + CC_STATUS, 1, s);
}

/* Reset, then the initialisation of virtio 3.1.1 with queue 0 on fresh rings. */
static void dev_init(void)
{
	uint64_t t0 = now_ms();

	set_status(0);
	while (dev_status() != 0)
		if (now_ms() - t0 > 5000)
			die("device does not come out of reset");
	memset(M.base, 0, NPAGES * PAGE);
	set_status(ST_ACKNOWLEDGE);
	set_status(ST_ACKNOWLEDGE | ST_DRIVER);
	wr(D.common + CC_DFSELECT, 4, 0);
	D.offered = rd(D.common + CC_DF, 4);
	wr(D.common + CC_DFSELECT, 4, 1);
	D.offered |= (uint64_t)rd(D.common + CC_DF, 4) << 32;
	if (!(D.offered & F_VERSION_1))
		die("device does not offer VERSION_1");
	D.features = D.offered & (F_VERSION_1 | F_INDIRECT_DESC);
	wr(D.common + CC_GFSELECT, 4, 0);
	wr(D.common + CC_GF, 4, (uint32_t)D.features);
	wr(D.common + CC_GFSELECT, 4, 1);
	wr(D.common + CC_GF, 4, (uint32_t)(D.features >> 32));
	set_status(ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK);
	if (!(dev_status() & ST_FEATURES_OK))
		die("device refused features 0x%" PRIx64, D.features);
	wr(D.common + CC_MSIX, 2, NO_VECTOR);
	wr(D.common + CC_Q_SELECT, 2, 0);
	unsigned int max = rd(D.common + CC_Q_SIZE, 2);
	if (max < QSIZE)
		die("queue 0 holds %u entries, fewer than %u", max, QSIZE);
	D.qsize = QSIZE;
	wr(D.common + CC_Q_SIZE, 2, QSIZE);
	wr(D.common + CC_Q_MSIX, 2, NO_VECTOR);
	wr64(D.common + CC_Q_DESC, gpa(P_DESC, 0));
	wr64(D.common + CC_Q_DRIVER, gpa(P_AVAIL, 0));
	wr64(D.common + CC_Q_DEVICE, gpa(P_USED, 0));
	D.kick = D.notify + (uint64_t)rd(D.common + CC_Q_NOTIFYOFF, 2) * D.notify_mult;
	/* We poll: no interrupts wanted. */
	*(volatile uint16_t *)page(P_AVAIL, 0) = AVAIL_NO_INTERRUPT;
	wr(D.common + CC_Q_ENABLE, 2, 1);
	set_status(ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

static void kick(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr(D.kick, 2, 0);
}

static void set_desc(unsigned int table_page, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vdesc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(page(table_page, i * 16u), &d, sizeof(d));
}

static uint16_t avail_idx(void)
{
	return *(volatile uint16_t *)page(P_AVAIL, 2);
}

/* Puts head in the next avail slot; release-publishes avail idx + n. */
static void publish(uint16_t head, uint16_t n)
{
	uint16_t idx = avail_idx();

	*(volatile uint16_t *)page(P_AVAIL, 4u + 2u * (idx % D.qsize)) = head;
	__atomic_store_n((uint16_t *)page(P_AVAIL, 2), (uint16_t)(idx + n), __ATOMIC_RELEASE);
}

static uint16_t used_idx(void)
{
	return __atomic_load_n((uint16_t *)page(P_USED, 2), __ATOMIC_ACQUIRE);
}

/* Waits up to ms for used idx to reach want; returns the used idx. */
static uint16_t wait_used(uint16_t want, unsigned int ms)
{
	uint64_t t0 = now_ms();

	while (used_idx() != want && now_ms() - t0 < ms)
		sleep_ms(5);
	return used_idx();
}

/* A blk IN header for sector 0 at offset off of P_HDR. */
static void put_hdr(unsigned int off)
{
	uint32_t hdr[4] = {BLK_T_IN, 0, 0, 0};

	memcpy(page(P_HDR, off), hdr, sizeof(hdr));
}

/* --- scenarios ---------------------------------------------------------------------- */

/* Each builds its chain(s) in a freshly initialised queue and publishes. */
/* A valid read of sector 0 at head 0, not yet published. */
static void good_chain(void)
{
	put_hdr(HDR_OFF);
	*(uint8_t *)page(P_HDR, STATUS_OFF) = 0xff;
	memset(page(P_DATA, 0), 0xa5, 512);
	set_desc(P_DESC, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	set_desc(P_DESC, 1, gpa(P_DATA, 0), 512, D_WRITE | D_NEXT, 2);
	set_desc(P_DESC, 2, gpa(P_HDR, STATUS_OFF), 1, D_WRITE, 0);
}

static void sc_good(void)
{
	good_chain();
	publish(0, 1);
}

static void sc_loop(void)
{
	put_hdr(HDR_OFF);
	set_desc(P_DESC, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	set_desc(P_DESC, 1, gpa(P_DATA, 0), 512, D_WRITE | D_NEXT, 2);
	set_desc(P_DESC, 2, gpa(P_HDR, STATUS_OFF), 1, D_WRITE | D_NEXT, 1);
	publish(0, 1);
}

static void sc_loop_indirect(void)
{
	put_hdr(HDR_OFF);
	set_desc(P_IND, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	set_desc(P_IND, 1, gpa(P_DATA, 0), 256, D_WRITE | D_NEXT, 2);
	set_desc(P_IND, 2, gpa(P_DATA, 256), 256, D_WRITE | D_NEXT, 3);
	set_desc(P_IND, 3, gpa(P_HDR, STATUS_OFF), 1, D_WRITE | D_NEXT, 1);
	set_desc(P_DESC, 0, gpa(P_IND, 0), 4 * 16, D_INDIRECT, 0);
	publish(0, 1);
}

static void sc_long(void)
{
	put_hdr(HDR_OFF);
	set_desc(P_DESC, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	for (unsigned int i = 1; i < D.qsize; i++)
		set_desc(P_DESC, i, gpa(P_DATA, 0), 16, D_WRITE | D_NEXT,
			 (uint16_t)(i + 1 < D.qsize ? i + 1 : 1));
	publish(0, 1);
}

static void sc_long_indirect(void)
{
	unsigned int n = D.qsize + 2u, i;

	put_hdr(HDR_OFF);
	set_desc(P_IND, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	for (i = 1; i < n - 1; i++)
		set_desc(P_IND, i, gpa(P_DATA, (i - 1) * 32u), 32, D_WRITE | D_NEXT,
			 (uint16_t)(i + 1));
	set_desc(P_IND, i, gpa(P_HDR, STATUS_OFF), 1, D_WRITE, 0);
	set_desc(P_DESC, 0, gpa(P_IND, 0), n * 16u, D_INDIRECT, 0);
	publish(0, 1);
}

static void sc_oob(void)
{
	put_hdr(HDR_OFF);
	set_desc(P_DESC, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	set_desc(P_DESC, 1, 1ull << 40, 512, D_WRITE | D_NEXT, 2);
	set_desc(P_DESC, 2, gpa(P_HDR, STATUS_OFF), 1, D_WRITE, 0);
	publish(0, 1);
}

static void sc_overflow(void)
{
	put_hdr(HDR_OFF);
	set_desc(P_DESC, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	set_desc(P_DESC, 1, UINT64_MAX - 255, 512, D_WRITE | D_NEXT, 2);
	set_desc(P_DESC, 2, gpa(P_HDR, STATUS_OFF), 1, D_WRITE, 0);
	publish(0, 1);
}

/* Each hostile value is in place before the index that publishes it: a
 * device that looks at the ring early (a restarted queue does) must never
 * see the valid request underneath. */
static void sc_badidx(void)
{
	good_chain(); /* valid descriptors, but an index QSIZE + 1 ahead */
	publish(0, (uint16_t)(D.qsize + 1u));
}

static void sc_badhead(void)
{
	good_chain();
	publish((uint16_t)(D.qsize + 3u), 1);
}

static void sc_nested_indirect(void)
{
	put_hdr(HDR_OFF);
	set_desc(P_IND2, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	set_desc(P_IND2, 1, gpa(P_DATA, 0), 512, D_WRITE | D_NEXT, 2);
	set_desc(P_IND2, 2, gpa(P_HDR, STATUS_OFF), 1, D_WRITE, 0);
	set_desc(P_IND, 0, gpa(P_IND2, 0), 3 * 16, D_INDIRECT, 0);
	set_desc(P_DESC, 0, gpa(P_IND, 0), 16, D_INDIRECT, 0);
	publish(0, 1);
}

static void sc_nostatus(void)
{
	put_hdr(HDR_OFF);
	set_desc(P_DESC, 0, gpa(P_HDR, HDR_OFF), 16, D_NEXT, 1);
	set_desc(P_DESC, 1, gpa(P_DATA, 0), 512, D_NEXT, 2);
	set_desc(P_DESC, 2, gpa(P_HDR, STATUS_OFF), 1, 0, 0);
	publish(0, 1);
}

struct scenario {
	const char *name;
	void (*build)(void);
	bool needs_indirect;
};

static const struct scenario SCENARIOS[] = {
	{"good", sc_good, false},
	{"loop", sc_loop, false},
	{"long", sc_long, false},
	{"loop-indirect", sc_loop_indirect, true},
	{"long-indirect", sc_long_indirect, true},
	{"oob", sc_oob, false},
	{"overflow", sc_overflow, false},
	{"badidx", sc_badidx, false},
	{"badhead", sc_badhead, false},
	{"nested-indirect", sc_nested_indirect, true},
	{"nostatus", sc_nostatus, false},
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Runs one scenario and prints its line. */
static void run(const struct scenario *s)
{
	bool good = s->build == sc_good;

	dev_init();
	if (s->needs_indirect && !(D.features & F_INDIRECT_DESC)) {
		printf("vringprobe: scenario=%s features=0x%" PRIx64 " result=unsupported\n",
		       s->name, D.features);
		return;
	}
	uint16_t before = used_idx();
	s->build();
	kick();
	if (good) {
		uint16_t u = wait_used((uint16_t)(before + 1), GOOD_MS);
		uint32_t id, len;
		memcpy(&id, page(P_USED, 4), 4);
		memcpy(&len, page(P_USED, 8), 4);
		uint8_t st = *(volatile uint8_t *)page(P_HDR, STATUS_OFF);
		bool ok = (uint16_t)(u - before) == 1 && id == 0 && len == 513 && st == 0;
		printf("vringprobe: scenario=good features=0x%" PRIx64
		       " qsize=%u used=%u id=%" PRIu32 " len=%" PRIu32
		       " blkstatus=%u hash=%016" PRIx64 " devstatus=0x%02x result=%s\n",
		       D.features, D.qsize, (uint16_t)(u - before), id, len, st,
		       fnv1a(page(P_DATA, 0), 512), dev_status(), ok ? "ok" : "fail");
		return;
	}
	sleep_ms(WAIT_MS);
	uint16_t u = used_idx();
	/* A valid read on the same queue: a broken queue must not serve it. */
	put_hdr(FHDR_OFF);
	set_desc(P_DESC, D.qsize - 3u, gpa(P_HDR, FHDR_OFF), 16, D_NEXT, (uint16_t)(D.qsize - 2u));
	set_desc(P_DESC, D.qsize - 2u, gpa(P_DATA2, 0), 512, D_WRITE | D_NEXT,
		 (uint16_t)(D.qsize - 1u));
	set_desc(P_DESC, D.qsize - 1u, gpa(P_HDR, FSTAT_OFF), 1, D_WRITE, 0);
	publish((uint16_t)(D.qsize - 3u), 1);
	kick();
	uint16_t f = wait_used((uint16_t)(u + 1), FOLLOWUP_MS);
	uint8_t ds = dev_status();
	bool refused = u == before && f == u;
	printf("vringprobe: scenario=%s features=0x%" PRIx64
	       " qsize=%u used=%u followup=%u devstatus=0x%02x needs_reset=%u result=%s\n",
	       s->name, D.features, D.qsize, (uint16_t)(u - before), (uint16_t)(f - u), ds,
	       (ds & ST_NEEDS_RESET) ? 1u : 0u, refused ? "refused" : "completed");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: vringprobe BDF SCENARIO...\nscenarios:");
		for (size_t i = 0; i < sizeof(SCENARIOS) / sizeof(SCENARIOS[0]); i++)
			fprintf(stderr, " %s", SCENARIOS[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	D.bdf = argv[1];
	for (int a = 2; a < argc; a++) {
		bool known = false;
		for (size_t i = 0; i < sizeof(SCENARIOS) / sizeof(SCENARIOS[0]); i++)
			known |= strcmp(argv[a], SCENARIOS[i].name) == 0;
		if (!known)
			die("unknown scenario '%s'", argv[a]);
	}
	bind_vfio();
	open_vfio();
	find_caps();
	setup_mem();
	for (int a = 2; a < argc; a++)
		for (size_t i = 0; i < sizeof(SCENARIOS) / sizeof(SCENARIOS[0]); i++)
			if (strcmp(argv[a], SCENARIOS[i].name) == 0)
				run(&SCENARIOS[i]);
	set_status(0); /* leave the device reset and quiet */
	printf("vringprobe: done\n");
	return 0;
}

/* stub_vfio.c — the ivshmem-doorbell device through VFIO, inside a stub
 * domain.
 *
 * The stub domain has no IOMMU, and needs none: the device is QEMU's
 * ivshmem-doorbell, which never does DMA of its own; its BAR2 is the
 * guest-RAM memfd the relay handed the stub QEMU. VFIO's no-IOMMU mode
 * (vfio.enable_unsafe_noiommu_mode=1 on the kernel command line) gives a
 * user process exactly what airlock-dm needs: BAR mappings and MSI-X
 * vectors delivered as eventfds, with no kernel driver of our own. "Unsafe"
 * is about DMA, which this device cannot do.
 *
 * Opening, in order (each step logged when it fails, with what it touched):
 *   1. sysfs: the first 1af4:1110 device; vfio's no-IOMMU switch turned on
 *      if the command line did not (it must be on before the bind, which
 *      creates the group); driver_override = vfio-pci, unbound from any
 *      other driver, drivers_probe; the group number from iommu_group.
 *   2. /dev/vfio/vfio (container) and /dev/vfio/noiommu-N (group): viable,
 *      joined, VFIO_NOIOMMU_IOMMU, the device fd.
 *   3. Config space: memory space and bus mastering on (PCI_COMMAND bits 1
 *      and 2). QEMU delivers MSI-X as a write in the device's bus-master
 *      address space and silently drops it while bus mastering is off, and
 *      vfio-pci leaves the command register to user space.
 *   4. BAR0 (registers: IVPosition at 8, Doorbell at 12) mapped, or, when
 *      vfio-pci does not allow mapping a BAR smaller than a page, written
 *      with pwrite on the device fd (one 32-bit access either way); BAR2
 *      mapped whole (struct stub_bar).
 *   5. MSI-X: the table size read from the MSI-X capability in config
 *      space (checked against what VFIO says it can arm), one non-blocking
 *      eventfd per vector, all armed with one VFIO_DEVICE_SET_IRQS.
 *
 * Then the bus ops are trivial: kick_fd(v) is vector v's eventfd; call(v)
 * writes (relay peer << 16) | v to the doorbell after a full fence, so the
 * used ring the device wrote in BAR2 is visible before the relay hears of
 * it. A restarted airlock-dm finds the device already bound and does steps
 * 2-5 again; the old process's group, mappings and vectors went with it.
 */
#include "dm/stub_vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"

#define SYSFS_PCI     "/sys/bus/pci"
#define NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"

#define REG_IVPOSITION 8
#define REG_DOORBELL   12

#define PCI_COMMAND	    0x04
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4
#define PCI_STATUS	    0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_ID_MSIX	    0x11

/* The stub protocol's vectors fit in 64 (docs/stubdom-design.md). */
#define MAX_VECTORS 64

struct stub_vfio {
	int container, group, dev;
	uint64_t cfg_off; /* config region's offset in the device fd */
	uint64_t bar0_off;
	volatile uint8_t *bar0; /* NULL: pwrite at bar0_off */
	size_t bar0_len;
	struct stub_bar bar;
	unsigned int nvec;
	int efd[MAX_VECTORS];
	unsigned int peer;
	char bdf[64];
};

/* Reads a small sysfs file into buf (NUL-terminated, trailing newline
 * dropped). Returns 0 or -errno. */
static int read_small(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sz - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int write_small(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

int stub_vfio_find(const char *sysfs_devices, char *bdf, size_t bdfsz)
{
	char path[512], v[32], d[32];
	struct dirent *e;
	DIR *dir = opendir(sysfs_devices);
	int rc = -ENOENT;

	if (!dir)
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/vendor", sysfs_devices, e->d_name);
		if (read_small(path, v, sizeof(v)) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", sysfs_devices, e->d_name);
		if (read_small(path, d, sizeof(d)) < 0)
			continue;
		if (strtoul(v, NULL, 16) != STUB_VFIO_VENDOR ||
		    strtoul(d, NULL, 16) != STUB_VFIO_DEVICE)
			continue;
		if (strlen(e->d_name) >= bdfsz) {
			rc = -ENAMETOOLONG;
			break;
		}
		strcpy(bdf, e->d_name);
		rc = 0;
		break;
	}
	closedir(dir);
	return rc;
}

/* The basename of the symlink at path into out. */
static int link_base(const char *path, char *out, size_t sz)
{
	char buf[512];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	const char *b = strrchr(buf, '/');
	b = b ? b + 1 : buf;
	if (strlen(b) >= sz)
		return -ENAMETOOLONG;
	strcpy(out, b);
	return 0;
}

/* Step 1: the device bound to vfio-pci; its group number in *group. */
static int bind_vfio(const char *bdf, unsigned long *group)
{
	char path[512], val[64];
	int rc;

	if (read_small(NOIOMMU_PARAM, val, sizeof(val)) < 0 || (val[0] != 'Y' && val[0] != '1')) {
		rc = write_small(NOIOMMU_PARAM, "1");
		if (rc < 0) {
			log_err("stub: %s: %s (vfio.enable_unsafe_noiommu_mode=1 missing?)",
				NOIOMMU_PARAM, strerror(-rc));
			return rc;
		}
	}
	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver", bdf);
	if (link_base(path, val, sizeof(val)) == 0 && strcmp(val, "vfio-pci") != 0) {
		snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver/unbind", bdf);
		rc = write_small(path, bdf);
		if (rc < 0) {
			log_err("stub: unbinding %s from %s: %s", bdf, val, strerror(-rc));
			return rc;
		}
	}
	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver", bdf);
	if (link_base(path, val, sizeof(val)) < 0) {
		snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver_override", bdf);
		rc = write_small(path, "vfio-pci");
		if (rc == 0)
			rc = write_small(SYSFS_PCI "/drivers_probe", bdf);
		if (rc < 0) {
			log_err("stub: binding %s to vfio-pci: %s", bdf, strerror(-rc));
			return rc;
		}
		snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver", bdf);
		if (link_base(path, val, sizeof(val)) < 0 || strcmp(val, "vfio-pci") != 0) {
			log_err("stub: %s is not bound to vfio-pci after drivers_probe", bdf);
			return -ENODEV;
		}
	}
	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/iommu_group", bdf);
	rc = link_base(path, val, sizeof(val));
	if (rc < 0) {
		log_err("stub: %s: %s", path, strerror(-rc));
		return rc;
	}
	char *end;
	*group = strtoul(val, &end, 10);
	return *end ? -EINVAL : 0;
}

/* Step 2: container, group, device fd. */
static int open_device(struct stub_vfio *v, unsigned long group)
{
	char path[64];
	struct vfio_group_status gs = {.argsz = sizeof(gs)};

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		log_err("stub: /dev/vfio/vfio: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) <= 0) {
		log_err("stub: VFIO without the no-IOMMU type");
		return -ENOTSUP;
	}
	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%lu", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		log_err("stub: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs) < 0 ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_err("stub: %s is not viable", path);
		return -ENODEV;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) < 0) {
		log_err("stub: %s: joining a no-IOMMU container: %s", path, strerror(errno));
		return -errno;
	}
	v->dev = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->bdf);
	if (v->dev < 0) {
		log_err("stub: %s: device %s: %s", path, v->bdf, strerror(errno));
		return -errno;
	}
	return 0;
}

static int region(struct stub_vfio *v, unsigned int index, struct vfio_region_info *ri)
{
	*ri = (struct vfio_region_info){.argsz = sizeof(*ri), .index = index};
	if (ioctl(v->dev, VFIO_DEVICE_GET_REGION_INFO, ri) < 0) {
		log_err("stub: %s: region %u: %s", v->bdf, index, strerror(errno));
		return -errno;
	}
	return 0;
}

static int cfg_read(struct stub_vfio *v, unsigned int off, void *buf, size_t n)
{
	return pread(v->dev, buf, n, (off_t)(v->cfg_off + off)) == (ssize_t)n ? 0 : -EIO;
}

/* Step 3: memory space and bus mastering. */
static int enable_device(struct stub_vfio *v)
{
	uint16_t cmd;

	if (cfg_read(v, PCI_COMMAND, &cmd, 2) < 0)
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(v->dev, &cmd, 2, (off_t)(v->cfg_off + PCI_COMMAND)) != 2 ||
	    cfg_read(v, PCI_COMMAND, &cmd, 2) < 0 || !(cmd & PCI_COMMAND_MASTER)) {
		log_err("stub: %s: cannot turn on bus mastering", v->bdf);
		return -EIO;
	}
	return 0;
}

/* The MSI-X table size from the capability list, or 0 if there is none. */
static unsigned int msix_table_size(struct stub_vfio *v)
{
	uint16_t status, ctrl;
	uint8_t pos, hdr[2];

	if (cfg_read(v, PCI_STATUS, &status, 2) < 0 || !(status & PCI_STATUS_CAP_LIST) ||
	    cfg_read(v, PCI_CAPABILITY_LIST, &pos, 1) < 0)
		return 0;
	for (unsigned int hops = 0; pos >= 0x40 && hops < 48; hops++) {
		if (cfg_read(v, pos & ~3u, hdr, 2) < 0)
			return 0;
		if (hdr[0] == PCI_CAP_ID_MSIX)
			return cfg_read(v, (pos & ~3u) + 2, &ctrl, 2) < 0 ? 0 : (ctrl & 0x7ffu) + 1;
		pos = hdr[1];
	}
	return 0;
}

/* Step 4: the BARs. */
static int map_bars(struct stub_vfio *v)
{
	struct vfio_region_info r0, r2;
	long page = sysconf(_SC_PAGESIZE);

	if (region(v, VFIO_PCI_BAR0_REGION_INDEX, &r0) < 0 ||
	    region(v, VFIO_PCI_BAR2_REGION_INDEX, &r2) < 0)
		return -EIO;
	if (r0.size < REG_DOORBELL + 4 || r2.size == 0 ||
	    !(r2.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		log_err("stub: %s: BAR0 of %llu bytes, BAR2 of %llu bytes%s", v->bdf,
			(unsigned long long)r0.size, (unsigned long long)r2.size,
			r2.flags & VFIO_REGION_INFO_FLAG_MMAP ? "" : " (not mappable)");
		return -ENODEV;
	}
	v->bar0_off = r0.offset;
	if (r0.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		v->bar0_len = (r0.size + (size_t)page - 1) & ~((size_t)page - 1);
		void *p = mmap(NULL, v->bar0_len, PROT_READ | PROT_WRITE, MAP_SHARED, v->dev,
			       (off_t)r0.offset);
		if (p != MAP_FAILED)
			v->bar0 = p;
	}
	void *p = mmap(NULL, r2.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->dev, (off_t)r2.offset);
	if (p == MAP_FAILED) {
		log_err("stub: %s: mapping BAR2 (%llu bytes): %s", v->bdf,
			(unsigned long long)r2.size, strerror(errno));
		return -errno;
	}
	v->bar = (struct stub_bar){.base = p, .size = r2.size};
	uint32_t pos = 0;
	if (v->bar0)
		pos = *(volatile uint32_t *)(v->bar0 + REG_IVPOSITION);
	else if (pread(v->dev, &pos, 4, (off_t)(v->bar0_off + REG_IVPOSITION)) != 4)
		pos = 0;
	v->peer = pos;
	return 0;
}

/* Step 5: every MSI-X vector armed with an eventfd. */
static int arm_msix(struct stub_vfio *v)
{
	struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX};
	unsigned int n = msix_table_size(v);

	if (ioctl(v->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || n == 0 || n > ii.count ||
	    !(ii.flags & VFIO_IRQ_INFO_EVENTFD)) {
		log_err("stub: %s: MSI-X table of %u vectors, VFIO can arm %u", v->bdf, n,
			ii.count);
		return -ENODEV;
	}
	if (n > MAX_VECTORS)
		n = MAX_VECTORS;
	size_t sz = sizeof(struct vfio_irq_set) + n * sizeof(int);
	struct vfio_irq_set *is = calloc(1, sz);
	if (!is)
		return -ENOMEM;
	for (; v->nvec < n; v->nvec++) {
		v->efd[v->nvec] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->efd[v->nvec] < 0) {
			free(is);
			return -errno;
		}
	}
	*is = (struct vfio_irq_set){
		.argsz = (uint32_t)sz,
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX,
		.start = 0,
		.count = n,
	};
	memcpy(is->data, v->efd, n * sizeof(int));
	int rc = ioctl(v->dev, VFIO_DEVICE_SET_IRQS, is) < 0 ? -errno : 0;
	free(is);
	if (rc < 0)
		log_err("stub: %s: arming %u MSI-X vectors: %s", v->bdf, n, strerror(-rc));
	return rc;
}

int stub_vfio_open(struct stub_vfio **out)
{
	struct vfio_region_info rc_cfg;
	unsigned long group;
	int rc;

	struct stub_vfio *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->container = v->group = v->dev = -1;
	rc = stub_vfio_find(SYSFS_PCI "/devices", v->bdf, sizeof(v->bdf));
	if (rc < 0) {
		log_err("stub: no ivshmem device (%04x:%04x) in " SYSFS_PCI "/devices: %s",
			STUB_VFIO_VENDOR, STUB_VFIO_DEVICE, strerror(-rc));
		goto fail;
	}
	if ((rc = bind_vfio(v->bdf, &group)) < 0 || (rc = open_device(v, group)) < 0 ||
	    (rc = region(v, VFIO_PCI_CONFIG_REGION_INDEX, &rc_cfg)) < 0)
		goto fail;
	v->cfg_off = rc_cfg.offset;
	if ((rc = enable_device(v)) < 0 || (rc = map_bars(v)) < 0 || (rc = arm_msix(v)) < 0)
		goto fail;
	log_info("stub: ivshmem %s through VFIO (noiommu-%lu): BAR2 %llu MiB, %u MSI-X vectors, "
		 "peer %u, doorbell by %s",
		 v->bdf, group, (unsigned long long)(v->bar.size >> 20), v->nvec, v->peer,
		 v->bar0 ? "mmap" : "pwrite");
	*out = v;
	return 0;
fail:
	stub_vfio_close(v);
	return rc;
}

void stub_vfio_close(struct stub_vfio *v)
{
	if (!v)
		return;
	if (v->dev >= 0 && v->nvec > 0) {
		struct vfio_irq_set off = {
			.argsz = sizeof(off),
			.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSIX_IRQ_INDEX,
		};
		(void)ioctl(v->dev, VFIO_DEVICE_SET_IRQS, &off);
	}
	for (unsigned int i = 0; i < v->nvec; i++)
		if (v->efd[i] >= 0)
			close(v->efd[i]);
	if (v->bar.base)
		munmap(v->bar.base, v->bar.size);
	if (v->bar0)
		munmap((void *)v->bar0, v->bar0_len);
	if (v->dev >= 0)
		close(v->dev);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	free(v);
}

struct stub_bar stub_vfio_bar(const struct stub_vfio *v)
{
	return v->bar;
}

unsigned int stub_vfio_vectors(const struct stub_vfio *v)
{
	return v->nvec;
}

unsigned int stub_vfio_peer(const struct stub_vfio *v)
{
	return v->peer;
}

static int vfio_kick_fd(void *ctx, unsigned int vector)
{
	struct stub_vfio *v = ctx;
	return vector < v->nvec ? v->efd[vector] : -EINVAL;
}

static void vfio_call(void *ctx, unsigned int vector)
{
	struct stub_vfio *v = ctx;
	uint32_t val = (STUB_VFIO_RELAY_PEER << 16) | (vector & 0xffffu);

	/* What the device wrote to the used ring lands before the doorbell. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (v->bar0)
		*(volatile uint32_t *)(v->bar0 + REG_DOORBELL) = val;
	else
		(void)!pwrite(v->dev, &val, 4, (off_t)(v->bar0_off + REG_DOORBELL));
}

const struct stub_bus_ops stub_vfio_bus_ops = {
	.kick_fd = vfio_kick_fd,
	.call = vfio_call,
};

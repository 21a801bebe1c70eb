/* vfio_pci.c — a PCI device through VFIO in no-IOMMU mode, inside a stub
 * domain.
 *
 * The stub domain has no IOMMU. VFIO's no-IOMMU mode
 * (vfio.enable_unsafe_noiommu_mode=1 on the kernel command line) still
 * gives a user process what a user-space driver needs: config space, BAR
 * mappings and MSI-X vectors delivered as eventfds, with no kernel driver
 * of our own. "Unsafe" is about DMA: a device the process drives can reach
 * any physical address of the stub. That is the point for the stub's
 * virtio disks (their DMA must reach the ivshmem BAR that is guest RAM) and
 * costs nothing: airlock-dm is the only user-space program of the stub,
 * and the stub holds nothing but its one guest.
 *
 * Opening, in order (each step logged when it fails, with what it touched):
 *   1. sysfs: vfio's no-IOMMU switch turned on if the command line did not
 *      (it must be on before the bind, which creates the group);
 *      driver_override = vfio-pci, unbound from any other driver (the stub
 *      kernel's virtio_blk binds the disks at boot), drivers_probe; the
 *      group number from iommu_group.
 *   2. /dev/vfio/vfio (a container per device: no-IOMMU containers map
 *      nothing, so sharing one would gain nothing) and /dev/vfio/noiommu-N:
 *      viable, joined, VFIO_NOIOMMU_IOMMU, the device fd.
 *   3. Config space: memory space and bus mastering on (PCI_COMMAND bits 1
 *      and 2). QEMU delivers MSI-X, and lets a device DMA, only while bus
 *      mastering is on, and vfio-pci leaves the command register to user
 *      space.
 * BARs are mapped and vectors armed on request. A restarted airlock-dm
 * finds the device already bound and does steps 2-3 again; the old
 * process's group, mappings and vectors went with it.
 */
#include "dm/vfio_pci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
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

#define PCI_COMMAND	    0x04
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4
#define PCI_STATUS	    0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_ID_MSIX	    0x11

#define MAX_VECTORS ((unsigned int)(sizeof(((struct vfio_pci *)0)->efd) / sizeof(int)))

int vfio_pci_sysfs_read(const char *path, char *buf, size_t sz)
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

int vfio_pci_find(const char *sysfs_devices, unsigned int vendor, unsigned int device, char *bdf,
		  size_t bdfsz)
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
		if (vfio_pci_sysfs_read(path, v, sizeof(v)) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", sysfs_devices, e->d_name);
		if (vfio_pci_sysfs_read(path, d, sizeof(d)) < 0)
			continue;
		if (strtoul(v, NULL, 16) != vendor || strtoul(d, NULL, 16) != device)
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

	if (vfio_pci_sysfs_read(NOIOMMU_PARAM, val, sizeof(val)) < 0 ||
	    (val[0] != 'Y' && val[0] != '1')) {
		rc = write_small(NOIOMMU_PARAM, "1");
		if (rc < 0) {
			log_err("vfio: %s: %s (vfio.enable_unsafe_noiommu_mode=1 missing?)",
				NOIOMMU_PARAM, strerror(-rc));
			return rc;
		}
	}
	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver", bdf);
	if (link_base(path, val, sizeof(val)) == 0 && strcmp(val, "vfio-pci") != 0) {
		snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver/unbind", bdf);
		rc = write_small(path, bdf);
		if (rc < 0) {
			log_err("vfio: unbinding %s from %s: %s", bdf, val, strerror(-rc));
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
			log_err("vfio: binding %s to vfio-pci: %s", bdf, strerror(-rc));
			return rc;
		}
		snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/driver", bdf);
		if (link_base(path, val, sizeof(val)) < 0 || strcmp(val, "vfio-pci") != 0) {
			log_err("vfio: %s is not bound to vfio-pci after drivers_probe", bdf);
			return -ENODEV;
		}
	}
	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/iommu_group", bdf);
	rc = link_base(path, val, sizeof(val));
	if (rc < 0) {
		log_err("vfio: %s: %s", path, strerror(-rc));
		return rc;
	}
	char *end;
	*group = strtoul(val, &end, 10);
	return *end ? -EINVAL : 0;
}

/* Step 2: container, group, device fd. */
static int open_device(struct vfio_pci *v, unsigned long group)
{
	char path[64];
	struct vfio_group_status gs = {.argsz = sizeof(gs)};

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		log_err("vfio: /dev/vfio/vfio: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) <= 0) {
		log_err("vfio: no no-IOMMU type");
		return -ENOTSUP;
	}
	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%lu", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		log_err("vfio: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs) < 0 ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_err("vfio: %s is not viable", path);
		return -ENODEV;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) < 0) {
		log_err("vfio: %s: joining a no-IOMMU container: %s", path, strerror(errno));
		return -errno;
	}
	v->dev = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->bdf);
	if (v->dev < 0) {
		log_err("vfio: %s: device %s: %s", path, v->bdf, strerror(errno));
		return -errno;
	}
	return 0;
}

static int region(const struct vfio_pci *v, unsigned int index, struct vfio_region_info *ri)
{
	*ri = (struct vfio_region_info){.argsz = sizeof(*ri), .index = index};
	if (ioctl(v->dev, VFIO_DEVICE_GET_REGION_INFO, ri) < 0) {
		log_err("vfio: %s: region %u: %s", v->bdf, index, strerror(errno));
		return -errno;
	}
	return 0;
}

int vfio_pci_cfg_read(const struct vfio_pci *v, unsigned int off, void *buf, size_t n)
{
	return pread(v->dev, buf, n, (off_t)(v->cfg_off + off)) == (ssize_t)n ? 0 : -EIO;
}

int vfio_pci_cfg_write(const struct vfio_pci *v, unsigned int off, const void *buf, size_t n)
{
	return pwrite(v->dev, buf, n, (off_t)(v->cfg_off + off)) == (ssize_t)n ? 0 : -EIO;
}

/* Step 3: memory space and bus mastering. */
static int enable_device(struct vfio_pci *v)
{
	uint16_t cmd;

	if (vfio_pci_cfg_read(v, PCI_COMMAND, &cmd, 2) < 0)
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (vfio_pci_cfg_write(v, PCI_COMMAND, &cmd, 2) < 0 ||
	    vfio_pci_cfg_read(v, PCI_COMMAND, &cmd, 2) < 0 || !(cmd & PCI_COMMAND_MASTER)) {
		log_err("vfio: %s: cannot turn on bus mastering", v->bdf);
		return -EIO;
	}
	return 0;
}

unsigned int vfio_pci_find_cap(const struct vfio_pci *v, uint8_t id, unsigned int from)
{
	uint16_t status;
	uint8_t pos, hdr[2];

	if (from) {
		if (vfio_pci_cfg_read(v, from + 1, &pos, 1) < 0)
			return 0;
	} else if (vfio_pci_cfg_read(v, PCI_STATUS, &status, 2) < 0 ||
		   !(status & PCI_STATUS_CAP_LIST) ||
		   vfio_pci_cfg_read(v, PCI_CAPABILITY_LIST, &pos, 1) < 0) {
		return 0;
	}
	for (unsigned int hops = 0; pos >= 0x40 && hops < 48; hops++) {
		if (vfio_pci_cfg_read(v, pos & ~3u, hdr, 2) < 0)
			return 0;
		if (hdr[0] == id)
			return pos & ~3u;
		pos = hdr[1];
	}
	return 0;
}

unsigned int vfio_pci_msix_size(const struct vfio_pci *v)
{
	uint16_t ctrl;
	unsigned int pos = vfio_pci_find_cap(v, PCI_CAP_ID_MSIX, 0);

	if (!pos || vfio_pci_cfg_read(v, pos + 2, &ctrl, 2) < 0)
		return 0;
	return (ctrl & 0x7ffu) + 1;
}

int vfio_pci_bar_info(const struct vfio_pci *v, unsigned int index, uint64_t *size,
		      uint64_t *fd_off, int *mappable)
{
	struct vfio_region_info ri;
	int rc = region(v, index, &ri);

	if (rc < 0)
		return rc;
	*size = ri.size;
	*fd_off = ri.offset;
	*mappable = !!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP);
	return 0;
}

/* BAR `index`'s offset in the device fd and its length rounded up to
 * pages, for mapping. Returns 0, or -errno (logged). */
static int bar_geometry(const struct vfio_pci *v, unsigned int index, uint64_t *off, size_t *len)
{
	uint64_t size;
	int mappable;
	long page = sysconf(_SC_PAGESIZE);

	if (vfio_pci_bar_info(v, index, &size, off, &mappable) < 0)
		return -EIO;
	if (size == 0 || !mappable) {
		log_err("vfio: %s: BAR%u of %" PRIu64 " bytes%s", v->bdf, index, size,
			mappable ? "" : " (not mappable)");
		return -ENODEV;
	}
	*len = ((size_t)size + (size_t)page - 1) & ~((size_t)page - 1);
	return 0;
}

void *vfio_pci_map_bar(const struct vfio_pci *v, unsigned int index, size_t *len)
{
	uint64_t off;
	size_t l;

	if (bar_geometry(v, index, &off, &l) < 0)
		return NULL;
	void *p = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_SHARED, v->dev, (off_t)off);
	if (p == MAP_FAILED) {
		log_err("vfio: %s: mapping BAR%u (%zu bytes): %s", v->bdf, index, l,
			strerror(errno));
		return NULL;
	}
	*len = l;
	return p;
}

void *vfio_pci_map_bar_chunked(const struct vfio_pci *v, unsigned int index, size_t chunk,
			       size_t *len)
{
	uint64_t off;
	size_t l;

	if (chunk == 0 || chunk % (size_t)sysconf(_SC_PAGESIZE)) {
		log_err("vfio: %s: BAR%u in chunks of %zu bytes: not whole pages", v->bdf, index,
			chunk);
		return NULL;
	}
	if (bar_geometry(v, index, &off, &l) < 0)
		return NULL;
	/* Reserve the range, then lay the chunks over it. */
	uint8_t *base =
		mmap(NULL, l, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		log_err("vfio: %s: reserving %zu bytes for BAR%u: %s", v->bdf, l, index,
			strerror(errno));
		return NULL;
	}
	for (size_t at = 0; at < l; at += chunk) {
		size_t n = l - at < chunk ? l - at : chunk;
		void *p = mmap(base + at, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, v->dev,
			       (off_t)(off + at));
		if (p == MAP_FAILED) {
			log_err("vfio: %s: mapping BAR%u at +%zu: %s", v->bdf, index, at,
				strerror(errno));
			munmap(base, l);
			return NULL;
		}
	}
	*len = l;
	return base;
}

int vfio_pci_bar_phys(const struct vfio_pci *v, unsigned int index, uint64_t *phys)
{
	char path[128], buf[1024];
	uint64_t start = 0, end = 0, flags = 0;

	snprintf(path, sizeof(path), SYSFS_PCI "/devices/%s/resource", v->bdf);
	int rc = vfio_pci_sysfs_read(path, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	const char *line = buf;
	for (unsigned int i = 0; i < index && line; i++) {
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (!line || sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &start, &end, &flags) != 3 ||
	    start == 0 || end < start)
		return -ENODEV;
	*phys = start;
	return 0;
}

int vfio_pci_arm_msix(struct vfio_pci *v, unsigned int n)
{
	struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX};
	unsigned int table = vfio_pci_msix_size(v);

	if (n == 0)
		n = table;
	if (ioctl(v->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || n == 0 || n > table ||
	    n > ii.count || !(ii.flags & VFIO_IRQ_INFO_EVENTFD)) {
		log_err("vfio: %s: %u MSI-X vectors wanted, table of %u, VFIO can arm %u", v->bdf,
			n, table, ii.count);
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
		log_err("vfio: %s: arming %u MSI-X vectors: %s", v->bdf, n, strerror(-rc));
	return rc;
}

int vfio_pci_open(const char *bdf, struct vfio_pci *v)
{
	struct vfio_region_info cfg;
	unsigned long group;
	int rc;

	memset(v, 0, sizeof(*v));
	v->container = v->group = v->dev = -1;
	if (strlen(bdf) >= sizeof(v->bdf))
		return -ENAMETOOLONG;
	strcpy(v->bdf, bdf);
	if ((rc = bind_vfio(v->bdf, &group)) < 0 || (rc = open_device(v, group)) < 0 ||
	    (rc = region(v, VFIO_PCI_CONFIG_REGION_INDEX, &cfg)) < 0)
		goto fail;
	v->cfg_off = cfg.offset;
	if ((rc = enable_device(v)) < 0)
		goto fail;
	return 0;
fail:
	vfio_pci_close(v);
	return rc;
}

void vfio_pci_close(struct vfio_pci *v)
{
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
	v->nvec = 0;
	if (v->dev >= 0)
		close(v->dev);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->dev = v->group = v->container = -1;
}

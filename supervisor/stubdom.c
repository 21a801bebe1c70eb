/* stubdom.c — see stubdom.h and docs/stubdom-design.md.
 *
 * Design
 * ------
 * Everything here is set up once per domain and torn down once; the engine
 * may restart (reboots) underneath and simply reconnects to the relay's
 * sockets, which stay. Order matters twice: the relay listens on every
 * socket before the stub QEMU starts (QEMU reads the ivshmem server's
 * messages while it creates the device), and the store entries the stub's
 * init reads exist before the stub boots. The engine is not held back: the
 * relay answers GET_FEATURES and GET_CONFIG from the description made here
 * (the same blk code airlock-dm runs, on the same image), so the stub boots
 * while the engine starts.
 *
 * The description leaves out DISCARD and WRITE_ZEROES: inside the stub the
 * image is a block device (/dev/vdX), on which airlock-dm's fallocate probe
 * fails, and the relay must never promise the engine a bit that the stub's
 * airlock-dm then refuses in SET_FEATURES.
 */
#include "supervisor/stubdom.h"
#include "common/log.h"
#include "common/util.h"
#include "dm/blk.h"
#include "dm/net.h"
#include "relay/relay.h"
#include "supervisor/argv.h"
#include "supervisor/engine.h"
#include "supervisor/host.h"
#include "supervisor/spawn.h"
#include "supervisor/stubsnap.h"
#include "toolstack/domstore.h"
#include "toolstack/paths.h"
#include "xs/xs_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BLK_QUEUES 4 /* what airlock-dm's virtio-blk offers */
/* The stub's k-th disk sits in PCI slot STUB_DISK_SLOT + k, where
 * airlock-dm in the stub drives it itself (dm/vpci.c). */
#define STUB_DISK_SLOT	      0x10
#define NET_QUEUES	      2	 /* and its virtio-net: rx, tx */
#define BLK_CONFIG_LEN	      60 /* struct virtio_blk_config as QEMU reads it */
#define VIRTIO_BLK_F_DISCARD  13
#define VIRTIO_BLK_F_W_ZEROES 14

uid_t stubdom_relay_uid(unsigned int guest_domid)
{
	return paths_uid_base() + STUBDOM_RELAY_UID_OFFSET + guest_domid;
}

uint64_t stubdom_default_memory(uint64_t guest_mib)
{
	uint64_t gib = (guest_mib + 1023) / 1024;

	return STUBDOM_MEMORY_BASE + (gib > 1 ? (gib - 1) * STUBDOM_MEMORY_PER_GIB : 0);
}

uint64_t stubdom_ram_bytes(uint64_t guest_ram, unsigned int ndisks, unsigned int nnics)
{
	unsigned int q[DMPROC_MAX_DEVS], n = 0;

	for (unsigned int i = 0; i < ndisks && n < DMPROC_MAX_DEVS; i++)
		q[n++] = BLK_QUEUES;
	for (unsigned int i = 0; i < nnics && n < DMPROC_MAX_DEVS; i++)
		q[n++] = NET_QUEUES;
	return relay_inflight_layout(guest_ram, q, n, NULL, NULL);
}

/* ---- the store ---- */

static int set_perms2(struct xs_client *xs, const char *path, unsigned int owner,
		      unsigned int reader)
{
	struct xs_perm p[2] = {{.domid = owner, .bits = XS_PERM_NONE},
			       {.domid = reader, .bits = XS_PERM_READ}};
	return xs_client_set_perms(xs, 0, path, p, reader == owner ? 1 : 2);
}

/* airlock-dm's arguments inside the stub: the stub protocol port (the
 * init puts its device path for @stubproto@) and one device per disk, the
 * k-th disk being the stub's k-th virtio disk. */
static int write_argv(struct xs_client *xs, const struct stubdom_spec *sp, unsigned int stubid)
{
	char path[256], val[128];
	unsigned int n = 0;
	int r;

	snprintf(path, sizeof(path), "/vm/%s/image/dm-argv", sp->guest_uuid);
	r = xs_client_mkdir(xs, 0, path);
	if (!r)
		r = set_perms2(xs, path, 0, stubid);
#define ARG(...)                                                                                   \
	do {                                                                                       \
		snprintf(val, sizeof(val), __VA_ARGS__);                                           \
		snprintf(path, sizeof(path), "/vm/%s/image/dm-argv/%u", sp->guest_uuid, n++);      \
		if (!r)                                                                            \
			r = xs_client_write(xs, 0, path, val, strlen(val));                        \
		if (!r)                                                                            \
			r = set_perms2(xs, path, 0, stubid);                                       \
	} while (0)
	ARG("--stubdom");
	ARG("@stubproto@");
	for (unsigned int i = 0; i < sp->ndisks; i++) {
		ARG("--device");
		ARG("blk,channel=%u,pci=0000:00:%02x.0%s", i + 1, STUB_DISK_SLOT + i,
		    sp->read_only[i] ? ",read-only=on" : "");
	}
	for (unsigned int i = 0; i < sp->nnics; i++) {
		const uint8_t *m = sp->nic_mac[i];
		char mtu[16] = "";
		if (sp->nic_mtu[i])
			snprintf(mtu, sizeof(mtu), ",mtu=%u", sp->nic_mtu[i]);
		ARG("--device");
		ARG("net,channel=%u,packet=eth%u%s,mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
		    sp->ndisks + i + 1, i, sp->nic_tap[i] >= 0 ? ",offload=on" : "", m[0], m[1],
		    m[2], m[3], m[4], m[5], mtu);
	}
#undef ARG
	return r;
}

static int register_stub(struct xs_client *xs, const struct stubdom_spec *sp, struct stubdom *sd)
{
	struct dom_record rec;
	uint8_t u[16];
	char path[128], num[16];
	int r;

	random_bytes(u, sizeof(u));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	snprintf(sd->uuid, sizeof(sd->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	snprintf(sd->name, sizeof(sd->name), "%s-dm", sp->guest_name);
	struct dom_new nw = {
		.name = sd->name,
		.uuid = sd->uuid,
		.placement = "stub",
		.run_dir_base = paths_run_dir(),
		.memory_mib = (unsigned long)sp->memory_mib,
		.vcpus = 1,
	};
	r = domstore_register(xs, &nw, &rec);
	if (r) {
		log_err("stub domain %s: cannot register it: %s", sd->name, err_str(r));
		return r;
	}
	sd->domid = rec.domid;
	sd->registered = true;
	r = xs_client_introduce(xs, sd->domid);
	if (r) {
		log_err("stub domain %s: INTRODUCE: %s", sd->name, err_str(r));
		return r;
	}
	sd->introduced = true;
	r = xs_client_set_target(xs, sd->domid, sp->guest_domid);
	if (!r) {
		snprintf(path, sizeof(path), "/local/domain/%u/device-model", sd->domid);
		r = xs_client_mkdir(xs, 0, path);
	}
	if (!r)
		r = set_perms2(xs, path, sd->domid, sd->domid);
	if (!r) {
		snprintf(path, sizeof(path), "/local/domain/%u/airlock/stub-of", sd->domid);
		snprintf(num, sizeof(num), "%u", sp->guest_domid);
		r = xs_client_write(xs, 0, path, num, strlen(num));
	}
	if (!r) {
		snprintf(path, sizeof(path), "/local/domain/%u/airlock/stubdom", sp->guest_domid);
		snprintf(num, sizeof(num), "%u", sd->domid);
		r = xs_client_write(xs, 0, path, num, strlen(num));
	}
	if (!r)
		r = write_argv(xs, sp, sd->domid);
	if (r)
		log_err("stub domain %s: store entries: %s", sd->name, err_str(r));
	return r;
}

/* ---- sockets ---- */

static int listen_owned(const char *dir, const char *name, uid_t uid)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = unix_listen(path, 4);
	if (fd >= 0 && (chown(path, uid, uid) < 0 || chmod(path, 0600) < 0)) {
		int r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	return fd;
}

int stubdom_prepare(struct xs_client *xs, const struct stubdom_spec *sp, struct stubdom *sd)
{
	char chroot_dir[320];
	int r;

	memset(sd, 0, sizeof(*sd));
	sd->ivshmem_fd = sd->port_fd = sd->console_fd = sd->wake_fd = sd->qmp_fd = -1;
	for (unsigned int i = 0; i < DMPROC_MAX_DEVS; i++)
		sd->eng[i].listen_fd = -1;
	if (sp->ndisks + sp->nnics > STUBDOM_MAX_DEVS) {
		log_err("a stub domain serves at most %d devices (this guest has %u disks and %u "
			"NICs)",
			STUBDOM_MAX_DEVS, sp->ndisks, sp->nnics);
		return -E2BIG;
	}
	r = register_stub(xs, sp, sd);
	if (r)
		return r;
	snprintf(sd->dir, sizeof(sd->dir), "%s/stub", sp->run_dir);
	if (mkdir(sd->dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		log_err("%s: %s", sd->dir, err_str(r));
		return r;
	}
	/* The engine's sockets, where the dom0 placement has airlock-dm's. */
	for (unsigned int i = 0; i < sp->ndisks; i++)
		sd->eng[i] =
			(struct dmproc_dev){.file = sp->files[i], .tap_fd = -1, .stream_fd = -1};
	for (unsigned int i = 0; i < sp->nnics; i++)
		sd->eng[sp->ndisks + i] =
			(struct dmproc_dev){.net = true, .tap_fd = -1, .stream_fd = -1};
	sd->neng = sp->ndisks + sp->nnics;
	snprintf(chroot_dir, sizeof(chroot_dir), "%s/chroot", sp->run_dir);
	r = dmproc_listen(sd->eng, sd->neng, chroot_dir, paths_uid_base() + sp->guest_domid,
			  paths_uid_base() + sp->guest_domid);
	if (r) {
		log_err("relay sockets in %s: %s", chroot_dir, err_str(r));
		return r;
	}
	/* The stub QEMU's: it runs as the stub domain's uid. */
	sd->ivshmem_fd = listen_owned(sd->dir, "ivshmem.sock", paths_uid_base() + sd->domid);
	sd->port_fd = listen_owned(sd->dir, "stubproto.sock", paths_uid_base() + sd->domid);
	if (sd->ivshmem_fd < 0 || sd->port_fd < 0) {
		r = sd->ivshmem_fd < 0 ? sd->ivshmem_fd : sd->port_fd;
		log_err("stub domain sockets in %s: %s", sd->dir, err_str(r));
		return r;
	}
	return 0;
}

/* ---- processes ---- */

/* The --device spec the relay gets for disk i: the image's description as
 * airlock-dm in the stub will offer it. */
static int blk_desc(const struct stubdom_spec *sp, unsigned int i, int fd, struct argv_b *a)
{
	struct blk_dev *d;
	uint8_t cfg[BLK_CONFIG_LEN];
	char hex[2 * BLK_CONFIG_LEN + 1];
	int r = blk_open(sp->files[i], sp->read_only[i], NULL, &d);

	if (r) {
		log_err("disk %s: %s", sp->files[i], err_str(r));
		return r;
	}
	uint64_t f =
		blk_vdev_ops.get_features ? blk_vdev_ops.get_features(d) : blk_vdev_ops.features;
	f &= ~((1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_W_ZEROES));
	r = blk_vdev_ops.get_config(d, 0, cfg, sizeof(cfg));
	blk_close(d);
	if (r)
		return r;
	for (unsigned int k = 0; k < sizeof(cfg); k++)
		snprintf(hex + 2 * k, 3, "%02x", cfg[k]);
	argv_add(a, "--device");
	argv_add(a, "blk,fd=%d,features=0x%llx,queues=%u,config=%s", fd, (unsigned long long)f,
		 BLK_QUEUES, hex);
	return 0;
}

static int start_relay(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		       void *data)
{
	struct argv_b a = {0};
	int keep[3 + DMPROC_MAX_DEVS];
	unsigned int nkeep = 0;
	char bin[512];
	int r = 0;

	if (paths_sibling("airlock-relay", "relay", "AIRLOCK_RELAY", bin, sizeof(bin))) {
		log_err("cannot find airlock-relay");
		return -ENOENT;
	}
	argv_add(&a, "%s", bin);
	argv_add(&a, "--name");
	argv_add(&a, "%s", sd->name);
	argv_add(&a, "--ram-fd");
	argv_add(&a, "%d", sp->ram_fd);
	argv_add(&a, "--ram-size");
	argv_add(&a, "%llu", (unsigned long long)sp->guest_ram);
	argv_add(&a, "--ivshmem-fd");
	argv_add(&a, "%d", sd->ivshmem_fd);
	argv_add(&a, "--port-fd");
	argv_add(&a, "%d", sd->port_fd);
	keep[nkeep++] = sp->ram_fd;
	keep[nkeep++] = sd->ivshmem_fd;
	keep[nkeep++] = sd->port_fd;
	for (unsigned int i = 0; i < sd->neng && !r; i++) {
		if (sd->eng[i].net) {
			/* QEMU builds a vhost-user NIC's config itself. Offloads
			 * on a tap (offload=on in the stub), none through passt. */
			unsigned int k = i - sp->ndisks;
			uint16_t mtu = (uint16_t)sp->nic_mtu[k];
			argv_add(&a, "--device");
			argv_add(&a, "net,fd=%d,features=0x%llx,queues=%u", sd->eng[i].listen_fd,
				 (unsigned long long)(sp->nic_tap[k] >= 0
							      ? net_offload_features(mtu)
							      : net_raw_features(mtu)),
				 NET_QUEUES);
		} else {
			r = blk_desc(sp, i, sd->eng[i].listen_fd, &a);
		}
		keep[nkeep++] = sd->eng[i].listen_fd;
	}
	if (!r && a.oom)
		r = -ENOMEM;
	if (!r) {
		argv_log("relay", a.v);
		/* Its own uid: the relay parses what the stub controls. Every fd
		 * it needs is inherited open; it opens nothing by path. */
		uid_t id = stubdom_relay_uid(sp->guest_domid);
		struct spawn_opts o = {.keep = keep,
				       .nkeep = nkeep,
				       .log_fd = STDERR_FILENO,
				       .in_child = in_child,
				       .data = data,
				       .uid = id,
				       .gid = (gid_t)id};
		sd->relay = spawn_proc(a.v, &o);
		if (sd->relay < 0) {
			r = (int)sd->relay;
			sd->relay = 0;
		}
	}
	argv_free(a.v);
	return r;
}

/* The built stub-domain image: $AIRLOCK_STUBDOM_DIR, else out/stubdom of
 * the build tree this supervisor runs from. */
static void image_path(const char *file, char *out, size_t size)
{
	const char *dir = getenv("AIRLOCK_STUBDOM_DIR");
	char self[512];
	ssize_t n;

	if (dir && *dir) {
		snprintf(out, size, "%s/%s", dir, file);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, size, "%s/../../out/stubdom/%s", self, file);
}

static void reap(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* How a stub QEMU starts: booting for a guest (COLD), booting to be saved
 * as a template (TEMPLATE), or loading a template (RESTORE: the guest's
 * devices are plugged in afterwards, by stubdom_resume). */
enum qemu_mode { COLD, TEMPLATE, RESTORE };

/* The words that make a stub domain its guest's: on the cold boot's
 * command line, in the wake line of a restored one. */
static void guest_words(const struct stubdom_spec *sp, char *out, size_t size)
{
	snprintf(out, size, "airlock.target=%u airlock.uuid=%s airlock.shell", sp->guest_domid,
		 sp->guest_uuid);
}

/* The stub kernel's command line in `mode`: what every stub gets, then its
 * guest's words for a cold boot, `airlock.template` for a template and for
 * the QEMU that loads one (the template's key is this line). */
static void stub_append(const struct stubdom_spec *sp, enum qemu_mode mode, char *out, size_t size)
{
	char words[160];
	/* Under TCG the stub's kernel cannot calibrate the TSC it reads (the
	 * host's) on a busy host, and its clocksource watchdog then drops it
	 * for a 4 ms jiffies clock (every clock_gettime a system call, every
	 * timer coarse) after calibrating a delay loop the slow way. Told the
	 * rate and that it is reliable, it keeps the TSC. */
	char tsc[64] = "";
	unsigned int khz = strcmp(sp->accel, "kvm") == 0 ? 0 : host_tsc_khz();
	if (khz)
		snprintf(tsc, sizeof(tsc), " tsc=reliable tsc_early_khz=%u", khz);
	if (mode == COLD)
		guest_words(sp, words, sizeof(words));
	else
		snprintf(words, sizeof(words), "airlock.template");
	snprintf(out, size, "console=ttyS0 quiet%s vfio.enable_unsafe_noiommu_mode=1%s%s %s", tsc,
		 sp->cmdline ? " " : "", sp->cmdline ? sp->cmdline : "", words);
}

static void image_files(const struct stubdom_spec *sp, char *kernel, char *ramdisk, size_t size)
{
	if (sp->kernel)
		snprintf(kernel, size, "%s", sp->kernel);
	else
		image_path("vmlinux", kernel, size);
	if (sp->ramdisk)
		snprintf(ramdisk, size, "%s", sp->ramdisk);
	else
		image_path("initramfs.cpio.gz", ramdisk, size);
}

/* The device_add arguments of a restored stub's devices (JSON objects), n
 * of them; the cold boot has the same devices on its command line. No
 * option ROM for the NICs: QEMU would look for its file in the chroot, and
 * nothing in the stub boots from a NIC. */
#define TEMPLATE_TIMEOUT_MS 30000
#define IVSHMEM_SLOT	    0x08
#define NIC_SLOT	    0x18
static unsigned int restore_devices(const struct stubdom_spec *sp, const struct stubdom *sd,
				    char devs[][160])
{
	unsigned int n = 0;

	snprintf(devs[n++], 160,
		 "{\"driver\":\"ivshmem-doorbell\",\"chardev\":\"ivs\",\"vectors\":%u,"
		 "\"addr\":\"0x%x\"}",
		 1 + 8 * (sp->ndisks + sp->nnics), IVSHMEM_SLOT);
	for (unsigned int i = 0; i < sp->ndisks; i++)
		snprintf(devs[n++], 160,
			 "{\"driver\":\"virtio-blk-pci\",\"drive\":\"d%u\",\"addr\":\"0x%x\","
			 "\"disable-legacy\":\"on\",\"num-queues\":1}",
			 i, STUB_DISK_SLOT + i);
	for (unsigned int i = 0; i < sp->nnics; i++)
		snprintf(devs[n++], 160,
			 "{\"driver\":\"virtio-net-pci\",\"netdev\":\"sn%u\",\"addr\":\"0x%x\","
			 "\"mac\":\"02:00:00:00:%02x:%02x\",\"romfile\":\"\"}",
			 i, NIC_SLOT + i, sd->domid & 0xff, i);
	return n;
}

/* Builds the stub QEMU's arguments for `mode`. qmp_fd (TEMPLATE, RESTORE)
 * is QEMU's end of the QMP socketpair, console_fd its serial line. */
static int qemu_argv(const struct stubdom_spec *sp, const struct stubdom *sd, enum qemu_mode mode,
		     int console_fd, int qmp_fd, struct argv_b *a)
{
	char kernel[600], ramdisk[600], append[1024], store_sock[512];

	image_files(sp, kernel, ramdisk, sizeof(kernel));
	if (access(kernel, R_OK) || access(ramdisk, R_OK)) {
		log_err("stub domain image %s / %s: not there (bash images/stubdom/build.sh "
			"builds it)",
			kernel, ramdisk);
		return -ENOENT;
	}
	stub_append(sp, mode, append, sizeof(append));
	engine_argv_head(a, paths_qemu(), sd->name, NULL);
	argv_add(a, "-machine");
	argv_add(a, "pc");
	/* TCG's translation cache dominates a small VM's host memory. */
	argv_add(a, "-accel");
	argv_add(a, strcmp(sp->accel, "kvm") == 0 ? "kvm" : "tcg,tb-size=32");
	argv_add(a, "-cpu");
	argv_add(a, "%s", strcmp(sp->accel, "kvm") == 0 ? "host" : "max");
	argv_add(a, "-m");
	argv_add(a, "%llu", (unsigned long long)sp->memory_mib);
	argv_add(a, "-kernel");
	argv_add(a, "%s", kernel);
	argv_add(a, "-initrd");
	argv_add(a, "%s", ramdisk);
	argv_add(a, "-append");
	argv_add(a, "%s", append);
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=serial0,fd=%d", console_fd);
	argv_add(a, "-serial");
	argv_add(a, "chardev:serial0");
	if (mode != COLD) {
		argv_add(a, "-chardev");
		argv_add(a, "socket,id=qmp,fd=%d", qmp_fd);
		argv_add(a, "-mon");
		argv_add(a, "chardev=qmp,mode=control");
	}
	if (mode != TEMPLATE) {
		argv_add(a, "-chardev");
		argv_add(a, "socket,id=ivs,path=ivshmem.sock");
	}
	if (mode == COLD) {
		argv_add(a, "-device");
		argv_add(a, "ivshmem-doorbell,chardev=ivs,vectors=%u",
			 1 + 8 * (sp->ndisks + sp->nnics));
	}
	argv_add(a, "-device");
	argv_add(a, "virtio-serial-pci");
	/* A template's ports lead nowhere; the same ports of the stubs
	 * restored from it lead to the relay and the store. */
	snprintf(store_sock, sizeof(store_sock), "%s.d/%u", xs_client_default_path(), sd->domid);
	argv_add(a, "-chardev");
	if (mode == TEMPLATE)
		argv_add(a, "null,id=sp");
	else
		argv_add(a, "socket,id=sp,path=stubproto.sock,reconnect=1");
	argv_add(a, "-device");
	argv_add(a, "virtserialport,chardev=sp,name=org.airlock.stubproto");
	argv_add(a, "-chardev");
	if (mode == TEMPLATE)
		argv_add(a, "null,id=st");
	else
		argv_add(a, "socket,id=st,path=%s", store_sock);
	argv_add(a, "-device");
	argv_add(a, "virtserialport,chardev=st,name=org.airlock.store");
	for (unsigned int i = 0; i < sp->ndisks && mode != TEMPLATE; i++) {
		if (strchr(sp->files[i], ','))
			return -EINVAL;
		argv_add(a, "-drive");
		/* auto-read-only=off: opened for writing now, before the chroot;
		 * a disk plugged in after a restore would otherwise make QEMU
		 * reopen the image by its path, which the chroot hides. */
		argv_add(a,
			 "file=%s,format=raw,if=none,id=d%u,cache.direct=on,aio=io_uring,"
			 "auto-read-only=off%s",
			 sp->files[i], i, sp->read_only[i] ? ",readonly=on" : "");
		if (mode == COLD) {
			argv_add(a, "-device");
			argv_add(
				a,
				"virtio-blk-pci,drive=d%u,addr=0x%x,disable-legacy=on,num-queues=1",
				i, STUB_DISK_SLOT + i);
		}
	}
	/* The stub's own NICs: taps on the guest's bridges, or streams to
	 * passt. Their MAC never shows: airlock-dm moves the guest's frames,
	 * with the guest's MAC. */
	for (unsigned int i = 0; i < sp->nnics && mode != TEMPLATE; i++) {
		argv_add(a, "-netdev");
		if (sp->nic_tap[i] >= 0)
			argv_add(a, "tap,id=sn%u,fd=%d", i, sp->nic_tap[i]);
		else
			argv_add(a, "stream,id=sn%u,addr.type=fd,addr.str=%d", i,
				 sp->nic_stream[i]);
		if (mode == COLD) {
			argv_add(a, "-device");
			argv_add(a, "virtio-net-pci,netdev=sn%u,mac=02:00:00:00:%02x:%02x", i,
				 sd->domid & 0xff, i);
		}
	}
	if (mode == RESTORE) {
		argv_add(a, "-incoming");
		argv_add(a, "defer");
	}
	engine_argv_confine(a, sp->deny_elevate, sd->dir, paths_uid_base() + sd->domid,
			    paths_uid_base() + sd->domid);
	return a->oom ? -ENOMEM : 0;
}

/* Spawns a stub QEMU in `mode` with its serial line (and for TEMPLATE and
 * RESTORE its QMP, and extra_fd: the template file) on new socketpairs:
 * the supervisor's ends in *console_out and *qmp_out (-1 for COLD; QMP
 * answers once QEMU is up: qmp_open_fd). Returns the pid or -errno. */
static pid_t spawn_qemu(const struct stubdom_spec *sp, const struct stubdom *sd,
			enum qemu_mode mode, int extra_fd, void (*in_child)(void *), void *data,
			int *console_out, int *qmp_out)
{
	struct argv_b a = {0};
	int sv[2], q[2] = {-1, -1};
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (mode != COLD && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, q)) {
		pid = -errno;
		close(sv[0]);
		close(sv[1]);
		return pid;
	}
	int r = qemu_argv(sp, sd, mode, sv[1], q[1], &a);
	if (r) {
		pid = r;
	} else {
		argv_log(mode == TEMPLATE ? "stub template" : "stub domain", a.v);
		int keep[4 + DMPROC_MAX_DEVS];
		unsigned int nkeep = 0;
		keep[nkeep++] = sv[1];
		if (q[1] >= 0)
			keep[nkeep++] = q[1];
		if (extra_fd >= 0)
			keep[nkeep++] = extra_fd;
		for (unsigned int i = 0; i < sp->nnics && mode != TEMPLATE; i++)
			keep[nkeep++] = sp->nic_tap[i] >= 0 ? sp->nic_tap[i] : sp->nic_stream[i];
		struct spawn_opts o = {.keep = keep,
				       .nkeep = nkeep,
				       .log_fd = STDERR_FILENO,
				       .cwd = sd->dir,
				       .in_child = in_child,
				       .data = data};
		pid = spawn_proc(a.v, &o);
	}
	argv_free(a.v);
	close(sv[1]);
	if (q[1] >= 0)
		close(q[1]);
	if (pid < 0) {
		close(sv[0]);
		if (q[0] >= 0)
			close(q[0]);
		return pid;
	}
	*console_out = sv[0];
	*qmp_out = q[0];
	return pid;
}

static int start_cold(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		      void *data)
{
	int none;
	pid_t pid = spawn_qemu(sp, sd, COLD, -1, in_child, data, &sd->console_fd, &none);

	if (pid < 0)
		return (int)pid;
	sd->qemu = pid;
	return 0;
}

/* Boots a template for key text `text` and publishes it at path. Runs
 * under the key's lock. */
static int build_template(const struct stubdom_spec *sp, const struct stubdom *sd, const char *path,
			  const char *text, void (*in_child)(void *), void *data)
{
	char tmp[620];
	struct qmp *qmp = NULL;
	int con = -1, qfd = -1, r;
	uint64_t t0 = now_ms();

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	log_info("stub template: booting one for %s (once for its key)", path);
	pid_t pid = spawn_qemu(sp, sd, TEMPLATE, -1, in_child, data, &con, &qfd);
	if (pid < 0) {
		r = (int)pid;
	} else {
		r = qmp_open_fd(qfd, 10000, &qmp);
		/* A template boots like a stub domain (~1.5 s here): as long as
		 * one may take, but at most TEMPLATE_TIMEOUT_MS, so that the
		 * stub domain's own wait still fits in the CLI's create. */
		if (!r)
			r = stubsnap_save(
				qmp, con, out,
				(int)MIN(sp->timeout_ms ? sp->timeout_ms : TEMPLATE_TIMEOUT_MS,
					 TEMPLATE_TIMEOUT_MS));
		qmp_close(qmp);
		close(con);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (!r)
		r = stubsnap_publish(out, tmp, path, text);
	close(out);
	if (r) {
		unlink(tmp);
		stubsnap_mark_failed(path, text);
		log_err("stub template: %s; stub domains of this key boot for the next hour "
			"(delete %s.failed to try again sooner)",
			err_str(r), path);
	} else {
		struct stat st;
		log_info("stub template: saved in %llu ms (%lld KiB)",
			 (unsigned long long)(now_ms() - t0),
			 stat(path, &st) == 0 ? (long long)st.st_size / 1024 : -1ll);
	}
	return r;
}

/* The template for this stub, built if missing: its fd, or -errno (then
 * the stub boots). */
static int template_fd(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		       void *data)
{
	char kernel[600], ramdisk[600], append[1024], text[4096];
	int fd, lock, r;

	image_files(sp, kernel, ramdisk, sizeof(kernel));
	stub_append(sp, TEMPLATE, append, sizeof(append));
	struct stubsnap_key k = {.qemu = paths_qemu(),
				 .kernel = kernel,
				 .ramdisk = ramdisk,
				 .append = append,
				 .accel = sp->accel,
				 .memory_mib = sp->memory_mib};
	r = stubsnap_locate(&k, sd->tmpl_path, sizeof(sd->tmpl_path), text, sizeof(text));
	if (r)
		return r;
	fd = stubsnap_open(sd->tmpl_path, text);
	if (fd >= 0 || fd == -ENOEXEC)
		return fd;
	lock = stubsnap_lock(sd->tmpl_path);
	if (lock < 0)
		return lock;
	fd = stubsnap_open(sd->tmpl_path, text); /* another create built it meanwhile */
	if (fd < 0 && fd != -ENOEXEC) {
		r = build_template(sp, sd, sd->tmpl_path, text, in_child, data);
		fd = r ? r : stubsnap_open(sd->tmpl_path, text);
	}
	close(lock);
	return fd;
}

/* Starts a stub QEMU that will load the template (fd, inherited under
 * the same number): it starts up while the supervisor starts the engine;
 * stubdom_resume loads it. */
static int start_restore(const struct stubdom_spec *sp, struct stubdom *sd, int fd,
			 void (*in_child)(void *), void *data)
{
	int con, qfd;
	pid_t pid = spawn_qemu(sp, sd, RESTORE, fd, in_child, data, &con, &qfd);

	if (pid < 0)
		return (int)pid;
	sd->wake_fd = fcntl(con, F_DUPFD_CLOEXEC, 3);
	if (sd->wake_fd < 0) {
		int r = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(con);
		close(qfd);
		return r;
	}
	sd->qemu = pid;
	sd->console_fd = con;
	sd->qmp_fd = qfd;
	sd->tmpl_fdnum = fd;
	sd->restoring = true;
	sd->restore_t0 = now_ms();
	return 0;
}

static int start_qemu(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		      void *data)
{
	if (stubsnap_enabled()) {
		int fd = template_fd(sp, sd, in_child, data);
		if (fd >= 0) {
			int r = start_restore(sp, sd, fd, in_child, data);
			close(fd);
			if (!r)
				return 0;
			log_warn("stub domain %s: cannot load template %s (%s): booting it",
				 sd->name, sd->tmpl_path, err_str(r));
			unlink(sd->tmpl_path);
		} else {
			log_warn("stub domain %s: no template (%s): booting it", sd->name,
				 err_str(fd));
		}
	}
	return start_cold(sp, sd, in_child, data);
}

int stubdom_resume(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		   void *data)
{
	char devs[1 + 2 * DMPROC_MAX_DEVS][160], words[160];
	const char *dv[1 + 2 * DMPROC_MAX_DEVS];
	unsigned int n;
	int r;

	if (!sd->restoring)
		return 0;
	sd->restoring = false;
	n = restore_devices(sp, sd, devs);
	for (unsigned int i = 0; i < n; i++)
		dv[i] = devs[i];
	r = qmp_open_fd(sd->qmp_fd, 10000, &sd->qmp);
	sd->qmp_fd = -1; /* the client's now, closed on failure too */
	if (r)
		log_err("stub domain %s: its QMP: %s", sd->name, err_str(r));
	if (!r)
		r = stubsnap_load_begin(sd->qmp, sd->tmpl_fdnum);
	if (!r)
		r = stubsnap_load_finish(sd->qmp, dv, n, 30000);
	guest_words(sp, words, sizeof(words));
	if (!r)
		r = stubsnap_wake(sd->wake_fd, words);
	qmp_close(sd->qmp);
	sd->qmp = NULL;
	close(sd->wake_fd);
	sd->wake_fd = -1;
	if (!r) {
		log_info("stub domain %s: restored from %s in %llu ms (QEMU start to wake line)",
			 sd->name, sd->tmpl_path, (unsigned long long)(now_ms() - sd->restore_t0));
		return 0;
	}
	log_warn("stub domain %s: restoring %s failed (%s): deleting it, booting the stub "
		 "domain",
		 sd->name, sd->tmpl_path, err_str(r));
	unlink(sd->tmpl_path);
	reap(&sd->qemu);
	close(sd->console_fd);
	sd->console_fd = -1;
	r = start_cold(sp, sd, in_child, data);
	return r ? r : 1;
}

int stubdom_start(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		  void *data)
{
	int r = start_relay(sp, sd, in_child, data);

	if (r) {
		log_err("stub domain %s: relay: %s", sd->name, err_str(r));
		return r;
	}
	r = start_qemu(sp, sd, in_child, data);
	if (r)
		log_err("stub domain %s: QEMU: %s", sd->name, err_str(r));
	return r;
}

void stubdom_poll(struct xs_client *xs, const struct stubdom_spec *sp, struct stubdom *sd,
		  char *buf, size_t size)
{
	struct buf v = BUF_INIT;
	char path[128];

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/local/domain/%u/device-model/%u/state", sd->domid,
		 sp->guest_domid);
	if (xs && xs_client_read(xs, 0, path, &v) == 0) {
		size_t n = buf_used(&v) < size - 1 ? buf_used(&v) : size - 1;
		memcpy(buf, buf_head(&v), n);
		buf[n] = '\0';
	}
	buf_free(&v);
	if (strcmp(buf, "running") == 0)
		sd->running = true;
}

void stubdom_stop(struct xs_client *xs, struct stubdom *sd)
{
	char path[512];

	reap(&sd->qemu);
	reap(&sd->relay);
	if (sd->console_fd >= 0)
		close(sd->console_fd);
	sd->console_fd = -1;
	if (sd->wake_fd >= 0)
		close(sd->wake_fd);
	sd->wake_fd = -1;
	qmp_close(sd->qmp);
	sd->qmp = NULL;
	if (sd->qmp_fd >= 0)
		close(sd->qmp_fd);
	sd->qmp_fd = -1;
	sd->restoring = false;
	if (sd->neng) {
		snprintf(path, sizeof(path), "%s", sd->dir);
		char *slash = strrchr(path, '/');
		if (slash) {
			snprintf(slash, sizeof(path) - (size_t)(slash - path), "/chroot");
			dmproc_unlisten(sd->eng, sd->neng, path);
		}
		sd->neng = 0;
	}
	if (sd->ivshmem_fd >= 0) {
		close(sd->ivshmem_fd);
		snprintf(path, sizeof(path), "%s/ivshmem.sock", sd->dir);
		unlink(path);
	}
	if (sd->port_fd >= 0) {
		close(sd->port_fd);
		snprintf(path, sizeof(path), "%s/stubproto.sock", sd->dir);
		unlink(path);
	}
	sd->ivshmem_fd = sd->port_fd = -1;
	if (sd->dir[0])
		rmdir(sd->dir);
	/* The records first: RELEASE removes the stub's home, and with it the
	 * record that names its /vm/<uuid>. */
	if (xs && sd->registered)
		domstore_remove(xs, sd->domid);
	if (xs && sd->introduced)
		xs_client_release(xs, sd->domid);
	sd->introduced = sd->registered = false;
}

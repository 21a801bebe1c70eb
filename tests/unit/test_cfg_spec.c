/* test_cfg_spec.c — the disk and vif spec grammars (diskspec.h,
 * vifspec.h): the examples of xl-disk-configuration(5) and
 * xl-network-configuration(5), positional and keyed forms, xend's
 * deprecated prefixes, errors and warnings, and the small helpers (vdev
 * names, MAC addresses, rates).
 */
#include "cfg_util.h"
#include "cfg/diskspec.h"
#include "cfg/vifspec.h"

#include <errno.h>

/* ---- disks --------------------------------------------------------------- */

/* Parses a disk spec that must be valid. */
static int disk(const char *spec, struct cfg_disk *d, struct cfg_diag *diag)
{
	int r = cfg_disk_parse(spec, d, diag, "d");

	if (r) {
		printf("# disk spec '%s' failed (%d)\n", spec, r);
		diag_print(diag);
	}
	return r;
}

/* Parses a disk spec that must fail with `msg`. */
static void disk_error(const char *spec, const char *msg)
{
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_disk d;

	CHECK_EQ_INT(cfg_disk_parse(spec, &d, &diag, "d"), -EINVAL);
	CHECK(d.target == NULL && d.vdev == NULL);
	CHECK_ERROR(&diag, msg);
	cfg_diag_free(&diag);
}

/* Parses a disk spec that must succeed with `msg` among the warnings. */
static void disk_warning(const char *spec, const char *msg)
{
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_disk d;

	CHECK_EQ_INT(disk(spec, &d, &diag), 0);
	CHECK_WARNING(&diag, msg);
	cfg_disk_clear(&d);
	cfg_diag_free(&diag);
}

/* All `specs` must mean the same disk. */
static void disks_equal(const char *const *specs, size_t n, const char *target,
			enum cfg_disk_format format, const char *vdev, bool ro, bool cdrom)
{
	for (size_t i = 0; i < n; i++) {
		struct cfg_diag diag = CFG_DIAG_INIT;
		struct cfg_disk d;
		if (disk(specs[i], &d, &diag) != 0) {
			CHECK(!"spec parses");
			cfg_diag_free(&diag);
			continue;
		}
		if (target)
			CHECK_EQ_STR(d.target, target);
		else
			CHECK(d.target == NULL);
		CHECK_EQ_INT(d.format, format);
		CHECK_EQ_STR(d.vdev, vdev);
		CHECK_EQ_INT(d.readonly, ro);
		CHECK_EQ_INT(d.cdrom, cdrom);
		CHECK(d.discard);
		CHECK_EQ_INT(diag.n_errors, 0);
		cfg_disk_clear(&d);
		cfg_diag_free(&diag);
	}
}

static void test_disk_manual_examples(void)
{
	/* The two groups of equivalent specs in xl-disk-configuration(5). */
	static const char *const volume[] = {
		"/dev/vg/guest-volume,,hda",
		"/dev/vg/guest-volume,raw,hda,rw",
		"format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
		"raw:/dev/vg/guest-volume,hda,w",
	};
	static const char *const iso[] = {
		"/root/image.iso,,hdc,cdrom",
		"/root/image.iso,,hdc,,cdrom",
		"/root/image.iso,raw,hdc,devtype=cdrom",
		"format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
		"raw:/root/image.iso,hdc:cdrom,ro",
	};
	/* Empty cdrom drives, new and xend syntax. */
	static const char *const empty[] = {
		",,hdc,cdrom",
		"vdev=hdc, devtype=cdrom",
		",hdc:cdrom,r",
		"format=empty, vdev=hdc, cdrom",
	};

	disks_equal(volume, 4, "/dev/vg/guest-volume", CFG_DISK_RAW, "hda", false, false);
	disks_equal(iso, 5, "/root/image.iso", CFG_DISK_RAW, "hdc", true, true);
	disks_equal(empty, 4, NULL, CFG_DISK_RAW, "hdc", true, true);
}

static void test_disk_real_world(void)
{
	/* Forms seen in real configs (xm/xend era and xl era). */
	static const char *const phy[] = {
		"phy:/dev/vg0/web,xvda,w",  "phy:/dev/vg0/web,xvda,rw",
		"/dev/vg0/web,raw,xvda,rw", "vdev=xvda, target=/dev/vg0/web",
		"  target=/dev/vg0/web",
	};
	static const char *const tap[] = {
		"tap:qcow2:/var/lib/xen/images/web.qcow2,xvda,w",
		"tap2:tapdisk:qcow2:/var/lib/xen/images/web.qcow2,xvda,w",
		"/var/lib/xen/images/web.qcow2,qcow2,xvda,w",
		"format=qcow2,vdev=xvda,target=/var/lib/xen/images/web.qcow2",
	};
	static const char *const file[] = {
		"file:/srv/xen/web.img,sda,r",
		"tap:aio:/srv/xen/web.img,sda,ro",
		"ioemu:/srv/xen/web.img,sda,r",
		"/srv/xen/web.img,,sda,r",
	};
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_disk d;

	disks_equal(phy, 3, "/dev/vg0/web", CFG_DISK_RAW, "xvda", false, false);
	disks_equal(tap, 4, "/var/lib/xen/images/web.qcow2", CFG_DISK_QCOW2, "xvda", false, false);
	disks_equal(file, 4, "/srv/xen/web.img", CFG_DISK_RAW, "sda", true, false);

	/* target= takes everything after it, commas and blanks included. */
	CHECK_EQ_INT(disk("vdev=xvdb, format=vhd, target=/data/a,b c.vhd", &d, &diag), 0);
	CHECK_EQ_STR(d.target, "/data/a,b c.vhd");
	CHECK_EQ_INT(d.format, CFG_DISK_VHD);
	cfg_disk_clear(&d);
	/* ... except one trailing comma; an empty positional target may be
	 * given again by name. */
	CHECK_EQ_INT(disk(",qed,xvdc,ro,target=/x.qed,", &d, &diag), 0);
	CHECK_EQ_STR(d.target, "/x.qed");
	CHECK_EQ_INT(d.format, CFG_DISK_QED);
	CHECK(d.readonly);
	cfg_disk_clear(&d);
	/* Flags, and the bus and index the vdev implies. */
	CHECK_EQ_INT(disk("/a.img,raw,vdb,w,no-discard,direct-io-safe", &d, &diag), 0);
	CHECK(!d.discard && d.direct_io_safe);
	CHECK_EQ_INT(d.bus, CFG_DISK_BUS_VIRTIO);
	CHECK_EQ_INT(d.index, 1);
	cfg_disk_clear(&d);
	CHECK_EQ_INT(disk("discard,/a.img,qcow,hdb", &d, &diag), 0);
	CHECK(d.discard);
	CHECK_EQ_INT(d.format, CFG_DISK_QCOW);
	CHECK_EQ_INT(d.bus, CFG_DISK_BUS_IDE);
	CHECK_EQ_INT(d.index, 1);
	cfg_disk_clear(&d);
	CHECK_EQ_INT(disk("/a.img,,sdc,devtype=disk", &d, &diag), 0);
	CHECK_EQ_INT(d.bus, CFG_DISK_BUS_SCSI);
	CHECK_EQ_INT(d.index, 2);
	CHECK(!d.cdrom);
	cfg_disk_clear(&d);
	/* Relative targets stay as written here; domcfg resolves them. */
	CHECK_EQ_INT(disk("images/a.img,,xvda", &d, &diag), 0);
	CHECK_EQ_STR(d.target, "images/a.img");
	cfg_disk_clear(&d);
	CHECK_EQ_INT(diag.n_errors, 0);
	CHECK_EQ_INT(diag.n_warnings, 0);
	cfg_diag_free(&diag);
}

static void test_disk_errors(void)
{
	disk_error("/a.img,xvda,w",
		   "d: unknown format 'xvda' (positions are target,format,vdev,access: "
		   "write ',,xvda'");
	disk_error("/a.img,vmdk,xvda", "unknown format 'vmdk' (raw, qcow, qcow2, vhd, qed)");
	disk_error("/a.img,raw,xvda,w,extra", "too many positional parameters at 'extra'");
	disk_error("/a.img", "no vdev");
	disk_error("/a.img,raw", "no vdev");
	disk_error("/a.img,,", "no vdev");
	disk_error(",,xvda", "no target");
	disk_error("", "no vdev");
	disk_error("/a.img,,xvda1", "vdev 'xvda1': partitions are for PV guests");
	disk_error("/a.img,,d0p1", "partitions are for PV guests");
	disk_error("/a.img,,hde", "vdev 'hde': IDE has four devices, hda to hdd");
	disk_error("/a.img,,floppy", "vdev 'floppy' is not a device name");
	disk_error("/a.img,,xvda,rwx", "unknown access 'rwx' (r, ro, w or rw)");
	disk_error("/a.img,,xvda,devtype=tape", "unknown device type 'tape'");
	disk_error(",hdc:tape,r", "unknown device type 'tape'");
	disk_error("/a.img,,xvda,backendtype=nbd", "unknown backendtype 'nbd'");
	disk_error("/a.img,,xvda,specification=scsi", "unknown specification 'scsi'");
	disk_error("vdve=xvda,target=/a", "unknown parameter 'vdve=' (did you mean 'vdev='?)");
	disk_error("fromat=raw,vdev=xvda,target=/a", "did you mean 'format='?");
	disk_error("zzzzzz=1,vdev=xvda,target=/a", "unknown parameter 'zzzzzz='");
	disk_error("/a=b.img,,xvda", "'/a=b.img' is not a parameter: a target holding '=' or ','");
	disk_error("foo:/a.img,xvda,w", "unknown deprecated disk prefix 'foo:'");
	disk_error("vdev=xvda,vdev=xvdb,target=/a", "vdev given twice ('xvda', then 'xvdb')");
	disk_error("/a.img,raw,xvda,format=qcow2", "format given twice ('raw', then 'qcow2')");
	disk_error("/a.img,,xvda,ro,access=rw", "access given twice");
	disk_error("/a,,xvda,target=/b", "target given twice ('/a', then '/b')");
	disk_error("format=empty,vdev=hdc,cdrom,target=/a.iso",
		   "format 'empty' is for an empty cdrom");
}

static void test_disk_warnings(void)
{
	disk_warning(
		"/a.img,,xvda,script=block-iscsi",
		"d: 'script=block-iscsi' is not supported: the target is opened as a plain file");
	disk_warning("iscsi:iqn.2001-04.com.example:storage,xvda,w", "'script=block-iscsi'");
	disk_warning("nbd:host:1234,xvda,w", "'script=block-nbd'");
	disk_warning("/a.img,,xvda,backendtype=qdisk", "'backendtype' ignored: airlock serves");
	disk_warning("/a.img,,xvda,backend=driver-dom",
		     "'backend=driver-dom' ignored: driver domains");
	disk_warning("/a.img,,xvda,colo,colo-host=h,colo-port=9000", "'colo' ignored: COLO");
	disk_warning("/a.img,,xvda,trusted", "'trusted' ignored");
	disk_warning("/a.img,,xvda,specification=xen", "'specification' ignored");
	disk_warning("/a.iso,,hdc,rw,cdrom", "a cdrom is read-only; access=rw ignored");

	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_disk d;
	CHECK_EQ_INT(disk("/a.img,,xvda,backend=0,specification=virtio", &d, &diag), 0);
	CHECK_EQ_INT(diag.n_warnings, 0);
	cfg_disk_clear(&d);
	CHECK_EQ_INT(disk("nbd:host:1234,xvda,w", &d, &diag), 0);
	CHECK_EQ_STR(d.target, "host:1234");
	cfg_disk_clear(&d);
	CHECK_EQ_INT(disk("/a.iso,,hdc,rw,cdrom", &d, &diag), 0);
	CHECK(d.readonly);
	cfg_disk_clear(&d);
	cfg_diag_free(&diag);
}

static void test_vdev_names(void)
{
	static const struct {
		const char *vdev;
		int r;
		enum cfg_disk_bus bus;
		unsigned int index;
	} cases[] = {
		{"xvda", 0, CFG_DISK_BUS_VIRTIO, 0},
		{"xvdb", 0, CFG_DISK_BUS_VIRTIO, 1},
		{"xvdz", 0, CFG_DISK_BUS_VIRTIO, 25},
		{"xvdaa", 0, CFG_DISK_BUS_VIRTIO, 26},
		{"xvdab", 0, CFG_DISK_BUS_VIRTIO, 27},
		{"xvdba", 0, CFG_DISK_BUS_VIRTIO, 52},
		{"xvdzz", 0, CFG_DISK_BUS_VIRTIO, 701},
		{"vda", 0, CFG_DISK_BUS_VIRTIO, 0},
		{"vdd", 0, CFG_DISK_BUS_VIRTIO, 3},
		{"hda", 0, CFG_DISK_BUS_IDE, 0},
		{"hdd", 0, CFG_DISK_BUS_IDE, 3},
		{"sda", 0, CFG_DISK_BUS_SCSI, 0},
		{"sdp", 0, CFG_DISK_BUS_SCSI, 15},
		{"d0", 0, CFG_DISK_BUS_VIRTIO, 0},
		{"d7", 0, CFG_DISK_BUS_VIRTIO, 7},
		{"d701", 0, CFG_DISK_BUS_VIRTIO, 701},
		{"hde", -ERANGE, 0, 0},
		{"hdaa", -ERANGE, 0, 0},
		{"d702", -ERANGE, 0, 0},
		{"d01", -EINVAL, 0, 0},
		{"d99999999999", -EINVAL, 0, 0},
		{"xvda1", -EINVAL, 0, 0},
		{"xvdaaa", -EINVAL, 0, 0},
		{"xvd", -EINVAL, 0, 0},
		{"xvdA", -EINVAL, 0, 0},
		{"xvda ", -EINVAL, 0, 0},
		{"", -EINVAL, 0, 0},
		{"d", -EINVAL, 0, 0},
		{"nvme0n1", -EINVAL, 0, 0},
		{"/dev/xvda", -EINVAL, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum cfg_disk_bus bus = 99;
		unsigned int index = 12345;
		int r = cfg_vdev_parse(cases[i].vdev, &bus, &index);
		if (r != cases[i].r)
			printf("# vdev '%s': %d, expected %d\n", cases[i].vdev, r, cases[i].r);
		CHECK_EQ_INT(r, cases[i].r);
		if (r == 0) {
			CHECK_EQ_INT(bus, cases[i].bus);
			CHECK_EQ_INT(index, cases[i].index);
		} else {
			CHECK_EQ_INT(bus, 99);
			CHECK_EQ_INT(index, 12345);
		}
	}
	enum cfg_disk_format f;
	CHECK_EQ_INT(cfg_disk_format_parse("qcow2", &f), 0);
	CHECK_EQ_INT(f, CFG_DISK_QCOW2);
	CHECK_EQ_INT(cfg_disk_format_parse("", &f), 0);
	CHECK_EQ_INT(f, CFG_DISK_RAW);
	CHECK_EQ_INT(cfg_disk_format_parse("QCOW2", &f), -EINVAL);
	CHECK_EQ_STR(cfg_disk_format_name(CFG_DISK_VHD), "vhd");
}

static void test_disk_spec_round_trip(void)
{
	static const char *const specs[] = {
		"/a.img,,xvda",
		"phy:/dev/vg/x,hdb,r",
		",,hdc,cdrom",
		"/b.iso,,hdd,cdrom,no-discard,direct-io-safe",
		"format=qcow2,vdev=xvdzz,target=/weird, name ,",
		"vdev=sdb,target= leading blank",
	};

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct cfg_diag diag = CFG_DIAG_INIT;
		struct cfg_disk a, b;
		struct buf out = BUF_INIT;

		if (disk(specs[i], &a, &diag) != 0) {
			CHECK(!"spec parses");
			continue;
		}
		CHECK_EQ_INT(cfg_disk_format_spec(&a, &out), 0);
		CHECK_EQ_INT(buf_append(&out, "", 1), 0);
		CHECK_EQ_INT(disk((const char *)buf_head(&out), &b, &diag), 0);
		if (a.target || b.target)
			CHECK_EQ_STR(a.target, b.target);
		CHECK_EQ_STR(a.vdev, b.vdev);
		CHECK(a.format == b.format && a.readonly == b.readonly && a.cdrom == b.cdrom &&
		      a.discard == b.discard && a.direct_io_safe == b.direct_io_safe &&
		      a.bus == b.bus && a.index == b.index);
		cfg_disk_clear(&a);
		cfg_disk_clear(&b);
		buf_free(&out);
		cfg_diag_free(&diag);
	}
}

/* ---- vifs -------------------------------------------------------------- */

static int vif(const char *spec, struct cfg_vif *v, struct cfg_diag *diag)
{
	int r = cfg_vif_parse(spec, v, diag, "v");

	if (r) {
		printf("# vif spec '%s' failed (%d)\n", spec, r);
		diag_print(diag);
	}
	return r;
}

static void vif_error(const char *spec, const char *msg)
{
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_vif v;

	CHECK_EQ_INT(cfg_vif_parse(spec, &v, &diag, "v"), -EINVAL);
	CHECK(v.bridge == NULL);
	CHECK_ERROR(&diag, msg);
	cfg_diag_free(&diag);
}

static void vif_warning(const char *spec, const char *msg)
{
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_vif v;

	CHECK_EQ_INT(vif(spec, &v, &diag), 0);
	CHECK_WARNING(&diag, msg);
	cfg_vif_clear(&v);
	cfg_diag_free(&diag);
}

static void test_vif_manual_examples(void)
{
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_vif v;

	CHECK_EQ_INT(vif("mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0", &v, &diag), 0);
	CHECK(v.mac_set);
	CHECK_EQ_INT(v.mac[0], 0x00);
	CHECK_EQ_INT(v.mac[2], 0x3e);
	CHECK_EQ_INT(v.mac[5], 0x76);
	CHECK_EQ_INT(v.model, CFG_VIF_RTL8139);
	CHECK_EQ_STR(v.bridge, "xenbr0");
	CHECK_EQ_INT(v.backend, CFG_VIF_TAP);
	cfg_vif_clear(&v);
	CHECK_EQ_INT(vif("mac=00:16:3E:74:34:32", &v, &diag), 0);
	CHECK_EQ_STR(v.bridge, CFG_VIF_DEFAULT_BRIDGE);
	CHECK_EQ_INT(v.model, CFG_VIF_VIRTIO);
	cfg_vif_clear(&v);
	/* The empty string: all defaults, MAC generated later. */
	CHECK_EQ_INT(vif("", &v, &diag), 0);
	CHECK(!v.mac_set);
	CHECK_EQ_STR(v.bridge, "xenbr0");
	CHECK(v.ip == NULL && v.vifname == NULL && v.mtu == 0 && v.rate_bytes_per_s == 0);
	cfg_vif_clear(&v);
	CHECK_EQ_INT(vif(" mac=00:16:3e:5f:48:e4 , bridge=xenbr1 ,", &v, &diag), 0);
	CHECK_EQ_STR(v.bridge, "xenbr1");
	cfg_vif_clear(&v);
	CHECK_EQ_INT(vif("bridge=br0,ip=192.168.1.20 10.0.0.2/24 fd00::2,vifname=web0-emu,"
			 "model=e1000,mtu=9000,type=ioemu",
			 &v, &diag),
		     0);
	CHECK_EQ_STR(v.ip, "192.168.1.20 10.0.0.2/24 fd00::2");
	CHECK_EQ_STR(v.vifname, "web0-emu");
	CHECK_EQ_INT(v.model, CFG_VIF_E1000);
	CHECK_EQ_INT(v.mtu, 9000);
	cfg_vif_clear(&v);
	CHECK_EQ_INT(vif("model=virtio-net-pci", &v, &diag), 0);
	CHECK_EQ_INT(v.model, CFG_VIF_VIRTIO);
	cfg_vif_clear(&v);
	CHECK_EQ_INT(diag.n_errors, 0);
	CHECK_EQ_INT(diag.n_warnings, 0);
	cfg_diag_free(&diag);
}

static void test_vif_passt(void)
{
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_vif v;

	CHECK_EQ_INT(vif("type=passt", &v, &diag), 0);
	CHECK_EQ_INT(v.backend, CFG_VIF_PASST);
	CHECK(v.bridge == NULL);
	CHECK_EQ_INT(v.model, CFG_VIF_VIRTIO);
	cfg_vif_clear(&v);
	CHECK_EQ_INT(vif("type=passt,mac=02:00:00:00:00:07,ip=10.0.2.15", &v, &diag), 0);
	CHECK(v.mac_set);
	CHECK_EQ_STR(v.ip, "10.0.2.15");
	cfg_vif_clear(&v);
	CHECK_EQ_INT(diag.n_warnings, 0);
	cfg_diag_free(&diag);
	vif_warning("type=passt,bridge=br0",
		    "v: 'bridge=br0' ignored: a passt vif joins no bridge");
	vif_warning("type=passt,vifname=x0", "'vifname=x0' ignored: a passt vif has no host");
	vif_warning("type=vif,bridge=br0", "'type=vif' (PV only): airlock has no Xen PV NICs");
}

static void test_vif_errors_and_warnings(void)
{
	vif_error("mac=00:16:3e:74:3d", "v: mac '00:16:3e:74:3d' is not six hex pairs");
	vif_error("mac=00-16-3e-74-3d-76", "is not six hex pairs");
	vif_error("mac=0:16:3e:74:3d:76", "is not six hex pairs");
	vif_error("mac=01:00:5e:00:00:01", "is a multicast or zero address");
	vif_error("mac=00:00:00:00:00:00", "is a multicast or zero address");
	vif_error("model=ne2k_pci", "unsupported model 'ne2k_pci' (virtio, e1000, rtl8139)");
	vif_error("type=slirp", "unknown type 'slirp' (ioemu, vif, or airlock's passt)");
	vif_error("bridge=this-name-is-too-long",
		  "bridge 'this-name-is-too-long' is not an interface");
	vif_error("bridge=", "bridge '' is not an interface name");
	vif_error("bridge=br 0", "is not an interface name");
	vif_error("vifname=-x", "vifname '-x' is not an interface name");
	vif_error("vifname=a/b", "is not an interface name");
	vif_error("ip=300.1.1.1", "ip '300.1.1.1' is not a list of IPv4/IPv6 addresses");
	vif_error("ip=10.0.0.1/33", "is not a list");
	vif_error("ip=", "is not a list");
	vif_error("ip=fe80::1/129", "is not a list");
	vif_error("mtu=67", "mtu '67' is not a number from 68 to 65535");
	vif_error("mtu=65536", "mtu '65536'");
	vif_error("mtu=9k", "mtu '9k'");
	vif_error("rate=fast", "rate 'fast' is not RATE/s[@INTERVAL]");
	vif_error("brigde=xenbr0", "v: unknown key 'brigde' (did you mean 'bridge'?)");
	vif_error("macaddr=00:16:3e:00:00:01", "unknown key 'macaddr'");
	vif_error("xenbr0", "'xenbr0' is not key=value");
	vif_error("mac=zz:16:3e:74:3d:76,model=pcnet", "unsupported model 'pcnet'");

	vif_warning("script=vif-bridge", "v: 'script=vif-bridge' ignored: hotplug scripts");
	vif_warning("backend=netdom", "'backend=netdom' ignored: driver domains");
	vif_warning("devid=3", "'devid=3' ignored");
	vif_warning("gatewaydev=eth0", "routed and NAT vifs are not supported");
	vif_warning("netdev=eth0", "routed and NAT vifs are not supported");
	vif_warning("accel=netfront", "'accel=netfront' ignored");
	vif_warning("colo_sock_mirror_id=1,colo_sock_mirror_ip=1.2.3.4", "COLO replication");
	vif_warning("bridge=a,bridge=b", "v: 'bridge' given twice; the last one counts");

	struct cfg_diag diag = CFG_DIAG_INIT;
	struct cfg_vif v;
	CHECK_EQ_INT(vif("bridge=a,bridge=b,backend=0", &v, &diag), 0);
	CHECK_EQ_STR(v.bridge, "b");
	CHECK_EQ_INT(diag.n_warnings, 1);
	cfg_vif_clear(&v);
	cfg_diag_free(&diag);
}

static void test_mac_helpers(void)
{
	uint8_t mac[6] = {9, 9, 9, 9, 9, 9};
	char text[18];

	CHECK_EQ_INT(cfg_mac_parse("00:16:3E:aB:0c:ff", mac), 0);
	CHECK_EQ_INT(mac[3], 0xab);
	CHECK_EQ_INT(mac[5], 0xff);
	cfg_mac_format(mac, text);
	CHECK_EQ_STR(text, "00:16:3e:ab:0c:ff");
	CHECK(cfg_mac_usable(mac));
	CHECK_EQ_INT(cfg_mac_parse("00:16:3e:ab:0c:ff:", mac), -EINVAL);
	CHECK_EQ_INT(cfg_mac_parse("00:16:3e:ab:0c", mac), -EINVAL);
	CHECK_EQ_INT(cfg_mac_parse("", mac), -EINVAL);
	CHECK_EQ_INT(cfg_mac_parse("0016.3eab.0cff", mac), -EINVAL);
	CHECK_EQ_INT(mac[0], 0x00); /* untouched on error */
	CHECK_EQ_INT(cfg_mac_parse("03:00:00:00:00:01", mac), 0);
	CHECK(!cfg_mac_usable(mac));
	CHECK_EQ_INT(cfg_mac_parse("02:00:00:00:00:01", mac), 0);
	CHECK(cfg_mac_usable(mac));
}

static void test_rate(void)
{
	static const struct {
		const char *s;
		int r;
		uint64_t bytes;
		uint32_t interval;
	} cases[] = {
		{"10Mb/s", 0, 1250000, 50000},
		{"250KB/s", 0, 250000, 50000},
		{"1MB/s@20ms", 0, 1000000, 20000},
		{"1GB/s@1s", 0, 1000000000, 1000000},
		{"8b/s@100us", 0, 1, 100},
		{"100B/s@250", 0, 100, 250},
		{"5000/s", 0, 5000, 50000},
		{"1Gb/s", 0, 125000000, 50000},
		{"7b/s", -EINVAL, 0, 0},
		{"0MB/s", -EINVAL, 0, 0},
		{"10Mb", -EINVAL, 0, 0},
		{"10Mb/s@", -EINVAL, 0, 0},
		{"10Mb/s@0ms", -EINVAL, 0, 0},
		{"10Mb/s@5min", -EINVAL, 0, 0},
		{"10Mb/s@4295s", -EINVAL, 0, 0},
		{"10TB/s", -EINVAL, 0, 0},
		{"99999999999999999999MB/s", -EINVAL, 0, 0},
		{"10000000000GB/s", -EINVAL, 0, 0},
		{"/s", -EINVAL, 0, 0},
		{"", -EINVAL, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t bytes = 0;
		uint32_t iv = 0;
		int r = cfg_rate_parse(cases[i].s, &bytes, &iv);
		if (r != cases[i].r)
			printf("# rate '%s': %d\n", cases[i].s, r);
		CHECK_EQ_INT(r, cases[i].r);
		if (r == 0) {
			CHECK_EQ_INT(bytes, cases[i].bytes);
			CHECK_EQ_INT(iv, cases[i].interval);
		}
	}
}

static void test_vif_spec_round_trip(void)
{
	static const char *const specs[] = {
		"",
		"type=passt",
		"mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0",
		"bridge=br1,ip=10.0.0.2  10.0.0.3,vifname=x.0,mtu=1280,rate=1MB/s@20ms",
		"type=vif,model=e1000",
	};

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct cfg_diag diag = CFG_DIAG_INIT;
		struct cfg_vif a, b;
		struct buf out = BUF_INIT;

		if (vif(specs[i], &a, &diag) != 0) {
			CHECK(!"spec parses");
			continue;
		}
		CHECK_EQ_INT(cfg_vif_format_spec(&a, &out), 0);
		CHECK_EQ_INT(buf_append(&out, "", 1), 0);
		CHECK_EQ_INT(vif((const char *)buf_head(&out), &b, &diag), 0);
		CHECK(a.mac_set == b.mac_set && memcmp(a.mac, b.mac, 6) == 0);
		CHECK(a.backend == b.backend && a.model == b.model && a.mtu == b.mtu);
		CHECK(a.rate_bytes_per_s == b.rate_bytes_per_s &&
		      a.rate_interval_us == b.rate_interval_us);
		CHECK((!a.bridge && !b.bridge) ||
		      (a.bridge && b.bridge && !strcmp(a.bridge, b.bridge)));
		CHECK((!a.ip && !b.ip) || (a.ip && b.ip && !strcmp(a.ip, b.ip)));
		CHECK((!a.vifname && !b.vifname) ||
		      (a.vifname && b.vifname && !strcmp(a.vifname, b.vifname)));
		cfg_vif_clear(&a);
		cfg_vif_clear(&b);
		buf_free(&out);
		cfg_diag_free(&diag);
	}
}

int main(void)
{
	RUN(test_disk_manual_examples);
	RUN(test_disk_real_world);
	RUN(test_disk_errors);
	RUN(test_disk_warnings);
	RUN(test_vdev_names);
	RUN(test_disk_spec_round_trip);
	RUN(test_vif_manual_examples);
	RUN(test_vif_passt);
	RUN(test_vif_errors_and_warnings);
	RUN(test_mac_helpers);
	RUN(test_rate);
	RUN(test_vif_spec_round_trip);
	return tap_done();
}

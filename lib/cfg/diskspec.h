/* diskspec.h — one entry of `disk = [...]` in xl-disk-configuration(5)
 * syntax, and guest device names (vdevs).
 *
 * A spec is a comma-separated mix of positional parameters
 * (target, format, vdev, access, in that order), key=value parameters,
 * flags, and xend's deprecated "prefix:" forms:
 *
 *   /images/g.img,qcow2,xvda,rw
 *   format=raw, vdev=hda, access=rw, target=/dev/vg/guest
 *   phy:/dev/vg/guest,xvda,w            (deprecated, still common)
 *   /iso/d.iso,,hdc,cdrom   ,hdc:cdrom,r  (an empty cdrom drive)
 *
 * `target=` swallows the rest of the spec, commas included, so it must come
 * last. docs/config.md lists what airlock accepts, ignores (with a warning)
 * or refuses.
 */
#ifndef AIRLOCK_CFG_DISKSPEC_H
#define AIRLOCK_CFG_DISKSPEC_H

#include "cfg/xlcfg.h"
#include "common/buf.h"

#include <stdbool.h>

enum cfg_disk_format {
	CFG_DISK_RAW,
	CFG_DISK_QCOW,
	CFG_DISK_QCOW2,
	CFG_DISK_VHD,
	CFG_DISK_QED,
};

/* The bus a vdev's prefix asks for: xvd/vd → virtio, hd → IDE, sd → SCSI. */
enum cfg_disk_bus {
	CFG_DISK_BUS_VIRTIO,
	CFG_DISK_BUS_IDE,
	CFG_DISK_BUS_SCSI,
};

/* Highest vdev index: two letters after the prefix (xvdzz). */
#define CFG_VDEV_INDEX_MAX 701u

struct cfg_disk {
	char *target; /* image file or block device as written; NULL: empty cdrom */
	enum cfg_disk_format format;
	char *vdev; /* "xvda" */
	enum cfg_disk_bus bus;
	unsigned int index; /* position on its bus: xvda/hda/sda/vda = 0 */
	bool readonly;
	bool cdrom;
	bool discard; /* advertise discard to the guest (xl's default: yes) */
	bool direct_io_safe;
	unsigned int line; /* of the spec in its config file; set by the caller */
};

/* Parses one disk spec into *out (zeroed first). Every problem is appended
 * to `diag` as "<where>: <message>" — errors for what cannot work, warnings
 * for xl parameters airlock ignores. Returns 0, -EINVAL (at least one error
 * reported; *out is cleared) or -ENOMEM. Release with cfg_disk_clear. */
int cfg_disk_parse(const char *spec, struct cfg_disk *out, struct cfg_diag *diag,
		   const char *where);

/* Frees a disk's strings and zeroes it. */
void cfg_disk_clear(struct cfg_disk *disk);

/* Parses a vdev name: xvd<x>, vd<x>, sd<x>, hd<x> with <x> one or two
 * letters (a = 0, z = 25, aa = 26 ... zz = 701), or d<N> (N ≤ 701). IDE has
 * four devices (hda..hdd). Returns 0, -EINVAL (not a whole-disk vdev; a
 * partition such as xvda1 is -EINVAL too) or -ERANGE (IDE beyond hdd). */
int cfg_vdev_parse(const char *vdev, enum cfg_disk_bus *bus, unsigned int *index);

/* Parses "raw", "qcow", "qcow2", "vhd", "qed" ("" is raw). 0 or -EINVAL. */
int cfg_disk_format_parse(const char *s, enum cfg_disk_format *out);

/* "raw", "qcow2", ... */
const char *cfg_disk_format_name(enum cfg_disk_format format);

/* Appends the disk's normalized spec (keyed form, target last, which
 * cfg_disk_parse reads back to the same disk) to `out`. 0 or -ENOMEM. */
int cfg_disk_format_spec(const struct cfg_disk *disk, struct buf *out);

#endif

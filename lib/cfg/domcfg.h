/* domcfg.h — a guest's configuration: xl.cfg files read against airlock's
 * schema into a struct dom_config.
 *
 * What each key means, its type and default are in docs/config.md. In
 * short: keys airlock implements fill the struct; keys xl knows but airlock
 * does not implement yet give a warning and are ignored; any other key (a
 * typo) is an error with a suggestion; wrong types, values out of range and
 * referenced files that do not exist are errors. Every problem is reported
 * (not just the first), and a configuration with any error is refused as a
 * whole: the caller starts nothing. Warnings come back to the caller, which
 * prints them.
 */
#ifndef AIRLOCK_CFG_DOMCFG_H
#define AIRLOCK_CFG_DOMCFG_H

#include "cfg/diskspec.h"
#include "cfg/vifspec.h"
#include "cfg/xlcfg.h"
#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOMCFG_NAME_MAX	      64
#define DOMCFG_VCPUS_MAX      64
#define DOMCFG_DISKS_MAX      64
#define DOMCFG_VIFS_MAX	      32
#define DOMCFG_MEMORY_MAX     (1024u * 1024u) /* MiB: 1 TiB */
#define DOMCFG_MEMORY_DEFAULT 256u	      /* MiB */
/* Largest config file domcfg_load reads. */
#define DOMCFG_FILE_MAX (1024u * 1024u)

enum dom_boot {
	DOM_BOOT_FIRMWARE, /* SeaBIOS boots the first disk */
	DOM_BOOT_DIRECT,   /* the engine loads kernel (and ramdisk) itself */
};

/* Where the guest's devices are emulated (device_model_version and
 * device_model_stubdomain_override). */
enum dom_placement {
	DOM_PLACEMENT_ENGINE,  /* "qemu": the engine's own in-process devices */
	DOM_PLACEMENT_DM,      /* "airlock": airlock-dm as a host process */
	DOM_PLACEMENT_STUBDOM, /* airlock-dm inside a stub domain */
};

/* What happens when the guest powers off, reboots or crashes. */
enum dom_action {
	DOM_ACTION_DESTROY,  /* tear the domain down */
	DOM_ACTION_RESTART,  /* start it again with the same configuration */
	DOM_ACTION_PRESERVE, /* keep it, stopped, until someone destroys it */
};

enum dom_accel {
	DOM_ACCEL_AUTO, /* the host probe decides */
	DOM_ACCEL_KVM,
	DOM_ACCEL_TCG,
};

/* The serial line the config asked for. airlock always routes the guest's
 * first serial port through its supervisor (console and log); this records
 * what xl would have done, for `airlock create --dry-run` and warnings. */
enum dom_serial {
	DOM_SERIAL_UNSET,
	DOM_SERIAL_PTY,
	DOM_SERIAL_NONE,
	DOM_SERIAL_OTHER, /* anything else xl passes to its device model */
};

struct dom_config {
	char *name;
	bool has_uuid; /* false: the toolstack generates one at create */
	uint8_t uuid[16];
	uint64_t memory_mib;
	uint64_t maxmem_mib; /* as written (0: unset); airlock does not balloon */
	unsigned int vcpus;
	enum dom_accel accel;

	enum dom_boot boot;
	char *kernel;  /* DOM_BOOT_DIRECT: absolute or as written; else NULL */
	char *ramdisk; /* optional, direct boot only */
	char *cmdline; /* direct boot only; root= and extra= merged as xl does */

	struct cfg_disk *disks; /* disks[0] is the firmware's boot disk */
	size_t n_disks;
	struct cfg_vif *vifs;
	size_t n_vifs;

	enum dom_serial serial;
	char *serial_spec; /* DOM_SERIAL_OTHER: what was asked for */

	enum dom_action on_poweroff, on_reboot, on_crash;

	enum dom_placement placement;
	struct {
		uint64_t memory_mib;		  /* 0: airlock's default */
		char *kernel, *ramdisk, *cmdline; /* NULL: airlock's own */
	} stubdom;
};

/* domcfg_parse flags. */
#define DOMCFG_NO_FILE_CHECKS 0x1u /* do not stat kernel, ramdisk, disks */

/* Reads the config file at `path` (at most DOMCFG_FILE_MAX bytes) and parses
 * it with domcfg_parse; relative paths inside are taken relative to the
 * file's directory, and messages name the file as `path` was written.
 * Returns what domcfg_parse returns; an unreadable file is -errno with one
 * error in `diag`. */
int domcfg_load(const char *path, struct dom_config **out, struct cfg_diag *diag);

/* Parses config text. `name` labels messages ("guest.cfg:3: ..."); a
 * relative path in the config (kernel, ramdisk, disk targets, stub-domain
 * kernel and ramdisk) is joined to `base_dir` when that is not NULL.
 * Unless DOMCFG_NO_FILE_CHECKS is in `flags`, each referenced file must
 * exist (and be a file or block device).
 *
 * Every syntax and schema error is appended to diag->errors, warnings to
 * diag->warnings (diag accumulates: pass a fresh one). Returns 0 and sets
 * *out (free with domcfg_free) when there is no error; -EINVAL when there is
 * at least one (*out is NULL); -ENOMEM (*out is NULL). */
int domcfg_parse(const char *text, size_t len, const char *name, const char *base_dir,
		 unsigned int flags, struct dom_config **out, struct cfg_diag *diag);

/* Frees a configuration (NULL is fine). */
void domcfg_free(struct dom_config *cfg);

/* Appends a normalized xl.cfg for `cfg` to `out`: one key per line in a
 * fixed order, every default written out, disk and vif specs in keyed form.
 * Parsing that text (without file checks, no base_dir) gives back the same
 * configuration, and dumping it again the same text. Returns 0 or -ENOMEM
 * (out may hold part of the text). */
int domcfg_dump(const struct dom_config *cfg, struct buf *out);

/* Names as written in config files: "destroy", "qemu"/"airlock"/
 * "stubdom", "auto"/"kvm"/"tcg", "firmware"/"direct". */
const char *domcfg_action_name(enum dom_action action);
const char *domcfg_placement_name(enum dom_placement placement);
const char *domcfg_accel_name(enum dom_accel accel);
const char *domcfg_boot_name(enum dom_boot boot);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case). 0 or
 * -EINVAL. */
int domcfg_uuid_parse(const char *s, uint8_t uuid[16]);

/* Writes the lower-case dashed form and a NUL into out (37 bytes). */
void domcfg_uuid_format(const uint8_t uuid[16], char out[37]);

/* True for a valid domain name: 1..DOMCFG_NAME_MAX of [A-Za-z0-9_.-], not
 * starting with '-' (it would read as an option on the command line). */
bool domcfg_name_valid(const char *name);

#endif

/* domcfg_int.h — what domcfg's files share; not for users of lib/cfg. */
#ifndef AIRLOCK_CFG_DOMCFG_INT_H
#define AIRLOCK_CFG_DOMCFG_INT_H

#include "cfg/domcfg.h"

#include <stdbool.h>
#include <stddef.h>

/* An xl.cfg(5) key airlock does not implement yet: it is warned about and
 * ignored. `quiet` is a value that warns nothing because airlock behaves
 * that way anyway (acpi = 1, vnc = 0); -1 when every value warns. */
struct domcfg_xl_key {
	const char *key;
	const char *why;
	long long quiet;
};

/* The table, sorted by key, and its length. */
extern const struct domcfg_xl_key domcfg_xl_keys[];
extern const size_t domcfg_xl_key_count;

/* Looks `key` up in domcfg_xl_keys; NULL if xl does not know it either. */
const struct domcfg_xl_key *domcfg_xl_key_find(const char *key);

/* Which device_model_version was written. */
enum domcfg_dmv {
	DOMCFG_DMV_UNSET,
	DOMCFG_DMV_QEMU,
	DOMCFG_DMV_AIRLOCK,
	DOMCFG_DMV_XEN, /* qemu-xen, qemu-xen-traditional */
};

/* One domcfg_parse call: the config being filled, where messages go, and
 * what the per-key pass leaves for the cross-key checks. The setting
 * pointers point into the parsed file and are NULL when the key is absent
 * (or its value had the wrong type). */
struct domcfg_ctx {
	struct dom_config *cfg;
	const struct cfg_file *file;
	struct cfg_diag *diag;
	const char *name;
	const char *base_dir;
	unsigned int flags;
	bool failed, oom;
	const struct cfg_setting *s_name, *s_kernel, *s_ramdisk, *s_cmdline, *s_root, *s_extra,
		*s_maxmem, *s_maxvcpus, *s_stubdom, *s_sd_kernel, *s_sd_ramdisk, *s_override,
		*s_dmv;
	size_t n_disk_specs; /* entries in disk = [...], parsed or not */
	uint64_t maxvcpus;
	enum domcfg_dmv dmv;
	bool stubdom_override;
};

/* Reports an error / a warning as "name:line: key: message" (just
 * "name: message" when line is 0). An error marks the parse failed. */
void domcfg_error(struct domcfg_ctx *c, unsigned int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void domcfg_warn(struct domcfg_ctx *c, unsigned int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The checks that involve several keys, and the file checks
 * (domcfg_check.c); run once after every setting was applied. */
void domcfg_finish(struct domcfg_ctx *c);

#endif

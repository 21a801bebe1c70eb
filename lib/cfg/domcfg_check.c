/* domcfg_check.c — the checks of a guest config that involve several keys,
 * and the checks of the files it names (see domcfg_int.h).
 *
 * Order matters only for the messages: boot selection first (it decides
 * which of kernel/ramdisk/cmdline count), then memory and vCPUs, devices,
 * placement, and last the file system, so a config with a typo in `kernel`
 * reports the typo and the missing file on one run.
 */
#include "cfg/domcfg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The string value of a string-typed setting (a bare number's text). */
static const char *str_of(const struct cfg_setting *s)
{
	return s ? s->value.str : NULL;
}

/* Joins a relative path to base_dir (when given). NULL on ENOMEM (flagged)
 * or on an empty path (reported). */
static char *resolve(struct domcfg_ctx *c, const struct cfg_setting *s, const char *path)
{
	char *out;

	if (!*path) {
		domcfg_error(c, s->line, s->key, "expected a path, got an empty string");
		return NULL;
	}
	if (path[0] == '/' || !c->base_dir)
		out = strdup(path);
	else if (asprintf(&out, "%s/%s", c->base_dir, path) < 0)
		out = NULL;
	if (!out)
		c->oom = true;
	return out;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void choose_boot(struct domcfg_ctx *c)
{
	struct dom_config *cfg = c->cfg;
	const char *kernel = str_of(c->s_kernel);
	const char *root = str_of(c->s_root), *extra = str_of(c->s_extra);

	if (kernel && strcmp(basename_of(kernel), "hvmloader") == 0) {
		domcfg_warn(c, c->s_kernel->line, "kernel",
			    "ignored: hvmloader is Xen's HVM firmware loader; airlock boots the "
			    "first disk with SeaBIOS");
		kernel = NULL;
	}
	if (kernel) {
		cfg->boot = DOM_BOOT_DIRECT;
		cfg->kernel = resolve(c, c->s_kernel, kernel);
		if (c->s_ramdisk)
			cfg->ramdisk = resolve(c, c->s_ramdisk, str_of(c->s_ramdisk));
		/* xl's rule: cmdline wins; else "root=R EXTRA". */
		if (c->s_cmdline) {
			cfg->cmdline = strdup(str_of(c->s_cmdline));
			if (root || extra)
				domcfg_warn(
					c, c->s_cmdline->line, "cmdline",
					"root= and extra= are ignored in favour of cmdline=, as "
					"in xl");
		} else if (root && extra) {
			if (asprintf(&cfg->cmdline, "root=%s %s", root, extra) < 0)
				cfg->cmdline = NULL;
		} else if (root) {
			if (asprintf(&cfg->cmdline, "root=%s", root) < 0)
				cfg->cmdline = NULL;
		} else if (extra) {
			cfg->cmdline = strdup(extra);
		}
		if ((c->s_cmdline || root || extra) && !cfg->cmdline)
			c->oom = true;
		return;
	}
	cfg->boot = DOM_BOOT_FIRMWARE;
	const struct cfg_setting *unused[] = {c->s_ramdisk, c->s_cmdline, c->s_root, c->s_extra};
	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
		if (unused[i])
			domcfg_warn(c, unused[i]->line, unused[i]->key,
				    "ignored: there is no kernel = \"...\", so the firmware boots "
				    "the first disk");
	const struct cfg_setting *disk = cfg_find(c->file, "disk");
	if (c->n_disk_specs == 0 && (!disk || disk->value.type == CFG_LIST))
		domcfg_error(c, 0, NULL,
			     "nothing to boot: give kernel = \"...\" (direct boot) or a disk = "
			     "[...] for the firmware to boot from");
}

static void check_memory(struct domcfg_ctx *c)
{
	struct dom_config *cfg = c->cfg;

	if (c->s_maxmem && cfg->maxmem_mib != cfg->memory_mib)
		domcfg_warn(c, c->s_maxmem->line, "maxmem",
			    "%llu differs from memory = %llu: airlock does not balloon, the "
			    "guest gets %llu MiB",
			    (unsigned long long)cfg->maxmem_mib,
			    (unsigned long long)cfg->memory_mib,
			    (unsigned long long)cfg->memory_mib);
	if (c->s_maxvcpus && c->maxvcpus != cfg->vcpus)
		domcfg_warn(c, c->s_maxvcpus->line, "maxvcpus",
			    "%llu differs from vcpus = %u: vCPU hotplug is not supported, the "
			    "guest gets %u",
			    (unsigned long long)c->maxvcpus, cfg->vcpus, cfg->vcpus);
}

static void check_devices(struct domcfg_ctx *c)
{
	struct dom_config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_disks; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct cfg_disk *a = &cfg->disks[j], *b = &cfg->disks[i];
			if (a->bus != b->bus || a->index != b->index)
				continue;
			if (strcmp(a->vdev, b->vdev) == 0)
				domcfg_error(c, b->line, "disk",
					     "vdev '%s' is used twice (line %u)", b->vdev, a->line);
			else
				domcfg_error(c, b->line, "disk",
					     "vdev '%s' is the same device as '%s' (line %u)",
					     b->vdev, a->vdev, a->line);
			break;
		}
	}
	for (size_t i = 0; i < cfg->n_vifs; i++) {
		const struct cfg_vif *b = &cfg->vifs[i];
		for (size_t j = 0; j < i; j++) {
			const struct cfg_vif *a = &cfg->vifs[j];
			char mac[18];
			if (a->mac_set && b->mac_set && memcmp(a->mac, b->mac, 6) == 0) {
				cfg_mac_format(b->mac, mac);
				domcfg_error(c, b->line, "vif", "mac %s is used twice (line %u)",
					     mac, a->line);
			}
			if (a->vifname && b->vifname && strcmp(a->vifname, b->vifname) == 0)
				domcfg_error(c, b->line, "vif",
					     "vifname '%s' is used twice (line %u)", b->vifname,
					     a->line);
		}
	}
}

/* airlock-dm serves virtio-blk on raw images and virtio-net; what it
 * cannot serve is refused here rather than quietly left to the engine
 * (which would put guest-facing device code back on the host). CD-ROMs
 * are the exception: an empty or read-only ISO stays on the engine's IDE. */
static void check_dm_devices(struct domcfg_ctx *c)
{
	struct dom_config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_disks; i++) {
		const struct cfg_disk *d = &cfg->disks[i];
		if (!d->cdrom && d->format != CFG_DISK_RAW)
			domcfg_error(c, d->line, "disk",
				     "%s: airlock-dm serves raw images only (format=%s); convert it "
				     "with qemu-img convert -O raw, or use device_model_version = "
				     "\"qemu\"",
				     d->vdev, cfg_disk_format_name(d->format));
	}
	for (size_t i = 0; i < cfg->n_vifs; i++) {
		const struct cfg_vif *v = &cfg->vifs[i];
		if (v->model != CFG_VIF_VIRTIO)
			domcfg_error(c, v->line, "vif",
				     "model=%s is emulated by the engine; airlock-dm serves "
				     "virtio-net only (model=virtio-net, or device_model_version = "
				     "\"qemu\")",
				     v->model == CFG_VIF_E1000 ? "e1000" : "rtl8139");
	}
}

static void choose_placement(struct domcfg_ctx *c)
{
	struct dom_config *cfg = c->cfg;
	const char *dmv = str_of(c->s_dmv);

	if (c->stubdom_override) {
		if (c->dmv == DOMCFG_DMV_QEMU)
			domcfg_error(c, c->s_override->line, c->s_override->key,
				     "a stub domain runs airlock-dm: set device_model_version = "
				     "\"airlock\" (\"qemu\" means the engine's own devices, which "
				     "stay in the engine)");
		else if (c->dmv == DOMCFG_DMV_XEN)
			domcfg_warn(
				c, c->s_dmv->line, c->s_dmv->key,
				"'%s' is Xen's QEMU; airlock-dm runs in the stub domain instead",
				dmv);
		cfg->placement = DOM_PLACEMENT_STUBDOM;
	} else if (c->dmv == DOMCFG_DMV_AIRLOCK) {
		cfg->placement = DOM_PLACEMENT_DM;
	} else {
		if (c->dmv == DOMCFG_DMV_XEN)
			domcfg_warn(c, c->s_dmv->line, c->s_dmv->key,
				    "'%s' is Xen's QEMU; the engine's own devices are used "
				    "(\"qemu\")",
				    dmv);
		cfg->placement = DOM_PLACEMENT_ENGINE;
	}
	if (cfg->placement != DOM_PLACEMENT_ENGINE)
		check_dm_devices(c);
	if (c->s_stubdom && cfg->placement != DOM_PLACEMENT_STUBDOM)
		domcfg_warn(c, c->s_stubdom->line, c->s_stubdom->key,
			    "has no effect without device_model_stubdomain_override = 1");
	if (c->s_sd_kernel)
		cfg->stubdom.kernel = resolve(c, c->s_sd_kernel, str_of(c->s_sd_kernel));
	if (c->s_sd_ramdisk)
		cfg->stubdom.ramdisk = resolve(c, c->s_sd_ramdisk, str_of(c->s_sd_ramdisk));
}

/* One referenced file: it must exist and be a regular file (or, for a
 * disk, a block device). */
static void check_file(struct domcfg_ctx *c, unsigned int line, const char *key, const char *path,
		       bool block_ok)
{
	struct stat st;

	if (!path)
		return;
	if (stat(path, &st) != 0) {
		domcfg_error(c, line, key, "'%s': %s", path, strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode))
		domcfg_error(c, line, key, "'%s' is a directory", path);
	else if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode)))
		domcfg_error(c, line, key, "'%s' is not a %s", path,
			     block_ok ? "file or block device" : "regular file");
}

static void resolve_disks(struct domcfg_ctx *c)
{
	struct dom_config *cfg = c->cfg;

	if (!c->base_dir)
		return;
	for (size_t i = 0; i < cfg->n_disks && !c->oom; i++) {
		struct cfg_disk *d = &cfg->disks[i];
		char *abs;
		if (!d->target || d->target[0] == '/')
			continue;
		if (asprintf(&abs, "%s/%s", c->base_dir, d->target) < 0) {
			c->oom = true;
			return;
		}
		free(d->target);
		d->target = abs;
	}
}

static void check_files(struct domcfg_ctx *c)
{
	struct dom_config *cfg = c->cfg;

	if (c->flags & DOMCFG_NO_FILE_CHECKS)
		return;
	if (c->s_kernel)
		check_file(c, c->s_kernel->line, "kernel", cfg->kernel, false);
	if (c->s_ramdisk)
		check_file(c, c->s_ramdisk->line, "ramdisk", cfg->ramdisk, false);
	for (size_t i = 0; i < cfg->n_disks; i++)
		check_file(c, cfg->disks[i].line, "disk", cfg->disks[i].target, true);
	if (c->s_sd_kernel)
		check_file(c, c->s_sd_kernel->line, "stubdomain_kernel", cfg->stubdom.kernel,
			   false);
	if (c->s_sd_ramdisk)
		check_file(c, c->s_sd_ramdisk->line, "stubdomain_ramdisk", cfg->stubdom.ramdisk,
			   false);
}

void domcfg_finish(struct domcfg_ctx *c)
{
	if (!cfg_find(c->file, "name"))
		domcfg_error(c, 0, NULL, "name = \"...\" is required (1-%d of A-Z a-z 0-9 _ . -)",
			     DOMCFG_NAME_MAX);
	choose_boot(c);
	check_memory(c);
	check_devices(c);
	choose_placement(c);
	resolve_disks(c);
	if (!c->oom)
		check_files(c);
}

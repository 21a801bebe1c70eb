/* domcfg.c — airlock's schema over xl.cfg settings (see domcfg.h).
 *
 * One pass over the settings in file order, using only the last setting of
 * each key (xl's rule; earlier ones draw a warning). Each key airlock
 * implements has a row in `keys`: its type, its bounds and a handler. A
 * row's type is checked and the value converted before its handler runs, so
 * handlers see a C string, a number or a list of strings. xl keys airlock
 * does not implement come from domcfg_keys.c and only warn; anything else is
 * an unknown key. Checks that involve several keys (boot selection, the
 * command line, placement, duplicate devices, file existence) run after the
 * pass, in finish().
 */
#include "cfg/domcfg.h"
#include "cfg/domcfg_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

enum key_type {
	KT_STRING, /* also takes a bare number, as its text (xl has no types) */
	KT_INT,	   /* also takes a quoted number, as xl does */
	KT_BOOL,   /* 0 or 1 */
	KT_LIST,   /* a list of strings */
	KT_STRING_OR_LIST,
};

/* A value converted to its key's type. */
struct key_val {
	const char *str;
	uint64_t num;
	const struct cfg_value *list; /* KT_LIST: items are strings */
};

#define ctx domcfg_ctx

struct key_def {
	const char *key;
	enum key_type type;
	uint64_t min, max; /* KT_INT */
	const char *what;  /* for type errors: "an integer (MiB)" */
	void (*apply)(struct ctx *c, const struct cfg_setting *s, const struct key_val *v);
};

#define ERR(c, s, ...)	domcfg_error(c, (s)->line, (s)->key, __VA_ARGS__)
#define WARN(c, s, ...) domcfg_warn(c, (s)->line, (s)->key, __VA_ARGS__)

static void report(struct ctx *c, bool error, unsigned int line, const char *key, const char *fmt,
		   va_list ap)
{
	char msg[640];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (error)
		c->failed = true;
	if (line && error)
		cfg_diag_error(c->diag, "%s:%u: %s: %s", c->name, line, key, msg);
	else if (line)
		cfg_diag_warn(c->diag, "%s:%u: %s: %s", c->name, line, key, msg);
	else if (error)
		cfg_diag_error(c->diag, "%s: %s", c->name, msg);
	else
		cfg_diag_warn(c->diag, "%s: %s", c->name, msg);
}

void domcfg_error(struct ctx *c, unsigned int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, true, line, key, fmt, ap);
	va_end(ap);
}

void domcfg_warn(struct ctx *c, unsigned int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, false, line, key, fmt, ap);
	va_end(ap);
}

static char *dup_or_oom(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = true;
	return d;
}

/* Replaces *slot with a copy of `s`. */
static void set_string(struct ctx *c, char **slot, const char *s)
{
	free(*slot);
	*slot = dup_or_oom(c, s);
}

/* ---- handlers ---------------------------------------------------------- */

static void h_name(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_name = s;
	if (!domcfg_name_valid(v->str)) {
		ERR(c, s,
		    "'%.80s' is not a valid name (1-%d of A-Z a-z 0-9 _ . -, not starting "
		    "with '-')",
		    v->str, DOMCFG_NAME_MAX);
		return;
	}
	set_string(c, &c->cfg->name, v->str);
}

static void h_uuid(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	if (domcfg_uuid_parse(v->str, c->cfg->uuid)) {
		ERR(c, s, "'%.80s' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", v->str);
		return;
	}
	c->cfg->has_uuid = true;
}

static void h_memory(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->cfg->memory_mib = v->num;
}

static void h_maxmem(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_maxmem = s;
	c->cfg->maxmem_mib = v->num;
}

static void h_vcpus(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->cfg->vcpus = (unsigned int)v->num;
}

static void h_maxvcpus(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_maxvcpus = s;
	c->maxvcpus = v->num;
}

static void h_accel(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	if (strcmp(v->str, "auto") == 0)
		c->cfg->accel = DOM_ACCEL_AUTO;
	else if (strcmp(v->str, "kvm") == 0)
		c->cfg->accel = DOM_ACCEL_KVM;
	else if (strcmp(v->str, "tcg") == 0)
		c->cfg->accel = DOM_ACCEL_TCG;
	else
		ERR(c, s, "unknown accelerator '%.40s' (auto, kvm or tcg)", v->str);
}

static void refuse_pv(struct ctx *c, const struct cfg_setting *s, const char *val)
{
	ERR(c, s,
	    "'%s' guests need Xen's paravirtual interfaces, which airlock does not have: "
	    "airlock runs HVM guests (type = \"hvm\"), booted by firmware from their first "
	    "disk or directly from kernel = \"...\" (a PV kernel usually boots that way too)",
	    val);
}

static void h_type(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	if (strcmp(v->str, "hvm") == 0)
		return;
	if (strcmp(v->str, "pv") == 0 || strcmp(v->str, "pvh") == 0)
		refuse_pv(c, s, v->str);
	else
		ERR(c, s, "unknown guest type '%.40s' (airlock runs \"hvm\" guests)", v->str);
}

static void h_builder(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	if (strcmp(v->str, "hvm") == 0)
		return;
	if (strcmp(v->str, "generic") == 0 || strcmp(v->str, "linux") == 0)
		refuse_pv(c, s, v->str);
	else
		ERR(c, s, "unknown builder '%.40s' (airlock takes \"hvm\")", v->str);
}

static void h_firmware(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	const char *f = v->str;

	if (strcmp(f, "seabios") == 0 || strcmp(f, "bios") == 0)
		return;
	if (strcmp(f, "rombios") == 0) {
		WARN(c, s, "'rombios' is not available; SeaBIOS is used");
		return;
	}
	if (strcmp(f, "ovmf") == 0 || strcmp(f, "uefi") == 0)
		ERR(c, s, "UEFI firmware is not supported yet: airlock boots with SeaBIOS");
	else if (strncmp(f, "pvgrub", 6) == 0 || strcmp(f, "pvh") == 0)
		refuse_pv(c, s, f);
	else
		ERR(c, s, "'%.80s': airlock boots with SeaBIOS (\"seabios\") only", f);
}

static void h_boot(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	if (v->str[0] != 'c')
		WARN(c, s, "ignored: airlock's firmware boots from the first disk (boot = \"c\")");
}

static void h_kernel(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_kernel = s;
}

static void h_ramdisk(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_ramdisk = s;
}

static void h_cmdline(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_cmdline = s;
}

static void h_root(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_root = s;
}

static void h_extra(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_extra = s;
}

/* "guest.cfg:7: disk 'phy:/dev/vg/x,xv...'" for messages about one spec. */
static void spec_where(struct ctx *c, const struct cfg_value *item, const char *key, char *buf,
		       size_t sz)
{
	size_t n = strlen(item->str);

	snprintf(buf, sz, "%s:%u: %s '%.48s%s'", c->name, item->line, key, item->str,
		 n > 48 ? "..." : "");
}

static void h_disk(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	const struct cfg_value *l = v->list;
	struct dom_config *cfg = c->cfg;

	c->n_disk_specs = l->n_items;
	if (l->n_items > DOMCFG_DISKS_MAX) {
		ERR(c, s, "%zu disks; at most %d", l->n_items, DOMCFG_DISKS_MAX);
		return;
	}
	cfg->disks = calloc(l->n_items ? l->n_items : 1, sizeof(*cfg->disks));
	if (!cfg->disks) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < l->n_items; i++) {
		struct cfg_disk d;
		char where[160];
		int r;

		spec_where(c, &l->items[i], "disk", where, sizeof(where));
		r = cfg_disk_parse(l->items[i].str, &d, c->diag, where);
		if (r == -ENOMEM)
			c->oom = true;
		if (r) {
			c->failed = true;
			continue;
		}
		d.line = l->items[i].line;
		cfg->disks[cfg->n_disks++] = d;
	}
}

static void h_vif(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	const struct cfg_value *l = v->list;
	struct dom_config *cfg = c->cfg;

	if (l->n_items > DOMCFG_VIFS_MAX) {
		ERR(c, s, "%zu vifs; at most %d", l->n_items, DOMCFG_VIFS_MAX);
		return;
	}
	cfg->vifs = calloc(l->n_items ? l->n_items : 1, sizeof(*cfg->vifs));
	if (!cfg->vifs) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < l->n_items; i++) {
		struct cfg_vif vif;
		char where[160];
		int r;

		spec_where(c, &l->items[i], "vif", where, sizeof(where));
		r = cfg_vif_parse(l->items[i].str, &vif, c->diag, where);
		if (r == -ENOMEM)
			c->oom = true;
		if (r) {
			c->failed = true;
			continue;
		}
		vif.line = l->items[i].line;
		cfg->vifs[cfg->n_vifs++] = vif;
	}
}

static void h_serial(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	const char *spec = v->str;
	struct dom_config *cfg = c->cfg;

	if (v->list) {
		if (v->list->n_items == 0) {
			cfg->serial = DOM_SERIAL_NONE;
			return;
		}
		spec = v->list->items[0].str;
		if (v->list->n_items > 1)
			WARN(c, s, "only the first serial port is supported; %zu ignored",
			     v->list->n_items - 1);
	}
	if (strcmp(spec, "pty") == 0) {
		cfg->serial = DOM_SERIAL_PTY;
		return;
	}
	if (strcmp(spec, "none") == 0) {
		cfg->serial = DOM_SERIAL_NONE;
		WARN(c, s,
		     "airlock always gives the guest a serial console (its supervisor "
		     "keeps the log); 'none' is recorded only");
		return;
	}
	cfg->serial = DOM_SERIAL_OTHER;
	set_string(c, &cfg->serial_spec, spec);
	WARN(c, s,
	     "'%.60s' is recorded only: the serial console always goes through airlock's "
	     "supervisor (airlock console, airlock log)",
	     spec);
}

static void h_action(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	static const struct {
		const char *name;
		enum dom_action action;
		const char *note; /* NULL: supported as is */
	} actions[] = {
		{"destroy", DOM_ACTION_DESTROY, NULL},
		{"restart", DOM_ACTION_RESTART, NULL},
		{"preserve", DOM_ACTION_PRESERVE, NULL},
		{"coredump-destroy", DOM_ACTION_DESTROY, "no core dump is written; destroy"},
		{"coredump-restart", DOM_ACTION_RESTART, "no core dump is written; restart"},
		{"rename-restart", DOM_ACTION_RESTART,
		 "the old domain is not kept under a new name; restart"},
		{"soft-reset", DOM_ACTION_RESTART, "soft reset is not supported; restart"},
	};
	enum dom_action *slot = strcmp(s->key, "on_poweroff") == 0 ? &c->cfg->on_poweroff
				: strcmp(s->key, "on_reboot") == 0 ? &c->cfg->on_reboot
								   : &c->cfg->on_crash;

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(v->str, actions[i].name) != 0)
			continue;
		*slot = actions[i].action;
		if (actions[i].note)
			WARN(c, s, "'%s': %s", actions[i].name, actions[i].note);
		return;
	}
	ERR(c, s,
	    "unknown action '%.40s' (destroy, restart, preserve, coredump-destroy, "
	    "coredump-restart, rename-restart, soft-reset)",
	    v->str);
}

static void h_dmv(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_dmv = s;
	if (strcmp(v->str, "qemu") == 0) {
		c->dmv = DOMCFG_DMV_QEMU;
	} else if (strcmp(v->str, "airlock") == 0) {
		c->dmv = DOMCFG_DMV_AIRLOCK;
	} else if (strcmp(v->str, "qemu-xen") == 0 || strcmp(v->str, "qemu-xen-traditional") == 0) {
		c->dmv = DOMCFG_DMV_XEN;
	} else {
		ERR(c, s,
		    "unknown device model '%.40s' (\"qemu\": the engine's own devices; "
		    "\"airlock\": airlock-dm)",
		    v->str);
	}
}

static void h_override(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	c->s_override = s;
	c->stubdom_override = v->num != 0;
}

static void h_stubdom(struct ctx *c, const struct cfg_setting *s, const struct key_val *v)
{
	struct dom_config *cfg = c->cfg;

	if (!c->s_stubdom)
		c->s_stubdom = s;
	if (strcmp(s->key, "stubdomain_memory") == 0)
		cfg->stubdom.memory_mib = v->num;
	else if (strcmp(s->key, "stubdomain_kernel") == 0)
		c->s_sd_kernel = s; /* resolved in domcfg_finish */
	else if (strcmp(s->key, "stubdomain_ramdisk") == 0)
		c->s_sd_ramdisk = s;
	else
		set_string(c, &cfg->stubdom.cmdline, v->str);
}

/* Keys airlock implements, in the order docs/config.md describes them. */
static const struct key_def keys[] = {
	{"name", KT_STRING, 0, 0, "a string", h_name},
	{"uuid", KT_STRING, 0, 0, "a string", h_uuid},
	{"type", KT_STRING, 0, 0, "a string", h_type},
	{"builder", KT_STRING, 0, 0, "a string", h_builder},
	{"memory", KT_INT, 1, DOMCFG_MEMORY_MAX, "an integer (MiB)", h_memory},
	{"maxmem", KT_INT, 1, DOMCFG_MEMORY_MAX, "an integer (MiB)", h_maxmem},
	{"vcpus", KT_INT, 1, DOMCFG_VCPUS_MAX, "an integer", h_vcpus},
	{"maxvcpus", KT_INT, 1, DOMCFG_VCPUS_MAX, "an integer", h_maxvcpus},
	{"accel", KT_STRING, 0, 0, "a string", h_accel},
	{"kernel", KT_STRING, 0, 0, "a string (a path)", h_kernel},
	{"ramdisk", KT_STRING, 0, 0, "a string (a path)", h_ramdisk},
	{"cmdline", KT_STRING, 0, 0, "a string", h_cmdline},
	{"root", KT_STRING, 0, 0, "a string", h_root},
	{"extra", KT_STRING, 0, 0, "a string", h_extra},
	{"bios", KT_STRING, 0, 0, "a string", h_firmware},
	{"firmware", KT_STRING, 0, 0, "a string", h_firmware},
	{"boot", KT_STRING, 0, 0, "a string", h_boot},
	{"disk", KT_LIST, 0, 0, "a list of strings ['spec', ...]", h_disk},
	{"vif", KT_LIST, 0, 0, "a list of strings ['spec', ...]", h_vif},
	{"serial", KT_STRING_OR_LIST, 0, 0, "a string or a list of strings", h_serial},
	{"on_poweroff", KT_STRING, 0, 0, "a string", h_action},
	{"on_reboot", KT_STRING, 0, 0, "a string", h_action},
	{"on_crash", KT_STRING, 0, 0, "a string", h_action},
	{"device_model_version", KT_STRING, 0, 0, "a string", h_dmv},
	{"device_model_stubdomain_override", KT_BOOL, 0, 1, "0 or 1", h_override},
	{"stubdomain_memory", KT_INT, 1, 4096, "an integer (MiB)", h_stubdom},
	{"stubdomain_kernel", KT_STRING, 0, 0, "a string (a path)", h_stubdom},
	{"stubdomain_ramdisk", KT_STRING, 0, 0, "a string (a path)", h_stubdom},
	{"stubdomain_cmdline", KT_STRING, 0, 0, "a string", h_stubdom},
};

static const struct key_def *find_key(const char *key)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

/* ---- the pass over settings -------------------------------------------- */

static const char *got(const struct cfg_value *v)
{
	return v->type == CFG_STRING ? "a string" : v->type == CFG_INT ? "a number" : "a list";
}

/* Converts `s` to `k`'s type into *kv. Returns false (reported) on a type or
 * range error. */
static bool convert(struct ctx *c, const struct key_def *k, const struct cfg_setting *s,
		    struct key_val *kv)
{
	const struct cfg_value *v = &s->value;

	memset(kv, 0, sizeof(*kv));
	switch (k->type) {
	case KT_STRING_OR_LIST:
	case KT_LIST:
		if (v->type == CFG_LIST) {
			for (size_t i = 0; i < v->n_items; i++) {
				if (v->items[i].type != CFG_STRING) {
					ERR(c, s, "expected %s, but item %zu (line %u) is %s",
					    k->what, i + 1, v->items[i].line, got(&v->items[i]));
					return false;
				}
			}
			kv->list = v;
			return true;
		}
		if (k->type == KT_LIST || v->type != CFG_STRING) {
			ERR(c, s, "expected %s, got %s", k->what, got(v));
			return false;
		}
		kv->str = v->str;
		return true;
	case KT_STRING:
		if (v->type == CFG_LIST) {
			ERR(c, s, "expected %s, got a list", k->what);
			return false;
		}
		kv->str = v->str;
		return true;
	case KT_INT:
	case KT_BOOL:
		if (v->type == CFG_INT) {
			kv->num = v->num;
		} else if (v->type == CFG_LIST || cfg_parse_number(v->str, &kv->num) != 0) {
			if (v->type == CFG_LIST)
				ERR(c, s, "expected %s, got a list", k->what);
			else
				ERR(c, s, "expected %s, got the string \"%.40s\"", k->what, v->str);
			return false;
		}
		if (kv->num < k->min || kv->num > k->max) {
			if (k->type == KT_BOOL)
				ERR(c, s, "expected 0 or 1, got %llu", (unsigned long long)kv->num);
			else
				ERR(c, s, "%llu is out of range (%llu to %llu)",
				    (unsigned long long)kv->num, (unsigned long long)k->min,
				    (unsigned long long)k->max);
			return false;
		}
		return true;
	}
	return false;
}

static void unknown_key(struct ctx *c, const struct cfg_setting *s)
{
	struct cfg_suggest sg;
	const char *hint;

	if (cfg_diag_error_count(c->diag) >= CFG_DIAG_MAX) {
		c->failed = true; /* the message would be dropped: skip the search */
		c->diag->n_errors_dropped++;
		return;
	}
	cfg_suggest_init(&sg, s->key);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cfg_suggest_consider(&sg, keys[i].key);
	for (size_t i = 0; i < domcfg_xl_key_count; i++)
		cfg_suggest_consider(&sg, domcfg_xl_keys[i].key);
	hint = cfg_suggest_result(&sg);
	if (hint)
		ERR(c, s, "unknown key (did you mean '%s'?)", hint);
	else
		ERR(c, s, "unknown key (neither airlock nor xl.cfg(5) has it)");
}

static void xl_only(struct ctx *c, const struct cfg_setting *s, const struct domcfg_xl_key *x)
{
	uint64_t n;
	const struct cfg_value *v = &s->value;

	if (x->quiet >= 0 && ((v->type == CFG_INT && v->num == (uint64_t)x->quiet) ||
			      (v->type == CFG_STRING && cfg_parse_number(v->str, &n) == 0 &&
			       n == (uint64_t)x->quiet)))
		return;
	WARN(c, s, "ignored: %s", x->why);
}

/* Sorting settings by (key, position) finds each key's last setting and
 * its repeats without a quadratic scan. */
static int cmp_index(const void *a, const void *b, void *file)
{
	const struct cfg_file *f = file;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int r = strcmp(f->settings[ia].key, f->settings[ib].key);

	return r ? r : (ia < ib ? -1 : ia > ib);
}

/* Sets last[i] for each key's last setting and first[i] for its first;
 * warns about repeats. Returns 0 or -ENOMEM. */
static int mark_repeats(struct ctx *c, const struct cfg_file *f, bool *last, bool *first)
{
	size_t n = f->n_settings, *idx = malloc((n ? n : 1) * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_index, (void *)f);
	for (size_t i = 0; i < n; i++) {
		const struct cfg_setting *s = &f->settings[idx[i]];
		bool same_prev = i > 0 && strcmp(f->settings[idx[i - 1]].key, s->key) == 0;
		bool same_next = i + 1 < n && strcmp(f->settings[idx[i + 1]].key, s->key) == 0;
		first[idx[i]] = !same_prev;
		last[idx[i]] = !same_next;
		if (same_next && !f->settings[idx[i + 1]].append)
			WARN(c, s, "set again at line %u; the last setting counts, as in xl",
			     f->settings[idx[i + 1]].line);
	}
	free(idx);
	return 0;
}

static void apply_settings(struct ctx *c, const struct cfg_file *f)
{
	bool *last = calloc(f->n_settings + 1, sizeof(bool));
	bool *first = calloc(f->n_settings + 1, sizeof(bool));

	if (!last || !first || mark_repeats(c, f, last, first)) {
		c->oom = true;
		goto out;
	}
	for (size_t i = 0; i < f->n_settings && !c->oom; i++) {
		const struct cfg_setting *s = &f->settings[i];
		const struct key_def *k = find_key(s->key);
		const struct domcfg_xl_key *x;
		struct key_val kv;

		if (!k) {
			x = domcfg_xl_key_find(s->key);
			if (x && last[i])
				xl_only(c, s, x);
			else if (!x && first[i])
				unknown_key(c, s);
			continue;
		}
		if (last[i] && convert(c, k, s, &kv))
			k->apply(c, s, &kv);
	}
out:
	free(last);
	free(first);
}

int domcfg_parse(const char *text, size_t len, const char *name, const char *base_dir,
		 unsigned int flags, struct dom_config **out, struct cfg_diag *diag)
{
	size_t errors_before = cfg_diag_error_count(diag);
	struct cfg_file *file = NULL;
	struct ctx c = {
		.diag = diag,
		.name = name,
		.base_dir = base_dir,
		.flags = flags,
	};
	int r;

	*out = NULL;
	r = cfg_parse(text, len, name, &file, diag);
	if (r == -ENOMEM)
		return -ENOMEM;
	c.failed = r != 0;
	c.cfg = calloc(1, sizeof(*c.cfg));
	if (!c.cfg) {
		cfg_file_free(file);
		return -ENOMEM;
	}
	c.cfg->memory_mib = DOMCFG_MEMORY_DEFAULT;
	c.cfg->vcpus = 1;
	c.cfg->on_poweroff = DOM_ACTION_DESTROY;
	c.cfg->on_reboot = DOM_ACTION_RESTART;
	c.cfg->on_crash = DOM_ACTION_DESTROY;
	c.file = file;
	apply_settings(&c, file);
	if (!c.oom)
		domcfg_finish(&c);
	cfg_file_free(file);
	if (c.oom || diag->oom) {
		domcfg_free(c.cfg);
		return -ENOMEM;
	}
	if (c.failed || cfg_diag_error_count(diag) != errors_before) {
		domcfg_free(c.cfg);
		return -EINVAL;
	}
	*out = c.cfg;
	return 0;
}

int domcfg_load(const char *path, struct dom_config **out, struct cfg_diag *diag)
{
	char *text = NULL, *dir = NULL, *base = NULL, *slash;
	struct stat st;
	ssize_t n;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		cfg_diag_error(diag, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) != 0) {
		r = -errno;
		cfg_diag_error(diag, "%s: cannot stat: %s", path, strerror(-r));
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)DOMCFG_FILE_MAX) {
		r = -EINVAL;
		cfg_diag_error(diag, "%s: %s", path,
			       S_ISREG(st.st_mode) ? "larger than 1 MiB: not a config file?"
						   : "not a regular file");
		goto close_fd;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		r = -ENOMEM;
		goto close_fd;
	}
	n = read_full(fd, text, (size_t)st.st_size);
	if (n < 0) {
		r = (int)n;
		cfg_diag_error(diag, "%s: cannot read: %s", path, strerror(-r));
		goto free_text;
	}
	text[n] = '\0';
	/* Relative paths in the file are relative to its directory. */
	dir = strdup(path);
	if (!dir) {
		r = -ENOMEM;
		goto free_text;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	base = realpath(dir, NULL);
	r = domcfg_parse(text, (size_t)n, path, base ? base : dir, 0, out, diag);
	free(base);
	free(dir);
free_text:
	free(text);
close_fd:
	close(fd);
	return r;
}

void domcfg_free(struct dom_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->name);
	free(cfg->kernel);
	free(cfg->ramdisk);
	free(cfg->cmdline);
	for (size_t i = 0; i < cfg->n_disks; i++)
		cfg_disk_clear(&cfg->disks[i]);
	free(cfg->disks);
	for (size_t i = 0; i < cfg->n_vifs; i++)
		cfg_vif_clear(&cfg->vifs[i]);
	free(cfg->vifs);
	free(cfg->serial_spec);
	free(cfg->stubdom.kernel);
	free(cfg->stubdom.ramdisk);
	free(cfg->stubdom.cmdline);
	free(cfg);
}

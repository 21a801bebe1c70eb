/* diskspec.c — xl-disk-configuration(5) parsing (see diskspec.h).
 *
 * The spec is read left to right, one parameter at a time, the way xl's
 * lexer does (libxlu_disk_l.l), so that every spec xl accepts means the same
 * here:
 *
 *   1. Blanks before a parameter are skipped.
 *   2. "target=" takes the rest of the spec (one trailing comma dropped).
 *   3. A known deprecated prefix ("phy:", "file:", "tap:", "aio:", "raw:",
 *      "qcow2:", "nbd:", ...) is stripped and acted on; an unknown
 *      "word:" followed by nothing or by a non-alphanumeric is an error
 *      (so "hdc:cdrom" is not a prefix but "foo:/x" is).
 *   4. Otherwise the parameter runs to the next comma: "key=value", a flag
 *      (cdrom, discard, ...), or a positional value that fills the first
 *      free slot of target, format, vdev, access. After a deprecated prefix
 *      the format slot is skipped (xend's "phy:/dev/x,xvda,w" has none),
 *      and a vdev may carry ":cdrom" / ":disk".
 *
 * An empty value means "the default". A parameter given twice with
 * different values is an error. Unlike xl, trailing blanks of a parameter
 * are dropped (except in target=), and a target is not prefixed with /dev.
 */
#include "cfg/diskspec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse state: which slots are filled, and whether anything failed. */
struct disk_ps {
	struct cfg_disk *d;
	struct cfg_diag *diag;
	const char *where;
	bool target_set, format_set, vdev_set, access_set, devtype_set;
	bool had_prefix;
	bool empty_format; /* format=empty: xl's media-less cdrom */
	char *script, *backend, *backendtype;
	bool colo_warned;
	bool failed, oom;
};

static const char *const format_names[] = {
	[CFG_DISK_RAW] = "raw", [CFG_DISK_QCOW] = "qcow", [CFG_DISK_QCOW2] = "qcow2",
	[CFG_DISK_VHD] = "vhd", [CFG_DISK_QED] = "qed",
};

/* Parameters xl knows that take a value, for suggestions. */
static const char *const keyed_names[] = {
	"target",      "format",      "vdev",	       "access",      "devtype",     "backend",
	"backendtype", "script",      "specification", "transport",   "grant_usage", "colo-host",
	"colo-port",   "colo-export", "active-disk",   "hidden-disk",
};

const char *cfg_disk_format_name(enum cfg_disk_format format)
{
	return (unsigned)format < sizeof(format_names) / sizeof(format_names[0])
		       ? format_names[format]
		       : "?";
}

int cfg_disk_format_parse(const char *s, enum cfg_disk_format *out)
{
	if (!*s) {
		*out = CFG_DISK_RAW;
		return 0;
	}
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum cfg_disk_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

int cfg_vdev_parse(const char *vdev, enum cfg_disk_bus *bus, unsigned int *index)
{
	static const struct {
		const char *prefix;
		enum cfg_disk_bus bus;
	} prefixes[] = {
		{"xvd", CFG_DISK_BUS_VIRTIO},
		{"hd", CFG_DISK_BUS_IDE},
		{"sd", CFG_DISK_BUS_SCSI},
		{"vd", CFG_DISK_BUS_VIRTIO},
	};
	const char *p;
	unsigned int v = 0;

	if (vdev[0] == 'd' && vdev[1] >= '0' && vdev[1] <= '9') {
		p = vdev + 1;
		if (p[0] == '0' && p[1])
			return -EINVAL;
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || v > CFG_VDEV_INDEX_MAX)
				return -EINVAL;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v > CFG_VDEV_INDEX_MAX)
			return -ERANGE;
		*bus = CFG_DISK_BUS_VIRTIO;
		*index = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i].prefix), letters;
		if (strncmp(vdev, prefixes[i].prefix, n) != 0)
			continue;
		p = vdev + n;
		letters = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		if (letters < 1 || letters > 2 || p[letters])
			return -EINVAL;
		v = (unsigned)(p[0] - 'a');
		if (letters == 2)
			v = (v + 1) * 26 + (unsigned)(p[1] - 'a');
		if (prefixes[i].bus == CFG_DISK_BUS_IDE && v > 3)
			return -ERANGE;
		*bus = prefixes[i].bus;
		*index = v;
		return 0;
	}
	return -EINVAL;
}

/* ---- parse helpers ----------------------------------------------------- */

#define DERR(ps, ...)                                                                              \
	do {                                                                                       \
		(ps)->failed = true;                                                               \
		cfg_diag_error((ps)->diag, __VA_ARGS__);                                           \
	} while (0)

/* Stores `val` into a string slot; a second, different non-empty value is an
 * error. */
static void set_string(struct disk_ps *ps, char **slot, const char *what, const char *val)
{
	char *copy;

	if (*slot && **slot) {
		if (strcmp(*slot, val) != 0)
			DERR(ps, "%s: %s given twice ('%s', then '%s')", ps->where, what, *slot,
			     val);
		return;
	}
	copy = strdup(val);
	if (!copy) {
		ps->oom = true;
		return;
	}
	free(*slot);
	*slot = copy;
}

static void set_format(struct disk_ps *ps, const char *val)
{
	enum cfg_disk_format f;

	if (strcmp(val, "empty") == 0) {
		ps->empty_format = true;
		f = CFG_DISK_RAW;
	} else if (cfg_disk_format_parse(val, &f)) {
		enum cfg_disk_bus bus;
		unsigned int idx;
		if (cfg_vdev_parse(val, &bus, &idx) == 0)
			DERR(ps,
			     "%s: unknown format '%s' (positions are target,format,vdev,access: "
			     "write ',,%s' to leave the format out)",
			     ps->where, val, val);
		else
			DERR(ps, "%s: unknown format '%s' (raw, qcow, qcow2, vhd, qed)", ps->where,
			     val);
		return;
	}
	if (ps->format_set && ps->d->format != f) {
		DERR(ps, "%s: format given twice ('%s', then '%s')", ps->where,
		     cfg_disk_format_name(ps->d->format), val);
		return;
	}
	ps->format_set = true;
	ps->d->format = f;
}

static void set_access(struct disk_ps *ps, const char *val)
{
	bool ro;

	if (strcmp(val, "r") == 0 || strcmp(val, "ro") == 0)
		ro = true;
	else if (strcmp(val, "w") == 0 || strcmp(val, "rw") == 0 || !*val)
		ro = false;
	else {
		DERR(ps, "%s: unknown access '%s' (r, ro, w or rw)", ps->where, val);
		return;
	}
	if (ps->access_set && ps->d->readonly != ro) {
		DERR(ps, "%s: access given twice", ps->where);
		return;
	}
	ps->access_set = true;
	ps->d->readonly = ro;
}

static void set_devtype(struct disk_ps *ps, const char *val)
{
	if (strcmp(val, "cdrom") == 0)
		ps->d->cdrom = true;
	else if (strcmp(val, "disk") == 0)
		ps->d->cdrom = false;
	else
		DERR(ps, "%s: unknown device type '%s' (cdrom or disk)", ps->where, val);
	ps->devtype_set = true;
}

/* A vdev written "hdc:cdrom" / "xvdb:disk" (deprecated). Returns true if
 * `val` had that form (handled, or reported). */
static bool vdev_and_devtype(struct disk_ps *ps, const char *val)
{
	const char *colon = strrchr(val, ':');
	char *vdev;

	if (!colon)
		return false;
	vdev = strndup(val, (size_t)(colon - val));
	if (!vdev) {
		ps->oom = true;
		return true;
	}
	set_string(ps, &ps->d->vdev, "vdev", vdev);
	free(vdev);
	ps->vdev_set = true;
	set_devtype(ps, colon + 1);
	return true;
}

static void positional(struct disk_ps *ps, const char *val)
{
	if (!ps->target_set) {
		set_string(ps, &ps->d->target, "target", val);
		ps->target_set = true;
	} else if (!ps->had_prefix && !ps->format_set) {
		if (ps->d->target && !*ps->d->target && vdev_and_devtype(ps, val)) {
			ps->empty_format = true; /* ",hdc:cdrom,r": xend's empty cdrom */
			ps->format_set = true;
		} else {
			set_format(ps, val);
			ps->format_set = true;
		}
	} else if (!ps->vdev_set) {
		if (!vdev_and_devtype(ps, val))
			set_string(ps, &ps->d->vdev, "vdev", val);
		ps->vdev_set = true;
	} else if (!ps->access_set) {
		set_access(ps, val);
		ps->access_set = true;
	} else {
		DERR(ps, "%s: too many positional parameters at '%s' (target,format,vdev,access)",
		     ps->where, val);
	}
}

static void warn_ignored(struct disk_ps *ps, const char *param, const char *why)
{
	cfg_diag_warn(ps->diag, "%s: '%s' ignored: %s", ps->where, param, why);
}

static void keyed(struct disk_ps *ps, const char *key, const char *val)
{
	if (strcmp(key, "format") == 0) {
		set_format(ps, val);
	} else if (strcmp(key, "vdev") == 0) {
		set_string(ps, &ps->d->vdev, "vdev", val);
		ps->vdev_set = true;
	} else if (strcmp(key, "access") == 0) {
		set_access(ps, val);
	} else if (strcmp(key, "devtype") == 0) {
		set_devtype(ps, val);
	} else if (strcmp(key, "backend") == 0) {
		set_string(ps, &ps->backend, "backend", val);
	} else if (strcmp(key, "backendtype") == 0) {
		if (strcmp(val, "phy") && strcmp(val, "tap") && strcmp(val, "qdisk") &&
		    strcmp(val, "standalone"))
			DERR(ps, "%s: unknown backendtype '%s' (phy, tap, qdisk, standalone)",
			     ps->where, val);
		else
			set_string(ps, &ps->backendtype, "backendtype", val);
	} else if (strcmp(key, "script") == 0) {
		set_string(ps, &ps->script, "script", val);
	} else if (strcmp(key, "specification") == 0) {
		if (strcmp(val, "xen") && strcmp(val, "virtio"))
			DERR(ps, "%s: unknown specification '%s' (xen or virtio)", ps->where, val);
		else if (strcmp(val, "xen") == 0)
			warn_ignored(ps, key, "airlock gives the guest virtio or emulated disks");
	} else if (strcmp(key, "transport") == 0 || strcmp(key, "grant_usage") == 0) {
		warn_ignored(ps, key, "a Xen virtio transport setting");
	} else if (strncmp(key, "colo", 4) == 0 || strcmp(key, "active-disk") == 0 ||
		   strcmp(key, "hidden-disk") == 0) {
		if (!ps->colo_warned)
			warn_ignored(ps, key, "COLO replication is not supported");
		ps->colo_warned = true;
	} else if (!(key[0] >= 'a' && key[0] <= 'z') ||
		   strspn(key, "abcdefghijklmnopqrstuvwxyz"
			       "0123456789-_") != strlen(key)) {
		DERR(ps,
		     "%s: '%s=%s' is not a parameter: a target holding '=' or ',' must come "
		     "last, written target=...",
		     ps->where, key, val);
	} else {
		struct cfg_suggest sg;
		const char *hint;
		cfg_suggest_init(&sg, key);
		for (size_t i = 0; i < sizeof(keyed_names) / sizeof(keyed_names[0]); i++)
			cfg_suggest_consider(&sg, keyed_names[i]);
		hint = cfg_suggest_result(&sg);
		if (hint)
			DERR(ps, "%s: unknown parameter '%s=' (did you mean '%s='?)", ps->where,
			     key, hint);
		else
			DERR(ps, "%s: unknown parameter '%s='", ps->where, key);
	}
}

/* Flags: bare words with a meaning. Returns false if `w` is none. */
static bool flag(struct disk_ps *ps, const char *w)
{
	if (strcmp(w, "cdrom") == 0) {
		ps->d->cdrom = true;
		ps->devtype_set = true;
	} else if (strcmp(w, "discard") == 0) {
		ps->d->discard = true;
	} else if (strcmp(w, "no-discard") == 0) {
		ps->d->discard = false;
	} else if (strcmp(w, "direct-io-safe") == 0) {
		ps->d->direct_io_safe = true;
	} else if (strcmp(w, "colo") == 0 || strcmp(w, "no-colo") == 0) {
		if (!ps->colo_warned)
			warn_ignored(ps, w, "COLO replication is not supported");
		ps->colo_warned = true;
	} else if (strcmp(w, "trusted") == 0 || strcmp(w, "untrusted") == 0) {
		warn_ignored(ps, w, "airlock treats every disk backend alike");
	} else {
		return false;
	}
	return true;
}

/* Handles a deprecated "word:" prefix at `p`. Returns the number of bytes it
 * took (0: no prefix here; -1: an unknown prefix, reported). */
static int prefix(struct disk_ps *ps, const char *p)
{
	static const char *const ignored[] = {"tapdisk", "tap2", "tap", "aio",
					      "ioemu",	 "file", "phy"};
	static const char *const formats[] = {"raw", "qcow", "qcow2", "vhd"};
	static const char *const scripts[] = {"iscsi", "nbd", "enbd", "drbd"};
	size_t n = 0;
	char word[16];

	if (!(p[0] >= 'a' && p[0] <= 'z'))
		return 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9'))
		n++;
	if (p[n] != ':')
		return 0;
	if (n >= sizeof(word)) {
		goto unknown;
	}
	memcpy(word, p, n);
	word[n] = '\0';
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (strcmp(word, ignored[i]) == 0)
			goto done;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(word, formats[i]) == 0) {
			set_format(ps, word);
			goto done;
		}
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		if (strcmp(word, scripts[i]) == 0) {
			char script[32];
			snprintf(script, sizeof(script), "block-%s", word);
			set_string(ps, &ps->script, "script", script);
			goto done;
		}
unknown:
	/* Like xl: "word:" is only a prefix when no letter or digit follows. */
	if ((p[n + 1] >= 'a' && p[n + 1] <= 'z') || (p[n + 1] >= '0' && p[n + 1] <= '9'))
		return 0;
	DERR(ps, "%s: unknown deprecated disk prefix '%.*s:'", ps->where, (int)(n < 32 ? n : 32),
	     p);
	return -1;
done:
	ps->had_prefix = true;
	return (int)n + 1;
}

/* True for a whole-disk vdev followed by a partition number ("xvda1"). */
static bool is_partition(const char *vdev, size_t n)
{
	enum cfg_disk_bus bus;
	unsigned int idx;
	char disk[16];
	size_t k = n;

	while (k && vdev[k - 1] >= '0' && vdev[k - 1] <= '9')
		k--;
	if (k == n || k == 0 || k >= sizeof(disk))
		return false;
	if (vdev[0] == 'd' && vdev[k - 1] == 'p') /* d0p1 */
		k--;
	memcpy(disk, vdev, k);
	disk[k] = '\0';
	return cfg_vdev_parse(disk, &bus, &idx) == 0;
}

static void finish(struct disk_ps *ps)
{
	struct cfg_disk *d = ps->d;
	int r;

	if (!d->vdev || !*d->vdev) {
		DERR(ps, "%s: no vdev (the guest's device name, such as xvda or hdc)", ps->where);
	} else if ((r = cfg_vdev_parse(d->vdev, &d->bus, &d->index)) != 0) {
		size_t n = strlen(d->vdev);
		if (r == -ERANGE)
			DERR(ps, "%s: vdev '%s': IDE has four devices, hda to hdd", ps->where,
			     d->vdev);
		else if (is_partition(d->vdev, n))
			DERR(ps,
			     "%s: vdev '%s': partitions are for PV guests; give a whole disk "
			     "(xvda, hda, sda, vda)",
			     ps->where, d->vdev);
		else
			DERR(ps,
			     "%s: vdev '%s' is not a device name (xvda, hda..hdd, sda, vda, d0)",
			     ps->where, d->vdev);
	}
	if (d->target && !*d->target) {
		free(d->target);
		d->target = NULL;
	}
	if (!d->target && !d->cdrom)
		DERR(ps, "%s: no target (the image file or block device to give the guest)",
		     ps->where);
	if (ps->empty_format && d->target)
		DERR(ps, "%s: format 'empty' is for an empty cdrom drive, but a target is given",
		     ps->where);
	if (d->cdrom) {
		if (ps->access_set && !d->readonly)
			cfg_diag_warn(ps->diag, "%s: a cdrom is read-only; access=rw ignored",
				      ps->where);
		d->readonly = true;
	}
	if (ps->script)
		cfg_diag_warn(ps->diag,
			      "%s: 'script=%s' is not supported: the target is opened as a plain "
			      "file or block device",
			      ps->where, ps->script);
	if (ps->backendtype)
		warn_ignored(ps, "backendtype", "airlock serves every disk itself");
	if (ps->backend && *ps->backend && strcmp(ps->backend, "0") &&
	    strcmp(ps->backend, "dom0") && strcmp(ps->backend, "Domain-0"))
		cfg_diag_warn(ps->diag,
			      "%s: 'backend=%s' ignored: driver domains are not supported; the "
			      "host serves the disk",
			      ps->where, ps->backend);
}

int cfg_disk_parse(const char *spec, struct cfg_disk *out, struct cfg_diag *diag, const char *where)
{
	struct disk_ps ps = {.d = out, .diag = diag, .where = where};
	const char *p = spec;

	memset(out, 0, sizeof(*out));
	out->discard = true;
	while (*p && !ps.oom) {
		const char *end;
		char *param, *eq;
		size_t n;
		int taken;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (strncmp(p, "target=", 7) == 0) {
			char *t;
			n = strlen(p + 7);
			if (n && p[7 + n - 1] == ',')
				n--;
			t = strndup(p + 7, n);
			if (!t) {
				ps.oom = true;
				break;
			}
			set_string(&ps, &out->target, "target", t);
			free(t);
			ps.target_set = true;
			break;
		}
		taken = prefix(&ps, p);
		if (taken < 0)
			break;
		if (taken > 0) {
			p += taken;
			continue;
		}
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		param = strndup(p, n);
		if (!param) {
			ps.oom = true;
			break;
		}
		p = end ? end + 1 : p + n;
		while (n && (param[n - 1] == ' ' || param[n - 1] == '\t' || param[n - 1] == '\n'))
			param[--n] = '\0';
		eq = strchr(param, '=');
		if (eq) {
			*eq = '\0';
			keyed(&ps, param, eq + 1);
		} else if (!flag(&ps, param)) {
			positional(&ps, param);
		}
		free(param);
	}
	if (!ps.oom && !ps.failed)
		finish(&ps);
	free(ps.script);
	free(ps.backend);
	free(ps.backendtype);
	if (ps.oom || ps.failed) {
		cfg_disk_clear(out);
		return ps.oom ? -ENOMEM : -EINVAL;
	}
	return 0;
}

void cfg_disk_clear(struct cfg_disk *disk)
{
	free(disk->target);
	free(disk->vdev);
	memset(disk, 0, sizeof(*disk));
}

int cfg_disk_format_spec(const struct cfg_disk *d, struct buf *out)
{
	int r = buf_printf(out, "format=%s, vdev=%s, access=%s", cfg_disk_format_name(d->format),
			   d->vdev, d->readonly ? "ro" : "rw");

	if (!r && d->cdrom)
		r = buf_printf(out, ", devtype=cdrom");
	if (!r && !d->discard)
		r = buf_printf(out, ", no-discard");
	if (!r && d->direct_io_safe)
		r = buf_printf(out, ", direct-io-safe");
	/* target= drops one trailing comma: double one that belongs to it. */
	if (!r && d->target)
		r = buf_printf(out, ", target=%s%s", d->target,
			       d->target[strlen(d->target) - 1] == ',' ? "," : "");
	return r;
}

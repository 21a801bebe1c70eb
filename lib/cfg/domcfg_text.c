/* domcfg_text.c — a guest config as text: written back as normalized
 * xl.cfg, the names of its enums, UUIDs and domain names (see domcfg.h).
 *
 * The dump is itself a config airlock reads: every value that airlock
 * derived (boot kind, placement, merged command line, mapped actions) is
 * written in the form that yields it directly, so dump → parse → dump is a
 * fixed point. The fuzzer checks exactly that.
 */
#include "cfg/domcfg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool domcfg_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= DOMCFG_NAME_MAX && name[0] != '-' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
		       n;
}

int domcfg_uuid_parse(const char *s, uint8_t uuid[16])
{
	static const unsigned dash_at[] = {8, 13, 18, 23};
	uint8_t u[16];
	size_t di = 0, bi = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36;) {
		int hi, lo;
		if (di < 4 && i == dash_at[di]) {
			if (s[i] != '-')
				return -EINVAL;
			di++;
			i++;
			continue;
		}
		hi = s[i] >= '0' && s[i] <= '9'	  ? s[i] - '0'
		     : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
		     : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
						  : -1;
		lo = s[i + 1] >= '0' && s[i + 1] <= '9'	  ? s[i + 1] - '0'
		     : s[i + 1] >= 'a' && s[i + 1] <= 'f' ? s[i + 1] - 'a' + 10
		     : s[i + 1] >= 'A' && s[i + 1] <= 'F' ? s[i + 1] - 'A' + 10
							  : -1;
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[bi++] = (uint8_t)(hi * 16 + lo);
		i += 2;
	}
	memcpy(uuid, u, 16);
	return 0;
}

void domcfg_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

const char *domcfg_action_name(enum dom_action action)
{
	switch (action) {
	case DOM_ACTION_DESTROY:
		return "destroy";
	case DOM_ACTION_RESTART:
		return "restart";
	case DOM_ACTION_PRESERVE:
		return "preserve";
	}
	return "?";
}

const char *domcfg_placement_name(enum dom_placement placement)
{
	switch (placement) {
	case DOM_PLACEMENT_ENGINE:
		return "qemu";
	case DOM_PLACEMENT_DM:
		return "airlock";
	case DOM_PLACEMENT_STUBDOM:
		return "stubdom";
	}
	return "?";
}

const char *domcfg_accel_name(enum dom_accel accel)
{
	switch (accel) {
	case DOM_ACCEL_AUTO:
		return "auto";
	case DOM_ACCEL_KVM:
		return "kvm";
	case DOM_ACCEL_TCG:
		return "tcg";
	}
	return "?";
}

const char *domcfg_boot_name(enum dom_boot boot)
{
	return boot == DOM_BOOT_DIRECT ? "direct" : "firmware";
}

/* Appends `s` as a double-quoted xl.cfg string: quotes, backslashes and
 * control bytes escaped, everything else (UTF-8 included) as is. */
static int put_string(struct buf *out, const char *s)
{
	int r = buf_append(out, "\"", 1);

	for (; *s && !r; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			r = buf_printf(out, "\\%c", ch);
		else if (ch == '\n')
			r = buf_append(out, "\\n", 2);
		else if (ch == '\t')
			r = buf_append(out, "\\t", 2);
		else if (ch < 0x20 || ch == 0x7f)
			r = buf_printf(out, "\\x%02x", ch);
		else
			r = buf_append(out, s, 1);
	}
	return r ? r : buf_append(out, "\"", 1);
}

static int put_key_string(struct buf *out, const char *key, const char *val)
{
	int r = buf_printf(out, "%s = ", key);

	if (!r)
		r = put_string(out, val);
	return r ? r : buf_append(out, "\n", 1);
}

/* A list of spec strings, one per line. `spec` appends entry i. */
static int put_list(struct buf *out, const char *key, size_t n, const void *items, size_t size,
		    int (*spec)(const void *item, struct buf *b))
{
	struct buf one = BUF_INIT;
	int r = buf_printf(out, "%s = [", key);

	for (size_t i = 0; i < n && !r; i++) {
		buf_reset(&one);
		r = spec((const char *)items + i * size, &one);
		if (!r)
			r = buf_append(&one, "", 1);
		if (!r)
			r = buf_append(out, "\n\t", 2);
		if (!r)
			r = put_string(out, (const char *)buf_head(&one));
		if (!r)
			r = buf_append(out, ",", 1);
	}
	buf_free(&one);
	if (!r && n)
		r = buf_append(out, "\n", 1);
	return r ? r : buf_append(out, "]\n", 2);
}

static int disk_spec(const void *item, struct buf *b)
{
	return cfg_disk_format_spec(item, b);
}

static int vif_spec(const void *item, struct buf *b)
{
	return cfg_vif_format_spec(item, b);
}

int domcfg_dump(const struct dom_config *cfg, struct buf *out)
{
	char uuid[37];
	int r;

	r = put_key_string(out, "name", cfg->name);
	if (!r && cfg->has_uuid) {
		domcfg_uuid_format(cfg->uuid, uuid);
		r = put_key_string(out, "uuid", uuid);
	}
	if (!r)
		r = buf_printf(out, "type = \"hvm\"\nmemory = %llu\n",
			       (unsigned long long)cfg->memory_mib);
	if (!r && cfg->maxmem_mib)
		r = buf_printf(out, "maxmem = %llu\n", (unsigned long long)cfg->maxmem_mib);
	if (!r)
		r = buf_printf(out, "vcpus = %u\naccel = \"%s\"\n", cfg->vcpus,
			       domcfg_accel_name(cfg->accel));
	if (!r && cfg->boot == DOM_BOOT_DIRECT) {
		r = put_key_string(out, "kernel", cfg->kernel);
		if (!r && cfg->ramdisk)
			r = put_key_string(out, "ramdisk", cfg->ramdisk);
		if (!r && cfg->cmdline)
			r = put_key_string(out, "cmdline", cfg->cmdline);
	}
	if (!r)
		r = put_list(out, "disk", cfg->n_disks, cfg->disks, sizeof(*cfg->disks), disk_spec);
	if (!r)
		r = put_list(out, "vif", cfg->n_vifs, cfg->vifs, sizeof(*cfg->vifs), vif_spec);
	if (!r && cfg->serial == DOM_SERIAL_PTY)
		r = put_key_string(out, "serial", "pty");
	else if (!r && cfg->serial == DOM_SERIAL_NONE)
		r = put_key_string(out, "serial", "none");
	else if (!r && cfg->serial == DOM_SERIAL_OTHER)
		r = put_key_string(out, "serial", cfg->serial_spec);
	if (!r)
		r = buf_printf(out, "on_poweroff = \"%s\"\non_reboot = \"%s\"\non_crash = \"%s\"\n",
			       domcfg_action_name(cfg->on_poweroff),
			       domcfg_action_name(cfg->on_reboot),
			       domcfg_action_name(cfg->on_crash));
	if (!r)
		r = buf_printf(out,
			       "device_model_version = \"%s\"\n"
			       "device_model_stubdomain_override = %d\n",
			       cfg->placement == DOM_PLACEMENT_ENGINE ? "qemu" : "airlock",
			       cfg->placement == DOM_PLACEMENT_STUBDOM);
	if (!r && cfg->stubdom.memory_mib)
		r = buf_printf(out, "stubdomain_memory = %llu\n",
			       (unsigned long long)cfg->stubdom.memory_mib);
	if (!r && cfg->stubdom.kernel)
		r = put_key_string(out, "stubdomain_kernel", cfg->stubdom.kernel);
	if (!r && cfg->stubdom.ramdisk)
		r = put_key_string(out, "stubdomain_ramdisk", cfg->stubdom.ramdisk);
	if (!r && cfg->stubdom.cmdline)
		r = put_key_string(out, "stubdomain_cmdline", cfg->stubdom.cmdline);
	return r;
}

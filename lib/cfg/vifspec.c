/* vifspec.c — xl-network-configuration(5) parsing (see vifspec.h).
 *
 * Like xl, a spec is split at commas and each piece, blanks trimmed, is a
 * key=value pair; empty pieces are skipped and a key given twice keeps its
 * last value. Unlike xl, a key nobody knows is an error (xl prints a warning
 * and carries on): a typo in a vif is a guest without the network its owner
 * asked for.
 */
#include "cfg/vifspec.h"

#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vif_ps {
	struct cfg_vif *v;
	struct cfg_diag *diag;
	const char *where;
	unsigned int seen; /* bit per key[] entry */
	bool type_vif;
	bool colo_warned;
	bool failed, oom;
};

enum vif_key {
	K_MAC,
	K_BRIDGE,
	K_TYPE,
	K_MODEL,
	K_IP,
	K_VIFNAME,
	K_MTU,
	K_RATE,
	K_SCRIPT,
	K_BACKEND,
	K_DEVID,
	K_GATEWAYDEV,
	K_NETDEV,
	K_FORWARDDEV,
	K_ACCEL,
	K_COUNT,
};

static const char *const key_names[K_COUNT] = {
	[K_MAC] = "mac",       [K_BRIDGE] = "bridge",
	[K_TYPE] = "type",     [K_MODEL] = "model",
	[K_IP] = "ip",	       [K_VIFNAME] = "vifname",
	[K_MTU] = "mtu",       [K_RATE] = "rate",
	[K_SCRIPT] = "script", [K_BACKEND] = "backend",
	[K_DEVID] = "devid",   [K_GATEWAYDEV] = "gatewaydev",
	[K_NETDEV] = "netdev", [K_FORWARDDEV] = "forwarddev",
	[K_ACCEL] = "accel",
};

static const char *const model_names[] = {
	[CFG_VIF_VIRTIO] = "virtio",
	[CFG_VIF_E1000] = "e1000",
	[CFG_VIF_RTL8139] = "rtl8139",
};

#define VERR(ps, ...)                                                                              \
	do {                                                                                       \
		(ps)->failed = true;                                                               \
		cfg_diag_error((ps)->diag, __VA_ARGS__);                                           \
	} while (0)

const char *cfg_vif_model_name(enum cfg_vif_model model)
{
	return (unsigned)model < sizeof(model_names) / sizeof(model_names[0]) ? model_names[model]
									      : "?";
}

int cfg_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++) {
		const char *p = s + i * 3;
		int hi = hex_digit(p[0]), lo = hi < 0 ? -1 : hex_digit(p[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (p[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi * 16 + lo);
	}
	memcpy(mac, m, 6);
	return 0;
}

bool cfg_mac_usable(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

void cfg_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* Reads a decimal number at *p (advancing it). Returns false if there is
 * none or it exceeds `max`. */
static bool read_decimal(const char **p, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

int cfg_rate_parse(const char *s, uint64_t *bytes_per_s, uint32_t *interval_us)
{
	static const struct {
		const char *unit;
		uint64_t mult;
		bool bits;
	} units[] = {
		{"GB/s", 1000000000, false}, {"MB/s", 1000000, false},	 {"KB/s", 1000, false},
		{"B/s", 1, false},	     {"Gb/s", 1000000000, true}, {"Mb/s", 1000000, true},
		{"Kb/s", 1000, true},	     {"b/s", 1, true},		 {"/s", 1, false},
	};
	const uint64_t rate_max = 1ull << 53;
	const char *p = s;
	uint64_t n, rate = 0, iv = 50000;
	bool found = false;

	if (!read_decimal(&p, rate_max, &n))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t len = strlen(units[i].unit);
		if (strncmp(p, units[i].unit, len) != 0)
			continue;
		if (n > rate_max / units[i].mult)
			return -EINVAL;
		rate = n * units[i].mult;
		if (units[i].bits)
			rate /= 8;
		p += len;
		found = true;
		break;
	}
	if (!found || rate == 0)
		return -EINVAL;
	if (*p == '@') {
		uint64_t mult = 1;
		p++;
		if (!read_decimal(&p, UINT32_MAX, &iv))
			return -EINVAL;
		if (strcmp(p, "s") == 0)
			mult = 1000000;
		else if (strcmp(p, "ms") == 0)
			mult = 1000;
		else if (strcmp(p, "us") == 0 || !*p)
			mult = 1;
		else
			return -EINVAL;
		if (iv == 0 || iv > UINT32_MAX / mult)
			return -EINVAL;
		iv *= mult;
	} else if (*p) {
		return -EINVAL;
	}
	*bytes_per_s = rate;
	*interval_us = (uint32_t)iv;
	return 0;
}

/* A host interface name we are willing to create or join: 1..15 bytes of
 * [A-Za-z0-9_.-], not starting with '-' and not "." or "..". */
static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 15 || s[0] == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* One or more IPv4/IPv6 addresses, each with an optional /prefix, separated
 * by blanks. */
static bool ip_list_ok(const char *s)
{
	const char *p = s;
	int count = 0;

	for (;;) {
		char addr[64], *slash;
		unsigned char bin[16];
		size_t n;
		int af;

		p += strspn(p, " \t");
		if (!*p)
			return count > 0;
		n = strcspn(p, " \t");
		if (n >= sizeof(addr))
			return false;
		memcpy(addr, p, n);
		addr[n] = '\0';
		p += n;
		slash = strchr(addr, '/');
		if (slash)
			*slash++ = '\0';
		af = strchr(addr, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(af, addr, bin) != 1)
			return false;
		if (slash) {
			uint64_t len;
			const char *q = slash;
			if (!read_decimal(&q, af == AF_INET ? 32 : 128, &len) || *q)
				return false;
		}
		count++;
	}
}

static int set_str(struct vif_ps *ps, char **slot, const char *val)
{
	char *c = strdup(val);

	if (!c) {
		ps->oom = true;
		return -ENOMEM;
	}
	free(*slot);
	*slot = c;
	return 0;
}

static void warn_ignored(struct vif_ps *ps, const char *key, const char *val, const char *why)
{
	cfg_diag_warn(ps->diag, "%s: '%s=%s' ignored: %s", ps->where, key, val, why);
}

static void unknown_key(struct vif_ps *ps, const char *key)
{
	struct cfg_suggest sg;
	const char *hint;

	cfg_suggest_init(&sg, key);
	for (int i = 0; i < K_COUNT; i++)
		cfg_suggest_consider(&sg, key_names[i]);
	hint = cfg_suggest_result(&sg);
	if (hint)
		VERR(ps, "%s: unknown key '%s' (did you mean '%s'?)", ps->where, key, hint);
	else
		VERR(ps, "%s: unknown key '%s'", ps->where, key);
}

static void set_key(struct vif_ps *ps, enum vif_key k, const char *key, const char *val)
{
	struct cfg_vif *v = ps->v;
	uint64_t n;

	switch (k) {
	case K_MAC:
		if (cfg_mac_parse(val, v->mac))
			VERR(ps, "%s: mac '%s' is not six hex pairs separated by ':'", ps->where,
			     val);
		else if (!cfg_mac_usable(v->mac))
			VERR(ps,
			     "%s: mac '%s' is a multicast or zero address (the first byte must "
			     "be even, e.g. 00:16:3e:.. or 02:..)",
			     ps->where, val);
		else
			v->mac_set = true;
		break;
	case K_BRIDGE:
		if (!ifname_ok(val))
			VERR(ps,
			     "%s: bridge '%s' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)",
			     ps->where, val);
		else
			set_str(ps, &v->bridge, val);
		break;
	case K_TYPE:
		ps->type_vif = false;
		if (strcmp(val, "ioemu") == 0) {
			v->backend = CFG_VIF_TAP;
		} else if (strcmp(val, "vif") == 0) {
			v->backend = CFG_VIF_TAP;
			ps->type_vif = true;
		} else if (strcmp(val, "passt") == 0) {
			v->backend = CFG_VIF_PASST;
		} else {
			VERR(ps, "%s: unknown type '%s' (ioemu, vif, or airlock's passt)",
			     ps->where, val);
		}
		break;
	case K_MODEL:
		if (strcmp(val, "virtio") == 0 || strcmp(val, "virtio-net") == 0 ||
		    strcmp(val, "virtio-net-pci") == 0)
			v->model = CFG_VIF_VIRTIO;
		else if (strcmp(val, "e1000") == 0)
			v->model = CFG_VIF_E1000;
		else if (strcmp(val, "rtl8139") == 0)
			v->model = CFG_VIF_RTL8139;
		else
			VERR(ps, "%s: unsupported model '%s' (virtio, e1000, rtl8139)", ps->where,
			     val);
		break;
	case K_IP:
		if (!ip_list_ok(val))
			VERR(ps, "%s: ip '%s' is not a list of IPv4/IPv6 addresses", ps->where,
			     val);
		else
			set_str(ps, &v->ip, val);
		break;
	case K_VIFNAME:
		if (!ifname_ok(val))
			VERR(ps,
			     "%s: vifname '%s' is not an interface name (1-15 of A-Z a-z 0-9 _ . "
			     "-)",
			     ps->where, val);
		else
			set_str(ps, &v->vifname, val);
		break;
	case K_MTU: {
		const char *q = val;
		if (!read_decimal(&q, 65535, &n) || *q || n < 68)
			VERR(ps, "%s: mtu '%s' is not a number from 68 to 65535", ps->where, val);
		else
			v->mtu = (unsigned int)n;
		break;
	}
	case K_RATE:
		if (cfg_rate_parse(val, &v->rate_bytes_per_s, &v->rate_interval_us))
			VERR(ps, "%s: rate '%s' is not RATE/s[@INTERVAL] (e.g. 10Mb/s, 1MB/s@20ms)",
			     ps->where, val);
		break;
	case K_SCRIPT:
		warn_ignored(ps, key, val, "hotplug scripts are not supported");
		break;
	case K_BACKEND:
		if (strcmp(val, "0") && strcmp(val, "dom0") && strcmp(val, "Domain-0"))
			warn_ignored(ps, key, val, "driver domains are not supported");
		break;
	case K_DEVID:
		warn_ignored(ps, key, val, "devices are numbered in list order");
		break;
	case K_GATEWAYDEV:
	case K_NETDEV:
	case K_FORWARDDEV:
		warn_ignored(ps, key, val, "routed and NAT vifs are not supported");
		break;
	case K_ACCEL:
		warn_ignored(ps, key, val, "deprecated in xl too");
		break;
	case K_COUNT:
		break;
	}
}

static void handle_pair(struct vif_ps *ps, char *param)
{
	char *eq = strchr(param, '=');
	const char *key = param, *val;

	if (!eq) {
		VERR(ps, "%s: '%s' is not key=value", ps->where, param);
		return;
	}
	*eq = '\0';
	val = eq + 1;
	for (int k = 0; k < K_COUNT; k++) {
		if (strcmp(key, key_names[k]) != 0)
			continue;
		if (ps->seen & (1u << k))
			cfg_diag_warn(ps->diag,
				      "%s: '%s' given twice; the last one counts, as in xl",
				      ps->where, key);
		ps->seen |= 1u << k;
		set_key(ps, (enum vif_key)k, key, val);
		return;
	}
	if (strncmp(key, "colo_", 5) == 0) {
		if (!ps->colo_warned)
			warn_ignored(ps, key, val, "COLO replication is not supported");
		ps->colo_warned = true;
		return;
	}
	unknown_key(ps, key);
}

int cfg_vif_parse(const char *spec, struct cfg_vif *out, struct cfg_diag *diag, const char *where)
{
	struct vif_ps ps = {.v = out, .diag = diag, .where = where};
	const char *p = spec;

	memset(out, 0, sizeof(*out));
	while (*p && !ps.oom) {
		size_t n = strcspn(p, ",");
		char *param = strndup(p, n), *s;
		p += n;
		if (*p == ',')
			p++;
		if (!param) {
			ps.oom = true;
			break;
		}
		s = param + strspn(param, " \t\n");
		n = strlen(s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
			s[--n] = '\0';
		if (*s)
			handle_pair(&ps, s);
		free(param);
	}
	if (!ps.oom && !ps.failed) {
		if (ps.type_vif)
			cfg_diag_warn(diag,
				      "%s: 'type=vif' (PV only): airlock has no Xen PV NICs; the "
				      "guest gets a %s NIC",
				      where, cfg_vif_model_name(out->model));
		if (out->backend == CFG_VIF_PASST) {
			if (out->bridge)
				warn_ignored(&ps, "bridge", out->bridge,
					     "a passt vif joins no bridge");
			if (out->vifname)
				warn_ignored(&ps, "vifname", out->vifname,
					     "a passt vif has no host interface");
			free(out->bridge);
			free(out->vifname);
			out->bridge = out->vifname = NULL;
		} else if (!out->bridge) {
			set_str(&ps, &out->bridge, CFG_VIF_DEFAULT_BRIDGE);
		}
	}
	if (ps.oom || ps.failed) {
		cfg_vif_clear(out);
		return ps.oom ? -ENOMEM : -EINVAL;
	}
	return 0;
}

void cfg_vif_clear(struct cfg_vif *vif)
{
	free(vif->bridge);
	free(vif->ip);
	free(vif->vifname);
	memset(vif, 0, sizeof(*vif));
}

int cfg_vif_format_spec(const struct cfg_vif *v, struct buf *out)
{
	char mac[18];
	int r;

	if (v->backend == CFG_VIF_PASST)
		r = buf_printf(out, "type=passt, model=%s", cfg_vif_model_name(v->model));
	else
		r = buf_printf(out, "bridge=%s, model=%s", v->bridge, cfg_vif_model_name(v->model));
	if (!r && v->mac_set) {
		cfg_mac_format(v->mac, mac);
		r = buf_printf(out, ", mac=%s", mac);
	}
	if (!r && v->ip)
		r = buf_printf(out, ", ip=%s", v->ip);
	if (!r && v->vifname)
		r = buf_printf(out, ", vifname=%s", v->vifname);
	if (!r && v->mtu)
		r = buf_printf(out, ", mtu=%u", v->mtu);
	if (!r && v->rate_bytes_per_s)
		r = buf_printf(out, ", rate=%lluB/s@%uus", (unsigned long long)v->rate_bytes_per_s,
			       v->rate_interval_us);
	return r;
}

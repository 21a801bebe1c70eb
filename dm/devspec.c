/* devspec.c — see devspec.h. */
#include "dm/devspec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define MAX_FD (1u << 20)
/* The stub protocol's device channels are 1..15 (SP_MAX_CHANNELS - 1). */
#define DM_MAX_CHANNEL 15u

static int fail(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

static int parse_fd(const char *v, int *out)
{
	unsigned int n;

	if (parse_uint(v, MAX_FD, &n) < 0)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

/* dddd:bb:ss.f in hex, as sysfs names PCI devices. */
static bool valid_bdf(const char *v)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(v) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !isxdigit((unsigned char)v[i]) : v[i] != shape[i])
			return false;
	return true;
}

/* One key=value of kind d->kind. */
static int parse_kv(struct dm_devspec *d, const char *k, const char *v, char *err, size_t errsz)
{
	unsigned int n;

	if (strcmp(k, "fd") == 0) {
		if (parse_fd(v, &d->listen_fd) < 0)
			return fail(err, errsz, "fd=%s: not a file descriptor number", v);
		return 0;
	}
	if (strcmp(k, "channel") == 0) {
		if (parse_uint(v, DM_MAX_CHANNEL, &n) < 0 || n == 0)
			return fail(err, errsz, "channel=%s: expected 1..%u", v, DM_MAX_CHANNEL);
		d->channel = n;
		return 0;
	}
	if (strcmp(k, "socket") == 0) {
		free(d->socket_path);
		d->socket_path = strdup(v);
		return d->socket_path ? 0 : -ENOMEM;
	}
	if (d->kind == DM_KIND_BLK && strcmp(k, "file") == 0) {
		free(d->file);
		d->file = strdup(v);
		return d->file ? 0 : -ENOMEM;
	}
	if (d->kind == DM_KIND_BLK && strcmp(k, "pci") == 0) {
		if (!valid_bdf(v))
			return fail(err, errsz, "pci=%s: expected a PCI address like 0000:00:10.0",
				    v);
		free(d->pci);
		d->pci = strdup(v);
		return d->pci ? 0 : -ENOMEM;
	}
	if (d->kind == DM_KIND_BLK && strcmp(k, "read-only") == 0) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fail(err, errsz, "read-only=%s: expected on or off", v);
		d->read_only = strcmp(v, "on") == 0;
		return 0;
	}
	if (d->kind == DM_KIND_NET && strcmp(k, "tap-fd") == 0) {
		if (parse_fd(v, &d->tap_fd) < 0)
			return fail(err, errsz, "tap-fd=%s: not a file descriptor number", v);
		return 0;
	}
	if (d->kind == DM_KIND_NET && strcmp(k, "stream-fd") == 0) {
		if (parse_fd(v, &d->stream_fd) < 0)
			return fail(err, errsz, "stream-fd=%s: not a file descriptor number", v);
		return 0;
	}
	if (d->kind == DM_KIND_NET && strcmp(k, "packet") == 0) {
		if (strlen(v) >= DM_IFNAMSIZ)
			return fail(err, errsz, "packet=%s: an interface name is at most %u bytes",
				    v, DM_IFNAMSIZ - 1);
		free(d->packet_if);
		d->packet_if = strdup(v);
		return d->packet_if ? 0 : -ENOMEM;
	}
	if (d->kind == DM_KIND_NET && strcmp(k, "mac") == 0) {
		if (parse_mac(v, d->mac) < 0)
			return fail(err, errsz,
				    "mac=%s: expected six hex bytes like 00:16:3e:01:02:03", v);
		d->mac_set = true;
		return 0;
	}
	if (d->kind == DM_KIND_NET && strcmp(k, "offload") == 0) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fail(err, errsz, "offload=%s: expected on or off", v);
		d->offload = strcmp(v, "on") == 0;
		return 0;
	}
	if (d->kind == DM_KIND_NET && strcmp(k, "mtu") == 0) {
		if (parse_uint(v, 65535, &n) < 0 || n < 68)
			return fail(err, errsz, "mtu=%s: expected 68..65535", v);
		d->mtu = (uint16_t)n;
		return 0;
	}
	return fail(err, errsz, "unknown key '%s' for a %s device", k,
		    d->kind == DM_KIND_BLK ? "blk" : "net");
}

int dm_devspec_parse(const char *s, struct dm_devspec *out, char *err, size_t errsz)
{
	struct dm_devspec d = {.listen_fd = -1, .tap_fd = -1, .stream_fd = -1};
	char *copy = strdup(s), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	tok = strtok_r(copy, ",", &save);
	if (tok && strcmp(tok, "blk") == 0)
		d.kind = DM_KIND_BLK;
	else if (tok && strcmp(tok, "net") == 0)
		d.kind = DM_KIND_NET;
	else
		rc = fail(err, errsz, "'%s': expected a device kind first (blk or net)", s);
	while (rc == 0 && (tok = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok || !eq[1]) {
			rc = fail(err, errsz, "'%s': expected key=value", tok);
			break;
		}
		*eq = '\0';
		rc = parse_kv(&d, tok, eq + 1, err, errsz);
	}
	free(copy);
	if (rc == 0 && (d.listen_fd >= 0) + (d.socket_path != NULL) + (d.channel != 0) != 1)
		rc = fail(err, errsz, "give exactly one of fd=, socket= and channel=");
	if (rc == 0 && d.kind == DM_KIND_BLK && !d.file == !d.pci)
		rc = fail(err, errsz, "a blk device needs exactly one of file= and pci=");
	if (rc == 0 && d.offload && !d.packet_if)
		rc = fail(err, errsz, "offload=on is for packet=");
	if (rc == 0 && d.pci && !d.channel)
		rc = fail(err, errsz, "pci= is for a stub domain's disk: it needs channel=");
	if (rc == 0 && d.kind == DM_KIND_NET &&
	    (d.tap_fd >= 0) + (d.stream_fd >= 0) + (d.packet_if != NULL) != 1)
		rc = fail(err, errsz,
			  "a net device needs exactly one of tap-fd=, stream-fd= and packet=");
	if (rc) {
		dm_devspec_free(&d);
		return rc;
	}
	*out = d;
	return 0;
}

void dm_devspec_free(struct dm_devspec *d)
{
	free(d->socket_path);
	free(d->file);
	free(d->pci);
	free(d->packet_if);
	d->socket_path = d->file = d->pci = d->packet_if = NULL;
}

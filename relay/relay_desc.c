/* relay_desc.c — see relay_desc.h. */
#include "relay/relay_desc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define MAX_FD (1u << 20)

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

static int parse_hex64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s || strlen(s) > 16)
		return -EINVAL;
	for (; *s; s++) {
		int d = hex_digit(*s);
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

static int parse_config(const char *s, struct relay_dev_desc *d)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > RELAY_CONFIG_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		d->config[i] = (uint8_t)(hi << 4 | lo);
	}
	d->config_len = (unsigned int)(n / 2);
	return 0;
}

int relay_desc_parse(const char *spec, struct relay_dev_desc *d, char *err, size_t errsz)
{
	char tmp[1024];
	bool have_fd = false, have_feat = false, have_q = false, have_cfg = false;

	memset(d, 0, sizeof(*d));
	d->listen_fd = -1;
	if (strlen(spec) >= sizeof(tmp))
		return fail(err, errsz, "spec too long");
	strcpy(tmp, spec);
	char *save = NULL;
	char *tok = strtok_r(tmp, ",", &save);
	if (!tok)
		return fail(err, errsz, "empty spec");
	if (strcmp(tok, "blk") == 0)
		d->kind = RELAY_BLK;
	else if (strcmp(tok, "net") == 0)
		d->kind = RELAY_NET;
	else
		return fail(err, errsz, "%s: not blk or net", tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *v = strchr(tok, '=');
		if (!v)
			return fail(err, errsz, "%s: not key=value", tok);
		*v++ = '\0';
		unsigned int n;
		if (strcmp(tok, "fd") == 0 && !have_fd) {
			if (parse_uint(v, MAX_FD, &n) < 0)
				return fail(err, errsz, "fd=%s: not a file descriptor number", v);
			d->listen_fd = (int)n;
			have_fd = true;
		} else if (strcmp(tok, "features") == 0 && !have_feat) {
			if (parse_hex64(v, &d->features) < 0)
				return fail(err, errsz, "features=%s: not a 64-bit hex number", v);
			have_feat = true;
		} else if (strcmp(tok, "queues") == 0 && !have_q) {
			if (parse_uint(v, RELAY_MAX_QUEUES, &n) < 0 || n == 0)
				return fail(err, errsz, "queues=%s: not 1..%u", v,
					    RELAY_MAX_QUEUES);
			d->queues = n;
			have_q = true;
		} else if (strcmp(tok, "config") == 0 && !have_cfg) {
			if (parse_config(v, d) < 0)
				return fail(err, errsz, "config: not hex bytes (at most %u)",
					    RELAY_CONFIG_MAX);
			have_cfg = true;
		} else {
			return fail(err, errsz, "%s: unknown or repeated key", tok);
		}
	}
	if (!have_fd || !have_feat || !have_q)
		return fail(err, errsz, "fd=, features= and queues= are required");
	return 0;
}

/* fuzz_cfg.c — libFuzzer target for the guest config parsers (lib/cfg).
 *
 * The input is config text. For each input:
 *
 *   - cfg_parse: every setting has a well-formed key, a line and column
 *     inside the input, and values of a known type whose strings hold no
 *     NUL; it returns -EINVAL exactly when it reported an error;
 *   - domcfg_parse without file checks, with and without a base directory:
 *     both agree on success; success means no error was reported and the
 *     config is within the schema's bounds (name, memory, vcpus, devices);
 *     failure means at least one error. A config that loads is dumped, the
 *     dump must load without errors, and dumping that gives the same text
 *     (dump → parse → dump is a fixed point);
 *   - the input (up to its first NUL) as one disk spec and one vif spec:
 *     a spec that parses is written back with cfg_*_format_spec and must
 *     parse to the same device; and as a vdev, a MAC and a rate, whose
 *     results are checked against the helpers' contracts.
 *
 * Any violated invariant aborts with a message naming it. No file is read:
 * the fuzzer never touches the file system.
 */
#include "cfg/domcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_cfg: invariant failed: %s: ", #cond);                \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static bool key_ok(const char *k)
{
	if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z') || k[0] == '_'))
		return false;
	return strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") ==
	       strlen(k);
}

static void check_value(const struct cfg_value *v, unsigned int lines, int depth)
{
	CHECK(depth <= CFG_MAX_DEPTH, "depth %d", depth);
	CHECK(v->line >= 1 && v->line <= lines && v->col >= 1, "value at %u:%u of %u lines",
	      v->line, v->col, lines);
	switch (v->type) {
	case CFG_STRING:
		CHECK(v->str != NULL && v->n_items == 0, "string value");
		break;
	case CFG_INT: {
		uint64_t n;
		CHECK(v->str && cfg_parse_number(v->str, &n) == 0 && n == v->num,
		      "number token '%s'", v->str ? v->str : "(null)");
		break;
	}
	case CFG_LIST:
		CHECK(v->str == NULL, "list with a string");
		for (size_t i = 0; i < v->n_items; i++)
			check_value(&v->items[i], lines, depth + 1);
		break;
	default:
		CHECK(0, "value type %d", (int)v->type);
	}
}

static void check_syntax(const char *text, size_t len)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_file *f = NULL;
	unsigned int lines = 1;
	int r;

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	r = cfg_parse(text, len, "f", &f, &d);
	if (r == -ENOMEM) {
		cfg_diag_free(&d);
		return;
	}
	CHECK(f != NULL, "no file with r=%d", r);
	CHECK((r == 0) == (cfg_diag_error_count(&d) == 0), "r=%d with %zu errors", r,
	      cfg_diag_error_count(&d));
	CHECK(d.n_warnings == 0, "the syntax layer warned");
	for (size_t i = 0; i < f->n_settings; i++) {
		const struct cfg_setting *s = &f->settings[i];
		CHECK(key_ok(s->key), "key '%s'", s->key);
		CHECK(s->line >= 1 && s->line <= lines && s->col >= 1, "setting at %u:%u", s->line,
		      s->col);
		CHECK(i == 0 || s->line >= f->settings[i - 1].line, "settings out of order");
		check_value(&s->value, lines, 0);
		CHECK(cfg_find(f, s->key) != NULL, "cfg_find lost '%s'", s->key);
	}
	cfg_file_free(f);
	cfg_diag_free(&d);
}

static void check_config(const struct dom_config *c)
{
	CHECK(c->name && domcfg_name_valid(c->name), "name");
	CHECK(c->memory_mib >= 1 && c->memory_mib <= DOMCFG_MEMORY_MAX, "memory %llu",
	      (unsigned long long)c->memory_mib);
	CHECK(c->vcpus >= 1 && c->vcpus <= DOMCFG_VCPUS_MAX, "vcpus %u", c->vcpus);
	CHECK((c->boot == DOM_BOOT_DIRECT) == (c->kernel != NULL), "boot kind vs kernel");
	CHECK(c->boot == DOM_BOOT_DIRECT || (!c->ramdisk && !c->cmdline && c->n_disks > 0),
	      "firmware boot");
	CHECK(c->n_disks <= DOMCFG_DISKS_MAX && c->n_vifs <= DOMCFG_VIFS_MAX, "device counts");
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct cfg_disk *d = &c->disks[i];
		enum cfg_disk_bus bus;
		unsigned int idx;
		CHECK(d->vdev && cfg_vdev_parse(d->vdev, &bus, &idx) == 0 && bus == d->bus &&
			      idx == d->index,
		      "disk %zu vdev", i);
		CHECK(d->target || d->cdrom, "disk %zu without target", i);
		CHECK(!d->cdrom || d->readonly, "writable cdrom");
		for (size_t j = 0; j < i; j++)
			CHECK(c->disks[j].bus != d->bus || c->disks[j].index != d->index,
			      "two disks on one slot");
	}
	for (size_t i = 0; i < c->n_vifs; i++) {
		const struct cfg_vif *v = &c->vifs[i];
		CHECK((v->backend == CFG_VIF_TAP) == (v->bridge != NULL), "vif %zu bridge", i);
		CHECK(!v->mac_set || cfg_mac_usable(v->mac), "vif %zu mac", i);
	}
	CHECK(c->serial != DOM_SERIAL_OTHER || c->serial_spec, "serial spec");
}

static void check_schema(const char *text, size_t len)
{
	struct cfg_diag d = CFG_DIAG_INIT, d2 = CFG_DIAG_INIT, d3 = CFG_DIAG_INIT;
	struct dom_config *c = NULL, *c2 = NULL, *c3 = NULL;
	struct buf b1 = BUF_INIT, b2 = BUF_INIT;
	int r, r2;

	r = domcfg_parse(text, len, "f", NULL, DOMCFG_NO_FILE_CHECKS, &c, &d);
	r2 = domcfg_parse(text, len, "f", "/base", DOMCFG_NO_FILE_CHECKS, &c3, &d3);
	if (r == -ENOMEM || r2 == -ENOMEM)
		goto out;
	CHECK(r == r2, "base_dir changed the verdict: %d vs %d", r, r2);
	CHECK(d.n_errors == d3.n_errors && d.n_warnings == d3.n_warnings,
	      "base_dir changed the messages");
	if (r) {
		CHECK(r == -EINVAL && c == NULL, "failure r=%d", r);
		CHECK(cfg_diag_error_count(&d) > 0, "failure without an error");
		goto out;
	}
	CHECK(cfg_diag_error_count(&d) == 0, "success with %zu errors", cfg_diag_error_count(&d));
	check_config(c);
	check_config(c3);
	if (c3->kernel)
		CHECK(c3->kernel[0] == '/', "base_dir not applied to '%s'", c3->kernel);

	CHECK(domcfg_dump(c, &b1) == 0, "dump");
	r = domcfg_parse((const char *)buf_head(&b1), buf_used(&b1), "dump", NULL,
			 DOMCFG_NO_FILE_CHECKS, &c2, &d2);
	if (r == -ENOMEM)
		goto out;
	if (r != 0) {
		for (size_t i = 0; i < d2.n_errors; i++)
			fprintf(stderr, "dump error: %s\n", d2.errors[i]);
		fprintf(stderr, "%.*s", (int)buf_used(&b1), (const char *)buf_head(&b1));
	}
	CHECK(r == 0, "the dump does not load (%d)", r);
	check_config(c2);
	CHECK(domcfg_dump(c2, &b2) == 0, "second dump");
	if (buf_used(&b1) != buf_used(&b2) || memcmp(buf_head(&b1), buf_head(&b2), buf_used(&b1))) {
		fprintf(stderr, "--- first dump\n%.*s--- second dump\n%.*s", (int)buf_used(&b1),
			(const char *)buf_head(&b1), (int)buf_used(&b2),
			(const char *)buf_head(&b2));
		CHECK(0, "dump -> parse -> dump is not a fixed point");
	}
out:
	domcfg_free(c);
	domcfg_free(c2);
	domcfg_free(c3);
	buf_free(&b1);
	buf_free(&b2);
	cfg_diag_free(&d);
	cfg_diag_free(&d2);
	cfg_diag_free(&d3);
}

static void check_disk_spec(const char *spec)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_disk a, b;
	struct buf out = BUF_INIT;
	int r = cfg_disk_parse(spec, &a, &d, "disk");

	if (r) {
		CHECK(r == -ENOMEM || cfg_diag_error_count(&d) > 0, "disk failure without error");
		CHECK(!a.target && !a.vdev, "disk failure left strings");
		goto out;
	}
	CHECK(cfg_diag_error_count(&d) == 0, "disk success with an error");
	CHECK(buf_append(&out, "", 0) == 0 && cfg_disk_format_spec(&a, &out) == 0 &&
		      buf_append(&out, "", 1) == 0,
	      "format disk");
	r = cfg_disk_parse((const char *)buf_head(&out), &b, &d, "again");
	if (r == -ENOMEM)
		goto clear_a;
	CHECK(r == 0, "normalized disk spec '%s' does not parse", (const char *)buf_head(&out));
	CHECK((!a.target && !b.target) || (a.target && b.target && !strcmp(a.target, b.target)),
	      "disk target changed");
	CHECK(!strcmp(a.vdev, b.vdev) && a.format == b.format && a.readonly == b.readonly &&
		      a.cdrom == b.cdrom && a.discard == b.discard &&
		      a.direct_io_safe == b.direct_io_safe && a.bus == b.bus && a.index == b.index,
	      "disk changed through '%s'", (const char *)buf_head(&out));
	cfg_disk_clear(&b);
clear_a:
	cfg_disk_clear(&a);
out:
	buf_free(&out);
	cfg_diag_free(&d);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_vif_spec(const char *spec)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_vif a, b;
	struct buf out = BUF_INIT;
	int r = cfg_vif_parse(spec, &a, &d, "vif");

	if (r) {
		CHECK(r == -ENOMEM || cfg_diag_error_count(&d) > 0, "vif failure without error");
		goto out;
	}
	CHECK(cfg_vif_format_spec(&a, &out) == 0 && buf_append(&out, "", 1) == 0, "format vif");
	r = cfg_vif_parse((const char *)buf_head(&out), &b, &d, "again");
	if (r == -ENOMEM)
		goto clear_a;
	CHECK(r == 0, "normalized vif spec '%s' does not parse", (const char *)buf_head(&out));
	CHECK(a.mac_set == b.mac_set && !memcmp(a.mac, b.mac, 6) && a.backend == b.backend &&
		      a.model == b.model && a.mtu == b.mtu &&
		      a.rate_bytes_per_s == b.rate_bytes_per_s &&
		      a.rate_interval_us == b.rate_interval_us && same_str(a.bridge, b.bridge) &&
		      same_str(a.ip, b.ip) && same_str(a.vifname, b.vifname),
	      "vif changed through '%s'", (const char *)buf_head(&out));
	cfg_vif_clear(&b);
clear_a:
	cfg_vif_clear(&a);
out:
	buf_free(&out);
	cfg_diag_free(&d);
}

static void check_helpers(const char *s)
{
	enum cfg_disk_bus bus;
	unsigned int idx = 0;
	uint8_t mac[6];
	char text[18];
	uint64_t bytes;
	uint32_t iv;

	if (cfg_vdev_parse(s, &bus, &idx) == 0)
		CHECK(idx <= CFG_VDEV_INDEX_MAX && (bus != CFG_DISK_BUS_IDE || idx <= 3),
		      "vdev '%s' -> %u", s, idx);
	if (cfg_mac_parse(s, mac) == 0) {
		uint8_t again[6];
		cfg_mac_format(mac, text);
		CHECK(strlen(s) == 17 && strcasecmp(text, s) == 0, "mac '%s' -> %s", s, text);
		CHECK(cfg_mac_parse(text, again) == 0 && !memcmp(mac, again, 6), "mac round trip");
	}
	if (cfg_rate_parse(s, &bytes, &iv) == 0)
		CHECK(bytes >= 1 && bytes <= (1ull << 53) && iv >= 1, "rate '%s'", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_syntax(text, size);
	check_schema(text, size);
	/* As a spec string: what a quoted list item would hold (no NUL). */
	check_disk_spec(text);
	check_vif_spec(text);
	check_helpers(text);
	free(text);
	return 0;
}

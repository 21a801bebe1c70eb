/* test_cfg.c — xl.cfg syntax (xlcfg.h) and airlock's schema (domcfg.h):
 * value types, comments, lists, escapes, errors with line and column,
 * every key with its types and bounds, warnings for xl-only keys, typo
 * suggestions, missing files, and a realistic Xen HVM config.
 * The disk and vif grammars are in test_cfg_spec.c.
 */
#include "cfg_util.h"
#include "cfg/domcfg_int.h"
#include "cfg/xlcfg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- syntax ------------------------------------------------------------ */

/* Parses `text` with cfg_parse; returns its result. */
static int syn(const char *text, struct cfg_file **f, struct cfg_diag *d)
{
	return cfg_parse(text, strlen(text), "s.cfg", f, d);
}

static void test_syntax_value_types(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_file *f;
	const struct cfg_setting *s;

	CHECK_EQ_INT(syn("a = \"dq\"\nb = 'sq'\nc = 42\nd = 0x1F\ne = [ 'x', \"y\", 3 ]\n"
			 "f = []\ng = [[1, 2], ['z']]\nh = 0\ni = 18446744073709551615\n",
			 &f, &d),
		     0);
	CHECK_NO_ERRORS(&d);
	CHECK_EQ_INT(f->n_settings, 9);
	s = cfg_find(f, "a");
	CHECK(s && s->value.type == CFG_STRING);
	CHECK_EQ_STR(s->value.str, "dq");
	CHECK_EQ_INT(s->line, 1);
	CHECK_EQ_INT(s->col, 1);
	CHECK_EQ_STR(cfg_find(f, "b")->value.str, "sq");
	s = cfg_find(f, "c");
	CHECK(s->value.type == CFG_INT);
	CHECK_EQ_INT(s->value.num, 42);
	CHECK_EQ_STR(s->value.str, "42");
	s = cfg_find(f, "d");
	CHECK_EQ_INT(s->value.num, 31);
	CHECK_EQ_STR(s->value.str, "0x1F");
	s = cfg_find(f, "e");
	CHECK(s->value.type == CFG_LIST);
	CHECK_EQ_INT(s->value.n_items, 3);
	CHECK_EQ_STR(s->value.items[1].str, "y");
	CHECK(s->value.items[2].type == CFG_INT);
	CHECK_EQ_INT(s->value.items[0].col, 7);
	CHECK_EQ_INT(cfg_find(f, "f")->value.n_items, 0);
	s = cfg_find(f, "g");
	CHECK_EQ_INT(s->value.n_items, 2);
	CHECK(s->value.items[0].type == CFG_LIST);
	CHECK_EQ_INT(s->value.items[0].items[1].num, 2);
	CHECK_EQ_STR(s->value.items[1].items[0].str, "z");
	CHECK_EQ_INT(cfg_find(f, "h")->value.num, 0);
	CHECK(cfg_find(f, "i")->value.num == UINT64_MAX);
	CHECK(cfg_find(f, "nothere") == NULL);
	cfg_file_free(f);
	cfg_diag_free(&d);
}

static void test_syntax_layout(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_file *f;
	const struct cfg_setting *s;
	const char *text = "# comment at the top\n"
			   "\n"
			   "   \t\n"
			   "a=1;b = 2 ; c='x'   # trailing comment\n"
			   "list = [ # comment after the bracket\n"
			   "   'one',   # first\n"
			   "\n"
			   "   'two',   # a trailing comma is fine\n"
			   "]\n"
			   "crlf = 'yes'\r\n"
			   "dotted.name_2 = 5\n"
			   "Upper = 1\n"
			   ";;\n"
			   "last = 'no newline at the end'";

	CHECK_EQ_INT(syn(text, &f, &d), 0);
	CHECK_NO_ERRORS(&d);
	CHECK_EQ_INT(f->n_settings, 8);
	CHECK_EQ_INT(cfg_find(f, "b")->value.num, 2);
	CHECK_EQ_INT(cfg_find(f, "b")->line, 4);
	CHECK_EQ_INT(cfg_find(f, "c")->col, 13);
	s = cfg_find(f, "list");
	CHECK_EQ_INT(s->value.n_items, 2);
	CHECK_EQ_STR(s->value.items[1].str, "two");
	CHECK_EQ_INT(s->value.items[1].line, 8);
	CHECK_EQ_STR(cfg_find(f, "crlf")->value.str, "yes");
	CHECK(cfg_find(f, "dotted.name_2") != NULL);
	CHECK(cfg_find(f, "Upper") != NULL);
	CHECK_EQ_INT(cfg_find(f, "last")->line, 14);
	cfg_file_free(f);
	cfg_diag_free(&d);

	/* An empty file and a file of comments are valid and empty. */
	CHECK_EQ_INT(syn("", &f, &d), 0);
	CHECK_EQ_INT(f->n_settings, 0);
	cfg_file_free(f);
	CHECK_EQ_INT(syn("# nothing\n\n# at all", &f, &d), 0);
	CHECK_EQ_INT(f->n_settings, 0);
	cfg_file_free(f);
	/* A UTF-8 byte order mark is skipped; columns count after it. */
	CHECK_EQ_INT(syn("\xef\xbb\xbfname = 'bom'\n", &f, &d), 0);
	CHECK_EQ_STR(cfg_find(f, "name")->value.str, "bom");
	CHECK_EQ_INT(cfg_find(f, "name")->col, 1);
	cfg_file_free(f);
	cfg_diag_free(&d);
}

static void test_syntax_escapes(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_file *f;

	CHECK_EQ_INT(syn("a = \"q\\\"b\\\\s\\'n\\nt\\tr\\rx\\x41o\\101e\\a\\b\\f\\v\"\n"
			 "b = 'single \\\\ \\n \"dq\" inside'\n"
			 "c = \"it's\"\n"
			 "d = \"\\3\\0377\"\n"
			 "e = 'caf\xc3\xa9'\n",
			 &f, &d),
		     0);
	CHECK_NO_ERRORS(&d);
	CHECK_EQ_STR(cfg_find(f, "a")->value.str, "q\"b\\s'n\nt\tr\rxAoAe\a\b\f\v");
	CHECK_EQ_STR(cfg_find(f, "b")->value.str, "single \\ \n \"dq\" inside");
	CHECK_EQ_STR(cfg_find(f, "c")->value.str, "it's");
	CHECK_EQ_STR(cfg_find(f, "d")->value.str, "\003\0377");
	CHECK_EQ_STR(cfg_find(f, "e")->value.str, "caf\xc3\xa9");
	cfg_file_free(f);
	cfg_diag_free(&d);
}

/* Parses `len` bytes of `text`, which must fail, and checks that `msg` is
 * among the errors (messages start with "s.cfg:LINE:COL: "). */
static void syntax_error_n(const char *text, size_t len, const char *msg)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_file *f;

	CHECK_EQ_INT(cfg_parse(text, len, "s.cfg", &f, &d), -EINVAL);
	CHECK(f != NULL);
	CHECK_ERROR(&d, msg);
	cfg_file_free(f);
	cfg_diag_free(&d);
}

static void syntax_error(const char *text, const char *msg)
{
	syntax_error_n(text, strlen(text), msg);
}

/* For texts with NUL bytes. */
#define SYNTAX_ERROR_BYTES(lit, msg) syntax_error_n(lit, sizeof(lit) - 1, msg)

static void test_syntax_errors(void)
{
	syntax_error("memory = 512M\n", "s.cfg:1:10: '512M' is not a number");
	syntax_error("vcpus = 010\n", "s.cfg:1:9: number '010' has a leading zero");
	syntax_error("a = 0x\n", "s.cfg:1:5: '0x' is not a number");
	syntax_error("a = 0xfffffffffffffffff\n",
		     "s.cfg:1:5: number '0xfffffffffffffffff' is too large");
	syntax_error("a = 18446744073709551616\n", "is too large");
	syntax_error("a = -1\n", "s.cfg:1:5: unexpected character '-'");
	syntax_error("a = 1.5\n", "'1.5' is not a number");
	syntax_error("\n\nname = 'x' y\n", "s.cfg:3:12: expected the end of the line or ';'");
	syntax_error("name 'x'\n", "s.cfg:1:6: expected '=' after 'name', found a string");
	syntax_error("name =\n", "s.cfg:1:7: expected a value");
	syntax_error("= 5\n", "s.cfg:1:1: expected a setting (KEY = VALUE), found '='");
	syntax_error("5 = 5\n", "found number 5");
	syntax_error("a = \"open\n", "s.cfg:1:5: unterminated string");
	syntax_error("a = 'open", "unterminated string");
	syntax_error("a = \"\\q\"\n", "s.cfg:1:6: unknown escape '\\q'");
	syntax_error("a = \"\\x4\"\n", "'\\x' must be followed by two hex digits");
	syntax_error("a = \"\\0\"\n", "cannot hold a NUL");
	syntax_error("a = \"\\x00\"\n", "cannot hold a NUL");
	syntax_error("a = \"\\400\"\n", "octal escape above");
	syntax_error("a = 'it\\'s'\n", "\\' cannot appear in a single-quoted string");
	syntax_error("a = \"x\\", "unterminated string");
	syntax_error("a = [1 2]\n", "s.cfg:1:8: expected ',' or ']' in the list opened at line 1");
	syntax_error("a = [1,,2]\n", "s.cfg:1:8: expected a value");
	syntax_error("a = [1,\n 2\n", "s.cfg:1:5: the list opened here is not closed");
	syntax_error("a = ]\n", "found ']'");
	syntax_error("a = [[[[[[[[[1]]]]]]]]]\n", "nested deeper than");
	syntax_error("def f(x):\n", "expected '=' after 'def'");
	syntax_error("a = (1)\n", "not Python");
	syntax_error("a = 1 +\n", "unexpected character '+'");
	syntax_error("a = \x01\n", "unexpected byte 0x01");
	SYNTAX_ERROR_BYTES("a = 'x'\n\0b = 1\n", "s.cfg:2:1: unexpected byte 0x00");
	SYNTAX_ERROR_BYTES("a = 'x\0y'\n", "s.cfg:1:7: a string cannot hold a NUL");
	syntax_error("a = ['x'; 'y']\n", "found ';'");
}

/* Several errors: all reported, and the good statements between them kept. */
static void test_syntax_recovery(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_file *f;
	const char *text = "a = 1\n"
			   "b = 512M\n"
			   "c = 'ok'; d = (\n"
			   "e = [ 'x',\n"
			   "      'y'\n"
			   "f = 2\n"
			   "g = [ 'broken' 'list',\n"
			   "      'spans' ]\n"
			   "h = 3\n";

	CHECK_EQ_INT(syn(text, &f, &d), -EINVAL);
	CHECK_EQ_INT(d.n_errors, 4);
	CHECK_ERROR(&d, "s.cfg:2:5:");
	CHECK_ERROR(&d, "s.cfg:3:15: unexpected character '('");
	CHECK_ERROR(
		&d,
		"s.cfg:4:5: the list opened here is not closed with ']' (before 'f' at line 6)");
	CHECK_ERROR(&d, "s.cfg:7:16: expected ',' or ']'");
	CHECK(cfg_find(f, "a") && cfg_find(f, "c") && cfg_find(f, "f") && cfg_find(f, "h"));
	CHECK(!cfg_find(f, "b") && !cfg_find(f, "d") && !cfg_find(f, "e") && !cfg_find(f, "g"));
	cfg_file_free(f);
	cfg_diag_free(&d);
}

static void test_syntax_append_and_repeat(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct cfg_file *f;
	const struct cfg_setting *s;

	CHECK_EQ_INT(syn("s = 'ab'\ns += 'cd'\nl = ['x']\nl += ['y', 'z']\nm = 1\nm = 2\n"
			 "n += 'fresh'\n",
			 &f, &d),
		     0);
	CHECK_NO_ERRORS(&d);
	CHECK_EQ_STR(cfg_find(f, "s")->value.str, "abcd");
	CHECK(cfg_find(f, "s")->append);
	s = cfg_find(f, "l");
	CHECK_EQ_INT(s->value.n_items, 3);
	CHECK_EQ_STR(s->value.items[0].str, "x");
	CHECK_EQ_STR(s->value.items[2].str, "z");
	CHECK_EQ_INT(cfg_find(f, "m")->value.num, 2);
	CHECK_EQ_INT(cfg_find(f, "m")->line, 6);
	CHECK_EQ_STR(cfg_find(f, "n")->value.str, "fresh");
	cfg_file_free(f);
	cfg_diag_free(&d);

	syntax_error("m = 1\nm += 2\n", "s.cfg:2:6: '+=' joins strings or lists, not numbers");
	syntax_error("m = 'x'\nm += ['y']\n", "'+=' cannot join a list to a string (line 1)");
}

static void test_number_parse(void)
{
	uint64_t v = 7;

	CHECK_EQ_INT(cfg_parse_number("0", &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(cfg_parse_number("0x10", &v), 0);
	CHECK_EQ_INT(v, 16);
	CHECK_EQ_INT(cfg_parse_number("0XfF", &v), 0);
	CHECK_EQ_INT(v, 255);
	CHECK_EQ_INT(cfg_parse_number("1024", &v), 0);
	CHECK_EQ_INT(v, 1024);
	CHECK_EQ_INT(cfg_parse_number("", &v), -EINVAL);
	CHECK_EQ_INT(cfg_parse_number("012", &v), -EINVAL);
	CHECK_EQ_INT(cfg_parse_number("12a", &v), -EINVAL);
	CHECK_EQ_INT(cfg_parse_number(" 1", &v), -EINVAL);
	CHECK_EQ_INT(cfg_parse_number("0x", &v), -EINVAL);
	CHECK_EQ_INT(cfg_parse_number("0x1g", &v), -EINVAL);
	CHECK_EQ_INT(cfg_parse_number("18446744073709551616", &v), -ERANGE);
	CHECK_EQ_INT(cfg_parse_number("0x10000000000000000", &v), -ERANGE);
	CHECK_EQ_INT(v, 1024);
}

/* ---- schema ------------------------------------------------------------ */

static const char minimal[] = "name = 'g'\nkernel = '/k'\n";

/* Parses minimal + `extra`, which must succeed; returns the config. */
static struct dom_config *ok_with(const char *extra, struct cfg_diag *d)
{
	char text[4096];
	struct dom_config *c = NULL;

	snprintf(text, sizeof(text), "%s%s", minimal, extra);
	CHECK_EQ_INT(parse_text(text, &c, d), 0);
	CHECK_NO_ERRORS(d);
	return c;
}

/* Parses minimal + `extra`, which must fail with `msg` among the errors. */
static void error_with(const char *extra, const char *msg)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c = (struct dom_config *)1;
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", minimal, extra);
	CHECK_EQ_INT(parse_text(text, &c, &d), -EINVAL);
	CHECK(c == NULL);
	CHECK_ERROR(&d, msg);
	cfg_diag_free(&d);
}

/* Parses minimal + `extra`, which must succeed with `msg` among the
 * warnings. */
static void warning_with(const char *extra, const char *msg)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c = ok_with(extra, &d);

	CHECK_WARNING(&d, msg);
	domcfg_free(c);
	cfg_diag_free(&d);
}

static void test_schema_defaults(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c = ok_with("", &d);

	CHECK_EQ_INT(d.n_warnings, 0);
	CHECK_EQ_STR(c->name, "g");
	CHECK(!c->has_uuid);
	CHECK_EQ_INT(c->memory_mib, DOMCFG_MEMORY_DEFAULT);
	CHECK_EQ_INT(c->maxmem_mib, 0);
	CHECK_EQ_INT(c->vcpus, 1);
	CHECK(c->accel == DOM_ACCEL_AUTO);
	CHECK(c->boot == DOM_BOOT_DIRECT);
	CHECK_EQ_STR(c->kernel, "/k");
	CHECK(c->ramdisk == NULL && c->cmdline == NULL);
	CHECK_EQ_INT(c->n_disks, 0);
	CHECK_EQ_INT(c->n_vifs, 0);
	CHECK(c->serial == DOM_SERIAL_UNSET);
	CHECK(c->on_poweroff == DOM_ACTION_DESTROY);
	CHECK(c->on_reboot == DOM_ACTION_RESTART);
	CHECK(c->on_crash == DOM_ACTION_DESTROY);
	CHECK(c->placement == DOM_PLACEMENT_ENGINE);
	CHECK_EQ_INT(c->stubdom.memory_mib, 0);
	CHECK(c->stubdom.kernel == NULL);
	domcfg_free(c);
	cfg_diag_free(&d);
}

static void test_schema_name_uuid(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;
	char text[256];

	CHECK(domcfg_name_valid("a"));
	CHECK(domcfg_name_valid("web-01.example_A"));
	CHECK(!domcfg_name_valid(""));
	CHECK(!domcfg_name_valid("-x"));
	CHECK(!domcfg_name_valid("a b"));
	CHECK(!domcfg_name_valid("a/b"));
	CHECK(!domcfg_name_valid("caf\xc3\xa9"));
	memset(text, 'n', 64);
	text[64] = '\0';
	CHECK(domcfg_name_valid(text));
	text[64] = 'n';
	text[65] = '\0';
	CHECK(!domcfg_name_valid(text));

	CHECK_EQ_INT(parse_text("kernel = '/k'\n", &c, &d), -EINVAL);
	CHECK_ERROR(&d, "t.cfg: name = \"...\" is required");
	cfg_diag_free(&d);
	c = NULL;
	CHECK_EQ_INT(parse_text("name = 42\nkernel = '/k'\n", &c, &d), 0);
	CHECK_EQ_STR(c ? c->name : NULL, "42");
	domcfg_free(c);
	cfg_diag_free(&d);
	error_with("name = 'bad name'\n", "t.cfg:3: name: 'bad name' is not a valid name");
	error_with("name = ''\n", "is not a valid name");
	error_with("name = ['a']\n", "t.cfg:3: name: expected a string, got a list");

	c = ok_with("uuid = '3FB9C1D2-1b2c-4d5e-8f90-123456789abc'\n", &d);
	CHECK(c->has_uuid);
	CHECK_EQ_INT(c->uuid[0], 0x3f);
	CHECK_EQ_INT(c->uuid[15], 0xbc);
	domcfg_uuid_format(c->uuid, text);
	CHECK_EQ_STR(text, "3fb9c1d2-1b2c-4d5e-8f90-123456789abc");
	domcfg_free(c);
	cfg_diag_free(&d);
	error_with("uuid = '3fb9c1d21b2c4d5e8f90123456789abc'\n", "is not a UUID");
	error_with("uuid = '3fb9c1d2-1b2c-4d5e-8f90-123456789abg'\n", "is not a UUID");
	error_with("uuid = '3fb9c1d2-1b2c-4d5e-8f90-123456789abcd'\n", "is not a UUID");
}

static void test_schema_memory_vcpus(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("memory = 2048\nvcpus = 4\n", &d);
	CHECK_EQ_INT(c->memory_mib, 2048);
	CHECK_EQ_INT(c->vcpus, 4);
	domcfg_free(c);
	/* xl takes quoted numbers and hex. */
	c = ok_with("memory = '512'\nvcpus = 0x40\n", &d);
	CHECK_EQ_INT(c->memory_mib, 512);
	CHECK_EQ_INT(c->vcpus, 64);
	domcfg_free(c);
	c = ok_with("memory = 1048576\nmaxmem = 1048576\n", &d);
	CHECK_EQ_INT(c->memory_mib, 1048576);
	CHECK_EQ_INT(d.n_warnings, 0);
	domcfg_free(c);
	cfg_diag_free(&d);

	error_with("memory = 0\n", "t.cfg:3: memory: 0 is out of range (1 to 1048576)");
	error_with("memory = 1048577\n", "memory: 1048577 is out of range");
	error_with("memory = '512M'\n",
		   "t.cfg:3: memory: expected an integer (MiB), got the string \"512M\"");
	error_with("memory = [512]\n", "memory: expected an integer (MiB), got a list");
	error_with("vcpus = 0\n", "vcpus: 0 is out of range (1 to 64)");
	error_with("vcpus = 65\n", "vcpus: 65 is out of range (1 to 64)");
	error_with("vcpus = 'two'\n", "vcpus: expected an integer, got the string \"two\"");
	warning_with("memory = 1024\nmaxmem = 2048\n",
		     "t.cfg:4: maxmem: 2048 differs from memory = 1024: airlock does not balloon");
	warning_with("vcpus = 2\nmaxvcpus = 4\n", "maxvcpus: 4 differs from vcpus = 2");
	c = ok_with("vcpus = 2\nmaxvcpus = 2\nmemory = 64\nmaxmem = 64\n", &d);
	CHECK_EQ_INT(d.n_warnings, 0);
	domcfg_free(c);
	cfg_diag_free(&d);
}

static void test_schema_accel_type_firmware(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("accel = 'kvm'\ntype = 'hvm'\nbuilder = 'hvm'\nbios = 'seabios'\n"
		    "firmware = 'bios'\nboot = 'c'\n",
		    &d);
	CHECK(c->accel == DOM_ACCEL_KVM);
	CHECK_EQ_INT(d.n_warnings, 0);
	domcfg_free(c);
	c = ok_with("accel = 'tcg'\n", &d);
	CHECK(c->accel == DOM_ACCEL_TCG);
	domcfg_free(c);
	c = ok_with("accel = 'auto'\n", &d);
	CHECK(c->accel == DOM_ACCEL_AUTO);
	domcfg_free(c);
	cfg_diag_free(&d);
	error_with("accel = 'hax'\n", "accel: unknown accelerator 'hax' (auto, kvm or tcg)");
	error_with("type = 'pv'\n", "t.cfg:3: type: 'pv' guests need Xen's paravirtual interfaces");
	error_with("type = 'pvh'\n", "airlock runs HVM guests (type = \"hvm\")");
	error_with("type = 'hvmx'\n", "unknown guest type 'hvmx'");
	error_with("builder = 'generic'\n", "builder: 'generic' guests need Xen's paravirtual");
	error_with("builder = 'linux'\n", "'linux' guests need");
	error_with("bios = 'ovmf'\n", "bios: UEFI firmware is not supported yet");
	error_with("firmware = 'uefi'\n", "firmware: UEFI firmware is not supported yet");
	error_with("firmware = 'pvgrub64'\n", "'pvgrub64' guests need");
	error_with("firmware = '/usr/lib/x.bin'\n", "SeaBIOS (\"seabios\") only");
	warning_with("bios = 'rombios'\n", "bios: 'rombios' is not available; SeaBIOS is used");
	warning_with("boot = 'dc'\n",
		     "boot: ignored: airlock's firmware boots from the first disk");
}

static void test_schema_boot_and_cmdline(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("ramdisk = '/i'\ncmdline = 'console=ttyS0 quiet'\n", &d);
	CHECK(c->boot == DOM_BOOT_DIRECT);
	CHECK_EQ_STR(c->ramdisk, "/i");
	CHECK_EQ_STR(c->cmdline, "console=ttyS0 quiet");
	domcfg_free(c);
	/* xl's merging: root= and extra= build the command line ... */
	c = ok_with("root = '/dev/xvda1 ro'\nextra = 'console=hvc0'\n", &d);
	CHECK_EQ_STR(c->cmdline, "root=/dev/xvda1 ro console=hvc0");
	domcfg_free(c);
	c = ok_with("root = '/dev/vda'\n", &d);
	CHECK_EQ_STR(c->cmdline, "root=/dev/vda");
	domcfg_free(c);
	c = ok_with("extra = 'init=/bin/sh'\n", &d);
	CHECK_EQ_STR(c->cmdline, "init=/bin/sh");
	domcfg_free(c);
	c = ok_with("cmdline = ''\n", &d);
	CHECK_EQ_STR(c->cmdline, "");
	domcfg_free(c);
	cfg_diag_free(&d);
	/* ... unless cmdline= is given, which wins with a warning. */
	warning_with("cmdline = 'a'\nroot = '/dev/xvda'\n",
		     "cmdline: root= and extra= are ignored in favour of cmdline=");

	/* No kernel: firmware boot from the first disk. */
	CHECK_EQ_INT(parse_text("name = 'g'\ndisk = ['/d.img,,hda']\ncmdline = 'x'\n", &c, &d), 0);
	CHECK(c->boot == DOM_BOOT_FIRMWARE);
	CHECK(c->kernel == NULL && c->cmdline == NULL);
	CHECK_WARNING(&d, "t.cfg:3: cmdline: ignored: there is no kernel");
	domcfg_free(c);
	cfg_diag_free(&d);
	CHECK_EQ_INT(parse_text("name = 'g'\n", &c, &d), -EINVAL);
	CHECK_ERROR(&d, "t.cfg: nothing to boot");
	cfg_diag_free(&d);
	CHECK_EQ_INT(parse_text("name = 'g'\ndisk = []\n", &c, &d), -EINVAL);
	CHECK_ERROR(&d, "nothing to boot");
	cfg_diag_free(&d);
	/* An old xm HVM config names hvmloader as its kernel. */
	CHECK_EQ_INT(parse_text("name = 'g'\nkernel = '/usr/lib/xen/boot/hvmloader'\n"
				"disk = ['/d.img,,hda']\n",
				&c, &d),
		     0);
	CHECK(c->boot == DOM_BOOT_FIRMWARE);
	CHECK(c->kernel == NULL);
	CHECK_WARNING(&d, "t.cfg:2: kernel: ignored: hvmloader is Xen's HVM firmware loader");
	domcfg_free(c);
	cfg_diag_free(&d);
	error_with("kernel = ''\n", "kernel: expected a path, got an empty string");
	error_with("ramdisk = ['/a']\n", "ramdisk: expected a string (a path), got a list");
}

static void test_schema_actions(void)
{
	static const struct {
		const char *value;
		enum dom_action action;
		const char *warning;
	} cases[] = {
		{"destroy", DOM_ACTION_DESTROY, NULL},
		{"restart", DOM_ACTION_RESTART, NULL},
		{"preserve", DOM_ACTION_PRESERVE, NULL},
		{"coredump-destroy", DOM_ACTION_DESTROY, "no core dump is written; destroy"},
		{"coredump-restart", DOM_ACTION_RESTART, "no core dump is written; restart"},
		{"rename-restart", DOM_ACTION_RESTART, "not kept under a new name"},
		{"soft-reset", DOM_ACTION_RESTART, "soft reset is not supported"},
	};
	static const char *const keys[] = {"on_poweroff", "on_reboot", "on_crash"};

	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct cfg_diag d = CFG_DIAG_INIT;
			struct dom_config *c;
			char extra[128];
			enum dom_action got;

			snprintf(extra, sizeof(extra), "%s = '%s'\n", keys[k], cases[i].value);
			c = ok_with(extra, &d);
			if (!c)
				continue;
			got = k == 0 ? c->on_poweroff : k == 1 ? c->on_reboot : c->on_crash;
			CHECK(got == cases[i].action);
			if (cases[i].warning)
				CHECK_WARNING(&d, cases[i].warning);
			else
				CHECK_EQ_INT(d.n_warnings, 0);
			domcfg_free(c);
			cfg_diag_free(&d);
		}
	}
	error_with("on_crash = 'reboot'\n", "t.cfg:3: on_crash: unknown action 'reboot'");
	error_with("on_reboot = 1\n", "on_reboot: unknown action '1'");
	CHECK_EQ_STR(domcfg_action_name(DOM_ACTION_PRESERVE), "preserve");
}

static void test_schema_placement(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("device_model_version = 'qemu'\n", &d);
	CHECK(c->placement == DOM_PLACEMENT_ENGINE);
	domcfg_free(c);
	c = ok_with("device_model_version = 'airlock'\n", &d);
	CHECK(c->placement == DOM_PLACEMENT_DM);
	domcfg_free(c);
	c = ok_with("device_model_version = 'airlock'\ndevice_model_stubdomain_override = 1\n"
		    "stubdomain_memory = 32\nstubdomain_kernel = '/sk'\n"
		    "stubdomain_ramdisk = '/sr'\nstubdomain_cmdline = 'console=ttyS0'\n",
		    &d);
	CHECK(c->placement == DOM_PLACEMENT_STUBDOM);
	CHECK_EQ_INT(c->stubdom.memory_mib, 32);
	CHECK_EQ_STR(c->stubdom.kernel, "/sk");
	CHECK_EQ_STR(c->stubdom.ramdisk, "/sr");
	CHECK_EQ_STR(c->stubdom.cmdline, "console=ttyS0");
	CHECK_EQ_INT(d.n_warnings, 0);
	domcfg_free(c);
	/* The override alone means airlock-dm in a stub domain. */
	c = ok_with("device_model_stubdomain_override = 1\n", &d);
	CHECK(c->placement == DOM_PLACEMENT_STUBDOM);
	domcfg_free(c);
	c = ok_with("device_model_stubdomain_override = 0\n", &d);
	CHECK(c->placement == DOM_PLACEMENT_ENGINE);
	domcfg_free(c);
	cfg_diag_free(&d);
	CHECK_EQ_STR(domcfg_placement_name(DOM_PLACEMENT_STUBDOM), "stubdom");

	warning_with("device_model_version = 'qemu-xen'\n",
		     "device_model_version: 'qemu-xen' is Xen's QEMU; the engine's own devices");
	warning_with("device_model_version = 'qemu-xen-traditional'\n", "is Xen's QEMU");
	warning_with("device_model_version = 'qemu-xen'\ndevice_model_stubdomain_override = 1\n",
		     "airlock-dm runs in the stub domain instead");
	warning_with("stubdomain_memory = 32\n",
		     "stubdomain_memory: has no effect without device_model_stubdomain_override");
	error_with("device_model_version = 'qemu'\ndevice_model_stubdomain_override = 1\n",
		   "t.cfg:4: device_model_stubdomain_override: a stub domain runs airlock-dm");
	error_with("device_model_version = 'kvmtool'\n", "unknown device model 'kvmtool'");
	error_with("device_model_stubdomain_override = 2\n", "expected 0 or 1, got 2");
	error_with("device_model_stubdomain_override = 'yes'\n", "expected 0 or 1, got the string");
	error_with("stubdomain_memory = 0\n", "stubdomain_memory: 0 is out of range (1 to 4096)");
	error_with("stubdomain_kernel = ''\n", "stubdomain_kernel: expected a path");
	/* What airlock-dm cannot serve is refused, not left to the engine. */
	error_with("device_model_version = 'airlock'\n"
		   "disk = ['format=qcow2, vdev=xvda, target=/dev/null']\n",
		   "xvda: airlock-dm serves raw images only (format=qcow2)");
	error_with("device_model_version = 'airlock'\nvif = ['model=e1000']\n",
		   "model=e1000 is emulated by the engine; airlock-dm serves virtio-net only");
	error_with("device_model_stubdomain_override = 1\nvif = ['model=rtl8139']\n",
		   "model=rtl8139 is emulated by the engine");
	c = ok_with("device_model_version = 'airlock'\n"
		    "disk = ['format=raw, vdev=xvda, target=/dev/null',"
		    " 'format=qcow2, vdev=hdc, devtype=cdrom, target=/dev/null']\n"
		    "vif = ['bridge=br0']\n",
		    &d);
	CHECK(c && c->placement == DOM_PLACEMENT_DM);
	domcfg_free(c);
	cfg_diag_free(&d);
}

static void test_schema_serial(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("serial = 'pty'\n", &d);
	CHECK(c->serial == DOM_SERIAL_PTY);
	CHECK_EQ_INT(d.n_warnings, 0);
	domcfg_free(c);
	c = ok_with("serial = ['pty']\n", &d);
	CHECK(c->serial == DOM_SERIAL_PTY);
	domcfg_free(c);
	cfg_diag_free(&d);
	c = ok_with("serial = ['pty', 'file:/tmp/x']\n", &d);
	CHECK(c->serial == DOM_SERIAL_PTY);
	CHECK_WARNING(&d, "only the first serial port is supported; 1 ignored");
	domcfg_free(c);
	cfg_diag_free(&d);
	c = ok_with("serial = 'tcp:127.0.0.1:4555,server,nowait'\n", &d);
	CHECK(c->serial == DOM_SERIAL_OTHER);
	CHECK_EQ_STR(c->serial_spec, "tcp:127.0.0.1:4555,server,nowait");
	CHECK_WARNING(&d, "is recorded only: the serial console always goes through airlock");
	domcfg_free(c);
	cfg_diag_free(&d);
	c = ok_with("serial = 'none'\n", &d);
	CHECK(c->serial == DOM_SERIAL_NONE);
	CHECK_WARNING(&d, "airlock always gives the guest a serial console");
	domcfg_free(c);
	cfg_diag_free(&d);
	error_with("serial = 1\n", "serial: expected a string or a list of strings, got a number");
	error_with("serial = [1]\n", "but item 1 (line 3) is a number");
}

static void test_schema_xl_only_keys(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("vnc = 1\nvnclisten = '0.0.0.0'\nusbdevice = 'tablet'\npci = ['01:00.0']\n"
		    "cpus = '0-3'\ncpu_weight = 256\nsoundhw = 'hda'\nviridian = 1\n"
		    "on_watchdog = 'destroy'\nbootloader = 'pygrub'\ndevice_model_args = ['-x']\n"
		    "hap = 0\nshadow_memory = 8\nvideoram = 16\ngic_version = 'v3'\n",
		    &d);
	CHECK_EQ_INT(d.n_warnings, 15);
	CHECK_WARNING(&d, "t.cfg:3: vnc: ignored: no graphical console yet");
	CHECK_WARNING(&d, "t.cfg:5: usbdevice: ignored: this device is not supported yet");
	CHECK_WARNING(&d, "t.cfg:6: pci: ignored: device passthrough is not supported");
	CHECK_WARNING(&d, "t.cfg:7: cpus: ignored: vCPU placement and scheduling");
	CHECK_WARNING(&d, "t.cfg:10: viridian: ignored: the engine's platform defaults");
	CHECK_WARNING(&d, "t.cfg:12: bootloader: ignored: it is for PV guests");
	CHECK_WARNING(&d, "device_model_args: ignored: airlock builds the engine's command line");
	CHECK_WARNING(&d, "t.cfg:14: hap: ignored: a Xen hypervisor setting");
	CHECK_WARNING(&d, "gic_version: ignored: an Arm-only setting");
	domcfg_free(c);
	cfg_diag_free(&d);
	/* Values airlock has anyway draw no warning. */
	c = ok_with("acpi = 1\napic = 1\npae = 1\nhap = 1\nvnc = 0\nsdl = 0\nusb = 0\n"
		    "stdvga = 0\nlocaltime = 0\nviridian = 0\nnestedhvm = 0\nnographic = 1\n"
		    "xen_platform_pci = '0'\n",
		    &d);
	CHECK_EQ_INT(d.n_warnings, 0);
	domcfg_free(c);
	cfg_diag_free(&d);
	warning_with("acpi = 0\n", "acpi: ignored: the engine's platform defaults are used");
	warning_with("sdl = 1\n", "sdl: ignored");
}

/* The xl-only table is sorted (it is searched with bsearch) and shares no key
 * with the keys airlock implements. */
static void test_xl_key_table(void)
{
	static const char *const implemented[] = {
		"name",
		"uuid",
		"type",
		"builder",
		"memory",
		"maxmem",
		"vcpus",
		"maxvcpus",
		"accel",
		"kernel",
		"ramdisk",
		"cmdline",
		"root",
		"extra",
		"bios",
		"firmware",
		"boot",
		"disk",
		"vif",
		"serial",
		"on_poweroff",
		"on_reboot",
		"on_crash",
		"device_model_version",
		"device_model_stubdomain_override",
		"stubdomain_memory",
		"stubdomain_kernel",
		"stubdomain_ramdisk",
		"stubdomain_cmdline",
	};

	CHECK(domcfg_xl_key_count > 100);
	for (size_t i = 0; i < domcfg_xl_key_count; i++) {
		CHECK(domcfg_xl_key_find(domcfg_xl_keys[i].key) == &domcfg_xl_keys[i]);
		CHECK(i == 0 || strcmp(domcfg_xl_keys[i - 1].key, domcfg_xl_keys[i].key) < 0);
		CHECK(domcfg_xl_keys[i].why && domcfg_xl_keys[i].why[0]);
	}
	for (size_t i = 0; i < sizeof(implemented) / sizeof(implemented[0]); i++)
		CHECK(domcfg_xl_key_find(implemented[i]) == NULL);
	CHECK(domcfg_xl_key_find("memroy") == NULL);
}

static void test_schema_unknown_keys(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	error_with("memroy = 512\n", "t.cfg:3: memroy: unknown key (did you mean 'memory'?)");
	error_with("vcpu = 2\n", "vcpu: unknown key (did you mean 'vcpus'?)");
	error_with("kernal = '/k'\n", "did you mean 'kernel'?");
	error_with("Memory = 512\n", "Memory: unknown key (did you mean 'memory'?)");
	error_with("on_powerof = 'destroy'\n", "did you mean 'on_poweroff'?");
	error_with("vnclisen = '0.0.0.0'\n", "did you mean 'vnclisten'?");
	error_with("device_model_stubdomain_overide = 1\n",
		   "did you mean 'device_model_stubdomain_override'?");
	error_with("frobnicate = 1\n",
		   "frobnicate: unknown key (neither airlock nor xl.cfg(5) has it)");
	error_with("x = 1\n", "x: unknown key (neither");
	/* Reported once, at its first line. */
	CHECK_EQ_INT(parse_text("name='g'\nkernel='/k'\nfoo = 1\nfoo = 2\n", &c, &d), -EINVAL);
	CHECK_EQ_INT(d.n_errors, 1);
	CHECK_ERROR(&d, "t.cfg:3: foo: unknown key");
	cfg_diag_free(&d);

	struct cfg_suggest sg;
	cfg_suggest_init(&sg, "memroy");
	cfg_suggest_consider(&sg, "maxmem");
	cfg_suggest_consider(&sg, "memory");
	CHECK_EQ_STR(cfg_suggest_result(&sg), "memory");
	CHECK_EQ_INT(sg.best_dist, 1);
	CHECK_EQ_INT(cfg_edit_distance("vnc", "vnc"), 0);
	CHECK_EQ_INT(cfg_edit_distance("VNC", "vnc"), 0);
	CHECK_EQ_INT(cfg_edit_distance("", "abc"), 3);
	CHECK_EQ_INT(cfg_edit_distance("kitten", "sitting"), 3);
	CHECK_EQ_INT(cfg_edit_distance("ab", "ba"), 1);
	cfg_suggest_init(&sg, "zzzzzzzz");
	cfg_suggest_consider(&sg, "memory");
	CHECK(cfg_suggest_result(&sg) == NULL);
}

static void test_schema_repeats(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("memory = 128\nvcpus = 1\nmemory = 512\n", &d);
	CHECK_EQ_INT(c->memory_mib, 512);
	CHECK_WARNING(&d,
		      "t.cfg:3: memory: set again at line 5; the last setting counts, as in xl");
	domcfg_free(c);
	cfg_diag_free(&d);
	/* The earlier value is not even checked, as in xl. */
	c = ok_with("memory = 'lots'\nmemory = 64\n", &d);
	CHECK_EQ_INT(c->memory_mib, 64);
	domcfg_free(c);
	cfg_diag_free(&d);
	/* += is meant: no warning. */
	c = ok_with("extra = 'a'\nextra += ' b'\n", &d);
	CHECK_EQ_STR(c->cmdline, "a b");
	CHECK_EQ_INT(d.n_warnings, 0);
	domcfg_free(c);
	cfg_diag_free(&d);
}

static void test_schema_devices(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c;

	c = ok_with("disk = [ '/a.img,qcow2,xvda,w', '/b.iso,,hdc,cdrom' ]\n"
		    "vif = [ 'bridge=br0,mac=02:00:00:00:00:01', 'type=passt' ]\n",
		    &d);
	CHECK_EQ_INT(c->n_disks, 2);
	CHECK_EQ_STR(c->disks[0].target, "/a.img");
	CHECK(c->disks[0].format == CFG_DISK_QCOW2);
	CHECK_EQ_INT(c->disks[0].line, 3);
	CHECK(c->disks[1].cdrom && c->disks[1].readonly);
	CHECK_EQ_INT(c->n_vifs, 2);
	CHECK_EQ_STR(c->vifs[0].bridge, "br0");
	CHECK(c->vifs[1].backend == CFG_VIF_PASST);
	CHECK_EQ_INT(c->vifs[1].line, 4);
	domcfg_free(c);
	cfg_diag_free(&d);

	error_with("disk = [ '/a,,xvda', '/b,,xvda' ]\n",
		   "disk: vdev 'xvda' is used twice (line 3)");
	error_with("disk = [ '/a,,xvda', '/b,,vda' ]\n", "vdev 'vda' is the same device as 'xvda'");
	error_with("vif = [ 'mac=02:00:00:00:00:01', 'mac=02:00:00:00:00:01' ]\n",
		   "vif: mac 02:00:00:00:00:01 is used twice");
	error_with("vif = [ 'vifname=v0', 'vifname=v0' ]\n", "vifname 'v0' is used twice");
	error_with("disk = '/a,,xvda'\n",
		   "t.cfg:3: disk: expected a list of strings ['spec', ...], got a string");
	error_with("disk = [ 1 ]\n", "disk: expected a list of strings ['spec', ...], but item 1");
	error_with("vif = [ ['x'] ]\n", "but item 1 (line 3) is a list");
	error_with("disk = [ '/a,,xvda',\n         '/b,,xvdb,bogus' ]\n",
		   "t.cfg:4: disk '/b,,xvdb,bogus': unknown access 'bogus'");
	error_with("vif = [ 'brigde=br0' ]\n",
		   "t.cfg:3: vif 'brigde=br0': unknown key 'brigde' (did you mean 'bridge'?)");

	char text[8192];
	int n = snprintf(text, sizeof(text), "disk = [");
	for (int i = 0; i < DOMCFG_DISKS_MAX + 1; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "'/d,,xvd%c%c',", 'a' + i / 26,
			      'a' + i % 26);
	snprintf(text + n, sizeof(text) - (size_t)n, "]\n");
	error_with(text, "65 disks; at most 64");
}

/* Every error is reported, and any error means no config at all. */
static void test_all_errors_reported(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c = (struct dom_config *)1;
	const char *text = "name = 'bad name'\n"
			   "memroy = 512\n"
			   "vcpus = 100\n"
			   "memory = 64M\n"
			   "vnc = 1\n"
			   "type = 'pv'\n"
			   "disk = [ '/a,,xvda', '/b,,nonsense' ]\n"
			   "vif = [ 'mac=01:00:00:00:00:00' ]\n"
			   "on_crash = 'explode'\n";

	CHECK_EQ_INT(parse_text(text, &c, &d), -EINVAL);
	CHECK(c == NULL);
	CHECK_EQ_INT(d.n_errors, 8);
	CHECK_ERROR(&d, "t.cfg:1: name:");
	CHECK_ERROR(&d, "t.cfg:2: memroy:");
	CHECK_ERROR(&d, "t.cfg:3: vcpus:");
	CHECK_ERROR(&d, "t.cfg:4:10:");
	CHECK_ERROR(&d, "t.cfg:6: type:");
	CHECK_ERROR(&d, "t.cfg:7: disk '/b,,nonsense':");
	CHECK_ERROR(&d, "t.cfg:8: vif 'mac=01:00:00:00:00:00':");
	CHECK_ERROR(&d, "t.cfg:9: on_crash:");
	CHECK_WARNING(&d, "t.cfg:5: vnc:");
	cfg_diag_free(&d);

	/* The collection is bounded; the rest are counted. */
	char *many = malloc(200 * 16);
	size_t n = 0;
	for (int i = 0; i < 200; i++)
		n += (size_t)sprintf(many + n, "bad%d = 1\n", i);
	CHECK_EQ_INT(domcfg_parse(many, n, "m.cfg", NULL, DOMCFG_NO_FILE_CHECKS, &c, &d), -EINVAL);
	CHECK_EQ_INT(d.n_errors, CFG_DIAG_MAX);
	CHECK_EQ_INT(cfg_diag_error_count(&d), 202); /* + name, + nothing to boot */
	free(many);
	cfg_diag_free(&d);
}

/* ---- files ------------------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A config as a Xen user would have written it for an HVM guest, with the
 * usual HVM extras. */
static const char realistic[] =
	"# Example HVM guest configuration (after xlexample.hvm)\n"
	"type = \"hvm\"\n"
	"builder = 'hvm'\n"
	"name = \"debian12-hvm\"\n"
	"uuid = \"6f1a3c4e-0d2b-4c8f-9a1e-5b7d3e2f1a90\"\n"
	"memory = 1024\n"
	"maxmem = 1024\n"
	"vcpus = 2\n"
	"maxvcpus = 2\n"
	"cpus = \"2-3\"\n"
	"cpu_weight = 256\n"
	"vif = [ 'mac=00:16:3e:5f:48:e4,bridge=xenbr0,model=e1000',\n"
	"        'type=ioemu, mac=00:16:3E:74:34:32, bridge=xenbr1, vifname=guest1-e1' ]\n"
	"disk = [ 'file:images/debian12.img,xvda,w',\n"
	"         'images/install.iso,raw,hdc,ro,devtype=cdrom',\n"
	"         ',hdd:cdrom,r',\n"
	"]\n"
	"on_poweroff = 'destroy'\n"
	"on_reboot   = 'restart'\n"
	"on_crash    = 'restart'\n"
	"boot = \"c\"\n"
	"acpi = 1\n"
	"apic = 1\n"
	"pae = 1\n"
	"hap = 1\n"
	"viridian = 0\n"
	"localtime = 0\n"
	"sdl = 0\n"
	"vnc = 1\n"
	"vnclisten = \"127.0.0.1\"\n"
	"vncpasswd = \"\"\n"
	"stdvga = 0\n"
	"videoram = 8\n"
	"serial = 'pty'\n"
	"usb = 1\n"
	"usbdevice = 'tablet'\n"
	"device_model_version = 'qemu-xen'\n"
	"xen_platform_pci = 1\n";

static void test_realistic_config(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c = NULL;
	char path[256], expect[256];

	write_file("images/debian12.img", "disk");
	write_file("images/install.iso", "iso");
	write_file("guest.cfg", realistic);
	snprintf(path, sizeof(path), "%s/guest.cfg", tmpdir);
	CHECK_EQ_INT(domcfg_load(path, &c, &d), 0);
	CHECK_NO_ERRORS(&d);
	if (!c)
		return;
	/* Only the unsupported keys are warned about, and device_model_version. */
	CHECK_EQ_INT(d.n_warnings, 10);
	CHECK_WARNING(&d, "guest.cfg:10: cpus: ignored");
	CHECK_WARNING(&d, "guest.cfg:11: cpu_weight: ignored");
	CHECK_WARNING(&d, "guest.cfg:29: vnc: ignored");
	CHECK_WARNING(&d, "guest.cfg:30: vnclisten: ignored");
	CHECK_WARNING(&d, "guest.cfg:31: vncpasswd: ignored");
	CHECK_WARNING(&d, "guest.cfg:33: videoram: ignored");
	CHECK_WARNING(&d, "guest.cfg:35: usb: ignored");
	CHECK_WARNING(&d, "guest.cfg:36: usbdevice: ignored");
	CHECK_WARNING(&d, "guest.cfg:37: device_model_version: 'qemu-xen' is Xen's QEMU");
	CHECK_WARNING(&d, "guest.cfg:38: xen_platform_pci: ignored");
	cfg_diag_free(&d);
	CHECK_EQ_STR(c->name, "debian12-hvm");
	CHECK(c->has_uuid);
	CHECK_EQ_INT(c->memory_mib, 1024);
	CHECK_EQ_INT(c->vcpus, 2);
	CHECK(c->boot == DOM_BOOT_FIRMWARE);
	CHECK_EQ_INT(c->n_disks, 3);
	/* Relative targets are relative to the config's directory. */
	snprintf(expect, sizeof(expect), "%s/images/debian12.img", tmpdir);
	CHECK_EQ_STR(c->disks[0].target, expect);
	CHECK(!c->disks[0].readonly);
	CHECK_EQ_STR(c->disks[0].vdev, "xvda");
	CHECK(c->disks[1].cdrom && c->disks[1].readonly);
	CHECK(c->disks[2].cdrom && c->disks[2].target == NULL);
	CHECK_EQ_INT(c->n_vifs, 2);
	CHECK(c->vifs[0].model == CFG_VIF_E1000);
	CHECK_EQ_STR(c->vifs[1].bridge, "xenbr1");
	CHECK_EQ_STR(c->vifs[1].vifname, "guest1-e1");
	CHECK(c->vifs[1].model == CFG_VIF_VIRTIO);
	CHECK(c->serial == DOM_SERIAL_PTY);
	CHECK(c->on_crash == DOM_ACTION_RESTART);
	CHECK(c->placement == DOM_PLACEMENT_ENGINE);

	/* The dump reads back to itself. */
	struct buf b1 = BUF_INIT, b2 = BUF_INIT;
	struct dom_config *c2 = NULL;
	CHECK_EQ_INT(domcfg_dump(c, &b1), 0);
	CHECK_EQ_INT(domcfg_parse((const char *)buf_head(&b1), buf_used(&b1), "dump", NULL,
				  DOMCFG_NO_FILE_CHECKS, &c2, &d),
		     0);
	CHECK_NO_ERRORS(&d);
	if (c2) {
		CHECK_EQ_INT(domcfg_dump(c2, &b2), 0);
		CHECK_EQ_INT(buf_used(&b1), buf_used(&b2));
		CHECK(buf_used(&b1) == buf_used(&b2) &&
		      memcmp(buf_head(&b1), buf_head(&b2), buf_used(&b1)) == 0);
	}
	CHECK(b1.data && strstr((char *)b1.data, "device_model_version = \"qemu\"\n"));
	CHECK(b1.data &&
	      strstr((char *)b1.data, "\"format=raw, vdev=hdd, access=ro, devtype=cdrom\""));
	domcfg_free(c2);
	domcfg_free(c);
	buf_free(&b1);
	buf_free(&b2);
	cfg_diag_free(&d);
}

static void test_missing_files(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c = NULL;
	char path[256];

	write_file("vmlinuz", "k");
	write_file("missing.cfg",
		   "name = 'm'\n"
		   "kernel = 'vmlinuz'\n"
		   "ramdisk = 'initrd.img'\n"
		   "disk = [ 'nothere.img,,xvda', 'vmlinuz,,xvdb', 'images,,xvdc' ]\n"
		   "device_model_stubdomain_override = 1\n"
		   "stubdomain_kernel = '/nonexistent/stubdom-kernel'\n"
		   "stubdomain_ramdisk = 'images'\n");
	snprintf(path, sizeof(path), "%s/missing.cfg", tmpdir);
	CHECK_EQ_INT(domcfg_load(path, &c, &d), -EINVAL);
	CHECK(c == NULL);
	CHECK_EQ_INT(d.n_errors, 5);
	CHECK_ERROR(&d, "missing.cfg:3: ramdisk: '");
	CHECK_ERROR(&d, "/initrd.img': No such file or directory");
	CHECK_ERROR(&d, "missing.cfg:4: disk: '");
	CHECK_ERROR(&d, "/nothere.img': No such file or directory");
	CHECK_ERROR(&d, "/images' is a directory");
	CHECK_ERROR(&d, "missing.cfg:6: stubdomain_kernel: '/nonexistent/stubdom-kernel': No such");
	CHECK_ERROR(&d, "missing.cfg:7: stubdomain_ramdisk: '");
	CHECK(!has_error(&d, "vmlinuz"));
	cfg_diag_free(&d);

	/* The same text with file checks off loads. */
	CHECK_EQ_INT(parse_text("name = 'm'\nkernel = 'vmlinuz'\ndisk = ['nothere.img,,xvda']\n",
				&c, &d),
		     0);
	CHECK_EQ_STR(c ? c->kernel : NULL, "vmlinuz");
	domcfg_free(c);
	cfg_diag_free(&d);

	snprintf(path, sizeof(path), "%s/no-such.cfg", tmpdir);
	CHECK_EQ_INT(domcfg_load(path, &c, &d), -ENOENT);
	CHECK_ERROR(&d, "no-such.cfg: cannot open: No such file or directory");
	cfg_diag_free(&d);
	CHECK_EQ_INT(domcfg_load(tmpdir, &c, &d), -EINVAL);
	CHECK_ERROR(&d, "not a regular file");
	cfg_diag_free(&d);
}

static void test_dump_format(void)
{
	struct cfg_diag d = CFG_DIAG_INIT;
	struct dom_config *c = NULL, *c2 = NULL;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	const char *text =
		"name = 'dump-me'\n"
		"kernel = '/boot/vmlinuz'\nramdisk = '/boot/initrd'\n"
		"root = '/dev/vda'\nextra = 'console=ttyS0 msg=\"hi\\\\there\"\\t\\x01'\n"
		"memory = 300\nvcpus = 3\naccel = 'tcg'\n"
		"disk = [ 'target=/odd,path,,', '/x.img,raw,vdb,ro,no-discard,"
		"direct-io-safe' ]\n"
		"vif = [ 'type=passt,model=virtio-net,ip=10.0.2.15', 'bridge=br0,mtu=9000,"
		"rate=10Mb/s,mac=02:aa:bb:cc:dd:ee,vifname=tap-x' ]\n"
		"serial = 'file:/tmp/log'\n"
		"on_poweroff = 'preserve'\non_crash = 'rename-restart'\n"
		"device_model_stubdomain_override = 1\nstubdomain_memory = 24\n"
		"stubdomain_cmdline = 'quiet'\n";
	const char *expect =
		"name = \"dump-me\"\n"
		"type = \"hvm\"\n"
		"memory = 300\n"
		"vcpus = 3\n"
		"accel = \"tcg\"\n"
		"kernel = \"/boot/vmlinuz\"\n"
		"ramdisk = \"/boot/initrd\"\n"
		"cmdline = \"root=/dev/vda console=ttyS0 msg=\\\"hi\\\\there\\\"\\t\\x01\"\n"
		"disk = [\n"
		"\t\"format=raw, vdev=vda, access=rw, target=/odd,path,,\",\n"
		"\t\"format=raw, vdev=vdb, access=ro, no-discard, direct-io-safe, "
		"target=/x.img\",\n"
		"]\n"
		"vif = [\n"
		"\t\"type=passt, model=virtio, ip=10.0.2.15\",\n"
		"\t\"bridge=br0, model=virtio, mac=02:aa:bb:cc:dd:ee, vifname=tap-x, mtu=9000, "
		"rate=1250000B/s@50000us\",\n"
		"]\n"
		"serial = \"file:/tmp/log\"\n"
		"on_poweroff = \"preserve\"\n"
		"on_reboot = \"restart\"\n"
		"on_crash = \"restart\"\n"
		"device_model_version = \"airlock\"\n"
		"device_model_stubdomain_override = 1\n"
		"stubdomain_memory = 24\n"
		"stubdomain_cmdline = \"quiet\"\n";

	/* The first disk lacks a vdev: add one in front of target=. */
	char fixed[2048];
	const char *at = strstr(text, "'target=");
	snprintf(fixed, sizeof(fixed), "%.*s'vdev=vda, %s", (int)(at - text), text, at + 1);
	CHECK_EQ_INT(parse_text(fixed, &c, &d), 0);
	CHECK_NO_ERRORS(&d);
	if (!c)
		return;
	CHECK_EQ_STR(c->disks[0].target, "/odd,path,");
	CHECK_EQ_INT(domcfg_dump(c, &b), 0);
	CHECK_EQ_INT(buf_append(&b, "", 1), 0);
	CHECK_EQ_STR((const char *)buf_head(&b), expect);
	CHECK_EQ_INT(parse_text((const char *)buf_head(&b), &c2, &d), 0);
	if (c2) {
		CHECK_EQ_INT(domcfg_dump(c2, &b2), 0);
		CHECK_EQ_INT(buf_append(&b2, "", 1), 0);
		CHECK_EQ_STR((const char *)buf_head(&b2), expect);
		CHECK_EQ_STR(c2->disks[0].target, "/odd,path,");
		CHECK_EQ_STR(c2->cmdline, c->cmdline);
	}
	domcfg_free(c);
	domcfg_free(c2);
	buf_free(&b);
	buf_free(&b2);
	cfg_diag_free(&d);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cfg.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/images", tmpdir);
	mkdir(sub, 0700);

	RUN(test_syntax_value_types);
	RUN(test_syntax_layout);
	RUN(test_syntax_escapes);
	RUN(test_syntax_errors);
	RUN(test_syntax_recovery);
	RUN(test_syntax_append_and_repeat);
	RUN(test_number_parse);
	RUN(test_schema_defaults);
	RUN(test_schema_name_uuid);
	RUN(test_schema_memory_vcpus);
	RUN(test_schema_accel_type_firmware);
	RUN(test_schema_boot_and_cmdline);
	RUN(test_schema_actions);
	RUN(test_schema_placement);
	RUN(test_schema_serial);
	RUN(test_schema_xl_only_keys);
	RUN(test_xl_key_table);
	RUN(test_schema_unknown_keys);
	RUN(test_schema_repeats);
	RUN(test_schema_devices);
	RUN(test_all_errors_reported);
	RUN(test_realistic_config);
	RUN(test_missing_files);
	RUN(test_dump_format);

	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}

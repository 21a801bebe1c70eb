/* test_path.c — path syntax (xs_path.h) and message parsing (xs_msg.h). */
#include "tap.h"
#include "xs/xs_msg.h"
#include "xs/xs_path.h"

#include <errno.h>
#include <stdlib.h>

static char out[XS_PATH_BUF];

/* xs_path_canonical of `in` for domain 7, specials allowed; returns its result. */
static int canon(const char *in)
{
	return xs_path_canonical(in, 7, true, out, NULL);
}

static void test_canonical_valid(void)
{
	bool rel = true;

	CHECK_EQ_INT(xs_path_canonical("/", 7, false, out, &rel), 0);
	CHECK_EQ_STR(out, "/");
	CHECK(!rel);
	CHECK_EQ_INT(xs_path_canonical("/local/domain/3/x", 7, false, out, &rel), 0);
	CHECK_EQ_STR(out, "/local/domain/3/x");
	CHECK(!rel);
	/* every allowed character */
	CHECK_EQ_INT(canon("/azAZ09-_@/x"), 0);
	CHECK_EQ_STR(out, "/azAZ09-_@/x");
	/* relative paths resolve against the domain's home */
	CHECK_EQ_INT(xs_path_canonical("device/vif/0", 7, false, out, &rel), 0);
	CHECK_EQ_STR(out, "/local/domain/7/device/vif/0");
	CHECK(rel);
	CHECK_EQ_INT(xs_path_canonical("x", 0, false, out, NULL), 0);
	CHECK_EQ_STR(out, "/local/domain/0/x");
	CHECK_EQ_INT(xs_path_canonical("x", 65535, false, out, NULL), 0);
	CHECK_EQ_STR(out, "/local/domain/65535/x");
}

static void test_canonical_invalid(void)
{
	static const char *const bad[] = {
		"",	 "//",	  "/a//b", "a//b",  "/a/",	 "a/",	"//a",	"/a.b",
		"/a b",	 "/a\tb", "a.b",   "/a\nb", "/\xc3\xa9", "/a*", "/a:b", "/a,b",
		"/a\\b", "/a+b",  "/..",   "/.",    "./a",	 ".",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = canon(bad[i]);
		if (r != -EINVAL)
			printf("# accepted bad path \"%s\"\n", bad[i]);
		CHECK_EQ_INT(r, -EINVAL);
	}
	/* a path with a high-bit byte */
	CHECK_EQ_INT(canon("/a\x80"), -EINVAL);
}

static void test_canonical_lengths(void)
{
	char *p = malloc(5000);

	/* absolute: 3072 bytes is the most */
	p[0] = '/';
	memset(p + 1, 'a', 3071);
	p[3072] = '\0';
	CHECK_EQ_INT(canon(p), 0);
	CHECK_EQ_INT(strlen(out), 3072);
	p[3072] = 'a';
	p[3073] = '\0';
	CHECK_EQ_INT(canon(p), -EINVAL);
	memset(p + 1, 'a', 4500);
	p[4501] = '\0';
	CHECK_EQ_INT(canon(p), -EINVAL);

	/* relative: 2048 bytes is the most */
	memset(p, 'b', 2048);
	p[2048] = '\0';
	CHECK_EQ_INT(canon(p), 0);
	CHECK_EQ_INT(strlen(out), strlen("/local/domain/7/") + 2048);
	p[2048] = 'b';
	p[2049] = '\0';
	CHECK_EQ_INT(canon(p), -EINVAL);
	free(p);
}

static void test_canonical_special(void)
{
	bool rel = true;

	CHECK_EQ_INT(xs_path_canonical("@releaseDomain", 7, true, out, &rel), 0);
	CHECK_EQ_STR(out, "@releaseDomain");
	CHECK(!rel);
	CHECK_EQ_INT(xs_path_canonical("@introduceDomain", 7, true, out, NULL), 0);
	CHECK_EQ_STR(out, "@introduceDomain");
	/* only where the caller allows them */
	CHECK_EQ_INT(xs_path_canonical("@releaseDomain", 7, false, out, NULL), -EINVAL);
	/* no slashes in a special path */
	CHECK_EQ_INT(canon("@a/b"), -EINVAL);
	CHECK_EQ_INT(canon("@a.b"), -EINVAL);
	CHECK(xs_path_is_special("@x"));
	CHECK(!xs_path_is_special("/@x"));
	CHECK(!xs_path_is_special("x@"));
}

static void test_path_helpers(void)
{
	char home[64];

	CHECK(xs_path_is_child("/a", "/a"));
	CHECK(xs_path_is_child("/a/b", "/a"));
	CHECK(xs_path_is_child("/a/b/c", "/a"));
	CHECK(!xs_path_is_child("/ab", "/a"));
	CHECK(!xs_path_is_child("/a", "/a/b"));
	CHECK(!xs_path_is_child("/b", "/a"));
	CHECK(xs_path_is_child("/", "/"));
	CHECK(xs_path_is_child("/anything/at/all", "/"));
	CHECK(!xs_path_is_child("@releaseDomain", "/"));
	CHECK(xs_path_is_child("@releaseDomain", "@releaseDomain"));
	CHECK(!xs_path_is_child("@releaseDomainX", "@releaseDomain"));

	CHECK_EQ_INT(xs_path_domain_home(12, home, sizeof(home)), 16);
	CHECK_EQ_STR(home, "/local/domain/12");
	CHECK_EQ_INT(xs_path_parent_len("/a/b"), 2);
	CHECK_EQ_INT(xs_path_parent_len("/a"), 1);
	CHECK_EQ_INT(xs_path_parent_len("/"), 0);
	CHECK_EQ_INT(xs_path_parent_len("/abc/de/f"), 7);
	CHECK_EQ_STR(xs_path_basename("/a/bc"), "bc");
	CHECK_EQ_STR(xs_path_basename("/a"), "a");
	CHECK_EQ_STR(xs_path_basename("/"), "");
}

/* Parses `len` bytes (copied, with a guard NUL after them). */
static int parse(uint32_t type, const char *payload, uint32_t len, struct xs_req *r)
{
	static uint8_t buf[XS_PAYLOAD_MAX + 1];
	const char *why = NULL;
	int e;

	memcpy(buf, payload, len);
	buf[len] = '\0';
	e = xs_req_parse(type, buf, len, r, &why);
	if (e)
		CHECK(why != NULL && why[0] != '\0');
	return e;
}

static void test_req_parse(void)
{
	static struct xs_req r;

	CHECK_EQ_INT(parse(XS_READ, "/a\0", 3, &r), 0);
	CHECK_EQ_INT(r.nargs, 1);
	CHECK_EQ_STR(r.args[0], "/a");
	CHECK(r.value == NULL);
	/* WRITE: the value is everything after the path, NULs included */
	CHECK_EQ_INT(parse(XS_WRITE, "/a\0v\0w\0", 7, &r), 0);
	CHECK_EQ_INT(r.nargs, 1);
	CHECK_EQ_STR(r.args[0], "/a");
	CHECK_EQ_INT(r.value_len, 4);
	CHECK(memcmp(r.value, "v\0w\0", 4) == 0);
	CHECK_EQ_INT(parse(XS_WRITE, "/a\0", 3, &r), 0);
	CHECK_EQ_INT(r.value_len, 0);
	CHECK_EQ_INT(parse(XS_WRITE, "/a\0xyz", 6, &r), 0);
	CHECK_EQ_INT(r.value_len, 3);
	/* WRITE without a terminated path */
	CHECK_EQ_INT(parse(XS_WRITE, "/a", 2, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_WRITE, "", 0, &r), -EINVAL);
	/* missing terminators */
	CHECK_EQ_INT(parse(XS_READ, "/a", 2, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_WATCH, "/a\0tok", 6, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_READ, "", 0, &r), -EINVAL);
	/* too many / too few arguments */
	CHECK_EQ_INT(parse(XS_READ, "/a\0/b\0", 6, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_SET_TARGET, "1\0", 2, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_SET_TARGET, "1\0002\0003\0", 6, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_SET_TARGET, "1\0002\0", 4, &r), 0);
	CHECK_EQ_INT(parse(XS_WATCH, "/a\0", 3, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_WATCH, "/a\0tok\0", 7, &r), 0);
	CHECK_EQ_INT(r.nargs, 2);
	CHECK_EQ_STR(r.args[1], "tok");
	CHECK_EQ_INT(parse(XS_INTRODUCE, "5\0000\0", 4, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_INTRODUCE, "5\0000\0000\0", 6, &r), 0);
	CHECK_EQ_INT(parse(XS_DIRECTORY_PART, "/a\0", 3, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_SET_PERMS, "/a\0b0\0r5\0", 9, &r), 0);
	CHECK_EQ_INT(r.nargs, 3);
	CHECK_EQ_INT(parse(XS_SET_PERMS, "/a\0", 3, &r), -EINVAL);
	/* argument-less requests take nothing or one empty string */
	CHECK_EQ_INT(parse(XS_TRANSACTION_START, "", 0, &r), 0);
	CHECK_EQ_INT(parse(XS_TRANSACTION_START, "\0", 1, &r), 0);
	CHECK_EQ_INT(parse(XS_TRANSACTION_START, "x\0", 2, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_TRANSACTION_START, "\0\0", 2, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_RESET_WATCHES, "", 0, &r), 0);
	CHECK_EQ_INT(parse(XS_RESET_WATCHES, "x\0", 2, &r), -EINVAL);
	/* GET_FEATURE's domid is optional */
	CHECK_EQ_INT(parse(XS_GET_FEATURE, "", 0, &r), 0);
	CHECK_EQ_INT(parse(XS_GET_FEATURE, "5\0", 2, &r), 0);
	CHECK_EQ_INT(r.nargs, 1);
	CHECK_EQ_STR(r.args[0], "5");
	CHECK_EQ_INT(parse(XS_GET_FEATURE, "5\0006\0", 4, &r), -EINVAL);
	CHECK_EQ_INT(parse(XS_GET_QUOTA, "", 0, &r), 0);
	CHECK_EQ_INT(r.nargs, 0);
	CHECK_EQ_INT(parse(XS_GET_QUOTA, "5\0nodes\0", 8, &r), 0);
	CHECK_EQ_INT(r.nargs, 2);
	CHECK_EQ_INT(parse(XS_GET_QUOTA, "5\0nodes\0x\0", 10, &r), -EINVAL);
	/* unknown, reply-only and removed types */
	CHECK_EQ_INT(parse(99, "/a\0", 3, &r), -ENOSYS);
	CHECK_EQ_INT(parse(XS_TYPE_COUNT, "/a\0", 3, &r), -ENOSYS);
	CHECK_EQ_INT(parse(XS_WATCH_EVENT, "/a\0t\0", 5, &r), -ENOSYS);
	CHECK_EQ_INT(parse(XS_ERROR, "EINVAL\0", 7, &r), -ENOSYS);
	CHECK_EQ_INT(parse(XS_RESTRICT, "1\0", 2, &r), -ENOSYS);
	CHECK_EQ_INT(parse(0xffffffffu, "", 0, &r), -ENOSYS);
}

static void test_req_parse_many_args(void)
{
	static char p[XS_PAYLOAD_MAX + 1];
	static struct xs_req r;

	/* a payload of 4096 empty strings: CONTROL takes any number */
	memset(p, 0, sizeof(p));
	CHECK_EQ_INT(parse(XS_CONTROL, p, XS_PAYLOAD_MAX, &r), 0);
	CHECK_EQ_INT(r.nargs, XS_PAYLOAD_MAX);
	/* the largest payload passes, a larger one is refused */
	memset(p, 'a', XS_PAYLOAD_MAX);
	p[XS_PAYLOAD_MAX - 1] = '\0';
	CHECK_EQ_INT(parse(XS_READ, p, XS_PAYLOAD_MAX, &r), 0);
	CHECK_EQ_INT(strlen(r.args[0]), XS_PAYLOAD_MAX - 1);
	{
		uint8_t *big = calloc(1, XS_PAYLOAD_MAX + 2);
		const char *why;
		CHECK(xs_req_parse(XS_READ, big, XS_PAYLOAD_MAX + 1, &r, &why) != 0);
		free(big);
	}
}

static void test_hdr(void)
{
	struct xs_hdr h = {XS_WRITE, 7, 9, 4096}, d;
	uint8_t raw[XS_HDR_SIZE];

	xs_hdr_encode(&h, raw);
	CHECK_EQ_INT(xs_hdr_decode(raw, &d), 0);
	CHECK_EQ_INT(d.type, XS_WRITE);
	CHECK_EQ_INT(d.req_id, 7);
	CHECK_EQ_INT(d.tx_id, 9);
	CHECK_EQ_INT(d.len, 4096);
	h.len = 4097;
	xs_hdr_encode(&h, raw);
	CHECK_EQ_INT(xs_hdr_decode(raw, &d), -E2BIG);
}

static void test_perm_parse_format(void)
{
	struct xs_perm p = {99, 99};
	char s[16];

	CHECK_EQ_INT(xs_perm_parse("r5", &p), 0);
	CHECK_EQ_INT(p.domid, 5);
	CHECK_EQ_INT(p.bits, XS_PERM_READ);
	CHECK_EQ_INT(xs_perm_parse("w0", &p), 0);
	CHECK_EQ_INT(p.bits, XS_PERM_WRITE);
	CHECK_EQ_INT(xs_perm_parse("b12", &p), 0);
	CHECK_EQ_INT(p.domid, 12);
	CHECK_EQ_INT(p.bits, XS_PERM_BOTH);
	CHECK_EQ_INT(xs_perm_parse("n65535", &p), 0);
	CHECK_EQ_INT(p.domid, 65535);
	CHECK_EQ_INT(p.bits, XS_PERM_NONE);
	CHECK_EQ_INT(xs_perm_parse("r007", &p), 0);
	CHECK_EQ_INT(p.domid, 7);

	p = (struct xs_perm){1, XS_PERM_READ};
	static const char *const bad[] = {"",	 "r",	"x5",	  "R5",		  "r-1", "r+1",
					  "r 1", "r5x", "r65536", "r99999999999", "5",	 "rb5"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = xs_perm_parse(bad[i], &p);
		if (r != -EINVAL)
			printf("# accepted bad permission \"%s\"\n", bad[i]);
		CHECK_EQ_INT(r, -EINVAL);
	}
	CHECK_EQ_INT(p.domid, 1); /* untouched on error */
	CHECK_EQ_INT(p.bits, XS_PERM_READ);

	CHECK_EQ_INT(xs_perm_format(&(struct xs_perm){5, XS_PERM_READ}, s, sizeof(s)), 2);
	CHECK_EQ_STR(s, "r5");
	xs_perm_format(&(struct xs_perm){0, XS_PERM_WRITE}, s, sizeof(s));
	CHECK_EQ_STR(s, "w0");
	xs_perm_format(&(struct xs_perm){65535, XS_PERM_BOTH}, s, sizeof(s));
	CHECK_EQ_STR(s, "b65535");
	xs_perm_format(&(struct xs_perm){3, XS_PERM_NONE}, s, sizeof(s));
	CHECK_EQ_STR(s, "n3");
	/* round trip */
	for (unsigned bits = 0; bits < 4; bits++) {
		struct xs_perm a = {1234, (uint8_t)bits}, b;
		xs_perm_format(&a, s, sizeof(s));
		CHECK_EQ_INT(xs_perm_parse(s, &b), 0);
		CHECK(a.domid == b.domid && a.bits == b.bits);
	}
}

static void test_error_names(void)
{
	CHECK_EQ_STR(xs_error_name(ENOENT), "ENOENT");
	CHECK_EQ_STR(xs_error_name(EAGAIN), "EAGAIN");
	CHECK_EQ_STR(xs_error_name(ENOSYS), "ENOSYS");
	CHECK_EQ_STR(xs_error_name(E2BIG), "E2BIG");
	CHECK_EQ_STR(xs_error_name(ETIMEDOUT), "EINVAL"); /* not in the protocol */
	CHECK_EQ_INT(xs_error_from_name("EACCES"), EACCES);
	CHECK_EQ_INT(xs_error_from_name("EPERM"), EPERM);
	CHECK_EQ_INT(xs_error_from_name("ENOPE"), 0);
	CHECK_EQ_STR(xs_type_name(XS_DIRECTORY_PART), "DIRECTORY_PART");
	CHECK_EQ_STR(xs_type_name(1000), "UNKNOWN");
}

int main(void)
{
	RUN(test_canonical_valid);
	RUN(test_canonical_invalid);
	RUN(test_canonical_lengths);
	RUN(test_canonical_special);
	RUN(test_path_helpers);
	RUN(test_req_parse);
	RUN(test_req_parse_many_args);
	RUN(test_hdr);
	RUN(test_perm_parse_format);
	RUN(test_error_names);
	return tap_done();
}

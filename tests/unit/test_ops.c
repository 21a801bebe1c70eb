/* test_ops.c — node requests through the core: READ, WRITE, MKDIR, RM,
 * DIRECTORY, DIRECTORY_PART, GET/SET_PERMS, and the dispatcher's error
 * replies. */
#include "tap.h"
#include "harness.h"

#include <stdlib.h>

static void test_write_read(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	CHECK(t_write(c, "/a", "hello") == NULL);
	CHECK_EQ_INT(c->reply_type, XS_WRITE);
	CHECK_EQ_INT(c->reply_len, 3); /* "OK\0" */
	CHECK(memcmp(c->reply, "OK", 3) == 0);
	CHECK_EQ_STR(t_read(c, "/a"), "hello");
	CHECK_EQ_INT(c->reply_type, XS_READ);
	CHECK_EQ_INT(c->reply_len, 5); /* no NUL added to a value */
	/* overwrite, also with an empty value */
	CHECK(t_write(c, "/a", "x") == NULL);
	CHECK_EQ_STR(t_read(c, "/a"), "x");
	CHECK(t_write(c, "/a", "") == NULL);
	CHECK_EQ_STR(t_read(c, "/a"), "");
	CHECK_EQ_INT(c->reply_len, 0);
	/* missing */
	CHECK(t_read(c, "/nope") == NULL);
	CHECK_EQ_STR(t_last_err(c), "ENOENT");
	CHECK_EQ_INT(c->reply_type, XS_ERROR);
	CHECK_EQ_INT(c->reply_len, 7); /* "ENOENT\0" */
	CHECK(t_read(c, "/a/deeper") == NULL);
	CHECK_EQ_STR(t_last_err(c), "ENOENT");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_write_binary_value(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);
	static const uint8_t req[] = "/bin\0a\0b\xff\0";
	uint8_t *big = malloc(4096);

	/* everything after the path is the value, NULs and all */
	CHECK_EQ_INT(t_req_raw(c, XS_WRITE, 0, req, sizeof(req) - 1), XS_WRITE);
	CHECK_EQ_INT(t_req(c, XS_READ, 0, "/bin"), XS_READ);
	CHECK_EQ_INT(c->reply_len, 5);
	CHECK(memcmp(c->reply, "a\0b\xff\0", 5) == 0);
	/* the largest value one message can carry (dom0: no node-size quota) */
	memcpy(big, "/big", 5);
	for (int i = 5; i < 4096; i++)
		big[i] = (uint8_t)i;
	CHECK_EQ_INT(t_req_raw(c, XS_WRITE, 0, big, 4096), XS_WRITE);
	CHECK_EQ_INT(t_req(c, XS_READ, 0, "/big"), XS_READ);
	CHECK_EQ_INT(c->reply_len, 4091);
	CHECK(memcmp(c->reply, big + 5, 4091) == 0);
	free(big);
	t_store_close(st);
}

static void test_write_creates_parents(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	CHECK(t_write(c, "/a/b/c", "v") == NULL);
	CHECK_EQ_STR(t_read(c, "/a"), "");
	CHECK_EQ_STR(t_read(c, "/a/b"), "");
	CHECK_EQ_STR(t_read(c, "/a/b/c"), "v");
	CHECK_EQ_STR(t_dir(c, "/"), "a");
	CHECK_EQ_STR(t_dir(c, "/a"), "b");
	CHECK_EQ_STR(t_dir(c, "/a/b"), "c");
	CHECK_EQ_STR(t_dir(c, "/a/b/c"), "");
	/* writing an existing intermediate node keeps its children */
	CHECK(t_write(c, "/a/b", "mid") == NULL);
	CHECK_EQ_STR(t_dir(c, "/a/b"), "c");
	CHECK_EQ_STR(t_read(c, "/a/b/c"), "v");
	/* relative paths land in the caller's home */
	CHECK(t_write(c, "rel/x", "1") == NULL);
	CHECK_EQ_STR(t_read(c, "/local/domain/0/rel/x"), "1");
	CHECK_EQ_STR(t_read(c, "rel/x"), "1");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_mkdir(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	CHECK(t_err(c, XS_MKDIR, 0, "/m/n") == NULL);
	CHECK_EQ_STR(t_reply_str(c), "OK");
	CHECK_EQ_STR(t_read(c, "/m/n"), "");
	CHECK_EQ_STR(t_read(c, "/m"), "");
	/* an existing node is left as it is */
	CHECK(t_write(c, "/m/n", "keep") == NULL);
	CHECK(t_write(c, "/m/n/k", "") == NULL);
	CHECK(t_err(c, XS_MKDIR, 0, "/m/n") == NULL);
	CHECK_EQ_STR(t_read(c, "/m/n"), "keep");
	CHECK_EQ_STR(t_dir(c, "/m/n"), "k");
	CHECK_EQ_STR(t_err(c, XS_MKDIR, 0, "/m/"), "EINVAL");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_rm(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	t_write(c, "/r/a/x", "1");
	t_write(c, "/r/a/y/z", "2");
	t_write(c, "/r/b", "3");
	t_write(c, "/r/c", "4");
	CHECK_EQ_STR(t_dir(c, "/r"), "a,b,c");
	/* removes the whole subtree and unlinks it from its parent */
	CHECK(t_err(c, XS_RM, 0, "/r/a") == NULL);
	CHECK_EQ_STR(t_reply_str(c), "OK");
	CHECK(t_read(c, "/r/a") == NULL);
	CHECK(t_read(c, "/r/a/x") == NULL);
	CHECK(t_read(c, "/r/a/y/z") == NULL);
	CHECK(t_read(c, "/r/a/y") == NULL);
	CHECK_EQ_STR(t_dir(c, "/r"), "b,c");
	CHECK_EQ_STR(t_read(c, "/r/b"), "3");
	/* a missing node whose parent exists: fine */
	CHECK(t_err(c, XS_RM, 0, "/r/a") == NULL);
	/* a missing node whose parent is missing too: ENOENT */
	CHECK_EQ_STR(t_err(c, XS_RM, 0, "/r/a/x"), "ENOENT");
	CHECK_EQ_STR(t_err(c, XS_RM, 0, "/nothing/here"), "ENOENT");
	/* never the root */
	CHECK_EQ_STR(t_err(c, XS_RM, 0, "/"), "EINVAL");
	CHECK_EQ_STR(t_dir(c, "/"), "r");
	/* the order of the remaining children is kept */
	t_write(c, "/r/d", "");
	CHECK(t_err(c, XS_RM, 0, "/r/b") == NULL);
	CHECK_EQ_STR(t_dir(c, "/r"), "c,d");
	/* re-created after removal: empty, with no old children */
	t_write(c, "/r/a", "new");
	CHECK_EQ_STR(t_dir(c, "/r/a"), "");
	CHECK_EQ_STR(t_dir(c, "/r"), "c,d,a");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_directory(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	CHECK_EQ_STR(t_dir(c, "/"), "");
	t_write(c, "/d/zeta", "");
	t_write(c, "/d/alpha", "");
	t_write(c, "/d/mid/x", "");
	CHECK_EQ_INT(t_req(c, XS_DIRECTORY, 0, "/d"), XS_DIRECTORY);
	/* creation order, packed names each with its NUL */
	CHECK_EQ_INT(c->reply_len, 5 + 6 + 4);
	CHECK(memcmp(c->reply, "zeta\0alpha\0mid\0", 15) == 0);
	CHECK(t_dir(c, "/missing") == NULL);
	CHECK_EQ_STR(t_last_err(c), "ENOENT");
	t_store_close(st);
}

/* Reads the whole child list of `path` with DIRECTORY_PART into `out`
 * (packed names); returns the number of requests it took, 0 on error. */
static unsigned read_parts(struct t_conn *c, const char *path, char *out, size_t outsz,
			   size_t *outlen)
{
	unsigned off = 0, pages = 0;
	char offs[16], gen0[32] = "";

	*outlen = 0;
	for (;;) {
		const char *p, *end;
		snprintf(offs, sizeof(offs), "%u", off);
		if (t_req(c, XS_DIRECTORY_PART, 0, path, offs) != XS_DIRECTORY_PART)
			return 0;
		pages++;
		CHECK(c->reply_len <= XS_PAYLOAD_MAX);
		p = (const char *)c->reply;
		end = p + c->reply_len;
		/* the generation first: the same on every page */
		if (!gen0[0])
			snprintf(gen0, sizeof(gen0), "%s", p);
		CHECK_EQ_STR(p, gen0);
		p += strlen(p) + 1;
		/* then whole names; an empty string ends the list */
		while (p < end && *p) {
			size_t l = strlen(p) + 1;
			if (*outlen + l > outsz || p + l > end)
				return 0;
			memcpy(out + *outlen, p, l);
			*outlen += l;
			off += (unsigned)l;
			p += l;
		}
		if (p < end) { /* the final empty string: complete */
			CHECK(p + 1 == end);
			return pages;
		}
		if (pages > 100)
			return 0;
	}
}

static void test_directory_part(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);
	char *expect = malloc(16384), *got = malloc(16384);
	size_t elen = 0, glen;
	char path[128];
	unsigned pages;

	/* 250 children of 26..28 bytes: about 7 KB of names */
	for (int i = 0; i < 250; i++) {
		char name[64];
		snprintf(name, sizeof(name), "child-with-a-long-name-%d", i * 37);
		snprintf(path, sizeof(path), "/big/%s", name);
		CHECK(t_write(c, path, "") == NULL);
		memcpy(expect + elen, name, strlen(name) + 1);
		elen += strlen(name) + 1;
	}
	CHECK(elen > XS_PAYLOAD_MAX);
	/* too big for one DIRECTORY reply */
	CHECK(t_dir(c, "/big") == NULL);
	CHECK_EQ_STR(t_last_err(c), "E2BIG");
	pages = read_parts(c, "/big", got, 16384, &glen);
	CHECK(pages >= 2);
	CHECK_EQ_INT(glen, elen);
	CHECK(memcmp(got, expect, elen) == 0);

	/* a small directory: one page, "gen\0names\0\0" */
	t_write(c, "/small/a", "");
	t_write(c, "/small/bb", "");
	CHECK_EQ_INT(read_parts(c, "/small", got, 16384, &glen), 1);
	CHECK_EQ_INT(glen, 5);
	CHECK(memcmp(got, "a\0bb\0", 5) == 0);
	CHECK_EQ_INT(t_req(c, XS_DIRECTORY_PART, 0, "/small", "0"), XS_DIRECTORY_PART);
	CHECK_EQ_INT(c->reply_len, strlen(t_reply_str(c)) + 1 + 5 + 1);
	/* from an offset after the first name */
	CHECK_EQ_INT(t_req(c, XS_DIRECTORY_PART, 0, "/small", "2"), XS_DIRECTORY_PART);
	CHECK(memcmp(c->reply + strlen(t_reply_str(c)) + 1, "bb\0\0", 4) == 0);
	/* at the very end: just the terminator */
	CHECK_EQ_INT(t_req(c, XS_DIRECTORY_PART, 0, "/small", "5"), XS_DIRECTORY_PART);
	CHECK_EQ_INT(c->reply_len, strlen(t_reply_str(c)) + 2);
	/* an empty directory */
	CHECK_EQ_INT(read_parts(c, "/small/a", got, 16384, &glen), 1);
	CHECK_EQ_INT(glen, 0);
	/* bad offsets: inside a name, past the end, not a number */
	CHECK_EQ_STR(t_err(c, XS_DIRECTORY_PART, 0, "/small", "1"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_DIRECTORY_PART, 0, "/small", "6"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_DIRECTORY_PART, 0, "/small", "x"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_DIRECTORY_PART, 0, "/small", "-1"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_DIRECTORY_PART, 0, "/nope", "0"), "ENOENT");

	/* the generation changes when the list does, so a client can restart */
	t_req(c, XS_DIRECTORY_PART, 0, "/small", "0");
	snprintf(path, sizeof(path), "%s", t_reply_str(c));
	t_write(c, "/small/ccc", "");
	t_req(c, XS_DIRECTORY_PART, 0, "/small", "0");
	CHECK(strcmp(path, t_reply_str(c)) != 0);
	free(expect);
	free(got);
	t_store_close(st);
}

static void test_perms_basic(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	CHECK_EQ_STR(t_perms(c, "/"), "n0");
	t_write(c, "/p", "");
	CHECK_EQ_STR(t_perms(c, "/p"), "n0");
	CHECK(t_err(c, XS_SET_PERMS, 0, "/p", "r3", "w5", "b7", "n9") == NULL);
	CHECK_EQ_STR(t_reply_str(c), "OK");
	CHECK_EQ_STR(t_perms(c, "/p"), "r3,w5,b7,n9");
	CHECK_EQ_INT(c->reply_len, 12);
	/* children inherit their parent's permissions */
	t_write(c, "/p/q/r", "");
	CHECK_EQ_STR(t_perms(c, "/p/q"), "r3,w5,b7,n9");
	CHECK_EQ_STR(t_perms(c, "/p/q/r"), "r3,w5,b7,n9");
	/* a trailing empty string is tolerated */
	CHECK(t_err(c, XS_SET_PERMS, 0, "/p", "b0", "") == NULL);
	CHECK_EQ_STR(t_perms(c, "/p"), "b0");
	/* bad permissions and paths */
	CHECK_EQ_STR(t_err(c, XS_SET_PERMS, 0, "/p", "x1"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_SET_PERMS, 0, "/p", "r"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_SET_PERMS, 0, "/p", "r1", "q2"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_SET_PERMS, 0, "/p", ""), "EINVAL");
	CHECK_EQ_STR(t_perms(c, "/p"), "b0"); /* unchanged by the failures */
	CHECK_EQ_STR(t_err(c, XS_SET_PERMS, 0, "/nope", "b0"), "ENOENT");
	CHECK_EQ_STR(t_err(c, XS_GET_PERMS, 0, "/nope"), "ENOENT");
	CHECK_EQ_STR(t_err(c, XS_GET_PERMS, 0, "/p/"), "EINVAL");
	/* special nodes have permissions too */
	CHECK_EQ_STR(t_perms(c, "@releaseDomain"), "n0");
	CHECK_EQ_STR(t_err(c, XS_GET_PERMS, 0, "@other"), "ENOENT");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_bad_requests(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	/* unknown and unsupported types: an ENOSYS error reply, same req_id */
	CHECK_EQ_INT(t_req(c, 99, 0, "/a"), XS_ERROR);
	CHECK_EQ_STR(t_reply_str(c), "ENOSYS");
	CHECK_EQ_INT(c->reply_len, 7);
	CHECK_EQ_STR(t_err(c, XS_RESTRICT, 0, "1"), "ENOSYS");
	CHECK_EQ_STR(t_err(c, XS_WATCH_EVENT, 0, "/a", "t"), "ENOSYS");
	CHECK_EQ_STR(t_err(c, XS_ERROR, 0, "EINVAL"), "ENOSYS");
	CHECK_EQ_INT(t_req_raw(c, 0xfffffff0u, 0, NULL, 0), XS_ERROR);
	/* malformed payloads */
	CHECK_EQ_INT(t_req_raw(c, XS_READ, 0, "/a", 2), XS_ERROR); /* no NUL */
	CHECK_EQ_STR(t_last_err(c), "EINVAL");
	CHECK_EQ_INT(t_req_raw(c, XS_READ, 0, NULL, 0), XS_ERROR);
	CHECK_EQ_STR(t_last_err(c), "EINVAL");
	CHECK_EQ_INT(t_req_raw(c, XS_WRITE, 0, "/a", 2), XS_ERROR);
	CHECK_EQ_STR(t_last_err(c), "EINVAL");
	CHECK(t_read(c, "/a") == NULL); /* nothing was written */
	CHECK_EQ_STR(t_err(c, XS_READ, 0, "/a", "/b"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_WATCH, 0, "/a"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_SET_TARGET, 0, "5"), "EINVAL");
	/* bad paths */
	CHECK_EQ_STR(t_write(c, "/a b", "v"), "EINVAL");
	CHECK_EQ_STR(t_write(c, "/a/", "v"), "EINVAL");
	CHECK_EQ_STR(t_write(c, "//a", "v"), "EINVAL");
	CHECK_EQ_STR(t_write(c, "", "v"), "EINVAL");
	CHECK_EQ_STR(t_write(c, "@releaseDomain", "v"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_READ, 0, "/a.b"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_RM, 0, "/x/"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_DIRECTORY, 0, "x//y"), "EINVAL");
	/* a transaction id on a request that cannot take one */
	CHECK_EQ_STR(t_err(c, XS_TRANSACTION_START, 5, ""), "EINVAL");
	CHECK_EQ_STR(t_dir(c, "/"), "");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_misc_requests(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);

	CHECK_EQ_INT(t_req(c, XS_GET_DOMAIN_PATH, 0, "3"), XS_GET_DOMAIN_PATH);
	CHECK_EQ_STR(t_reply_str(c), "/local/domain/3");
	CHECK_EQ_INT(c->reply_len, 16);
	CHECK_EQ_STR(t_err(c, XS_GET_DOMAIN_PATH, 0, "x"), "EINVAL");
	CHECK_EQ_INT(t_req(c, XS_GET_FEATURE, 0, ""), XS_GET_FEATURE);
	CHECK_EQ_STR(t_reply_str(c), "0");
	CHECK_EQ_INT(t_req(c, XS_CONTROL, 0, "help"), XS_CONTROL);
	CHECK(strstr(t_reply_str(c), "check") != NULL);
	CHECK_EQ_INT(t_req(c, XS_CONTROL, 0, "memreport"), XS_CONTROL);
	CHECK(strstr(t_reply_str(c), "nodes 1\n") != NULL);
	CHECK_EQ_STR(t_err(c, XS_CONTROL, 0, "no-such-command"), "EINVAL");
	/* compaction needs a state directory */
	CHECK_EQ_STR(t_err(c, XS_CONTROL, 0, "compact"), "ENOSYS");
	t_store_close(st);
}

int main(void)
{
	RUN(test_write_read);
	RUN(test_write_binary_value);
	RUN(test_write_creates_parents);
	RUN(test_mkdir);
	RUN(test_rm);
	RUN(test_directory);
	RUN(test_directory_part);
	RUN(test_perms_basic);
	RUN(test_bad_requests);
	RUN(test_misc_requests);
	return tap_done();
}

/* test_domain.c — INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED,
 * GET_DOMAIN_PATH, RESUME and the host hooks. */
#include "tap.h"
#include "harness.h"

#include <errno.h>
#include <stdio.h>

/* IS_DOMAIN_INTRODUCED: "T", "F", or the error name. */
static const char *is_introduced(struct t_conn *c, const char *domid)
{
	t_req(c, XS_IS_DOMAIN_INTRODUCED, 0, domid);
	return t_reply_str(c);
}

static void test_introduce(void)
{
	struct store *st = t_store_new();
	struct t_conn *c0 = t_conn_new(st, 0), *c7 = t_conn_new(st, 7);

	CHECK_EQ_STR(is_introduced(c0, "5"), "F");
	CHECK_EQ_STR(is_introduced(c0, "0"), "T");
	CHECK_EQ_INT(c0->reply_len, 2); /* "T\0" */
	t_req(c0, XS_WATCH, 0, "@introduceDomain", "i");
	t_drain_events(c0);
	CHECK(t_introduce(c0, 5) == NULL);
	CHECK_EQ_STR(t_reply_str(c0), "OK");
	CHECK_EQ_STR(t_events(c0), "@introduceDomain|i");
	CHECK_EQ_STR(is_introduced(c0, "5"), "T");
	CHECK_EQ_STR(is_introduced(c7, "5"), "T"); /* anyone may ask */
	CHECK_EQ_STR(is_introduced(c0, "6"), "F");
	/* twice: EEXIST, and no event */
	CHECK_EQ_STR(t_introduce(c0, 5), "EEXIST");
	CHECK_EQ_STR(t_events(c0), "");
	/* bad arguments */
	CHECK_EQ_STR(t_err(c0, XS_INTRODUCE, 0, "0", "0", "0"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_INTRODUCE, 0, "x", "0", "0"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_INTRODUCE, 0, "32752", "0", "0"), "EINVAL"); /* reserved */
	CHECK_EQ_STR(t_err(c0, XS_INTRODUCE, 0, "65536", "0", "0"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_INTRODUCE, 0, "6", "mfn", "0"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_INTRODUCE, 0, "6", "0", ""), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_INTRODUCE, 0, "6", "0"), "EINVAL");
	CHECK_EQ_STR(is_introduced(c0, "6"), "F");
	CHECK_EQ_STR(t_err(c0, XS_IS_DOMAIN_INTRODUCED, 0, "x"), "EINVAL");
	CHECK_EQ_STR(t_events(c0), "");
	/* the home path of any domain */
	CHECK(t_err(c7, XS_GET_DOMAIN_PATH, 0, "5") == NULL);
	CHECK_EQ_STR(t_reply_str(c7), "/local/domain/5");
	CHECK(t_err(c7, XS_GET_DOMAIN_PATH, 0, "0") == NULL);
	CHECK_EQ_STR(t_reply_str(c7), "/local/domain/0");
	CHECK_EQ_STR(t_err(c7, XS_GET_DOMAIN_PATH, 0, "-3"), "EINVAL");
	/* RESUME wants an introduced domain */
	CHECK(t_err(c0, XS_RESUME, 0, "5") == NULL);
	CHECK_EQ_STR(t_err(c0, XS_RESUME, 0, "6"), "ENOENT");
	t_store_close(st);
}

static void test_release(void)
{
	struct store *st = t_store_new();
	struct t_conn *c0 = t_conn_new(st, 0), *c5 = t_conn_new(st, 5), *w = t_conn_new(st, 0);

	CHECK(t_introduce(c0, 5) == NULL);
	t_err(c0, XS_MKDIR, 0, "/local/domain/5");
	t_err(c0, XS_SET_PERMS, 0, "/local/domain/5", "n5");
	CHECK(t_write(c5, "device/vif/0", "x") == NULL);
	CHECK(t_write(c5, "name", "guest") == NULL);
	t_write(c0, "/local/domain/4/keep", "");
	t_req(w, XS_WATCH, 0, "@releaseDomain", "r");
	t_req(w, XS_WATCH, 0, "/local/domain/5/device/vif", "vif");
	t_req(w, XS_WATCH, 0, "/local/domain/4", "four");
	t_drain_events(w);

	CHECK(t_err(c0, XS_RELEASE, 0, "5") == NULL);
	CHECK_EQ_STR(is_introduced(c0, "5"), "F");
	/* the home is gone, with everything below it */
	CHECK(t_read(c0, "/local/domain/5") == NULL);
	CHECK(t_read(c0, "/local/domain/5/device/vif/0") == NULL);
	CHECK_EQ_STR(t_dir(c0, "/local/domain"), "4");
	/* watchers hear it: the special event and the removal */
	const char *ev = t_events(w);
	CHECK(strstr(ev, "@releaseDomain|r") != NULL);
	CHECK(strstr(ev, "/local/domain/5/device/vif|vif") != NULL);
	CHECK(strstr(ev, "four") == NULL);
	/* twice, or never introduced: ENOENT */
	CHECK_EQ_STR(t_err(c0, XS_RELEASE, 0, "5"), "ENOENT");
	CHECK_EQ_STR(t_err(c0, XS_RELEASE, 0, "9"), "ENOENT");
	CHECK_EQ_STR(t_err(c0, XS_RELEASE, 0, "0"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_RELEASE, 0, "x"), "EINVAL");
	CHECK_EQ_STR(t_events(w), "");
	CHECK_EQ_STR(t_read(c0, "/local/domain/4/keep"), "");
	CHECK(t_check(c0));
	t_store_close(st);
}

static void test_release_gives_nodes_to_dom0(void)
{
	struct store *st = t_store_new();
	struct t_conn *c0 = t_conn_new(st, 0), *c5 = t_conn_new(st, 5);

	CHECK(t_introduce(c0, 5) == NULL);
	CHECK(t_introduce(c0, 6) == NULL);
	t_err(c0, XS_MKDIR, 0, "/shared");
	t_err(c0, XS_SET_PERMS, 0, "/shared", "b0");
	CHECK(t_write(c5, "/shared/five/sub", "x") == NULL);
	CHECK_EQ_STR(t_perms(c0, "/shared/five"), "b5");
	/* a node dom0 gave to 5, with an explicit entry for 6 */
	t_write(c0, "/given", "");
	t_err(c0, XS_SET_PERMS, 0, "/given", "n5", "r6");
	t_err(c0, XS_SET_QUOTA, 0, "5", "nodes", "50");
	t_err(c0, XS_SET_TARGET, 0, "5", "6");

	CHECK(t_err(c0, XS_RELEASE, 0, "5") == NULL);
	/* the nodes stay, dom0 owns them now, the other entries are kept */
	CHECK_EQ_STR(t_read(c0, "/shared/five/sub"), "x");
	CHECK_EQ_STR(t_perms(c0, "/shared/five"), "b0");
	CHECK_EQ_STR(t_perms(c0, "/shared/five/sub"), "b0");
	CHECK_EQ_STR(t_perms(c0, "/given"), "n0,r6");
	/* dom5's old rights are gone, in case the id is reused */
	CHECK(t_read(c5, "/given") == NULL);
	CHECK_EQ_STR(t_last_err(c5), "EACCES");
	CHECK(t_check(c0));
	/* introduced again: a fresh domain with default quotas, no target */
	CHECK(t_introduce(c0, 5) == NULL);
	t_req(c0, XS_GET_QUOTA, 0, "5", "nodes");
	CHECK_EQ_STR(t_reply_str(c0), "1000");
	t_write(c0, "/local/domain/6/private", "");
	t_err(c0, XS_SET_PERMS, 0, "/local/domain/6/private", "n6");
	CHECK(t_read(c5, "/local/domain/6/private") == NULL);
	CHECK_EQ_STR(t_last_err(c5), "EACCES");
	CHECK(t_check(c0));
	t_store_close(st);
}

/* Host hooks: records calls; `fail_introduce` makes INTRODUCE fail. */
struct host_log {
	int introduced[8], released[8];
	int nintro, nrel;
	int fail_introduce;
};

static int host_introduce(void *ctx, uint32_t domid)
{
	struct host_log *h = ctx;

	if (h->fail_introduce)
		return -EMFILE;
	if (h->nintro < 8)
		h->introduced[h->nintro++] = (int)domid;
	return 0;
}

static void host_release(void *ctx, uint32_t domid)
{
	struct host_log *h = ctx;

	if (h->nrel < 8)
		h->released[h->nrel++] = (int)domid;
}

static const struct store_host_ops host_ops = {
	.introduce = host_introduce,
	.release = host_release,
};

static void test_host_hooks(void)
{
	struct host_log h = {0};
	struct store_options o = {.host = &host_ops, .host_ctx = &h};
	struct store *st;
	struct t_conn *c0;

	CHECK_EQ_INT(store_open(&o, &st), 0);
	c0 = t_conn_new(st, 0);
	CHECK(t_introduce(c0, 5) == NULL);
	CHECK(t_introduce(c0, 9) == NULL);
	CHECK_EQ_INT(h.nintro, 2);
	CHECK_EQ_INT(h.introduced[0], 5);
	CHECK_EQ_INT(h.introduced[1], 9);
	/* the host refusing: INTRODUCE fails, the domain is not introduced */
	h.fail_introduce = 1;
	CHECK(t_introduce(c0, 6) != NULL);
	CHECK_EQ_STR(is_introduced(c0, "6"), "F");
	h.fail_introduce = 0;
	CHECK(t_err(c0, XS_RELEASE, 0, "5") == NULL);
	CHECK_EQ_INT(h.nrel, 1);
	CHECK_EQ_INT(h.released[0], 5);
	/* store_restore_domains: once per introduced domain */
	h.nintro = 0;
	CHECK_EQ_INT(store_restore_domains(st), 0);
	CHECK_EQ_INT(h.nintro, 1);
	CHECK_EQ_INT(h.introduced[0], 9);
	h.fail_introduce = 1;
	CHECK(store_restore_domains(st) != 0);
	t_store_close(st);
}

int main(void)
{
	RUN(test_introduce);
	RUN(test_release);
	RUN(test_release_gives_nodes_to_dom0);
	RUN(test_host_hooks);
	return tap_done();
}

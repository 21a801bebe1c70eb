/* test_perms.c — permissions: owners, everyone's default, explicit
 * entries, device-model targets and privileged-only requests. */
#include "tap.h"
#include "harness.h"

struct world {
	struct store *st;
	struct t_conn *c0, *c5, *c6;
};

/* A store with domains 5 and 6 introduced, each owning its home (perms
 * "n<domid>": nobody else may look), and connections for dom0, 5 and 6. */
static void world_open(struct world *w)
{
	w->st = t_store_new();
	w->c0 = t_conn_new(w->st, 0);
	CHECK(t_introduce(w->c0, 5) == NULL);
	CHECK(t_introduce(w->c0, 6) == NULL);
	CHECK(t_err(w->c0, XS_MKDIR, 0, "/local/domain/5") == NULL);
	CHECK(t_err(w->c0, XS_MKDIR, 0, "/local/domain/6") == NULL);
	CHECK(t_err(w->c0, XS_SET_PERMS, 0, "/local/domain/5", "n5") == NULL);
	CHECK(t_err(w->c0, XS_SET_PERMS, 0, "/local/domain/6", "n6") == NULL);
	w->c5 = t_conn_new(w->st, 5);
	w->c6 = t_conn_new(w->st, 6);
}

static void world_close(struct world *w)
{
	CHECK(t_check(w->c0));
	t_store_close(w->st);
}

static void test_owner_and_others(void)
{
	struct world w;

	world_open(&w);
	/* the owner may do anything with its nodes */
	CHECK(t_write(w.c5, "x", "five") == NULL);
	CHECK_EQ_STR(t_read(w.c5, "/local/domain/5/x"), "five");
	CHECK_EQ_STR(t_perms(w.c5, "x"), "n5");
	CHECK_EQ_STR(t_dir(w.c5, "/local/domain/5"), "x");
	/* others get the default: none */
	CHECK(t_read(w.c6, "/local/domain/5/x") == NULL);
	CHECK_EQ_STR(t_last_err(w.c6), "EACCES");
	CHECK_EQ_STR(t_write(w.c6, "/local/domain/5/x", "six"), "EACCES");
	CHECK_EQ_STR(t_write(w.c6, "/local/domain/5/new", "six"), "EACCES");
	CHECK_EQ_STR(t_err(w.c6, XS_MKDIR, 0, "/local/domain/5/newdir"), "EACCES");
	CHECK_EQ_STR(t_err(w.c6, XS_RM, 0, "/local/domain/5/x"), "EACCES");
	CHECK(t_dir(w.c6, "/local/domain/5") == NULL);
	CHECK_EQ_STR(t_last_err(w.c6), "EACCES");
	CHECK_EQ_STR(t_err(w.c6, XS_DIRECTORY_PART, 0, "/local/domain/5", "0"), "EACCES");
	CHECK(t_perms(w.c6, "/local/domain/5/x") == NULL);
	CHECK_EQ_STR(t_last_err(w.c6), "EACCES");
	CHECK_EQ_STR(t_err(w.c6, XS_SET_PERMS, 0, "/local/domain/5/x", "b5"), "EACCES");
	CHECK_EQ_STR(t_read(w.c5, "x"), "five"); /* none of that changed anything */
	CHECK_EQ_STR(t_perms(w.c5, "x"), "n5");
	/* dom0 may do anything anywhere */
	CHECK_EQ_STR(t_read(w.c0, "/local/domain/5/x"), "five");
	CHECK(t_write(w.c0, "/local/domain/5/x", "zero") == NULL);
	/* MKDIR of an existing node it may not write is refused as well, so a
	 * domain cannot probe for nodes it cannot read */
	CHECK_EQ_STR(t_err(w.c6, XS_MKDIR, 0, "/local/domain/5/x"), "EACCES");
	/* the root is dom0's: no reading or creating at the top for a domU */
	CHECK(t_dir(w.c5, "/") == NULL);
	CHECK_EQ_STR(t_last_err(w.c5), "EACCES");
	CHECK_EQ_STR(t_write(w.c5, "/top", "v"), "EACCES");
	CHECK_EQ_STR(t_read(w.c0, "/local/domain/5/x"), "zero");
	world_close(&w);
}

static void test_default_and_explicit(void)
{
	struct world w;

	world_open(&w);
	CHECK(t_write(w.c5, "x", "v") == NULL);
	/* everyone may read */
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "x", "r5") == NULL);
	CHECK_EQ_STR(t_read(w.c6, "/local/domain/5/x"), "v");
	CHECK_EQ_STR(t_write(w.c6, "/local/domain/5/x", "w"), "EACCES");
	/* everyone may write but not read */
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "x", "w5") == NULL);
	CHECK(t_read(w.c6, "/local/domain/5/x") == NULL);
	CHECK_EQ_STR(t_last_err(w.c6), "EACCES");
	CHECK(t_write(w.c6, "/local/domain/5/x", "by6") == NULL);
	CHECK_EQ_STR(t_read(w.c5, "x"), "by6");
	/* an explicit entry beats the default, both ways */
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "x", "n5", "r6") == NULL);
	CHECK_EQ_STR(t_read(w.c6, "/local/domain/5/x"), "by6");
	CHECK_EQ_STR(t_write(w.c6, "/local/domain/5/x", "w"), "EACCES");
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "x", "b5", "n6") == NULL);
	CHECK(t_read(w.c6, "/local/domain/5/x") == NULL);
	CHECK_EQ_STR(t_last_err(w.c6), "EACCES");
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "x", "n5", "b6") == NULL);
	CHECK(t_write(w.c6, "/local/domain/5/x", "again") == NULL);
	CHECK_EQ_STR(t_read(w.c6, "/local/domain/5/x"), "again");
	/* write access to a directory lets another domain create in it, and
	 * removal needs write access to the node removed */
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "/local/domain/5", "n5", "w6") == NULL);
	CHECK(t_write(w.c6, "/local/domain/5/from6", "hi") == NULL);
	CHECK(t_err(w.c6, XS_RM, 0, "/local/domain/5/x") == NULL);
	CHECK(t_read(w.c5, "x") == NULL);
	world_close(&w);
}

static void test_owner_change(void)
{
	struct world w;

	world_open(&w);
	CHECK(t_write(w.c5, "x", "v") == NULL);
	/* an unprivileged domain may not give its node away */
	CHECK_EQ_STR(t_err(w.c5, XS_SET_PERMS, 0, "x", "b6"), "EPERM");
	CHECK_EQ_STR(t_err(w.c5, XS_SET_PERMS, 0, "x", "n6", "b5"), "EPERM");
	CHECK_EQ_STR(t_perms(w.c5, "x"), "n5");
	/* dom0 may */
	CHECK(t_err(w.c0, XS_SET_PERMS, 0, "/local/domain/5/x", "n6") == NULL);
	CHECK(t_read(w.c5, "x") == NULL);
	CHECK_EQ_STR(t_last_err(w.c5), "EACCES");
	CHECK_EQ_STR(t_read(w.c6, "/local/domain/5/x"), "v");
	CHECK_EQ_STR(t_perms(w.c6, "/local/domain/5/x"), "n6");
	/* write access is not ownership: only the owner changes permissions */
	CHECK(t_write(w.c5, "y", "v") == NULL);
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "y", "n5", "b6") == NULL);
	CHECK(t_write(w.c6, "/local/domain/5/y", "from6") == NULL);
	CHECK_EQ_STR(t_err(w.c6, XS_SET_PERMS, 0, "/local/domain/5/y", "b5"), "EACCES");
	CHECK_EQ_STR(t_perms(w.c5, "y"), "n5,b6");
	world_close(&w);
}

static void test_creator_owns(void)
{
	struct world w;

	world_open(&w);
	/* a shared directory everyone may use */
	CHECK(t_err(w.c0, XS_MKDIR, 0, "/shared") == NULL);
	CHECK(t_err(w.c0, XS_SET_PERMS, 0, "/shared", "b0") == NULL);
	CHECK(t_write(w.c5, "/shared/five/deep", "5") == NULL);
	CHECK(t_write(w.c6, "/shared/six", "6") == NULL);
	/* what a domU creates (parents included) it owns; the rest of the
	 * permissions come from the nearest existing ancestor */
	CHECK_EQ_STR(t_perms(w.c0, "/shared/five"), "b5");
	CHECK_EQ_STR(t_perms(w.c0, "/shared/five/deep"), "b5");
	CHECK_EQ_STR(t_perms(w.c0, "/shared/six"), "b6");
	/* what dom0 creates takes the ancestor's owner */
	CHECK(t_write(w.c0, "/local/domain/5/byzero", "") == NULL);
	CHECK_EQ_STR(t_perms(w.c0, "/local/domain/5/byzero"), "n5");
	CHECK(t_write(w.c0, "/shared/zero", "") == NULL);
	CHECK_EQ_STR(t_perms(w.c0, "/shared/zero"), "b0");
	/* the owner can now lock the others out of its node */
	CHECK(t_err(w.c5, XS_SET_PERMS, 0, "/shared/five", "n5") == NULL);
	CHECK(t_read(w.c6, "/shared/five") == NULL);
	CHECK_EQ_STR(t_last_err(w.c6), "EACCES");
	world_close(&w);
}

static void test_target(void)
{
	struct world w;

	world_open(&w);
	CHECK(t_write(w.c6, "secret", "s6") == NULL);
	CHECK(t_read(w.c5, "/local/domain/6/secret") == NULL);
	CHECK_EQ_STR(t_last_err(w.c5), "EACCES");
	/* dom5 becomes dom6's device model */
	CHECK(t_err(w.c0, XS_SET_TARGET, 0, "5", "6") == NULL);
	CHECK_EQ_STR(t_read(w.c5, "/local/domain/6/secret"), "s6");
	CHECK(t_write(w.c5, "/local/domain/6/secret", "by5") == NULL);
	CHECK_EQ_STR(t_read(w.c6, "secret"), "by5");
	CHECK_EQ_STR(t_dir(w.c5, "/local/domain/6"), "secret");
	CHECK(t_write(w.c5, "/local/domain/6/made-by-5", "") == NULL);
	/* an explicit entry for the target counts for its device model too */
	CHECK(t_err(w.c0, XS_MKDIR, 0, "/dm") == NULL);
	CHECK(t_err(w.c0, XS_SET_PERMS, 0, "/dm", "n0", "r6") == NULL);
	CHECK(t_dir(w.c5, "/dm") != NULL);
	/* not the other way round: the target gains nothing over dom5 */
	CHECK(t_write(w.c5, "mine", "m") == NULL);
	CHECK(t_read(w.c6, "/local/domain/5/mine") == NULL);
	CHECK_EQ_STR(t_last_err(w.c6), "EACCES");
	/* the rules of SET_TARGET */
	CHECK_EQ_STR(t_err(w.c0, XS_SET_TARGET, 0, "9", "6"), "ENOENT");
	CHECK_EQ_STR(t_err(w.c0, XS_SET_TARGET, 0, "5", "5"), "EINVAL");
	CHECK_EQ_STR(t_err(w.c0, XS_SET_TARGET, 0, "0", "5"), "EINVAL");
	CHECK_EQ_STR(t_err(w.c0, XS_SET_TARGET, 0, "5", "x"), "EINVAL");
	CHECK_EQ_STR(t_err(w.c6, XS_SET_TARGET, 0, "6", "5"), "EACCES");
	world_close(&w);
}

static void test_privileged_only(void)
{
	struct world w;

	world_open(&w);
	CHECK_EQ_STR(t_err(w.c5, XS_INTRODUCE, 0, "7", "0", "0"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_RELEASE, 0, "6"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_SET_TARGET, 0, "5", "6"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_CONTROL, 0, "check"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_GET_QUOTA, 0, "nodes"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_SET_QUOTA, 0, "nodes", "5000"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_SET_QUOTA, 0, "5", "nodes", "5000"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_RESUME, 0, "5"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_SET_FEATURE, 0, "5", "0"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_GET_FEATURE, 0, "6"), "EACCES");
	CHECK_EQ_STR(t_err(w.c5, XS_SET_PERMS, 0, "@releaseDomain", "r5"), "EACCES");
	/* ...and none of them took effect */
	t_req(w.c0, XS_IS_DOMAIN_INTRODUCED, 0, "7");
	CHECK_EQ_STR(t_reply_str(w.c0), "F");
	t_req(w.c0, XS_IS_DOMAIN_INTRODUCED, 0, "6");
	CHECK_EQ_STR(t_reply_str(w.c0), "T");
	CHECK_EQ_STR(t_perms(w.c0, "@releaseDomain"), "n0");
	t_req(w.c0, XS_GET_QUOTA, 0, "nodes");
	CHECK_EQ_STR(t_reply_str(w.c0), "1000");
	/* what an unprivileged domain may ask */
	CHECK(t_err(w.c5, XS_GET_DOMAIN_PATH, 0, "5") == NULL);
	CHECK_EQ_STR(t_reply_str(w.c5), "/local/domain/5");
	CHECK(t_err(w.c5, XS_IS_DOMAIN_INTRODUCED, 0, "6") == NULL);
	CHECK(t_err(w.c5, XS_GET_FEATURE, 0, "") == NULL);
	CHECK_EQ_STR(t_reply_str(w.c5), "0");
	/* dom0 may ask about any domain */
	CHECK(t_err(w.c0, XS_GET_FEATURE, 0, "6") == NULL);
	CHECK_EQ_STR(t_reply_str(w.c0), "0");
	world_close(&w);
}

int main(void)
{
	RUN(test_owner_and_others);
	RUN(test_default_and_explicit);
	RUN(test_owner_change);
	RUN(test_creator_owns);
	RUN(test_target);
	RUN(test_privileged_only);
	return tap_done();
}

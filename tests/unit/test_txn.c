/* test_txn.c — transactions: isolation, commit, abort, conflicts (see the
 * design essay at the top of store/txn.c), ids and quotas. */
#include "tap.h"
#include "harness.h"

#include <stdio.h>

static void test_isolation_commit(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0), *o = t_conn_new(st, 0);
	uint32_t tx;

	t_write(c, "/a", "1");
	t_write(c, "/gone", "g");
	tx = t_txn_start(c);
	CHECK(tx != 0);
	CHECK(t_write_tx(c, tx, "/a", "2") == NULL);
	CHECK(t_write_tx(c, tx, "/new/deep", "n") == NULL);
	CHECK(t_err(c, XS_RM, tx, "/gone") == NULL);
	/* the transaction sees its own changes */
	CHECK_EQ_STR(t_read_tx(c, tx, "/a"), "2");
	CHECK_EQ_STR(t_read_tx(c, tx, "/new/deep"), "n");
	CHECK_EQ_STR(t_read_tx(c, tx, "/new"), "");
	CHECK(t_read_tx(c, tx, "/gone") == NULL);
	CHECK_EQ_STR(t_dir_tx(c, tx, "/"), "a,new");
	/* nobody else does, not even its own connection outside it */
	CHECK_EQ_STR(t_read(o, "/a"), "1");
	CHECK(t_read(o, "/new") == NULL);
	CHECK_EQ_STR(t_read(o, "/gone"), "g");
	CHECK_EQ_STR(t_dir(o, "/"), "a,gone");
	CHECK_EQ_STR(t_read(c, "/a"), "1");
	/* commit applies all of it */
	CHECK(t_txn_end(c, tx, true) == NULL);
	CHECK_EQ_STR(t_reply_str(c), "OK");
	CHECK_EQ_STR(t_read(o, "/a"), "2");
	CHECK_EQ_STR(t_read(o, "/new/deep"), "n");
	CHECK(t_read(o, "/gone") == NULL);
	CHECK_EQ_STR(t_dir(o, "/"), "a,new");
	/* the transaction is gone */
	CHECK_EQ_STR(t_txn_end(c, tx, true), "ENOENT");
	CHECK_EQ_STR(t_write_tx(c, tx, "/a", "3"), "ENOENT");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_abort(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);
	uint32_t tx;

	t_write(c, "/a", "1");
	tx = t_txn_start(c);
	t_write_tx(c, tx, "/a", "2");
	t_write_tx(c, tx, "/b", "2");
	t_err(c, XS_SET_PERMS, tx, "/a", "r0");
	/* a bad TRANSACTION_END argument leaves the transaction open */
	CHECK_EQ_STR(t_err(c, XS_TRANSACTION_END, tx, "X"), "EINVAL");
	CHECK_EQ_STR(t_read_tx(c, tx, "/b"), "2");
	CHECK(t_txn_end(c, tx, false) == NULL);
	CHECK_EQ_STR(t_read(c, "/a"), "1");
	CHECK(t_read(c, "/b") == NULL);
	CHECK_EQ_STR(t_perms(c, "/a"), "n0");
	CHECK_EQ_STR(t_dir(c, "/"), "a");
	CHECK_EQ_STR(t_txn_end(c, tx, false), "ENOENT");
	CHECK(t_check(c));
	t_store_close(st);
}

static void test_conflict_rmw(void)
{
	struct store *st = t_store_new();
	struct t_conn *c1 = t_conn_new(st, 0), *c2 = t_conn_new(st, 0);
	uint32_t t1, t2;
	const char *e1, *e2;

	t_write(c1, "/counter", "0");
	t1 = t_txn_start(c1);
	t2 = t_txn_start(c2);
	CHECK(t1 != t2);
	CHECK_EQ_STR(t_read_tx(c1, t1, "/counter"), "0");
	CHECK_EQ_STR(t_read_tx(c2, t2, "/counter"), "0");
	CHECK(t_write_tx(c1, t1, "/counter", "1") == NULL);
	CHECK(t_write_tx(c2, t2, "/counter", "1") == NULL);
	e1 = t_txn_end(c1, t1, true);
	CHECK(e1 == NULL);
	e2 = t_txn_end(c2, t2, true);
	CHECK_EQ_STR(e2, "EAGAIN");
	/* exactly one increment happened; the loser retries and wins */
	CHECK_EQ_STR(t_read(c1, "/counter"), "1");
	t2 = t_txn_start(c2);
	CHECK_EQ_STR(t_read_tx(c2, t2, "/counter"), "1");
	t_write_tx(c2, t2, "/counter", "2");
	CHECK(t_txn_end(c2, t2, true) == NULL);
	CHECK_EQ_STR(t_read(c1, "/counter"), "2");
	/* a failed commit ends the transaction */
	CHECK_EQ_STR(t_txn_end(c2, t2, true), "ENOENT");

	/* a read-only transaction conflicts too: what it read changed */
	t1 = t_txn_start(c1);
	t_read_tx(c1, t1, "/counter");
	t_write(c2, "/counter", "9");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	/* a write that only replaces the value without reading it first */
	t1 = t_txn_start(c1);
	t_write_tx(c1, t1, "/counter", "x");
	t_write(c2, "/counter", "y");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	CHECK_EQ_STR(t_read(c1, "/counter"), "y");
	/* a permission change conflicts as well */
	t1 = t_txn_start(c1);
	t_read_tx(c1, t1, "/counter");
	t_err(c2, XS_SET_PERMS, 0, "/counter", "r0");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	CHECK(t_check(c1));
	t_store_close(st);
}

static void test_no_conflict(void)
{
	struct store *st = t_store_new();
	struct t_conn *c1 = t_conn_new(st, 0), *c2 = t_conn_new(st, 0);
	uint32_t t1, t2;

	t_write(c1, "/a/x", "1");
	t_write(c1, "/b/y", "1");
	t1 = t_txn_start(c1);
	t2 = t_txn_start(c2);
	CHECK_EQ_STR(t_read_tx(c1, t1, "/a/x"), "1");
	CHECK_EQ_STR(t_read_tx(c2, t2, "/b/y"), "1");
	t_write_tx(c1, t1, "/a/x", "2");
	t_write_tx(c2, t2, "/b/y", "2");
	/* unrelated changes outside do not matter either */
	t_write(c1, "/unrelated", "u");
	t_write(c1, "/a/x-sibling-value", "s"); /* /a's list changes, but t1 never read /a */
	CHECK(t_txn_end(c2, t2, true) == NULL);
	CHECK(t_txn_end(c1, t1, true) == NULL);
	CHECK_EQ_STR(t_read(c1, "/a/x"), "2");
	CHECK_EQ_STR(t_read(c1, "/b/y"), "2");
	CHECK(t_check(c1));
	t_store_close(st);
}

static void test_conflict_absent(void)
{
	struct store *st = t_store_new();
	struct t_conn *c1 = t_conn_new(st, 0), *c2 = t_conn_new(st, 0);
	uint32_t t1, t2;

	t_write(c1, "/dir/other", "o");
	/* it read /dir/c as absent; someone created it */
	t1 = t_txn_start(c1);
	CHECK(t_read_tx(c1, t1, "/dir/c") == NULL);
	CHECK_EQ_STR(t_last_err(c1), "ENOENT");
	t_write_tx(c1, t1, "/dir/other", "changed");
	t_write(c2, "/dir/c", "created");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	CHECK_EQ_STR(t_read(c1, "/dir/other"), "o");
	/* two transactions create the same node: the second loses */
	t1 = t_txn_start(c1);
	t2 = t_txn_start(c2);
	t_write_tx(c1, t1, "/dir/same", "1");
	t_write_tx(c2, t2, "/dir/same", "2");
	CHECK(t_txn_end(c2, t2, true) == NULL);
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	CHECK_EQ_STR(t_read(c1, "/dir/same"), "2");
	/* created deep: the missing ancestors are part of what it depends on */
	t1 = t_txn_start(c1);
	t_write_tx(c1, t1, "/p/q/r", "1");
	t_write(c2, "/p", "made");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	CHECK_EQ_STR(t_dir(c1, "/p"), "");
	CHECK(t_check(c1));
	t_store_close(st);
}

static void test_conflict_removed_subtree(void)
{
	struct store *st = t_store_new();
	struct t_conn *c1 = t_conn_new(st, 0), *c2 = t_conn_new(st, 0);
	uint32_t t1;

	t_write(c1, "/s/t/u", "1");
	t_write(c1, "/s/v", "1");
	t1 = t_txn_start(c1);
	CHECK(t_err(c1, XS_RM, t1, "/s") == NULL);
	CHECK(t_read_tx(c1, t1, "/s/t/u") == NULL);
	/* a write deep below what the transaction removed */
	t_write(c2, "/s/t/u", "2");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	CHECK_EQ_STR(t_read(c1, "/s/t/u"), "2");
	/* without the interference the removal commits */
	t1 = t_txn_start(c1);
	t_err(c1, XS_RM, t1, "/s");
	CHECK(t_txn_end(c1, t1, true) == NULL);
	CHECK(t_read(c1, "/s") == NULL);
	CHECK(t_read(c1, "/s/t/u") == NULL);
	CHECK_EQ_STR(t_dir(c1, "/"), "");
	CHECK(t_check(c1));
	t_store_close(st);
}

static void test_conflict_directory(void)
{
	struct store *st = t_store_new();
	struct t_conn *c1 = t_conn_new(st, 0), *c2 = t_conn_new(st, 0);
	uint32_t t1;

	t_write(c1, "/d/a", "");
	t_write(c1, "/elsewhere", "");
	/* the transaction listed /d, then /d's list changed */
	t1 = t_txn_start(c1);
	CHECK_EQ_STR(t_dir_tx(c1, t1, "/d"), "a");
	t_write_tx(c1, t1, "/elsewhere", "x");
	t_write(c2, "/d/b", "");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	/* a removal from the list counts too */
	t1 = t_txn_start(c1);
	CHECK_EQ_STR(t_dir_tx(c1, t1, "/d"), "a,b");
	t_err(c2, XS_RM, 0, "/d/a");
	CHECK_EQ_STR(t_txn_end(c1, t1, true), "EAGAIN");
	/* a value change of a child does not change the list */
	t1 = t_txn_start(c1);
	CHECK_EQ_STR(t_dir_tx(c1, t1, "/d"), "b");
	t_write(c2, "/d/b", "value");
	CHECK(t_txn_end(c1, t1, true) == NULL);
	t_store_close(st);
}

static void test_churn_inside(void)
{
	struct store *st = t_store_new();
	struct t_conn *c0 = t_conn_new(st, 0), *c5;
	uint32_t tx;

	t_introduce(c0, 5);
	t_err(c0, XS_MKDIR, 0, "/local/domain/5");
	t_err(c0, XS_SET_PERMS, 0, "/local/domain/5", "n5");
	c5 = t_conn_new(st, 5);
	t_write(c5, "old", "o");
	t_write(c5, "keep", "k");
	/* created then removed, removed then created, changed twice: only the
	 * end result is committed, and usage follows it */
	tx = t_txn_start(c5);
	CHECK(t_write_tx(c5, tx, "tmp/a", "1") == NULL);
	CHECK(t_err(c5, XS_RM, tx, "tmp") == NULL);
	CHECK(t_err(c5, XS_RM, tx, "old") == NULL);
	CHECK(t_write_tx(c5, tx, "old", "reborn") == NULL);
	CHECK_EQ_STR(t_dir_tx(c5, tx, "/local/domain/5"), "keep,old");
	CHECK(t_write_tx(c5, tx, "keep", "k2") == NULL);
	CHECK(t_err(c5, XS_SET_PERMS, tx, "keep", "r5") == NULL);
	CHECK(t_write_tx(c5, tx, "keep", "k3") == NULL);
	CHECK(t_txn_end(c5, tx, true) == NULL);
	CHECK(t_read(c5, "tmp") == NULL);
	CHECK_EQ_STR(t_read(c5, "old"), "reborn");
	CHECK_EQ_STR(t_read(c5, "keep"), "k3");
	CHECK_EQ_STR(t_perms(c5, "keep"), "r5");
	CHECK_EQ_STR(t_dir(c5, "/local/domain/5"), "keep,old");
	CHECK(t_check(c0));
	t_store_close(st);
}

static void test_txn_ids(void)
{
	struct store *st = t_store_new();
	struct t_conn *c1 = t_conn_new(st, 0), *c2 = t_conn_new(st, 0);
	uint32_t t1, t2;

	t_write(c1, "/a", "1");
	t1 = t_txn_start(c1);
	t2 = t_txn_start(c2);
	CHECK(t1 && t2 && t1 != t2);
	/* unknown ids */
	CHECK(t_read_tx(c1, 99999, "/a") == NULL);
	CHECK_EQ_STR(t_last_err(c1), "ENOENT");
	CHECK_EQ_STR(t_write_tx(c1, 99999, "/a", "x"), "ENOENT");
	CHECK_EQ_STR(t_txn_end(c1, 99999, true), "ENOENT");
	CHECK_EQ_STR(t_txn_end(c1, 0, true), "ENOENT");
	/* another connection's transaction is unknown too */
	CHECK_EQ_STR(t_write_tx(c1, t2, "/a", "x"), "ENOENT");
	CHECK_EQ_STR(t_txn_end(c1, t2, true), "ENOENT");
	CHECK(t_txn_end(c2, t2, true) == NULL);
	CHECK_EQ_STR(t_read(c1, "/a"), "1");
	/* the reply carries the request's tx_id */
	t_req(c1, XS_READ, t1, "/a");
	CHECK_EQ_STR(t_reply_str(c1), "1");
	/* a freed connection drops its transactions */
	t_write_tx(c1, t1, "/a", "lost");
	t_conn_free(c1);
	c1 = t_conn_new(st, 0);
	CHECK_EQ_STR(t_read(c1, "/a"), "1");
	CHECK(t_check(c1));
	t_store_close(st);
}

static void test_txn_quota_and_reset(void)
{
	struct store *st = t_store_new();
	struct t_conn *c0 = t_conn_new(st, 0), *c5;
	uint32_t ids[12], t;
	int i;

	t_introduce(c0, 5);
	t_err(c0, XS_MKDIR, 0, "/local/domain/5");
	t_err(c0, XS_SET_PERMS, 0, "/local/domain/5", "n5");
	c5 = t_conn_new(st, 5);
	for (i = 0; i < 10; i++) {
		ids[i] = t_txn_start(c5);
		CHECK(ids[i] != 0);
	}
	/* the 11th is over the quota of 10 */
	CHECK_EQ_INT(t_txn_start(c5), 0);
	CHECK_EQ_STR(t_last_err(c5), "ENOSPC");
	/* ending one (commit or abort, successful or not) frees a slot */
	CHECK(t_txn_end(c5, ids[0], false) == NULL);
	ids[0] = t_txn_start(c5);
	CHECK(ids[0] != 0);
	t_read_tx(c5, ids[1], "x");
	t_write(c5, "x", "changed");
	CHECK_EQ_STR(t_txn_end(c5, ids[1], true), "EAGAIN");
	ids[1] = t_txn_start(c5);
	CHECK(ids[1] != 0);
	CHECK_EQ_INT(t_txn_start(c5), 0);
	/* RESET_WATCHES drops every transaction of the connection */
	t_write_tx(c5, ids[2], "y", "never");
	CHECK(t_err(c5, XS_RESET_WATCHES, 0, "") == NULL);
	CHECK_EQ_STR(t_txn_end(c5, ids[2], true), "ENOENT");
	CHECK(t_read(c5, "y") == NULL);
	for (i = 0; i < 10; i++)
		CHECK((ids[i] = t_txn_start(c5)) != 0);
	CHECK_EQ_INT(t_txn_start(c5), 0);
	/* dom0 has no such limit */
	for (i = 0; i < 30; i++)
		CHECK((t = t_txn_start(c0)) != 0);
	CHECK(t_check(c0));
	t_store_close(st);
}

static void test_txn_overlay_bounded(void)
{
	struct store *st = t_store_new();
	struct t_conn *c0 = t_conn_new(st, 0), *c5;
	char p[64];
	uint32_t tx;
	int i, refused_at = -1;

	t_introduce(c0, 5);
	t_err(c0, XS_MKDIR, 0, "/local/domain/5");
	t_err(c0, XS_SET_PERMS, 0, "/local/domain/5", "n5");
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "nodes", "10") == NULL);
	c5 = t_conn_new(st, 5);
	/* writes: the overlay of an unprivileged transaction stays bounded */
	tx = t_txn_start(c5);
	for (i = 0; i < 500 && refused_at < 0; i++) {
		snprintf(p, sizeof(p), "w%d", i);
		if (t_err(c5, XS_RM, tx, p))
			refused_at = i;
	}
	CHECK(refused_at > 0);
	CHECK_EQ_STR(t_last_err(c5), "ENOSPC");
	CHECK(t_txn_end(c5, tx, false) == NULL);
	/* and so do reads, which record what they saw as well */
	refused_at = -1;
	tx = t_txn_start(c5);
	for (i = 0; i < 500 && refused_at < 0; i++) {
		snprintf(p, sizeof(p), "r%d", i);
		if (!t_read_tx(c5, tx, p) && strcmp(t_last_err(c5), "ENOENT") != 0)
			refused_at = i;
	}
	CHECK(refused_at > 0);
	CHECK_EQ_STR(t_last_err(c5), "ENOSPC");
	/* the transaction can still be ended */
	CHECK(t_txn_end(c5, tx, false) == NULL);
	CHECK(t_check(c0));
	t_store_close(st);
}

int main(void)
{
	RUN(test_isolation_commit);
	RUN(test_abort);
	RUN(test_conflict_rmw);
	RUN(test_no_conflict);
	RUN(test_conflict_absent);
	RUN(test_conflict_removed_subtree);
	RUN(test_conflict_directory);
	RUN(test_churn_inside);
	RUN(test_txn_ids);
	RUN(test_txn_quota_and_reset);
	RUN(test_txn_overlay_bounded);
	return tap_done();
}

/* test_watch.c — watches: initial events, which changes fire which
 * watches, permissions, transactions, special events and quotas. */
#include "tap.h"

#include <string.h>
#include "harness.h"

#include <stdio.h>

static void test_initial_event(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0);
	const char *path, *token;

	/* the reply, then one event for the watched path, whether or not it exists */
	CHECK_EQ_INT(t_req(c, XS_WATCH, 0, "/w", "tok"), XS_WATCH);
	CHECK_EQ_STR(t_reply_str(c), "OK");
	CHECK(t_next_event(c, &path, &token));
	CHECK_EQ_STR(path, "/w");
	CHECK_EQ_STR(token, "tok");
	CHECK(c->taken->h.len == 7); /* "/w\0tok\0" */
	CHECK(!t_next_event(c, &path, &token));
	/* the same path with another token is another watch */
	CHECK(t_err(c, XS_WATCH, 0, "/w", "tok2") == NULL);
	CHECK_EQ_STR(t_events(c), "/w|tok2");
	/* the same path and token again: EEXIST, and no event */
	CHECK_EQ_STR(t_err(c, XS_WATCH, 0, "/w", "tok"), "EEXIST");
	CHECK_EQ_STR(t_events(c), "");
	/* bad paths */
	CHECK_EQ_STR(t_err(c, XS_WATCH, 0, "/w/", "t"), "EINVAL");
	CHECK_EQ_STR(t_err(c, XS_WATCH, 0, "@x/y", "t"), "EINVAL");
	CHECK_EQ_STR(t_events(c), "");
	/* a token so long that an event on a deep path could not be sent */
	{
		char tok[1100];
		memset(tok, 'k', sizeof(tok) - 1);
		tok[sizeof(tok) - 1] = '\0';
		CHECK_EQ_STR(t_err(c, XS_WATCH, 0, "/", tok), "EINVAL");
		tok[1022] = '\0'; /* 1022 + 3072 + 2 = 4096: every event fits */
		CHECK(t_err(c, XS_WATCH, 0, "/", tok) == NULL);
	}
	t_store_close(st);
}

static void test_event_scope(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0), *o = t_conn_new(st, 0);

	t_write(o, "/w", "");
	t_req(c, XS_WATCH, 0, "/w", "t");
	t_drain_events(c);
	/* the node and anything below it */
	t_write(o, "/w", "v");
	CHECK_EQ_STR(t_events(c), "/w|t");
	t_write(o, "/w/x", "1");
	CHECK_EQ_STR(t_events(c), "/w/x|t"); /* /w's child list changed: no event of its own */
	t_write(o, "/w/x/y/z", "1");
	/* one event for the path written; the parents it needed are implied */
	CHECK_EQ_STR(t_events(c), "/w/x/y/z|t");
	t_err(o, XS_SET_PERMS, 0, "/w/x", "r0");
	CHECK_EQ_STR(t_events(c), "/w/x|t");
	t_err(o, XS_RM, 0, "/w/x/y/z");
	CHECK_EQ_STR(t_events(c), "/w/x/y/z|t");
	/* the writer's own changes fire its watches too */
	t_write(c, "/w/self", "");
	CHECK_EQ_STR(t_events(c), "/w/self|t");
	/* unrelated paths, including ones the watched name is a prefix of */
	t_write(o, "/other", "");
	t_write(o, "/wx", "");
	t_write(o, "/wx/w", "");
	t_err(o, XS_RM, 0, "/wx");
	CHECK_EQ_STR(t_events(c), "");
	/* no change, no event: MKDIR of an existing node, RM of a missing one,
	 * reads, failed requests */
	t_err(o, XS_MKDIR, 0, "/w");
	t_err(o, XS_RM, 0, "/w/missing");
	t_read(o, "/w");
	t_dir(o, "/w");
	t_err(o, XS_SET_PERMS, 0, "/w", "q");
	CHECK_EQ_STR(t_events(c), "");
	/* a watch on / sees everything */
	t_req(c, XS_WATCH, 0, "/", "root");
	CHECK_EQ_STR(t_events(c), "/|root");
	t_write(o, "/elsewhere", "");
	CHECK_EQ_STR(t_events(c), "/elsewhere|root");
	t_store_close(st);
}

static void test_rm_exact_events(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0), *o = t_conn_new(st, 0);

	t_write(o, "/a/b/c/d", "");
	t_write(o, "/a/b2", "");
	t_req(c, XS_WATCH, 0, "/a/b/c", "c");
	t_req(c, XS_WATCH, 0, "/a/b", "b");
	t_req(c, XS_WATCH, 0, "/a", "a");
	t_req(c, XS_WATCH, 0, "/", "root");
	t_req(c, XS_WATCH, 0, "/a/b/c/d", "d");
	t_req(c, XS_WATCH, 0, "/a/b/nonexistent", "n");
	t_drain_events(c);
	CHECK(t_err(o, XS_RM, 0, "/a") == NULL);
	/* each watch fires once: with its own path for the removed
	 * descendants, with /a for the watches on /a and above */
	const char *path, *token;
	int seen_a = 0, seen_root = 0, seen_b = 0, seen_c = 0, seen_d = 0, other = 0;
	while (t_next_event(c, &path, &token)) {
		if (strcmp(token, "a") == 0 && strcmp(path, "/a") == 0)
			seen_a++;
		else if (strcmp(token, "root") == 0 && strcmp(path, "/a") == 0)
			seen_root++;
		else if (strcmp(token, "b") == 0 && strcmp(path, "/a/b") == 0)
			seen_b++;
		else if (strcmp(token, "c") == 0 && strcmp(path, "/a/b/c") == 0)
			seen_c++;
		else if (strcmp(token, "d") == 0 && strcmp(path, "/a/b/c/d") == 0)
			seen_d++;
		else {
			printf("# unexpected event %s %s\n", path, token);
			other++;
		}
	}
	CHECK_EQ_INT(seen_a, 1);
	CHECK_EQ_INT(seen_root, 1);
	CHECK_EQ_INT(seen_b, 1);
	CHECK_EQ_INT(seen_c, 1);
	CHECK_EQ_INT(seen_d, 1);
	CHECK_EQ_INT(other, 0);
	t_store_close(st);
}

/* A store with dom5 introduced and owning /local/domain/5 ("n5"). */
static struct store *store_with_dom5(struct t_conn **c0)
{
	struct store *st = t_store_new();

	*c0 = t_conn_new(st, 0);
	t_introduce(*c0, 5);
	t_err(*c0, XS_MKDIR, 0, "/local/domain/5");
	t_err(*c0, XS_SET_PERMS, 0, "/local/domain/5", "n5");
	return st;
}

static void test_relative(void)
{
	struct t_conn *c0, *c5;
	struct store *st = store_with_dom5(&c0);

	c5 = t_conn_new(st, 5);
	t_req(c0, XS_WATCH, 0, "/local/domain/5/rel", "abs");
	CHECK(t_err(c5, XS_WATCH, 0, "rel", "r") == NULL);
	/* a relative watch reports paths relative to the domain's home */
	CHECK_EQ_STR(t_events(c5), "rel|r");
	t_drain_events(c0);
	t_write(c5, "rel/x", "1");
	CHECK_EQ_STR(t_events(c5), "rel/x|r");
	CHECK_EQ_STR(t_events(c0), "/local/domain/5/rel/x|abs");
	/* an absolute watch of the same domain gets absolute paths */
	t_req(c5, XS_WATCH, 0, "/local/domain/5/rel", "a5");
	CHECK_EQ_STR(t_events(c5), "/local/domain/5/rel|a5");
	t_write(c0, "/local/domain/5/rel/x", "2");
	/* one event per watch (in no particular order) */
	CHECK_EQ_INT(c5->nevents, 2);
	const char *ev = t_events(c5);
	CHECK(strstr(ev, "rel/x|r") == ev || strstr(ev, ",rel/x|r") != NULL);
	CHECK(strstr(ev, "/local/domain/5/rel/x|a5") != NULL);
	/* UNWATCH takes the path as it was given */
	CHECK(t_err(c5, XS_UNWATCH, 0, "rel", "r") == NULL);
	t_write(c0, "/local/domain/5/rel/x", "3");
	CHECK_EQ_STR(t_events(c5), "/local/domain/5/rel/x|a5");
	t_store_close(st);
}

static void test_permission_filter(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = store_with_dom5(&c0);

	t_introduce(c0, 6);
	c5 = t_conn_new(st, 5);
	c6 = t_conn_new(st, 6);
	t_write(c5, "secret", "");
	/* dom6 may watch what it cannot read, but hears nothing of it */
	CHECK(t_err(c6, XS_WATCH, 0, "/local/domain/5", "t") == NULL);
	CHECK_EQ_STR(t_events(c6), "/local/domain/5|t");
	t_write(c5, "secret", "changed");
	t_write(c5, "secret/new", "");
	CHECK_EQ_STR(t_events(c6), "");
	/* once the node is readable, its events arrive */
	t_err(c5, XS_SET_PERMS, 0, "secret", "r5");
	CHECK_EQ_STR(t_events(c6), "/local/domain/5/secret|t");
	t_write(c5, "secret", "again");
	CHECK_EQ_STR(t_events(c6), "/local/domain/5/secret|t");
	t_write(c5, "secret/new", "x"); /* still n5: created before */
	CHECK_EQ_STR(t_events(c6), "");
	/* a removal is judged by the permissions the node had */
	t_err(c5, XS_RM, 0, "secret");
	CHECK_EQ_STR(t_events(c6), "/local/domain/5/secret|t");
	/* dom0 hears everything */
	t_req(c0, XS_WATCH, 0, "/local", "z");
	t_drain_events(c0);
	t_write(c5, "private", "");
	CHECK_EQ_STR(t_events(c0), "/local/domain/5/private|z");
	CHECK_EQ_STR(t_events(c6), "");
	t_store_close(st);
}

static void test_txn_events(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0), *o = t_conn_new(st, 0);
	uint32_t tx;

	t_write(o, "/t", "");
	t_req(c, XS_WATCH, 0, "/t", "t");
	t_drain_events(c);
	tx = t_txn_start(o);
	t_write_tx(o, tx, "/t/x", "1");
	t_write_tx(o, tx, "/t/y", "1");
	CHECK_EQ_STR(t_events(c), "");
	CHECK(t_txn_end(o, tx, true) == NULL);
	CHECK_EQ_STR(t_events(c), "/t/x|t,/t/y|t");
	/* aborted or failed: nothing */
	tx = t_txn_start(o);
	t_write_tx(o, tx, "/t/z", "1");
	CHECK(t_txn_end(o, tx, false) == NULL);
	CHECK_EQ_STR(t_events(c), "");
	tx = t_txn_start(o);
	t_read_tx(o, tx, "/t/x");
	t_write_tx(o, tx, "/t/x", "2");
	t_write(c, "/t/x", "3");
	CHECK_EQ_STR(t_events(c), "/t/x|t");
	CHECK_EQ_STR(t_txn_end(o, tx, true), "EAGAIN");
	CHECK_EQ_STR(t_events(c), "");
	t_store_close(st);
}

static void test_special_events(void)
{
	struct store *st = t_store_new();
	struct t_conn *c0 = t_conn_new(st, 0), *c7 = t_conn_new(st, 7);

	CHECK(t_err(c0, XS_WATCH, 0, "@introduceDomain", "i") == NULL);
	CHECK(t_err(c0, XS_WATCH, 0, "@releaseDomain", "r") == NULL);
	CHECK_EQ_STR(t_events(c0), "@introduceDomain|i,@releaseDomain|r");
	CHECK(t_err(c7, XS_WATCH, 0, "@introduceDomain", "i7") == NULL);
	CHECK(t_err(c7, XS_WATCH, 0, "@releaseDomain", "r7") == NULL);
	CHECK_EQ_STR(t_events(c7), "@introduceDomain|i7,@releaseDomain|r7");
	/* a watch on / is not a watch on the special paths */
	t_req(c0, XS_WATCH, 0, "/", "root");
	t_drain_events(c0);

	CHECK(t_introduce(c0, 5) == NULL);
	CHECK_EQ_STR(t_events(c0), "@introduceDomain|i");
	CHECK(t_err(c0, XS_RELEASE, 0, "5") == NULL);
	CHECK_EQ_STR(t_events(c0), "@releaseDomain|r");
	/* dom7 may not read the special nodes yet */
	CHECK_EQ_STR(t_events(c7), "");
	/* given read access to @releaseDomain, it hears releases only */
	CHECK(t_err(c0, XS_SET_PERMS, 0, "@releaseDomain", "n0", "r7") == NULL);
	CHECK_EQ_STR(t_perms(c0, "@releaseDomain"), "n0,r7");
	CHECK(t_introduce(c0, 5) == NULL);
	CHECK(t_err(c0, XS_RELEASE, 0, "5") == NULL);
	CHECK_EQ_STR(t_events(c7), "@releaseDomain|r7");
	CHECK_EQ_STR(t_events(c0), "@introduceDomain|i,@releaseDomain|r");
	/* a domU may read the special node's permissions only if allowed */
	CHECK_EQ_STR(t_perms(c7, "@releaseDomain"), "n0,r7");
	CHECK_EQ_STR(t_err(c0, XS_SET_PERMS, 0, "@nosuch", "n0"), "ENOENT");
	t_store_close(st);
}

static void test_unwatch_reset(void)
{
	struct store *st = t_store_new();
	struct t_conn *c = t_conn_new(st, 0), *o = t_conn_new(st, 0);

	t_req(c, XS_WATCH, 0, "/u", "1");
	t_req(c, XS_WATCH, 0, "/u", "2");
	t_drain_events(c);
	CHECK(t_err(c, XS_UNWATCH, 0, "/u", "1") == NULL);
	CHECK_EQ_STR(t_reply_str(c), "OK");
	t_write(o, "/u", "");
	CHECK_EQ_STR(t_events(c), "/u|2");
	CHECK_EQ_STR(t_err(c, XS_UNWATCH, 0, "/u", "1"), "ENOENT");
	CHECK_EQ_STR(t_err(c, XS_UNWATCH, 0, "/v", "2"), "ENOENT");
	CHECK_EQ_STR(t_err(c, XS_UNWATCH, 0, "/u/", "2"), "EINVAL");
	/* another connection's watch is not ours to remove */
	CHECK_EQ_STR(t_err(o, XS_UNWATCH, 0, "/u", "2"), "ENOENT");
	/* RESET_WATCHES drops them all */
	t_req(c, XS_WATCH, 0, "/", "root");
	CHECK(t_err(c, XS_RESET_WATCHES, 0, "") == NULL);
	t_drain_events(c);
	t_write(o, "/u", "x");
	CHECK_EQ_STR(t_events(c), "");
	/* and a watch can be set again afterwards */
	CHECK(t_err(c, XS_WATCH, 0, "/u", "2") == NULL);
	t_store_close(st);
}

static void test_watch_quota(void)
{
	struct t_conn *c0, *c5, *c5b;
	struct store *st = store_with_dom5(&c0);
	char tok[16];
	int i;

	c5 = t_conn_new(st, 5);
	/* the default: 128 watches per domain */
	for (i = 0; i < 128; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		CHECK(t_err(c5, XS_WATCH, 0, "x", tok) == NULL);
	}
	CHECK_EQ_STR(t_err(c5, XS_WATCH, 0, "x", "one-more"), "E2BIG");
	/* counted per domain, across its connections */
	c5b = t_conn_new(st, 5);
	CHECK_EQ_STR(t_err(c5b, XS_WATCH, 0, "x", "other-conn"), "E2BIG");
	/* removing one frees a slot; a closed connection frees all of its own */
	CHECK(t_err(c5, XS_UNWATCH, 0, "x", "t0") == NULL);
	CHECK(t_err(c5b, XS_WATCH, 0, "x", "other-conn") == NULL);
	CHECK_EQ_STR(t_err(c5b, XS_WATCH, 0, "x", "again"), "E2BIG");
	t_conn_free(c5);
	CHECK(t_err(c5b, XS_WATCH, 0, "x", "again") == NULL);
	/* a smaller quota set by dom0 */
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "watches", "2") == NULL);
	CHECK_EQ_STR(t_err(c5b, XS_WATCH, 0, "x", "over"), "E2BIG");
	CHECK(t_err(c5b, XS_RESET_WATCHES, 0, "") == NULL);
	for (i = 0; i < 2; i++) {
		snprintf(tok, sizeof(tok), "s%d", i);
		CHECK(t_err(c5b, XS_WATCH, 0, "x", tok) == NULL);
	}
	CHECK_EQ_STR(t_err(c5b, XS_WATCH, 0, "x", "s2"), "E2BIG");
	/* dom0 has no limit */
	for (i = 0; i < 200; i++) {
		snprintf(tok, sizeof(tok), "z%d", i);
		CHECK(t_err(c0, XS_WATCH, 0, "/z", tok) == NULL);
	}
	t_store_close(st);
}

int main(void)
{
	RUN(test_initial_event);
	RUN(test_event_scope);
	RUN(test_rm_exact_events);
	RUN(test_relative);
	RUN(test_permission_filter);
	RUN(test_txn_events);
	RUN(test_special_events);
	RUN(test_unwatch_reset);
	RUN(test_watch_quota);
	return tap_done();
}

/* test_quota.c — per-domain quotas: nodes, node size, permissions, memory;
 * GET/SET_QUOTA; dom0's exemption; accounting that stays consistent when
 * requests are refused. */
#include "tap.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

/* A store with domains 5 and 6 introduced, each owning its home. */
static struct store *open_world(struct t_conn **c0, struct t_conn **c5, struct t_conn **c6)
{
	struct store *st = t_store_new();

	*c0 = t_conn_new(st, 0);
	for (unsigned d = 5; d <= 6; d++) {
		char home[32], perm[8];
		snprintf(home, sizeof(home), "/local/domain/%u", d);
		snprintf(perm, sizeof(perm), "n%u", d);
		CHECK(t_introduce(*c0, d) == NULL);
		CHECK(t_err(*c0, XS_MKDIR, 0, home) == NULL);
		CHECK(t_err(*c0, XS_SET_PERMS, 0, home, perm) == NULL);
	}
	*c5 = t_conn_new(st, 5);
	*c6 = t_conn_new(st, 6);
	return st;
}

/* The "used:" line of CONTROL quota <domid>: nodes and bytes. */
static void usage(struct t_conn *c0, const char *domid, unsigned long long *nodes,
		  unsigned long long *bytes)
{
	const char *u;

	*nodes = *bytes = ~0ull;
	t_req(c0, XS_CONTROL, 0, "quota", domid);
	u = strstr(t_reply_str(c0), "used: nodes ");
	CHECK(u != NULL);
	if (u)
		CHECK_EQ_INT(sscanf(u, "used: nodes %llu memory %llu", nodes, bytes), 2);
}

static void test_nodes_default(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = open_world(&c0, &c5, &c6);
	char p[32];
	int i, ok = 0;

	t_req(c0, XS_GET_QUOTA, 0, "5", "nodes");
	CHECK_EQ_STR(t_reply_str(c0), "1000");
	/* dom5 owns its home: 999 more fit in the default quota of 1000 */
	for (i = 0; i < 999; i++) {
		snprintf(p, sizeof(p), "n%d", i);
		ok += t_write(c5, p, "") == NULL;
	}
	CHECK_EQ_INT(ok, 999);
	CHECK_EQ_STR(t_write(c5, "one-more", ""), "ENOSPC");
	CHECK(t_read(c5, "one-more") == NULL);
	CHECK(t_check(c0));
	t_store_close(st);
}

static void test_nodes_small(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = open_world(&c0, &c5, &c6);
	unsigned long long n, b;
	char p[32];
	int i;

	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "nodes", "10") == NULL);
	t_req(c0, XS_GET_QUOTA, 0, "5", "nodes");
	CHECK_EQ_STR(t_reply_str(c0), "10");
	for (i = 0; i < 7; i++) {
		snprintf(p, sizeof(p), "n%d", i);
		CHECK(t_write(c5, p, "") == NULL);
	}
	usage(c0, "5", &n, &b);
	CHECK_EQ_INT(n, 8);
	/* a write that needs three new nodes while two fit: none is made */
	CHECK_EQ_STR(t_write(c5, "a/b/c", "v"), "ENOSPC");
	CHECK(t_read(c5, "a") == NULL);
	usage(c0, "5", &n, &b);
	CHECK_EQ_INT(n, 8);
	CHECK(t_write(c5, "n7", "") == NULL);
	CHECK(t_write(c5, "n8", "") == NULL);
	CHECK_EQ_STR(t_write(c5, "n9", ""), "ENOSPC");
	CHECK_EQ_STR(t_err(c5, XS_MKDIR, 0, "n9"), "ENOSPC");
	/* changing what exists is still fine; removing frees room */
	CHECK(t_write(c5, "n0", "changed") == NULL);
	CHECK(t_err(c5, XS_RM, 0, "n0") == NULL);
	CHECK(t_write(c5, "n9", "") == NULL);
	CHECK_EQ_STR(t_write(c5, "n10", ""), "ENOSPC");
	/* in a transaction the quota is checked when it commits */
	CHECK(t_err(c5, XS_RM, 0, "n9") == NULL);
	uint32_t tx = t_txn_start(c5);
	CHECK(t_write_tx(c5, tx, "t1", "") == NULL);
	CHECK(t_write_tx(c5, tx, "t2", "") == NULL);
	CHECK_EQ_STR(t_txn_end(c5, tx, true), "ENOSPC");
	CHECK(t_read(c5, "t1") == NULL);
	usage(c0, "5", &n, &b);
	CHECK_EQ_INT(n, 9);
	/* other domains and dom0 are not affected */
	for (i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "m%d", i);
		CHECK(t_write(c6, p, "") == NULL);
	}
	for (i = 0; i < 1100; i++) {
		snprintf(p, sizeof(p), "/zero/z%d", i);
		if (t_write(c0, p, "")) {
			CHECK(0);
			break;
		}
	}
	/* dom0 writing into dom5's home makes nodes dom5 owns, beyond its quota */
	CHECK(t_write(c0, "/local/domain/5/by-dom0", "") == NULL);
	usage(c0, "5", &n, &b);
	CHECK_EQ_INT(n, 10);
	CHECK(t_check(c0));
	t_store_close(st);
}

static void test_node_size(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = open_world(&c0, &c5, &c6);
	char *v = malloc(4000);

	memset(v, 'v', 4000);
	v[2048] = '\0';
	CHECK(t_write(c5, "big", v) == NULL);
	v[2048] = 'v';
	v[2049] = '\0';
	CHECK_EQ_STR(t_write(c5, "big", v), "ENOSPC");
	CHECK_EQ_STR(t_write(c5, "bigger", v), "ENOSPC");
	CHECK(t_read(c5, "bigger") == NULL);
	CHECK_EQ_INT(strlen(t_read(c5, "big")), 2048);
	/* dom0 is exempt */
	v[3999] = '\0';
	CHECK(t_write(c0, "/local/domain/5/big", v) == NULL);
	/* a per-domain value */
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "node-size", "10") == NULL);
	CHECK(t_write(c5, "s", "0123456789") == NULL);
	CHECK_EQ_STR(t_write(c5, "s", "0123456789a"), "ENOSPC");
	CHECK(t_write(c6, "s", "0123456789a") == NULL);
	CHECK(t_check(c0));
	free(v);
	t_store_close(st);
}

static void test_permissions_count(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = open_world(&c0, &c5, &c6);

	t_write(c5, "p", "");
	CHECK(t_err(c5, XS_SET_PERMS, 0, "p", "n5", "r1", "r2", "r3", "r4") == NULL);
	CHECK_EQ_STR(t_err(c5, XS_SET_PERMS, 0, "p", "n5", "r1", "r2", "r3", "r4", "r6"), "ENOSPC");
	CHECK_EQ_STR(t_perms(c5, "p"), "n5,r1,r2,r3,r4");
	CHECK(t_err(c0, XS_SET_PERMS, 0, "/local/domain/5/p", "n5", "r1", "r2", "r3", "r4", "r6",
		    "r7", "r8") == NULL);
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "permissions", "2") == NULL);
	CHECK_EQ_STR(t_err(c5, XS_SET_PERMS, 0, "p", "n5", "r1", "r2"), "ENOSPC");
	CHECK(t_err(c5, XS_SET_PERMS, 0, "p", "n5", "r1") == NULL);
	CHECK(t_check(c0));
	t_store_close(st);
}

static void test_memory(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = open_world(&c0, &c5, &c6);
	unsigned long long n, b, room;
	char p[32], *v = malloc(2049);
	int i;

	memset(v, 'm', 2048);
	v[500] = '\0';
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "memory", "6000") == NULL);
	for (i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "m%d", i);
		if (t_write(c5, p, v))
			break;
	}
	CHECK(i > 3 && i < 15);
	CHECK_EQ_STR(t_last_err(c5), "ENOSPC");
	CHECK(t_read(c5, p) == NULL);
	usage(c0, "5", &n, &b);
	CHECK(b <= 6000);
	room = 6000 - b;
	CHECK(room < 700);
	/* growing a value counts byte for byte: one byte too many is refused,
	 * exactly the room left is not */
	v[500] = 'm';
	v[500 + room + 1] = '\0';
	CHECK_EQ_STR(t_write(c5, "m0", v), "ENOSPC");
	CHECK_EQ_INT(strlen(t_read(c5, "m0")), 500);
	v[500 + room + 1] = 'm';
	v[500 + room] = '\0';
	CHECK(t_write(c5, "m0", v) == NULL);
	usage(c0, "5", &n, &b);
	CHECK_EQ_INT(b, 6000);
	/* shrinking always works and frees room */
	CHECK(t_write(c5, "m0", "") == NULL);
	usage(c0, "5", &n, &b);
	CHECK_EQ_INT(b, 6000 - 500 - room);
	/* other domains are not affected */
	v[2000] = '\0';
	CHECK(t_write(c6, "x", v) == NULL);
	CHECK(t_write(c6, "y", v) == NULL);
	CHECK(t_write(c6, "z", v) == NULL);
	CHECK(t_check(c0));
	free(v);
	t_store_close(st);
}

static void test_dom0_exempt(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = open_world(&c0, &c5, &c6);
	char p[32];
	int i;

	/* small global defaults; dom5 gets its own, larger quotas */
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "nodes", "10") == NULL);
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "memory", "3000") == NULL);
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "nodes", "100") == NULL);
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "memory", "100000") == NULL);
	/* dom0 goes far beyond them */
	CHECK(t_err(c0, XS_MKDIR, 0, "/shared") == NULL);
	CHECK(t_err(c0, XS_SET_PERMS, 0, "/shared", "b0") == NULL);
	for (i = 0; i < 50; i++) {
		snprintf(p, sizeof(p), "/zero/n%d", i);
		CHECK(t_write(c0, p, "0123456789012345678901234567890123456789") == NULL);
	}
	/* dom5 adding a node to a directory dom0 owns grows dom0's node
	 * (its child list): dom0's usage must not count against dom5 */
	CHECK(t_write(c5, "/shared/five", "5") == NULL);
	CHECK_EQ_STR(t_read(c0, "/shared/five"), "5");
	/* dom6 follows the small global defaults */
	CHECK(t_write(c6, "/shared/six-a-long-name-to-go-over-the-memory-quota",
		      "0123456789012345678901234567890123456789012345678901234567890123456789"
		      "0123456789012345678901234567890123456789012345678901234567890123456789") ==
	      NULL);
	for (i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "s%d", i);
		if (t_write(c6, p, ""))
			break;
	}
	CHECK_EQ_STR(t_last_err(c6), "ENOSPC");
	CHECK(i < 10);
	CHECK(t_check(c0));
	t_store_close(st);
}

static void test_get_set_quota(void)
{
	struct t_conn *c0, *c5, *c6;
	struct store *st = open_world(&c0, &c5, &c6);

	/* no argument: the names */
	CHECK_EQ_INT(t_req(c0, XS_GET_QUOTA, 0, ""), XS_GET_QUOTA);
	CHECK_EQ_STR(t_reply_str(c0),
		     "nodes watches transactions node-size permissions memory outstanding");
	CHECK_EQ_INT(t_req_raw(c0, XS_GET_QUOTA, 0, NULL, 0), XS_GET_QUOTA);
	CHECK(strstr(t_reply_str(c0), "node-size") != NULL);
	/* global defaults */
	static const char *const defaults[][2] = {
		{"nodes", "1000"},     {"watches", "128"},   {"transactions", "10"},
		{"node-size", "2048"}, {"permissions", "5"}, {"memory", "2097152"},
		{"outstanding", "20"},
	};
	for (unsigned i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		CHECK(t_err(c0, XS_GET_QUOTA, 0, defaults[i][0]) == NULL);
		CHECK_EQ_STR(t_reply_str(c0), defaults[i][1]);
		CHECK(t_err(c0, XS_GET_QUOTA, 0, "5", defaults[i][0]) == NULL);
		CHECK_EQ_STR(t_reply_str(c0), defaults[i][1]);
	}
	/* a global change applies to every domain without its own value */
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "nodes", "500") == NULL);
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "6", "nodes", "7") == NULL);
	t_req(c0, XS_GET_QUOTA, 0, "nodes");
	CHECK_EQ_STR(t_reply_str(c0), "500");
	t_req(c0, XS_GET_QUOTA, 0, "5", "nodes");
	CHECK_EQ_STR(t_reply_str(c0), "500");
	t_req(c0, XS_GET_QUOTA, 0, "6", "nodes");
	CHECK_EQ_STR(t_reply_str(c0), "7");
	/* outstanding replies: what the server reads from the core */
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "outstanding", "3") == NULL);
	CHECK_EQ_INT(store_conn_outstanding_limit(c5->c), 3);
	CHECK_EQ_INT(store_conn_outstanding_limit(c6->c), 20);
	CHECK_EQ_INT(store_conn_outstanding_limit(c0->c), 0);
	/* errors */
	CHECK_EQ_STR(t_err(c0, XS_GET_QUOTA, 0, "bogus"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_GET_QUOTA, 0, "9", "nodes"), "ENOENT");
	CHECK_EQ_STR(t_err(c0, XS_GET_QUOTA, 0, "x", "nodes"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_SET_QUOTA, 0, "nodes", "x"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_SET_QUOTA, 0, "nodes", "-1"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_SET_QUOTA, 0, "bogus", "1"), "EINVAL");
	CHECK_EQ_STR(t_err(c0, XS_SET_QUOTA, 0, "9", "nodes", "1"), "ENOENT");
	t_req(c0, XS_GET_QUOTA, 0, "nodes");
	CHECK_EQ_STR(t_reply_str(c0), "500");
	/* 0 means unlimited */
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "node-size", "0") == NULL);
	{
		char *v = malloc(4001);
		memset(v, 'x', 4000);
		v[4000] = '\0';
		CHECK(t_write(c5, "huge", v) == NULL);
		free(v);
	}
	CHECK(t_check(c0));
	t_store_close(st);
}

int main(void)
{
	RUN(test_nodes_default);
	RUN(test_nodes_small);
	RUN(test_node_size);
	RUN(test_permissions_count);
	RUN(test_memory);
	RUN(test_dom0_exempt);
	RUN(test_get_set_quota);
	return tap_done();
}

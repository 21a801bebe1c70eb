/* test_tree.c — nodes and the committed tree (store/tree.h). */
#include "tap.h"
#include "store/tree.h"

#include <stdlib.h>

static const struct xs_perm perm_b0 = {0, XS_PERM_BOTH};

/* Children joined with ',' into out. */
static const char *children(const struct node *n, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *c = node_child_first(n); c; c = node_child_next(n, c))
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", o ? "," : "", c);
	return out;
}

static void test_node_new(void)
{
	struct xs_perm perms[2] = {{5, XS_PERM_NONE}, {6, XS_PERM_READ}};
	struct node *n = node_new("/a/b", "hello", 5, perms, 2);

	CHECK(n != NULL);
	CHECK_EQ_STR(n->path, "/a/b");
	CHECK_EQ_INT(n->value_len, 5);
	CHECK(memcmp(n->value, "hello", 5) == 0);
	CHECK_EQ_INT(n->nperms, 2);
	CHECK_EQ_INT(node_owner(n), 5);
	CHECK_EQ_INT(n->perms[1].domid, 6);
	CHECK_EQ_INT(n->perms[1].bits, XS_PERM_READ);
	CHECK(node_child_first(n) == NULL);
	CHECK_EQ_INT(n->children_len, 0);
	/* the node copied its inputs */
	perms[0].domid = 9;
	CHECK_EQ_INT(node_owner(n), 5);
	node_free(n);

	/* an empty value */
	n = node_new("/e", NULL, 0, &perm_b0, 1);
	CHECK(n != NULL);
	CHECK_EQ_INT(n->value_len, 0);
	node_free(n);
	node_free(NULL);
}

static void test_children(void)
{
	struct node *n = node_new("/p", NULL, 0, &perm_b0, 1);
	char s[256];

	CHECK_EQ_INT(node_add_child(n, "x"), 0);
	CHECK_EQ_INT(node_add_child(n, "yy"), 0);
	CHECK_EQ_INT(node_add_child(n, "zzz"), 0);
	CHECK_EQ_STR(children(n, s, sizeof(s)), "x,yy,zzz");
	CHECK_EQ_INT(n->children_len, 2 + 3 + 4);
	CHECK(memcmp(n->children, "x\0yy\0zzz\0", 9) == 0);

	/* removal from the middle, the end and the start keeps the order */
	CHECK(node_remove_child(n, "yy"));
	CHECK_EQ_STR(children(n, s, sizeof(s)), "x,zzz");
	CHECK(!node_remove_child(n, "yy"));
	CHECK(!node_remove_child(n, "zz")); /* a prefix of a name is not the name */
	CHECK(node_remove_child(n, "zzz"));
	CHECK_EQ_STR(children(n, s, sizeof(s)), "x");
	CHECK_EQ_INT(node_add_child(n, "w"), 0);
	CHECK(node_remove_child(n, "x"));
	CHECK_EQ_STR(children(n, s, sizeof(s)), "w");
	CHECK(node_remove_child(n, "w"));
	CHECK(node_child_first(n) == NULL);
	CHECK_EQ_INT(n->children_len, 0);

	CHECK_EQ_INT(node_set_children(n, "a\0b\0", 4), 0);
	CHECK_EQ_STR(children(n, s, sizeof(s)), "a,b");
	CHECK_EQ_INT(node_set_children(n, NULL, 0), 0);
	CHECK(node_child_first(n) == NULL);
	node_free(n);
}

static void test_dup(void)
{
	struct xs_perm perms[2] = {{3, XS_PERM_READ}, {4, XS_PERM_WRITE}};
	struct node *n = node_new("/d", "v\0w", 3, perms, 2), *d;
	char s[64];

	node_add_child(n, "c1");
	node_add_child(n, "c2");
	n->gen = 42;
	d = node_dup(n);
	CHECK(d != NULL);
	CHECK(d != n);
	CHECK_EQ_STR(d->path, "/d");
	CHECK_EQ_INT(d->value_len, 3);
	CHECK(memcmp(d->value, "v\0w", 3) == 0);
	CHECK_EQ_INT(d->nperms, 2);
	CHECK_EQ_INT(d->perms[1].domid, 4);
	CHECK_EQ_STR(children(d, s, sizeof(s)), "c1,c2");
	CHECK_EQ_INT(d->gen, 42);
	/* deep: changing the copy leaves the original alone */
	node_add_child(d, "c3");
	node_set_value(d, "zz", 2);
	d->perms[0].domid = 7;
	CHECK_EQ_STR(children(n, s, sizeof(s)), "c1,c2");
	CHECK_EQ_INT(n->value_len, 3);
	CHECK_EQ_INT(node_owner(n), 3);
	CHECK(d->path != n->path && d->children != n->children);
	node_free(d);
	node_free(n);
}

static void test_set_value_perms(void)
{
	struct node *n = node_new("/v", "a", 1, &perm_b0, 1);
	struct xs_perm p3[3] = {{1, XS_PERM_NONE}, {2, XS_PERM_READ}, {3, XS_PERM_BOTH}};
	size_t before = node_footprint(n);

	CHECK_EQ_INT(node_set_value(n, "abcdef", 6), 0);
	CHECK_EQ_INT(n->value_len, 6);
	CHECK(memcmp(n->value, "abcdef", 6) == 0);
	CHECK_EQ_INT(node_footprint(n), before + 5);
	CHECK_EQ_INT(node_set_value(n, NULL, 0), 0);
	CHECK_EQ_INT(n->value_len, 0);
	CHECK_EQ_INT(node_set_perms(n, p3, 3), 0);
	CHECK_EQ_INT(n->nperms, 3);
	CHECK_EQ_INT(node_owner(n), 1);
	CHECK_EQ_INT(n->perms[2].bits, XS_PERM_BOTH);
	node_add_child(n, "kid");
	CHECK(node_footprint(n) > before);
	node_free(n);
}

static void test_tree_basic(void)
{
	struct tree t;
	struct node *root, *a;

	CHECK_EQ_INT(tree_init(&t), 0);
	CHECK_EQ_INT(tree_count(&t), 1);
	root = tree_get(&t, "/");
	CHECK(root != NULL);
	CHECK_EQ_INT(node_owner(root), 0);
	CHECK_EQ_INT(root->perms[0].bits, XS_PERM_NONE);
	CHECK(tree_gen(&t, "/") > 0);
	CHECK_EQ_INT(tree_gen(&t, "/a"), 0);
	CHECK(tree_get(&t, "/a") == NULL);

	a = node_new("/a", "1", 1, &perm_b0, 1);
	tree_put(&t, a);
	CHECK(tree_get(&t, "/a") == a);
	CHECK_EQ_INT(tree_count(&t), 2);

	/* put replaces the node at the same path */
	tree_put(&t, node_new("/a", "2", 1, &perm_b0, 1));
	CHECK_EQ_INT(tree_count(&t), 2);
	CHECK(memcmp(tree_get(&t, "/a")->value, "2", 1) == 0);

	tree_put(&t, node_new("/a/b", NULL, 0, &perm_b0, 1));
	CHECK_EQ_INT(tree_count(&t), 3);
	/* del removes one node only */
	tree_del(&t, "/a");
	CHECK(tree_get(&t, "/a") == NULL);
	CHECK(tree_get(&t, "/a/b") != NULL);
	CHECK_EQ_INT(tree_count(&t), 2);
	tree_del(&t, "/nonexistent");
	CHECK_EQ_INT(tree_count(&t), 2);
	tree_destroy(&t);
}

static void test_generations(void)
{
	struct tree t;
	uint64_t g_root, g1, g2, g3;

	tree_init(&t);
	g_root = tree_gen(&t, "/");
	tree_put(&t, node_new("/x", NULL, 0, &perm_b0, 1));
	g1 = tree_gen(&t, "/x");
	CHECK(g1 > g_root);
	/* a changed copy put back gets a fresh, larger generation */
	struct node *c = node_dup(tree_get(&t, "/x"));
	CHECK_EQ_INT(c->gen, g1);
	node_set_value(c, "v", 1);
	tree_put(&t, c);
	g2 = tree_gen(&t, "/x");
	CHECK(g2 > g1);
	tree_put(&t, node_new("/y", NULL, 0, &perm_b0, 1));
	g3 = tree_gen(&t, "/y");
	CHECK(g3 > g2);
	CHECK_EQ_INT(tree_gen(&t, "/x"), g2); /* others keep theirs */
	/* deleted and re-created: never the old generation again */
	tree_del(&t, "/x");
	CHECK_EQ_INT(tree_gen(&t, "/x"), 0);
	tree_put(&t, node_new("/x", NULL, 0, &perm_b0, 1));
	CHECK(tree_gen(&t, "/x") > g3);
	tree_destroy(&t);
}

static void test_many_nodes(void)
{
	struct tree t;
	char p[32];
	bool ok = true;

	tree_init(&t);
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "/n%d", i);
		tree_put(&t, node_new(p, p, (uint32_t)strlen(p), &perm_b0, 1));
	}
	CHECK_EQ_INT(tree_count(&t), 5001);
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "/n%d", i);
		struct node *n = tree_get(&t, p);
		ok &= n && n->value_len == strlen(p) && memcmp(n->value, p, n->value_len) == 0;
		if (i % 2)
			tree_del(&t, p);
	}
	CHECK(ok);
	CHECK_EQ_INT(tree_count(&t), 2501);
	CHECK(tree_get(&t, "/n1") == NULL);
	CHECK(tree_get(&t, "/n2") != NULL);
	tree_destroy(&t);
}

int main(void)
{
	RUN(test_node_new);
	RUN(test_children);
	RUN(test_dup);
	RUN(test_set_value_perms);
	RUN(test_tree_basic);
	RUN(test_generations);
	RUN(test_many_nodes);
	return tap_done();
}

/* tree.c — see tree.h. */
#include "store/tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tree_init(struct tree *t)
{
	static const struct xs_perm root_perm = {0, XS_PERM_NONE};
	struct node *root;
	int r = hmap_init(&t->map, 1024);

	if (r)
		return r;
	t->gen_counter = 0;
	root = node_new("/", NULL, 0, &root_perm, 1);
	if (!root) {
		hmap_destroy(&t->map);
		return -ENOMEM;
	}
	tree_put(t, root);
	return 0;
}

void tree_destroy(struct tree *t)
{
	struct hmap_iter it;

	for (struct hmap_entry *e = hmap_first(&t->map, &it); e; e = hmap_next(&t->map, &it))
		node_free(hmap_container(e, struct node, he));
	hmap_destroy(&t->map);
}

struct node *tree_get(const struct tree *t, const char *path)
{
	struct hmap_entry *e = hmap_find(&t->map, path);

	return e ? hmap_container(e, struct node, he) : NULL;
}

uint64_t tree_gen(const struct tree *t, const char *path)
{
	struct node *n = tree_get(t, path);

	return n ? n->gen : 0;
}

void tree_put(struct tree *t, struct node *n)
{
	struct node *old = tree_get(t, n->path);

	if (old) {
		hmap_remove(&t->map, &old->he);
		node_free(old);
	}
	n->gen = ++t->gen_counter;
	n->he.key = n->path;
	hmap_insert(&t->map, &n->he);
}

void tree_del(struct tree *t, const char *path)
{
	struct node *n = tree_get(t, path);

	if (n) {
		hmap_remove(&t->map, &n->he);
		node_free(n);
	}
}

size_t tree_count(const struct tree *t)
{
	return t->map.count;
}

static void *memdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

struct node *node_new(const char *path, const void *value, uint32_t value_len,
		      const struct xs_perm *perms, uint16_t nperms)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->value = memdup(value, value_len);
	n->perms = memdup(perms, sizeof(*perms) * nperms);
	if (!n->path || !n->value || !n->perms) {
		node_free(n);
		return NULL;
	}
	n->value_len = value_len;
	n->nperms = nperms;
	n->he.key = n->path;
	return n;
}

struct node *node_dup(const struct node *src)
{
	struct node *n = node_new(src->path, src->value, src->value_len, src->perms, src->nperms);

	if (!n)
		return NULL;
	if (node_set_children(n, src->children, src->children_len)) {
		node_free(n);
		return NULL;
	}
	n->gen = src->gen;
	return n;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->value);
	free(n->perms);
	free(n->children);
	free(n);
}

int node_set_value(struct node *n, const void *value, uint32_t len)
{
	uint8_t *v = memdup(value, len);

	if (!v)
		return -ENOMEM;
	free(n->value);
	n->value = v;
	n->value_len = len;
	return 0;
}

int node_set_perms(struct node *n, const struct xs_perm *perms, uint16_t nperms)
{
	struct xs_perm *p = memdup(perms, sizeof(*perms) * nperms);

	if (!p)
		return -ENOMEM;
	free(n->perms);
	n->perms = p;
	n->nperms = nperms;
	return 0;
}

int node_set_children(struct node *n, const char *packed, uint32_t len)
{
	char *c = NULL;

	if (len) {
		c = memdup(packed, len);
		if (!c)
			return -ENOMEM;
	}
	free(n->children);
	n->children = c;
	n->children_len = len;
	return 0;
}

int node_add_child(struct node *n, const char *name)
{
	size_t l = strlen(name) + 1;
	char *c = realloc(n->children, n->children_len + l);

	if (!c)
		return -ENOMEM;
	memcpy(c + n->children_len, name, l);
	n->children = c;
	n->children_len += (uint32_t)l;
	return 0;
}

bool node_remove_child(struct node *n, const char *name)
{
	for (const char *c = node_child_first(n); c; c = node_child_next(n, c)) {
		if (strcmp(c, name) == 0) {
			size_t l = strlen(c) + 1;
			size_t off = (size_t)(c - n->children);
			memmove(n->children + off, n->children + off + l,
				n->children_len - off - l);
			n->children_len -= (uint32_t)l;
			return true;
		}
	}
	return false;
}

const char *node_child_first(const struct node *n)
{
	return n->children_len ? n->children : NULL;
}

const char *node_child_next(const struct node *n, const char *cur)
{
	const char *next = cur + strlen(cur) + 1;

	return next < n->children + n->children_len ? next : NULL;
}

size_t node_footprint(const struct node *n)
{
	return sizeof(*n) + strlen(n->path) + 1 + n->value_len +
	       (size_t)n->nperms * sizeof(struct xs_perm) + n->children_len;
}

/* ops_node.c — READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART,
 * GET_PERMS, SET_PERMS.
 *
 * Permission rules (xenstore's): reading needs read access to the node;
 * writing, removing and changing permissions need write access to it;
 * creating needs write access to the nearest existing ancestor. New nodes
 * inherit the ancestor's permissions, and an unprivileged domain owns what
 * it creates. Only a node's owner (or its target's device model, or dom0)
 * may change its permissions, and only dom0 may hand it to another owner.
 */
#include "store/ops.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct node *view_get(struct req *q, const char *path)
{
	return q->txn ? txn_get(q->txn, path) : tree_get(&q->c->st->tree, path);
}

static bool can(struct req *q, const struct node *n, unsigned bits)
{
	return (perm_for_conn(q->c, n->perms, n->nperms) & bits) == bits;
}

/* Owner rights: dom0, the owner, or a device model whose target owns it. */
static bool owns(struct req *q, const struct node *n)
{
	const struct domain *dom = domain_find(&q->c->st->doms, q->c->domid);

	return conn_privileged(q->c) || node_owner(n) == q->c->domid ||
	       (dom && node_owner(n) == dom->target);
}

static struct domain *my_domain(struct req *q)
{
	return domain_find(&q->c->st->doms, q->c->domid);
}

static void child_path(char *out, const char *parent, const char *name)
{
	snprintf(out, XS_PATH_BUF, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name);
}

static void parent_path(char *out, const char *path)
{
	size_t pl = xs_path_parent_len(path);

	memcpy(out, path, pl);
	out[pl] = '\0';
}

/* Looks up a readable node for a read-type request. */
static int get_readable(struct req *q, const char *arg, const struct node **n, char *path)
{
	int r = op_path(q, arg, path, NULL);

	if (r)
		return r;
	*n = view_get(q, path);
	if (!*n)
		return -ENOENT;
	if (!can(q, *n, XS_PERM_READ))
		return -EACCES;
	return 0;
}

int op_read(struct req *q)
{
	char path[XS_PATH_BUF];
	const struct node *n;
	int r = get_readable(q, q->r->args[0], &n, path);

	if (r)
		return r;
	return op_reply(q, n->value, n->value_len);
}

int op_directory(struct req *q)
{
	char path[XS_PATH_BUF];
	const struct node *n;
	int r = get_readable(q, q->r->args[0], &n, path);

	if (r)
		return r;
	if (n->children_len > XS_PAYLOAD_MAX)
		return -E2BIG; /* the client falls back to DIRECTORY_PART */
	return op_reply(q, n->children, n->children_len);
}

int op_directory_part(struct req *q)
{
	char path[XS_PATH_BUF], gen[24];
	const struct node *n;
	unsigned off, end;
	int r = get_readable(q, q->r->args[0], &n, path);
	size_t room;

	if (r)
		return r;
	if (parse_uint(q->r->args[1], UINT32_MAX, &off) || off > n->children_len ||
	    (off > 0 && off < n->children_len && n->children[off - 1] != '\0'))
		return -EINVAL;
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)n->gen);
	if (op_reply(q, gen, strlen(gen) + 1))
		return -ENOMEM;
	/* Whole names only, and room for the terminating empty string. */
	room = XS_PAYLOAD_MAX - strlen(gen) - 2;
	end = off;
	while (end < n->children_len) {
		size_t l = strlen(n->children + end) + 1;
		if (end - off + l > room)
			break;
		end += (unsigned)l;
	}
	/* An empty list has no buffer: NULL + 0 is undefined. */
	if (end > off && op_reply(q, n->children + off, end - off))
		return -ENOMEM;
	if (end == n->children_len && op_reply(q, "", 1))
		return -ENOMEM;
	return 0;
}

static int reply_perms(struct req *q, const struct xs_perm *perms, uint16_t n)
{
	char s[16];

	for (unsigned i = 0; i < n; i++) {
		int l = xs_perm_format(&perms[i], s, sizeof(s));
		if (op_reply(q, s, (size_t)l + 1))
			return -ENOMEM;
	}
	return 0;
}

int op_get_perms(struct req *q)
{
	char path[XS_PATH_BUF];
	const struct node *n;
	int r;

	if (xs_path_is_special(q->r->args[0])) {
		struct special *sp = store_special(q->c->st, q->r->args[0]);
		if (!sp)
			return -ENOENT;
		return reply_perms(q, sp->perms, sp->nperms);
	}
	r = get_readable(q, q->r->args[0], &n, path);
	if (r)
		return r;
	return reply_perms(q, n->perms, n->nperms);
}

/* Creates `path` and its missing ancestors in `t`; returns the node (in the
 * overlay) or NULL with *err. Needs write access to the nearest existing
 * ancestor. */
static struct node *create_path(struct req *q, struct txn *t, const char *path, int *err)
{
	char anc[XS_PATH_BUF], cur[XS_PATH_BUF], parent[XS_PATH_BUF];
	const struct node *a;
	struct xs_perm *perms;
	uint16_t nperms;
	size_t al;

	snprintf(anc, sizeof(anc), "%s", path);
	do {
		parent_path(anc, anc);
		a = txn_get(t, anc);
	} while (!a && strcmp(anc, "/") != 0);
	if (!a) {
		*err = -ENOENT;
		return NULL;
	}
	if (!can(q, a, XS_PERM_WRITE)) {
		*err = -EACCES;
		return NULL;
	}
	nperms = a->nperms;
	perms = malloc(sizeof(*perms) * nperms);
	if (!perms) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(perms, a->perms, sizeof(*perms) * nperms);
	if (!conn_privileged(q->c))
		perms[0].domid = q->c->domid;
	/* Create each missing component, top down. */
	al = strcmp(anc, "/") ? strlen(anc) : 0;
	for (;;) {
		const char *slash = strchr(path + al + 1, '/');
		size_t cl = slash ? (size_t)(slash - path) : strlen(path);
		struct node *pn, *n;

		memcpy(cur, path, cl);
		cur[cl] = '\0';
		parent_path(parent, cur);
		pn = txn_modify(t, parent, FIRE_NONE);
		n = node_new(cur, NULL, 0, perms, nperms);
		if (!pn || !n || node_add_child(pn, xs_path_basename(cur))) {
			node_free(n);
			n = NULL;
		}
		/* Only the path asked for fires (as xenstored does); parents are implied. */
		if (!n || txn_create(t, n, slash ? FIRE_NONE : FIRE_CHANGE)) {
			free(perms);
			*err = -ENOMEM;
			return NULL;
		}
		if (!slash)
			break;
		al = cl;
	}
	free(perms);
	return txn_modify(t, path, FIRE_CHANGE);
}

/* WRITE and MKDIR: `value` NULL for MKDIR (existing nodes untouched). */
static int write_node(struct req *q, const char *arg, const uint8_t *value, size_t len)
{
	char path[XS_PATH_BUF];
	struct txn *t;
	struct node *n;
	bool implicit;
	int r = op_path(q, arg, path, NULL);

	if (r)
		return r;
	if (value && !conn_privileged(q->c) &&
	    !domain_within(&q->c->st->doms, my_domain(q), Q_NODE_SIZE, len))
		return -ENOSPC;
	r = op_txn(q, &t, &implicit);
	if (r)
		return r;
	const struct node *cur = txn_get(t, path);
	if (cur) {
		/* MKDIR of an existing node is a no-op, but only for a writer:
		 * else a domain could probe for nodes it may not read. */
		if (!can(q, cur, XS_PERM_WRITE))
			return op_done(t, implicit, -EACCES);
		if (!value)
			return op_done(t, implicit, 0);
		n = txn_modify(t, path, FIRE_CHANGE);
	} else {
		n = create_path(q, t, path, &r);
		if (!n)
			return op_done(t, implicit, r ? r : -ENOMEM);
	}
	if (!n)
		return op_done(t, implicit, -ENOMEM);
	if (value && node_set_value(n, value, (uint32_t)len))
		return op_done(t, implicit, -ENOMEM);
	return op_done(t, implicit, 0);
}

int op_write(struct req *q)
{
	return write_node(q, q->r->args[0], q->r->value, q->r->value_len);
}

int op_mkdir(struct req *q)
{
	return write_node(q, q->r->args[0], NULL, 0);
}

/* Marks `path` and everything below it removed. */
static int rm_subtree(struct txn *t, const char *path, enum txn_fire fire)
{
	const struct node *n = txn_get(t, path);
	char child[XS_PATH_BUF];
	char *names;
	uint32_t len;
	int r = 0;

	if (!n)
		return 0;
	len = n->children_len;
	names = len ? malloc(len) : NULL;
	if (len && !names)
		return -ENOMEM;
	if (len)
		memcpy(names, n->children, len);
	for (uint32_t off = 0; !r && off < len; off += (uint32_t)strlen(names + off) + 1) {
		child_path(child, path, names + off);
		r = rm_subtree(t, child, FIRE_EXACT);
	}
	free(names);
	return r ? r : txn_delete(t, path, fire);
}

int op_rm(struct req *q)
{
	char path[XS_PATH_BUF], parent[XS_PATH_BUF];
	const struct node *n;
	struct txn *t;
	bool implicit;
	int r = op_path(q, q->r->args[0], path, NULL);

	if (r)
		return r;
	if (strcmp(path, "/") == 0)
		return -EINVAL;
	r = op_txn(q, &t, &implicit);
	if (r)
		return r;
	parent_path(parent, path);
	n = txn_get(t, path);
	if (!n) /* not an error unless the parent is missing too */
		return op_done(t, implicit, txn_get(t, parent) ? 0 : -ENOENT);
	if (!can(q, n, XS_PERM_WRITE))
		return op_done(t, implicit, -EACCES);
	return op_done(t, implicit, op_remove(t, path));
}

int op_remove(struct txn *t, const char *path)
{
	char parent[XS_PATH_BUF];
	struct node *pn;
	int r;

	if (!txn_get(t, path))
		return 0;
	r = rm_subtree(t, path, FIRE_CHANGE);
	if (r)
		return r;
	parent_path(parent, path);
	pn = txn_modify(t, parent, FIRE_NONE);
	if (!pn)
		return -ENOMEM;
	node_remove_child(pn, xs_path_basename(path));
	return 0;
}

static int parse_perms(struct req *q, struct xs_perm **out, uint16_t *count)
{
	unsigned n = q->r->nargs - 1;
	struct xs_perm *p;

	/* A trailing empty string is tolerated (some clients send one). */
	if (n > 1 && q->r->args[n][0] == '\0')
		n--;
	if (n == 0 || n > UINT16_MAX)
		return -EINVAL;
	if (!conn_privileged(q->c) &&
	    !domain_within(&q->c->st->doms, my_domain(q), Q_PERMISSIONS, n))
		return -ENOSPC;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		if (xs_perm_parse(q->r->args[i + 1], &p[i])) {
			free(p);
			return -EINVAL;
		}
	}
	*out = p;
	*count = (uint16_t)n;
	return 0;
}

static int set_special_perms(struct req *q, const struct xs_perm *p, uint16_t n)
{
	struct special *sp = store_special(q->c->st, q->r->args[0]);

	if (!sp)
		return -ENOENT;
	if (!conn_privileged(q->c))
		return -EACCES;
	if (n > ARRAY_SIZE(sp->perms))
		return -ENOSPC;
	memcpy(sp->perms, p, sizeof(*p) * n);
	sp->nperms = n;
	return 0;
}

int op_set_perms(struct req *q)
{
	char path[XS_PATH_BUF];
	struct xs_perm *perms;
	const struct node *cur;
	struct node *n;
	struct txn *t;
	bool implicit;
	uint16_t np;
	int r = parse_perms(q, &perms, &np);

	if (r)
		return r;
	if (xs_path_is_special(q->r->args[0])) {
		r = set_special_perms(q, perms, np);
		free(perms);
		return r;
	}
	r = op_path(q, q->r->args[0], path, NULL);
	if (!r)
		r = op_txn(q, &t, &implicit);
	if (r) {
		free(perms);
		return r;
	}
	cur = txn_get(t, path);
	if (!cur)
		r = -ENOENT;
	else if (!can(q, cur, XS_PERM_WRITE) || !owns(q, cur))
		r = -EACCES;
	else if (!conn_privileged(q->c) && perms[0].domid != node_owner(cur))
		r = -EPERM;
	else if (!(n = txn_modify(t, path, FIRE_CHANGE)) || node_set_perms(n, perms, np))
		r = -ENOMEM;
	free(perms);
	return op_done(t, implicit, r);
}

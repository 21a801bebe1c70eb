/* txn.c — transactions.
 *
 * Design
 * ------
 * Every change to the store runs in a transaction. A client's explicit
 * transaction lives from TRANSACTION_START to TRANSACTION_END; a request
 * outside any transaction gets a private one that is committed before the
 * reply. So conflict checks, quota accounting, logging, applying and watch
 * events each exist exactly once, in txn_commit().
 *
 * A transaction is an overlay: a hash map from path to an entry recording
 *   - base_gen: the node's generation when the transaction first looked at
 *     it (0 if it was absent), and
 *   - if the transaction changed it: the node's new contents (a private
 *     copy), or NULL for "removed".
 * Reading a node the transaction has not changed reads the live tree;
 * changing it copies it into the overlay first. Nothing is copied at start,
 * so starting is O(1) however large the store is.
 *
 * Conflicts (as cxenstored does, with per-node generations): a commit
 * succeeds only if every node the transaction read or wrote still has the
 * generation it had when first seen. A node's generation changes whenever
 * its value, permissions or list of children change, so:
 *
 *   T1: START; READ /a (gen 5); WRITE /a/x -> copies /a (gen 5) to add "x"
 *   T2: WRITE /a/y            -> /a gets gen 9 (child list changed)
 *   T1: END(T)                -> /a is 9, not 5: EAGAIN
 *
 *   T1: START; READ /vm/1/name (gen 3); WRITE /vm/1/state
 *   T2: WRITE /local/x        -> unrelated; nothing T1 saw changed
 *   T1: END(T)                -> commits
 *
 * A node that was absent is recorded with generation 0: if someone creates
 * it before the commit, the commit fails. Removing a subtree records every
 * node in it, so a concurrent write anywhere below conflicts too.
 *
 * Commit order: check generations, check quotas, append one log record
 * holding every change (so a crash applies all of it or none), then apply
 * to the tree in the order the changes were first made, then fire watches.
 * Any failure before "apply" leaves the tree untouched.
 */
#include "store/txn.h"
#include "store/persist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int txn_begin(struct store *st, struct conn *c, struct txn **out)
{
	struct txn *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	if (hmap_init(&t->entries, 8)) {
		free(t);
		return -ENOMEM;
	}
	t->st = st;
	t->conn = c;
	t->domid = c ? c->domid : 0;
	t->mods_tail = &t->mods;
	*out = t;
	return 0;
}

void txn_free(struct txn *t)
{
	struct hmap_iter it;

	if (!t)
		return;
	for (struct hmap_entry *e = hmap_first(&t->entries, &it); e;
	     e = hmap_next(&t->entries, &it)) {
		struct txn_entry *te = hmap_container(e, struct txn_entry, he);
		node_free(te->node);
		node_free(te->old);
		free(te->path);
		free(te);
	}
	hmap_destroy(&t->entries);
	free(t);
}

static struct txn_entry *entry_find(struct txn *t, const char *path)
{
	struct hmap_entry *e = hmap_find(&t->entries, path);

	return e ? hmap_container(e, struct txn_entry, he) : NULL;
}

/* Finds or records the entry for `path`. NULL (and t->error) on ENOMEM. */
static struct txn_entry *entry_get(struct txn *t, const char *path)
{
	struct txn_entry *te = entry_find(t, path);

	if (te)
		return te;
	te = calloc(1, sizeof(*te));
	if (te)
		te->path = strdup(path);
	if (!te || !te->path) {
		free(te);
		t->error = -ENOMEM;
		return NULL;
	}
	te->base_gen = tree_gen(&t->st->tree, path);
	te->he.key = te->path;
	hmap_insert(&t->entries, &te->he);
	t->nentries++;
	return te;
}

static void mark_modified(struct txn *t, struct txn_entry *te, enum txn_fire fire)
{
	if (!te->modified) {
		te->modified = true;
		*t->mods_tail = te;
		t->mods_tail = &te->next_mod;
	}
	if (fire != FIRE_NONE)
		te->fire = (uint8_t)fire;
}

const struct node *txn_get(struct txn *t, const char *path)
{
	struct txn_entry *te = entry_get(t, path);

	if (te && te->modified)
		return te->node;
	return tree_get(&t->st->tree, path);
}

struct node *txn_modify(struct txn *t, const char *path, enum txn_fire fire)
{
	struct txn_entry *te = entry_get(t, path);
	struct node *live;

	if (!te)
		return NULL;
	if (te->modified) {
		if (te->node)
			mark_modified(t, te, fire);
		return te->node;
	}
	live = tree_get(&t->st->tree, path);
	if (!live)
		return NULL;
	te->node = node_dup(live);
	if (!te->node) {
		t->error = -ENOMEM;
		return NULL;
	}
	mark_modified(t, te, fire);
	return te->node;
}

int txn_create(struct txn *t, struct node *n, enum txn_fire fire)
{
	struct txn_entry *te = entry_get(t, n->path);

	if (!te) {
		node_free(n);
		return -ENOMEM;
	}
	node_free(te->node);
	te->node = n;
	mark_modified(t, te, fire);
	return 0;
}

int txn_delete(struct txn *t, const char *path, enum txn_fire fire)
{
	struct txn_entry *te = entry_get(t, path);

	if (!te)
		return -ENOMEM;
	node_free(te->node);
	te->node = NULL;
	mark_modified(t, te, fire);
	return 0;
}

/* Usage change per owner, gathered before a commit is applied. */
struct delta {
	uint32_t domid;
	int64_t nodes, bytes;
};

/* `d` has room for two deltas per modified entry, so adding never fails. */
static void delta_add(struct delta *d, unsigned *n, uint32_t domid, int64_t nodes, int64_t bytes)
{
	for (unsigned i = 0; i < *n; i++) {
		if (d[i].domid == domid) {
			d[i].nodes += nodes;
			d[i].bytes += bytes;
			return;
		}
	}
	d[*n] = (struct delta){domid, nodes, bytes};
	(*n)++;
}

/* Computes usage deltas per owner and checks them against quotas for an
 * unprivileged actor. Returns 0 or -ENOSPC. */
static int check_quotas(struct txn *t, struct delta *d, unsigned *nd)
{
	struct store *st = t->st;

	*nd = 0;
	for (struct txn_entry *te = t->mods; te; te = te->next_mod) {
		const struct node *old = tree_get(&st->tree, te->path);
		if (old)
			delta_add(d, nd, node_owner(old), -1, -(int64_t)node_footprint(old));
		if (te->node)
			delta_add(d, nd, node_owner(te->node), 1,
				  (int64_t)node_footprint(te->node));
	}
	if (t->domid == 0)
		return 0;
	for (unsigned i = 0; i < *nd; i++) {
		struct domain *dom = domain_find(&st->doms, d[i].domid);
		uint64_t nodes = dom ? dom->nodes : 0, bytes = dom ? dom->bytes : 0;
		if (d[i].domid == 0)
			continue; /* dom0 has no quota, whoever grows its nodes */
		if (d[i].nodes > 0 &&
		    !domain_within(&st->doms, dom, Q_NODES, nodes + (uint64_t)d[i].nodes))
			return -ENOSPC;
		if (d[i].bytes > 0 &&
		    !domain_within(&st->doms, dom, Q_MEMORY, bytes + (uint64_t)d[i].bytes))
			return -ENOSPC;
	}
	return 0;
}

static void charge(struct store *st, uint32_t domid, int64_t nodes, int64_t bytes)
{
	struct domain *dom = domain_get(&st->doms, domid);

	if (!dom)
		return; /* cannot happen for valid domids; usage stays approximate */
	dom->nodes = (uint64_t)((int64_t)dom->nodes + nodes);
	dom->bytes = (uint64_t)((int64_t)dom->bytes + bytes);
}

int txn_commit(struct txn *t)
{
	struct store *st = t->st;
	struct delta *d;
	unsigned nd, nmods = 0;
	struct hmap_iter it;
	int r;

	if (t->error)
		return t->error;
	for (struct hmap_entry *e = hmap_first(&t->entries, &it); e;
	     e = hmap_next(&t->entries, &it)) {
		struct txn_entry *te = hmap_container(e, struct txn_entry, he);
		if (tree_gen(&st->tree, te->path) != te->base_gen) {
			st->n_conflicts++;
			return -EAGAIN;
		}
	}
	if (!t->mods)
		return 0;
	for (struct txn_entry *te = t->mods; te; te = te->next_mod)
		nmods++;
	d = calloc(2 * (size_t)nmods, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = check_quotas(t, d, &nd);
	if (r)
		goto out;
	if (st->persist && persist_commit(st->persist, t)) {
		r = -EIO;
		goto out;
	}
	for (unsigned i = 0; i < nd; i++)
		charge(st, d[i].domid, d[i].nodes, d[i].bytes);
	for (struct txn_entry *te = t->mods; te; te = te->next_mod) {
		if (te->node) {
			tree_put(&st->tree, te->node);
			te->node = NULL; /* the tree owns it now */
			continue;
		}
		te->old = tree_get(&st->tree, te->path);
		if (te->old)
			hmap_remove(&st->tree.map, &te->old->he);
	}
	st->n_commits++;
	for (struct txn_entry *te = t->mods; te; te = te->next_mod) {
		const struct node *n = te->old ? te->old : tree_get(&st->tree, te->path);
		if (te->fire != FIRE_NONE && n)
			watch_fire(st, te->path, te->fire == FIRE_EXACT, n->perms, n->nperms);
	}
out:
	free(d);
	return r;
}

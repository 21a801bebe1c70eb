/* txn.h — transactions: a private overlay on the tree, committed atomically
 * or refused with EAGAIN when something it depended on changed. Every
 * change to the store, transactional or not, goes through one (see txn.c). */
#ifndef AIRLOCK_STORE_TXN_H
#define AIRLOCK_STORE_TXN_H

#include "store/core.h"

enum txn_fire {
	FIRE_NONE = 0, /* structural change only (a parent's child list) */
	FIRE_CHANGE,   /* created, written, permissions changed, removal root */
	FIRE_EXACT,    /* removed as a descendant: only watches on this path */
};

struct txn_entry {
	struct hmap_entry he; /* key: path */
	char *path;
	uint64_t base_gen; /* generation when first seen; 0: absent */
	bool modified;	   /* the transaction changes this node */
	struct node *node; /* new contents if modified; NULL: removed */
	struct node *old;  /* after commit: the removed node, for its events */
	uint8_t fire;	   /* enum txn_fire */
	struct txn_entry *next_mod;
};

struct txn {
	uint32_t id;
	struct store *st;
	struct conn *conn; /* NULL for the store's own changes */
	uint32_t domid;	   /* acting domain: owner of what it creates, quota */
	struct hmap entries;
	unsigned int nentries;
	struct txn_entry *mods, **mods_tail;
	int error;	  /* sticky allocation failure: commit refuses */
	struct txn *next; /* connection's list */
};

/* Starts a transaction acting as `c`'s domain (dom0 when c is NULL).
 * Returns 0 or -ENOMEM. */
int txn_begin(struct store *st, struct conn *c, struct txn **out);

/* Discards the transaction and everything it holds. NULL is fine. */
void txn_free(struct txn *t);

/* The node at `path` as the transaction sees it (NULL: absent), recording
 * the read so that a concurrent change makes the commit fail. The result is
 * read-only and valid until the next call on `t` or on the tree. */
const struct node *txn_get(struct txn *t, const char *path);

/* A private, writable copy of the existing node at `path`, or NULL if it is
 * absent (or on ENOMEM, which also poisons the transaction). */
struct node *txn_modify(struct txn *t, const char *path, enum txn_fire fire);

/* Adds a new node at its path (absent in the transaction's view). Takes
 * ownership of `n` in all cases. Returns 0 or -ENOMEM. */
int txn_create(struct txn *t, struct node *n, enum txn_fire fire);

/* Marks the node at `path` removed (not its children: the caller walks
 * them). Returns 0 or -ENOMEM. */
int txn_delete(struct txn *t, const char *path, enum txn_fire fire);

/* Number of nodes the transaction changes or has seen. */
static inline unsigned int txn_size(const struct txn *t)
{
	return t->nentries;
}

/* Commits: checks that nothing read or written changed since (else
 * -EAGAIN), that the acting domain stays within its node and memory quotas
 * (else -ENOSPC), writes the changes to the log (else -EIO), applies them,
 * charges usage to owners and fires watches. On error the tree is unchanged.
 * The transaction must still be freed. */
int txn_commit(struct txn *t);

#endif

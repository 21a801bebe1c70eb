/* tree.h — the store's nodes and the committed tree.
 *
 * The tree is a hash map from absolute path to node. Structure lives in the
 * nodes themselves: each node keeps its children's names, in creation order,
 * packed as consecutive NUL-terminated strings — exactly the DIRECTORY reply.
 * A node's parent is found by path. So a node is a self-contained record
 * (path, value, permissions, children, generation): the transaction overlay
 * holds private copies of the same struct, the persistence log stores the
 * same record, and committing a transaction is replacing records.
 *
 * Every change to a node (value, permissions or its list of children) gives
 * it a fresh generation from the tree's counter; transactions compare
 * generations to detect conflicts. Generation 0 means "absent".
 */
#ifndef AIRLOCK_STORE_TREE_H
#define AIRLOCK_STORE_TREE_H

#include "common/hmap.h"
#include "xs/xs_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node {
	struct hmap_entry he; /* key: path */
	char *path;
	uint8_t *value;
	uint32_t value_len;
	uint16_t nperms; /* >= 1: perms[0] is the owner and everyone's default */
	struct xs_perm *perms;
	char *children; /* packed NUL-terminated names */
	uint32_t children_len;
	uint64_t gen;
};

struct tree {
	struct hmap map;
	uint64_t gen_counter;
};

/* Creates an empty tree holding only "/" (owned by dom0, no access for
 * others). Returns 0 or -ENOMEM. */
int tree_init(struct tree *t);

/* Frees every node. */
void tree_destroy(struct tree *t);

/* Returns the node at an absolute path, or NULL. */
struct node *tree_get(const struct tree *t, const char *path);

/* Generation of the node at `path`, 0 if absent. */
uint64_t tree_gen(const struct tree *t, const char *path);

/* Inserts `n`, replacing (and freeing) any node at the same path, and gives
 * it a fresh generation. The tree takes ownership. Never fails. */
void tree_put(struct tree *t, struct node *n);

/* Removes and frees the node at `path` only (not its children). */
void tree_del(struct tree *t, const char *path);

/* Number of nodes. */
size_t tree_count(const struct tree *t);

/* Allocates a node with the given parts and no children. `perms` must hold
 * at least one entry. Returns NULL on allocation failure. */
struct node *node_new(const char *path, const void *value, uint32_t value_len,
		      const struct xs_perm *perms, uint16_t nperms);

/* Deep copy. NULL on allocation failure. */
struct node *node_dup(const struct node *n);

/* Frees a node not in any tree. NULL is fine. */
void node_free(struct node *n);

/* Replaces the value. 0 or -ENOMEM (node unchanged). */
int node_set_value(struct node *n, const void *value, uint32_t len);

/* Replaces the permissions (nperms >= 1). 0 or -ENOMEM (unchanged). */
int node_set_perms(struct node *n, const struct xs_perm *perms, uint16_t nperms);

/* Appends a child name. 0 or -ENOMEM (unchanged). */
int node_add_child(struct node *n, const char *name);

/* Removes a child name; returns whether it was there. */
bool node_remove_child(struct node *n, const char *name);

/* Replaces the children list with a packed copy. 0 or -ENOMEM. */
int node_set_children(struct node *n, const char *packed, uint32_t len);

/* Iterates children: for (c = node_child_first(n); c; c = node_child_next(n, c)). */
const char *node_child_first(const struct node *n);
const char *node_child_next(const struct node *n, const char *cur);

/* Bytes the node costs its owner against the memory quota. */
size_t node_footprint(const struct node *n);

/* Owner domain (perms[0].domid). */
static inline uint32_t node_owner(const struct node *n)
{
	return n->perms[0].domid;
}

#endif

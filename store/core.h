/* core.h — the store core's internal structures, shared by the files of store/ only. */
#ifndef AIRLOCK_STORE_CORE_H
#define AIRLOCK_STORE_CORE_H

#include "common/buf.h"
#include "common/log.h"
#include "store/domain.h"
#include "store/store.h"
#include "store/tree.h"
#include "xs/xs_msg.h"
#include "xs/xs_path.h"

struct persist;
struct txn;

struct watch {
	struct watch *next;
	char *path; /* canonical absolute, or "@special" */
	char *token;
	bool relative; /* events are reported relative to the domain's home */
};

struct conn {
	struct store *st;
	uint32_t domid;
	const struct conn_ops *ops;
	void *data;
	struct watch *watches;
	struct txn *txns;
	struct conn *prev, *next; /* store's connection list */
	struct log_ratelimit rl;
};

/* A special node: @introduceDomain, @releaseDomain. Only its permissions
 * exist; they decide who receives its events. */
struct special {
	const char *path;
	struct xs_perm perms[8];
	uint16_t nperms;
};

struct store {
	struct tree tree;
	struct domains doms;
	struct conn *conns;
	struct persist *persist; /* NULL: in memory */
	const struct store_host_ops *host;
	void *host_ctx;
	uint32_t next_txid;
	struct special special[2];
	struct xs_req req; /* the request being handled (32 KiB: not on the stack) */
	/* statistics for CONTROL memreport */
	uint64_t n_requests, n_commits, n_conflicts, n_events;
};

/* Permission bits `c` has on a node with these permissions (owner, target
 * and privileged rules of xenstore). */
unsigned int perm_for_conn(const struct conn *c, const struct xs_perm *perms, uint16_t nperms);

/* True if the connection is dom0's. */
static inline bool conn_privileged(const struct conn *c)
{
	return c->domid == 0;
}

/* Special node by path, or NULL. */
struct special *store_special(struct store *st, const char *path);

/* watch.c: fires a change of `path` (perms decide who may see it). `exact`
 * events (a descendant removed with its ancestor) match only watches on that
 * very path. */
void watch_fire(struct store *st, const char *path, bool exact, const struct xs_perm *perms,
		uint16_t nperms);
/* Sends one WATCH_EVENT to `c` for watch `w` and event path `path`. */
void watch_send_event(struct conn *c, const struct watch *w, const char *path);
/* Drops all watches of a connection. */
void watch_drop_all(struct conn *c);

/* Sends a reply with `type` and payload. */
void conn_reply(struct conn *c, const struct xs_hdr *req, uint32_t type, const void *p, size_t len);

#endif

/* store.h — airlock-store's core: the xenstore protocol engine, without
 * sockets or an event loop.
 *
 * The core receives whole, length-checked messages from connections and
 * answers through each connection's send callback; the program around it
 * (server.c) owns sockets, the loop and buffering. The same core is driven
 * directly by the unit tests and the session fuzzer.
 */
#ifndef AIRLOCK_STORE_H
#define AIRLOCK_STORE_H

#include "xs/xs_wire.h"

#include <stdbool.h>
#include <stdint.h>

struct store;
struct conn;

enum store_sync {
	STORE_SYNC_PROCESS, /* write() before reply: survives a crash or kill -9 of the daemon */
	STORE_SYNC_POWER,   /* plus fdatasync, group-committed: survives power loss */
};

/* What the core asks of the program around it. */
struct store_host_ops {
	/* A domain was introduced (also for each domain restored at start):
	 * make its connection point. Returns 0 or -errno (the INTRODUCE fails). */
	int (*introduce)(void *ctx, uint32_t domid);
	/* A domain was released: close its connections and connection point.
	 * Must not call back into the core for those connections synchronously;
	 * close them after the current request. */
	void (*release)(void *ctx, uint32_t domid);
};

struct store_options {
	const char *state_dir; /* NULL: in memory only (tests, fuzzing) */
	enum store_sync sync;
	uint64_t compact_min_bytes; /* log size before compaction is considered; 0: 1 MiB */
	const struct store_host_ops *host;
	void *host_ctx;
};

/* How a connection's output leaves the core. `send` queues one message (the
 * header's len is the payload length). Returns 0, or -errno if the
 * connection cannot take it (the core then drops the message; the server is
 * expected to close such a connection). */
struct conn_ops {
	int (*send)(struct conn *c, const struct xs_hdr *h, const void *payload);
};

/* Opens the store: loads (and repairs, reporting what was lost) the state in
 * opts->state_dir, creating it if absent. Returns 0 and the store, or -errno
 * after logging why (unreadable directory, state of a newer format, another
 * daemon holding the lock). */
int store_open(const struct store_options *opts, struct store **out);

/* Frees everything; connections must have been freed first. */
void store_close(struct store *st);

/* Calls the host's introduce hook for every introduced domain (after
 * store_open, once the host is ready for it). Returns 0 or the first error. */
int store_restore_domains(struct store *st);

/* A new connection speaking as domain `domid` (0: privileged). NULL on
 * allocation failure. */
struct conn *store_conn_new(struct store *st, uint32_t domid, const struct conn_ops *ops,
			    void *data);

/* Ends a connection: its transactions are discarded, its watches dropped. */
void store_conn_free(struct conn *c);

/* The `data` given to store_conn_new. */
void *store_conn_data(const struct conn *c);

/* The connection's domain id. */
uint32_t store_conn_domid(const struct conn *c);

/* Handles one request. `payload` holds h->len bytes (h->len <= 4096) plus a
 * readable zero byte after them. Replies (and any watch events) go out
 * through the send callbacks before it returns. Bad requests get error
 * replies; nothing a client sends makes this fail. */
void store_conn_request(struct conn *c, const struct xs_hdr *h, const uint8_t *payload);

/* The most replies a connection may have queued before the server stops
 * reading its requests (its domain's "outstanding" quota; 0: unlimited). */
unsigned int store_conn_outstanding_limit(const struct conn *c);

/* Sets a global quota default (enum quota index) for this run, without
 * persisting it. Out-of-range indexes are ignored. */
void store_set_global_quota(struct store *st, int quota, unsigned int value);

/* Makes acknowledged changes durable as the sync mode requires; the server
 * calls it before sending any queued reply. Returns 0 or -errno (logged). */
int store_sync(struct store *st);

#endif

/* harness.h — drives the store core directly, without sockets, for the unit
 * tests.
 *
 * A test opens a store (in memory or on a directory), makes "test
 * connections" for any domain, and sends requests as lists of strings:
 *
 *   struct store *st = t_store_new();
 *   struct t_conn *c0 = t_conn_new(st, 0);
 *   CHECK(t_write(c0, "/a", "x") == NULL);          // NULL: "OK"
 *   CHECK_EQ_STR(t_read(c0, "/a"), "x");
 *   CHECK_EQ_STR(t_err(c0, XS_RM, 0, "/"), "EINVAL");
 *   t_conn_free(c0);
 *   t_store_close(st);
 *
 * Each connection keeps the reply to its last request (type and payload)
 * and queues every WATCH_EVENT it is sent, in order, until the test takes
 * them with t_next_event(). After each request the harness calls
 * store_sync(), as the server does before sending replies (set
 * tc->sync = false to look at the state between the two).
 *
 * Strings these helpers return point into the connection and stay valid
 * until its next request (or next t_next_event for event strings). Any
 * allocation failure or misuse aborts the test program: it is a test.
 */
#ifndef AIRLOCK_TESTS_HARNESS_H
#define AIRLOCK_TESTS_HARNESS_H

#include "store/store.h"
#include "store/tree.h"
#include "store/domain.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message the core sent to a test connection. */
struct t_msg {
	struct t_msg *next;
	struct xs_hdr h;
	uint8_t *payload; /* h.len bytes plus a NUL */
};

struct t_conn {
	struct store *st;
	struct conn *c;
	uint32_t domid;
	uint32_t next_req_id;
	bool sync; /* call store_sync after each request (default true) */
	/* the reply to the last request */
	uint32_t reply_type;
	uint8_t *reply; /* reply_len bytes plus a NUL; never NULL after a request */
	uint32_t reply_len;
	unsigned int nreplies; /* replies the last request produced (must be 1) */
	/* queued watch events, oldest first */
	struct t_msg *events, **events_tail;
	unsigned int nevents;
	struct t_msg *taken;	 /* the event t_next_event returned last */
	char *text;		 /* scratch for t_dir / t_perms results */
	struct t_conn *next_all; /* the harness's list of live connections */
};

/* Opens an in-memory store. Aborts on failure. */
struct store *t_store_new(void);

/* Opens a persistent store in `dir` (STORE_SYNC_PROCESS, compaction
 * threshold `compact_min`, 0 for the default). Returns the store, or NULL
 * with *err (may be NULL) set to store_open's -errno. */
struct store *t_store_open(const char *dir, uint64_t compact_min, int *err);

/* Frees every remaining test connection of `st` and closes it. */
void t_store_close(struct store *st);

/* A connection speaking as `domid`. Aborts on failure. Connections are freed
 * with t_conn_free, or by t_store_close. */
struct t_conn *t_conn_new(struct store *st, uint32_t domid);

/* Ends the connection (the core drops its watches and transactions) and
 * frees its queued events. */
void t_conn_free(struct t_conn *tc);

/* Sends a request whose payload is `len` raw bytes; returns the reply type.
 * The reply is in tc->reply / tc->reply_len. Aborts if the core answered
 * with anything but exactly one reply carrying the request's req_id. */
uint32_t t_req_raw(struct t_conn *tc, uint32_t type, uint32_t tx, const void *payload,
		   uint32_t len);

/* Sends a request whose payload is the given strings, each with its NUL
 * (at least one; the list ends at NULL, which the macro adds). Returns the
 * reply type. */
uint32_t t_req_v(struct t_conn *tc, uint32_t type, uint32_t tx, const char *arg, ...)
	__attribute__((sentinel));
#define t_req(tc, type, tx, ...) t_req_v((tc), (type), (tx), __VA_ARGS__, (const char *)NULL)

/* t_req that returns the error name if the reply was XS_ERROR, else NULL. */
const char *t_err_v(struct t_conn *tc, uint32_t type, uint32_t tx, const char *arg, ...)
	__attribute__((sentinel));
#define t_err(tc, type, tx, ...) t_err_v((tc), (type), (tx), __VA_ARGS__, (const char *)NULL)

/* The error name of the last reply, or NULL if it was not an error. */
const char *t_last_err(const struct t_conn *tc);

/* The last reply's payload as a string (it always has a NUL after it). */
const char *t_reply_str(const struct t_conn *tc);

/* WRITE `value` (its strlen bytes, no NUL) at `path`, in transaction `tx`
 * (0: none). Returns NULL on "OK", else the error name. */
const char *t_write_tx(struct t_conn *tc, uint32_t tx, const char *path, const char *value);
static inline const char *t_write(struct t_conn *tc, const char *path, const char *value)
{
	return t_write_tx(tc, 0, path, value);
}

/* READ: the value (NUL-terminated copy), or NULL on an error reply (see
 * t_last_err). */
const char *t_read_tx(struct t_conn *tc, uint32_t tx, const char *path);
static inline const char *t_read(struct t_conn *tc, const char *path)
{
	return t_read_tx(tc, 0, path);
}

/* DIRECTORY: the children joined with ',' ("" for none), or NULL on an error
 * reply. */
const char *t_dir_tx(struct t_conn *tc, uint32_t tx, const char *path);
static inline const char *t_dir(struct t_conn *tc, const char *path)
{
	return t_dir_tx(tc, 0, path);
}

/* GET_PERMS: the permissions joined with ',' ("b0,r5"), or NULL on error. */
const char *t_perms(struct t_conn *tc, const char *path);

/* TRANSACTION_START: the new id, or 0 on an error reply. */
uint32_t t_txn_start(struct t_conn *tc);

/* TRANSACTION_END: NULL if committed/aborted ("OK"), else the error name. */
const char *t_txn_end(struct t_conn *tc, uint32_t tx, bool commit);

/* INTRODUCE domid 0 0 from `tc` (which should be dom0's). NULL or error. */
const char *t_introduce(struct t_conn *tc, uint32_t domid);

/* Takes the oldest queued event: true with *path and *token (valid until
 * the next t_next_event on tc), or false if none is queued. */
bool t_next_event(struct t_conn *tc, const char **path, const char **token);

/* Takes every queued event and returns them as one string, oldest first:
 * "path|token" joined with ',' ("" if none). Valid until the next request
 * or t_events call on tc. */
const char *t_events(struct t_conn *tc);

/* Drops every queued event; returns how many there were. */
unsigned int t_drain_events(struct t_conn *tc);

/* Whether CONTROL check says "OK" (prints its findings if not). */
bool t_check(struct t_conn *tc);

/* Text rendering of a tree: one line per node, depth first in child order,
 * "path [perms] = value" (non-printable bytes as \xNN). Compares whole
 * states. The result is malloc'ed; free it. */
char *t_tree_dump(const struct tree *t);

/* Text rendering of the domain table: global quotas, then every domain that
 * is introduced, has a target or an overridden quota. malloc'ed. */
char *t_domains_dump(const struct domains *d);

/* t_tree_dump + t_domains_dump of a store. malloc'ed. */
char *t_store_dump(struct store *st);

/* Reads a whole file into a malloc'ed buffer (*len bytes plus a NUL).
 * Returns NULL if it cannot be read. */
uint8_t *t_read_file(const char *path, size_t *len);

/* Writes a whole file (created or truncated). Returns 0 or -errno. */
int t_write_file(const char *path, const void *data, size_t len);

/* A fresh temporary directory (mkdtemp) and recursive removal of one. */
char *t_tmpdir(void);
void t_rmdir(const char *dir);

#endif

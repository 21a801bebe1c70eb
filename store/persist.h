/* persist.h — the store's state on disk: one append-only log.
 *
 * File format (version 1), little-endian:
 *   header:  "ALSTORE\0" | u32 version | u32 reserved (0)
 *   records: u32 len | u32 crc32c(payload) | payload[len]
 *   payload: one or more operations, each a u8 code and its fields:
 *     1 PUT     u16 pathlen, path, u16 nperms, nperms x (u32 domid, u8 bits),
 *               u32 vlen, value, u32 clen, children (packed names)
 *     2 DEL     u16 pathlen, path
 *     3 DOMAIN  u32 domid, u8 introduced, u32 target, u8 n,
 *               n x (u8 quota, u32 value)          (replaces the record)
 *     4 GQUOTA  u8 quota, u32 value                (global default)
 * A record is the unit of atomicity: a transaction's changes are one
 * record, so replay applies all of them or none. Records are whole-node
 * upserts and deletes, so replay is independent of history; compaction
 * rewrites the file as one snapshot of PUT/DOMAIN/GQUOTA records and
 * renames it into place.
 *
 * Recovery: a record that is cut short, fails its checksum or does not parse
 * ends the replay. Everything before it is kept; the damaged tail is saved
 * beside the log (store.log.damaged-<time>) and reported, and the log is
 * rewritten clean at once.
 */
#ifndef AIRLOCK_STORE_PERSIST_H
#define AIRLOCK_STORE_PERSIST_H

#include "store/core.h"

#include <stddef.h>
#include <stdint.h>

#define PERSIST_VERSION 1u
#define PERSIST_MAGIC	"ALSTORE"

struct txn;
struct persist;

/* What loading found. */
struct persist_report {
	uint64_t records;	/* records applied */
	uint64_t good_bytes;	/* offset where the intact prefix ends */
	uint64_t damaged_bytes; /* bytes after it (0: file intact) */
	const char *damage;	/* why replay stopped (static), or NULL */
	unsigned int repaired;	/* structural fixes applied after replay */
};

/* Replays a log image into an empty tree and domain table (tree_init'ed,
 * holding only "/"), then repairs structure (orphans, dangling child names)
 * and recomputes usage. Returns 0 (check rep->damage for a cut-short tail),
 * -EINVAL if the header is not an airlock-store log, -EPROTONOSUPPORT for a
 * newer format, or -ENOMEM. A zero-length image is an empty store. */
int persist_load_buffer(struct tree *t, struct domains *d, const uint8_t *data, size_t len,
			struct persist_report *rep);

/* Opens (creating if needed) the state directory, takes its lock, loads the
 * log into st->tree and st->doms, saves any damaged tail and rewrites the
 * log clean. Returns 0 or -errno after logging the reason. */
int persist_open(struct store *st, const char *dir, enum store_sync sync, uint64_t compact_min,
		 struct persist **out);

/* Closes the log and releases the lock. */
void persist_close(struct persist *p);

/* Appends one record holding every change of `t`. Returns 0 or -errno; on
 * error the log is as before. */
int persist_commit(struct persist *p, const struct txn *t);

/* Appends a DOMAIN record for `dom` / a GQUOTA record. 0 or -errno. */
int persist_domain(struct persist *p, const struct domain *dom);
int persist_global_quota(struct persist *p, enum quota q, unsigned int value);

/* Makes appended records durable as the sync mode requires, and compacts
 * the log when it has grown past twice the last snapshot (and the minimum).
 * Returns 0 or -errno. */
int persist_sync(struct persist *p, struct store *st);

/* Rewrites the log as a snapshot of the current state. 0 or -errno. */
int persist_compact(struct persist *p, struct store *st);

/* Current log size and size after the last compaction, for reports. */
void persist_sizes(const struct persist *p, uint64_t *log_bytes, uint64_t *snapshot_bytes);

/* CRC-32C (Castagnoli) of a buffer. */
uint32_t crc32c(const void *data, size_t len);

#endif

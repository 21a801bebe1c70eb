/* xs_client.h — a small synchronous xenstore client, used by airlock's CLI,
 * the toolstack and the tests.
 *
 * One connection, one request in flight at a time. Watch events that arrive
 * while waiting for a reply are queued inside the client and returned by
 * xs_client_read_watch(). Every call returns 0 or -errno; a store error
 * reply is returned as its errno (ENOENT, EACCES, EAGAIN, ...; a name the
 * protocol does not know as EINVAL). A broken connection returns
 * -ECONNRESET (or the socket's errno, or -EPROTO for a header announcing
 * more than XS_PAYLOAD_MAX bytes) and every later call fails the same way.
 * A reply that is well framed but malformed (a bad number or permission)
 * fails only its own call, with -EPROTO.
 */
#ifndef AIRLOCK_XS_CLIENT_H
#define AIRLOCK_XS_CLIENT_H

#include "common/buf.h"
#include "xs/xs_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_DEFAULT_SOCKET "/run/airlock/store.sock"

struct xs_client;

/* The socket (or device) a client uses: $XENSTORED_PATH if set and non-empty, else
 * XS_DEFAULT_SOCKET. */
const char *xs_client_default_path(void);

/* Connects to the store at `path` (NULL: xs_client_default_path()): a
 * UNIX stream socket, or, when `path` names a character device (a stub
 * domain's virtio-serial port /dev/vportNpM, like Xen's /dev/xen/xenbus),
 * that device opened read-write and spoken to with the same protocol.
 * Returns 0 and the client in *out, or -errno. */
int xs_client_open(const char *path, struct xs_client **out);

/* Closes the connection and frees everything. NULL is fine. */
void xs_client_close(struct xs_client *c);

/* The connection's fd, to poll for watch events. */
int xs_client_fd(const struct xs_client *c);

/* True once the connection is broken (every call now fails). */
bool xs_client_is_broken(const struct xs_client *c);

/* Sends one request whose payload is the concatenation of `nparts` parts and
 * waits for its reply. On success the reply payload replaces `reply`'s
 * contents (from data[0], plus one NUL after it, not counted); `reply` may
 * be NULL to discard it. A store error reply returns -errno and leaves
 * `reply` empty. A payload over XS_PAYLOAD_MAX returns -E2BIG unsent. */
struct xs_part {
	const void *p;
	size_t len;
};
int xs_client_request(struct xs_client *c, uint32_t type, uint32_t tx_id,
		      const struct xs_part *parts, unsigned int nparts, struct buf *reply);

/* xs_client_request that also stores the reply's message type in
 * *reply_type (may be NULL). */
int xs_client_request_typed(struct xs_client *c, uint32_t type, uint32_t tx_id,
			    const struct xs_part *parts, unsigned int nparts, struct buf *reply,
			    uint32_t *reply_type);

/* Node operations; `tx` is 0 outside a transaction. */
int xs_client_read(struct xs_client *c, uint32_t tx, const char *path, struct buf *value);
int xs_client_write(struct xs_client *c, uint32_t tx, const char *path, const void *value,
		    size_t len);
int xs_client_mkdir(struct xs_client *c, uint32_t tx, const char *path);
int xs_client_rm(struct xs_client *c, uint32_t tx, const char *path);

/* Children of `path` as consecutive NUL-terminated names in `names`;
 * *count (may be NULL) gets their number. Falls back to DIRECTORY_PART
 * when the list does not fit one reply (E2BIG). */
int xs_client_directory(struct xs_client *c, uint32_t tx, const char *path, struct buf *names,
			unsigned int *count);

/* Permissions: perms[0] is the owner and everyone else's access.
 * xs_client_get_perms stores at most `max` entries and their number in
 * *count; -E2BIG if the node has more, -EPROTO if the reply holds no
 * permission or a malformed one. */
int xs_client_get_perms(struct xs_client *c, uint32_t tx, const char *path, struct xs_perm *perms,
			unsigned int max, unsigned int *count);
int xs_client_set_perms(struct xs_client *c, uint32_t tx, const char *path,
			const struct xs_perm *perms, unsigned int count);

/* Watches. xs_client_read_watch waits up to timeout_ms (-1: forever) for one
 * event and returns 0 with its path and token (NUL-terminated in the
 * buffers), or -ETIMEDOUT. */
int xs_client_watch(struct xs_client *c, const char *path, const char *token);
int xs_client_unwatch(struct xs_client *c, const char *path, const char *token);
int xs_client_read_watch(struct xs_client *c, int timeout_ms, struct buf *path, struct buf *token);
int xs_client_reset_watches(struct xs_client *c);

/* Transactions. xs_client_txn_end returns -EAGAIN when a commit lost a
 * race with another writer: the caller starts over. */
int xs_client_txn_start(struct xs_client *c, uint32_t *tx);
int xs_client_txn_end(struct xs_client *c, uint32_t tx, bool commit);

/* Domains (dom0 only). */
int xs_client_introduce(struct xs_client *c, unsigned int domid);
int xs_client_release(struct xs_client *c, unsigned int domid);
int xs_client_set_target(struct xs_client *c, unsigned int domid, unsigned int target);
int xs_client_is_introduced(struct xs_client *c, unsigned int domid, bool *yes);
int xs_client_get_domain_path(struct xs_client *c, unsigned int domid, struct buf *path);

/* Quotas: domid < 0 means the global defaults. */
int xs_client_get_quota(struct xs_client *c, int domid, const char *name, unsigned int *value);
int xs_client_set_quota(struct xs_client *c, int domid, const char *name, unsigned int value);

/* The names of the quotas the store supports, separated by blanks, in
 * `names` (GET_QUOTA without arguments). */
int xs_client_list_quotas(struct xs_client *c, struct buf *names);

/* CONTROL with `nargs` (1 to 16) string arguments, the command first; the
 * reply text in `out`, without the protocol's trailing NUL. */
int xs_client_control(struct xs_client *c, const char *const *args, unsigned int nargs,
		      struct buf *out);

#endif

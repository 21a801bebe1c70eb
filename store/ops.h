/* ops.h — request handlers, one per message type, called by the dispatcher
 * in store.c after it has checked privilege and found the transaction. */
#ifndef AIRLOCK_STORE_OPS_H
#define AIRLOCK_STORE_OPS_H

#include "store/txn.h"

struct req {
	struct conn *c;
	const struct xs_hdr *h;
	const struct xs_req *r;
	struct txn *txn;	       /* the request's explicit transaction, or NULL */
	struct buf *reply;	       /* the reply payload, once op_reply was called */
	bool has_reply;		       /* else the reply is "OK" */
	const struct watch *new_watch; /* WATCH: initial event after the reply */
};

/* Every handler returns 0 (the reply is what it gave op_reply, or "OK") or
 * -errno, sent as an ERROR reply naming the error. */
typedef int (*op_fn)(struct req *q);

/* Canonicalizes a client path for q's connection. Returns 0 or -EINVAL. */
int op_path(struct req *q, const char *in, char *out, bool *relative);

/* Starts the transaction a change runs in: the request's own, or a private
 * one (*implicit = true) that op_done commits. 0 or -errno. */
int op_txn(struct req *q, struct txn **t, bool *implicit);

/* Finishes a change: commits a private transaction if r == 0 and frees it.
 * Returns the result to send. */
int op_done(struct txn *t, bool implicit, int r);

/* Appends to the reply payload. 0 or -ENOMEM. */
int op_reply(struct req *q, const void *p, size_t len);

/* Removes `path` and its subtree in `t` and unlinks it from its parent;
 * nothing if absent. 0 or -ENOMEM. */
int op_remove(struct txn *t, const char *path);

/* Parses a domid argument (0..65535). 0 or -EINVAL. */
int op_domid(const char *s, uint32_t *out);

int op_read(struct req *q);
int op_write(struct req *q);
int op_mkdir(struct req *q);
int op_rm(struct req *q);
int op_directory(struct req *q);
int op_directory_part(struct req *q);
int op_get_perms(struct req *q);
int op_set_perms(struct req *q);
int op_watch(struct req *q);
int op_unwatch(struct req *q);
int op_reset_watches(struct req *q);
int op_txn_start(struct req *q);
int op_txn_end(struct req *q);
int op_introduce(struct req *q);
int op_release(struct req *q);
int op_is_introduced(struct req *q);
int op_get_domain_path(struct req *q);
int op_set_target(struct req *q);
int op_resume(struct req *q);
int op_get_feature(struct req *q);
int op_set_feature(struct req *q);
int op_get_quota(struct req *q);
int op_set_quota(struct req *q);
int op_control(struct req *q);

#endif

/* store.c — the store core: opening, connections, and the dispatcher.
 *
 * One table indexed by message type names each handler and its flags
 * (privileged only; uses the request's transaction). The dispatcher parses
 * the payload's shape, checks privilege, finds the transaction, calls the
 * handler and turns any error into the one ERROR reply path.
 */
#include "store/ops.h"
#include "store/persist.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	F_PRIV = 1, /* dom0 only */
	F_TXN = 2,  /* runs inside the request's transaction (tx_id) */
};

static const struct {
	op_fn fn;
	unsigned flags;
} handlers[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {op_control, F_PRIV},
	[XS_DIRECTORY] = {op_directory, F_TXN},
	[XS_READ] = {op_read, F_TXN},
	[XS_GET_PERMS] = {op_get_perms, F_TXN},
	[XS_WATCH] = {op_watch, 0},
	[XS_UNWATCH] = {op_unwatch, 0},
	[XS_TRANSACTION_START] = {op_txn_start, 0},
	[XS_TRANSACTION_END] = {op_txn_end, F_TXN},
	[XS_INTRODUCE] = {op_introduce, F_PRIV},
	[XS_RELEASE] = {op_release, F_PRIV},
	[XS_GET_DOMAIN_PATH] = {op_get_domain_path, 0},
	[XS_WRITE] = {op_write, F_TXN},
	[XS_MKDIR] = {op_mkdir, F_TXN},
	[XS_RM] = {op_rm, F_TXN},
	[XS_SET_PERMS] = {op_set_perms, F_TXN},
	[XS_IS_DOMAIN_INTRODUCED] = {op_is_introduced, 0},
	[XS_RESUME] = {op_resume, F_PRIV},
	[XS_SET_TARGET] = {op_set_target, F_PRIV},
	[XS_RESET_WATCHES] = {op_reset_watches, 0},
	[XS_DIRECTORY_PART] = {op_directory_part, F_TXN},
	[XS_GET_FEATURE] = {op_get_feature, 0},
	[XS_SET_FEATURE] = {op_set_feature, F_PRIV},
	[XS_GET_QUOTA] = {op_get_quota, F_PRIV},
	[XS_SET_QUOTA] = {op_set_quota, F_PRIV},
};

static void special_init(struct special *s, const char *path)
{
	s->path = path;
	s->perms[0] = (struct xs_perm){0, XS_PERM_NONE};
	s->nperms = 1;
}

int store_open(const struct store_options *opts, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return -ENOMEM;
	domains_init(&st->doms);
	if (tree_init(&st->tree) || !domain_get(&st->doms, 0)) {
		domains_destroy(&st->doms);
		free(st);
		return -ENOMEM;
	}
	st->host = opts->host;
	st->host_ctx = opts->host_ctx;
	st->next_txid = 1;
	special_init(&st->special[0], "@introduceDomain");
	special_init(&st->special[1], "@releaseDomain");
	if (opts->state_dir) {
		r = persist_open(st, opts->state_dir, opts->sync, opts->compact_min_bytes,
				 &st->persist);
		if (r) {
			tree_destroy(&st->tree);
			domains_destroy(&st->doms);
			free(st);
			return r;
		}
	} else {
		/* In memory: usage of the initial tree still counts. */
		struct domain *d0 = domain_get(&st->doms, 0);
		d0->nodes = 1;
		d0->bytes = node_footprint(tree_get(&st->tree, "/"));
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	while (st->conns)
		store_conn_free(st->conns);
	persist_close(st->persist);
	tree_destroy(&st->tree);
	domains_destroy(&st->doms);
	free(st);
}

int store_restore_domains(struct store *st)
{
	for (unsigned i = 1; i <= st->doms.max_id; i++) {
		struct domain *dom = st->doms.by_id[i];
		if (dom && dom->introduced && st->host && st->host->introduce) {
			int r = st->host->introduce(st->host_ctx, i);
			if (r)
				return r;
		}
	}
	return 0;
}

void store_set_global_quota(struct store *st, int quota, unsigned int value)
{
	if (quota >= 0 && quota < Q_COUNT)
		st->doms.global_quota[quota] = value;
}

int store_sync(struct store *st)
{
	return st->persist ? persist_sync(st->persist, st) : 0;
}

struct conn *store_conn_new(struct store *st, uint32_t domid, const struct conn_ops *ops,
			    void *data)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || !domain_get(&st->doms, domid)) {
		free(c);
		return NULL;
	}
	c->st = st;
	c->domid = domid;
	c->ops = ops;
	c->data = data;
	c->next = st->conns;
	if (st->conns)
		st->conns->prev = c;
	st->conns = c;
	return c;
}

void store_conn_free(struct conn *c)
{
	struct store *st = c->st;
	struct domain *dom = domain_find(&st->doms, c->domid);

	watch_drop_all(c);
	while (c->txns) {
		struct txn *t = c->txns;
		c->txns = t->next;
		txn_free(t);
		if (dom && dom->transactions)
			dom->transactions--;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		st->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

void *store_conn_data(const struct conn *c)
{
	return c->data;
}

uint32_t store_conn_domid(const struct conn *c)
{
	return c->domid;
}

unsigned int store_conn_outstanding_limit(const struct conn *c)
{
	if (conn_privileged(c))
		return 0;
	return domain_quota(&c->st->doms, domain_find(&c->st->doms, c->domid), Q_OUTSTANDING);
}

struct special *store_special(struct store *st, const char *path)
{
	for (unsigned i = 0; i < ARRAY_SIZE(st->special); i++)
		if (strcmp(st->special[i].path, path) == 0)
			return &st->special[i];
	return NULL;
}

unsigned int perm_for_conn(const struct conn *c, const struct xs_perm *perms, uint16_t nperms)
{
	const struct domain *dom;
	uint32_t target;

	if (conn_privileged(c))
		return XS_PERM_BOTH;
	dom = domain_find(&c->st->doms, c->domid);
	target = dom ? dom->target : DOMID_NONE;
	/* The owner, and a device model for its target's nodes, may do anything. */
	if (perms[0].domid == c->domid || perms[0].domid == target)
		return XS_PERM_BOTH;
	for (unsigned i = 1; i < nperms; i++)
		if (perms[i].domid == c->domid || perms[i].domid == target)
			return perms[i].bits;
	return perms[0].bits;
}

void conn_reply(struct conn *c, const struct xs_hdr *req, uint32_t type, const void *p, size_t len)
{
	struct xs_hdr h = {.type = type, .req_id = req->req_id, .tx_id = req->tx_id};

	h.len = (uint32_t)len;
	c->ops->send(c, &h, p);
}

static void reply_error(struct conn *c, const struct xs_hdr *h, int err)
{
	const char *name = xs_error_name(err);

	conn_reply(c, h, XS_ERROR, name, strlen(name) + 1);
}

int op_path(struct req *q, const char *in, char *out, bool *relative)
{
	return xs_path_canonical(in, q->c->domid, false, out, relative);
}

int op_reply(struct req *q, const void *p, size_t len)
{
	q->has_reply = true;
	return buf_append(q->reply, p, len);
}

int op_domid(const char *s, uint32_t *out)
{
	unsigned v;

	if (parse_uint(s, XS_DOMID_MAX, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* An unprivileged transaction may not hoard memory in its overlay, which
 * grows with every node it reads as well as every node it changes. */
static bool txn_over_limit(const struct conn *c, const struct txn *t)
{
	struct domain *dom = domain_find(&c->st->doms, c->domid);
	unsigned lim = domain_quota(&c->st->doms, dom, Q_NODES);

	return !conn_privileged(c) && lim && txn_size(t) > 2 * lim + 64;
}

int op_txn(struct req *q, struct txn **t, bool *implicit)
{
	if (q->txn) {
		if (txn_over_limit(q->c, q->txn))
			return -ENOSPC;
		*t = q->txn;
		*implicit = false;
		return 0;
	}
	*implicit = true;
	return txn_begin(q->c->st, q->c, t);
}

int op_done(struct txn *t, bool implicit, int r)
{
	if (!implicit)
		return r;
	if (r == 0)
		r = txn_commit(t);
	txn_free(t);
	return r;
}

static struct txn *find_txn(struct conn *c, uint32_t id)
{
	for (struct txn *t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

void store_conn_request(struct conn *c, const struct xs_hdr *h, const uint8_t *payload)
{
	/* Requests are handled one at a time: one parse area serves all. */
	struct xs_req *r = &c->st->req;
	struct buf reply = BUF_INIT;
	struct req q = {.c = c, .h = h, .r = r, .reply = &reply};
	const char *why = NULL;
	int err;

	c->st->n_requests++;
	err = xs_req_parse(h->type, payload, h->len, r, &why);
	if (!err && h->type < XS_TYPE_COUNT && !handlers[h->type].fn)
		err = -ENOSYS;
	if (err) {
		log_rl(&c->rl, LOG_LVL_DEBUG, "domain %u: %s request refused: %s", c->domid,
		       xs_type_name(h->type), why ? why : "unsupported");
		goto fail;
	}
	if ((handlers[h->type].flags & F_PRIV) && !conn_privileged(c)) {
		err = -EACCES;
		goto fail;
	}
	if (h->tx_id) {
		if (handlers[h->type].flags & F_TXN) {
			q.txn = find_txn(c, h->tx_id);
			if (!q.txn) {
				err = -ENOENT;
				goto fail;
			}
			/* Reads record nodes too; ending stays possible. */
			if (h->type != XS_TRANSACTION_END && txn_over_limit(c, q.txn)) {
				err = -ENOSPC;
				goto fail;
			}
		} else if (h->type == XS_TRANSACTION_START) {
			err = -EINVAL;
			goto fail;
		}
	}
	err = handlers[h->type].fn(&q);
	if (err)
		goto fail;
	if (!q.has_reply)
		conn_reply(c, h, h->type, "OK", 3);
	else
		conn_reply(c, h, h->type, buf_head(&reply), buf_used(&reply));
	if (q.new_watch)
		watch_send_event(c, q.new_watch, q.new_watch->path);
	buf_free(&reply);
	return;
fail:
	reply_error(c, h, -err);
	buf_free(&reply);
}

/* ops_session.c — WATCH, UNWATCH, RESET_WATCHES, TRANSACTION_START,
 * TRANSACTION_END: the per-connection state that does not survive a
 * restart. */
#include "store/ops.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct domain *my_domain(struct req *q)
{
	return domain_find(&q->c->st->doms, q->c->domid);
}

static struct watch **find_watch(struct conn *c, const char *path, const char *token)
{
	for (struct watch **wp = &c->watches; *wp; wp = &(*wp)->next)
		if (strcmp((*wp)->path, path) == 0 && strcmp((*wp)->token, token) == 0)
			return wp;
	return NULL;
}

int op_watch(struct req *q)
{
	char path[XS_PATH_BUF];
	const char *token = q->r->args[1];
	struct domain *dom = my_domain(q);
	struct watch *w;
	bool rel;
	int r = xs_path_canonical(q->r->args[0], q->c->domid, true, path, &rel);

	if (r)
		return r;
	/* Every event (a path of up to XS_ABS_PATH_MAX under the watch, and
	 * the token) must fit one message, or it could not be sent. */
	if (strlen(token) + XS_ABS_PATH_MAX + 2 > XS_PAYLOAD_MAX)
		return -EINVAL;
	if (find_watch(q->c, path, token))
		return -EEXIST;
	if (!conn_privileged(q->c) &&
	    !domain_within(&q->c->st->doms, dom, Q_WATCHES, (uint64_t)dom->watches + 1))
		return -E2BIG;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path)) || !(w->token = strdup(token))) {
		if (w)
			free(w->path);
		free(w);
		return -ENOMEM;
	}
	w->relative = rel;
	w->next = q->c->watches;
	q->c->watches = w;
	dom->watches++;
	q->new_watch = w; /* the initial event follows the reply */
	return 0;
}

int op_unwatch(struct req *q)
{
	char path[XS_PATH_BUF];
	struct watch **wp, *w;
	struct domain *dom = my_domain(q);
	int r = xs_path_canonical(q->r->args[0], q->c->domid, true, path, NULL);

	if (r)
		return r;
	wp = find_watch(q->c, path, q->r->args[1]);
	if (!wp)
		return -ENOENT;
	w = *wp;
	*wp = w->next;
	free(w->path);
	free(w->token);
	free(w);
	if (dom->watches)
		dom->watches--;
	return 0;
}

static void drop_txn(struct conn *c, struct txn *t)
{
	struct domain *dom = domain_find(&c->st->doms, c->domid);

	for (struct txn **tp = &c->txns; *tp; tp = &(*tp)->next) {
		if (*tp == t) {
			*tp = t->next;
			break;
		}
	}
	txn_free(t);
	if (dom && dom->transactions)
		dom->transactions--;
}

int op_reset_watches(struct req *q)
{
	watch_drop_all(q->c);
	while (q->c->txns)
		drop_txn(q->c, q->c->txns);
	return 0;
}

int op_txn_start(struct req *q)
{
	struct store *st = q->c->st;
	struct domain *dom = my_domain(q);
	struct txn *t;
	char id[16];
	int r;

	if (!conn_privileged(q->c) &&
	    !domain_within(&st->doms, dom, Q_TRANSACTIONS, (uint64_t)dom->transactions + 1))
		return -ENOSPC;
	r = txn_begin(st, q->c, &t);
	if (r)
		return r;
	/* Ids are unique across connections and never 0. */
	do {
		t->id = st->next_txid++;
	} while (t->id == 0);
	t->next = q->c->txns;
	q->c->txns = t;
	dom->transactions++;
	snprintf(id, sizeof(id), "%u", t->id);
	return op_reply(q, id, strlen(id) + 1);
}

int op_txn_end(struct req *q)
{
	const char *arg = q->r->args[0];
	struct txn *t = q->txn;
	int r = 0;

	if (!t)
		return -ENOENT; /* TRANSACTION_END needs a tx_id */
	if (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0)
		return -EINVAL;
	if (arg[0] == 'T')
		r = txn_commit(t);
	drop_txn(q->c, t);
	return r;
}

/* ops_control.c — CONTROL: the daemon's administrative commands.
 *
 *   help               the command list
 *   check              verifies the tree's structure and usage accounting
 *   log <level>        sets the log level (err, warn, info, debug)
 *   memreport          nodes, connections, usage and log sizes
 *   quota [<domid>]    effective quotas and usage (global or one domain)
 *   compact            rewrites the state log as a snapshot now
 *   print <text>       writes <text> to the daemon's log
 */
#include "store/ops.h"
#include "store/persist.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char help_text[] = "check\nlog <err|warn|info|debug>\nmemreport\nquota [<domid>]\n"
				"compact\nprint <text>\nhelp\n";

/* Checks every node's parent lists it and every child name exists, and that
 * per-domain node counts match the tree. Appends findings to the reply. */
static int check_tree(struct req *q)
{
	struct store *st = q->c->st;
	static uint64_t counted[XS_DOMID_MAX + 1];
	char parent[XS_PATH_BUF], child[XS_PATH_BUF];
	struct hmap_iter it;
	unsigned problems = 0;

	memset(counted, 0, sizeof(counted));
	for (struct hmap_entry *e = hmap_first(&st->tree.map, &it); e;
	     e = hmap_next(&st->tree.map, &it)) {
		const struct node *n = hmap_container(e, struct node, he);
		counted[node_owner(n)]++;
		for (const char *c = node_child_first(n); c; c = node_child_next(n, c)) {
			snprintf(child, sizeof(child), "%s%s%s", n->path,
				 strcmp(n->path, "/") ? "/" : "", c);
			if (!tree_get(&st->tree, child)) {
				buf_printf(q->reply, "missing child %s\n", child);
				problems++;
			}
		}
		if (strcmp(n->path, "/") == 0)
			continue;
		size_t pl = xs_path_parent_len(n->path);
		memcpy(parent, n->path, pl);
		parent[pl] = '\0';
		if (!tree_get(&st->tree, parent)) {
			buf_printf(q->reply, "orphan %s\n", n->path);
			problems++;
		}
	}
	for (unsigned i = 0; i <= XS_DOMID_MAX; i++) { /* all: the oracle must see strays */
		const struct domain *d = st->doms.by_id[i];
		uint64_t have = d ? d->nodes : 0;
		if (have != counted[i]) {
			buf_printf(q->reply, "domain %u: usage says %llu nodes, tree has %llu\n", i,
				   (unsigned long long)have, (unsigned long long)counted[i]);
			problems++;
		}
	}
	q->has_reply = true;
	if (problems == 0)
		return buf_printf(q->reply, "OK");
	return 0;
}

static int memreport(struct req *q)
{
	struct store *st = q->c->st;
	unsigned nconns = 0, nwatches = 0, ntxns = 0;
	uint64_t logb = 0, snapb = 0;

	for (struct conn *c = st->conns; c; c = c->next) {
		nconns++;
		for (struct watch *w = c->watches; w; w = w->next)
			nwatches++;
		for (struct txn *t = c->txns; t; t = t->next)
			ntxns++;
	}
	if (st->persist)
		persist_sizes(st->persist, &logb, &snapb);
	q->has_reply = true;
	return buf_printf(q->reply,
			  "nodes %zu\nconnections %u\nwatches %u\ntransactions %u\n"
			  "requests %llu\ncommits %llu\nconflicts %llu\nevents %llu\n"
			  "log-bytes %llu\nsnapshot-bytes %llu\n",
			  tree_count(&st->tree), nconns, nwatches, ntxns,
			  (unsigned long long)st->n_requests, (unsigned long long)st->n_commits,
			  (unsigned long long)st->n_conflicts, (unsigned long long)st->n_events,
			  (unsigned long long)logb, (unsigned long long)snapb);
}

static int quota_report(struct req *q, const char *arg)
{
	struct store *st = q->c->st;
	const struct domain *dom = NULL;
	uint32_t domid;

	if (arg) {
		if (op_domid(arg, &domid))
			return -EINVAL;
		dom = domain_find(&st->doms, domid);
		if (!dom)
			return -ENOENT;
	}
	q->has_reply = true;
	for (int i = 0; i < Q_COUNT; i++)
		buf_printf(q->reply, "%-13s %u\n", quota_name((enum quota)i),
			   domain_quota(&st->doms, dom, (enum quota)i));
	if (dom)
		buf_printf(q->reply, "used: nodes %llu memory %llu watches %u transactions %u\n",
			   (unsigned long long)dom->nodes, (unsigned long long)dom->bytes,
			   dom->watches, dom->transactions);
	return 0;
}

int op_control(struct req *q)
{
	const char *cmd = q->r->args[0];
	const char *arg = q->r->nargs > 1 && q->r->args[1][0] ? q->r->args[1] : NULL;
	int r;

	if (strcmp(cmd, "help") == 0)
		r = op_reply(q, help_text, sizeof(help_text) - 1);
	else if (strcmp(cmd, "check") == 0)
		r = check_tree(q);
	else if (strcmp(cmd, "memreport") == 0)
		r = memreport(q);
	else if (strcmp(cmd, "quota") == 0)
		r = quota_report(q, arg);
	else if (strcmp(cmd, "log") == 0) {
		enum log_level lvl;
		if (!arg || log_parse_level(arg, &lvl))
			return -EINVAL;
		log_set_level(lvl);
		return 0;
	} else if (strcmp(cmd, "compact") == 0) {
		if (!q->c->st->persist)
			return -ENOSYS;
		return persist_compact(q->c->st->persist, q->c->st) ? -EIO : 0;
	} else if (strcmp(cmd, "print") == 0) {
		log_info("%s", arg ? arg : "");
		return 0;
	} else
		return -EINVAL;
	if (r)
		return -ENOMEM;
	return op_reply(q, "", 1); /* text replies end in NUL */
}

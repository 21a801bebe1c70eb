/* ops_domain.c — INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED, GET_DOMAIN_PATH,
 * SET_TARGET, RESUME, GET/SET_FEATURE, GET/SET_QUOTA.
 *
 * airlock's form of INTRODUCE: the domain talks to the store through a
 * connection point the program makes for it (a socket per domain, see
 * server.c), so <mfn> and <evtchn> are accepted for compatibility and not
 * used. Introductions, targets and quotas are persisted: domains outlive a
 * store restart, their connections do not.
 */
#include "store/ops.h"
#include "store/persist.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMID_FIRST_RESERVED 0x7ff0u

static int save_domain(struct store *st, const struct domain *dom)
{
	if (st->persist && persist_domain(st->persist, dom))
		return -EIO;
	return 0;
}

static void fire_special(struct store *st, const char *name)
{
	struct special *sp = store_special(st, name);

	watch_fire(st, name, false, sp->perms, sp->nperms);
}

/* Parses a domid that names a real, non-dom0 domain. */
static int guest_domid(const char *s, uint32_t *out)
{
	if (op_domid(s, out) || *out == 0 || *out >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	return 0;
}

int op_introduce(struct req *q)
{
	struct store *st = q->c->st;
	struct domain *dom;
	uint32_t domid;
	long long v;
	char *end;
	int r;

	if (guest_domid(q->r->args[0], &domid))
		return -EINVAL;
	for (unsigned i = 1; i < 3; i++) { /* <mfn> <evtchn>: decimal, unused */
		v = strtoll(q->r->args[i], &end, 10);
		(void)v;
		if (end == q->r->args[i] || *end)
			return -EINVAL;
	}
	dom = domain_get(&st->doms, domid);
	if (!dom)
		return -ENOMEM;
	if (dom->introduced)
		return -EEXIST;
	if (st->host && st->host->introduce) {
		r = st->host->introduce(st->host_ctx, domid);
		if (r)
			return -EIO;
	}
	dom->introduced = true;
	if (save_domain(st, dom)) {
		dom->introduced = false;
		if (st->host && st->host->release)
			st->host->release(st->host_ctx, domid);
		return -EIO;
	}
	fire_special(st, "@introduceDomain");
	return 0;
}

/* Removes the domain's home and gives dom0 whatever else it owned. */
static int forget_nodes(struct store *st, uint32_t domid)
{
	char home[64];
	struct txn *t;
	struct hmap_iter it;
	int r = txn_begin(st, NULL, &t);

	if (r)
		return r;
	xs_path_domain_home(domid, home, sizeof(home));
	r = op_remove(t, home);
	for (struct hmap_entry *e = hmap_first(&st->tree.map, &it); !r && e;
	     e = hmap_next(&st->tree.map, &it)) {
		struct node *n = hmap_container(e, struct node, he);
		if (node_owner(n) == domid && !xs_path_is_child(n->path, home)) {
			struct node *c = txn_modify(t, n->path, FIRE_CHANGE);
			if (!c)
				r = -ENOMEM;
			else
				c->perms[0].domid = 0;
		}
	}
	if (!r)
		r = txn_commit(t);
	txn_free(t);
	return r;
}

int op_release(struct req *q)
{
	struct store *st = q->c->st;
	struct domain *dom;
	uint32_t domid;
	int r;

	if (guest_domid(q->r->args[0], &domid))
		return -EINVAL;
	dom = domain_find(&st->doms, domid);
	if (!dom || !dom->introduced)
		return -ENOENT;
	r = forget_nodes(st, domid);
	if (r)
		return r == -ENOMEM ? -ENOMEM : -EIO;
	dom->introduced = false;
	dom->target = DOMID_NONE;
	memset(dom->quota_set, 0, sizeof(dom->quota_set));
	if (save_domain(st, dom))
		log_err("domain %u: release not persisted", domid);
	if (st->host && st->host->release)
		st->host->release(st->host_ctx, domid);
	fire_special(st, "@releaseDomain");
	return 0;
}

int op_is_introduced(struct req *q)
{
	uint32_t domid;
	const struct domain *dom;

	if (op_domid(q->r->args[0], &domid))
		return -EINVAL;
	dom = domain_find(&q->c->st->doms, domid);
	return op_reply(q, dom && dom->introduced ? "T" : "F", 2);
}

int op_get_domain_path(struct req *q)
{
	char home[64];
	uint32_t domid;
	size_t l;

	if (op_domid(q->r->args[0], &domid))
		return -EINVAL;
	l = xs_path_domain_home(domid, home, sizeof(home));
	return op_reply(q, home, l + 1);
}

int op_set_target(struct req *q)
{
	struct store *st = q->c->st;
	struct domain *dom;
	uint32_t domid, target;

	if (guest_domid(q->r->args[0], &domid) || guest_domid(q->r->args[1], &target) ||
	    domid == target)
		return -EINVAL;
	dom = domain_find(&st->doms, domid);
	if (!dom || !dom->introduced)
		return -ENOENT;
	dom->target = target;
	return save_domain(st, dom);
}

int op_resume(struct req *q)
{
	uint32_t domid;
	const struct domain *dom;

	if (guest_domid(q->r->args[0], &domid))
		return -EINVAL;
	dom = domain_find(&q->c->st->doms, domid);
	return dom && dom->introduced ? 0 : -ENOENT;
}

/* No optional ring features exist for socket connections. */
int op_get_feature(struct req *q)
{
	uint32_t domid;

	if (q->r->nargs == 1 && q->r->args[0][0]) {
		if (!conn_privileged(q->c))
			return -EACCES;
		if (op_domid(q->r->args[0], &domid))
			return -EINVAL;
	}
	return op_reply(q, "0", 2);
}

int op_set_feature(struct req *q)
{
	uint32_t domid;
	unsigned v;

	if (op_domid(q->r->args[0], &domid) || parse_uint(q->r->args[1], UINT32_MAX, &v) || v)
		return -EINVAL;
	return 0;
}

int op_get_quota(struct req *q)
{
	struct store *st = q->c->st;
	const struct domain *dom = NULL;
	const char *name;
	char val[16];
	uint32_t domid;
	int qi;

	if (q->r->nargs == 0 || (q->r->nargs == 1 && !q->r->args[0][0]))
		return op_reply(q, quota_names(), strlen(quota_names()) + 1);
	if (q->r->nargs == 2) {
		if (op_domid(q->r->args[0], &domid))
			return -EINVAL;
		dom = domain_find(&st->doms, domid);
		if (!dom || !dom->introduced)
			return -ENOENT;
	}
	name = q->r->args[q->r->nargs - 1];
	qi = quota_from_name(name);
	if (qi < 0)
		return -EINVAL;
	snprintf(val, sizeof(val), "%u", domain_quota(&st->doms, dom, (enum quota)qi));
	return op_reply(q, val, strlen(val) + 1);
}

int op_set_quota(struct req *q)
{
	struct store *st = q->c->st;
	struct domain *dom = NULL;
	uint32_t domid;
	unsigned v;
	int qi;

	if (q->r->nargs == 3) {
		if (op_domid(q->r->args[0], &domid))
			return -EINVAL;
		dom = domain_find(&st->doms, domid);
		if (!dom || !dom->introduced)
			return -ENOENT;
	}
	qi = quota_from_name(q->r->args[q->r->nargs - 2]);
	if (qi < 0 || parse_uint(q->r->args[q->r->nargs - 1], UINT32_MAX, &v))
		return -EINVAL;
	if (dom) {
		dom->quota[qi] = v;
		dom->quota_set[qi] = true;
		return save_domain(st, dom);
	}
	st->doms.global_quota[qi] = v;
	if (st->persist && persist_global_quota(st->persist, (enum quota)qi, v))
		return -EIO;
	return 0;
}

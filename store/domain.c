/* domain.c — see domain.h. */
#include "store/domain.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static const char *const qnames[Q_COUNT] = {
	[Q_NODES] = "nodes",
	[Q_WATCHES] = "watches",
	[Q_TRANSACTIONS] = "transactions",
	[Q_NODE_SIZE] = "node-size",
	[Q_PERMISSIONS] = "permissions",
	[Q_MEMORY] = "memory",
	[Q_OUTSTANDING] = "outstanding",
};

static const unsigned int qdefaults[Q_COUNT] = {
	[Q_NODES] = 1000,    [Q_WATCHES] = 128,	    [Q_TRANSACTIONS] = 10, [Q_NODE_SIZE] = 2048,
	[Q_PERMISSIONS] = 5, [Q_MEMORY] = 2u << 20, [Q_OUTSTANDING] = 20,
};

void domains_init(struct domains *d)
{
	memset(d->by_id, 0, sizeof(d->by_id));
	d->max_id = 0;
	memcpy(d->global_quota, qdefaults, sizeof(qdefaults));
}

void domains_destroy(struct domains *d)
{
	for (unsigned i = 0; i <= d->max_id; i++) {
		if (d->by_id[i]) {
			free(d->by_id[i]);
			d->by_id[i] = NULL;
		}
	}
}

struct domain *domain_find(const struct domains *d, uint32_t domid)
{
	return domid < ARRAY_SIZE(d->by_id) ? d->by_id[domid] : NULL;
}

struct domain *domain_get(struct domains *d, uint32_t domid)
{
	struct domain *dom;

	if (domid >= ARRAY_SIZE(d->by_id))
		return NULL;
	dom = d->by_id[domid];
	if (dom)
		return dom;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return NULL;
	dom->domid = domid;
	dom->target = DOMID_NONE;
	dom->introduced = domid == 0;
	d->by_id[domid] = dom;
	if (domid > d->max_id)
		d->max_id = domid;
	return dom;
}

unsigned int domain_quota(const struct domains *d, const struct domain *dom, enum quota q)
{
	return dom && dom->quota_set[q] ? dom->quota[q] : d->global_quota[q];
}

bool domain_within(const struct domains *d, const struct domain *dom, enum quota q,
		   uint64_t used_plus_add)
{
	unsigned int lim = domain_quota(d, dom, q);

	return lim == 0 || used_plus_add <= lim;
}

int quota_from_name(const char *name)
{
	for (int i = 0; i < Q_COUNT; i++)
		if (strcmp(qnames[i], name) == 0)
			return i;
	return -1;
}

const char *quota_name(enum quota q)
{
	return qnames[q];
}

const char *quota_names(void)
{
	return "nodes watches transactions node-size permissions memory outstanding";
}

/* domain.h — domains as the store knows them: identity, introduction,
 * device-model targets, quotas and what each domain uses.
 *
 * A domain record exists for every domid that owns nodes or was
 * introduced; dom0 always exists and is privileged. Usage (nodes, bytes) is
 * charged to a node's owner, whoever created it; watches and transactions
 * to the domain whose connection holds them. Quota value 0 means unlimited.
 */
#ifndef AIRLOCK_STORE_DOMAIN_H
#define AIRLOCK_STORE_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

enum quota {
	Q_NODES,	/* nodes owned */
	Q_WATCHES,	/* watches held */
	Q_TRANSACTIONS, /* transactions open */
	Q_NODE_SIZE,	/* bytes in one node's value */
	Q_PERMISSIONS,	/* entries in one node's permission list */
	Q_MEMORY,	/* bytes of nodes owned */
	Q_OUTSTANDING,	/* replies queued but not yet read, per connection */
	Q_COUNT
};

#define DOMID_NONE UINT32_MAX

struct domain {
	uint32_t domid;
	bool introduced;
	uint32_t target; /* DOMID_NONE, or the domain this one is device model for */
	unsigned int quota[Q_COUNT];
	bool quota_set[Q_COUNT]; /* overridden by SET_QUOTA (else follows global) */
	uint64_t nodes, bytes;
	unsigned int watches, transactions;
};

struct domains {
	struct domain *by_id[65536];
	unsigned int max_id; /* no record above it: loops stop here */
	unsigned int global_quota[Q_COUNT];
};

/* cxenstored's defaults: 1000 nodes, 128 watches, 10 transactions, 2048
 * bytes per value, 5 permissions, 2 MiB, 20 outstanding replies. */
void domains_init(struct domains *d);
void domains_destroy(struct domains *d);

/* Returns the record for `domid`, creating it (not introduced) if needed;
 * NULL on allocation failure or domid > 65535. */
struct domain *domain_get(struct domains *d, uint32_t domid);

/* Returns the record if it exists, else NULL. */
struct domain *domain_find(const struct domains *d, uint32_t domid);

/* Effective quota value of a domain (its own or the global default). */
unsigned int domain_quota(const struct domains *d, const struct domain *dom, enum quota q);

/* Quota names on the wire ("nodes", "watches", ...); -1 if unknown. */
int quota_from_name(const char *name);
const char *quota_name(enum quota q);

/* All quota names separated by blanks. */
const char *quota_names(void);

/* True if `used + add` stays within the domain's quota `q` (or no quota). */
bool domain_within(const struct domains *d, const struct domain *dom, enum quota q,
		   uint64_t used_plus_add);

#endif

/* domstore.h — the toolstack's records of domains in the store.
 *
 * Layout (as xl keeps it, plus airlock's own subtree):
 *   /local/domain/<id>/name, domid, vm (-> /vm/<uuid>), state,
 *                     memory/target (KiB), console/{log,socket}
 *   /local/domain/<id>/airlock/{owner-pid, owner-start, boot-id, run-dir,
 *                               placement, vcpus, memory-mib, start-time}
 *   /vm/<uuid>/{name, uuid, memory, vcpus, start_time, placement}
 *
 * A domain is alive while its owner — the supervisor, or the CLI between
 * registering it and handing it over — runs: the record names the owner's
 * pid, its start time (from /proc/<pid>/stat) and the host's boot id, so a
 * reused pid or a host reboot cannot pass for it. Records whose owner is
 * gone are ghosts; domstore_reconcile() removes them, and every listing
 * reconciles first, so `airlock list` never shows a ghost.
 */
#ifndef AIRLOCK_DOMSTORE_H
#define AIRLOCK_DOMSTORE_H

#include "xs/xs_client.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DOM_NAME_MAX 64
#define DOMID_LAST   0x7fefu /* below Xen's reserved DOMID_FIRST_RESERVED */

struct dom_record {
	unsigned int domid;
	char name[DOM_NAME_MAX + 1];
	char uuid[37];
	char state[24];
	char placement[24];
	char run_dir[256];
	unsigned long memory_mib;
	unsigned int vcpus;
	pid_t owner_pid;
	uint64_t owner_start;
	char boot_id[40];
	uint64_t start_time; /* unix seconds */
};

/* What registering a new domain writes. */
struct dom_new {
	const char *name;
	const char *uuid;
	const char *placement;
	const char *run_dir_base; /* run dir becomes <base>/<domid> */
	unsigned long memory_mib;
	unsigned int vcpus;
};

/* Registers a domain race-free: inside a store transaction it checks that
 * no live domain has the name, takes the lowest free domid and writes the
 * records, with the calling process as owner; retried on EAGAIN. Returns
 * 0 and the domid / run dir in *out, -EEXIST if the name is taken, or
 * -errno from the store. */
int domstore_register(struct xs_client *c, const struct dom_new *nw, struct dom_record *out);

/* Makes `pid` the domain's owner (the supervisor takes over). 0 or -errno. */
int domstore_set_owner(struct xs_client *c, unsigned int domid, pid_t pid);

/* Writes /local/domain/<domid>/<rel> = value. 0 or -errno. */
int domstore_set(struct xs_client *c, unsigned int domid, const char *rel, const char *value);

/* Reads one domain's record. 0, -ENOENT, or -errno. */
int domstore_get(struct xs_client *c, unsigned int domid, struct dom_record *out);

/* Finds a domain by name or numeric id. 0, -ENOENT or -errno. */
int domstore_find(struct xs_client *c, const char *name_or_id, struct dom_record *out);

/* All registered domains (dom0 excluded), ghosts removed first. The caller
 * frees *recs. 0 or -errno. */
int domstore_list(struct xs_client *c, struct dom_record **recs, unsigned int *n);

/* Removes a domain's records (/local/domain/<id> and its /vm/<uuid>).
 * 0 or -errno; a domain already gone is not an error. */
int domstore_remove(struct xs_client *c, unsigned int domid);

/* True if the record's owner process is still the one that registered it. */
bool domstore_alive(const struct dom_record *r);

/* Releases what a ghost left behind: kills its engine (if the recorded pid
 * still is that engine) and whatever remains in its cgroup, and removes its
 * run directory. The records themselves stay (domstore_remove). */
void domstore_reap(struct xs_client *c, const struct dom_record *rec);

/* Removes every ghost, reaping what it left; *removed (may be NULL) counts them. 0 or -errno. */
int domstore_reconcile(struct xs_client *c, unsigned int *removed);

/* This host's boot id, and a process's start time in clock ticks since
 * boot (0 if it does not exist). */
const char *domstore_boot_id(void);
uint64_t domstore_proc_start(pid_t pid);

#endif

/* sup.h — the per-domain supervisor. */
#ifndef AIRLOCK_SUP_H
#define AIRLOCK_SUP_H

#include "cfg/domcfg.h"

#include <stdbool.h>

/* What `airlock create` decided and hands over with the config. */
struct sup_params {
	unsigned int domid;
	char uuid[37];
	const char *accel; /* "tcg" or "kvm" */
	bool deny_elevate; /* -sandbox elevateprivileges=deny works with -runas */
	const char *run_dir;
	int ready_fd; /* gets "ok" or "err <why>" once; -1: nobody waits */
};

/* Runs the domain until it ends and everything it owned is released.
 * Returns the process exit status. */
int sup_run(const struct dom_config *cfg, const struct sup_params *p);

#endif

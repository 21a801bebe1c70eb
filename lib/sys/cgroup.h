/* cgroup.h — one control group per domain, on cgroup v1 and v2 hosts.
 *
 * A domain's engine (and later its device model) runs in its own group with
 * memory, CPU and pids limits. The host decides the layout:
 *
 *   - v2 (most hosts): one unified tree with cgroup.controllers at its root.
 *     Domain groups live in ROOT/airlock/NAME; creating the first one
 *     enables +memory +cpu +pids in ROOT's and ROOT/airlock's
 *     cgroup.subtree_control (v2 lets only a group without processes pass
 *     controllers down, so airlock's groups hang off the root, not off the
 *     caller's own group).
 *   - v1 (these machines): one tree per controller, ROOT/memory, ROOT/cpu,
 *     ROOT/pids. Domain groups live in ROOT/CTRL/SELF/airlock/NAME in each,
 *     where SELF is the caller's own group in that tree (/proc/self/cgroup),
 *     so a toolstack that was started inside a limited group stays inside
 *     it. A v2 mount beside them without controllers (ROOT/unified) is
 *     noted and otherwise ignored.
 *
 * cgroup_host_detect() only reads; cgroup_create() is the first call that
 * writes. The root is a parameter so that tests can point the library at a
 * fake tree of plain directories; `fs` lets such a test stand in for what
 * the kernel does on mkdir/rmdir (create or drop the interface files).
 * Every call returns 0 or -errno.
 */
#ifndef AIRLOCK_CGROUP_H
#define AIRLOCK_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
#define CGROUP_PARENT	    "airlock"
#define CGROUP_NAME_MAX	    64
#define CGROUP_PATH_MAX	    512
/* cpu_percent is a share of one CPU: 100 = one full CPU, 250 = 2.5 CPUs. */
#define CGROUP_CPU_PERIOD_US 100000

enum cgroup_mode {
	CGROUP_MODE_NONE = 0, /* no usable cgroup filesystem */
	CGROUP_MODE_V1,
	CGROUP_MODE_V2,
};

/* The controllers airlock sets limits with. */
enum cgroup_ctrl {
	CGROUP_CTRL_MEMORY = 0,
	CGROUP_CTRL_CPU,
	CGROUP_CTRL_PIDS,
	CGROUP_CTRL_COUNT,
};

/* How the library creates and removes group directories. The default
 * (fs == NULL) is mkdir(2)/rmdir(2); a fake tree's functions must also
 * create the interface files the kernel would, and remove them. */
struct cgroup_fs_ops {
	int (*mkdir)(const char *path, void *data); /* 0 or -errno */
	int (*rmdir)(const char *path, void *data); /* 0 or -errno */
	void *data;
};

/* What cgroup_host_detect found. Plain data: copy it freely. */
struct cgroup_host {
	enum cgroup_mode mode;
	char root[CGROUP_PATH_MAX];
	/* The directory domain groups are made in, per controller
	 * (ROOT/airlock on v2, the same for all three); "" for a controller
	 * that is missing or read-only. */
	char base[CGROUP_CTRL_COUNT][CGROUP_PATH_MAX];
	unsigned usable; /* bit (1u << CGROUP_CTRL_x): airlock can limit it */
	/* Every controller the host offers, space-separated ("cpu memory
	 * pids ..."), for `airlock info`. */
	char controllers[256];
	/* A human-readable note ("v2 mount at /sys/fs/cgroup/unified has no
	 * controllers"), or "". */
	char note[CGROUP_PATH_MAX + 256];
	const struct cgroup_fs_ops *fs; /* NULL: the kernel's */
};

struct cgroup;

/* The controller's name ("memory", "cpu", "pids"). */
const char *cgroup_ctrl_name(enum cgroup_ctrl c);

/* "v1", "v2" or "none". */
const char *cgroup_mode_name(enum cgroup_mode m);

/* Looks at the cgroup filesystem under `root` (NULL: CGROUP_DEFAULT_ROOT,
 * and on v1 the caller's own groups from /proc/self/cgroup; a given root is
 * used as is, with no own-group nesting) and fills *out. Writes nothing.
 * Returns 0 (mode CGROUP_MODE_NONE when no hierarchy is usable, with the
 * reason in note) or -EINVAL for a root too long. */
int cgroup_host_detect(const char *root, struct cgroup_host *out);

/* Creates the group `name` (letters, digits, '-', '_', '.', not starting
 * with '.', at most CGROUP_NAME_MAX bytes) in every usable controller and
 * returns its handle in *out. Returns -EINVAL for a bad name, -EOPNOTSUPP
 * when the host has no usable controller, -EEXIST when the group is already
 * there (a stale group: cgroup_open it and cgroup_destroy it), or another
 * -errno; on failure nothing is left behind but the shared parent. */
int cgroup_create(const struct cgroup_host *host, const char *name, struct cgroup **out);

/* Opens an existing group (found in at least one usable controller) without
 * changing it, e.g. to clean up after a crash. Returns 0, -ENOENT, or
 * another -errno. */
int cgroup_open(const struct cgroup_host *host, const char *name, struct cgroup **out);

/* The group's name, and a bitmask of the controllers it has. */
const char *cgroup_name(const struct cgroup *cg);
unsigned cgroup_ctrls(const struct cgroup *cg);

/* The group's directory for a controller, or NULL if it lacks it. */
const char *cgroup_dir(const struct cgroup *cg, enum cgroup_ctrl c);

/* Sets the limits; 0 means "no limit" for each. mem_bytes is rounded down
 * to a page by v1. Returns -EOPNOTSUPP (nothing written) if a non-zero
 * limit needs a controller the group lacks, else 0 or the first write's
 * -errno (earlier limits stay set). */
int cgroup_set_limits(struct cgroup *cg, uint64_t mem_bytes, unsigned cpu_percent, unsigned pids);

/* Reads the limits back (0 = none, or controller missing). Any pointer may
 * be NULL. Returns 0, or -errno / -EPROTO for a value it cannot parse. */
int cgroup_get_limits(const struct cgroup *cg, uint64_t *mem_bytes, unsigned *cpu_percent,
		      unsigned *pids);

/* Moves process `pid` (all its threads) into the group in every
 * controller. Returns 0 or -errno (it may be in some controllers then). */
int cgroup_attach(struct cgroup *cg, pid_t pid);

/* Lists the processes in the group (the union over its controllers, each
 * pid once) in a malloc'd array the caller frees. Returns 0 with *pids
 * (NULL when *n is 0) and *n, or -errno. */
int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n);

/* Kills every process in the group: v2's cgroup.kill when there is one,
 * then SIGKILL to each listed process, repeated until only zombies (or
 * nothing) remain, for at most timeout_ms. Returns 0, -ETIMEDOUT if live
 * processes remain, or -errno. */
int cgroup_kill_all(struct cgroup *cg, unsigned timeout_ms);

/* Kills what is left (cgroup_kill_all, 1 s), removes the group's
 * directories and the shared parent if it is now empty, and frees the
 * handle, which is gone whatever the result. Returns 0 or the first -errno
 * (a directory that could not be removed stays; cgroup_open finds it). */
int cgroup_destroy(struct cgroup *cg);

/* Frees the handle and leaves the group as it is. NULL is fine. */
void cgroup_free(struct cgroup *cg);

#endif

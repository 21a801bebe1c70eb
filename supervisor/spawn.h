/* spawn.h — starting a helper process of the domain (the engine, the device
 * model) with exactly the file descriptors it is meant to have. */
#ifndef AIRLOCK_SUP_SPAWN_H
#define AIRLOCK_SUP_SPAWN_H

#include <sys/types.h>

struct spawn_opts {
	const int *keep; /* fds the child gets, under the same numbers */
	unsigned int nkeep;
	int log_fd;	 /* becomes the child's stderr (-1: inherit) */
	const char *cwd; /* working directory (NULL: unchanged) */
	/* Runs in the child first (e.g. to join the domain's cgroup; it may
	 * _exit). NULL: nothing. */
	void (*in_child)(void *data);
	void *data;
	/* The uid and gid the child runs as (both 0: unchanged). Set after
	 * in_child (which may need root), with supplementary groups cleared and
	 * NoNewPrivs, so that the child holds no capability and cannot regain
	 * one through exec. */
	uid_t uid;
	gid_t gid;
};

/* Forks and execs argv[0] (PATH searched) with stdin and stdout on
 * /dev/null, stderr on log_fd, the kept fds inheritable and every other fd
 * closed, as o->uid/o->gid when they are set. Returns the child's pid or
 * -errno (fork failed); a failed chdir or identity change shows as the
 * child exiting with status 126, an exec failure as 127. */
pid_t spawn_proc(char **argv, const struct spawn_opts *o);

#endif

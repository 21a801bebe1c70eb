/* spawn.c — see spawn.h. */
#include "supervisor/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static bool kept(const struct spawn_opts *o, int fd)
{
	if (fd == o->log_fd)
		return true;
	for (unsigned int i = 0; i < o->nkeep; i++)
		if (o->keep[i] == fd)
			return true;
	return false;
}

/* In the child: clear close-on-exec on the kept fds, close all others
 * (opendir is not async-signal-safe, but the supervisor is single-
 * threaded). */
static void child_fds(const struct spawn_opts *o)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int dfd = d ? dirfd(d) : -1;

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dfd || fd <= 2)
			continue;
		if (kept(o, fd))
			fcntl(fd, F_SETFD, 0);
		else
			close(fd);
	}
	if (d)
		closedir(d);
}

pid_t spawn_proc(char **argv, const struct spawn_opts *o)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	if (o->in_child)
		o->in_child(o->data);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	if (o->log_fd >= 0)
		dup2(o->log_fd, 2);
	child_fds(o);
	if (o->cwd && chdir(o->cwd) < 0)
		_exit(126);
	if (o->uid || o->gid) {
		/* The program is opened while still root: the new uid need not
		 * be able to traverse the path to it (a build tree in a 0700
		 * directory). */
		int xfd = strchr(argv[0], '/') ? open(argv[0], O_PATH | O_CLOEXEC) : -1;
		/* Groups first and the uid last: each step needs the privilege
		 * the next one drops. */
		if (setgroups(0, NULL) < 0 || setgid(o->gid) < 0 || setuid(o->uid) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(126);
		if (xfd >= 0) {
			fexecve(xfd, argv, environ);
			_exit(127);
		}
	}
	execvp(argv[0], argv);
	_exit(127);
}

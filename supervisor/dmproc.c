/* dmproc.c — see dmproc.h. */
#include "supervisor/dmproc.h"
#include "supervisor/argv.h"
#include "supervisor/spawn.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A listening socket at path that only uid:gid (and root) may connect to. */
static int listen_at(const char *path, uid_t uid, gid_t gid)
{
	int fd = unix_listen(path, 4), r;

	if (fd < 0)
		return fd;
	if (chown(path, uid, gid) < 0 || chmod(path, 0600) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	return fd;
}

int dmproc_listen(struct dmproc_dev *devs, unsigned int n, const char *dir, uid_t uid, gid_t gid)
{
	unsigned int nblk = 0, nnet = 0;
	char path[512];

	for (unsigned int i = 0; i < n; i++)
		devs[i].listen_fd = -1;
	for (unsigned int i = 0; i < n; i++) {
		struct dmproc_dev *d = &devs[i];
		snprintf(d->sock_name, sizeof(d->sock_name), "dm-%s%u.sock", d->net ? "net" : "blk",
			 d->net ? nnet++ : nblk++);
		snprintf(path, sizeof(path), "%s/%s", dir, d->sock_name);
		d->listen_fd = listen_at(path, uid, gid);
		if (d->listen_fd < 0) {
			int r = d->listen_fd;
			dmproc_unlisten(devs, i, dir);
			return r;
		}
	}
	return 0;
}

void dmproc_unlisten(struct dmproc_dev *devs, unsigned int n, const char *dir)
{
	char path[512];

	for (unsigned int i = 0; i < n; i++) {
		if (devs[i].listen_fd < 0)
			continue;
		close(devs[i].listen_fd);
		devs[i].listen_fd = -1;
		snprintf(path, sizeof(path), "%s/%s", dir, devs[i].sock_name);
		unlink(path);
	}
}

int dmproc_argv(const char *binary, const struct dmproc_dev *devs, unsigned int n, char ***argv)
{
	struct argv_b a = {0};

	argv_add(&a, "%s", binary);
	for (unsigned int i = 0; i < n; i++) {
		const struct dmproc_dev *d = &devs[i];
		char mtu[16] = "";
		if (!d->net && strchr(d->file, ',')) {
			argv_free(a.v); /* the --device grammar cannot carry a ',' */
			return -EINVAL;
		}
		argv_add(&a, "--device");
		if (d->net) {
			if (d->mtu)
				snprintf(mtu, sizeof(mtu), ",mtu=%u", d->mtu);
			argv_add(&a, "net,fd=%d,%s=%d,mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
				 d->listen_fd, d->tap_fd >= 0 ? "tap-fd" : "stream-fd",
				 d->tap_fd >= 0 ? d->tap_fd : d->stream_fd, d->mac[0], d->mac[1],
				 d->mac[2], d->mac[3], d->mac[4], d->mac[5], mtu);
		} else {
			argv_add(&a, "blk,fd=%d,file=%s%s", d->listen_fd, d->file,
				 d->read_only ? ",read-only=on" : "");
		}
	}
	if (a.oom) {
		argv_free(a.v);
		return -ENOMEM;
	}
	*argv = a.v;
	return 0;
}

pid_t dmproc_spawn(char **argv, const struct dmproc_dev *devs, unsigned int n, int log_fd,
		   void (*in_child)(void *), void *data)
{
	int keep[2 * DMPROC_MAX_DEVS];
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && i < DMPROC_MAX_DEVS; i++) {
		keep[k++] = devs[i].listen_fd;
		if (devs[i].net)
			keep[k++] = devs[i].tap_fd >= 0 ? devs[i].tap_fd : devs[i].stream_fd;
	}
	struct spawn_opts o = {
		.keep = keep,
		.nkeep = k,
		.log_fd = log_fd,
		.in_child = in_child,
		.data = data,
	};
	return spawn_proc(argv, &o);
}

/* dmproc.h — airlock-dm as a host process of the domain (placement
 * "airlock", the seed's "device model in dom0").
 *
 * The supervisor makes one listening UNIX socket per device in the engine's
 * chroot directory (dm-blkN.sock, dm-netN.sock, owned by the engine's uid)
 * and keeps them for the domain's lifetime: airlock-dm gets copies with
 * --device ...,fd=N, so when it dies and is restarted the paths never
 * disappear and the engine's reconnect=1 finds them again.
 */
#ifndef AIRLOCK_SUP_DMPROC_H
#define AIRLOCK_SUP_DMPROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DMPROC_MAX_DEVS 32

struct dmproc_dev {
	bool net;	  /* else blk */
	const char *file; /* blk: the raw image */
	bool read_only;	  /* blk */
	int tap_fd;	  /* net: the tap (IFF_VNET_HDR), or -1 */
	int stream_fd;	  /* net: a connected passt socket, or -1 */
	uint8_t mac[6];	  /* net */
	unsigned int mtu; /* net: 0 = unset */
	/* Filled by dmproc_listen: */
	int listen_fd;
	char sock_name[24]; /* relative to the directory given to dmproc_listen */
};

/* Creates the listening socket of every device in dir, owned by uid:gid
 * mode 0600 (only the engine and root may connect). Returns 0 or -errno
 * (sockets made so far are closed and unlinked). */
int dmproc_listen(struct dmproc_dev *devs, unsigned int n, const char *dir, uid_t uid, gid_t gid);

/* Closes and unlinks the sockets made by dmproc_listen. */
void dmproc_unlisten(struct dmproc_dev *devs, unsigned int n, const char *dir);

/* Builds airlock-dm's argv: binary, one --device per device (the listening
 * socket and tap/stream fds by number). NULL-terminated, malloc'd; free
 * with argv_free (supervisor/argv.h). Returns 0, -EINVAL (a disk path
 * with a ',') or -ENOMEM. */
int dmproc_argv(const char *binary, const struct dmproc_dev *devs, unsigned int n, char ***argv);

/* Starts airlock-dm with argv, keeping exactly the devices' fds; stderr on
 * log_fd; in_child(data) runs first in the child (cgroup). Returns the pid
 * or -errno. */
pid_t dmproc_spawn(char **argv, const struct dmproc_dev *devs, unsigned int n, int log_fd,
		   void (*in_child)(void *), void *data);

#endif

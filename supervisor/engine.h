/* engine.h — the engine: one QEMU process per guest, started with only the
 * devices the config asks for and nothing it could use to reach further
 * than the device model can.
 *
 * Privilege: the engine is started as root only so that it can open what
 * it needs (its RAM by /proc/self/fd, disk images, kernel) and chroot; it
 * then runs in an empty directory (-chroot) as the domain's own uid and gid
 * (-runas), under seccomp (-sandbox on: obsolete, spawn and resourcecontrol
 * denied; elevateprivileges denied where the QEMU build allows it together
 * with -runas — QEMU 7.2 applies the filter before dropping its uid and
 * kills itself with SIGSYS, so the host probe decides), in its own cgroup.
 * Every channel to it is a file descriptor the supervisor made: the QMP
 * and serial sockets are socketpairs, taps are open fds, RAM is a memfd.
 */
#ifndef AIRLOCK_SUP_ENGINE_H
#define AIRLOCK_SUP_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/argv.h"

#define ENG_MAX_NICS 16

struct eng_disk {
	/* Set when airlock-dm serves the disk: the engine connects to this
	 * vhost-user socket (a path relative to cwd) instead of opening path. */
	const char *vhost_sock;
	unsigned int num_queues; /* vhost-user-blk request queues (0: 1) */
	const char *path;
	const char *format; /* "raw", "qcow2", ... */
	bool readonly;
	bool cdrom;
};

struct eng_nic {
	const char *vhost_sock; /* served by airlock-dm: its socket (relative); or NULL */
	bool msix;		/* vhost_sock: the NIC may use MSI-X (else INTx) */
	int tap_fd;		/* a tap, or -1 */
	int stream_fd;		/* else a connected stream socket (passt), or -1 */
	uint8_t mac[6];
	const char *model; /* "virtio-net-pci" (default), "e1000" */
};

struct eng_spec {
	const char *qemu;
	const char *name;
	const char *uuid;
	const char *accel; /* "tcg" or "kvm" */
	unsigned int vcpus;
	uint64_t mem_mib;
	int ram_fd, qmp_fd, serial_fd;
	const char *kernel, *initrd, *cmdline; /* direct boot when kernel != NULL */
	const struct eng_disk *disks;
	unsigned int ndisks;
	const struct eng_nic *nics;
	unsigned int nnics;
	const char *chroot_dir;
	/* The engine's working directory (NULL: unchanged). Relative vhost-user
	 * socket paths resolve here before the chroot and, after it, in the
	 * chroot's root: so cwd is the chroot directory. */
	const char *cwd;
	uid_t uid;
	gid_t gid;
	bool deny_elevate; /* elevateprivileges=deny works with -runas here */
};

/* Appends what begins every QEMU the supervisor starts (the engine and a
 * stub domain's): the binary, -name guest=<name>,debug-threads=on,
 * -uuid <uuid> when uuid is set and not empty, and no default devices,
 * user config or display. */
void engine_argv_head(struct argv_b *a, const char *qemu, const char *name, const char *uuid);

/* Appends what confines every QEMU the supervisor starts: seccomp
 * (obsolete, spawn and resourcecontrol denied; elevateprivileges denied
 * when deny_elevate), -chroot chroot_dir and -runas uid:gid. */
void engine_argv_confine(struct argv_b *a, bool deny_elevate, const char *chroot_dir, uid_t uid,
			 gid_t gid);

/* Builds the engine's argv (NULL-terminated, every string malloc'd; free
 * with argv_free, supervisor/argv.h). Returns 0 or -ENOMEM. */
int engine_argv(const struct eng_spec *s, char ***argv);

/* Whether a virtio-net-pci on a vhost-user netdev may use MSI-X with this
 * QEMU (version major*100+minor, 0: unknown) and accelerator ("tcg",
 * "kvm"). QEMU 7.2 under TCG dies with SIGSEGV in vhost_net_start ->
 * msix_set_vector_notifiers when the guest enables MSI-X on such a NIC;
 * with INTx (vectors=0) it passes traffic. KVM routes MSI-X through
 * irqfds and is unaffected. */
bool engine_vhost_net_msix(unsigned int qemu_version, const char *accel);

/* Starts the engine: forks; in the child runs `in_child(data)` (e.g. to
 * join the domain's cgroup; it may _exit), keeps only the spec's fds open
 * (as the same numbers) plus stderr (`log_fd`), and execs. Returns the pid
 * or -errno. */
pid_t engine_spawn(const struct eng_spec *s, char **argv, int log_fd, void (*in_child)(void *),
		   void *data);

#endif

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

struct eng_disk {
	const char *path;
	const char *format; /* "raw", "qcow2", ... */
	bool readonly;
	bool cdrom;
};

struct eng_nic {
	int tap_fd;    /* a tap, or -1 */
	int stream_fd; /* else a connected stream socket (passt), or -1 */
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
	uid_t uid;
	gid_t gid;
	bool deny_elevate; /* elevateprivileges=deny works with -runas here */
};

/* Builds the engine's argv (NULL-terminated, every string malloc'd).
 * Returns 0 or -ENOMEM. */
int engine_argv(const struct eng_spec *s, char ***argv);

/* Frees an argv from engine_argv. */
void engine_argv_free(char **argv);

/* Starts the engine: forks; in the child runs `in_child(data)` (e.g. to
 * join the domain's cgroup; it may _exit), keeps only the spec's fds open
 * (as the same numbers) plus stderr (`log_fd`), and execs. Returns the pid
 * or -errno. */
pid_t engine_spawn(const struct eng_spec *s, char **argv, int log_fd, void (*in_child)(void *),
		   void *data);

#endif

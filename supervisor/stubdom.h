/* stubdom.h — a guest's stub domain (placement "stubdom"): the relay in
 * dom0 and the small VM in which airlock-dm serves the guest's devices.
 *
 * docs/stubdom-design.md is the contract. The supervisor registers the
 * stub domain as a domain of its own (`<name>-dm` in `airlock list`),
 * introduces it to the store with SET_TARGET rights over its guest, writes
 * airlock-dm's arguments under /vm/<uuid>/image/dm-argv/ readable by the
 * stub alone, makes the relay's sockets (the engine's vhost-user sockets in
 * the engine's chroot, the ivshmem and port sockets in the stub's own
 * directory) and starts the relay and the stub's QEMU. The engine starts
 * at once beside them; the relay answers its first questions from what
 * dom0 knows. stubdom_poll() tells when the stub says `running`.
 */
#ifndef AIRLOCK_SUP_STUBDOM_H
#define AIRLOCK_SUP_STUBDOM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "qmp/qmp.h"
#include "supervisor/dmproc.h"
#include "xs/xs_client.h"

/* The stub domain's RAM when the config does not say (MiB): 32 MiB for
 * guests up to 1 GiB, then 4 MiB more per further GiB (or part of one) —
 * VFIO maps the guest-RAM BAR with 4 KiB page-table entries, ~2 MiB of page
 * tables per GiB, and the rest is headroom for airlock-dm's bounded
 * buffers. */
#define STUBDOM_MEMORY_BASE    32
#define STUBDOM_MEMORY_PER_GIB 4
uint64_t stubdom_default_memory(uint64_t guest_mib);

struct stubdom_spec {
	const char *guest_name;
	unsigned int guest_domid;
	const char *guest_uuid;
	const char *run_dir; /* the guest's: the engine's chroot is run_dir/chroot */
	const char *accel;
	bool deny_elevate;
	uint64_t memory_mib;			/* the stub's RAM */
	const char *kernel, *ramdisk, *cmdline; /* NULL: the built image's, no extra */
	uint64_t guest_ram;			/* bytes of guest RAM in the memfd */
	int ram_fd;
	uint64_t timeout_ms; /* for the stub to run (and a template to boot) */
	/* The guest's disks served from the stub (CD-ROMs stay on the
	 * engine): image and read-only flag. */
	const char *files[DMPROC_MAX_DEVS];
	bool read_only[DMPROC_MAX_DEVS];
	unsigned int ndisks;
	/* The guest's NICs: the stub domain's own NIC k is a tap on the
	 * guest's bridge (nic_tap, opened by the supervisor; the guest gets
	 * TSO and checksum offload through it) or a stream socket to passt
	 * (nic_stream, the other -1; raw frames), which airlock-dm in the stub
	 * drives with an AF_PACKET socket for the guest's NIC k (mac, mtu). */
	int nic_tap[DMPROC_MAX_DEVS];
	int nic_stream[DMPROC_MAX_DEVS];
	uint8_t nic_mac[DMPROC_MAX_DEVS][6];
	unsigned int nic_mtu[DMPROC_MAX_DEVS];
	unsigned int nnics;
};

struct stubdom {
	unsigned int domid; /* the stub domain's own */
	char name[96];
	char uuid[37];
	char dir[320]; /* run_dir/stub: the stub QEMU's chroot and cwd */
	bool registered, introduced;
	struct dmproc_dev eng[DMPROC_MAX_DEVS]; /* the engine's sockets */
	unsigned int neng;
	int ivshmem_fd, port_fd;
	int console_fd; /* the supervisor's end of the stub's serial line */
	pid_t relay, qemu;
	bool running; /* the stub said so */
	/* A stub restored from a template (supervisor/stubsnap.h): started,
	 * loaded by stubdom_resume; its QMP (the raw socket until then), a
	 * second fd of its serial line for the wake line, the template's fd
	 * number in QEMU and its path. */
	bool restoring;
	struct qmp *qmp;
	int qmp_fd;
	int wake_fd;
	int tmpl_fdnum;
	uint64_t restore_t0;
	char tmpl_path[600];
};

/* The uid (and gid) the guest's relay runs as: AIRLOCK_UID_BASE + 0x8000 +
 * the guest's domid. Engines and stub QEMUs run as AIRLOCK_UID_BASE +
 * their domid, and domids stay below 0x7ff0 (DOMID_LAST), so the ranges
 * never meet: the relay shares no uid with either peer it stands between. */
#define STUBDOM_RELAY_UID_OFFSET 0x8000u
uid_t stubdom_relay_uid(unsigned int guest_domid);

/* The most devices (disks and NICs) one stub domain serves: the relay's
 * vector map gives each 8 of 64 ivshmem vectors, vector 0 is control. */
#define STUBDOM_MAX_DEVS 7

/* The memfd size the guest needs with a stub domain: guest RAM plus the
 * relay's inflight areas for `ndisks` disks and `nnics` NICs (not yet
 * rounded to a power of two). 0 on overflow. */
uint64_t stubdom_ram_bytes(uint64_t guest_ram, unsigned int ndisks, unsigned int nnics);

/* Registers the stub domain in the store (records, INTRODUCE, SET_TARGET,
 * its home and airlock-dm's arguments) and makes every socket. Fills sd
 * (sd->eng[i].sock_name are the engine's socket names, relative to its
 * chroot). Logs why on failure; stubdom_stop undoes what was done.
 * Returns 0 or -errno. */
int stubdom_prepare(struct xs_client *xs, const struct stubdom_spec *sp, struct stubdom *sd);

/* Starts the relay and the stub's QEMU (in_child(data) runs first in
 * each child: the cgroup). The QEMU loads a template when templates are
 * on (building the template first if there is none for its key), else it
 * boots; a loading one is left running for stubdom_resume, so the caller
 * can start the guest meanwhile. Returns 0 or -errno (logged). */
int stubdom_start(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		  void *data);

/* Reads the stub's state node; sets sd->running when it says "running".
 * Returns the state ("" when none yet) in buf. */
/* Finishes a stub that loads a template (nothing otherwise): loads it,
 * plugs in the guest's devices, runs it and writes its wake line.
 * If that fails, deletes the template and boots the stub instead. Returns
 * 0, 1 when the stub was booted instead (a new QEMU: sd->qemu and a new
 * serial line sd->console_fd for the caller to take), or -errno. */
int stubdom_resume(const struct stubdom_spec *sp, struct stubdom *sd, void (*in_child)(void *),
		   void *data);

void stubdom_poll(struct xs_client *xs, const struct stubdom_spec *sp, struct stubdom *sd,
		  char *buf, size_t size);

/* Kills the stub's QEMU and the relay, removes its sockets, releases it
 * from the store and removes its records. Safe on a partly prepared sd. */
void stubdom_stop(struct xs_client *xs, struct stubdom *sd);

#endif

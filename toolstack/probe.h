/* probe.h — what this host can run guests with: the accelerator (KVM or
 * TCG, decided by measurement, never by the mere presence of /dev/kvm), the
 * QEMU engine binary, and the cgroup layout. `airlock info` prints it.
 *
 * Nothing is cached: every call measures again, within a hard deadline
 * (PROBE_KVM_DEADLINE_MS for the KVM guest, PROBE_QEMU_DEADLINE_MS per QEMU
 * run, the two overlapping), so the worst case stays under two seconds.
 * docs/host.md describes the method and the thresholds.
 */
#ifndef AIRLOCK_PROBE_H
#define AIRLOCK_PROBE_H

#include "sys/cgroup.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* KVM is used only if the probe guest runs its long-mode loop at least
 * this fast (iterations per second; one iteration is three instructions).
 * Hardware-assisted KVM, nested or not, runs it at 1–3 G/s; a paravirtual
 * KVM that traps guest kernels runs it at a few M/s. */
#define PROBE_KVM_MIN_RATE     100000000ULL
#define PROBE_KVM_DEADLINE_MS  1000
#define PROBE_QEMU_DEADLINE_MS 1000
#define PROBE_QEMU_BINARY      "qemu-system-x86_64"

enum probe_accel_kind {
	PROBE_ACCEL_TCG = 0,
	PROBE_ACCEL_KVM,
};

/* The KVM probe guest's result. */
struct probe_kvm {
	bool ran;	     /* a round completed and was verified (long mode, result) */
	bool timed_out;	     /* killed at the deadline */
	uint64_t iterations; /* loop iterations of the last verified round */
	uint64_t elapsed_ns; /* its time inside KVM_RUN */
	uint64_t rate;	     /* iterations per second, 0 if no round completed */
	uint64_t total_ms;   /* wall time of the whole probe, fork to verdict */
	char why[200];	     /* why it did not run ("" if it ran) */
};

struct probe_qemu {
	bool found;
	char path[PATH_MAX];
	char version[64]; /* "7.2.22", or "" if --version said nothing usable */
	bool has_kvm;	  /* `-accel help` lists kvm */
	bool has_tcg;
	char why[200]; /* why not found / not runnable ("" if fine) */
};

struct probe_result {
	enum probe_accel_kind accel;
	/* One line: "kvm: ..." saying why this accelerator ("kvm: /dev/kvm
	 * missing; using tcg", "kvm: long-mode loop at 1.9 G iterations/s"). */
	char reason[320];
	struct probe_kvm kvm;
	struct probe_qemu qemu;
	struct cgroup_host cgroup;
};

/* "kvm" or "tcg". */
const char *probe_accel_name(enum probe_accel_kind a);

/* Runs the KVM probe guest on `dev` (NULL: /dev/kvm) in a forked child:
 * identity-mapped 64-bit page tables, a 64-bit code segment, CR0.PE|PG,
 * CR4.PAE, EFER.LME|LMA, then a loop of 64-bit additions counting to N and
 * an `out` to a port. Each round is verified (exit at that port, EFER.LMA
 * set, RAX equal to N times a 64-bit constant, which no 32-bit execution
 * produces) and N grows until a round takes at least 10 ms. The child is
 * killed at `deadline_ms` (0: PROBE_KVM_DEADLINE_MS). Fills *out and returns
 * 0; failures are out->why, not errors. The child is reaped by pid: a
 * caller must not reap children it did not start (waitpid(-1) from a
 * signal handler) while this runs. */
int probe_kvm(const char *dev, unsigned deadline_ms, struct probe_kvm *out);

/* Finds `binary` (NULL: PROBE_QEMU_BINARY; a name without '/' is looked up
 * in $PATH) and asks it for --version and `-accel help`, each run killed
 * after PROBE_QEMU_DEADLINE_MS. Fills *out and returns 0; failures are
 * out->why. */
int probe_qemu(const char *binary, struct probe_qemu *out);

/* The whole probe: the KVM guest (deadline_ms, 0 for the default) and the
 * QEMU runs overlap, then the cgroup layout. KVM is chosen only if the
 * guest ran verified at >= PROBE_KVM_MIN_RATE and QEMU has kvm; otherwise
 * TCG. Fills *out (always with a reason) and returns 0, or -EINVAL for a
 * NULL out. */
int probe_accel(struct probe_result *out, unsigned deadline_ms);

/* Formats `rate` iterations/s for people: "2.1 M", "1.9 G", "850 k", "12". */
void probe_format_rate(uint64_t rate, char *buf, size_t size);

/* `airlock info`: runs probe_accel and prints the accelerator and its
 * reason, the QEMU binary and version, the cgroup mode and controllers,
 * the kernel, CPU count and memory, one "key: value" line each. Returns 0
 * or -EIO if `out` could not be written. */
int probe_print_info(FILE *out);

#endif

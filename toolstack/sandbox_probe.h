/* sandbox_probe.h — can this QEMU combine `-sandbox elevateprivileges=deny`
 * with `-runas`?
 *
 * QEMU 7.2 installs its seccomp filter before it drops to the -runas user,
 * so with elevateprivileges=deny its own setgid/setuid calls are fatal
 * (SIGSYS). Rather than guess from version numbers, airlock asks the
 * engine: it starts it with both options and a QMP socketpair; a greeting
 * means QEMU got past -runas alive. Without the combination, airlock keeps
 * -runas (the engine then has no capabilities and NoNewPrivs, so it cannot
 * regain privileges either way) and allows the set*id calls.
 */
#ifndef AIRLOCK_SANDBOX_PROBE_H
#define AIRLOCK_SANDBOX_PROBE_H

#include <stdbool.h>

/* Runs `qemu` (-machine none) as described above as `uid`, within
 * `timeout_ms`. Returns true if it survived. */
bool probe_sandbox_runas(const char *qemu, unsigned int uid, unsigned int timeout_ms);

#endif

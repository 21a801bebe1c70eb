/* relay_sandbox.h — airlock-relay's seccomp filter (docs/relay.md,
 * "Confinement"). */
#ifndef AIRLOCK_RELAY_SANDBOX_H
#define AIRLOCK_RELAY_SANDBOX_H

/* Installs the relay's syscall allowlist on the calling process, which must
 * be single-threaded: from the return on, only the calls the relay's loop
 * makes (and, in a sanitizer build, what the sanitizer runtime needs) are
 * allowed; any other kills the whole process with SIGSYS. Sets NoNewPrivs
 * (the kernel requires it without CAP_SYS_ADMIN). Call it after every fd
 * the relay needs is open (relay_new) and before the loop serves anything.
 * Returns 0, or -errno with nothing installed. */
int relay_sandbox_install(void);

/* The number of syscalls the filter allows (for logs and tests). */
unsigned int relay_sandbox_nsyscalls(void);

#endif

/* relay_sandbox.c — see relay_sandbox.h.
 *
 * Design
 * ------
 * The relay parses what two untrusted peers send (the stub domain's
 * airlock-dm and the engine QEMU), so a bug in it must not become a dom0
 * foothold. By the time the filter goes on, relay_new() has made every fd
 * the relay will ever own (eventfds, epoll, signalfd); from then on it only
 * moves bytes and fds between descriptors it holds. The allowlist is
 * exactly that loop, found with `strace -f -c` on the real relay under
 * tests/blackbox/relay_confined.sh and on tests/unit/test_relay:
 *
 *   epoll_wait/epoll_pwait/epoll_ctl    the loop
 *   read/write                          eventfds, signalfd, stderr logs
 *   recvmsg/sendmsg/recvfrom/sendto     vhost-user (with fds), stub
 *                                       protocol, ivshmem server
 *   accept4, setsockopt                 new peers, their timeouts
 *   close                               fds dropped with a peer
 *   fstat, newfstatat (AT_EMPTY_PATH)   is this fd the guest-RAM memfd?
 *   pwrite64                            fresh inflight areas in the memfd
 *   getrandom                           each stub session's nonce
 *   clock_gettime                       timers (when the vDSO is missing)
 *   brk, mmap (never PROT_EXEC),        malloc
 *   munmap, mremap, madvise
 *   exit, exit_group, rt_sigreturn
 *
 * Absent on purpose: open/openat (nothing by path), socket/connect/bind
 * (the relay only accepts), execve, fork/clone, mprotect (no page becomes
 * executable), ptrace, kill, ioctl. Other architectures' syscall numbers
 * (x32, int 0x80) are killed by libseccomp's arch check.
 *
 * newfstatat can name a path, so with it the relay could learn a file's
 * metadata (never its contents) where its uid may search; it is limited to
 * flags == AT_EMPTY_PATH, which is how glibc's fstat() calls it.
 *
 * Sanitizer builds (ASan/UBSan, LeakSanitizer at exit) need much more:
 * LeakSanitizer stops the world with a cloned tracer thread (clone,
 * ptrace, wait4, prctl), reads /proc/self/maps (openat, readlink,
 * getdents64) and the runtime signals and symbolizes; a strict list for
 * it would be a list of everything. Those builds add the calls in
 * san_extra[] — and only those builds: the filter that production runs is
 * the one above.
 */
#include "relay/relay_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define RELAY_SANDBOX_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define RELAY_SANDBOX_SAN 1
#endif
#endif

/* Allowed whatever their arguments. */
static const int plain[] = {
	SCMP_SYS(epoll_wait),	 SCMP_SYS(epoll_pwait),	 SCMP_SYS(epoll_ctl),
	SCMP_SYS(read),		 SCMP_SYS(write),	 SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg),	 SCMP_SYS(recvfrom),	 SCMP_SYS(sendto),
	SCMP_SYS(accept4),	 SCMP_SYS(setsockopt),	 SCMP_SYS(close),
	SCMP_SYS(fstat),	 SCMP_SYS(pwrite64),	 SCMP_SYS(getrandom),
	SCMP_SYS(clock_gettime), SCMP_SYS(brk),		 SCMP_SYS(munmap),
	SCMP_SYS(mremap),	 SCMP_SYS(madvise),	 SCMP_SYS(exit),
	SCMP_SYS(exit_group),	 SCMP_SYS(rt_sigreturn), SCMP_SYS(getpid),
};

#ifdef RELAY_SANDBOX_SAN
/* What the sanitizer runtimes call while reporting and at exit (leak
 * check); see the essay. Never in a production build. */
static const int san_extra[] = {
	SCMP_SYS(mprotect),
	SCMP_SYS(openat),
	SCMP_SYS(open),
	SCMP_SYS(readlink),
	SCMP_SYS(readlinkat),
	SCMP_SYS(getdents64),
	SCMP_SYS(lseek),
	SCMP_SYS(pread64),
	SCMP_SYS(clone),
	SCMP_SYS(clone3),
	SCMP_SYS(ptrace),
	SCMP_SYS(wait4),
	SCMP_SYS(waitid),
	SCMP_SYS(prctl),
	SCMP_SYS(sched_yield),
	SCMP_SYS(futex),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(tgkill),
	SCMP_SYS(kill),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(set_robust_list),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64),
	SCMP_SYS(uname),
	SCMP_SYS(newfstatat),
	SCMP_SYS(pipe2),
	SCMP_SYS(dup2),
	SCMP_SYS(dup3),
	SCMP_SYS(fcntl),
	SCMP_SYS(execve),
	SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(rseq),
	SCMP_SYS(arch_prctl),
	SCMP_SYS(set_tid_address),
	SCMP_SYS(access),
	SCMP_SYS(getppid),
};
#endif

#define N(a) (sizeof(a) / sizeof((a)[0]))

#ifdef RELAY_SANDBOX_SAN
static int sandboxed;

/* LeakSanitizer asks this at exit. Its stop-the-world (a cloned tracer
 * ptracing the process) does not work under the filter (measured: the
 * tracer dies and the process spins at exit), so a sandboxed sanitizer
 * relay skips the leak check; test_relay checks the core's leaks
 * in-process, unsandboxed. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return sandboxed;
}
#endif

unsigned int relay_sandbox_nsyscalls(void)
{
	/* + newfstatat and mmap, allowed with argument checks (newfstatat
	 * is in san_extra too, without) */
	unsigned int n = (unsigned int)N(plain) + 2;
#ifdef RELAY_SANDBOX_SAN
	n += (unsigned int)N(san_extra) - 1;
#endif
	return n;
}

int relay_sandbox_install(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = ctx ? 0 : -ENOMEM;

	for (unsigned int i = 0; !r && i < N(plain); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
	/* glibc's fstat(): newfstatat(fd, "", buf, AT_EMPTY_PATH). */
	struct scmp_arg_cmp empty_path = {
		.arg = 3, .op = SCMP_CMP_EQ, .datum_a = AT_EMPTY_PATH, .datum_b = 0};
	if (!r)
		r = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
						 &empty_path);
	/* malloc's mappings; never an executable page. */
	struct scmp_arg_cmp no_exec = {
		.arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0};
	if (!r)
		r = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &no_exec);
#ifdef RELAY_SANDBOX_SAN
	/* newfstatat here widens the rule above to every argument. */
	for (unsigned int i = 0; !r && i < N(san_extra); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, san_extra[i], 0);
#endif
	if (!r)
		r = seccomp_load(ctx);
#ifdef RELAY_SANDBOX_SAN
	sandboxed = !r;
#endif
	if (ctx)
		seccomp_release(ctx);
	return r > 0 ? -r : r;
}

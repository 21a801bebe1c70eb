/* probe.c — see probe.h.
 *
 * The KVM probe runs a tiny guest through the raw KVM API, in a forked
 * child, because the thing being probed may hang: a paravirtual KVM can
 * sit in KVM_RUN far longer than any deadline we would accept. The child
 * reports each verified round over a pipe as one fixed-size message (below
 * PIPE_BUF, so every write is atomic); the parent keeps the last message
 * that arrived and kills the child at the deadline. The verdict rests on
 * what was verified, never on what the child did not get to say.
 *
 * The guest, in the 2 MiB of guest-physical memory at 0:
 *
 *   0x1000 PML4 -> 0x2000 PDPT -> 0x3000 PD, one 2 MiB page at 0 (identity)
 *   0x4000 code:  add rax, rdx ; dec rcx ; jnz -8 ; out 0x10, al ; hlt
 *   0x5000 GDT:   null, 64-bit code (0x08), data (0x10)
 *
 * entered directly in 64-bit mode (CS.L, CR0.PE|PG, CR4.PAE, EFER.LME|LMA),
 * with RCX = N and RDX = a constant wider than 32 bits. After the exit at
 * port 0x10 the parent of the guest checks RAX = N * RDX (mod 2^64), RCX = 0
 * and EFER.LMA: in any 32-bit mode 0x48 is `dec eax`, not a REX prefix, and
 * the sum would come out different.
 */
#include "toolstack/probe.h"
#include "toolstack/paths.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- the guest ------------------------------------------------------------- */

#define GUEST_MEM   (2u << 20)
#define GUEST_PML4  0x1000
#define GUEST_PDPT  0x2000
#define GUEST_PD    0x3000
#define GUEST_CODE  0x4000
#define GUEST_GDT   0x5000
#define GUEST_STACK 0x8000
#define GUEST_PORT  0x10
#define LOOP_ADDEND 0x0000000100000003ULL

#define CR0_PE	 (1u << 0)
#define CR0_MP	 (1u << 1)
#define CR0_ET	 (1u << 4)
#define CR0_NE	 (1u << 5)
#define CR0_WP	 (1u << 16)
#define CR0_PG	 (1u << 31)
#define CR4_PAE	 (1u << 5)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define PTE_P	 (1u << 0)
#define PTE_RW	 (1u << 1)
#define PTE_PS	 (1u << 7)

static const uint8_t guest_code[] = {
	0x48, 0x01,	  0xd0, /* add rax, rdx */
	0x48, 0xff,	  0xc9, /* dec rcx */
	0x75, 0xf8,		/* jnz -8 */
	0xe6, GUEST_PORT,	/* out GUEST_PORT, al */
	0xf4,			/* hlt */
	0xeb, 0xfd,		/* jmp -3 (the hlt) */
};
#define GUEST_OUT_END (GUEST_CODE + 10) /* RIP after the out */

/* First round's N, and when a round is long enough to trust. */
#define FIRST_ITERATIONS 4096
#define ROUND_MIN_NS	 10000000ULL
#define ROUND_TARGET_NS	 20000000ULL
#define MAX_ROUNDS	 12

/* One message from the probe child. */
struct kvm_msg {
	int32_t kind; /* MSG_* */
	uint32_t pad;
	uint64_t iterations;
	uint64_t elapsed_ns;
	char why[160];
};
enum { MSG_ROUND = 1, MSG_DONE = 2, MSG_FAIL = 3 };

_Static_assert(sizeof(struct kvm_msg) <= 512, "kvm_msg must be written atomically");

struct guest {
	int kvm, vm, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
};

static void msg_send(int fd, const struct kvm_msg *m)
{
	if (write_all(fd, m, sizeof(*m)))
		_exit(3);
}

static void __attribute__((noreturn, format(printf, 2, 3))) child_fail(int fd, const char *fmt, ...)
{
	struct kvm_msg m = {.kind = MSG_FAIL};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.why, sizeof(m.why), fmt, ap);
	va_end(ap);
	msg_send(fd, &m);
	_exit(2);
}

static void guest_build_memory(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + GUEST_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + GUEST_PDPT);
	uint64_t *pd = (uint64_t *)(mem + GUEST_PD);
	uint64_t *gdt = (uint64_t *)(mem + GUEST_GDT);

	pml4[0] = GUEST_PDPT | PTE_P | PTE_RW;
	pdpt[0] = GUEST_PD | PTE_P | PTE_RW;
	pd[0] = 0 | PTE_P | PTE_RW | PTE_PS;
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL; /* code: P, DPL 0, S, exec/read/accessed, L, G */
	gdt[2] = 0x00cf93000000ffffULL; /* data: P, DPL 0, S, read/write/accessed, D/B, G */
	memcpy(mem + GUEST_CODE, guest_code, sizeof(guest_code));
}

#define CPUID_ENTRIES 256
#define CPUID_WORDS                                                                                \
	((sizeof(struct kvm_cpuid2) + CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2)) / 8 + 1)

/* Gives the vCPU the host-supported CPUID, so that the long-mode bit is
 * there for KVM's EFER checks. Best effort: a KVM that refuses still gets
 * its chance at KVM_SET_SREGS. No malloc: this runs in a child forked from
 * a program that may have threads. */
static void guest_set_cpuid(struct guest *g)
{
	static uint64_t space[CPUID_WORDS];
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)space;

	c->nent = CPUID_ENTRIES;
	if (ioctl(g->kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
		ioctl(g->vcpu, KVM_SET_CPUID2, c);
}

static void seg64(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

static void guest_setup(struct guest *g, const char *dev, int fd)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	int api, r;

	g->kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (g->kvm < 0)
		child_fail(fd, "cannot open %s: %s", dev, strerror(errno));
	api = ioctl(g->kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		child_fail(fd, "KVM API version %d (want %d)", api, KVM_API_VERSION);
	g->vm = ioctl(g->kvm, KVM_CREATE_VM, 0);
	if (g->vm < 0)
		child_fail(fd, "KVM_CREATE_VM: %s", strerror(errno));
	g->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g->mem == MAP_FAILED)
		child_fail(fd, "cannot map guest memory: %s", strerror(errno));
	guest_build_memory(g->mem);
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM,
		.userspace_addr = (uintptr_t)g->mem,
	};
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region))
		child_fail(fd, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
	if (g->vcpu < 0)
		child_fail(fd, "KVM_CREATE_VCPU: %s", strerror(errno));
	r = ioctl(g->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run))
		child_fail(fd, "KVM_GET_VCPU_MMAP_SIZE: %d", r);
	g->run_size = (size_t)r;
	g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
	if (g->run == MAP_FAILED)
		child_fail(fd, "cannot map kvm_run: %s", strerror(errno));
	guest_set_cpuid(g);

	if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs))
		child_fail(fd, "KVM_GET_SREGS: %s", strerror(errno));
	seg64(&sregs.cs, 0x08, 0xb, true);
	seg64(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = GUEST_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.cr3 = GUEST_PML4;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs))
		child_fail(fd, "KVM_SET_SREGS (long mode refused): %s", strerror(errno));
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_HLT:
		return "hlt";
	case KVM_EXIT_MMIO:
		return "mmio";
	case KVM_EXIT_SHUTDOWN:
		return "shutdown (triple fault)";
	case KVM_EXIT_FAIL_ENTRY:
		return "entry failed";
	case KVM_EXIT_INTERNAL_ERROR:
		return "internal error";
	case KVM_EXIT_IO:
		return "io";
	default:
		return "other";
	}
}

/* Runs the loop once with RCX = n and verifies it; returns its time. */
static uint64_t guest_round(struct guest *g, uint64_t n, int fd)
{
	struct kvm_regs regs = {0};
	struct kvm_sregs sregs;
	uint64_t t0, t1;
	int r;

	regs.rip = GUEST_CODE;
	regs.rflags = 0x2;
	regs.rsp = GUEST_STACK;
	regs.rcx = n;
	regs.rdx = LOOP_ADDEND;
	if (ioctl(g->vcpu, KVM_SET_REGS, &regs))
		child_fail(fd, "KVM_SET_REGS: %s", strerror(errno));
	t0 = now_ns();
	while ((r = ioctl(g->vcpu, KVM_RUN, 0)) < 0 && (errno == EINTR || errno == EAGAIN))
		;
	t1 = now_ns();
	if (r < 0)
		child_fail(fd, "KVM_RUN: %s", strerror(errno));
	if (g->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		child_fail(fd, "guest entry failed (reason 0x%llx)",
			   (unsigned long long)g->run->fail_entry.hardware_entry_failure_reason);
	if (g->run->exit_reason != KVM_EXIT_IO || g->run->io.port != GUEST_PORT ||
	    g->run->io.direction != KVM_EXIT_IO_OUT)
		child_fail(fd, "guest stopped with exit %u (%s), not at its port",
			   g->run->exit_reason, exit_name(g->run->exit_reason));
	/* Completes the out, so that the registers are final (KVM api.rst:
	 * re-enter with immediate_exit set). */
	g->run->immediate_exit = 1;
	if (ioctl(g->vcpu, KVM_RUN, 0) == 0 && g->run->exit_reason != KVM_EXIT_HLT)
		child_fail(fd, "guest went on after its port with exit %u", g->run->exit_reason);
	g->run->immediate_exit = 0;
	if (ioctl(g->vcpu, KVM_GET_REGS, &regs) || ioctl(g->vcpu, KVM_GET_SREGS, &sregs))
		child_fail(fd, "cannot read the guest's registers: %s", strerror(errno));
	if (!(sregs.efer & EFER_LMA) || !sregs.cs.l)
		child_fail(fd, "guest not in long mode after its loop (EFER 0x%llx, CS.L %u)",
			   (unsigned long long)sregs.efer, sregs.cs.l);
	if (regs.rax != n * LOOP_ADDEND || regs.rcx != 0)
		child_fail(fd,
			   "guest's 64-bit loop gave RAX 0x%llx RCX %llu (want 0x%llx, 0): "
			   "not 64-bit execution",
			   (unsigned long long)regs.rax, (unsigned long long)regs.rcx,
			   (unsigned long long)(n * LOOP_ADDEND));
	if (regs.rip != GUEST_OUT_END && regs.rip != GUEST_OUT_END + 1)
		child_fail(fd, "guest stopped at RIP 0x%llx", (unsigned long long)regs.rip);
	return t1 > t0 ? t1 - t0 : 1;
}

/* The child: rounds of growing N until one takes ROUND_MIN_NS, or the
 * next one would not fit in `budget_ns`. Never returns. */
static void __attribute__((noreturn)) kvm_child(const char *dev, int fd, uint64_t budget_ns)
{
	struct guest g;
	uint64_t start = now_ns(), n = FIRST_ITERATIONS;

	guest_setup(&g, dev, fd);
	for (int round = 0; round < MAX_ROUNDS; round++) {
		struct kvm_msg m = {.kind = MSG_ROUND, .iterations = n};
		uint64_t next, spent;

		m.elapsed_ns = guest_round(&g, n, fd);
		spent = now_ns() - start;
		/* Aim the next round at ROUND_TARGET_NS, growing 2x..64x. */
		next = (uint64_t)((double)n * ROUND_TARGET_NS / (double)m.elapsed_ns);
		next = MAX(next, 2 * n);
		next = MIN(next, 64 * n);
		if (m.elapsed_ns >= ROUND_MIN_NS || round == MAX_ROUNDS - 1 ||
		    spent + 2 * ROUND_TARGET_NS > budget_ns || next > (UINT64_C(1) << 40))
			m.kind = MSG_DONE;
		msg_send(fd, &m);
		if (m.kind == MSG_DONE)
			break;
		n = next;
	}
	_exit(0);
}

/* --- child processes with deadlines --------------------------------------- */

/* Kills and reaps `pid`, waiting at most 200 ms for it to go (a task stuck
 * in the kernel may take longer; it is left to init then). */
static void kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	for (int i = 0; i < 40; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		usleep(5000);
	}
}

/* Reads from `fd` into buf until it holds `size` bytes (with `to_eof`:
 * until EOF, dropping what does not fit), EOF, or the deadline. Returns the
 * bytes stored, -ETIMEDOUT (buf holds what came) or -errno. */
static ssize_t read_until(int fd, void *buf, size_t size, bool to_eof, uint64_t deadline_ms)
{
	size_t got = 0;

	while (to_eof || got < size) {
		uint64_t now = now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char sink[512];
		bool into_buf = got < size;
		ssize_t n;

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)MIN(deadline_ms - now, 60000)) < 0 && errno != EINTR)
			return -errno;
		if (!p.revents)
			continue;
		if (into_buf)
			n = read(fd, (char *)buf + got, size - got);
		else
			n = read(fd, sink, sizeof(sink));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (into_buf)
			got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Runs argv (argv[0] a path) with stdout and stderr into `out` (NUL-
 * terminated, truncated to size - 1), killed after timeout_ms. Returns its
 * exit status (0..255), -ETIMEDOUT, or -errno. */
static int run_capture(char *const argv[], char *out, size_t size, unsigned timeout_ms)
{
	int pfd[2], status = 0;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	n = read_until(pfd[0], out, size - 1, true, now_ms() + timeout_ms);
	close(pfd[0]);
	if (n < 0) {
		kill_reap(pid);
		return (int)n;
	}
	out[n] = '\0';
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- KVM ------------------------------------------------------------------- */

struct kvm_probe {
	pid_t pid;
	int fd;
	uint64_t start_ms, deadline_ms;
};

void probe_format_rate(uint64_t rate, char *buf, size_t size)
{
	if (rate >= 1000000000ULL)
		snprintf(buf, size, "%.1f G", (double)rate / 1e9);
	else if (rate >= 1000000ULL)
		snprintf(buf, size, "%.1f M", (double)rate / 1e6);
	else if (rate >= 1000ULL)
		snprintf(buf, size, "%.0f k", (double)rate / 1e3);
	else
		snprintf(buf, size, "%" PRIu64, rate);
}

static int kvm_start(const char *dev, unsigned deadline_ms, struct kvm_probe *kp,
		     struct probe_kvm *out)
{
	int pfd[2];

	memset(out, 0, sizeof(*out));
	kp->pid = -1;
	kp->fd = -1;
	kp->start_ms = now_ms();
	kp->deadline_ms = kp->start_ms + deadline_ms;
	if (access(dev, F_OK) != 0) {
		snprintf(out->why, sizeof(out->why), "%s %s", dev,
			 errno == ENOENT ? "missing" : strerror(errno));
		return -ENOENT;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(out->why, sizeof(out->why), "cannot make a pipe: %s", strerror(errno));
		return -errno;
	}
	kp->pid = fork();
	if (kp->pid < 0) {
		int e = -errno;
		snprintf(out->why, sizeof(out->why), "cannot fork the probe: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	if (kp->pid == 0) {
		close(pfd[0]);
		kvm_child(dev, pfd[1], (uint64_t)deadline_ms * 1000000ULL);
	}
	close(pfd[1]);
	kp->fd = pfd[0];
	return 0;
}

static void kvm_finish(struct kvm_probe *kp, unsigned deadline_ms, struct probe_kvm *out)
{
	struct kvm_msg m, last = {0};
	bool done = false;

	if (kp->pid < 0)
		return;
	for (;;) {
		ssize_t n = read_until(kp->fd, &m, sizeof(m), false, kp->deadline_ms);

		if (n == -ETIMEDOUT) {
			out->timed_out = true;
			break;
		}
		if (n != (ssize_t)sizeof(m))
			break; /* EOF: the child exited (or died) */
		last = m;
		if (m.kind == MSG_DONE || m.kind == MSG_FAIL) {
			done = true;
			break;
		}
	}
	close(kp->fd);
	kill_reap(kp->pid);
	if (last.kind == MSG_ROUND || last.kind == MSG_DONE) {
		out->ran = true;
		out->iterations = last.iterations;
		out->elapsed_ns = last.elapsed_ns;
		out->rate = (uint64_t)((double)last.iterations * 1e9 / (double)last.elapsed_ns);
	}
	if (last.kind == MSG_FAIL) {
		last.why[sizeof(last.why) - 1] = '\0';
		snprintf(out->why, sizeof(out->why), "%s", last.why);
	} else if (out->timed_out) {
		snprintf(out->why, sizeof(out->why),
			 "probe guest did not finish within %u ms: timed out", deadline_ms);
	} else if (!done) {
		snprintf(out->why, sizeof(out->why), "probe child died without a verdict");
	}
	out->total_ms = now_ms() - kp->start_ms;
}

int probe_kvm(const char *dev, unsigned deadline_ms, struct probe_kvm *out)
{
	struct kvm_probe kp;

	if (!deadline_ms)
		deadline_ms = PROBE_KVM_DEADLINE_MS;
	if (kvm_start(dev ? dev : "/dev/kvm", deadline_ms, &kp, out) == 0)
		kvm_finish(&kp, deadline_ms, out);
	out->total_ms = now_ms() - kp.start_ms;
	return 0;
}

/* --- QEMU ------------------------------------------------------------------ */

/* True if `-accel help` output lists `name` on a line of its own. */
static bool accel_listed(const char *text, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, l) == 0 && (p[l] == '\n' || p[l] == '\0' || p[l] == '\r'))
			return true;
	return false;
}

int probe_qemu(const char *binary, struct probe_qemu *out)
{
	char text[4096];
	char *argv[4];
	const char *v;
	int r;

	memset(out, 0, sizeof(*out));
	if (!binary)
		binary = PROBE_QEMU_BINARY;
	if (!paths_which(binary, out->path, sizeof(out->path))) {
		snprintf(out->why, sizeof(out->why), "%s not found%s", binary,
			 strchr(binary, '/') ? "" : " in $PATH");
		return 0;
	}
	argv[0] = out->path;
	argv[1] = "--version";
	argv[2] = NULL;
	r = run_capture(argv, text, sizeof(text), PROBE_QEMU_DEADLINE_MS);
	if (r != 0) {
		snprintf(out->why, sizeof(out->why), "%.150s --version: %s", out->path,
			 r == -ETIMEDOUT ? "timed out"
			 : r < 0	 ? strerror(-r)
			 : r == 127	 ? "cannot execute"
					 : "failed");
		return 0;
	}
	out->found = true;
	/* "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" */
	if ((v = strstr(text, "version "))) {
		v += strlen("version ");
		size_t l = strspn(v, "0123456789.");
		if (l && l < sizeof(out->version)) {
			memcpy(out->version, v, l);
			out->version[l] = '\0';
		}
	}
	argv[1] = "-accel";
	argv[2] = "help";
	argv[3] = NULL;
	r = run_capture(argv, text, sizeof(text), PROBE_QEMU_DEADLINE_MS);
	if (r != 0) {
		snprintf(out->why, sizeof(out->why), "%.150s -accel help: %s", out->path,
			 r == -ETIMEDOUT ? "timed out"
			 : r < 0	 ? strerror(-r)
					 : "failed");
		return 0;
	}
	out->has_kvm = accel_listed(text, "kvm");
	out->has_tcg = accel_listed(text, "tcg");
	return 0;
}

/* --- the decision ------------------------------------------------------------ */

const char *probe_accel_name(enum probe_accel_kind a)
{
	return a == PROBE_ACCEL_KVM ? "kvm" : "tcg";
}

int probe_accel(struct probe_result *out, unsigned deadline_ms)
{
	struct kvm_probe kp;
	char rate[32];
	bool started;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!deadline_ms)
		deadline_ms = PROBE_KVM_DEADLINE_MS;
	/* The guest runs while QEMU answers. */
	started = kvm_start("/dev/kvm", deadline_ms, &kp, &out->kvm) == 0;
	probe_qemu(NULL, &out->qemu);
	if (started)
		kvm_finish(&kp, deadline_ms, &out->kvm);
	out->kvm.total_ms = now_ms() - kp.start_ms;
	cgroup_host_detect(NULL, &out->cgroup);

	out->accel = PROBE_ACCEL_TCG;
	probe_format_rate(out->kvm.rate, rate, sizeof(rate));
	if (!out->kvm.ran || out->kvm.why[0]) {
		snprintf(out->reason, sizeof(out->reason), "kvm: %s; using tcg", out->kvm.why);
	} else if (out->kvm.rate < PROBE_KVM_MIN_RATE) {
		snprintf(out->reason, sizeof(out->reason),
			 "kvm: probe guest ran %s iterations/s (< %llu M/s needed): paravirtual "
			 "or nested KVM too slow for ordinary guests; using tcg",
			 rate, PROBE_KVM_MIN_RATE / 1000000ULL);
	} else if (!out->qemu.found) {
		snprintf(out->reason, sizeof(out->reason),
			 "kvm: long-mode loop at %s iterations/s, but no QEMU (%.150s); using tcg",
			 rate, out->qemu.why);
	} else if (!out->qemu.has_kvm) {
		snprintf(out->reason, sizeof(out->reason),
			 "kvm: long-mode loop at %s iterations/s, but %.150s lists no kvm "
			 "accelerator; using tcg",
			 rate, out->qemu.path);
	} else {
		out->accel = PROBE_ACCEL_KVM;
		snprintf(out->reason, sizeof(out->reason), "kvm: long-mode loop at %s iterations/s",
			 rate);
	}
	return 0;
}

/* --- airlock info ---------------------------------------------------------- */

int probe_print_info(FILE *out)
{
	struct probe_result *pr = malloc(sizeof(*pr));
	const struct cgroup_host *cg;
	struct utsname u;
	struct sysinfo si;
	char rate[32];

	if (!pr)
		return -ENOMEM;
	probe_accel(pr, 0);
	cg = &pr->cgroup;
	fprintf(out, "accelerator:   %s\n", probe_accel_name(pr->accel));
	fprintf(out, "reason:        %s\n", pr->reason);
	if (pr->kvm.ran) {
		probe_format_rate(pr->kvm.rate, rate, sizeof(rate));
		fprintf(out,
			"kvm probe:     %s iterations/s (%" PRIu64 " in %.1f ms), long mode "
			"verified, %" PRIu64 " ms in all\n",
			rate, pr->kvm.iterations, (double)pr->kvm.elapsed_ns / 1e6,
			pr->kvm.total_ms);
	} else {
		fprintf(out, "kvm probe:     %s (%" PRIu64 " ms)\n", pr->kvm.why, pr->kvm.total_ms);
	}
	if (pr->qemu.found)
		fprintf(out, "qemu:          %s %s (accelerators:%s%s)%s%s\n", pr->qemu.path,
			pr->qemu.version[0] ? pr->qemu.version : "(unknown version)",
			pr->qemu.has_kvm ? " kvm" : "", pr->qemu.has_tcg ? " tcg" : "",
			pr->qemu.why[0] ? "; " : "", pr->qemu.why);
	else
		fprintf(out, "qemu:          not found: %s\n", pr->qemu.why);
	fprintf(out, "cgroup:        %s", cgroup_mode_name(cg->mode));
	if (cg->mode != CGROUP_MODE_NONE) {
		fprintf(out, " at %s; airlock limits:", cg->root);
		for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++)
			if (cg->usable & (1u << c))
				fprintf(out, " %s", cgroup_ctrl_name(c));
		if (!cg->usable)
			fprintf(out, " none");
		fprintf(out, "; host offers: %s", cg->controllers[0] ? cg->controllers : "none");
	}
	fputc('\n', out);
	if (cg->note[0])
		fprintf(out, "cgroup note:   %s\n", cg->note);
	if (uname(&u) == 0)
		fprintf(out, "kernel:        %s %s %s\n", u.sysname, u.release, u.machine);
	fprintf(out, "cpus:          %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	if (sysinfo(&si) == 0)
		fprintf(out, "memory:        %.1f GiB\n",
			(double)si.totalram * si.mem_unit / (1024.0 * 1024 * 1024));
	free(pr);
	return ferror(out) ? -EIO : 0;
}

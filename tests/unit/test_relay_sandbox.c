/* test_relay_sandbox.c — airlock-relay's seccomp filter (relay_sandbox.c)
 * in forked children: a child that installs it and then calls what the
 * relay's loop calls (epoll, eventfd and pipe reads and writes, sendmsg and
 * recvmsg on a socketpair, fstat, pwrite, getrandom, malloc) exits 0; a
 * child that calls something off the list (socket, openat, execve) dies of
 * SIGSYS, the whole process at once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay/relay_sandbox.h"
#include "tap.h"

/* Sanitizer builds allow open, execve and mprotect too (relay_sandbox.c):
 * there only socket(AF_INET) is still expected to kill. */
#if defined(__SANITIZE_ADDRESS__)
#define SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SAN 1
#endif
#endif

/* Runs fn in a child under the filter; returns its wait status. */
static int in_sandbox(void (*fn)(void))
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		if (relay_sandbox_install() < 0)
			_exit(99);
		fn();
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK_EQ_INT((int)waitpid(pid, &st, 0), (int)pid);
	return st;
}

static int pre_p[2], pre_sv[2], pre_ep = -1, pre_mfd = -1;

static void loop_calls(void)
{
	char buf[64] = "hello";
	struct epoll_event ev = {.events = EPOLLIN}, out;
	struct stat st;
	struct iovec iov = {.iov_base = buf, .iov_len = 5};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (write(pre_p[1], buf, 5) != 5 || read(pre_p[0], buf, sizeof(buf)) != 5)
		_exit(3);
	if (epoll_ctl(pre_ep, EPOLL_CTL_ADD, pre_sv[1], &ev) < 0)
		_exit(4);
	if (sendmsg(pre_sv[0], &mh, MSG_NOSIGNAL) != 5 || epoll_wait(pre_ep, &out, 1, 1000) != 1 ||
	    recvmsg(pre_sv[1], &mh, 0) != 5)
		_exit(5);
	if (send(pre_sv[1], "ab", 2, MSG_NOSIGNAL) != 2 || recv(pre_sv[0], buf, 2, 0) != 2)
		_exit(6);
	if (fstat(pre_mfd, &st) < 0 || pwrite(pre_mfd, buf, 2, 4096) != 2)
		_exit(7);
	if (getrandom(buf, 8, 0) != 8)
		_exit(8);
	for (int i = 0; i < 64; i++) { /* brk and mmap-backed blocks */
		void *a = malloc(i % 2 ? 64 : (size_t)1 << 20);
		if (!a)
			_exit(9);
		memset(a, 1, 64);
		free(a);
	}
	close(pre_p[0]);
}

static void call_socket(void)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
}

static void call_open(void)
{
	(void)open("/etc/hostname", O_RDONLY);
}

static void call_execve(void)
{
	char *argv[] = {"/bin/true", NULL};
	execve(argv[0], argv, argv + 1);
}

static void call_exec_mmap(void)
{
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void killed_by_sigsys(const char *what, void (*fn)(void), bool in_san_list)
{
#ifdef SAN
	if (in_san_list) {
		printf("# %s: allowed in sanitizer builds, not checked here\n", what);
		return;
	}
#endif
	int st = in_sandbox(fn);
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS))
		printf("# %s: wait status 0x%x, not SIGSYS\n", what, st);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

static void test_allowed(void)
{
	CHECK_EQ_INT(pipe(pre_p), 0);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, pre_sv), 0);
	pre_ep = epoll_create1(EPOLL_CLOEXEC);
	pre_mfd = memfd_create("t", 0);
	CHECK(pre_ep >= 0 && pre_mfd >= 0);
	CHECK_EQ_INT(ftruncate(pre_mfd, 8192), 0);
	int st = in_sandbox(loop_calls);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		printf("# wait status 0x%x\n", st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(relay_sandbox_nsyscalls() > 10);
}

static void test_socket(void)
{
	killed_by_sigsys("socket(AF_INET)", call_socket, false);
}

static void test_open(void)
{
	killed_by_sigsys("open", call_open, true);
}

static void test_execve(void)
{
	killed_by_sigsys("execve", call_execve, true);
}

static void test_exec_mmap(void)
{
	killed_by_sigsys("mmap(PROT_EXEC)", call_exec_mmap, false);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_allowed);
	RUN(test_socket);
	RUN(test_open);
	RUN(test_execve);
	RUN(test_exec_mmap);
	return tap_done();
}

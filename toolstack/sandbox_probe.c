/* sandbox_probe.c — see sandbox_probe.h. */
#include "toolstack/sandbox_probe.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

bool probe_sandbox_runas(const char *qemu, unsigned int uid, unsigned int timeout_ms)
{
	char chr[64], runas[32], greet[256];
	int sv[2];
	pid_t pid;
	bool ok = false;
	int ws;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return false;
	snprintf(chr, sizeof(chr), "socket,id=m,fd=%d", sv[1]);
	snprintf(runas, sizeof(runas), "%u:%u", uid, uid);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		fcntl(sv[1], F_SETFD, 0);
		execlp(qemu, qemu, "-machine", "none", "-nodefaults", "-display", "none",
		       "-chardev", chr, "-mon", "chardev=m,mode=control", "-sandbox",
		       "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
		       "-runas", runas, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return false;
	}
	/* The greeting goes out before QEMU drops privileges; a reply to a
	 * command comes from its main loop, after. */
	static const char cmd[] = "{\"execute\":\"qmp_capabilities\"}\n";
	uint64_t deadline = now_ms() + timeout_ms;
	size_t have = 0;
	bool sent = false;
	while (!ok && now_ms() < deadline && have < sizeof(greet) - 1) {
		struct pollfd p = {sv[0], POLLIN, 0};
		if (poll(&p, 1, (int)(deadline - now_ms())) != 1)
			break;
		ssize_t n = read(sv[0], greet + have, sizeof(greet) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		if (!sent && memmem(greet, have, "\"QMP\"", 5)) {
			sent = write_all(sv[0], cmd, sizeof(cmd) - 1) == 0;
			have = 0;
		} else if (sent) {
			ok = memmem(greet, have, "\"return\"", 8) != NULL;
		}
	}
	close(sv[0]); /* QEMU sees its monitor close; kill it anyway */
	kill(pid, SIGKILL);
	waitpid(pid, &ws, 0);
	log_debug("engine sandbox probe: elevateprivileges=deny with -runas %s",
		  ok ? "works" : "fails");
	return ok;
}

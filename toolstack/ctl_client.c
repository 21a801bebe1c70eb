/* ctl_client.c — see ctl_client.h. */
#include "toolstack/ctl_client.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Waits until fd is readable or `deadline` (ms, now_ms() clock) passes;
 * timeout_ms < 0 waits forever. 0, -ETIMEDOUT, -EINTR or -errno. */
static int wait_readable(int fd, int timeout_ms, uint64_t deadline)
{
	struct pollfd p = {fd, POLLIN, 0};
	int wait = timeout_ms < 0 ? -1 : (int)(deadline > now_ms() ? deadline - now_ms() : 0);
	int r = poll(&p, 1, wait);

	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

int ctl_open(const char *run_dir, const char *cmd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[256];
	int fd, n;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", run_dir) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	n = snprintf(line, sizeof(line), "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line) || write_all(fd, line, (size_t)n)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

int ctl_read_line(int fd, char *line, size_t size, int timeout_ms)
{
	size_t len = 0;
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);

	/* Byte by byte: the connection may turn into a console stream right
	 * after the line, and those bytes belong to the caller. */
	while (len + 1 < size) {
		int r = wait_readable(fd, timeout_ms, deadline);
		char c;
		ssize_t n;

		if (r == -EINTR)
			continue;
		if (r)
			return r;
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if (c == '\n')
			break;
		line[len++] = c;
	}
	line[len] = '\0';
	return (int)len;
}

int ctl_wait_close(int fd, int timeout_ms)
{
	char b[256];
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);

	for (;;) {
		int r = wait_readable(fd, timeout_ms, deadline);
		if (r == -EINTR)
			continue;
		if (r)
			return r;
		ssize_t n = read(fd, b, sizeof(b));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

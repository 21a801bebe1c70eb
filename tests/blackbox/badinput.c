/* badinput.c — hostile and broken clients against a running airlock-store.
 *
 *   badinput SOCKET PID
 *
 * Each case speaks raw bytes on its own connection and checks two things:
 * the offender gets the protocol's error or a closed connection, and an
 * innocent bystander connection keeps working (the daemon PID is alive and
 * answers). TAP output. The daemon should run with --max-conn-buffer 64K so
 * the "never reads" cases stay quick.
 */
#include "common/util.h"
#include "xs/xs_msg.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *sock_path;
static pid_t daemon_pid;
static int n_test, n_failed;

static void report(bool ok, const char *what)
{
	n_test++;
	if (!ok)
		n_failed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", n_test, what);
	fflush(stdout);
}

static int conn_open(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static int send_msg(int fd, uint32_t type, uint32_t req_id, const void *p, uint32_t len)
{
	struct xs_hdr h = {type, req_id, 0, len};
	uint8_t raw[XS_HDR_SIZE];

	xs_hdr_encode(&h, raw);
	if (write_all(fd, raw, sizeof(raw)) || (len && write_all(fd, p, len)))
		return -1;
	return 0;
}

/* Reads one message with a timeout; returns its type, -2 on EOF/reset,
 * -3 on timeout. Payload NUL-terminated into `out` (>= 4097 bytes). */
static int recv_msg(int fd, char *out, int timeout_ms, struct xs_hdr *hdr)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	uint8_t raw[XS_HDR_SIZE];
	struct xs_hdr h;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -3;
	if (read_full(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		return -2;
	if (xs_hdr_decode(raw, &h))
		return -2;
	if (read_full(fd, out, h.len) != (ssize_t)h.len)
		return -2;
	out[h.len] = '\0';
	if (hdr)
		*hdr = h;
	return (int)h.type;
}

/* Sends a request with args (each NUL-terminated) and returns the reply. */
static int request(int fd, uint32_t type, const char *payload, uint32_t len, char *out)
{
	static uint32_t id = 100;

	if (send_msg(fd, type, ++id, payload, len))
		return -2;
	for (;;) {
		struct xs_hdr h;
		int t = recv_msg(fd, out, 5000, &h);
		if (t < 0 || t != XS_WATCH_EVENT)
			return t;
	}
}

static bool error_is(int fd, uint32_t type, const char *payload, uint32_t len, const char *err)
{
	char out[XS_PAYLOAD_MAX + 1];
	int t = request(fd, type, payload, len, out);

	if (t != XS_ERROR || strcmp(out, err) != 0) {
		printf("# type %u: got reply type %d payload \"%s\", wanted ERROR %s\n", type, t,
		       t >= 0 ? out : "", err);
		return false;
	}
	return true;
}

/* The bystander: a fresh connection that writes and reads back. */
static bool daemon_healthy(void)
{
	char out[XS_PAYLOAD_MAX + 1];
	static const char w[] = "/bystander\0alive";
	int fd, t;
	bool ok;

	if (kill(daemon_pid, 0) != 0)
		return false;
	fd = conn_open();
	t = request(fd, XS_WRITE, w, sizeof(w) - 1, out);
	ok = t == XS_WRITE && request(fd, XS_READ, "/bystander", 11, out) == XS_READ &&
	     strcmp(out, "alive") == 0;
	close(fd);
	return ok;
}

static bool closed_by_peer(int fd)
{
	char out[XS_PAYLOAD_MAX + 1];

	for (;;) {
		int t = recv_msg(fd, out, 5000, NULL);
		if (t == -2)
			return true;
		if (t == -3)
			return false;
	}
}

static void case_oversize(void)
{
	int fd = conn_open();
	struct xs_hdr h = {XS_WRITE, 1, 0, 5000};
	uint8_t raw[XS_HDR_SIZE];

	xs_hdr_encode(&h, raw);
	write_all(fd, raw, sizeof(raw));
	report(closed_by_peer(fd), "payload length over 4096 closes the connection");
	close(fd);
	report(daemon_healthy(), "daemon serves others after an oversized message");
}

static void case_unknown_types(void)
{
	int fd = conn_open();

	report(error_is(fd, 99, "x", 2, "ENOSYS"), "unknown type 99 gets ENOSYS");
	report(error_is(fd, XS_RESTRICT, "1", 2, "ENOSYS"), "removed type RESTRICT gets ENOSYS");
	report(error_is(fd, XS_WATCH_EVENT, "/a\0t", 5, "ENOSYS"),
	       "client-sent WATCH_EVENT gets ENOSYS");
	report(error_is(fd, XS_INVALID, "", 0, "ENOSYS"), "XS_INVALID gets ENOSYS");
	report(daemon_healthy() && error_is(fd, XS_READ, "/nonexistent", 13, "ENOENT"),
	       "connection still usable after unknown types");
	close(fd);
}

static void case_malformed_payloads(void)
{
	int fd = conn_open();
	char big[XS_ABS_PATH_MAX + 100];

	report(error_is(fd, XS_READ, "/a", 2, "EINVAL"), "READ without terminator: EINVAL");
	report(error_is(fd, XS_WRITE, "/abc", 4, "EINVAL"),
	       "WRITE without path terminator: EINVAL");
	report(error_is(fd, XS_READ, "/a\0/b", 6, "EINVAL"), "READ with two args: EINVAL");
	report(error_is(fd, XS_WATCH, "/a", 3, "EINVAL"), "WATCH without token: EINVAL");
	report(error_is(fd, XS_TRANSACTION_END, "X", 2, "ENOENT"),
	       "TRANSACTION_END without transaction: ENOENT");
	report(error_is(fd, XS_READ, "/a//b", 6, "EINVAL"), "doubled slash: EINVAL");
	report(error_is(fd, XS_READ, "/a/", 4, "EINVAL"), "trailing slash: EINVAL");
	report(error_is(fd, XS_READ, "/a b", 5, "EINVAL"), "space in path: EINVAL");
	report(error_is(fd, XS_READ, "/a.b", 5, "EINVAL"), "dot in path: EINVAL");
	report(error_is(fd, XS_READ, "", 1, "EINVAL"), "empty path: EINVAL");
	report(error_is(fd, XS_WRITE, "@x\0v", 4, "EINVAL"), "write to special path: EINVAL");
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[XS_ABS_PATH_MAX + 1] = '\0';
	report(error_is(fd, XS_READ, big, XS_ABS_PATH_MAX + 2, "EINVAL"),
	       "path over 3072 bytes: EINVAL");
	report(error_is(fd, XS_SET_PERMS, "/\0q5", 5, "EINVAL"), "bad permission letter: EINVAL");
	report(error_is(fd, XS_SET_PERMS, "/\0r99999", 9, "EINVAL"), "domid out of range: EINVAL");
	report(error_is(fd, XS_INTRODUCE,
			"0\0"
			"0\0"
			"0",
			6, "EINVAL"),
	       "INTRODUCE dom0: EINVAL");
	report(error_is(fd, XS_DIRECTORY_PART,
			"/\0"
			"999999",
			9, "EINVAL"),
	       "DIRECTORY_PART offset beyond the list: EINVAL");
	close(fd);
	report(daemon_healthy(), "daemon healthy after malformed payloads");
}

static void case_disconnect_mid_message(void)
{
	for (int i = 0; i < 20; i++) {
		int fd = conn_open();
		struct xs_hdr h = {XS_WRITE, 1, 0, 100};
		uint8_t raw[XS_HDR_SIZE];
		xs_hdr_encode(&h, raw);
		/* Cut in the header for even i, in the payload for odd i. */
		write_all(fd, raw, i % 2 ? sizeof(raw) : 7);
		if (i % 2)
			write_all(fd, "/half/way", 9);
		close(fd);
	}
	report(daemon_healthy(), "clients that vanish mid-message harm nothing");
	{
		char out[XS_PAYLOAD_MAX + 1];
		int fd = conn_open();
		report(request(fd, XS_READ, "/half/way", 10, out) == XS_ERROR &&
			       strcmp(out, "ENOENT") == 0,
		       "a half-received write is not applied");
		close(fd);
	}
}

/* A client pipelines many requests and reads nothing for a while: the
 * daemon stops reading it (back-pressure) instead of buffering without
 * bound, serves others meanwhile, and loses no reply. */
static void case_pipelining_nonreader(void)
{
	/* Far more than the kernel buffers both ways (a few hundred KiB). */
	enum { N = 100000, MSG = XS_HDR_SIZE + 11 };
	int fd = conn_open();
	uint8_t *all = malloc((size_t)N * MSG);
	char out[XS_PAYLOAD_MAX + 1];
	size_t off = 0, total = (size_t)N * MSG;
	int sent, got = 0, expect_id = 1;
	bool order_ok = true;

	/* Large sends, so the kernel's socket buffer holds many requests and
	 * what stops us is the daemon no longer reading. */
	for (int i = 0; i < N; i++) {
		struct xs_hdr h = {XS_READ, (uint32_t)i + 1, 0, 11};
		xs_hdr_encode(&h, all + (size_t)i * MSG);
		memcpy(all + (size_t)i * MSG + XS_HDR_SIZE, "/bystander", 11);
	}
	fd_set_nonblock(fd, true);
	for (int stalls = 0; off < total && stalls < 20;) {
		ssize_t n = send(fd, all + off, MIN(total - off, 65536), MSG_NOSIGNAL);
		if (n < 0) {
			stalls++;
			usleep(10000);
			continue;
		}
		stalls = 0;
		off += (size_t)n;
	}
	report(off < total, "a non-reading client is stopped by back-pressure");
	report(daemon_healthy(), "others are served while it is stopped");
	/* Finish the request cut in half while draining replies (the daemon
	 * reads again only once we read). */
	while (off % MSG) {
		struct pollfd pfd = {fd, POLLIN | POLLOUT, 0};
		struct xs_hdr h;
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		if (pfd.revents & POLLOUT) {
			ssize_t n = send(fd, all + off, MSG - off % MSG, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
		}
		if ((pfd.revents & POLLIN) && recv_msg(fd, out, 5000, &h) == XS_READ) {
			got++;
			order_ok &= h.req_id == (uint32_t)expect_id++;
		}
	}
	fd_set_nonblock(fd, false);
	sent = (int)(off / MSG);
	while (got < sent) {
		struct xs_hdr h;
		if (recv_msg(fd, out, 5000, &h) != XS_READ)
			break;
		got++;
		order_ok &= h.req_id == (uint32_t)expect_id++;
	}
	printf("# %d of %d requests accepted before back-pressure, %d replies read\n", sent, N,
	       got);
	report(got == sent && order_ok, "every pipelined request gets its reply, in order");
	free(all);
	close(fd);
}

/* A client watches everything and never reads: its queued events pass the
 * daemon's per-connection limit and it is disconnected; nobody else is. */
static void case_event_hoarder(void)
{
	int hoarder = conn_open(), writer = conn_open();
	char out[XS_PAYLOAD_MAX + 1], w[64];
	bool writes_ok = true;

	request(hoarder, XS_WATCH, "/\0all", 6, out);
	for (int i = 0; i < 5000 && writes_ok; i++) {
		int l = snprintf(w, sizeof(w), "/hoard/n%d", i % 50);
		memcpy(w + l + 1, "0123456789abcdef0123456789", 26);
		writes_ok = request(writer, XS_WRITE, w, (uint32_t)l + 27, out) == XS_WRITE;
	}
	report(writes_ok, "the writer is never blocked by a watcher that does not read");
	report(closed_by_peer(hoarder), "a watcher whose events pile up is disconnected");
	report(daemon_healthy(), "daemon healthy after dropping the hoarder");
	close(hoarder);
	close(writer);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: badinput SOCKET PID\n");
		return 2;
	}
	sock_path = argv[1];
	daemon_pid = atoi(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	report(daemon_healthy(), "daemon healthy at start");
	case_oversize();
	case_unknown_types();
	case_malformed_payloads();
	case_disconnect_mid_message();
	case_pipelining_nonreader();
	case_event_hoarder();
	printf("1..%d\n", n_test);
	return n_failed ? 1 : 0;
}

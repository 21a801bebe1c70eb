/* test_xs_client.c — xs_client against a scripted fake store.
 *
 * Each test binds a UNIX socket, forks a child that accepts one connection
 * and plays a script (checking the requests it gets, sending replies,
 * events, strays, garbage), and drives the client from the parent. The
 * child's verdict is its exit status, so a wrong request fails the test
 * too. These are the orderings a real store rarely produces on demand:
 * events before a reply, stray replies, DIRECTORY_PART restarts, broken
 * streams. The same scripts also run over a character device (a pty in raw
 * mode standing in for a stub domain's virtio-serial port), which the
 * client opens instead of connecting when XENSTORED_PATH names one.
 */
#include "common/util.h"
#include "tap.h"
#include "xs/xs_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char sock_path[108];

/* --- the fake store (child side) --------------------------------------- */

struct req_msg {
	struct xs_hdr h;
	uint8_t payload[XS_PAYLOAD_MAX + 1];
};

/* Reads one request; exits the child with status 10 on EOF or error. */
static void srv_recv(int fd, struct req_msg *m)
{
	uint8_t raw[XS_HDR_SIZE];

	if (read_full(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw) || xs_hdr_decode(raw, &m->h))
		_exit(10);
	if (read_full(fd, m->payload, m->h.len) != (ssize_t)m->h.len)
		_exit(10);
	m->payload[m->h.len] = 0;
}

/* Reads one request and exits with status 11 unless it has `type` and
 * exactly the `len` payload bytes `want`. */
static void srv_expect(int fd, struct req_msg *m, uint32_t type, const void *want, size_t len)
{
	srv_recv(fd, m);
	if (m->h.type != type || m->h.len != len || memcmp(m->payload, want, len) != 0)
		_exit(11);
}

static void srv_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx, const void *p, size_t len)
{
	struct xs_hdr h = {type, req_id, tx, (uint32_t)len};
	uint8_t raw[XS_HDR_SIZE];

	xs_hdr_encode(&h, raw);
	if (write_all(fd, raw, sizeof(raw)) || (len && write_all(fd, p, len)))
		_exit(12);
}

/* Returns once the client has closed the connection. */
static void srv_wait_eof(int fd)
{
	char b[64];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

#define EXPECT(fd, m, type, lit) srv_expect(fd, m, type, lit, sizeof(lit) - 1)
#define REPLY(fd, m, type, lit)                                                                    \
	srv_send(fd, type, (m)->h.req_id, (m)->h.tx_id, lit, sizeof(lit) - 1)

/* Starts the fake store playing `script`; returns its pid. */
static pid_t serve(void (*script)(int fd))
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd, fd;
	pid_t pid;

	snprintf(sock_path, sizeof(sock_path), "/tmp/test_xs_client.%d.sock", (int)getpid());
	unlink(sock_path);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		perror("fake store");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(13);
		script(fd);
		close(fd);
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* Starts the fake store playing `script` on the master side of a fresh
 * pty; the slave's path (a character device) goes to `path`, the slave's
 * fd, kept open in raw mode for the test's duration, to *keep. */
static pid_t serve_pty(void (*script)(int fd), char *path, size_t pathsz, int *keep)
{
	struct termios t;
	int m, s;
	pid_t pid;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || !ptsname(m)) {
		perror("pty");
		exit(1);
	}
	snprintf(path, pathsz, "%s", ptsname(m));
	s = open(path, O_RDWR | O_NOCTTY);
	if (s < 0 || tcgetattr(s, &t)) {
		perror("pty slave");
		exit(1);
	}
	cfmakeraw(&t); /* the protocol is binary: no echo, no line editing */
	if (tcsetattr(s, TCSANOW, &t)) {
		perror("tcsetattr");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		close(s);
		script(m);
		/* Let the client read everything before the master goes. */
		srv_wait_eof(m);
		_exit(0);
	}
	close(m);
	*keep = s;
	return pid;
}

/* Waits for the fake store; true if its script ran to the end. */
static bool served_ok(pid_t pid)
{
	int st;

	unlink(sock_path);
	if (waitpid(pid, &st, 0) != pid)
		return false;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("# fake store exited with status %d\n",
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static struct xs_client *connect_or_die(void)
{
	struct xs_client *c = NULL;

	if (xs_client_open(sock_path, &c)) {
		printf("# cannot connect to the fake store\n");
		exit(1);
	}
	return c;
}

/* --- tests ------------------------------------------------------------- */

static void script_read(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_READ, "/a\0");
	REPLY(fd, &m, XS_READ, "xyz");
	EXPECT(fd, &m, XS_WRITE, "/a\0v\0w"); /* binary value, sent as is */
	REPLY(fd, &m, XS_WRITE, "OK\0");
}

static void test_read_write(void)
{
	pid_t pid = serve(script_read);
	struct xs_client *c = connect_or_die();
	struct buf v = BUF_INIT;

	CHECK_EQ_INT(xs_client_read(c, 0, "/a", &v), 0);
	CHECK_EQ_INT(v.len, 3);
	CHECK(memcmp(v.data, "xyz", 4) == 0); /* with the uncounted NUL */
	CHECK_EQ_INT(xs_client_write(c, 0, "/a", "v\0w", 3), 0);
	xs_client_close(c);
	buf_free(&v);
	CHECK(served_ok(pid));
}

static void script_events_first(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_WATCH, "/w\0tok\0");
	srv_send(fd, XS_WATCH_EVENT, 0, 0, "/w\0tok\0", 7);
	srv_send(fd, XS_READ, m.h.req_id + 100, 0, "stray", 5);
	REPLY(fd, &m, XS_WATCH, "OK\0");
	EXPECT(fd, &m, XS_READ, "/w\0");
	srv_send(fd, XS_WATCH_EVENT, 0, 0, "/w/x\0tok\0", 9);
	REPLY(fd, &m, XS_READ, "1");
	srv_send(fd, XS_WATCH_EVENT, 0, 0, "/w/y\0tok\0", 9);
	srv_wait_eof(fd);
}

static void test_events_before_reply(void)
{
	pid_t pid = serve(script_events_first);
	struct xs_client *c = connect_or_die();
	struct buf v = BUF_INIT, p = BUF_INIT, t = BUF_INIT;

	CHECK_EQ_INT(xs_client_watch(c, "/w", "tok"), 0);
	CHECK_EQ_INT(xs_client_read(c, 0, "/w", &v), 0);
	CHECK_EQ_STR((char *)v.data, "1");
	CHECK_EQ_INT(xs_client_read_watch(c, 0, &p, &t), 0);
	CHECK_EQ_STR((char *)p.data, "/w");
	CHECK_EQ_STR((char *)t.data, "tok");
	CHECK_EQ_INT(xs_client_read_watch(c, 0, &p, &t), 0);
	CHECK_EQ_STR((char *)p.data, "/w/x");
	CHECK_EQ_INT(xs_client_read_watch(c, 1000, &p, &t), 0);
	CHECK_EQ_STR((char *)p.data, "/w/y");
	CHECK_EQ_INT(xs_client_read_watch(c, 30, &p, &t), -ETIMEDOUT);
	xs_client_close(c);
	buf_free(&v);
	buf_free(&p);
	buf_free(&t);
	CHECK(served_ok(pid));
}

static void script_errors(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_READ, "/x\0");
	REPLY(fd, &m, XS_ERROR, "EACCES\0");
	EXPECT(fd, &m, XS_MKDIR, "/x\0");
	REPLY(fd, &m, XS_ERROR, "EWHATEVER\0");
	EXPECT(fd, &m, XS_RM, "/x\0");
	REPLY(fd, &m, XS_RM, "OK\0");
}

static void test_error_replies(void)
{
	pid_t pid = serve(script_errors);
	struct xs_client *c = connect_or_die();
	struct buf v = BUF_INIT;
	char big[XS_PAYLOAD_MAX];

	CHECK_EQ_INT(xs_client_read(c, 0, "/x", &v), -EACCES);
	CHECK_EQ_INT(xs_client_mkdir(c, 0, "/x"), -EINVAL);
	memset(big, 'a', sizeof(big));
	CHECK_EQ_INT(xs_client_write(c, 0, "/x", big, sizeof(big)), -E2BIG); /* never sent */
	CHECK_EQ_INT(xs_client_rm(c, 0, "/x"), 0);
	CHECK(!xs_client_is_broken(c));
	xs_client_close(c);
	buf_free(&v);
	CHECK(served_ok(pid));
}

static void script_dir_parts(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_DIRECTORY, "/d\0");
	REPLY(fd, &m, XS_ERROR, "E2BIG\0");
	EXPECT(fd, &m, XS_DIRECTORY_PART,
	       "/d\0"
	       "0\0");
	REPLY(fd, &m, XS_DIRECTORY_PART, "5\0a\0bb\0");
	EXPECT(fd, &m, XS_DIRECTORY_PART,
	       "/d\0"
	       "5\0");
	REPLY(fd, &m, XS_DIRECTORY_PART, "6\0zz\0"); /* changed: start over */
	EXPECT(fd, &m, XS_DIRECTORY_PART,
	       "/d\0"
	       "0\0");
	REPLY(fd, &m, XS_DIRECTORY_PART, "6\0a\0bb\0");
	EXPECT(fd, &m, XS_DIRECTORY_PART,
	       "/d\0"
	       "5\0");
	REPLY(fd, &m, XS_DIRECTORY_PART, "6\0c\0\0");
	EXPECT(fd, &m, XS_DIRECTORY, "/e\0");
	REPLY(fd, &m, XS_DIRECTORY, "");
}

static void test_directory_part(void)
{
	pid_t pid = serve(script_dir_parts);
	struct xs_client *c = connect_or_die();
	struct buf names = BUF_INIT;
	unsigned int n = 99;

	CHECK_EQ_INT(xs_client_directory(c, 0, "/d", &names, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(names.len, 7);
	CHECK(memcmp(names.data, "a\0bb\0c\0", 7) == 0);
	CHECK_EQ_INT(xs_client_directory(c, 0, "/e", &names, &n), 0);
	CHECK_EQ_INT(n, 0);
	xs_client_close(c);
	buf_free(&names);
	CHECK(served_ok(pid));
}

static void script_txn_perms(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_TRANSACTION_START, "\0");
	REPLY(fd, &m, XS_TRANSACTION_START, "17\0");
	EXPECT(fd, &m, XS_WRITE,
	       "/t\0"
	       "1");
	if (m.h.tx_id != 17)
		_exit(20);
	REPLY(fd, &m, XS_WRITE, "OK\0");
	EXPECT(fd, &m, XS_TRANSACTION_END, "T\0");
	if (m.h.tx_id != 17)
		_exit(21);
	REPLY(fd, &m, XS_ERROR, "EAGAIN\0");
	EXPECT(fd, &m, XS_SET_PERMS, "/t\0n1\0r5\0b7\0");
	REPLY(fd, &m, XS_SET_PERMS, "OK\0");
	EXPECT(fd, &m, XS_GET_PERMS, "/t\0");
	REPLY(fd, &m, XS_GET_PERMS, "n1\0r5\0b7\0");
	EXPECT(fd, &m, XS_GET_PERMS, "/t\0");
	REPLY(fd, &m, XS_GET_PERMS, "n1\0x5\0");
}

static void test_txn_and_perms(void)
{
	pid_t pid = serve(script_txn_perms);
	struct xs_client *c = connect_or_die();
	struct xs_perm set[3] = {{1, XS_PERM_NONE}, {5, XS_PERM_READ}, {7, XS_PERM_BOTH}}, got[2];
	uint32_t tx = 0;
	unsigned int n = 0;

	CHECK_EQ_INT(xs_client_txn_start(c, &tx), 0);
	CHECK_EQ_INT(tx, 17);
	CHECK_EQ_INT(xs_client_write(c, tx, "/t", "1", 1), 0);
	CHECK_EQ_INT(xs_client_txn_end(c, tx, true), -EAGAIN);
	CHECK_EQ_INT(xs_client_set_perms(c, 0, "/t", set, 3), 0);
	CHECK_EQ_INT(xs_client_get_perms(c, 0, "/t", got, 2, &n), -E2BIG);
	CHECK_EQ_INT(xs_client_get_perms(c, 0, "/t", got, 2, &n), -EPROTO);
	CHECK(!xs_client_is_broken(c));
	xs_client_close(c);
	CHECK(served_ok(pid));
}

static void script_domains(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_INTRODUCE,
	       "3\0"
	       "0\0"
	       "0\0");
	REPLY(fd, &m, XS_INTRODUCE, "OK\0");
	EXPECT(fd, &m, XS_IS_DOMAIN_INTRODUCED, "3\0");
	REPLY(fd, &m, XS_IS_DOMAIN_INTRODUCED, "T\0");
	EXPECT(fd, &m, XS_GET_DOMAIN_PATH, "3\0");
	REPLY(fd, &m, XS_GET_DOMAIN_PATH, "/local/domain/3\0");
	EXPECT(fd, &m, XS_SET_TARGET,
	       "4\0"
	       "3\0");
	REPLY(fd, &m, XS_SET_TARGET, "OK\0");
	EXPECT(fd, &m, XS_GET_QUOTA, "3\0nodes\0");
	REPLY(fd, &m, XS_GET_QUOTA, "42\0");
	EXPECT(fd, &m, XS_SET_QUOTA,
	       "nodes\0"
	       "7\0");
	REPLY(fd, &m, XS_SET_QUOTA, "OK\0");
	EXPECT(fd, &m, XS_GET_QUOTA, "");
	REPLY(fd, &m, XS_GET_QUOTA, "nodes watches\0");
	EXPECT(fd, &m, XS_CONTROL, "print\0hi\0");
	REPLY(fd, &m, XS_CONTROL, "OK\0");
	EXPECT(fd, &m, XS_RELEASE, "3\0");
	REPLY(fd, &m, XS_RELEASE, "OK\0");
	EXPECT(fd, &m, XS_RESET_WATCHES, "\0");
	REPLY(fd, &m, XS_RESET_WATCHES, "OK\0");
}

static void test_domains_quota_control(void)
{
	pid_t pid = serve(script_domains);
	struct xs_client *c = connect_or_die();
	const char *args[2] = {"print", "hi"};
	struct buf b = BUF_INIT;
	unsigned int q = 0;
	bool yes = false;

	CHECK_EQ_INT(xs_client_introduce(c, 3), 0);
	CHECK_EQ_INT(xs_client_is_introduced(c, 3, &yes), 0);
	CHECK(yes);
	CHECK_EQ_INT(xs_client_get_domain_path(c, 3, &b), 0);
	CHECK_EQ_INT(b.len, strlen("/local/domain/3"));
	CHECK_EQ_STR((char *)b.data, "/local/domain/3");
	CHECK_EQ_INT(xs_client_set_target(c, 4, 3), 0);
	CHECK_EQ_INT(xs_client_get_quota(c, 3, "nodes", &q), 0);
	CHECK_EQ_INT(q, 42);
	CHECK_EQ_INT(xs_client_set_quota(c, -1, "nodes", 7), 0);
	CHECK_EQ_INT(xs_client_list_quotas(c, &b), 0);
	CHECK_EQ_INT(b.len, strlen("nodes watches"));
	CHECK_EQ_INT(xs_client_control(c, args, 2, &b), 0);
	CHECK_EQ_INT(b.len, 2);
	CHECK_EQ_INT(xs_client_release(c, 3), 0);
	CHECK_EQ_INT(xs_client_reset_watches(c), 0);
	xs_client_close(c);
	buf_free(&b);
	CHECK(served_ok(pid));
}

static void script_hangup(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_READ, "/a\0");
	/* half a header, then EOF */
	if (write_all(fd, "\2\0\0\0\1\0", 6))
		_exit(12);
}

static void script_oversize(int fd)
{
	struct req_msg m;

	EXPECT(fd, &m, XS_READ, "/a\0");
	srv_send(fd, XS_READ, m.h.req_id, 0, NULL, 0);
	EXPECT(fd, &m, XS_READ, "/a\0");
	{
		struct xs_hdr h = {XS_READ, m.h.req_id, 0, XS_PAYLOAD_MAX + 1};
		uint8_t raw[XS_HDR_SIZE];
		xs_hdr_encode(&h, raw);
		if (write_all(fd, raw, sizeof(raw)))
			_exit(12);
	}
	srv_wait_eof(fd);
}

static void test_broken_connection(void)
{
	struct buf v = BUF_INIT, t = BUF_INIT;
	struct xs_client *c;
	pid_t pid;

	pid = serve(script_hangup);
	c = connect_or_die();
	CHECK_EQ_INT(xs_client_read(c, 0, "/a", &v), -ECONNRESET);
	CHECK(xs_client_is_broken(c));
	CHECK_EQ_INT(xs_client_mkdir(c, 0, "/a"), -ECONNRESET);
	CHECK_EQ_INT(xs_client_read_watch(c, 0, &v, &t), -ECONNRESET);
	xs_client_close(c);
	CHECK(served_ok(pid));

	pid = serve(script_oversize);
	c = connect_or_die();
	CHECK_EQ_INT(xs_client_read(c, 0, "/a", &v), 0);
	CHECK_EQ_INT(v.len, 0);
	CHECK_EQ_INT(xs_client_read(c, 0, "/a", &v), -EPROTO);
	CHECK_EQ_INT(xs_client_read(c, 0, "/a", &v), -EPROTO);
	xs_client_close(c);
	CHECK(served_ok(pid));
	buf_free(&v);
	buf_free(&t);
}

/* The client on a character device: the read/write, event and error
 * scripts over a raw pty, found through XENSTORED_PATH like a stub
 * domain's store port. */
static void test_char_device(void)
{
	struct buf v = BUF_INIT, p = BUF_INIT, t = BUF_INIT;
	struct xs_client *c = NULL;
	char dev[64];
	struct stat st;
	int keep;
	pid_t pid;

	pid = serve_pty(script_read, dev, sizeof(dev), &keep);
	CHECK(stat(dev, &st) == 0 && S_ISCHR(st.st_mode));
	setenv("XENSTORED_PATH", dev, 1);
	CHECK_EQ_INT(xs_client_open(NULL, &c), 0);
	unsetenv("XENSTORED_PATH");
	if (!c) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(keep);
		return;
	}
	CHECK_EQ_INT(xs_client_read(c, 0, "/a", &v), 0);
	CHECK_EQ_INT(v.len, 3);
	CHECK(memcmp(v.data, "xyz", 4) == 0);
	CHECK_EQ_INT(xs_client_write(c, 0, "/a", "v\0w", 3), 0);
	xs_client_close(c);
	close(keep);
	CHECK(served_ok(pid));

	pid = serve_pty(script_events_first, dev, sizeof(dev), &keep);
	CHECK_EQ_INT(xs_client_open(dev, &c), 0);
	CHECK_EQ_INT(xs_client_watch(c, "/w", "tok"), 0);
	CHECK_EQ_INT(xs_client_read(c, 0, "/w", &v), 0);
	CHECK_EQ_STR((char *)v.data, "1");
	CHECK_EQ_INT(xs_client_read_watch(c, 0, &p, &t), 0);
	CHECK_EQ_STR((char *)p.data, "/w");
	CHECK_EQ_INT(xs_client_read_watch(c, 0, &p, &t), 0);
	CHECK_EQ_STR((char *)p.data, "/w/x");
	CHECK_EQ_INT(xs_client_read_watch(c, 1000, &p, &t), 0); /* poll() on the device */
	CHECK_EQ_STR((char *)p.data, "/w/y");
	CHECK_EQ_INT(xs_client_read_watch(c, 30, &p, &t), -ETIMEDOUT);
	xs_client_close(c);
	close(keep);
	CHECK(served_ok(pid));

	pid = serve_pty(script_errors, dev, sizeof(dev), &keep);
	CHECK_EQ_INT(xs_client_open(dev, &c), 0);
	CHECK_EQ_INT(xs_client_read(c, 0, "/x", &v), -EACCES);
	CHECK_EQ_INT(xs_client_mkdir(c, 0, "/x"), -EINVAL);
	CHECK_EQ_INT(xs_client_rm(c, 0, "/x"), 0);
	CHECK(!xs_client_is_broken(c));
	xs_client_close(c);
	close(keep);
	CHECK(served_ok(pid));

	/* A device path that is not there: ENOENT, as for a socket. */
	CHECK_EQ_INT(xs_client_open("/dev/nonexistent-airlock-port", &c), -ENOENT);
	buf_free(&v);
	buf_free(&p);
	buf_free(&t);
}

static void test_no_store(void)
{
	struct xs_client *c = NULL;

	CHECK_EQ_INT(xs_client_open("/nonexistent/dir/store.sock", &c), -ENOENT);
	CHECK(c == NULL);
	setenv("XENSTORED_PATH", "/some/where.sock", 1);
	CHECK_EQ_STR(xs_client_default_path(), "/some/where.sock");
	setenv("XENSTORED_PATH", "", 1);
	CHECK_EQ_STR(xs_client_default_path(), XS_DEFAULT_SOCKET);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_read_write);
	RUN(test_events_before_reply);
	RUN(test_error_replies);
	RUN(test_directory_part);
	RUN(test_txn_and_perms);
	RUN(test_domains_quota_control);
	RUN(test_broken_connection);
	RUN(test_char_device);
	RUN(test_no_store);
	return tap_done();
}

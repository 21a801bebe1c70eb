/* test_qmp.c — the QMP client against a scripted fake monitor, the message
 * parser on its own, and one session with a real QEMU.
 *
 * A fake monitor is a forked child holding one end of a socketpair: it
 * plays a script (greeting, replies, events, garbage, silence), checking
 * each request line it reads; its exit status is its verdict, so a wrong
 * request fails the test too. The parent drives the client on the other
 * end.
 */
#include "common/util.h"
#include "qmp/qmp.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GREETING                                                                                   \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "         \
	"\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* --- the fake monitor (child side) ---------------------------------------- */

/* Reads one request line (without the newline) into buf; exits 10 at EOF. */
static void srv_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r <= 0)
			_exit(10);
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	buf[n] = '\0';
}

/* Reads a request and exits 11 unless it contains each of the NULL-ended
 * fragments. */
static void srv_expect(int fd, ...)
{
	char line[4096];
	va_list ap;
	const char *frag;

	srv_line(fd, line, sizeof(line));
	va_start(ap, fd);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(line, frag)) {
			fprintf(stderr, "fake monitor: \"%s\" lacks \"%s\"\n", line, frag);
			_exit(11);
		}
	va_end(ap);
}

static void srv_send(int fd, const char *s)
{
	if (write_all(fd, s, strlen(s)))
		_exit(12);
}

/* Greeting, then the capabilities handshake (id 1). */
static void srv_handshake(int fd)
{
	srv_send(fd, GREETING);
	srv_expect(fd, "\"execute\":\"qmp_capabilities\"", "\"id\":1", NULL);
	srv_send(fd, "{\"return\": {}, \"id\": 1}\r\n");
}

static void srv_wait_eof(int fd)
{
	char b[256];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

struct fake {
	pid_t pid;
	int fd; /* the client's end */
};

/* Starts a fake monitor playing `script`. */
static struct fake serve(void (*script)(int fd))
{
	struct fake f = {-1, -1};
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return f;
	f.pid = fork();
	if (f.pid == 0) {
		close(sv[0]);
		signal(SIGPIPE, SIG_IGN);
		script(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	f.fd = sv[0];
	return f;
}

/* The fake monitor's exit status (0: its script ran to the end). */
static int finish(struct fake f)
{
	int st = -1;

	if (waitpid(f.pid, &st, 0) != f.pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct qmp *open_fake(struct fake f, int timeout_ms, int *r)
{
	struct qmp *q = NULL;

	*r = qmp_open_fd(f.fd, timeout_ms, &q);
	return q;
}

/* --- sessions ------------------------------------------------------------- */

static void script_basic(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "\"execute\":\"query-status\"", "\"id\":2", NULL);
	srv_send(fd, "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
		     "\"running\": true}, \"id\": 2}\r\n");
	srv_expect(fd, "\"execute\":\"device_del\"", "\"arguments\":{\"id\":\"disk0\"}", "\"id\":3",
		   NULL);
	srv_send(fd, "{\"return\": {}, \"id\": 3}\n");
	srv_wait_eof(fd);
}

static void test_basic(void)
{
	struct fake f = serve(script_basic);
	struct json_object *ret = NULL, *v = NULL, *args;
	struct qmp *q;
	int r;

	q = open_fake(f, 2000, &r);
	CHECK_EQ_INT(r, 0);
	if (!q)
		return;
	CHECK_EQ_INT(qmp_version(q)->major, 7);
	CHECK_EQ_INT(qmp_version(q)->minor, 2);
	CHECK_EQ_INT(qmp_version(q)->micro, 22);
	CHECK_EQ_STR(qmp_version(q)->package, "Debian 1:7.2+dfsg-7");
	CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, &ret, 2000), 0);
	CHECK(ret && json_object_object_get_ex(ret, "status", &v));
	CHECK_EQ_STR(json_object_get_string(v), "running");
	json_object_put(ret);
	args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_string("disk0"));
	CHECK_EQ_INT(qmp_execute(q, "device_del", args, NULL, 2000), 0);
	json_object_put(args);
	CHECK_EQ_INT(qmp_events_pending(q), 0);
	CHECK(!qmp_is_broken(q));
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);
}

static void script_error(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "\"execute\":\"no-such-thing\"", "\"id\":2", NULL);
	srv_send(fd, "{\"id\": 2, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
		     "\"The command no-such-thing has not been found\"}}\r\n");
	srv_expect(fd, "\"execute\":\"query-name\"", NULL);
	srv_send(fd, "{\"return\": {\"name\": \"g1\"}, \"id\": 3}\r\n");
	srv_wait_eof(fd);
}

static void test_error_reply(void)
{
	struct fake f = serve(script_error);
	struct qmp *q;
	char *json = NULL;
	int r;

	q = open_fake(f, 2000, &r);
	CHECK_EQ_INT(r, 0);
	if (!q)
		return;
	CHECK_EQ_INT(qmp_execute(q, "no-such-thing", NULL, NULL, 2000), -EREMOTEIO);
	CHECK_EQ_STR(qmp_error_class(q), "CommandNotFound");
	CHECK_EQ_STR(qmp_error_desc(q), "The command no-such-thing has not been found");
	/* The connection goes on after an error reply. */
	CHECK_EQ_INT(qmp_execute_json(q, "query-name", NULL, &json, 2000), 0);
	CHECK_EQ_STR(json, "{\"name\":\"g1\"}");
	free(json);
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);
}

static void script_events(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "\"execute\":\"system_powerdown\"", NULL);
	srv_send(fd, "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456}, "
		     "\"event\": \"POWERDOWN\"}\r\n");
	/* A stray reply (the answer to an old command), then events, then
	 * ours. */
	srv_send(fd, "{\"return\": {}, \"id\": 77}\r\n");
	srv_send(fd,
		 "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
		 "{\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 3}, \"timestamp\": "
		 "{\"seconds\": 1, \"microseconds\": 3}}\r\n");
	srv_send(fd, "{\"return\": {}, \"id\": 2}\r\n");
	srv_send(fd,
		 "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
		 "\"guest-shutdown\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 4}}\r\n"
		 "{\"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": "
		 "\"host-qmp-system-reset\"}}\r\n"
		 "{\"event\": \"RESUME\"}\r\n"
		 "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\", \"info\": "
		 "{\"type\": \"hyper-v\"}}}\r\n");
	srv_expect(fd, "\"execute\":\"query-status\"", "\"id\":3", NULL);
	srv_send(fd, "{\"return\": {\"status\": \"paused\"}, \"id\": 3}\r\n");
	srv_wait_eof(fd);
}

static void test_events_interleaved(void)
{
	struct fake f = serve(script_events);
	struct qmp_event ev;
	struct qmp *q;
	int r;

	q = open_fake(f, 2000, &r);
	CHECK_EQ_INT(r, 0);
	if (!q)
		return;
	CHECK_EQ_INT(qmp_execute(q, "system_powerdown", NULL, NULL, 2000), 0);
	/* The second command's reply comes after more events: they queue. */
	CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, NULL, 2000), 0);
	CHECK_EQ_INT(qmp_events_pending(q), 7);

	CHECK(qmp_next_event(q, &ev));
	CHECK_EQ_INT(ev.type, QMP_EV_POWERDOWN);
	CHECK_EQ_STR(ev.name, "POWERDOWN");
	CHECK_EQ_INT(ev.ts_sec, 1700000000);
	CHECK_EQ_INT(ev.ts_usec, 123456);
	CHECK(ev.data == NULL);
	qmp_event_clear(&ev);

	CHECK(qmp_next_event(q, &ev));
	CHECK_EQ_INT(ev.type, QMP_EV_STOP);
	qmp_event_clear(&ev);

	CHECK(qmp_next_event(q, &ev));
	CHECK_EQ_INT(ev.type, QMP_EV_OTHER);
	CHECK_EQ_STR(ev.name, "RTC_CHANGE");
	CHECK(ev.data != NULL);
	qmp_event_clear(&ev);

	CHECK(qmp_next_event(q, &ev));
	CHECK_EQ_INT(ev.type, QMP_EV_SHUTDOWN);
	CHECK(ev.guest);
	CHECK_EQ_STR(ev.reason, "guest-shutdown");
	qmp_event_clear(&ev);

	CHECK(qmp_next_event(q, &ev));
	CHECK_EQ_INT(ev.type, QMP_EV_RESET);
	CHECK(!ev.guest);
	CHECK_EQ_STR(ev.reason, "host-qmp-system-reset");
	CHECK_EQ_INT(ev.ts_sec, -1);
	qmp_event_clear(&ev);

	CHECK(qmp_next_event(q, &ev));
	CHECK_EQ_INT(ev.type, QMP_EV_RESUME);
	qmp_event_clear(&ev);

	CHECK(qmp_next_event(q, &ev));
	CHECK_EQ_INT(ev.type, QMP_EV_GUEST_PANICKED);
	CHECK_EQ_STR(ev.action, "pause");
	qmp_event_clear(&ev);

	CHECK(!qmp_next_event(q, &ev));
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);
}

/* --- broken streams --------------------------------------------------------- */

static void script_truncated(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	srv_send(fd, "{\"return\": {\"status\": \"runn");
	/* and hangs up mid-message */
}

static void script_garbage(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	srv_send(fd, "{\"return\": {}, \"id\": 2} trailing\r\n");
	srv_wait_eof(fd);
}

static void script_not_object(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	srv_send(fd, "[1, 2, 3]\n");
	srv_wait_eof(fd);
}

static void script_huge(int fd)
{
	static char block[65536];

	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	memset(block, ' ', sizeof(block));
	block[0] = '{';
	block[1] = '"';
	for (int i = 0; i < 20; i++) /* 1.25 MiB, no newline */
		if (write_all(fd, block, sizeof(block)))
			break;
	srv_wait_eof(fd);
}

static void script_no_greeting(int fd)
{
	srv_send(fd, "{\"event\": \"STOP\"}\r\n");
	srv_wait_eof(fd);
}

static void script_not_qmp(int fd)
{
	srv_send(fd, "SSH-2.0-OpenSSH_9.2\r\n");
	srv_wait_eof(fd);
}

static void script_bad_error(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	srv_send(fd, "{\"error\": {\"class\": 7}, \"id\": 2}\r\n");
	srv_wait_eof(fd);
}

static void script_deep(int fd)
{
	char line[1024];
	size_t n = 0;

	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	n += (size_t)sprintf(line, "{\"return\": ");
	for (int i = 0; i < 200; i++)
		line[n++] = '[';
	line[n++] = '\n';
	line[n] = '\0';
	srv_send(fd, line);
	srv_wait_eof(fd);
}

static void script_bad_utf8(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	srv_send(fd, "{\"return\": \"\xff\xfe\", \"id\": 2}\r\n");
	srv_wait_eof(fd);
}

static void script_nul(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "query-status", NULL);
	if (write_all(fd, "{\"return\": {}, \0\"id\": 2}\r\n", 26))
		_exit(12);
	srv_wait_eof(fd);
}

/* Runs query-status against `script` and returns its result. */
static int broken_case(void (*script)(int fd))
{
	struct fake f = serve(script);
	struct qmp *q;
	int r, r2;

	q = open_fake(f, 2000, &r);
	if (!q) {
		CHECK_EQ_INT(finish(f), 0);
		return r;
	}
	r = qmp_execute(q, "query-status", NULL, NULL, 2000);
	CHECK(qmp_is_broken(q));
	/* Sticky: every later call fails the same way, without waiting. */
	r2 = qmp_execute(q, "query-status", NULL, NULL, 2000);
	CHECK_EQ_INT(r2, r);
	CHECK_EQ_INT(qmp_on_readable(q), r);
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);
	return r;
}

static void test_truncated(void)
{
	CHECK_EQ_INT(broken_case(script_truncated), -ECONNRESET);
}

static void test_garbage(void)
{
	CHECK_EQ_INT(broken_case(script_garbage), -EBADMSG);
	CHECK_EQ_INT(broken_case(script_not_object), -EBADMSG);
	CHECK_EQ_INT(broken_case(script_bad_error), -EBADMSG);
	CHECK_EQ_INT(broken_case(script_deep), -EBADMSG);
	CHECK_EQ_INT(broken_case(script_bad_utf8), -EBADMSG);
	CHECK_EQ_INT(broken_case(script_nul), -EBADMSG);
}

static void test_oversized(void)
{
	CHECK_EQ_INT(broken_case(script_huge), -EMSGSIZE);
}

static void test_bad_greeting(void)
{
	CHECK_EQ_INT(broken_case(script_no_greeting), -EPROTO);
	CHECK_EQ_INT(broken_case(script_not_qmp), -EBADMSG);
}

/* --- timeouts --------------------------------------------------------------- */

static void script_slow(int fd)
{
	srv_handshake(fd);
	srv_expect(fd, "\"execute\":\"query-status\"", "\"id\":2", NULL);
	/* No answer in time; then the late reply, then the next command. */
	srv_expect(fd, "\"execute\":\"query-name\"", "\"id\":3", NULL);
	srv_send(fd, "{\"return\": {\"status\": \"late\"}, \"id\": 2}\r\n");
	srv_send(fd, "{\"return\": {\"name\": \"ok\"}, \"id\": 3}\r\n");
	srv_wait_eof(fd);
}

static void script_silent(int fd)
{
	srv_wait_eof(fd);
}

static void test_timeouts(void)
{
	struct fake f = serve(script_slow);
	struct json_object *ret = NULL, *v = NULL;
	uint64_t t0;
	struct qmp *q;
	int r;

	q = open_fake(f, 2000, &r);
	CHECK_EQ_INT(r, 0);
	if (!q)
		return;
	t0 = now_ms();
	CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, &ret, 150), -ETIMEDOUT);
	CHECK(now_ms() - t0 >= 150 && now_ms() - t0 < 1500);
	CHECK(ret == NULL);
	CHECK(!qmp_is_broken(q));
	/* The late reply to id 2 must not be taken for id 3's. */
	CHECK_EQ_INT(qmp_execute(q, "query-name", NULL, &ret, 2000), 0);
	CHECK(ret && json_object_object_get_ex(ret, "name", &v));
	CHECK_EQ_STR(json_object_get_string(v), "ok");
	json_object_put(ret);
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);

	/* A monitor that never greets. */
	f = serve(script_silent);
	t0 = now_ms();
	q = open_fake(f, 100, &r);
	CHECK_EQ_INT(r, -ETIMEDOUT);
	CHECK(q == NULL);
	CHECK(now_ms() - t0 < 1000);
	CHECK_EQ_INT(finish(f), 0);
}

/* --- the event-loop side ------------------------------------------------------ */

struct seen {
	int n;
	enum qmp_event_type types[8];
	char reason[40];
	int executed;
};

static void on_event(struct qmp *q, const struct qmp_event *ev, void *data)
{
	struct seen *s = data;

	if (s->n < 8)
		s->types[s->n] = ev->type;
	s->n++;
	if (ev->type == QMP_EV_SHUTDOWN) {
		snprintf(s->reason, sizeof(s->reason), "%s", ev->reason);
		/* Commands from inside the callback work. */
		s->executed = qmp_execute(q, "query-status", NULL, NULL, 2000);
	}
}

static void script_async(int fd)
{
	srv_handshake(fd);
	srv_send(fd, "{\"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": 99}\r\n");
	usleep(50000);
	srv_send(fd, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
		     "\"reason\": \"host-signal\"}}\r\n");
	srv_expect(fd, "query-status", "\"id\":2", NULL);
	srv_send(fd, "{\"event\": \"RESUME\"}\r\n{\"return\": {}, \"id\": 2}\r\n");
	/* and exits: EOF */
}

static void test_nonblocking(void)
{
	struct fake f = serve(script_async);
	struct seen s = {0};
	struct qmp *q;
	uint64_t deadline;
	int r = 0;

	q = open_fake(f, 2000, &r);
	CHECK_EQ_INT(r, 0);
	if (!q)
		return;
	qmp_set_event_cb(q, on_event, &s);
	/* Nothing waiting yet (or only a part): never blocks. */
	deadline = now_ms() + 3000;
	while (now_ms() < deadline) {
		struct pollfd p = {.fd = qmp_fd(q), .events = POLLIN};
		if (poll(&p, 1, 100) < 0)
			break;
		r = qmp_on_readable(q);
		if (r)
			break;
	}
	CHECK_EQ_INT(r, -ECONNRESET);
	CHECK_EQ_INT(s.n, 3);
	CHECK_EQ_INT(s.types[0], QMP_EV_STOP);
	CHECK_EQ_INT(s.types[1], QMP_EV_SHUTDOWN);
	CHECK_EQ_INT(s.types[2], QMP_EV_RESUME);
	CHECK_EQ_STR(s.reason, "host-signal");
	CHECK_EQ_INT(s.executed, 0);
	CHECK_EQ_INT(qmp_events_pending(q), 0);
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);
}

static void script_flood(int fd)
{
	char line[128];

	srv_handshake(fd);
	srv_send(fd, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\r\n");
	for (int i = 0; i < 300; i++) {
		snprintf(line, sizeof(line), "{\"event\": \"JUNK_%d\"}\r\n", i);
		srv_send(fd, line);
	}
	srv_send(fd, "{\"event\": \"RESET\"}\r\n");
	srv_expect(fd, "query-status", NULL);
	srv_send(fd, "{\"return\": {}, \"id\": 2}\r\n");
	srv_wait_eof(fd);
}

static void test_event_flood(void)
{
	struct fake f = serve(script_flood);
	struct qmp_event ev;
	struct qmp *q;
	size_t n = 0;
	bool saw_shutdown = false, saw_reset = false;
	int r;

	q = open_fake(f, 2000, &r);
	CHECK_EQ_INT(r, 0);
	if (!q)
		return;
	CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, NULL, 2000), 0);
	CHECK_EQ_INT(qmp_events_pending(q), QMP_EVENT_QUEUE_MAX);
	/* 302 events, 256 kept: 45 junk events never queued, then the
	 * RESET pushed out the oldest (the SHUTDOWN). */
	CHECK_EQ_INT(qmp_events_dropped(q), 302 - QMP_EVENT_QUEUE_MAX);
	while (qmp_next_event(q, &ev)) {
		n++;
		saw_shutdown |= ev.type == QMP_EV_SHUTDOWN;
		saw_reset |= ev.type == QMP_EV_RESET;
		qmp_event_clear(&ev);
	}
	CHECK_EQ_INT(n, QMP_EVENT_QUEUE_MAX);
	CHECK(!saw_shutdown);
	CHECK(saw_reset);
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);
}

static void test_bad_arguments(void)
{
	struct fake f = serve(script_basic);
	struct json_object *arr = json_object_new_array();
	struct json_object *ret = NULL;
	char *json = NULL;
	struct qmp *q;
	int r;

	q = open_fake(f, 2000, &r);
	CHECK_EQ_INT(r, 0);
	if (!q) {
		json_object_put(arr);
		return;
	}
	CHECK_EQ_INT(qmp_execute(q, "", NULL, NULL, 100), -EINVAL);
	CHECK_EQ_INT(qmp_execute(q, "x", arr, NULL, 100), -EINVAL);
	CHECK_EQ_INT(qmp_execute_json(q, "x", "[1]", &json, 100), -EINVAL);
	CHECK_EQ_INT(qmp_execute_json(q, "x", "{bad", &json, 100), -EINVAL);
	CHECK(json == NULL);
	/* Nothing was sent: the script's commands still line up. */
	CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, &ret, 2000), 0);
	json_object_put(ret);
	CHECK_EQ_INT(qmp_execute_json(q, "device_del", "{\"id\": \"disk0\"}", NULL, 2000), 0);
	json_object_put(arr);
	qmp_close(q);
	CHECK_EQ_INT(finish(f), 0);
}

/* --- the parser alone ----------------------------------------------------------- */

static int parse(const char *line, struct qmp_msg *m)
{
	return qmp_msg_parse(NULL, line, strlen(line), m, NULL);
}

static void test_parser_lines(void)
{
	struct qmp_msg m;
	const char *why = NULL;

	CHECK_EQ_INT(parse("{\"return\": 5, \"id\": \"abc\"}\r", &m), 1);
	CHECK_EQ_INT(m.kind, QMP_MSG_RETURN);
	CHECK_EQ_INT(m.id_kind, QMP_ID_OTHER);
	CHECK_EQ_INT(json_object_get_int(m.ret), 5);
	qmp_msg_free(&m);
	CHECK_EQ_INT(parse("{\"return\": null}", &m), 1);
	CHECK_EQ_INT(m.id_kind, QMP_ID_NONE);
	qmp_msg_free(&m);
	CHECK_EQ_INT(parse("   \r", &m), 0);
	CHECK_EQ_INT(parse("{\"event\": \"\"}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("{\"event\": \"X\", \"data\": 5}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("{\"event\": \"X\", \"return\": 5}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("{\"QMP\": 1}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("{}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("{\"return\": 1,}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("{\"return\": 1}{\"return\": 2}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("{\"event\": \"A\\u0000B\"}", &m), -EBADMSG);
	CHECK_EQ_INT(parse("17", &m), -EBADMSG);
	CHECK_EQ_INT(qmp_msg_parse(NULL, "{\"return\": 1}", 5, &m, &why), -EBADMSG);
	CHECK(why && why[0]);
}

static void test_parser_stream(void)
{
	static const char stream[] = GREETING "\r\n"
					      "{\"event\": \"STOP\"}\n"
					      "{\"return\": {}, \"id\": 1}\r\n"
					      "{\"return\": [1,2";
	struct qmp_parser p;
	struct qmp_msg m;
	int kinds[4], n = 0, r;

	CHECK_EQ_INT(qmp_parser_init(&p), 0);
	/* One byte at a time: messages come out whole, in order. */
	for (size_t i = 0; i < sizeof(stream) - 1; i++) {
		CHECK_EQ_INT(qmp_parser_feed(&p, stream + i, 1), 0);
		while ((r = qmp_parser_next(&p, &m, NULL)) == 1) {
			if (n < 4)
				kinds[n] = m.kind;
			n++;
			qmp_msg_free(&m);
		}
		CHECK_EQ_INT(r, 0);
	}
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(kinds[0], QMP_MSG_GREETING);
	CHECK_EQ_INT(kinds[1], QMP_MSG_EVENT);
	CHECK_EQ_INT(kinds[2], QMP_MSG_RETURN);
	/* The tail completes later. */
	CHECK_EQ_INT(qmp_parser_feed(&p, "]}\n", 3), 0);
	CHECK_EQ_INT(qmp_parser_next(&p, &m, NULL), 1);
	CHECK_EQ_INT(json_object_array_length(m.ret), 2);
	qmp_msg_free(&m);
	qmp_parser_free(&p);
}

static void test_parser_bounds(void)
{
	struct qmp_parser p;
	struct qmp_msg m;
	char *big = malloc(QMP_MSG_MAX + 64);
	size_t n;

	if (!big)
		return;
	/* A line of exactly QMP_MSG_MAX bytes is fine... */
	n = (size_t)sprintf(big, "{\"return\": \"");
	memset(big + n, 'a', QMP_MSG_MAX - n - 2);
	n = QMP_MSG_MAX - 2;
	memcpy(big + n, "\"}\r\n", 4);
	CHECK_EQ_INT(qmp_parser_init(&p), 0);
	CHECK_EQ_INT(qmp_parser_feed(&p, big, QMP_MSG_MAX + 2), 0);
	CHECK_EQ_INT(qmp_parser_next(&p, &m, NULL), 1);
	CHECK_EQ_INT(json_object_get_string_len(m.ret), QMP_MSG_MAX - 14);
	qmp_msg_free(&m);
	/* ...one more is not, whether or not its newline has come yet. */
	memmove(big + 1, big, QMP_MSG_MAX + 2);
	big[1] = ' ';
	CHECK_EQ_INT(qmp_parser_feed(&p, big, QMP_MSG_MAX + 1), 0);
	CHECK_EQ_INT(qmp_parser_next(&p, &m, NULL), 0);
	CHECK_EQ_INT(qmp_parser_feed(&p, big + QMP_MSG_MAX + 1, 1), 0);
	CHECK_EQ_INT(qmp_parser_next(&p, &m, NULL), -EMSGSIZE);
	qmp_parser_free(&p);
	CHECK_EQ_INT(qmp_parser_init(&p), 0);
	CHECK_EQ_INT(qmp_parser_feed(&p, big, QMP_MSG_MAX + 3), 0);
	CHECK_EQ_INT(qmp_parser_next(&p, &m, NULL), -EMSGSIZE);
	qmp_parser_free(&p);
	free(big);
}

/* --- a real QEMU -------------------------------------------------------------- */

static bool find_qemu(char *out, size_t size)
{
	static const char *const dirs[] = {"/usr/bin", "/usr/local/bin", "/bin"};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(out, size, "%s/qemu-system-x86_64", dirs[i]);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

static void test_real_qemu(void)
{
	char qemu[256], dir[] = "/tmp/airlock-qmp-XXXXXX", sock[64], qmp_arg[128];
	struct json_object *ret = NULL, *v = NULL, *qv = NULL;
	struct qmp_event ev;
	struct qmp *q = NULL;
	bool shutdown_seen = false;
	int st, r;
	pid_t pid;

	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	find_qemu(qemu, sizeof(qemu));
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", sock);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execl(qemu, qemu, "-accel", "tcg", "-machine", "none", "-nodefaults", "-display",
		      "none", "-qmp", qmp_arg, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	r = qmp_connect(sock, 10000, &q);
	CHECK_EQ_INT(r, 0);
	if (q) {
		CHECK_EQ_INT(qmp_version(q)->major >= 2, 1);
		CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, &ret, 5000), 0);
		CHECK(ret && json_object_object_get_ex(ret, "status", &v) &&
		      json_object_is_type(v, json_type_string));
		printf("# query-status: %s\n", json_object_to_json_string(ret));
		json_object_put(ret);
		CHECK_EQ_INT(qmp_execute(q, "query-version", NULL, &ret, 5000), 0);
		CHECK(ret && json_object_object_get_ex(ret, "qemu", &qv) &&
		      json_object_object_get_ex(qv, "major", &v) &&
		      json_object_get_int(v) == qmp_version(q)->major);
		json_object_put(ret);
		CHECK_EQ_INT(qmp_execute(q, "no-such-command", NULL, NULL, 5000), -EREMOTEIO);
		CHECK_EQ_STR(qmp_error_class(q), "CommandNotFound");
		/* An fd handed over by name (getfd): QEMU has it, so closefd of
		 * that name works once; a name never handed over fails. */
		int pfd[2];
		CHECK_EQ_INT(pipe2(pfd, O_CLOEXEC), 0);
		CHECK_EQ_INT(qmp_pass_fd(q, "passed", pfd[1], 5000), 0);
		CHECK_EQ_INT(qmp_execute_json(q, "closefd", "{\"fdname\":\"passed\"}", NULL, 5000),
			     0);
		CHECK_EQ_INT(qmp_execute_json(q, "closefd", "{\"fdname\":\"passed\"}", NULL, 5000),
			     -EREMOTEIO);
		CHECK_EQ_INT(qmp_execute_json(q, "closefd", "{\"fdname\":\"never\"}", NULL, 5000),
			     -EREMOTEIO);
		CHECK_EQ_INT(qmp_pass_fd(q, "bad", -1, 5000), -EINVAL);
		/* The fd went with the request only: later commands carry none. */
		CHECK_EQ_INT(qmp_execute_json(q, "getfd", "{\"fdname\":\"again\"}", NULL, 5000),
			     -EREMOTEIO);
		CHECK(strstr(qmp_error_desc(q), "SCM_RIGHTS") != NULL);
		close(pfd[0]);
		close(pfd[1]);
		CHECK_EQ_INT(qmp_execute(q, "quit", NULL, NULL, 5000), 0);
		/* QEMU says SHUTDOWN and hangs up. */
		for (uint64_t end = now_ms() + 5000; now_ms() < end;) {
			struct pollfd p = {.fd = qmp_fd(q), .events = POLLIN};
			poll(&p, 1, 100);
			r = qmp_on_readable(q);
			while (qmp_next_event(q, &ev)) {
				if (ev.type == QMP_EV_SHUTDOWN) {
					shutdown_seen = true;
					CHECK(!ev.guest);
					CHECK_EQ_STR(ev.reason, "host-qmp-quit");
				}
				qmp_event_clear(&ev);
			}
			if (r)
				break;
		}
		CHECK_EQ_INT(r, -ECONNRESET);
		CHECK(shutdown_seen);
		qmp_close(q);
	}
	if (pid > 0) {
		if (!q)
			kill(pid, SIGKILL);
		CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
		CHECK(!q || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
	}
	unlink(sock);
	rmdir(dir);
}

int main(void)
{
	char qemu[256];

	signal(SIGPIPE, SIG_IGN);
	RUN(test_basic);
	RUN(test_error_reply);
	RUN(test_events_interleaved);
	RUN(test_truncated);
	RUN(test_garbage);
	RUN(test_oversized);
	RUN(test_bad_greeting);
	RUN(test_timeouts);
	RUN(test_nonblocking);
	RUN(test_event_flood);
	RUN(test_bad_arguments);
	RUN(test_parser_lines);
	RUN(test_parser_stream);
	RUN(test_parser_bounds);
	if (find_qemu(qemu, sizeof(qemu))) {
		RUN(test_real_qemu);
	} else {
		tap_n++;
		printf("ok %d - test_real_qemu # SKIP qemu-system-x86_64 not installed\n", tap_n);
	}
	return tap_done();
}

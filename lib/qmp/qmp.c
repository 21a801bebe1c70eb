/* qmp.c — see qmp.h.
 *
 * State: the socket (always O_NONBLOCK; blocking calls poll with their own
 * deadline), the parser's unfinished line, the id of the one command in
 * flight (0: none) and the slot its reply lands in, the event queue (a
 * ring), and a sticky error. Every byte read goes through
 * read_and_dispatch(), which hands each complete message to handle_msg():
 * events are queued, the reply whose id matches wait_id fills the slot,
 * anything else is dropped. Keeping that one path for both the blocking and
 * the event-loop side means an event read while a command waits is never
 * lost, and a reply read from the event loop (to a command that already
 * timed out) is never mistaken for an event.
 */
#include "qmp/qmp.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK	   65536
#define READS_PER_READABLE 16
#define CMD_NAME_MAX	   128

struct qmp {
	int fd;
	int err;     /* sticky -errno once broken, else 0 */
	int pass_fd; /* sent with the next request's first byte (-1: none) */
	struct qmp_parser parser;
	struct qmp_version version;
	bool greeted;

	int64_t next_id;
	int64_t wait_id; /* id of the command in flight, 0 if none */
	bool have_reply;
	int reply_status;	       /* 0 or -EREMOTEIO */
	struct json_object *reply_ret; /* "return" value of the reply */
	char err_class[64];
	char err_desc[512];

	struct qmp_event *ev; /* ring of QMP_EVENT_QUEUE_MAX */
	size_t ev_head, ev_count;
	uint64_t ev_dropped;
	qmp_event_cb cb;
	void *cb_data;

	struct log_ratelimit rl;
};

/* --- events ---------------------------------------------------------------- */

static void queue_event(struct qmp *q, const struct qmp_msg *m)
{
	struct qmp_event *slot;

	if (q->ev_count == QMP_EVENT_QUEUE_MAX) {
		if (qmp_event_type_of(m->event) == QMP_EV_OTHER) {
			q->ev_dropped++;
			return;
		}
		qmp_event_clear(&q->ev[q->ev_head]);
		q->ev_head = (q->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
		q->ev_count--;
		q->ev_dropped++;
	}
	slot = &q->ev[(q->ev_head + q->ev_count) % QMP_EVENT_QUEUE_MAX];
	qmp_event_from_msg(m, slot);
	q->ev_count++;
}

bool qmp_next_event(struct qmp *q, struct qmp_event *ev)
{
	if (!q->ev_count)
		return false;
	*ev = q->ev[q->ev_head];
	memset(&q->ev[q->ev_head], 0, sizeof(q->ev[0]));
	q->ev_head = (q->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
	q->ev_count--;
	return true;
}

size_t qmp_events_pending(const struct qmp *q)
{
	return q->ev_count;
}

uint64_t qmp_events_dropped(const struct qmp *q)
{
	return q->ev_dropped;
}

void qmp_set_event_cb(struct qmp *q, qmp_event_cb cb, void *data)
{
	q->cb = cb;
	q->cb_data = data;
}

/* --- reading --------------------------------------------------------------- */

static int set_broken(struct qmp *q, int err, const char *why)
{
	if (!q->err) {
		q->err = err;
		if (err != -ECONNRESET)
			log_warn("qmp: connection broken: %s (%s)", why, err_str(err));
	}
	return q->err;
}

static void reply_clear(struct qmp *q)
{
	if (q->reply_ret)
		json_object_put(q->reply_ret);
	q->reply_ret = NULL;
	q->have_reply = false;
}

static void parse_greeting(struct qmp *q, const struct qmp_msg *m)
{
	struct json_object *qmp, *ver, *qemu, *v;
	static const char *const keys[3] = {"major", "minor", "micro"};
	int *fields[3] = {&q->version.major, &q->version.minor, &q->version.micro};

	q->version.major = q->version.minor = q->version.micro = -1;
	if (!json_object_object_get_ex(m->obj, "QMP", &qmp) ||
	    !json_object_object_get_ex(qmp, "version", &ver) ||
	    !json_object_is_type(ver, json_type_object))
		return;
	if (json_object_object_get_ex(ver, "qemu", &qemu) &&
	    json_object_is_type(qemu, json_type_object))
		for (int i = 0; i < 3; i++)
			if (json_object_object_get_ex(qemu, keys[i], &v) &&
			    json_object_is_type(v, json_type_int)) {
				int64_t n = json_object_get_int64(v);
				*fields[i] = n >= 0 && n < 100000 ? (int)n : -1;
			}
	if (json_object_object_get_ex(ver, "package", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(q->version.package, sizeof(q->version.package), "%s",
			 json_object_get_string(v));
}

/* Takes one message: returns 0, or -EPROTO for a protocol violation. */
static int handle_msg(struct qmp *q, struct qmp_msg *m)
{
	switch (m->kind) {
	case QMP_MSG_GREETING:
		if (q->greeted)
			return -EPROTO;
		q->greeted = true;
		parse_greeting(q, m);
		return 0;
	case QMP_MSG_EVENT:
		if (!q->greeted)
			return -EPROTO;
		queue_event(q, m);
		return 0;
	case QMP_MSG_RETURN:
	case QMP_MSG_ERROR:
		if (!q->greeted)
			return -EPROTO;
		/* Our requests always carry an id; QEMU answers without one only
		 * when it could not read the request, which can only be the one
		 * in flight. */
		if (!q->wait_id || q->have_reply ||
		    (m->id_kind == QMP_ID_INT && m->id != q->wait_id) ||
		    m->id_kind == QMP_ID_OTHER) {
			log_rl(&q->rl, LOG_LVL_DEBUG, "qmp: dropping a stray reply");
			return 0;
		}
		q->have_reply = true;
		if (m->kind == QMP_MSG_RETURN) {
			q->reply_status = 0;
			q->reply_ret = json_object_get(m->ret);
		} else {
			q->reply_status = -EREMOTEIO;
			snprintf(q->err_class, sizeof(q->err_class), "%s", m->err_class);
			snprintf(q->err_desc, sizeof(q->err_desc), "%s", m->err_desc);
		}
		return 0;
	}
	return -EPROTO;
}

/* One read(2) of what is there, each complete message handled. Returns
 * the bytes read (> 0), 0 if none were waiting (EAGAIN), or the broken
 * connection's -errno. */
static int read_and_dispatch(struct qmp *q)
{
	char chunk[READ_CHUNK];
	ssize_t n;
	int r;

	if (q->err)
		return q->err;
	do
		n = read(q->fd, chunk, sizeof(chunk));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		return set_broken(q, -errno, "read");
	if (n == 0)
		return set_broken(q, -ECONNRESET, "end of stream");
	if (qmp_parser_feed(&q->parser, chunk, (size_t)n))
		return set_broken(q, -ENOMEM, "out of memory");
	for (;;) {
		struct qmp_msg m;
		const char *why = NULL;

		r = qmp_parser_next(&q->parser, &m, &why);
		if (r == 0)
			break;
		if (r < 0)
			return set_broken(q, r, why);
		r = handle_msg(q, &m);
		qmp_msg_free(&m);
		if (r)
			return set_broken(q, r, "message out of order");
	}
	return (int)MIN(n, (ssize_t)INT32_MAX);
}

/* Waits until `fd` has `events` or the deadline passes (UINT64_MAX: none).
 * Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		uint64_t now = now_ms();
		int t = deadline == UINT64_MAX ? -1
			: now >= deadline      ? 0
					       : (int)MIN(deadline - now, 60000);
		int r = poll(&p, 1, t);

		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0 && deadline != UINT64_MAX && now_ms() >= deadline)
			return -ETIMEDOUT;
	}
}

static uint64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
}

static int send_all(struct qmp *q, const char *p, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n;
		int r;

		if (q->pass_fd >= 0) {
			/* The fd rides on the first byte (QEMU's getfd). */
			union {
				struct cmsghdr h;
				char b[CMSG_SPACE(sizeof(int))];
			} c;
			struct iovec iov = {.iov_base = (void *)p, .iov_len = 1};
			struct msghdr m = {.msg_iov = &iov,
					   .msg_iovlen = 1,
					   .msg_control = c.b,
					   .msg_controllen = sizeof(c.b)};
			memset(&c, 0, sizeof(c));
			c.h.cmsg_level = SOL_SOCKET;
			c.h.cmsg_type = SCM_RIGHTS;
			c.h.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&c.h), &q->pass_fd, sizeof(int));
			n = sendmsg(q->fd, &m, MSG_NOSIGNAL);
			if (n > 0)
				q->pass_fd = -1;
		} else {
			n = send(q->fd, p, len, MSG_NOSIGNAL);
		}

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return set_broken(q, errno == EPIPE ? -ECONNRESET : -errno, "send");
		r = wait_fd(q->fd, POLLOUT, deadline);
		if (r == -ETIMEDOUT)
			/* Part of a request may be out: the stream is unusable. */
			return set_broken(q, -ETIMEDOUT, "monitor stopped reading");
		if (r)
			return set_broken(q, r, "poll");
	}
	return 0;
}

/* --- commands ------------------------------------------------------------- */

static int execute(struct qmp *q, const char *cmd, struct json_object *args,
		   struct json_object **ret, uint64_t deadline)
{
	struct json_object *req;
	const char *text;
	char *line;
	size_t len;
	int r;

	if (ret)
		*ret = NULL;
	if (q->err)
		return q->err;
	if (!cmd || !cmd[0] || strlen(cmd) > CMD_NAME_MAX ||
	    (args && !json_object_is_type(args, json_type_object)))
		return -EINVAL;
	req = json_object_new_object();
	if (!req)
		return -ENOMEM;
	q->next_id++;
	if (json_object_object_add(req, "execute", json_object_new_string(cmd)) ||
	    (args && json_object_object_add(req, "arguments", json_object_get(args))) ||
	    json_object_object_add(req, "id", json_object_new_int64(q->next_id))) {
		json_object_put(req);
		return -ENOMEM;
	}
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	len = text ? strlen(text) : 0;
	line = text ? malloc(len + 2) : NULL;
	if (!line) {
		json_object_put(req);
		return -ENOMEM;
	}
	memcpy(line, text, len);
	line[len++] = '\n';
	json_object_put(req);

	reply_clear(q);
	q->wait_id = q->next_id;
	r = send_all(q, line, len, deadline);
	free(line);
	while (r == 0 && !q->have_reply) {
		r = read_and_dispatch(q);
		if (r > 0 || (r == 0 && q->have_reply))
			r = 0;
		else if (r == 0)
			r = wait_fd(q->fd, POLLIN, deadline);
	}
	q->wait_id = 0;
	if (r) {
		reply_clear(q);
		return r;
	}
	r = q->reply_status;
	if (r == 0 && ret) {
		*ret = q->reply_ret;
		q->reply_ret = NULL;
	}
	reply_clear(q);
	return r;
}

int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args, struct json_object **ret,
		int timeout_ms)
{
	return execute(q, cmd, args, ret, deadline_of(timeout_ms));
}

int qmp_pass_fd(struct qmp *q, const char *name, int fd, int timeout_ms)
{
	struct json_object *args;
	int r;

	if (fd < 0 || !name || !name[0])
		return -EINVAL;
	args = json_object_new_object();
	if (!args || json_object_object_add(args, "fdname", json_object_new_string(name))) {
		json_object_put(args);
		return -ENOMEM;
	}
	q->pass_fd = fd;
	r = execute(q, "getfd", args, NULL, deadline_of(timeout_ms));
	q->pass_fd = -1;
	json_object_put(args);
	return r;
}

int qmp_execute_json(struct qmp *q, const char *cmd, const char *args_json, char **ret_json,
		     int timeout_ms)
{
	struct json_object *args = NULL, *ret = NULL;
	int r;

	if (ret_json)
		*ret_json = NULL;
	if (args_json) {
		args = json_tokener_parse(args_json);
		if (!args || !json_object_is_type(args, json_type_object)) {
			if (args)
				json_object_put(args);
			return -EINVAL;
		}
	}
	r = qmp_execute(q, cmd, args, ret_json ? &ret : NULL, timeout_ms);
	if (args)
		json_object_put(args);
	if (r == 0 && ret_json) {
		const char *s =
			ret ? json_object_to_json_string_ext(
				      ret, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
			    : "null";
		*ret_json = strdup(s ? s : "null");
		if (!*ret_json)
			r = -ENOMEM;
	}
	if (ret)
		json_object_put(ret);
	return r;
}

const char *qmp_error_class(const struct qmp *q)
{
	return q->err_class;
}

const char *qmp_error_desc(const struct qmp *q)
{
	return q->err_desc;
}

/* --- connection ------------------------------------------------------------ */

int qmp_open_fd(int fd, int timeout_ms, struct qmp **out)
{
	uint64_t deadline = deadline_of(timeout_ms);
	struct qmp *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q) {
		close(fd);
		return -ENOMEM;
	}
	q->fd = fd;
	q->pass_fd = -1;
	q->ev = calloc(QMP_EVENT_QUEUE_MAX, sizeof(*q->ev));
	r = q->ev ? qmp_parser_init(&q->parser) : -ENOMEM;
	if (r == 0)
		r = fd_set_nonblock(fd, true);
	while (r == 0 && !q->greeted) {
		r = read_and_dispatch(q);
		if (r > 0)
			r = 0;
		else if (r == 0)
			r = wait_fd(fd, POLLIN, deadline);
	}
	if (r == 0)
		r = execute(q, "qmp_capabilities", NULL, NULL, deadline);
	if (r) {
		qmp_close(q);
		return r;
	}
	*out = q;
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int qmp_connect(const char *path, int timeout_ms, struct qmp **out)
{
	uint64_t deadline = deadline_of(timeout_ms);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (;;) {
		int e;

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		e = errno;
		close(fd);
		if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN && e != EINTR)
			return -e;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
	if (deadline != UINT64_MAX) {
		uint64_t now = now_ms();
		timeout_ms = now >= deadline ? 0 : (int)(deadline - now);
	}
	return qmp_open_fd(fd, timeout_ms, out);
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	reply_clear(q);
	if (q->ev) {
		struct qmp_event ev;
		while (qmp_next_event(q, &ev))
			qmp_event_clear(&ev);
		free(q->ev);
	}
	qmp_parser_free(&q->parser);
	free(q);
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

const struct qmp_version *qmp_version(const struct qmp *q)
{
	return &q->version;
}

bool qmp_is_broken(const struct qmp *q)
{
	return q->err != 0;
}

int qmp_on_readable(struct qmp *q)
{
	int r = 0;

	for (int i = 0; i < READS_PER_READABLE; i++) {
		r = read_and_dispatch(q);
		if (r <= 0)
			break;
		r = 0;
	}
	if (q->cb) {
		struct qmp_event ev;
		/* Bounded: a callback that makes QEMU send events (through
		 * qmp_execute) cannot keep us here forever. */
		for (size_t n = q->ev_count; n && qmp_next_event(q, &ev); n--) {
			q->cb(q, &ev, q->cb_data);
			qmp_event_clear(&ev);
		}
	}
	return r < 0 ? r : 0;
}

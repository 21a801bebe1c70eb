/* qmp.h — a client for QEMU's machine protocol (QMP), on a UNIX socket.
 *
 * One connection per engine. Opening it reads the greeting and negotiates
 * capabilities; after that the client does two things:
 *
 *   - qmp_execute(): one command at a time, synchronous, with a timeout.
 *     Every request carries a fresh integer "id"; a reply with another id
 *     (the late answer to a command that timed out) is dropped.
 *   - events: every event that arrives (while waiting for a reply, or
 *     through qmp_on_readable()) is queued, up to QMP_EVENT_QUEUE_MAX, and
 *     handed out by qmp_next_event() or, when a callback is set, delivered
 *     to it from qmp_on_readable().
 *
 * For an event loop: watch qmp_fd() for EPOLLIN and call qmp_on_readable()
 * when it fires; it never blocks. The library never owns a loop.
 *
 * The monitor's output is untrusted (a guest may have taken over the
 * engine): qmp_msg.h bounds and validates every message. A malformed
 * stream, EOF or socket error breaks the connection: that call and every
 * later one return the same -errno (-EBADMSG, -EMSGSIZE, -EPROTO,
 * -ECONNRESET at EOF, or the socket's error). Calls return 0 or -errno.
 */
#ifndef AIRLOCK_QMP_H
#define AIRLOCK_QMP_H

#include "qmp/qmp_msg.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMP_EVENT_QUEUE_MAX 256

struct qmp;

/* What the greeting said about the engine. */
struct qmp_version {
	int major, minor, micro; /* -1 if absent */
	char package[96];	 /* "Debian 1:7.2+dfsg-7+deb12u18", or "" */
};

/* Called from qmp_on_readable() for each queued event, oldest first. The
 * event is freed when the callback returns (take a reference to ev->data
 * to keep it). The callback may call qmp_execute() and qmp_next_event(),
 * never qmp_close(). */
typedef void (*qmp_event_cb)(struct qmp *q, const struct qmp_event *ev, void *data);

/* Connects to the monitor socket at `path`, retrying while it does not
 * exist yet or refuses (QEMU is still starting), reads the greeting and
 * negotiates capabilities, all within timeout_ms (< 0: no limit). Returns 0
 * with the client in *out, -ETIMEDOUT, -EPROTO (not a QMP greeting), or
 * another -errno. */
int qmp_connect(const char *path, int timeout_ms, struct qmp **out);

/* qmp_connect over an already connected stream socket `fd`, which the
 * client owns from now on (closed on failure too). */
int qmp_open_fd(int fd, int timeout_ms, struct qmp **out);

/* Closes the connection, drops queued events. NULL is fine. */
void qmp_close(struct qmp *q);

/* The socket, for an event loop to watch (EPOLLIN). */
int qmp_fd(const struct qmp *q);

/* The engine's version from the greeting. */
const struct qmp_version *qmp_version(const struct qmp *q);

/* Runs command `cmd` with `args` (a JSON object, or NULL; not consumed)
 * and waits up to timeout_ms (< 0: no limit) for its reply. On success
 * *ret (may be NULL) gets a reference to the "return" value, which the
 * caller drops with json_object_put. An error reply returns -EREMOTEIO with
 * its class and description in qmp_error_class()/qmp_error_desc();
 * -ETIMEDOUT leaves the connection usable (the late reply is dropped);
 * -EINVAL for an empty or over-long cmd or a non-object args. Events that
 * arrive meanwhile are queued. */
int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args, struct json_object **ret,
		int timeout_ms);

/* qmp_execute with the arguments as JSON text (NULL: none) and the result
 * as malloc'd JSON text in *ret_json (may be NULL). -EINVAL if args_json
 * is not a JSON object. */
int qmp_execute_json(struct qmp *q, const char *cmd, const char *args_json, char **ret_json,
		     int timeout_ms);

/* Hands `fd` (not consumed) to QEMU under `name` (the getfd command; the
 * fd travels with the request as SCM_RIGHTS), for commands that take an
 * fd by name, such as migrate's "fd:NAME". Returns as qmp_execute. */
int qmp_pass_fd(struct qmp *q, const char *name, int fd, int timeout_ms);

/* The class ("GenericError", "CommandNotFound", ...) and description of
 * the last error reply; "" before the first. */
const char *qmp_error_class(const struct qmp *q);
const char *qmp_error_desc(const struct qmp *q);

/* Takes the oldest queued event into *ev (clear it with qmp_event_clear).
 * Returns true if there was one. */
bool qmp_next_event(struct qmp *q, struct qmp_event *ev);

/* Queued events, and events dropped because the queue was full (when it
 * is, an event of type QMP_EV_OTHER is dropped; a lifecycle event replaces
 * the oldest queued one). */
size_t qmp_events_pending(const struct qmp *q);
uint64_t qmp_events_dropped(const struct qmp *q);

/* Sets (or with NULL clears) the callback that qmp_on_readable() delivers
 * events to. Without one, events stay queued for qmp_next_event(). */
void qmp_set_event_cb(struct qmp *q, qmp_event_cb cb, void *data);

/* For an event loop, when qmp_fd() is readable: reads what has arrived
 * without blocking (at most a bounded amount per call; level-triggered
 * polling brings the rest), queues events and drops stray replies, then
 * delivers queued events to the callback if one is set. Returns 0, or the
 * connection's -errno once it is broken (-ECONNRESET when QEMU closed it:
 * the engine exited); events that arrived before the break are still
 * delivered or queued. */
int qmp_on_readable(struct qmp *q);

/* True once the connection is broken. */
bool qmp_is_broken(const struct qmp *q);

#endif

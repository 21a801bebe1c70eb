/* fuzz_qmp.c — libFuzzer target for what a QEMU monitor sends.
 *
 * The input is the monitor's whole output stream. It goes through two
 * paths:
 *
 *   - the parser alone (qmp_parser_feed/next), fed in chunks whose size
 *     comes from the first byte, so line boundaries fall everywhere; every
 *     message it returns must have the members its kind promises, events
 *     become qmp_events, and the parser must stop at the first error;
 *   - a whole client session over a socketpair: the stream is written to
 *     the monitor's end and closed, then qmp_open_fd (greeting, capabilities
 *     with id 1), three commands (ids 2, 3, 4), qmp_on_readable and the event
 *     queue run until the connection breaks. Nothing may block: the stream
 *     always ends in EOF.
 *
 * The seeds in corpus/fuzz_qmp/ are real QEMU 7.2 transcripts (greeting,
 * replies, errors, lifecycle events) recorded over its QMP socket with the
 * same ids the client uses, plus a hand-written one with guest shutdown,
 * GUEST_PANICKED and stray replies. Any violated invariant aborts.
 */
#include "common/log.h"
#include "qmp/qmp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_qmp: invariant failed: %s: ", #cond);                \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_msg(const struct qmp_msg *m)
{
	struct qmp_event ev;

	CHECK(m->obj && json_object_is_type(m->obj, json_type_object), "kind %d", m->kind);
	/* What the client would log or pass on must serialise. */
	CHECK(json_object_to_json_string_ext(m->obj, JSON_C_TO_STRING_PLAIN) != NULL, "to_string");
	switch (m->kind) {
	case QMP_MSG_GREETING:
		break;
	case QMP_MSG_RETURN:
		CHECK(json_object_object_get_ex(m->obj, "return", NULL), "return");
		break;
	case QMP_MSG_ERROR:
		CHECK(m->err_class && m->err_desc, "error strings");
		break;
	case QMP_MSG_EVENT:
		CHECK(m->event && m->event[0], "event name");
		CHECK(!m->data || json_object_is_type(m->data, json_type_object), "event data");
		qmp_event_from_msg(m, &ev);
		CHECK(ev.type == qmp_event_type_of(m->event), "event type");
		CHECK(strlen(ev.name) < sizeof(ev.name), "event name length");
		qmp_event_clear(&ev);
		break;
	default:
		CHECK(0, "kind %d", m->kind);
	}
	CHECK(m->id_kind == QMP_ID_NONE || m->id_kind == QMP_ID_INT || m->id_kind == QMP_ID_OTHER,
	      "id kind %d", m->id_kind);
}

static void parse_chunked(const uint8_t *data, size_t size)
{
	struct qmp_parser p;
	size_t chunk, pos = 0;
	bool broken = false;

	if (size == 0 || qmp_parser_init(&p))
		return;
	chunk = 1 + data[0] % 97;
	data++;
	size--;
	while (pos < size && !broken) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		struct qmp_msg m;
		int r;

		CHECK(qmp_parser_feed(&p, data + pos, n) == 0, "feed");
		pos += n;
		while ((r = qmp_parser_next(&p, &m, NULL)) == 1) {
			check_msg(&m);
			qmp_msg_free(&m);
		}
		CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE, "next returned %d", r);
		broken = r < 0;
	}
	qmp_parser_free(&p);
}

static void run_session(const uint8_t *data, size_t size)
{
	struct qmp *q = NULL;
	struct qmp_event ev;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	/* The whole stream fits in the socket's buffer (inputs are small). */
	if (size > 65536 || write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[1], SHUT_WR);
	r = qmp_open_fd(sv[0], 1000, &q);
	CHECK(r != -ETIMEDOUT, "open timed out on a closed stream");
	if (r == 0) {
		for (int i = 0; i < 3; i++) {
			struct json_object *ret = NULL;
			r = qmp_execute(q, "query-status", NULL, &ret, 1000);
			CHECK(r != -ETIMEDOUT, "execute timed out on a closed stream");
			CHECK(r == 0 || ret == NULL, "result on failure");
			if (ret)
				json_object_put(ret);
			if (r == -EREMOTEIO)
				CHECK(qmp_error_class(q) && qmp_error_desc(q), "error strings");
		}
		r = qmp_on_readable(q);
		CHECK(r < 0 && qmp_is_broken(q), "stream did not end: %d", r);
		CHECK(qmp_events_pending(q) <= QMP_EVENT_QUEUE_MAX, "queue");
		while (qmp_next_event(q, &ev))
			qmp_event_clear(&ev);
		qmp_close(q);
	}
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;

	if (!quiet) {
		log_set_level(LOG_LVL_ERR);
		quiet = true;
	}
	parse_chunked(data, size);
	run_session(data, size);
	return 0;
}

/* qmp_msg.h — splitting and classifying what a QEMU monitor sends.
 *
 * QMP is one JSON object per line ("\r\n" or "\n"): a greeting, command
 * replies ("return" or "error", echoing the request's "id") and events.
 * Everything here treats those bytes as hostile: a line is bounded by
 * QMP_MSG_MAX, nesting by QMP_JSON_DEPTH, the JSON must be strict (json-c's
 * strict mode, which still takes 'single-quoted' strings: harmless) and
 * valid UTF-8 with nothing after the object, and each kind must have the
 * members of the right types. Anything else is -EBADMSG (or -EMSGSIZE), never a
 * crash; the stream cannot resynchronise after that, so the caller drops
 * the connection.
 */
#ifndef AIRLOCK_QMP_MSG_H
#define AIRLOCK_QMP_MSG_H

#include "common/buf.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMP_MSG_MAX    (1u << 20) /* bytes in one line, newline excluded */
#define QMP_JSON_DEPTH 64

enum qmp_msg_kind {
	QMP_MSG_GREETING = 1, /* {"QMP": {"version": ..., "capabilities": [...]}} */
	QMP_MSG_RETURN,	      /* {"return": ANY, "id"?: ANY} */
	QMP_MSG_ERROR,	      /* {"error": {"class": STR, "desc": STR}, "id"?: ANY} */
	QMP_MSG_EVENT,	      /* {"event": STR, "data"?: OBJ, "timestamp"?: OBJ} */
};

enum qmp_id_kind {
	QMP_ID_NONE = 0, /* no "id" member */
	QMP_ID_INT,	 /* an integer id, in `id` */
	QMP_ID_OTHER,	 /* some other JSON value: not one of ours */
};

/* One parsed message. Every pointer but `obj` is borrowed from `obj`. */
struct qmp_msg {
	enum qmp_msg_kind kind;
	struct json_object *obj; /* the whole message; qmp_msg_free drops it */
	enum qmp_id_kind id_kind;
	int64_t id;
	struct json_object *ret;  /* RETURN: the value */
	const char *err_class;	  /* ERROR */
	const char *err_desc;	  /* ERROR */
	const char *event;	  /* EVENT: the name */
	struct json_object *data; /* EVENT: the "data" object, or NULL */
	int64_t ts_sec, ts_usec;  /* EVENT: "timestamp", or -1 */
};

/* The events airlock acts on; everything else is QMP_EV_OTHER. */
enum qmp_event_type {
	QMP_EV_OTHER = 0,
	QMP_EV_SHUTDOWN,
	QMP_EV_RESET,
	QMP_EV_STOP,
	QMP_EV_RESUME,
	QMP_EV_GUEST_PANICKED,
	QMP_EV_POWERDOWN,
};

/* An event as the client hands it out. */
struct qmp_event {
	enum qmp_event_type type;
	char name[64];		  /* QEMU's name (truncated if longer) */
	struct json_object *data; /* "data", or NULL; owned (qmp_event_clear) */
	int64_t ts_sec, ts_usec;  /* QEMU's timestamp, or -1 */
	/* SHUTDOWN, RESET: data.guest (the guest asked for it) and
	 * data.reason ("guest-shutdown", "guest-reset", "host-qmp-quit", ...;
	 * "" if absent). */
	bool guest;
	char reason[40];
	/* GUEST_PANICKED: data.action ("pause", "poweroff", "run"; "" if
	 * absent). */
	char action[16];
};

/* Bytes not yet split into lines, and the tokenizer reused for each. */
struct qmp_parser {
	struct buf in;
	size_t scanned; /* bytes of `in` known to hold no newline */
	struct json_tokener *tok;
};

/* Prepares an empty parser. Returns 0 or -ENOMEM. */
int qmp_parser_init(struct qmp_parser *p);

/* Frees the parser's memory; it may be initialised again. */
void qmp_parser_free(struct qmp_parser *p);

/* Appends bytes read from the monitor. Returns 0 or -ENOMEM (nothing
 * appended). Call qmp_parser_next until it returns 0 after each feed: the
 * parser holds at most one incomplete line beyond what was fed. */
int qmp_parser_feed(struct qmp_parser *p, const void *data, size_t len);

/* Takes the next complete message. Returns 1 with *out filled (free it
 * with qmp_msg_free), 0 when no complete line is buffered, or -EBADMSG /
 * -EMSGSIZE (a line over QMP_MSG_MAX) with a static reason in *why (may be
 * NULL). Blank lines are skipped. */
int qmp_parser_next(struct qmp_parser *p, struct qmp_msg *out, const char **why);

/* Parses one line (no newline; a trailing "\r" is allowed) with tokenizer
 * `tok` (NULL: a temporary one). Same results as qmp_parser_next, with 0
 * for a blank line. */
int qmp_msg_parse(struct json_tokener *tok, const char *line, size_t len, struct qmp_msg *out,
		  const char **why);

/* Drops the message's JSON; *m is zeroed. */
void qmp_msg_free(struct qmp_msg *m);

/* Builds an event from an EVENT message, taking a reference to its data.
 * Fields missing or of the wrong type stay empty. */
void qmp_event_from_msg(const struct qmp_msg *m, struct qmp_event *ev);

/* Drops an event's data; *ev is zeroed. */
void qmp_event_clear(struct qmp_event *ev);

/* The event type for a QEMU event name. */
enum qmp_event_type qmp_event_type_of(const char *name);

#endif

/* qmp_msg.c — see qmp_msg.h. */
#include "qmp/qmp_msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int qmp_parser_init(struct qmp_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->tok = json_tokener_new_ex(QMP_JSON_DEPTH);
	if (!p->tok)
		return -ENOMEM;
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return 0;
}

void qmp_parser_free(struct qmp_parser *p)
{
	buf_free(&p->in);
	if (p->tok)
		json_tokener_free(p->tok);
	memset(p, 0, sizeof(*p));
}

int qmp_parser_feed(struct qmp_parser *p, const void *data, size_t len)
{
	return buf_append(&p->in, data, len);
}

void qmp_msg_free(struct qmp_msg *m)
{
	if (m->obj)
		json_object_put(m->obj);
	memset(m, 0, sizeof(*m));
}

/* The member `key` of `obj` if it has type `type`, else NULL. */
static struct json_object *member(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* A string member without embedded NULs, or NULL. */
static const char *str_member(struct json_object *obj, const char *key)
{
	struct json_object *v = member(obj, key, json_type_string);
	const char *s;

	if (!v)
		return NULL;
	s = json_object_get_string(v);
	if (!s || strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

static int classify(struct qmp_msg *m, const char **why)
{
	struct json_object *o = m->obj, *v, *ts;
	int kinds = 0;

	if (!json_object_is_type(o, json_type_object)) {
		*why = "message is not a JSON object";
		return -EBADMSG;
	}
	kinds = json_object_object_get_ex(o, "QMP", NULL) +
		json_object_object_get_ex(o, "return", NULL) +
		json_object_object_get_ex(o, "error", NULL) +
		json_object_object_get_ex(o, "event", NULL);
	if (kinds != 1) {
		*why = kinds ? "message is more than one of greeting, return, error, event"
			     : "message is none of greeting, return, error, event";
		return -EBADMSG;
	}
	if (json_object_object_get_ex(o, "id", &v)) {
		if (json_object_is_type(v, json_type_int)) {
			m->id_kind = QMP_ID_INT;
			m->id = json_object_get_int64(v);
		} else {
			m->id_kind = QMP_ID_OTHER;
		}
	}
	if (json_object_object_get_ex(o, "QMP", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			*why = "greeting's QMP member is not an object";
			return -EBADMSG;
		}
		m->kind = QMP_MSG_GREETING;
		return 0;
	}
	if (json_object_object_get_ex(o, "return", &v)) {
		m->kind = QMP_MSG_RETURN;
		m->ret = v;
		return 0;
	}
	if (json_object_object_get_ex(o, "error", &v)) {
		if (!json_object_is_type(v, json_type_object) ||
		    !(m->err_class = str_member(v, "class")) ||
		    !(m->err_desc = str_member(v, "desc"))) {
			*why = "error reply without a class and desc string";
			return -EBADMSG;
		}
		m->kind = QMP_MSG_ERROR;
		return 0;
	}
	m->event = str_member(o, "event");
	if (!m->event || !m->event[0]) {
		*why = "event name is not a string";
		return -EBADMSG;
	}
	if (json_object_object_get_ex(o, "data", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			*why = "event data is not an object";
			return -EBADMSG;
		}
		m->data = v;
	}
	m->ts_sec = m->ts_usec = -1;
	if ((ts = member(o, "timestamp", json_type_object))) {
		struct json_object *s = member(ts, "seconds", json_type_int);
		struct json_object *us = member(ts, "microseconds", json_type_int);
		if (s && us) {
			m->ts_sec = json_object_get_int64(s);
			m->ts_usec = json_object_get_int64(us);
		}
	}
	m->kind = QMP_MSG_EVENT;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int qmp_msg_parse(struct json_tokener *tok, const char *line, size_t len, struct qmp_msg *out,
		  const char **why)
{
	struct json_tokener *own = NULL;
	const char *dummy;
	enum json_tokener_error jerr;
	int r;

	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	while (len && is_blank(line[len - 1]))
		len--;
	while (len && is_blank(line[0])) {
		line++;
		len--;
	}
	if (len == 0)
		return 0;
	if (len > QMP_MSG_MAX) {
		*why = "message longer than QMP_MSG_MAX";
		return -EMSGSIZE;
	}
	if (memchr(line, '\0', len) || memchr(line, '\n', len)) {
		*why = "message holds a NUL or newline byte";
		return -EBADMSG;
	}
	if (!tok) {
		own = tok = json_tokener_new_ex(QMP_JSON_DEPTH);
		if (!own) {
			*why = "out of memory";
			return -ENOMEM;
		}
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	}
	json_tokener_reset(tok);
	out->obj = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!out->obj || jerr != json_tokener_success) {
		*why = jerr == json_tokener_continue	  ? "message ends inside its JSON"
		       : jerr == json_tokener_error_depth ? "message nested too deeply"
							  : "message is not valid JSON";
		r = -EBADMSG;
	} else if (json_tokener_get_parse_end(tok) != len) {
		*why = "bytes after the message's JSON";
		r = -EBADMSG;
	} else {
		r = classify(out, why);
	}
	json_tokener_reset(tok);
	if (own)
		json_tokener_free(own);
	if (r) {
		qmp_msg_free(out);
		return r;
	}
	return 1;
}

int qmp_parser_next(struct qmp_parser *p, struct qmp_msg *out, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	for (;;) {
		size_t used = buf_used(&p->in), line_len;
		const char *head = (const char *)buf_head(&p->in);
		const char *nl;
		int r;

		nl = used > p->scanned ? memchr(head + p->scanned, '\n', used - p->scanned) : NULL;
		if (!nl) {
			p->scanned = used;
			if (used > QMP_MSG_MAX + 1) { /* + 1: a trailing "\r" */
				*why = "message longer than QMP_MSG_MAX";
				return -EMSGSIZE;
			}
			return 0;
		}
		line_len = (size_t)(nl - head);
		if (line_len > QMP_MSG_MAX + 1) {
			*why = "message longer than QMP_MSG_MAX";
			return -EMSGSIZE;
		}
		r = qmp_msg_parse(p->tok, head, line_len, out, why);
		buf_consume(&p->in, line_len + 1);
		p->scanned = 0;
		if (r)
			return r;
	}
}

enum qmp_event_type qmp_event_type_of(const char *name)
{
	static const struct {
		const char *name;
		enum qmp_event_type type;
	} types[] = {
		{"SHUTDOWN", QMP_EV_SHUTDOWN},
		{"RESET", QMP_EV_RESET},
		{"STOP", QMP_EV_STOP},
		{"RESUME", QMP_EV_RESUME},
		{"GUEST_PANICKED", QMP_EV_GUEST_PANICKED},
		{"POWERDOWN", QMP_EV_POWERDOWN},
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name, types[i].name) == 0)
			return types[i].type;
	return QMP_EV_OTHER;
}

void qmp_event_from_msg(const struct qmp_msg *m, struct qmp_event *ev)
{
	struct json_object *v;
	const char *s;

	memset(ev, 0, sizeof(*ev));
	snprintf(ev->name, sizeof(ev->name), "%s", m->event ? m->event : "");
	ev->type = m->event ? qmp_event_type_of(m->event) : QMP_EV_OTHER;
	ev->ts_sec = m->ts_sec;
	ev->ts_usec = m->ts_usec;
	if (!m->data)
		return;
	ev->data = json_object_get(m->data);
	if ((v = member(m->data, "guest", json_type_boolean)))
		ev->guest = json_object_get_boolean(v);
	if ((s = str_member(m->data, "reason")))
		snprintf(ev->reason, sizeof(ev->reason), "%s", s);
	if ((s = str_member(m->data, "action")))
		snprintf(ev->action, sizeof(ev->action), "%s", s);
}

void qmp_event_clear(struct qmp_event *ev)
{
	if (ev->data)
		json_object_put(ev->data);
	memset(ev, 0, sizeof(*ev));
}

/* argv.c — see argv.h. */
#include "supervisor/argv.h"
#include "common/buf.h"
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void argv_add(struct argv_b *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		a->oom = true;
		s = NULL;
	}
	va_end(ap);
	if (s) {
		a->v[a->n++] = s;
		a->v[a->n] = NULL;
	}
}

void argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

void argv_log(const char *what, char *const *argv)
{
	struct buf line = BUF_INIT;

	for (char *const *a = argv; *a; a++)
		buf_printf(&line, "%s%s", a == argv ? "" : " ", *a);
	if (buf_append(&line, "", 1) == 0)
		log_info("%s: %s", what, (char *)buf_head(&line));
	buf_free(&line);
}

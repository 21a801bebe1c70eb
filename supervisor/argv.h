/* argv.h — a program's argv built one printf-formatted word at a time,
 * for the processes the supervisor starts (engine, stub-domain QEMU,
 * airlock-relay, airlock-dm), and logged on one line before they start.
 *
 * Running out of memory is recorded rather than returned at each word, so
 * a builder appends its whole command line and checks `oom` once.
 */
#ifndef AIRLOCK_SUP_ARGV_H
#define AIRLOCK_SUP_ARGV_H

#include <stdbool.h>
#include <stddef.h>

struct argv_b {
	char **v; /* NULL-terminated once a word was added; every word malloc'd */
	size_t n, cap;
	bool oom; /* an allocation failed: v is incomplete */
};

/* Appends one word, formatted as printf would. After an allocation failure
 * sets a->oom and appends nothing more. Start from a zeroed argv_b. */
void argv_add(struct argv_b *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees an argv built by argv_add (a->v) or handed on from one: every
 * word and the array. NULL does nothing. */
void argv_free(char **argv);

/* Logs argv at info level as "<what>: word word ...", one line, whole. */
void argv_log(const char *what, char *const *argv);

#endif

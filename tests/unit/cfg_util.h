/* cfg_util.h — helpers shared by the lib/cfg unit tests (test_cfg*.c):
 * parse a config held in a string, look for a message among the
 * diagnostics, print them when a check fails.
 */
#ifndef AIRLOCK_TEST_CFG_UTIL_H
#define AIRLOCK_TEST_CFG_UTIL_H

#include "cfg/domcfg.h"
#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* True if some error (warning) contains `needle`. */
static inline bool diag_has(char *const *msgs, size_t n, const char *needle)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(msgs[i], needle))
			return true;
	return false;
}

static inline bool has_error(const struct cfg_diag *d, const char *needle)
{
	return diag_has(d->errors, d->n_errors, needle);
}

static inline bool has_warning(const struct cfg_diag *d, const char *needle)
{
	return diag_has(d->warnings, d->n_warnings, needle);
}

/* Prints every message as a TAP comment (for a failed check's context). */
static inline void diag_print(const struct cfg_diag *d)
{
	for (size_t i = 0; i < d->n_errors; i++)
		printf("#   error: %s\n", d->errors[i]);
	for (size_t i = 0; i < d->n_warnings; i++)
		printf("#   warning: %s\n", d->warnings[i]);
}

#define CHECK_ERROR(d, needle)                                                                     \
	do {                                                                                       \
		if (!has_error((d), (needle))) {                                                   \
			printf("# no error containing \"%s\"\n", (needle));                        \
			diag_print(d);                                                             \
		}                                                                                  \
		CHECK(has_error((d), (needle)));                                                   \
	} while (0)

#define CHECK_WARNING(d, needle)                                                                   \
	do {                                                                                       \
		if (!has_warning((d), (needle))) {                                                 \
			printf("# no warning containing \"%s\"\n", (needle));                      \
			diag_print(d);                                                             \
		}                                                                                  \
		CHECK(has_warning((d), (needle)));                                                 \
	} while (0)

#define CHECK_NO_ERRORS(d)                                                                         \
	do {                                                                                       \
		if ((d)->n_errors)                                                                 \
			diag_print(d);                                                             \
		CHECK_EQ_INT((d)->n_errors, 0);                                                    \
	} while (0)

/* Parses `text` as "t.cfg" without file checks. */
static inline int parse_text(const char *text, struct dom_config **out, struct cfg_diag *d)
{
	return domcfg_parse(text, strlen(text), "t.cfg", NULL, DOMCFG_NO_FILE_CHECKS, out, d);
}

#endif

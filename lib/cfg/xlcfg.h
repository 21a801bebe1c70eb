/* xlcfg.h — the syntax of xl.cfg(5) files, without any meaning attached.
 *
 * A file is a sequence of settings `KEY = VALUE` (or `KEY += VALUE`), ended
 * by a newline or ';'. A value is a string ('single' or "double" quoted,
 * with xl's backslash escapes), an unsigned integer (decimal or 0x hex), or
 * a [list] of values that may span lines and end with a trailing comma.
 * '#' starts a comment that runs to the end of the line. The schema (which
 * keys exist, what they mean) lives in domcfg.h; this layer only turns text
 * into an ordered list of settings and reports syntax errors with file, line
 * and column.
 *
 * Diagnostics of both layers are collected in a struct cfg_diag: every error
 * and warning as one formatted line ("guest.cfg:3:9: message"), so a caller
 * can print all of them at once.
 */
#ifndef AIRLOCK_CFG_XLCFG_H
#define AIRLOCK_CFG_XLCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest list nesting accepted ([[[...]]]); deeper is a syntax error. */
#define CFG_MAX_DEPTH 8

/* Errors kept per diagnostic collection; later ones are only counted. */
#define CFG_DIAG_MAX 64

enum cfg_type {
	CFG_STRING,
	CFG_INT,
	CFG_LIST,
};

struct cfg_value {
	enum cfg_type type;
	unsigned int line, col; /* where the value starts, 1-based */
	/* CFG_STRING: the decoded text (NUL-free). CFG_INT: the token as
	 * written ("0x10"), so a string-typed key can take a bare number as
	 * xl does. NULL for CFG_LIST. */
	char *str;
	uint64_t num;		 /* CFG_INT */
	struct cfg_value *items; /* CFG_LIST */
	size_t n_items;
};

struct cfg_setting {
	char *key;
	unsigned int line, col; /* of the key */
	bool append;		/* written with "+=": value already holds the result */
	struct cfg_value value;
};

/* A parsed file: its settings in file order, duplicates included. */
struct cfg_file {
	struct cfg_setting *settings;
	size_t n_settings;
};

struct cfg_diag {
	char **errors;
	size_t n_errors; /* kept in errors[] (at most CFG_DIAG_MAX) */
	size_t n_errors_dropped;
	char **warnings;
	size_t n_warnings;
	size_t n_warnings_dropped;
	bool oom; /* a message could not be stored */
};

#define CFG_DIAG_INIT                                                                              \
	{                                                                                          \
		NULL, 0, 0, NULL, 0, 0, false                                                      \
	}

/* Empties a diagnostic collection, freeing its messages; it stays usable. */
void cfg_diag_free(struct cfg_diag *diag);

/* Appends one formatted error / warning. Never fails visibly: when memory
 * runs out the message is counted as dropped and diag->oom is set. */
void cfg_diag_error(struct cfg_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cfg_diag_warn(struct cfg_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Total errors reported, kept or dropped. */
static inline size_t cfg_diag_error_count(const struct cfg_diag *diag)
{
	return diag->n_errors + diag->n_errors_dropped;
}

/* Parses `len` bytes of xl.cfg text (NUL bytes are syntax errors). `name` is
 * used in messages ("guest.cfg:4:7: ..."). Every syntax error is appended to
 * `diag`; parsing resumes at the next statement, so one bad line does not
 * hide the next.
 *
 * Returns 0 and sets *out (free with cfg_file_free); -EINVAL when there was
 * at least one syntax error: *out is still set and holds the settings that
 * parsed, so a caller can go on to report schema errors too; -ENOMEM: *out
 * is NULL. */
int cfg_parse(const char *text, size_t len, const char *name, struct cfg_file **out,
	      struct cfg_diag *diag);

/* Frees a parsed file (NULL is fine). */
void cfg_file_free(struct cfg_file *file);

/* The last setting of `key` (the one xl obeys), or NULL. */
const struct cfg_setting *cfg_find(const struct cfg_file *file, const char *key);

/* "a string", "an integer", "a list". */
const char *cfg_type_name(enum cfg_type type);

/* Parses an xl.cfg integer token: decimal without leading zeros ("0" is
 * fine) or 0x followed by hex digits, at most UINT64_MAX. Returns 0, -EINVAL
 * (not such a number) or -ERANGE (too large). Used for quoted numbers too
 * ("512" given to an integer key), as xl accepts them. */
int cfg_parse_number(const char *s, uint64_t *out);

/* Spelling suggestions for unknown names: feed every known name to
 * cfg_suggest_consider (best candidates first: ties keep the earlier one),
 * then cfg_suggest_result gives the closest, or NULL when none is close
 * enough (distance 0 for words of 1-2 letters, ≤ 1 up to 4, ≤ 2 up to 8,
 * else ≤ 3; case is ignored, so "Memory" suggests "memory"). */
struct cfg_suggest {
	const char *word;
	const char *best;
	unsigned int best_dist;
};

void cfg_suggest_init(struct cfg_suggest *sg, const char *word);
void cfg_suggest_consider(struct cfg_suggest *sg, const char *candidate);
const char *cfg_suggest_result(const struct cfg_suggest *sg);

/* Optimal-string-alignment distance (insertions, deletions, substitutions
 * and adjacent transpositions each cost 1), ignoring ASCII case. Strings
 * longer than 64 bytes give a large distance without being compared. */
unsigned int cfg_edit_distance(const char *a, const char *b);

#endif

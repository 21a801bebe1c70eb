/* diag.c — the diagnostics every lib/cfg parser reports into (struct
 * cfg_diag), and "did you mean" suggestions for unknown names (xlcfg.h).
 */
#include "cfg/xlcfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void diag_add(struct cfg_diag *diag, bool error, const char *fmt, va_list ap)
{
	char ***list = error ? &diag->errors : &diag->warnings;
	size_t *n = error ? &diag->n_errors : &diag->n_warnings;
	size_t *dropped = error ? &diag->n_errors_dropped : &diag->n_warnings_dropped;
	char *msg = NULL, **grown;

	if (*n >= CFG_DIAG_MAX) {
		(*dropped)++;
		return;
	}
	if (vasprintf(&msg, fmt, ap) < 0) {
		diag->oom = true;
		(*dropped)++;
		return;
	}
	/* Messages quote the user's text: keep terminal controls out. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (!grown) {
		free(msg);
		diag->oom = true;
		(*dropped)++;
		return;
	}
	grown[(*n)++] = msg;
	*list = grown;
}

void cfg_diag_error(struct cfg_diag *diag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(diag, true, fmt, ap);
	va_end(ap);
}

void cfg_diag_warn(struct cfg_diag *diag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(diag, false, fmt, ap);
	va_end(ap);
}

void cfg_diag_free(struct cfg_diag *diag)
{
	for (size_t i = 0; i < diag->n_errors; i++)
		free(diag->errors[i]);
	for (size_t i = 0; i < diag->n_warnings; i++)
		free(diag->warnings[i]);
	free(diag->errors);
	free(diag->warnings);
	*diag = (struct cfg_diag)CFG_DIAG_INIT;
}

/* ---- suggestions ------------------------------------------------------- */

#define WORD_MAX 64

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

unsigned int cfg_edit_distance(const char *a, const char *b)
{
	/* d[i][j]: distance between the first i bytes of a and j of b. */
	unsigned int d[WORD_MAX + 1][WORD_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > WORD_MAX || lb > WORD_MAX)
		return 1000;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned int cost = lower(a[i - 1]) != lower(b[j - 1]);
			unsigned int best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

void cfg_suggest_init(struct cfg_suggest *sg, const char *word)
{
	sg->word = word;
	sg->best = NULL;
	sg->best_dist = 1000;
}

void cfg_suggest_consider(struct cfg_suggest *sg, const char *candidate)
{
	size_t lw = strlen(sg->word), lc = strlen(candidate);
	unsigned int d;

	/* The distance is at least the difference in length, and no
	 * suggestion is ever further than 3. */
	if ((lw > lc ? lw - lc : lc - lw) > 3)
		return;
	d = cfg_edit_distance(sg->word, candidate);
	if (d < sg->best_dist) {
		sg->best = candidate;
		sg->best_dist = d;
	}
}

const char *cfg_suggest_result(const struct cfg_suggest *sg)
{
	size_t n = strlen(sg->word);
	unsigned int limit = n <= 2 ? 0 : n <= 4 ? 1 : n <= 8 ? 2 : 3;

	return sg->best && sg->best_dist <= limit ? sg->best : NULL;
}

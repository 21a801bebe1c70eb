/* xlcfg.c — lexer and parser for xl.cfg syntax (see xlcfg.h).
 *
 * Design
 * ------
 * The grammar is xl's (libxlu's flex/bison grammar, restated):
 *
 *   file    := { stmt }
 *   stmt    := NEWLINE | ';' | IDENT ('=' | '+=') value end
 *   end     := NEWLINE | ';' | EOF
 *   value   := STRING | NUMBER | '[' nl* [ item { ',' nl* item } [ ',' nl* ] ] ']'
 *   item    := value nl*
 *
 * NEWLINE is a token: a statement ends at the end of its line, except inside
 * a list, where newlines (and so comments) are skipped. Tokens:
 *
 *   IDENT   [A-Za-z_][A-Za-z0-9_.]*     (xl itself only takes lower case;
 *                                         the schema suggests the spelling)
 *   NUMBER  0 | [1-9][0-9]* | 0x[0-9a-fA-F]+, no sign, no unit. xl hands
 *           "010" to strtol(…, 0) and gets 8; we refuse it rather than
 *           guess. "512M" is one bad token, not 512 followed by M.
 *   STRING  '…' or "…" on one line. Both kinds take xl's escapes: \" \' \\
 *           \a \b \f \n \r \t \v \xHH \ooo; a NUL (raw or escaped) is
 *           refused. A ' always ends a single-quoted string, as in xl.
 *
 * Errors and recovery. The parser never stops at the first error: it reports
 * it ("name:line:col: message") and skips to the end of the statement — the
 * next NEWLINE or ';' outside any brackets — then goes on, so a file with
 * three typos yields three messages. While skipping, lexical errors are not
 * reported (they are usually the same mistake seen again). One heuristic
 * keeps a forgotten ']' from eating the rest of the file: inside a list, a
 * name at the start of a line (`memory = 5` after `disk = [ 'x',`) ends the
 * broken list with an error and is parsed as the next statement.
 *
 * Worked example:
 *
 *   1 disk = [ 'a.img,,xvda',
 *   2          'b.img,,xvdb', ]   # trailing comma: fine
 *   3 memory = 512M
 *   4 vcpus = 2; name = "g"
 *
 * gives settings disk (list of 2, line 1), vcpus (line 4), name (line 4)
 * and one error "f:3:10: '512M' is not a number ...". cfg_parse returns
 * -EINVAL with those three settings, so the schema can still check them.
 *
 * `+=` follows xl: the value is joined to the previous setting of the same
 * key (strings concatenated, lists appended) and stored as a new setting;
 * numbers cannot be added.
 */
#include "cfg/xlcfg.h"

#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind {
	T_EOF,
	T_NEWLINE,
	T_SEMI,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_EQ,
	T_PLUSEQ,
	T_IDENT,
	T_NUMBER,
	T_STRING,
	T_BAD, /* a lexical error, already reported */
};

struct token {
	enum tok_kind kind;
	unsigned int line, col;
	bool first_on_line; /* nothing but blanks before it on its line */
	char *text;	    /* IDENT, NUMBER (as written), STRING (decoded); owned */
	uint64_t num;
};

struct parser {
	const char *p, *end, *line_start;
	unsigned int line;
	const char *name;
	struct cfg_diag *diag;
	struct cfg_file *file;
	size_t cap;
	struct token tok;
	bool line_has_token; /* a token was already lexed on this line */
	int open;	     /* brackets opened and not yet closed */
	bool quiet;	     /* recovering: lexical errors are not reported */
	bool failed;	     /* at least one syntax error */
	bool oom;
};

/* ---- syntax errors ---------------------------------------------------- */

static void syntax_error(struct parser *ps, unsigned int line, unsigned int col, const char *fmt,
			 ...) __attribute__((format(printf, 4, 5)));

static void syntax_error(struct parser *ps, unsigned int line, unsigned int col, const char *fmt,
			 ...)
{
	char msg[512];
	va_list ap;

	ps->failed = true;
	if (ps->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_diag_error(ps->diag, "%s:%u:%u: %s", ps->name, line, col, msg);
}

/* ---- values ------------------------------------------------------------ */

static void value_clear(struct cfg_value *v)
{
	free(v->str);
	for (size_t i = 0; i < v->n_items; i++)
		value_clear(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

void cfg_file_free(struct cfg_file *file)
{
	if (!file)
		return;
	for (size_t i = 0; i < file->n_settings; i++) {
		free(file->settings[i].key);
		value_clear(&file->settings[i].value);
	}
	free(file->settings);
	free(file);
}

const struct cfg_setting *cfg_find(const struct cfg_file *file, const char *key)
{
	for (size_t i = file->n_settings; i-- > 0;)
		if (strcmp(file->settings[i].key, key) == 0)
			return &file->settings[i];
	return NULL;
}

const char *cfg_type_name(enum cfg_type type)
{
	switch (type) {
	case CFG_STRING:
		return "a string";
	case CFG_INT:
		return "an integer";
	case CFG_LIST:
		return "a list";
	}
	return "a value";
}

int cfg_parse_number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		p = s + 2;
		if (!*p)
			return -EINVAL;
		for (; *p; p++) {
			unsigned d;
			if (*p >= '0' && *p <= '9')
				d = (unsigned)(*p - '0');
			else if (*p >= 'a' && *p <= 'f')
				d = (unsigned)(*p - 'a' + 10);
			else if (*p >= 'A' && *p <= 'F')
				d = (unsigned)(*p - 'A' + 10);
			else
				return -EINVAL;
			if (v > (UINT64_MAX >> 4))
				return -ERANGE;
			v = (v << 4) | d;
		}
		*out = v;
		return 0;
	}
	if (!*p || (p[0] == '0' && p[1]))
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* ---- lexer ------------------------------------------------------------- */

static unsigned int col_of(const struct parser *ps, const char *at)
{
	return (unsigned int)(at - ps->line_start) + 1;
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}

/* Appends one byte to a growing string. Returns false on ENOMEM. */
static bool str_push(char **s, size_t *len, size_t *cap, char c)
{
	if (*len + 1 >= *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		char *n = realloc(*s, ncap);
		if (!n)
			return false;
		*s = n;
		*cap = ncap;
	}
	(*s)[(*len)++] = c;
	(*s)[*len] = '\0';
	return true;
}

/* Decodes one backslash escape at ps->p (just after the backslash) into
 * *c. Returns 0 or -EINVAL (reported). */
static int lex_escape(struct parser *ps, const char *bs, char *c)
{
	const char *p = ps->p;
	unsigned int v = 0;
	int n = 0;

	if (p == ps->end || *p == '\n') {
		syntax_error(ps, ps->line, col_of(ps, bs),
			     "unterminated string (a backslash ends it)");
		return -EINVAL;
	}
	switch (*p) {
	case '"':
	case '\'':
	case '\\':
		*c = *p;
		break;
	case 'a':
		*c = '\a';
		break;
	case 'b':
		*c = '\b';
		break;
	case 'f':
		*c = '\f';
		break;
	case 'n':
		*c = '\n';
		break;
	case 'r':
		*c = '\r';
		break;
	case 't':
		*c = '\t';
		break;
	case 'v':
		*c = '\v';
		break;
	case 'x':
		if (p + 2 >= ps->end || hex_digit(p[1]) < 0 || hex_digit(p[2]) < 0) {
			syntax_error(ps, ps->line, col_of(ps, bs),
				     "'\\x' must be followed by two hex digits");
			return -EINVAL;
		}
		*c = (char)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
		p += 2;
		break;
	default:
		if (*p < '0' || *p > '7') {
			char shown = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
			syntax_error(
				ps, ps->line, col_of(ps, bs),
				"unknown escape '\\%c' in a string (write '\\\\' for a backslash)",
				shown);
			return -EINVAL;
		}
		while (n < 3 && p < ps->end && *p >= '0' && *p <= '7') {
			v = v * 8 + (unsigned)(*p - '0');
			p++;
			n++;
		}
		p--;
		if (v > 0xff) {
			syntax_error(ps, ps->line, col_of(ps, bs), "octal escape above \\377");
			return -EINVAL;
		}
		*c = (char)v;
		break;
	}
	if (*c == '\0') {
		syntax_error(ps, ps->line, col_of(ps, bs), "a string cannot hold a NUL character");
		return -EINVAL;
	}
	ps->p = p + 1;
	return 0;
}

static void lex_string(struct parser *ps, struct token *t)
{
	const char quote = *ps->p;
	size_t len = 0, cap = 16;
	char *s = malloc(cap);

	if (!s)
		goto oom;
	s[0] = '\0';
	ps->p++;
	for (;;) {
		char c;
		if (ps->p == ps->end || *ps->p == '\n') {
			syntax_error(ps, t->line, t->col,
				     "unterminated string (a string ends on the line it starts)");
			goto bad;
		}
		c = *ps->p;
		if (c == quote) {
			ps->p++;
			break;
		}
		if (c == '\0') {
			syntax_error(ps, ps->line, col_of(ps, ps->p),
				     "a string cannot hold a NUL character");
			goto bad;
		}
		if (c == '\\') {
			const char *bs = ps->p++;
			if (quote == '\'' && ps->p < ps->end && *ps->p == '\'') {
				syntax_error(ps, ps->line, col_of(ps, bs),
					     "\\' cannot appear in a single-quoted string (use "
					     "\"...\")");
				ps->p++;
				goto bad;
			}
			if (lex_escape(ps, bs, &c))
				goto bad;
		} else {
			ps->p++;
		}
		if (!str_push(&s, &len, &cap, c))
			goto oom;
	}
	t->kind = T_STRING;
	t->text = s;
	return;
oom:
	ps->oom = true;
bad:
	free(s);
	t->kind = T_BAD;
}

static void lex_word(struct parser *ps, struct token *t, bool number)
{
	const char *start = ps->p;
	size_t n;

	while (ps->p < ps->end && is_ident_char(*ps->p))
		ps->p++;
	n = (size_t)(ps->p - start);
	/* The input need not end in a NUL: copy, never strndup. */
	t->text = malloc(n + 1);
	if (t->text) {
		memcpy(t->text, start, n);
		t->text[n] = '\0';
	}
	if (!t->text) {
		ps->oom = true;
		t->kind = T_BAD;
		return;
	}
	if (!number) {
		t->kind = T_IDENT;
		return;
	}
	switch (cfg_parse_number(t->text, &t->num)) {
	case 0:
		t->kind = T_NUMBER;
		return;
	case -ERANGE:
		syntax_error(ps, t->line, t->col, "number '%.40s' is too large", t->text);
		break;
	default:
		if (t->text[0] == '0' && t->text[1] >= '0' && t->text[1] <= '9' &&
		    strspn(t->text, "0123456789") == n)
			syntax_error(ps, t->line, t->col,
				     "number '%.40s' has a leading zero, which xl reads as octal: "
				     "write it without the zero (or in hex, 0x...)",
				     t->text);
		else
			syntax_error(ps, t->line, t->col,
				     "'%.40s' is not a number: numbers are decimal or 0x-hex, "
				     "without units (sizes are in MiB)",
				     t->text);
		break;
	}
	free(t->text);
	t->text = NULL;
	t->kind = T_BAD;
}

/* Lexes the next token into ps->tok (freeing the previous one). */
static void advance(struct parser *ps)
{
	struct token *t = &ps->tok;
	char c;

	free(t->text);
	memset(t, 0, sizeof(*t));
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' ||
				   *ps->p == '\f' || *ps->p == '\v'))
		ps->p++;
	if (ps->p < ps->end && *ps->p == '#')
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
	t->line = ps->line;
	t->col = col_of(ps, ps->p);
	t->first_on_line = !ps->line_has_token;
	ps->line_has_token = true;
	if (ps->p == ps->end) {
		t->kind = T_EOF;
		return;
	}
	c = *ps->p;
	switch (c) {
	case '\n':
		ps->p++;
		ps->line++;
		ps->line_start = ps->p;
		ps->line_has_token = false;
		t->kind = T_NEWLINE;
		return;
	case ';':
		ps->p++;
		t->kind = T_SEMI;
		return;
	case '[':
		ps->p++;
		t->kind = T_LBRACK;
		return;
	case ']':
		ps->p++;
		t->kind = T_RBRACK;
		return;
	case ',':
		ps->p++;
		t->kind = T_COMMA;
		return;
	case '=':
		ps->p++;
		t->kind = T_EQ;
		return;
	case '+':
		if (ps->p + 1 < ps->end && ps->p[1] == '=') {
			ps->p += 2;
			t->kind = T_PLUSEQ;
			return;
		}
		break;
	case '"':
	case '\'':
		lex_string(ps, t);
		return;
	default:
		if (is_ident_start(c)) {
			lex_word(ps, t, false);
			return;
		}
		if (c >= '0' && c <= '9') {
			lex_word(ps, t, true);
			return;
		}
		break;
	}
	ps->p++;
	if (c >= 0x21 && c < 0x7f)
		syntax_error(ps, t->line, t->col, "unexpected character '%c'%s", c,
			     (c && strchr("(){}:", c)) ? " (xl.cfg is not Python: see xl.cfg(5))"
						       : "");
	else
		syntax_error(ps, t->line, t->col, "unexpected byte 0x%02x", (unsigned char)c);
	t->kind = T_BAD;
}

/* Describes the current token for messages ("end of line", "'memory'"). */
static const char *describe(const struct token *t, char *buf, size_t sz)
{
	switch (t->kind) {
	case T_EOF:
		return "end of file";
	case T_NEWLINE:
		return "end of line";
	case T_SEMI:
		return "';'";
	case T_LBRACK:
		return "'['";
	case T_RBRACK:
		return "']'";
	case T_COMMA:
		return "','";
	case T_EQ:
		return "'='";
	case T_PLUSEQ:
		return "'+='";
	case T_IDENT:
		snprintf(buf, sz, "'%.40s'", t->text);
		return buf;
	case T_NUMBER:
		snprintf(buf, sz, "number %.40s", t->text);
		return buf;
	case T_STRING:
		return "a string";
	case T_BAD:
		break;
	}
	return "a bad token";
}

/* ---- parser ------------------------------------------------------------ */

/* Skips to the end of the current statement: the next NEWLINE or ';' with
 * no bracket open (ps->open brackets are open now), or EOF. */
static void recover(struct parser *ps)
{
	int depth = ps->open;

	ps->quiet = true;
	while (ps->tok.kind != T_EOF && !ps->oom) {
		if (ps->tok.kind == T_LBRACK)
			depth++;
		else if (ps->tok.kind == T_RBRACK && depth > 0)
			depth--;
		else if ((ps->tok.kind == T_NEWLINE || ps->tok.kind == T_SEMI) && depth <= 0)
			break;
		advance(ps);
	}
	ps->quiet = false;
	ps->open = 0;
}

enum pv_result {
	PV_OK,
	PV_ERROR,  /* reported; caller recovers from the current token */
	PV_RESUME, /* reported; the current token starts the next statement */
};

static void skip_newlines(struct parser *ps)
{
	while (ps->tok.kind == T_NEWLINE)
		advance(ps);
}

/* Parses the value starting at the current token into *v; on PV_OK the
 * current token is the one after the value. */
static enum pv_result parse_value(struct parser *ps, struct cfg_value *v, int depth)
{
	struct token *t = &ps->tok;
	unsigned int open_line = t->line, open_col = t->col;
	char what[64];

	memset(v, 0, sizeof(*v));
	v->line = t->line;
	v->col = t->col;
	switch (t->kind) {
	case T_STRING:
	case T_NUMBER:
		v->type = t->kind == T_STRING ? CFG_STRING : CFG_INT;
		v->str = t->text;
		v->num = t->num;
		t->text = NULL;
		advance(ps);
		return PV_OK;
	case T_LBRACK:
		break;
	case T_BAD:
		return PV_ERROR;
	default:
		syntax_error(ps, t->line, t->col,
			     "expected a value (a \"string\", a number or a [list]), found %s",
			     describe(t, what, sizeof(what)));
		return PV_ERROR;
	}
	if (depth + 1 > CFG_MAX_DEPTH) {
		syntax_error(ps, t->line, t->col, "lists nested deeper than %d", CFG_MAX_DEPTH);
		return PV_ERROR;
	}
	v->type = CFG_LIST;
	ps->open++;
	advance(ps);
	skip_newlines(ps);
	for (;;) {
		struct cfg_value item, *grown;
		enum pv_result r;

		if (t->kind == T_RBRACK) {
			ps->open--;
			advance(ps);
			return PV_OK;
		}
		if (t->kind == T_EOF || (t->kind == T_IDENT && t->first_on_line)) {
			syntax_error(ps, open_line, open_col,
				     "the list opened here is not closed with ']' (before %s at "
				     "line %u)",
				     describe(t, what, sizeof(what)), t->line);
			return t->kind == T_EOF ? PV_ERROR : PV_RESUME;
		}
		r = parse_value(ps, &item, depth + 1);
		if (r != PV_OK) {
			value_clear(&item);
			return r;
		}
		grown = realloc(v->items, (v->n_items + 1) * sizeof(*grown));
		if (!grown) {
			value_clear(&item);
			ps->oom = true;
			return PV_ERROR;
		}
		v->items = grown;
		v->items[v->n_items++] = item;
		skip_newlines(ps);
		if (t->kind == T_COMMA) {
			advance(ps);
			skip_newlines(ps);
			continue;
		}
		if (t->kind == T_RBRACK)
			continue;
		if (t->kind == T_EOF || (t->kind == T_IDENT && t->first_on_line))
			continue; /* reported as an unclosed list above */
		if (t->kind != T_BAD)
			syntax_error(ps, t->line, t->col,
				     "expected ',' or ']' in the list opened at line %u, found %s",
				     open_line, describe(t, what, sizeof(what)));
		return PV_ERROR;
	}
}

/* Joins `v` onto the previous value of `key` for "+=". Returns 0, or -EINVAL
 * (reported) / -ENOMEM. */
static int append_previous(struct parser *ps, const char *key, struct cfg_value *v)
{
	struct cfg_setting *prev = (struct cfg_setting *)cfg_find(ps->file, key);
	struct cfg_value *items;
	size_t n;

	if (v->type == CFG_INT) {
		syntax_error(ps, v->line, v->col, "'+=' joins strings or lists, not numbers");
		return -EINVAL;
	}
	if (!prev)
		return 0;
	if (prev->value.type != v->type) {
		syntax_error(ps, v->line, v->col, "'+=' cannot join %s to %s (line %u)",
			     cfg_type_name(v->type), cfg_type_name(prev->value.type), prev->line);
		return -EINVAL;
	}
	if (v->type == CFG_STRING) {
		char *joined;
		if (asprintf(&joined, "%s%s", prev->value.str, v->str) < 0)
			return -ENOMEM;
		free(v->str);
		v->str = joined;
		return 0;
	}
	/* Lists: the earlier items move (as in xl), so a long run of += stays
	 * linear. */
	n = prev->value.n_items + v->n_items;
	items = realloc(prev->value.items, (n ? n : 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	if (v->n_items)
		memcpy(items + prev->value.n_items, v->items, v->n_items * sizeof(*items));
	free(v->items);
	v->items = items;
	v->n_items = n;
	prev->value.items = NULL;
	prev->value.n_items = 0;
	return 0;
}

static void store_setting(struct parser *ps, char *key, unsigned int line, unsigned int col,
			  bool append, struct cfg_value *v)
{
	struct cfg_setting *s;

	if (append) {
		int r = append_previous(ps, key, v);
		if (r) {
			if (r == -ENOMEM)
				ps->oom = true;
			goto drop;
		}
	}
	if (ps->file->n_settings == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 16;
		s = realloc(ps->file->settings, ncap * sizeof(*s));
		if (!s) {
			ps->oom = true;
			goto drop;
		}
		ps->file->settings = s;
		ps->cap = ncap;
	}
	s = &ps->file->settings[ps->file->n_settings++];
	s->key = key;
	s->line = line;
	s->col = col;
	s->append = append;
	s->value = *v;
	return;
drop:
	free(key);
	value_clear(v);
}

static void parse_statement(struct parser *ps)
{
	struct token *t = &ps->tok;
	unsigned int line = t->line, col = t->col;
	char *key = t->text;
	struct cfg_value v;
	char what[64];
	bool append;

	t->text = NULL;
	advance(ps);
	if (t->kind != T_EQ && t->kind != T_PLUSEQ) {
		if (t->kind != T_BAD)
			syntax_error(ps, t->line, t->col, "expected '=' after '%.40s', found %s",
				     key, describe(t, what, sizeof(what)));
		free(key);
		recover(ps);
		return;
	}
	append = t->kind == T_PLUSEQ;
	advance(ps);
	switch (parse_value(ps, &v, 0)) {
	case PV_OK:
		break;
	case PV_RESUME:
		value_clear(&v);
		free(key);
		ps->open = 0;
		return;
	case PV_ERROR:
		value_clear(&v);
		free(key);
		recover(ps);
		return;
	}
	if (t->kind != T_NEWLINE && t->kind != T_SEMI && t->kind != T_EOF) {
		if (t->kind != T_BAD)
			syntax_error(ps, t->line, t->col,
				     "expected the end of the line or ';' after the value of "
				     "'%.40s', found %s",
				     key, describe(t, what, sizeof(what)));
		value_clear(&v);
		free(key);
		recover(ps);
		return;
	}
	store_setting(ps, key, line, col, append, &v);
}

int cfg_parse(const char *text, size_t len, const char *name, struct cfg_file **out,
	      struct cfg_diag *diag)
{
	struct parser ps = {
		.p = text,
		.end = text + len,
		.line_start = text,
		.line = 1,
		.name = name,
		.diag = diag,
	};
	char what[64];

	*out = NULL;
	/* A UTF-8 byte order mark, as some editors write: skip it. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		ps.p = ps.line_start = text + 3;
	ps.file = calloc(1, sizeof(*ps.file));
	if (!ps.file)
		return -ENOMEM;
	advance(&ps);
	while (ps.tok.kind != T_EOF && !ps.oom) {
		switch (ps.tok.kind) {
		case T_NEWLINE:
		case T_SEMI:
			advance(&ps);
			break;
		case T_IDENT:
			parse_statement(&ps);
			break;
		case T_BAD:
			recover(&ps);
			break;
		default:
			syntax_error(&ps, ps.tok.line, ps.tok.col,
				     "expected a setting (KEY = VALUE), found %s",
				     describe(&ps.tok, what, sizeof(what)));
			recover(&ps);
			break;
		}
	}
	free(ps.tok.text);
	if (ps.oom) {
		cfg_file_free(ps.file);
		return -ENOMEM;
	}
	*out = ps.file;
	return ps.failed ? -EINVAL : 0;
}

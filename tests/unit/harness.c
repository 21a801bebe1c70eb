/* harness.c — see harness.h. */
#include "harness.h"
#include "store/core.h"
#include "common/buf.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct t_conn *all_conns;

/* Test-program failure: say why (as a TAP diagnostic) and stop. */
static void fatal(const char *what)
{
	printf("# harness: %s\n", what);
	fflush(stdout);
	abort();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fatal("out of memory");
	return p;
}

/* ---- stores and connections ---- */

struct store *t_store_new(void)
{
	struct store_options o = {0};
	struct store *st;

	if (store_open(&o, &st))
		fatal("cannot open an in-memory store");
	return st;
}

struct store *t_store_open(const char *dir, uint64_t compact_min, int *err)
{
	struct store_options o = {
		.state_dir = dir, .sync = STORE_SYNC_PROCESS, .compact_min_bytes = compact_min};
	struct store *st;
	int r = store_open(&o, &st);

	if (err)
		*err = r;
	return r ? NULL : st;
}

void t_store_close(struct store *st)
{
	struct t_conn **tp = &all_conns;

	while (*tp) {
		if ((*tp)->st == st)
			t_conn_free(*tp); /* unlinks it */
		else
			tp = &(*tp)->next_all;
	}
	store_close(st);
}

static void msg_free(struct t_msg *m)
{
	if (m) {
		free(m->payload);
		free(m);
	}
}

static int t_send(struct conn *c, const struct xs_hdr *h, const void *payload)
{
	struct t_conn *tc = store_conn_data(c);

	if (h->len && !payload)
		fatal("send with a length but no payload");
	if (h->type == XS_WATCH_EVENT) {
		struct t_msg *m = xmalloc(sizeof(*m));
		m->next = NULL;
		m->h = *h;
		m->payload = xmalloc(h->len + 1);
		if (h->len)
			memcpy(m->payload, payload, h->len);
		m->payload[h->len] = '\0';
		*tc->events_tail = m;
		tc->events_tail = &m->next;
		tc->nevents++;
		return 0;
	}
	if (h->req_id != tc->next_req_id)
		fatal("reply with a foreign req_id");
	free(tc->reply);
	tc->reply = xmalloc(h->len + 1);
	if (h->len)
		memcpy(tc->reply, payload, h->len);
	tc->reply[h->len] = '\0';
	tc->reply_len = h->len;
	tc->reply_type = h->type;
	tc->nreplies++;
	return 0;
}

static const struct conn_ops t_conn_ops = {.send = t_send};

struct t_conn *t_conn_new(struct store *st, uint32_t domid)
{
	struct t_conn *tc = calloc(1, sizeof(*tc));

	if (!tc)
		fatal("out of memory");
	tc->st = st;
	tc->domid = domid;
	tc->sync = true;
	tc->events_tail = &tc->events;
	tc->c = store_conn_new(st, domid, &t_conn_ops, tc);
	if (!tc->c)
		fatal("store_conn_new failed");
	tc->next_all = all_conns;
	all_conns = tc;
	return tc;
}

void t_conn_free(struct t_conn *tc)
{
	for (struct t_conn **tp = &all_conns; *tp; tp = &(*tp)->next_all) {
		if (*tp == tc) {
			*tp = tc->next_all;
			break;
		}
	}
	store_conn_free(tc->c);
	t_drain_events(tc);
	msg_free(tc->taken);
	free(tc->reply);
	free(tc->text);
	free(tc);
}

static char *buf_to_str(struct buf *b);

/* ---- requests ---- */

uint32_t t_req_raw(struct t_conn *tc, uint32_t type, uint32_t tx, const void *payload, uint32_t len)
{
	struct xs_hdr h = {.type = type, .req_id = ++tc->next_req_id, .tx_id = tx, .len = len};
	uint8_t *p = xmalloc((size_t)len + 1);

	if (len)
		memcpy(p, payload, len);
	p[len] = '\0';
	tc->nreplies = 0;
	store_conn_request(tc->c, &h, p);
	free(p);
	if (tc->nreplies != 1)
		fatal("a request did not get exactly one reply");
	if (tc->sync && store_sync(tc->st))
		fatal("store_sync failed");
	return tc->reply_type;
}

static uint32_t req_va(struct t_conn *tc, uint32_t type, uint32_t tx, const char *arg, va_list ap)
{
	struct buf b = BUF_INIT;
	uint32_t r;

	for (; arg; arg = va_arg(ap, const char *))
		if (buf_append_strz(&b, arg))
			fatal("out of memory");
	if (buf_used(&b) > XS_PAYLOAD_MAX)
		fatal("request payload too long");
	r = t_req_raw(tc, type, tx, buf_head(&b), (uint32_t)buf_used(&b));
	buf_free(&b);
	return r;
}

uint32_t t_req_v(struct t_conn *tc, uint32_t type, uint32_t tx, const char *arg, ...)
{
	va_list ap;
	uint32_t r;

	va_start(ap, arg);
	r = req_va(tc, type, tx, arg, ap);
	va_end(ap);
	return r;
}

const char *t_err_v(struct t_conn *tc, uint32_t type, uint32_t tx, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	req_va(tc, type, tx, arg, ap);
	va_end(ap);
	return t_last_err(tc);
}

const char *t_last_err(const struct t_conn *tc)
{
	return tc->reply_type == XS_ERROR ? (const char *)tc->reply : NULL;
}

const char *t_reply_str(const struct t_conn *tc)
{
	return (const char *)tc->reply;
}

const char *t_write_tx(struct t_conn *tc, uint32_t tx, const char *path, const char *value)
{
	size_t pl = strlen(path) + 1, vl = strlen(value);
	uint8_t *p = xmalloc(pl + vl);

	memcpy(p, path, pl);
	memcpy(p + pl, value, vl);
	t_req_raw(tc, XS_WRITE, tx, p, (uint32_t)(pl + vl));
	free(p);
	if (t_last_err(tc))
		return t_last_err(tc);
	if (tc->reply_type != XS_WRITE || strcmp(t_reply_str(tc), "OK") != 0)
		return "unexpected reply";
	return NULL;
}

const char *t_read_tx(struct t_conn *tc, uint32_t tx, const char *path)
{
	t_req(tc, XS_READ, tx, path);
	return t_last_err(tc) ? NULL : t_reply_str(tc);
}

/* Joins the reply's NUL-separated strings with ',' into tc->text. */
static const char *join_reply(struct t_conn *tc)
{
	size_t n = tc->reply_len;

	free(tc->text);
	tc->text = xmalloc(n + 1);
	memcpy(tc->text, tc->reply, n);
	if (n && tc->text[n - 1] == '\0')
		n--; /* the last terminator */
	for (size_t i = 0; i < n; i++)
		if (tc->text[i] == '\0')
			tc->text[i] = ',';
	tc->text[n] = '\0';
	return tc->text;
}

const char *t_dir_tx(struct t_conn *tc, uint32_t tx, const char *path)
{
	t_req(tc, XS_DIRECTORY, tx, path);
	return t_last_err(tc) ? NULL : join_reply(tc);
}

const char *t_perms(struct t_conn *tc, const char *path)
{
	t_req(tc, XS_GET_PERMS, 0, path);
	return t_last_err(tc) ? NULL : join_reply(tc);
}

uint32_t t_txn_start(struct t_conn *tc)
{
	unsigned long v;
	char *end;

	t_req(tc, XS_TRANSACTION_START, 0, "");
	if (t_last_err(tc))
		return 0;
	v = strtoul(t_reply_str(tc), &end, 10);
	if (*end || v == 0 || v > UINT32_MAX)
		fatal("bad TRANSACTION_START reply");
	return (uint32_t)v;
}

const char *t_txn_end(struct t_conn *tc, uint32_t tx, bool commit)
{
	return t_err(tc, XS_TRANSACTION_END, tx, commit ? "T" : "F");
}

const char *t_introduce(struct t_conn *tc, uint32_t domid)
{
	char id[16];

	snprintf(id, sizeof(id), "%u", domid);
	return t_err(tc, XS_INTRODUCE, 0, id, "0", "0");
}

bool t_next_event(struct t_conn *tc, const char **path, const char **token)
{
	struct t_msg *m = tc->events;
	size_t pl;

	msg_free(tc->taken);
	tc->taken = NULL;
	if (!m)
		return false;
	tc->events = m->next;
	if (!tc->events)
		tc->events_tail = &tc->events;
	tc->nevents--;
	tc->taken = m;
	/* "path\0token\0" */
	pl = strnlen((const char *)m->payload, m->h.len);
	if (pl + 2 > m->h.len || m->payload[m->h.len - 1] != '\0')
		fatal("malformed WATCH_EVENT payload");
	*path = (const char *)m->payload;
	*token = (const char *)m->payload + pl + 1;
	return true;
}

const char *t_events(struct t_conn *tc)
{
	struct buf b = BUF_INIT;
	const char *path, *token;

	while (t_next_event(tc, &path, &token))
		buf_printf(&b, "%s%s|%s", buf_used(&b) ? "," : "", path, token);
	free(tc->text);
	tc->text = buf_to_str(&b);
	return tc->text;
}

unsigned int t_drain_events(struct t_conn *tc)
{
	unsigned int n = 0;

	while (tc->events) {
		struct t_msg *m = tc->events;
		tc->events = m->next;
		msg_free(m);
		n++;
	}
	tc->events_tail = &tc->events;
	tc->nevents = 0;
	return n;
}

bool t_check(struct t_conn *tc)
{
	t_req(tc, XS_CONTROL, 0, "check");
	if (tc->reply_type == XS_CONTROL && strcmp(t_reply_str(tc), "OK") == 0)
		return true;
	printf("# CONTROL check: %s\n", t_reply_str(tc));
	return false;
}

/* ---- state dumps ---- */

static void dump_node(const struct tree *t, const char *path, struct buf *out)
{
	const struct node *n = tree_get(t, path);
	char p[16];

	if (!n) {
		buf_printf(out, "%s MISSING\n", path);
		return;
	}
	buf_printf(out, "%s [", path);
	for (unsigned i = 0; i < n->nperms; i++) {
		xs_perm_format(&n->perms[i], p, sizeof(p));
		buf_printf(out, "%s%s", i ? "," : "", p);
	}
	buf_printf(out, "] =");
	for (uint32_t i = 0; i < n->value_len; i++) {
		uint8_t c = n->value[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf_printf(out, "%c", c);
		else
			buf_printf(out, "\\x%02x", c);
	}
	buf_printf(out, "\n");
	for (const char *c = node_child_first(n); c; c = node_child_next(n, c)) {
		char *child = xmalloc(strlen(path) + strlen(c) + 2);
		sprintf(child, "%s%s%s", path, strcmp(path, "/") ? "/" : "", c);
		dump_node(t, child, out);
		free(child);
	}
}

static char *buf_to_str(struct buf *b)
{
	char *s;

	if (buf_append(b, "", 1))
		fatal("out of memory");
	s = xmalloc(buf_used(b));
	memcpy(s, buf_head(b), buf_used(b));
	buf_free(b);
	return s;
}

char *t_tree_dump(const struct tree *t)
{
	struct buf b = BUF_INIT;

	dump_node(t, "/", &b);
	buf_printf(&b, "(%zu nodes)\n", tree_count(t));
	return buf_to_str(&b);
}

char *t_domains_dump(const struct domains *d)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "global");
	for (int q = 0; q < Q_COUNT; q++)
		buf_printf(&b, " %s=%u", quota_name((enum quota)q), d->global_quota[q]);
	buf_printf(&b, "\n");
	for (unsigned i = 0; i <= XS_DOMID_MAX; i++) {
		const struct domain *dom = d->by_id[i];
		bool any = false;
		for (int q = 0; q < Q_COUNT; q++)
			any |= dom && dom->quota_set[q];
		if (!dom || !(dom->introduced || dom->target != DOMID_NONE || any))
			continue;
		buf_printf(&b, "dom%u introduced=%d target=%d", i, dom->introduced,
			   dom->target == DOMID_NONE ? -1 : (int)dom->target);
		for (int q = 0; q < Q_COUNT; q++)
			if (dom->quota_set[q])
				buf_printf(&b, " %s=%u", quota_name((enum quota)q), dom->quota[q]);
		buf_printf(&b, "\n");
	}
	return buf_to_str(&b);
}

char *t_store_dump(struct store *st)
{
	char *a = t_tree_dump(&st->tree), *b = t_domains_dump(&st->doms);
	char *s = xmalloc(strlen(a) + strlen(b) + 1);

	strcpy(s, a);
	strcat(s, b);
	free(a);
	free(b);
	return s;
}

/* ---- files ---- */

uint8_t *t_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	uint8_t *data;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return NULL;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	n = read_full(fd, data, (size_t)sb.st_size);
	close(fd);
	if (n != sb.st_size) {
		free(data);
		return NULL;
	}
	data[n] = 0;
	*len = (size_t)n;
	return data;
}

int t_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

char *t_tmpdir(void)
{
	char *d = strdup("/tmp/airlock-unit.XXXXXX");

	if (!d || !mkdtemp(d))
		fatal("mkdtemp failed");
	return d;
}

void t_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p;
		struct stat sb;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xmalloc(strlen(dir) + strlen(e->d_name) + 2);
		sprintf(p, "%s/%s", dir, e->d_name);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			t_rmdir(p);
		else
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

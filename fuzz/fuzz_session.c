/* fuzz_session.c — libFuzzer target driving whole sessions through the
 * in-memory store core.
 *
 * Each input gets a fresh store: dom0 introduces domains 5 and 6, makes 5
 * the device model of 6, and seeds a few nodes, permissions and watches.
 * Four connection slots exist: dom0, dom5, dom6, and a fourth (dom0 at
 * first, reopened as 0, 5, 6 or the never-introduced 7). The input is then
 * read as a sequence of messages:
 *
 *   u8 sel     slot = sel & 3; sel >= 0xfc closes the slot (or reopens it if
 *              closed) instead of sending; a closed slot that is sent to is
 *              reopened first
 *   u8 type    the message type, mod 32 (so unknown types occur too)
 *   u8 tx      < 0x80: tx_id 0; < 0xe0: an id a TRANSACTION_START reply
 *              returned (if any); < 0xf0: tx & 15; else a u32 follows
 *   u8 len     < 0xff: the payload length; 0xff: a u16 follows
 *   payload    len bytes, clipped to the input left and to 4096
 *
 * The send callback checks every message the core emits: payload at most
 * 4096 bytes; a reply goes to the requesting connection, carries its req_id
 * and tx_id and either its type or ERROR with a known error name; exactly
 * one reply per request; watch events carry req_id 0 and two strings.
 * Released domains' connections are closed after the request, as the
 * server does. Unprivileged node requests are checked against a
 * restatement of xenstore's permission rule, evaluated before the request
 * in the view of its transaction: success needs the permission, EACCES its
 * absence, SET_PERMS keeps the owner; and a watch event may name only a node
 * (or special path) the watcher can read. After the sequence, CONTROL
 * check must answer "OK"; each domain's byte usage must match its nodes
 * and its watch and transaction counts must match the connections'; once
 * every connection is freed those counts must be zero. Everything is freed
 * (LeakSanitizer checks).
 *
 * Inputs of odd length run against a store with a state directory (under
 * $TMPDIR, else /dev/shm, else /tmp): the core then logs every commit, domain and quota change, and
 * store_sync runs after each request as the server runs it (compacting
 * when due; CONTROL compact works). Replaying the log with
 * persist_load_buffer must give back exactly the live tree, domains and
 * global quotas, without damage or repairs: checked at the end and before
 * each restart. A restart (sel 0xfb; in memory, or after two, it does
 * nothing) closes every connection and the store and opens it again from
 * its directory, as a daemon restart would.
 */
#include "store/core.h"
#include "store/persist.h"
#include "store/store.h"
#include "store/txn.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_session: invariant failed: %s: ", #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define NSLOTS	     4
#define MAX_MESSAGES 256
#define MAX_RESTARTS 2
#define NTXIDS	     8

struct slot {
	struct conn *c;
	uint32_t domid;
	bool released; /* its domain was released: close after the request */
};

/* One session's state; the send callback reaches it through the global. */
static struct session {
	struct store *st;
	struct slot slots[NSLOTS];
	/* The request in progress. */
	struct conn *cur;
	uint32_t req_id, req_type, tx_id;
	unsigned replies;
	uint32_t reply_type, reply_len;
	uint8_t reply[XS_PAYLOAD_MAX + 1];
	/* Transaction ids seen in TRANSACTION_START replies. */
	uint32_t txids[NTXIDS];
	unsigned ntx;
	uint32_t next_req;
	const char *state_dir; /* NULL: in memory */
	unsigned restarts;
} S;

/* FUZZ_TRACE=1 in the environment prints every message: for reading what a
 * crashing input does. */
static int trace = -1;

static void trace_msg(const char *dir, const struct conn *c, const struct xs_hdr *h,
		      const uint8_t *p)
{
	if (trace < 0)
		trace = getenv("FUZZ_TRACE") != NULL;
	if (!trace)
		return;
	fprintf(stderr, "%s dom%u %s req %u tx %u len %u \"", dir, store_conn_domid(c),
		xs_type_name(h->type), h->req_id, h->tx_id, h->len);
	for (uint32_t i = 0; i < h->len && i < 200; i++)
		fprintf(stderr, p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' ? "%c" : "\\x%02x",
			p[i]);
	fprintf(stderr, "%s\"\n", h->len > 200 ? "..." : "");
}

/* ---- Permission oracle ----
 *
 * xenstore's access rule, restated here independently of store.c: dom0 may
 * do anything; the owner (perms[0]) and the device model of the owner's
 * domain may do anything; otherwise the first later entry naming the domain
 * (or the domain it is device model for) decides; otherwise perms[0]'s bits
 * apply to everyone. */
static unsigned ref_perm(uint32_t domid, const struct xs_perm *p, uint16_t n)
{
	const struct domain *d = S.st->doms.by_id[domid];
	uint32_t target = d ? d->target : DOMID_NONE;

	if (domid == 0 || p[0].domid == domid || (target != DOMID_NONE && p[0].domid == target))
		return XS_PERM_BOTH;
	for (unsigned i = 1; i < n; i++)
		if (p[i].domid == domid || (target != DOMID_NONE && p[i].domid == target))
			return p[i].bits;
	return p[0].bits;
}

/* The node at `path` as transaction `t` (NULL: none) sees it, read without
 * recording anything in the transaction. */
static const struct node *view(const struct txn *t, const char *path)
{
	if (t) {
		struct hmap_entry *e = hmap_find(&t->entries, path);
		const struct txn_entry *te = e ? hmap_container(e, struct txn_entry, he) : NULL;
		if (te && te->modified)
			return te->node;
	}
	return tree_get(&S.st->tree, path);
}

/* What a node request may do, worked out before the core sees it. */
static struct expect {
	bool active;
	uint32_t domid;
	char path[XS_PATH_BUF];
	bool exists;
	unsigned on_node;     /* permission bits on the node, if it exists */
	unsigned on_ancestor; /* on the nearest existing ancestor */
	uint32_t owner;
} E;

static void expect_before(struct conn *c, uint32_t type, uint32_t tx_id, const uint8_t *p,
			  uint32_t len)
{
	const struct txn *t = NULL;
	const struct node *n;
	char anc[XS_PATH_BUF];

	E.active = false;
	switch (type) {
	case XS_READ:
	case XS_DIRECTORY:
	case XS_DIRECTORY_PART:
	case XS_GET_PERMS:
	case XS_WRITE:
	case XS_MKDIR:
	case XS_RM:
	case XS_SET_PERMS:
		break;
	default:
		return;
	}
	if (!memchr(p, 0, len) || xs_path_canonical((const char *)p, c->domid, false, E.path, NULL))
		return;
	if (tx_id) {
		for (t = c->txns; t && t->id != tx_id; t = t->next)
			;
		if (!t)
			return;
	}
	E.active = true;
	E.domid = c->domid;
	n = view(t, E.path);
	E.exists = n != NULL;
	E.on_node = n ? ref_perm(c->domid, n->perms, n->nperms) : 0;
	E.owner = n ? node_owner(n) : 0;
	snprintf(anc, sizeof(anc), "%s", E.path);
	for (n = NULL; !n && strcmp(anc, "/") != 0;) {
		anc[xs_path_parent_len(anc)] = '\0'; /* "/a/b" -> "/a", "/a" -> "/" */
		n = view(t, anc);
	}
	E.on_ancestor = n ? ref_perm(c->domid, n->perms, n->nperms) : 0;
}

/* Checks the reply against what the permissions allowed. */
static void expect_after(uint32_t type, const uint8_t *p, uint32_t len)
{
	bool ok = S.reply_type == type;
	bool eacces = S.reply_type == XS_ERROR && !strcmp((const char *)S.reply, "EACCES");
	bool read = E.exists && (E.on_node & XS_PERM_READ);
	bool write = E.exists && (E.on_node & XS_PERM_WRITE);
	bool create = !E.exists && (E.on_ancestor & XS_PERM_WRITE);
	bool allowed;

	if (!E.active)
		return;
	E.active = false;
	switch (type) {
	case XS_READ:
	case XS_DIRECTORY:
	case XS_DIRECTORY_PART:
	case XS_GET_PERMS:
		allowed = read;
		break;
	case XS_WRITE:
	case XS_MKDIR: /* of an existing node: a no-op, for writers only */
		allowed = write || create;
		break;
	case XS_RM: /* removing what is not there is "OK" (or ENOENT) */
		allowed = write || !E.exists;
		break;
	default: /* XS_SET_PERMS */
		allowed = write;
		break;
	}
	CHECK(!ok || allowed, "dom%u: %s %.100s succeeded without permission", E.domid,
	      xs_type_name(type), E.path);
	CHECK(!eacces || !allowed, "dom%u: %s %.100s refused EACCES with permission", E.domid,
	      xs_type_name(type), E.path);
	if (ok && type == XS_SET_PERMS && E.domid != 0) {
		const char *perm0 = memchr(p, 0, len) + 1;
		struct xs_perm np;
		CHECK(xs_perm_parse(perm0, &np) == 0 && np.domid == E.owner,
		      "dom%u: SET_PERMS %.100s gave the node from %u to %s", E.domid, E.path,
		      E.owner, perm0);
	}
}

/* A watch event may only tell a domain about a node it can read (the
 * watch's own first event excepted); removed nodes cannot be checked. */
static void check_event_perm(const struct conn *c, const char *path)
{
	char abs[XS_PATH_BUF + 64];
	const struct node *n;
	uint32_t domid = c->domid;

	if (domid == 0 || (S.req_type == XS_WATCH && c == S.cur && S.replies == 1))
		return;
	if (path[0] == '@') {
		const struct special *sp = store_special(S.st, path);
		CHECK(sp, "event for unknown special path %s", path);
		CHECK(ref_perm(domid, sp->perms, sp->nperms) & XS_PERM_READ,
		      "dom%u told of %s without permission", domid, path);
		return;
	}
	if (path[0] != '/')
		snprintf(abs, sizeof(abs), "/local/domain/%u/%s", domid, path);
	else
		snprintf(abs, sizeof(abs), "%s", path);
	n = tree_get(&S.st->tree, abs);
	CHECK(!n || (ref_perm(domid, n->perms, n->nperms) & XS_PERM_READ),
	      "dom%u told of %.100s without read permission", domid, abs);
}

static bool one_string(const uint8_t *p, uint32_t len)
{
	return len > 0 && p[len - 1] == '\0' && memchr(p, 0, len) == p + len - 1;
}

static int on_send(struct conn *c, const struct xs_hdr *h, const void *payload)
{
	const uint8_t *p = payload;

	CHECK(h->len <= XS_PAYLOAD_MAX, "type %u: %u-byte payload", h->type, h->len);
	CHECK(h->len == 0 || p, "type %u: no payload", h->type);
	trace_msg("<", c, h, p);
	if (h->type == XS_WATCH_EVENT) {
		const uint8_t *nul = memchr(p, 0, h->len);
		CHECK(h->req_id == 0 && h->tx_id == 0, "event with req_id %u tx_id %u", h->req_id,
		      h->tx_id);
		CHECK(nul && nul != p && one_string(nul + 1, h->len - (uint32_t)(nul + 1 - p)),
		      "event payload is not <path>\\0<token>\\0 (%u bytes)", h->len);
		check_event_perm(c, (const char *)p);
		return 0;
	}
	CHECK(S.cur, "type %u sent outside any request", h->type);
	CHECK(c == S.cur, "reply to request %u sent to another connection", S.req_id);
	CHECK(h->req_id == S.req_id, "reply req_id %u to request %u", h->req_id, S.req_id);
	CHECK(h->tx_id == S.tx_id, "reply tx_id %u to request tx_id %u", h->tx_id, S.tx_id);
	CHECK(h->type == S.req_type || h->type == XS_ERROR, "reply type %u to request type %u",
	      h->type, S.req_type);
	CHECK(++S.replies == 1, "%u replies to request %u", S.replies, S.req_id);
	if (h->type == XS_ERROR)
		CHECK(one_string(p, h->len) && xs_error_from_name((const char *)p) != 0,
		      "ERROR reply is not an error name");
	S.reply_type = h->type;
	S.reply_len = h->len;
	if (h->len)
		memcpy(S.reply, p, h->len);
	S.reply[h->len] = 0;
	if (h->type == XS_TRANSACTION_START) {
		unsigned long id;
		char *end;
		CHECK(one_string(p, h->len), "TRANSACTION_START reply");
		id = strtoul((const char *)S.reply, &end, 10);
		CHECK(*end == '\0' && id != 0 && id <= UINT32_MAX, "transaction id \"%s\"",
		      (const char *)S.reply);
		S.txids[S.ntx++ % NTXIDS] = (uint32_t)id;
	}
	return 0;
}

static const struct conn_ops fuzz_conn_ops = {.send = on_send};

static int host_introduce(void *ctx, uint32_t domid)
{
	return 0;
}

/* As the server: the released domain's connections close after the
 * request, not during it. */
static void host_release(void *ctx, uint32_t domid)
{
	for (unsigned i = 0; i < NSLOTS; i++)
		if (S.slots[i].c && S.slots[i].domid == domid)
			S.slots[i].released = true;
}

static const struct store_host_ops fuzz_host_ops = {
	.introduce = host_introduce,
	.release = host_release,
};

static void slot_open(struct slot *s, uint32_t domid)
{
	s->c = store_conn_new(S.st, domid, &fuzz_conn_ops, s);
	CHECK(s->c, "store_conn_new(%u) failed", domid);
	s->domid = domid;
	s->released = false;
}

static void slot_close(struct slot *s)
{
	if (s->c)
		store_conn_free(s->c);
	s->c = NULL;
	s->released = false;
}

/* Sends one request on `c` and checks it got exactly one reply. */
static void request(struct conn *c, uint32_t type, uint32_t tx_id, const void *p, uint32_t len)
{
	uint8_t *payload = malloc((size_t)len + 1); /* exact size: ASan sees overreads */
	struct xs_hdr h = {.type = type, .tx_id = tx_id, .len = len};

	if (!payload)
		abort();
	memcpy(payload, p, len);
	payload[len] = 0;
	h.req_id = 0x10000 + S.next_req++;
	S.cur = c;
	S.req_id = h.req_id;
	S.req_type = type;
	S.tx_id = tx_id;
	S.replies = 0;
	trace_msg(">", c, &h, payload);
	expect_before(c, type, tx_id, payload, len);
	store_conn_request(c, &h, payload);
	CHECK(S.replies == 1, "request type %u got %u replies", type, S.replies);
	expect_after(type, payload, len);
	S.cur = NULL;
	free(payload);
	CHECK(store_sync(S.st) == 0, "store_sync failed");
	for (unsigned i = 0; i < NSLOTS; i++)
		if (S.slots[i].released)
			slot_close(&S.slots[i]);
}

/* A request from literal text (payloads with embedded NULs): `len`
 * includes the final NUL where the protocol wants one. */
static void req_lit(struct conn *c, uint32_t type, const char *p, size_t len)
{
	request(c, type, 0, p, (uint32_t)len);
}

#define REQ(c, type, lit) req_lit((c), (type), (lit), sizeof(lit) - 1)

static void expect_ok(const char *what)
{
	CHECK(S.reply_type != XS_ERROR, "setup %s failed: %s", what, (const char *)S.reply);
}

/* The per-process scratch folder holding the state directory "st". */
static char scratch[256], state_dir[300];

/* Removes everything in the state directory, and the directory. */
static void clear_state(void)
{
	DIR *d = opendir(state_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(state_dir);
}

static void remove_scratch(void)
{
	clear_state();
	rmdir(scratch);
}

/* A fresh, empty state directory path (created by store_open). */
static const char *fresh_state_dir(void)
{
	if (!scratch[0]) {
		/* tmpfs if there is one: the store fsyncs when it compacts. */
		const char *tmp = getenv("TMPDIR");
		if (!tmp)
			tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(scratch, sizeof(scratch), "%s/airlock-fuzz-XXXXXX", tmp);
		CHECK(mkdtemp(scratch), "mkdtemp %s", scratch);
		snprintf(state_dir, sizeof(state_dir), "%s/st", scratch);
		atexit(remove_scratch);
	}
	clear_state();
	return state_dir;
}

static void open_store(void)
{
	struct store_options opts = {.state_dir = S.state_dir, .host = &fuzz_host_ops};

	CHECK(store_open(&opts, &S.st) == 0, "store_open(%s)",
	      S.state_dir ? S.state_dir : "memory");
	CHECK(store_restore_domains(S.st) == 0, "store_restore_domains");
}

static void setup(bool persistent)
{
	struct conn *d0;

	memset(&S, 0, sizeof(S));
	log_set_level(LOG_LVL_ERR);
	S.state_dir = persistent ? fresh_state_dir() : NULL;
	open_store();
	slot_open(&S.slots[0], 0);
	d0 = S.slots[0].c;
	/* clang-format off */
	REQ(d0, XS_INTRODUCE, "5\0" "0\0" "0\0");
	expect_ok("INTRODUCE 5");
	REQ(d0, XS_INTRODUCE, "6\0" "0\0" "0\0");
	expect_ok("INTRODUCE 6");
	REQ(d0, XS_SET_TARGET, "5\0" "6\0");
	expect_ok("SET_TARGET");
	REQ(d0, XS_MKDIR, "/local/domain/5\0");
	REQ(d0, XS_SET_PERMS, "/local/domain/5\0" "n5\0");
	expect_ok("home 5");
	REQ(d0, XS_MKDIR, "/local/domain/6\0");
	REQ(d0, XS_SET_PERMS, "/local/domain/6\0" "n6\0");
	REQ(d0, XS_WRITE, "/local/domain/6/name\0" "guest");
	REQ(d0, XS_WRITE, "/local/domain/6/device/vif/0/state\0" "1");
	REQ(d0, XS_WRITE, "/vm/6/name\0" "guest");
	REQ(d0, XS_SET_PERMS, "/vm/6\0" "n0\0" "r6\0" "b5\0");
	REQ(d0, XS_WRITE, "/tool/airlock/x\0" "1");
	expect_ok("seed nodes");
	REQ(d0, XS_WATCH, "/local/domain\0" "w0\0");
	REQ(d0, XS_WATCH, "@releaseDomain\0" "rel\0");
	slot_open(&S.slots[1], 5);
	slot_open(&S.slots[2], 6);
	slot_open(&S.slots[3], 0);
	REQ(S.slots[1].c, XS_WATCH, "/local/domain/6\0" "dm\0");
	REQ(S.slots[2].c, XS_WATCH, "device\0" "own\0");
	/* clang-format on */
	expect_ok("seed watches");
}

/* Reads fuzz input; past the end everything reads as zero. */
struct input {
	const uint8_t *p;
	size_t len, pos;
};

static uint8_t in_u8(struct input *in)
{
	return in->pos < in->len ? in->p[in->pos++] : 0;
}

static uint32_t in_uint(struct input *in, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint32_t)in_u8(in) << (8 * i);
	return v;
}

static uint8_t *read_log(size_t *len)
{
	char path[400];
	struct stat sb;
	uint8_t *data;
	int fd;

	snprintf(path, sizeof(path), "%s/store.log", S.state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && fstat(fd, &sb) == 0, "cannot read %s", path);
	data = malloc((size_t)sb.st_size + 1);
	CHECK(data && read(fd, data, (size_t)sb.st_size) == sb.st_size, "short read of %s", path);
	close(fd);
	*len = (size_t)sb.st_size;
	return data;
}

static bool same_node(const struct node *a, const struct node *b)
{
	if (a->value_len != b->value_len || memcmp(a->value, b->value, a->value_len) ||
	    a->nperms != b->nperms || a->children_len != b->children_len ||
	    (a->children_len && memcmp(a->children, b->children, a->children_len)))
		return false;
	for (unsigned i = 0; i < a->nperms; i++) /* field by field: struct padding */
		if (a->perms[i].domid != b->perms[i].domid || a->perms[i].bits != b->perms[i].bits)
			return false;
	return true;
}

/* Collects the existing domain records. The scan of all 65536 slots runs
 * uninstrumented: it would otherwise dominate an execution. */
__attribute__((no_sanitize("address", "coverage"))) static unsigned
domains_present(const struct domains *d, struct domain **out)
{
	unsigned n = 0;

	for (unsigned i = 0; i <= XS_DOMID_MAX; i++)
		if (d->by_id[i])
			out[n++] = d->by_id[i];
	return n;
}

/* Whether a domain record carries state the log must keep. */
static bool domain_persistent(const struct domain *d)
{
	bool q = false;

	for (int i = 0; i < Q_COUNT; i++)
		q |= d->quota_set[i];
	return d->introduced || d->target != DOMID_NONE || q;
}

/* The log replays to exactly the live state: every node, the domains'
 * introductions, targets and quota overrides, their usage, the global
 * quotas. */
static void check_replay(void)
{
	static struct domains *rd;
	static struct domain *doms[XS_DOMID_MAX + 1];
	const struct domains *ld = &S.st->doms;
	struct persist_report rep;
	struct hmap_iter it;
	struct tree rt;
	size_t len;
	uint8_t *log = read_log(&len);
	unsigned n;

	if (!rd && !(rd = malloc(sizeof(*rd))))
		abort();
	domains_init(rd);
	CHECK(tree_init(&rt) == 0, "tree_init");
	CHECK(persist_load_buffer(&rt, rd, log, len, &rep) == 0, "the store's own log is refused");
	CHECK(!rep.damage && !rep.repaired, "the store's own log: %s, %u repairs",
	      rep.damage ? rep.damage : "intact", rep.repaired);
	CHECK(tree_count(&rt) == tree_count(&S.st->tree), "log replays %zu nodes, live %zu",
	      tree_count(&rt), tree_count(&S.st->tree));
	for (struct hmap_entry *e = hmap_first(&S.st->tree.map, &it); e;
	     e = hmap_next(&S.st->tree.map, &it)) {
		const struct node *a = hmap_container(e, struct node, he);
		const struct node *b = tree_get(&rt, a->path);
		CHECK(b, "%.100s is missing from the log", a->path);
		CHECK(same_node(a, b),
		      "%.100s differs in the log: value %u/%u bytes, %u/%u permissions (owner "
		      "%u/%u), children %u/%u bytes",
		      a->path, a->value_len, b->value_len, a->nperms, b->nperms, node_owner(a),
		      node_owner(b), a->children_len, b->children_len);
	}
	CHECK(!memcmp(ld->global_quota, rd->global_quota, sizeof(ld->global_quota)),
	      "global quotas differ in the log");
	n = domains_present(ld, doms);
	for (unsigned k = 0; k < n; k++) {
		const struct domain *a = doms[k], *b = rd->by_id[a->domid];
		if (domain_persistent(a)) {
			CHECK(b && b->introduced == a->introduced && b->target == a->target &&
				      !memcmp(b->quota_set, a->quota_set, sizeof(a->quota_set)),
			      "domain %u differs in the log", a->domid);
			for (int q = 0; q < Q_COUNT; q++)
				CHECK(!a->quota_set[q] || a->quota[q] == b->quota[q],
				      "domain %u: quota %d differs in the log", a->domid, q);
		}
		CHECK((b ? b->nodes : 0) == a->nodes && (b ? b->bytes : 0) == a->bytes,
		      "domain %u: usage differs after replay", a->domid);
	}
	n = domains_present(rd, doms);
	for (unsigned k = 0; k < n; k++) {
		const struct domain *b = doms[k], *a = ld->by_id[b->domid];
		CHECK(a || (!domain_persistent(b) && !b->nodes), "domain %u exists only in the log",
		      b->domid);
	}
	tree_destroy(&rt);
	domains_destroy(rd);
	free(log);
}

/* A daemon restart: connections go, the store reopens from its state. */
static void restart(void)
{
	/* Each costs milliseconds (loading, compacting): a few per input. */
	if (!S.state_dir || S.restarts >= MAX_RESTARTS)
		return;
	S.restarts++;
	check_replay();
	for (unsigned i = 0; i < NSLOTS; i++)
		slot_close(&S.slots[i]);
	store_close(S.st);
	S.ntx = 0;
	open_store();
}

static void one_message(struct input *in)
{
	static const uint32_t reopen_as[4] = {0, 5, 6, 7};
	uint8_t sel = in_u8(in), txb;
	struct slot *s = &S.slots[sel & 3];
	uint32_t type, tx_id = 0, len;

	if (sel == 0xfb) {
		restart();
		return;
	}
	if (sel >= 0xfc) {
		if (s->c)
			slot_close(s);
		else
			slot_open(s, (sel & 3) == 3 ? reopen_as[in_u8(in) & 3]
						    : (uint32_t[]){0, 5, 6}[sel & 3]);
		return;
	}
	if (!s->c)
		slot_open(s, (sel & 3) == 3 ? 0 : (uint32_t[]){0, 5, 6}[sel & 3]);
	type = in_u8(in) % 32;
	txb = in_u8(in);
	if (txb >= 0x80 && txb < 0xe0 && S.ntx)
		tx_id = S.txids[txb % (S.ntx < NTXIDS ? S.ntx : NTXIDS)];
	else if (txb >= 0xe0 && txb < 0xf0)
		tx_id = txb & 15;
	else if (txb >= 0xf0)
		tx_id = in_uint(in, 4);
	len = in_u8(in);
	if (len == 0xff)
		len = in_uint(in, 2);
	if (len > XS_PAYLOAD_MAX)
		len = XS_PAYLOAD_MAX;
	if (len > in->len - in->pos)
		len = (uint32_t)(in->len - in->pos);
	request(s->c, type, tx_id, in->p + in->pos, len);
	in->pos += len;
}

/* Usage the core records against what the tree and connections hold: per
 * domain, bytes of the nodes it owns, watches and transactions its
 * connections hold. */
static void check_usage(bool no_conns)
{
	static struct domain *doms[XS_DOMID_MAX + 1];
	static uint64_t bytes[XS_DOMID_MAX + 1];
	static unsigned watches[XS_DOMID_MAX + 1], txns[XS_DOMID_MAX + 1];
	struct store *st = S.st;
	unsigned ndoms = domains_present(&st->doms, doms);
	struct hmap_iter it;

	for (struct hmap_entry *e = hmap_first(&st->tree.map, &it); e;
	     e = hmap_next(&st->tree.map, &it)) {
		const struct node *n = hmap_container(e, struct node, he);
		CHECK(st->doms.by_id[node_owner(n)], "%s: owner %u has no record", n->path,
		      node_owner(n));
		bytes[node_owner(n)] += node_footprint(n);
	}
	for (struct conn *c = st->conns; c; c = c->next) {
		CHECK(st->doms.by_id[c->domid], "connection of %u: no record", c->domid);
		for (struct watch *w = c->watches; w; w = w->next)
			watches[c->domid]++;
		for (struct txn *t = c->txns; t; t = t->next)
			txns[c->domid]++;
	}
	CHECK(!no_conns || !st->conns, "connections left");
	/* Every domain with usage has a record (checked above), so checking
	 * the records and clearing their slots covers everything. */
	for (unsigned k = 0; k < ndoms; k++) {
		const struct domain *d = doms[k];
		uint32_t i = d->domid;
		CHECK(d->bytes == bytes[i], "domain %u: usage %llu bytes, tree has %llu", i,
		      (unsigned long long)d->bytes, (unsigned long long)bytes[i]);
		CHECK(d->watches == watches[i], "domain %u: usage %u watches, connections hold %u",
		      i, d->watches, watches[i]);
		CHECK(d->transactions == txns[i],
		      "domain %u: usage %u transactions, connections hold %u", i, d->transactions,
		      txns[i]);
		bytes[i] = 0;
		watches[i] = txns[i] = 0;
	}
}

static void finish(void)
{
	struct slot checker = {0};

	slot_open(&checker, 0);
	REQ(checker.c, XS_CONTROL, "check\0");
	CHECK(S.reply_type == XS_CONTROL && S.reply_len == 3 && !memcmp(S.reply, "OK", 3),
	      "CONTROL check: %.*s", (int)S.reply_len, (const char *)S.reply);
	slot_close(&checker);
	check_usage(false);
	if (S.state_dir)
		check_replay();
	for (unsigned i = 0; i < NSLOTS; i++)
		slot_close(&S.slots[i]);
	check_usage(true);
	store_close(S.st);
	S.st = NULL;
	if (S.state_dir)
		clear_state(); /* a killed run leaves little behind */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};

	setup(size & 1);
	for (unsigned m = 0; m < MAX_MESSAGES && in.pos < in.len; m++)
		one_message(&in);
	finish();
	return 0;
}

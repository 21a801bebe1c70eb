/* persist.c — see persist.h for the format and the recovery rules. */
#include "store/persist.h"
#include "store/txn.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OP_PUT = 1, OP_DEL = 2, OP_DOMAIN = 3, OP_GQUOTA = 4 };

#define HDR_LEN	       16u
#define REC_HDR_LEN    8u
#define MAX_RECORD     (64u << 20) /* sanity bound on one record */
#define MAX_VALUE      (1u << 20)
#define MAX_PERMS      4096u
#define SNAPSHOT_CHUNK (64u << 10)

struct persist {
	char *dir;
	char *log_path;
	int fd;
	int lock_fd;
	enum store_sync sync;
	bool dirty;
	uint64_t log_bytes;
	uint64_t snapshot_bytes;
	uint64_t compact_min;
	struct buf rec; /* scratch for building records */
};

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];

uint32_t crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;

	if (!crc_table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;
			for (int k = 0; k < 8; k++)
				v = (v >> 1) ^ (0x82f63b78u & (0u - (v & 1)));
			crc_table[i] = v;
		}
	}
	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ---- encoding ---- */

static int put_path(struct buf *b, const char *path)
{
	size_t l = strlen(path);

	if (l > UINT16_MAX)
		return -EINVAL;
	if (buf_put_u16(b, (uint16_t)l) || buf_append(b, path, l))
		return -ENOMEM;
	return 0;
}

static int enc_put(struct buf *b, const struct node *n)
{
	if (buf_put_u8(b, OP_PUT) || put_path(b, n->path) || buf_put_u16(b, n->nperms))
		return -ENOMEM;
	for (unsigned i = 0; i < n->nperms; i++)
		if (buf_put_u32(b, n->perms[i].domid) || buf_put_u8(b, n->perms[i].bits))
			return -ENOMEM;
	if (buf_put_u32(b, n->value_len) || buf_append(b, n->value, n->value_len) ||
	    buf_put_u32(b, n->children_len) || buf_append(b, n->children, n->children_len))
		return -ENOMEM;
	return 0;
}

static int enc_del(struct buf *b, const char *path)
{
	if (buf_put_u8(b, OP_DEL) || put_path(b, path))
		return -ENOMEM;
	return 0;
}

static int enc_domain(struct buf *b, const struct domain *dom)
{
	uint8_t n = 0;

	for (int q = 0; q < Q_COUNT; q++)
		n += dom->quota_set[q];
	if (buf_put_u8(b, OP_DOMAIN) || buf_put_u32(b, dom->domid) ||
	    buf_put_u8(b, dom->introduced) || buf_put_u32(b, dom->target) || buf_put_u8(b, n))
		return -ENOMEM;
	for (int q = 0; q < Q_COUNT; q++)
		if (dom->quota_set[q] &&
		    (buf_put_u8(b, (uint8_t)q) || buf_put_u32(b, dom->quota[q])))
			return -ENOMEM;
	return 0;
}

static int enc_gquota(struct buf *b, enum quota q, unsigned int v)
{
	if (buf_put_u8(b, OP_GQUOTA) || buf_put_u8(b, (uint8_t)q) || buf_put_u32(b, v))
		return -ENOMEM;
	return 0;
}

/* Starts a record in b: room for len + crc, filled by rec_finish. */
static int rec_start(struct buf *b)
{
	buf_reset(b);
	return buf_put_u32(b, 0) || buf_put_u32(b, 0) ? -ENOMEM : 0;
}

static void rec_finish(struct buf *b)
{
	uint8_t *h = buf_head(b);
	uint32_t len = (uint32_t)(buf_used(b) - REC_HDR_LEN);
	uint32_t crc = crc32c(h + REC_HDR_LEN, len);

	for (int i = 0; i < 4; i++) {
		h[i] = (uint8_t)(len >> (8 * i));
		h[4 + i] = (uint8_t)(crc >> (8 * i));
	}
}

/* ---- decoding ---- */

struct rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

static uint32_t rd_uint(struct rd *r, unsigned bytes)
{
	const uint8_t *p = rd_take(r, bytes);
	uint32_t v = 0;

	if (!p)
		return 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* Reads a path into out (XS_PATH_BUF) and checks it is canonical. */
static bool rd_path(struct rd *r, char *out)
{
	uint16_t l = (uint16_t)rd_uint(r, 2);
	const uint8_t *p = rd_take(r, l);
	char canon[XS_PATH_BUF];

	if (!p || l == 0 || l >= XS_PATH_BUF)
		return false;
	memcpy(out, p, l);
	out[l] = '\0';
	if (out[0] != '/' || xs_path_canonical(out, 0, false, canon, NULL) || strcmp(canon, out))
		return false;
	return true;
}

static bool children_valid(const uint8_t *c, uint32_t len)
{
	if (len == 0)
		return true;
	if (c[len - 1] != '\0' || c[0] == '\0')
		return false;
	for (uint32_t i = 1; i < len; i++) {
		if (c[i] == '\0' && c[i - 1] == '\0')
			return false; /* empty name */
		if (c[i] == '/')
			return false;
	}
	return true;
}

/* Parses one op and, if `apply`, applies it; returns false if it does not
 * parse. Replay runs each record twice, dry first, so a record applies
 * whole or not at all. */
static bool apply_op(struct rd *r, struct tree *t, struct domains *d, bool apply)
{
	char path[XS_PATH_BUF];
	uint8_t op = (uint8_t)rd_uint(r, 1);

	switch (op) {
	case OP_PUT: {
		struct xs_perm perms[64], *pp = perms;
		struct node *n = NULL;
		const uint8_t *val, *ch;
		uint32_t vlen, clen;
		uint16_t np;
		bool ok = false;

		if (!rd_path(r, path))
			return false;
		np = (uint16_t)rd_uint(r, 2);
		if (np == 0 || np > MAX_PERMS)
			return false;
		if (np > ARRAY_SIZE(perms) && !(pp = calloc(np, sizeof(*pp))))
			return false;
		for (unsigned i = 0; i < np; i++) {
			pp[i].domid = rd_uint(r, 4);
			pp[i].bits = (uint8_t)rd_uint(r, 1);
			if (pp[i].domid > XS_DOMID_MAX || pp[i].bits > XS_PERM_BOTH)
				goto put_out;
		}
		vlen = rd_uint(r, 4);
		if (vlen > MAX_VALUE || !(val = rd_take(r, vlen)))
			goto put_out;
		clen = rd_uint(r, 4);
		if (clen > MAX_RECORD || !(ch = rd_take(r, clen)) || !children_valid(ch, clen))
			goto put_out;
		ok = !r->bad;
		if (!ok || !apply)
			goto put_out;
		n = node_new(path, val, vlen, pp, np);
		if (!n || node_set_children(n, (const char *)ch, clen)) {
			node_free(n);
			ok = false;
			goto put_out;
		}
		tree_put(t, n);
	put_out:
		if (pp != perms)
			free(pp);
		return ok && !r->bad;
	}
	case OP_DEL:
		if (!rd_path(r, path) || strcmp(path, "/") == 0)
			return false;
		if (apply)
			tree_del(t, path);
		return true;
	case OP_DOMAIN: {
		uint32_t domid = rd_uint(r, 4);
		uint8_t intro = (uint8_t)rd_uint(r, 1);
		uint32_t target = rd_uint(r, 4);
		uint8_t n = (uint8_t)rd_uint(r, 1);
		struct domain *dom;

		if (r->bad || domid > XS_DOMID_MAX || intro > 1 ||
		    (target != DOMID_NONE && target > XS_DOMID_MAX) || n > Q_COUNT)
			return false;
		dom = apply ? domain_get(d, domid) : NULL;
		if (apply && !dom)
			return false;
		if (dom) {
			dom->introduced = intro || domid == 0;
			dom->target = target;
			memset(dom->quota_set, 0, sizeof(dom->quota_set));
		}
		for (unsigned i = 0; i < n; i++) {
			uint8_t q = (uint8_t)rd_uint(r, 1);
			uint32_t v = rd_uint(r, 4);
			if (r->bad || q >= Q_COUNT)
				return false;
			if (dom) {
				dom->quota[q] = v;
				dom->quota_set[q] = true;
			}
		}
		return true;
	}
	case OP_GQUOTA: {
		uint8_t q = (uint8_t)rd_uint(r, 1);
		uint32_t v = rd_uint(r, 4);
		if (r->bad || q >= Q_COUNT)
			return false;
		if (apply)
			d->global_quota[q] = v;
		return true;
	}
	default:
		return false;
	}
}

/* Structural repair after replay: drops orphans (nodes whose parent is
 * missing) and child names without a node, adds names a parent lacks.
 * Returns the number of fixes. */
static unsigned repair(struct tree *t)
{
	unsigned fixes = 0;
	bool again = true;
	struct hmap_iter it;
	char parent[XS_PATH_BUF], child[XS_PATH_BUF];

	if (!tree_get(t, "/")) {
		static const struct xs_perm root_perm = {0, XS_PERM_NONE};
		struct node *root = node_new("/", NULL, 0, &root_perm, 1);
		if (root)
			tree_put(t, root);
		fixes++;
	}
	while (again) {
		again = false;
		for (struct hmap_entry *e = hmap_first(&t->map, &it); e;
		     e = hmap_next(&t->map, &it)) {
			struct node *n = hmap_container(e, struct node, he);
			size_t pl = xs_path_parent_len(n->path);
			if (strcmp(n->path, "/") == 0)
				continue;
			memcpy(parent, n->path, pl);
			parent[pl] = '\0';
			if (!tree_get(t, parent)) {
				hmap_remove(&t->map, &n->he);
				node_free(n);
				fixes++;
				again = true;
			}
		}
	}
	for (struct hmap_entry *e = hmap_first(&t->map, &it); e; e = hmap_next(&t->map, &it)) {
		struct node *n = hmap_container(e, struct node, he);
		const char *c = node_child_first(n);
		while (c) {
			const char *next = node_child_next(n, c);
			/* A name too long for any path cannot exist (and its
			 * truncated path may name a sibling). */
			int cl = snprintf(child, sizeof(child), "%s%s%s", n->path,
					  strcmp(n->path, "/") ? "/" : "", c);
			if (cl < 0 || (size_t)cl >= sizeof(child) || !tree_get(t, child)) {
				size_t off = (size_t)(c - n->children);
				node_remove_child(n, c);
				fixes++;
				next = off < n->children_len ? n->children + off : NULL;
			}
			c = next;
		}
	}
	for (struct hmap_entry *e = hmap_first(&t->map, &it); e; e = hmap_next(&t->map, &it)) {
		struct node *n = hmap_container(e, struct node, he);
		size_t pl = xs_path_parent_len(n->path);
		struct node *p;
		unsigned listed = 0;
		if (strcmp(n->path, "/") == 0)
			continue;
		memcpy(parent, n->path, pl);
		parent[pl] = '\0';
		p = tree_get(t, parent);
		for (const char *c = node_child_first(p); c; c = node_child_next(p, c))
			listed += strcmp(c, xs_path_basename(n->path)) == 0;
		if (!listed && node_add_child(p, xs_path_basename(n->path)) == 0)
			fixes++;
		/* A name listed twice would outlive the node's removal. */
		for (; listed > 1 && node_remove_child(p, xs_path_basename(n->path)); listed--)
			fixes++;
	}
	return fixes;
}

static void recount_usage(struct tree *t, struct domains *d)
{
	struct hmap_iter it;

	for (unsigned i = 0; i <= d->max_id; i++) {
		if (d->by_id[i]) {
			d->by_id[i]->nodes = 0;
			d->by_id[i]->bytes = 0;
		}
	}
	for (struct hmap_entry *e = hmap_first(&t->map, &it); e; e = hmap_next(&t->map, &it)) {
		struct node *n = hmap_container(e, struct node, he);
		struct domain *dom = domain_get(d, node_owner(n));
		if (dom) {
			dom->nodes++;
			dom->bytes += node_footprint(n);
		}
	}
}

int persist_load_buffer(struct tree *t, struct domains *d, const uint8_t *data, size_t len,
			struct persist_report *rep)
{
	struct rd r = {data, len, 0, false};
	uint32_t version;

	memset(rep, 0, sizeof(*rep));
	if (len == 0)
		goto done;
	if (len < HDR_LEN) {
		if (memcmp(data, PERSIST_MAGIC, MIN(len, sizeof(PERSIST_MAGIC))) != 0)
			return -EINVAL;
		rep->damage = "header cut short";
		rep->damaged_bytes = len;
		goto done;
	}
	if (memcmp(data, PERSIST_MAGIC, sizeof(PERSIST_MAGIC)) != 0)
		return -EINVAL;
	r.pos = 8;
	version = rd_uint(&r, 4);
	rd_uint(&r, 4);
	if (version > PERSIST_VERSION)
		return -EPROTONOSUPPORT;
	if (version == 0)
		return -EINVAL;
	rep->good_bytes = r.pos;
	while (r.pos < len) {
		size_t start = r.pos;
		uint32_t rlen, crc;
		const uint8_t *payload;
		struct rd pr;

		if (len - r.pos < REC_HDR_LEN) {
			rep->damage = "record header cut short";
			break;
		}
		rlen = rd_uint(&r, 4);
		crc = rd_uint(&r, 4);
		if (rlen == 0 || rlen > MAX_RECORD) {
			rep->damage = "impossible record length";
			break;
		}
		if (rlen > len - r.pos) {
			rep->damage = "record cut short";
			break;
		}
		payload = rd_take(&r, rlen);
		if (crc32c(payload, rlen) != crc) {
			rep->damage = "checksum mismatch";
			break;
		}
		pr = (struct rd){payload, rlen, 0, false};
		while (pr.pos < rlen) {
			if (!apply_op(&pr, t, d, false)) {
				/* Checksummed but unparseable: written by a bug or a
				 * newer version. Stop; what came before is intact. */
				rep->damage = "record does not parse";
				break;
			}
		}
		if (rep->damage) {
			r.pos = start;
			break;
		}
		pr = (struct rd){payload, rlen, 0, false};
		while (pr.pos < rlen)
			if (!apply_op(&pr, t, d, true))
				return -ENOMEM; /* parsed dry, so only allocation fails */
		rep->records++;
		rep->good_bytes = r.pos;
	}
	if (rep->damage)
		rep->damaged_bytes = len - rep->good_bytes;
done:
	rep->repaired = repair(t);
	recount_usage(t, d);
	return 0;
}

/* ---- files ---- */

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	ssize_t n;

	*data = NULL;
	*len = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) < 0 || sb.st_size < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*data = malloc((size_t)sb.st_size + 1);
	if (!*data) {
		close(fd);
		return -ENOMEM;
	}
	n = read_full(fd, *data, (size_t)sb.st_size);
	close(fd);
	if (n < 0) {
		free(*data);
		*data = NULL;
		return (int)n;
	}
	*len = (size_t)n;
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int save_damaged(struct persist *p, const uint8_t *tail, size_t len, char *name,
			size_t namesz)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, r;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, namesz, "%s.damaged-%s", p->log_path, stamp);
	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, tail, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int write_header(int fd)
{
	uint8_t h[HDR_LEN] = {0};

	memcpy(h, PERSIST_MAGIC, sizeof(PERSIST_MAGIC));
	h[8] = (uint8_t)PERSIST_VERSION;
	return write_all(fd, h, sizeof(h));
}

/* Appends the record in p->rec; on failure cuts the log back. */
static int append_record(struct persist *p)
{
	int r;

	rec_finish(&p->rec);
	r = write_all(p->fd, buf_head(&p->rec), buf_used(&p->rec));
	if (r) {
		log_err("state log %s: append failed: %s", p->log_path, err_str(r));
		if (ftruncate(p->fd, (off_t)p->log_bytes) < 0 ||
		    lseek(p->fd, (off_t)p->log_bytes, SEEK_SET) < 0)
			log_err("state log %s: cannot cut back a partial record", p->log_path);
		return r;
	}
	p->log_bytes += buf_used(&p->rec);
	p->dirty = true;
	return 0;
}

int persist_compact(struct persist *p, struct store *st)
{
	char tmp[PATH_MAX];
	struct buf b = BUF_INIT;
	struct hmap_iter it;
	uint64_t total = HDR_LEN;
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", p->log_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_header(fd);
	/* Global quotas and domains first, then the nodes in chunks. */
	if (!r)
		r = rec_start(&b);
	for (int q = 0; !r && q < Q_COUNT; q++)
		r = enc_gquota(&b, (enum quota)q, st->doms.global_quota[q]);
	for (unsigned i = 0; !r && i <= st->doms.max_id; i++) {
		const struct domain *dom = st->doms.by_id[i];
		if (dom && (dom->introduced || dom->target != DOMID_NONE))
			r = enc_domain(&b, dom);
	}
	for (struct hmap_entry *e = hmap_first(&st->tree.map, &it); !r && e;
	     e = hmap_next(&st->tree.map, &it)) {
		r = enc_put(&b, hmap_container(e, struct node, he));
		if (!r && buf_used(&b) >= SNAPSHOT_CHUNK) {
			rec_finish(&b);
			total += buf_used(&b);
			r = write_all(fd, buf_head(&b), buf_used(&b));
			if (!r)
				r = rec_start(&b);
		}
	}
	if (!r && buf_used(&b) > REC_HDR_LEN) {
		rec_finish(&b);
		total += buf_used(&b);
		r = write_all(fd, buf_head(&b), buf_used(&b));
	}
	buf_free(&b);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r) {
		close(fd);
		unlink(tmp);
		log_err("state log %s: compaction failed: %s", p->log_path, err_str(r));
		return r;
	}
	if (rename(tmp, p->log_path) < 0) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	fsync_dir(p->dir);
	if (p->fd >= 0)
		close(p->fd);
	close(fd);
	p->fd = open(p->log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (p->fd < 0)
		return -errno;
	p->log_bytes = p->snapshot_bytes = total;
	p->dirty = false;
	return 0;
}

int persist_open(struct store *st, const char *dir, enum store_sync sync, uint64_t compact_min,
		 struct persist **out)
{
	struct persist *p = calloc(1, sizeof(*p));
	char lock_path[PATH_MAX], damaged[PATH_MAX];
	struct persist_report rep;
	uint8_t *data = NULL;
	size_t len;
	int r;

	if (!p)
		return -ENOMEM;
	p->fd = -1;
	p->lock_fd = -1;
	p->sync = sync;
	p->compact_min = compact_min ? compact_min : (1u << 20);
	p->dir = strdup(dir);
	if (!p->dir || asprintf(&p->log_path, "%s/store.log", dir) < 0) {
		p->log_path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		log_err("state directory %s: %s", dir, err_str(r));
		goto fail;
	}
	snprintf(lock_path, sizeof(lock_path), "%s/lock", dir);
	p->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		log_err("state directory %s: %s", dir,
			r == -EWOULDBLOCK ? "in use by another airlock-store" : err_str(r));
		goto fail;
	}
	r = read_file(p->log_path, &data, &len);
	if (r) {
		log_err("state log %s: %s", p->log_path, err_str(r));
		goto fail;
	}
	r = persist_load_buffer(&st->tree, &st->doms, data, len, &rep);
	if (r == -EINVAL) {
		log_err("state log %s: not an airlock-store log (bad header); refusing to touch it",
			p->log_path);
		goto fail;
	}
	if (r == -EPROTONOSUPPORT) {
		log_err("state log %s: written by a newer airlock-store (format > %u); refusing to "
			"touch it",
			p->log_path, PERSIST_VERSION);
		goto fail;
	}
	if (r)
		goto fail;
	if (rep.damage) {
		r = save_damaged(p, data + rep.good_bytes, rep.damaged_bytes, damaged,
				 sizeof(damaged));
		log_err("state log %s: damaged at offset %llu (%s): recovered %llu records before "
			"it; the damaged %llu bytes %s %s",
			p->log_path, (unsigned long long)rep.good_bytes, rep.damage,
			(unsigned long long)rep.records, (unsigned long long)rep.damaged_bytes,
			r ? "could not be saved to" : "are saved in", damaged);
	} else if (len) {
		log_info("state log %s: loaded %llu records, %zu nodes", p->log_path,
			 (unsigned long long)rep.records, tree_count(&st->tree));
	}
	if (rep.repaired)
		log_warn("state log %s: repaired %u structural inconsistencies", p->log_path,
			 rep.repaired);
	free(data);
	data = NULL;
	r = persist_compact(p, st);
	if (r) {
		log_err("state log %s: cannot write: %s", p->log_path, err_str(r));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	free(data);
	persist_close(p);
	return r;
}

void persist_close(struct persist *p)
{
	if (!p)
		return;
	if (p->fd >= 0) {
		if (p->dirty && p->sync == STORE_SYNC_POWER)
			fdatasync(p->fd);
		close(p->fd);
	}
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	buf_free(&p->rec);
	free(p->log_path);
	free(p->dir);
	free(p);
}

int persist_commit(struct persist *p, const struct txn *t)
{
	int r = rec_start(&p->rec);

	for (const struct txn_entry *te = t->mods; !r && te; te = te->next_mod)
		r = te->node ? enc_put(&p->rec, te->node) : enc_del(&p->rec, te->path);
	if (r)
		return r;
	return append_record(p);
}

int persist_domain(struct persist *p, const struct domain *dom)
{
	int r = rec_start(&p->rec);

	if (!r)
		r = enc_domain(&p->rec, dom);
	return r ? r : append_record(p);
}

int persist_global_quota(struct persist *p, enum quota q, unsigned int value)
{
	int r = rec_start(&p->rec);

	if (!r)
		r = enc_gquota(&p->rec, q, value);
	return r ? r : append_record(p);
}

int persist_sync(struct persist *p, struct store *st)
{
	int r = 0;

	if (p->dirty && p->sync == STORE_SYNC_POWER) {
		if (fdatasync(p->fd) < 0) {
			r = -errno;
			log_err("state log %s: fdatasync: %s", p->log_path, err_str(r));
		}
	}
	p->dirty = false;
	if (p->log_bytes > p->compact_min && p->log_bytes > 2 * p->snapshot_bytes) {
		int c = persist_compact(p, st);
		if (c)
			log_warn("state log %s: compaction failed (%s); the log keeps growing",
				 p->log_path, err_str(c));
	}
	return r;
}

void persist_sizes(const struct persist *p, uint64_t *log_bytes, uint64_t *snapshot_bytes)
{
	*log_bytes = p->log_bytes;
	*snapshot_bytes = p->snapshot_bytes;
}

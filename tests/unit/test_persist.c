/* test_persist.c — the state log (store/persist.h): survival across
 * restarts, recovery from a cut-short or corrupted tail, refusal of foreign
 * or newer files, compaction, structural repair, and that every
 * acknowledged change is on disk before its reply. */
#include "tap.h"
#include "harness.h"
#include "store/persist.h"
#include "common/buf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char log_path[512];

static void set_dir(const char *dir)
{
	snprintf(log_path, sizeof(log_path), "%s/store.log", dir);
}

/* Loads an image into a fresh tree and domain table and returns the dump
 * (malloc'ed), or NULL with *rc set if loading failed. */
static char *load_dump(const uint8_t *data, size_t len, struct persist_report *rep, int *rc)
{
	struct tree t;
	struct domains *d = malloc(sizeof(*d));
	char *a = NULL, *b, *s = NULL;

	tree_init(&t);
	domains_init(d);
	*rc = persist_load_buffer(&t, d, data, len, rep);
	if (*rc == 0) {
		a = t_tree_dump(&t);
		b = t_domains_dump(d);
		s = malloc(strlen(a) + strlen(b) + 1);
		strcpy(s, a);
		strcat(s, b);
		free(a);
		free(b);
	}
	tree_destroy(&t);
	domains_destroy(d);
	free(d);
	return s;
}

/* Number of store.log.damaged-* files in dir; the path of one of them in
 * `one` (may be NULL); all removed first if `remove`. */
static int damaged_files(const char *dir, bool remove, char *one, size_t onesz)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!dh)
		return -1;
	while ((e = readdir(dh))) {
		char p[600];
		if (strncmp(e->d_name, "store.log.damaged-", 18) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (remove) {
			unlink(p);
			continue;
		}
		if (one)
			snprintf(one, onesz, "%s", p);
		n++;
	}
	closedir(dh);
	return n;
}

static long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Builds a varied state through the protocol. */
static void build_state(struct store *st)
{
	struct t_conn *c0 = t_conn_new(st, 0), *c5;
	static const uint8_t bin[] = "/bin\0\x01\x00\xff";

	CHECK(t_write(c0, "/order/zeta", "1") == NULL);
	CHECK(t_write(c0, "/order/alpha", "2") == NULL);
	CHECK(t_write(c0, "/order/mid", "3") == NULL);
	CHECK(t_write(c0, "/order/gone", "4") == NULL);
	CHECK(t_err(c0, XS_RM, 0, "/order/gone") == NULL);
	CHECK(t_write(c0, "/order/late", "5") == NULL);
	CHECK_EQ_INT(t_req_raw(c0, XS_WRITE, 0, bin, sizeof(bin) - 1), XS_WRITE);
	CHECK(t_err(c0, XS_SET_PERMS, 0, "/order/mid", "r3", "w5", "b7") == NULL);
	CHECK(t_introduce(c0, 5) == NULL);
	CHECK(t_introduce(c0, 7) == NULL);
	CHECK(t_err(c0, XS_MKDIR, 0, "/local/domain/5") == NULL);
	CHECK(t_err(c0, XS_SET_PERMS, 0, "/local/domain/5", "n5") == NULL);
	CHECK(t_err(c0, XS_SET_TARGET, 0, "7", "5") == NULL);
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "5", "nodes", "77") == NULL);
	CHECK(t_err(c0, XS_SET_QUOTA, 0, "watches", "50") == NULL);
	c5 = t_conn_new(st, 5);
	CHECK(t_write(c5, "mine", "five") == NULL);
	t_conn_free(c5);
	t_conn_free(c0);
}

static void test_survives_reopen(void)
{
	char *dir = t_tmpdir(), *before, *after;
	struct store *st, *st2;
	struct t_conn *c0, *c7;
	int err;

	set_dir(dir);
	st = t_store_open(dir, 0, &err);
	CHECK(st != NULL);
	if (!st)
		return;
	build_state(st);
	before = t_store_dump(st);
	/* one store per directory */
	CHECK(t_store_open(dir, 0, &err) == NULL);
	CHECK(err != 0);
	t_store_close(st);

	for (int round = 0; round < 2; round++) {
		st = t_store_open(dir, 0, &err);
		CHECK_EQ_INT(err, 0);
		if (!st)
			break;
		after = t_store_dump(st);
		CHECK_EQ_STR(after, before);
		free(after);
		c0 = t_conn_new(st, 0);
		CHECK_EQ_STR(t_dir(c0, "/order"), "zeta,alpha,mid,late");
		CHECK_EQ_STR(t_perms(c0, "/order/mid"), "r3,w5,b7");
		CHECK_EQ_INT(t_req(c0, XS_READ, 0, "/bin"), XS_READ);
		CHECK(c0->reply_len == 3 && memcmp(c0->reply, "\x01\x00\xff", 3) == 0);
		t_req(c0, XS_IS_DOMAIN_INTRODUCED, 0, "5");
		CHECK_EQ_STR(t_reply_str(c0), "T");
		t_req(c0, XS_GET_QUOTA, 0, "5", "nodes");
		CHECK_EQ_STR(t_reply_str(c0), "77");
		t_req(c0, XS_GET_QUOTA, 0, "watches");
		CHECK_EQ_STR(t_reply_str(c0), "50");
		CHECK_EQ_STR(t_perms(c0, "/local/domain/5/mine"), "n5");
		CHECK_EQ_STR(t_introduce(c0, 5), "EEXIST");
		/* the target survived: dom7 may read dom5's nodes */
		c7 = t_conn_new(st, 7);
		CHECK_EQ_STR(t_read(c7, "/local/domain/5/mine"), "five");
		CHECK(t_check(c0));
		t_store_close(st);
	}
	/* a released domain stays released */
	st = t_store_open(dir, 0, &err);
	c0 = t_conn_new(st, 0);
	CHECK(t_err(c0, XS_RELEASE, 0, "5") == NULL);
	free(before);
	before = t_store_dump(st);
	t_store_close(st);
	st2 = t_store_open(dir, 0, &err);
	CHECK(st2 != NULL);
	if (st2) {
		after = t_store_dump(st2);
		CHECK_EQ_STR(after, before);
		CHECK(strstr(after, "dom5 ") == NULL);
		free(after);
		c0 = t_conn_new(st2, 0);
		t_req(c0, XS_IS_DOMAIN_INTRODUCED, 0, "5");
		CHECK_EQ_STR(t_reply_str(c0), "F");
		t_store_close(st2);
	}
	free(before);
	t_rmdir(dir);
	free(dir);
}

/* A store in `dir` with build_state's contents, then one transaction whose
 * record is the log's last. Returns the log size before that record and
 * the dumps before and after it. */
static long make_last_record(const char *dir, char **before, char **after)
{
	struct store *st = t_store_open(dir, 0, NULL);
	struct t_conn *c0;
	long size;
	uint32_t tx;

	build_state(st);
	c0 = t_conn_new(st, 0);
	*before = t_store_dump(st);
	size = file_size(log_path);
	tx = t_txn_start(c0);
	t_write_tx(c0, tx, "/order/alpha", "changed");
	t_write_tx(c0, tx, "/new/node", "n");
	t_err(c0, XS_RM, tx, "/order/zeta");
	t_err(c0, XS_SET_PERMS, tx, "/order/late", "b0");
	CHECK(t_txn_end(c0, tx, true) == NULL);
	*after = t_store_dump(st);
	t_store_close(st);
	return size;
}

static void test_truncated_tail(void)
{
	char *dir = t_tmpdir(), *before, *after, *got, damaged[600];
	struct persist_report rep;
	uint8_t *full;
	size_t len;
	long start;
	int rc, opened = 0, bad = 0;

	set_dir(dir);
	start = make_last_record(dir, &before, &after);
	full = t_read_file(log_path, &len);
	CHECK(full != NULL && start > 16 && (size_t)start < len);
	CHECK(strcmp(before, after) != 0);
	/* the whole log gives the state after the record, intact */
	got = load_dump(full, len, &rep, &rc);
	CHECK_EQ_STR(got, after);
	CHECK(rep.damage == NULL);
	CHECK_EQ_INT(rep.damaged_bytes, 0);
	free(got);
	/* cut exactly before the record: the state before it, intact */
	got = load_dump(full, (size_t)start, &rep, &rc);
	CHECK_EQ_STR(got, before);
	CHECK(rep.damage == NULL);
	free(got);
	/* cut anywhere inside it: the state before it, and damage reported */
	for (size_t off = (size_t)start + 1; off < len; off++) {
		got = load_dump(full, off, &rep, &rc);
		if (rc != 0 || !got || strcmp(got, before) != 0 || !rep.damage ||
		    rep.good_bytes != (uint64_t)start || rep.damaged_bytes != off - (size_t)start) {
			printf("# cut at %zu (record at %ld): rc %d damage %s good %llu\n", off,
			       start, rc, rep.damage ? rep.damage : "none",
			       (unsigned long long)rep.good_bytes);
			bad++;
		}
		free(got);
		/* and through store_open: the damaged tail is saved beside the log */
		CHECK_EQ_INT(t_write_file(log_path, full, off), 0);
		struct store *st = t_store_open(dir, 0, &rc);
		if (!st) {
			bad++;
			continue;
		}
		opened++;
		got = t_store_dump(st);
		if (strcmp(got, before) != 0)
			bad++;
		free(got);
		t_store_close(st);
		if (damaged_files(dir, false, damaged, sizeof(damaged)) != 1) {
			bad++;
		} else {
			size_t dlen;
			uint8_t *d = t_read_file(damaged, &dlen);
			if (!d || dlen != off - (size_t)start || memcmp(d, full + start, dlen) != 0)
				bad++;
			free(d);
		}
		damaged_files(dir, true, NULL, 0);
		/* the log was rewritten clean: opening again finds no damage */
		st = t_store_open(dir, 0, &rc);
		if (!st || damaged_files(dir, false, NULL, 0) != 0)
			bad++;
		if (st) {
			got = t_store_dump(st);
			if (strcmp(got, before) != 0)
				bad++;
			free(got);
			t_store_close(st);
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(opened, (long)len - start - 1);
	free(full);
	free(before);
	free(after);
	t_rmdir(dir);
	free(dir);
}

static void test_flipped_byte(void)
{
	char *dir = t_tmpdir(), *before, *after, *got;
	struct persist_report rep;
	uint8_t *full;
	size_t len;
	long start;
	int rc, bad = 0;

	set_dir(dir);
	start = make_last_record(dir, &before, &after);
	full = t_read_file(log_path, &len);
	/* any byte of the last record flipped: the state before it survives */
	for (size_t i = (size_t)start; i < len; i++) {
		full[i] ^= 0x5a;
		got = load_dump(full, len, &rep, &rc);
		if (rc != 0 || !got || strcmp(got, before) != 0 || !rep.damage ||
		    rep.good_bytes != (uint64_t)start) {
			printf("# flip at %zu: rc %d damage %s\n", i, rc,
			       rep.damage ? rep.damage : "none");
			bad++;
		}
		free(got);
		full[i] ^= 0x5a;
	}
	CHECK_EQ_INT(bad, 0);
	/* a payload byte: a checksum mismatch; through store_open as well */
	full[len - 3] ^= 1;
	got = load_dump(full, len, &rep, &rc);
	CHECK_EQ_STR(rep.damage, "checksum mismatch");
	free(got);
	CHECK_EQ_INT(t_write_file(log_path, full, len), 0);
	struct store *st = t_store_open(dir, 0, &rc);
	CHECK(st != NULL);
	if (st) {
		got = t_store_dump(st);
		CHECK_EQ_STR(got, before);
		free(got);
		t_store_close(st);
	}
	CHECK_EQ_INT(damaged_files(dir, false, NULL, 0), 1);
	free(full);
	free(before);
	free(after);
	t_rmdir(dir);
	free(dir);
}

/* store_open must refuse `data` and leave the file exactly as it was. */
static void check_refused(const char *dir, const void *data, size_t len, int want)
{
	uint8_t *back;
	size_t blen;
	int err = 0;

	CHECK_EQ_INT(t_write_file(log_path, data, len), 0);
	CHECK(t_store_open(dir, 0, &err) == NULL);
	CHECK_EQ_INT(err, want);
	back = t_read_file(log_path, &blen);
	CHECK(back != NULL && blen == len && memcmp(back, data, len) == 0);
	CHECK_EQ_INT(damaged_files(dir, false, NULL, 0), 0);
	free(back);
}

static void test_foreign_files(void)
{
	char *dir = t_tmpdir();
	struct store *st;
	uint8_t *full;
	size_t len;
	int err;

	set_dir(dir);
	st = t_store_open(dir, 0, &err);
	build_state(st);
	t_store_close(st);
	full = t_read_file(log_path, &len);
	/* bad magic */
	full[0] = 'X';
	check_refused(dir, full, len, -EINVAL);
	full[0] = 'A';
	/* a newer format version */
	full[8] = PERSIST_VERSION + 1;
	check_refused(dir, full, len, -EPROTONOSUPPORT);
	full[8] = 0;
	full[11] = 1; /* a version of 2^24 */
	check_refused(dir, full, len, -EPROTONOSUPPORT);
	full[11] = 0;
	check_refused(dir, full, len, -EINVAL); /* version 0 */
	full[8] = PERSIST_VERSION;
	/* something short that is not a log at all */
	check_refused(dir, "hello", 5, -EINVAL);
	/* the original is fine again */
	CHECK_EQ_INT(t_write_file(log_path, full, len), 0);
	st = t_store_open(dir, 0, &err);
	CHECK(st != NULL);
	t_store_close(st);
	/* an empty file or a cut-short header: an empty store */
	struct persist_report rep;
	int rc;
	char *got = load_dump(full, 0, &rep, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK(rep.damage == NULL);
	CHECK(got && strstr(got, "(1 nodes)") != NULL);
	free(got);
	got = load_dump(full, 5, &rep, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK(rep.damage != NULL);
	CHECK(got && strstr(got, "(1 nodes)") != NULL);
	free(got);
	free(full);
	t_rmdir(dir);
	free(dir);
}

static void test_compaction(void)
{
	char *dir = t_tmpdir(), *before, *after;
	struct store *st;
	struct t_conn *c0;
	char v[128];
	long grown, compacted;
	int err;

	set_dir(dir);
	/* explicit: CONTROL compact */
	st = t_store_open(dir, 0, &err);
	build_state(st);
	c0 = t_conn_new(st, 0);
	for (int i = 0; i < 300; i++) {
		snprintf(v, sizeof(v), "value number %d, padded to make the log grow", i);
		t_write(c0, "/churn", v);
	}
	before = t_store_dump(st);
	grown = file_size(log_path);
	CHECK(t_err(c0, XS_CONTROL, 0, "compact") == NULL);
	compacted = file_size(log_path);
	CHECK(compacted > 0 && compacted < grown / 4);
	t_req(c0, XS_CONTROL, 0, "memreport");
	snprintf(v, sizeof(v), "log-bytes %ld\n", compacted);
	CHECK(strstr(t_reply_str(c0), v) != NULL);
	after = t_store_dump(st);
	CHECK_EQ_STR(after, before);
	free(after);
	/* the store goes on appending after a compaction */
	t_write(c0, "/after-compact", "yes");
	free(before);
	before = t_store_dump(st);
	t_store_close(st);
	st = t_store_open(dir, 0, &err);
	after = t_store_dump(st);
	CHECK_EQ_STR(after, before);
	free(after);
	free(before);
	t_store_close(st);

	/* automatic: many writes with a small threshold keep the log small */
	st = t_store_open(dir, 4096, &err);
	c0 = t_conn_new(st, 0);
	long biggest = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(v, sizeof(v), "%d: a value long enough that the log grows by 100 bytes",
			 i);
		t_write(c0, "/auto", v);
		if (file_size(log_path) > biggest)
			biggest = file_size(log_path);
	}
	CHECK(biggest < 16384);
	before = t_store_dump(st);
	t_store_close(st);
	st = t_store_open(dir, 4096, &err);
	after = t_store_dump(st);
	CHECK_EQ_STR(after, before);
	CHECK(strstr(after, "/auto [n0] =1999: a value") != NULL);
	free(after);
	free(before);
	t_store_close(st);
	CHECK_EQ_INT(damaged_files(dir, false, NULL, 0), 0);
	t_rmdir(dir);
	free(dir);
}

/* ---- hand-built images ---- */

static void img_header(struct buf *b)
{
	buf_append(b, PERSIST_MAGIC, sizeof(PERSIST_MAGIC));
	buf_put_u32(b, PERSIST_VERSION);
	buf_put_u32(b, 0);
}

static void op_put(struct buf *r, const char *path, uint32_t owner, const char *value,
		   const char *children, uint32_t clen)
{
	buf_put_u8(r, 1);
	buf_put_u16(r, (uint16_t)strlen(path));
	buf_append(r, path, strlen(path));
	buf_put_u16(r, 1);
	buf_put_u32(r, owner);
	buf_put_u8(r, XS_PERM_NONE);
	buf_put_u32(r, (uint32_t)strlen(value));
	buf_append(r, value, strlen(value));
	buf_put_u32(r, clen);
	buf_append(r, children, clen);
}

static void op_del(struct buf *r, const char *path)
{
	buf_put_u8(r, 2);
	buf_put_u16(r, (uint16_t)strlen(path));
	buf_append(r, path, strlen(path));
}

/* Appends record `r` (payload) to image `b` and empties r. */
static void img_record(struct buf *b, struct buf *r)
{
	buf_put_u32(b, (uint32_t)buf_used(r));
	buf_put_u32(b, crc32c(buf_head(r), buf_used(r)));
	buf_append(b, buf_head(r), buf_used(r));
	buf_reset(r);
}

static void test_repair_orphans(void)
{
	struct buf b = BUF_INIT, r = BUF_INIT;
	struct persist_report rep;
	struct tree t;
	struct domains *d = malloc(sizeof(*d));
	char *dump;

	img_header(&b);
	op_put(&r, "/", 0, "", "a\0ghost\0", 8);
	op_put(&r, "/a", 0, "va", "", 0);
	op_put(&r, "/x/y", 0, "orphan", "", 0);	      /* no /x */
	op_put(&r, "/x/y/z", 0, "orphan too", "", 0); /* below an orphan */
	op_put(&r, "/b", 5, "unlisted", "", 0);	      /* "/" does not name it */
	img_record(&b, &r);
	tree_init(&t);
	domains_init(d);
	CHECK_EQ_INT(persist_load_buffer(&t, d, buf_head(&b), buf_used(&b), &rep), 0);
	CHECK(rep.damage == NULL);
	CHECK_EQ_INT(rep.records, 1);
	CHECK_EQ_INT(rep.repaired, 4); /* two orphans, a dangling name, a missing name */
	dump = t_tree_dump(&t);
	CHECK_EQ_STR(dump, "/ [n0] =\n/a [n0] =va\n/b [n5] =unlisted\n(3 nodes)\n");
	free(dump);
	/* usage recomputed from what is left */
	CHECK(d->by_id[0] && d->by_id[0]->nodes == 2);
	CHECK(d->by_id[5] && d->by_id[5]->nodes == 1);
	tree_destroy(&t);
	domains_destroy(d);
	free(d);
	buf_free(&b);
	buf_free(&r);
}

static void test_replay_ops(void)
{
	struct buf b = BUF_INIT, r = BUF_INIT;
	struct persist_report rep;
	struct tree t;
	struct domains *d = malloc(sizeof(*d));
	char *dump;
	size_t good;

	img_header(&b);
	op_put(&r, "/", 0, "", "k\0", 2);
	op_put(&r, "/k", 0, "1", "", 0);
	img_record(&b, &r);
	/* later records replace whole nodes, delete them, set domains */
	op_put(&r, "/", 0, "", "k\0j\0", 4);
	op_put(&r, "/j", 0, "2", "", 0);
	op_put(&r, "/k", 0, "replaced", "", 0);
	img_record(&b, &r);
	buf_put_u8(&r, 3); /* DOMAIN 5, introduced, target 7, nodes=33 */
	buf_put_u32(&r, 5);
	buf_put_u8(&r, 1);
	buf_put_u32(&r, 7);
	buf_put_u8(&r, 1);
	buf_put_u8(&r, Q_NODES);
	buf_put_u32(&r, 33);
	buf_put_u8(&r, 4); /* GQUOTA watches=9 */
	buf_put_u8(&r, Q_WATCHES);
	buf_put_u32(&r, 9);
	img_record(&b, &r);
	op_put(&r, "/", 0, "", "k\0", 2);
	op_del(&r, "/j");
	img_record(&b, &r);
	good = buf_used(&b);
	/* checksummed but not parseable (an unknown op after a good one): the
	 * whole record is dropped, not half of it */
	op_put(&r, "/", 0, "", "k\0", 2);
	op_put(&r, "/k", 0, "half", "", 0);
	buf_put_u8(&r, 99);
	img_record(&b, &r);
	op_put(&r, "/k", 0, "after", "", 0); /* and nothing after it */
	img_record(&b, &r);

	tree_init(&t);
	domains_init(d);
	CHECK_EQ_INT(persist_load_buffer(&t, d, buf_head(&b), buf_used(&b), &rep), 0);
	CHECK_EQ_INT(rep.records, 4);
	CHECK_EQ_STR(rep.damage, "record does not parse");
	CHECK_EQ_INT(rep.good_bytes, good);
	CHECK_EQ_INT(rep.damaged_bytes, buf_used(&b) - good);
	CHECK_EQ_INT(rep.repaired, 0);
	dump = t_tree_dump(&t);
	CHECK_EQ_STR(dump, "/ [n0] =\n/k [n0] =replaced\n(2 nodes)\n");
	free(dump);
	CHECK(d->by_id[5] && d->by_id[5]->introduced);
	CHECK(d->by_id[5] && d->by_id[5]->target == 7);
	CHECK(d->by_id[5] && d->by_id[5]->quota_set[Q_NODES] && d->by_id[5]->quota[Q_NODES] == 33);
	CHECK(d->by_id[5] && !d->by_id[5]->quota_set[Q_MEMORY]);
	CHECK_EQ_INT(d->global_quota[Q_WATCHES], 9);
	CHECK_EQ_INT(d->global_quota[Q_NODES], 1000);
	tree_destroy(&t);
	domains_destroy(d);
	free(d);
	buf_free(&b);
	buf_free(&r);
}

/* Loads the log as it is on disk now, while the store still runs. */
static char *disk_dump(void)
{
	struct persist_report rep;
	uint8_t *data;
	size_t len;
	char *s;
	int rc;

	data = t_read_file(log_path, &len);
	if (!data)
		return NULL;
	s = load_dump(data, len, &rep, &rc);
	if (rep.damage)
		printf("# log on disk is damaged: %s\n", rep.damage);
	free(data);
	return s;
}

static void test_acknowledged_on_disk(void)
{
	char *dir = t_tmpdir(), *disk, *live;
	struct store *st;
	struct t_conn *c0;
	uint32_t tx;
	int err;

	set_dir(dir);
	st = t_store_open(dir, 0, &err);
	c0 = t_conn_new(st, 0);
	c0->sync = false; /* look between the reply and store_sync */
	CHECK(t_write(c0, "/ack", "v1") == NULL);
	disk = disk_dump();
	CHECK(disk && strstr(disk, "/ack [n0] =v1\n") != NULL);
	free(disk);
	/* every kind of change: compare the whole state each time */
	static const char *const steps[] = {"write",	 "mkdir",  "perms", "rm",     "txn",
					    "introduce", "target", "quota", "gquota", "release"};
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *e = "skipped";
		switch (i) {
		case 0:
			e = t_write(c0, "/ack/deep/er", "v2");
			break;
		case 1:
			e = t_err(c0, XS_MKDIR, 0, "/made");
			break;
		case 2:
			e = t_err(c0, XS_SET_PERMS, 0, "/ack", "r4");
			break;
		case 3:
			e = t_err(c0, XS_RM, 0, "/ack/deep");
			break;
		case 4:
			tx = t_txn_start(c0);
			t_write_tx(c0, tx, "/t1", "a");
			t_write_tx(c0, tx, "/t2", "b");
			e = t_txn_end(c0, tx, true);
			break;
		case 5:
			e = t_introduce(c0, 5);
			break;
		case 6:
			e = t_err(c0, XS_SET_TARGET, 0, "5", "9");
			break;
		case 7:
			e = t_err(c0, XS_SET_QUOTA, 0, "5", "memory", "12345");
			break;
		case 8:
			e = t_err(c0, XS_SET_QUOTA, 0, "transactions", "4");
			break;
		case 9:
			e = t_err(c0, XS_RELEASE, 0, "5");
			break;
		}
		CHECK(e == NULL);
		disk = disk_dump();
		live = t_store_dump(st);
		if (!disk || strcmp(disk, live) != 0) {
			printf("# after %s the log on disk differs from the store\n", steps[i]);
			CHECK(0);
		}
		free(disk);
		free(live);
	}
	t_store_close(st);
	t_rmdir(dir);
	free(dir);
}

int main(void)
{
	RUN(test_survives_reopen);
	RUN(test_truncated_tail);
	RUN(test_flipped_byte);
	RUN(test_foreign_files);
	RUN(test_compaction);
	RUN(test_repair_orphans);
	RUN(test_replay_ops);
	RUN(test_acknowledged_on_disk);
	return tap_done();
}

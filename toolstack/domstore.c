/* domstore.c — see domstore.h. */
#include "toolstack/domstore.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "sys/cgroup.h"
#include "toolstack/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *domstore_boot_id(void)
{
	static char id[40];

	if (!id[0]) {
		int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, id, sizeof(id) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			snprintf(id, sizeof(id), "unknown");
		else
			id[strcspn(id, "\n")] = '\0';
	}
	return id;
}

/* Start time of a live process; a zombie (dead, not yet reaped — an
 * orphaned supervisor's parent may never reap it) counts as gone. */
uint64_t domstore_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Field 22, counted after the command name's closing parenthesis. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X' || p[2] == 'x')
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &start);
	return start;
}

static int rd(struct xs_client *c, uint32_t tx, const char *path, char *out, size_t outsz)
{
	struct buf b = BUF_INIT;
	int r = xs_client_read(c, tx, path, &b);

	if (!r) {
		size_t n = MIN(buf_used(&b), outsz - 1);
		memcpy(out, buf_head(&b), n);
		out[n] = '\0';
	}
	buf_free(&b);
	return r;
}

static int wr(struct xs_client *c, uint32_t tx, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int wr(struct xs_client *c, uint32_t tx, const char *path, const char *fmt, ...)
{
	char v[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return xs_client_write(c, tx, path, v, strlen(v));
}

static uint64_t rd_u64(struct xs_client *c, uint32_t tx, const char *path)
{
	char v[32];
	uint64_t x = 0;

	if (rd(c, tx, path, v, sizeof(v)) == 0)
		parse_u64(v, UINT64_MAX, &x);
	return x;
}

static int get_tx(struct xs_client *c, uint32_t tx, unsigned domid, struct dom_record *out)
{
	char p[128], vm[128];
	int r;

	memset(out, 0, sizeof(*out));
	out->domid = domid;
	snprintf(p, sizeof(p), "/local/domain/%u/name", domid);
	r = rd(c, tx, p, out->name, sizeof(out->name));
	if (r)
		return r;
#define FIELD(rel, dst)                                                                            \
	do {                                                                                       \
		snprintf(p, sizeof(p), "/local/domain/%u/" rel, domid);                            \
		rd(c, tx, p, dst, sizeof(dst));                                                    \
	} while (0)
	FIELD("state", out->state);
	FIELD("airlock/placement", out->placement);
	FIELD("airlock/run-dir", out->run_dir);
	FIELD("airlock/boot-id", out->boot_id);
	FIELD("vm", vm);
#undef FIELD
	if (strncmp(vm, "/vm/", 4) == 0)
		snprintf(out->uuid, sizeof(out->uuid), "%.36s", vm + 4);
#define NUM(rel) (snprintf(p, sizeof(p), "/local/domain/%u/" rel, domid), rd_u64(c, tx, p))
	out->memory_mib = (unsigned long)NUM("airlock/memory-mib");
	out->vcpus = (unsigned)NUM("airlock/vcpus");
	out->owner_pid = (pid_t)NUM("airlock/owner-pid");
	out->owner_start = NUM("airlock/owner-start");
	out->start_time = NUM("airlock/start-time");
#undef NUM
	return 0;
}

int domstore_get(struct xs_client *c, unsigned int domid, struct dom_record *out)
{
	return get_tx(c, 0, domid, out);
}

bool domstore_alive(const struct dom_record *r)
{
	if (r->owner_pid <= 0 || strcmp(r->boot_id, domstore_boot_id()) != 0)
		return false;
	if (kill(r->owner_pid, 0) != 0 && errno == ESRCH)
		return false;
	return domstore_proc_start(r->owner_pid) == r->owner_start;
}

/* The domids under /local/domain (dom0 excluded), in a malloc'd array. */
static int list_ids(struct xs_client *c, uint32_t tx, unsigned **ids, unsigned *n)
{
	struct buf names = BUF_INIT;
	unsigned count = 0, k = 0;
	int r = xs_client_directory(c, tx, "/local/domain", &names, &count);

	*ids = NULL;
	*n = 0;
	if (r == -ENOENT) {
		buf_free(&names);
		return 0;
	}
	if (r) {
		buf_free(&names);
		return r;
	}
	*ids = calloc(count ? count : 1, sizeof(**ids));
	if (!*ids) {
		buf_free(&names);
		return -ENOMEM;
	}
	for (const char *s = (const char *)buf_head(&names);
	     count && s < (const char *)buf_head(&names) + buf_used(&names); s += strlen(s) + 1) {
		unsigned id;
		if (parse_uint(s, DOMID_LAST, &id) == 0 && id != 0)
			(*ids)[k++] = id;
	}
	*n = k;
	buf_free(&names);
	return 0;
}

int domstore_remove(struct xs_client *c, unsigned int domid)
{
	struct dom_record rec;
	char p[128];
	int r;

	if (get_tx(c, 0, domid, &rec) == 0 && rec.uuid[0]) {
		snprintf(p, sizeof(p), "/vm/%s", rec.uuid);
		r = xs_client_rm(c, 0, p);
		if (r && r != -ENOENT)
			return r;
	}
	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	r = xs_client_rm(c, 0, p);
	return r == -ENOENT ? 0 : r;
}

/* Per kind, how many device-model sockets a domain may have (the config
 * allows fewer disks and vifs than this). */
#define DOMSTORE_MAX_DEVS 64

void domstore_reap(struct xs_client *c, const struct dom_record *rec)
{
	char p[300], v[32], name[96];
	struct cgroup_host cgh;
	struct cgroup *cg;
	/* The engine and the device model, if they still run as the
	 * processes the record names. */
	static const char *const procs[] = {"engine", "dm"};
	for (unsigned int i = 0; i < 2; i++) {
		uint64_t pid = 0, start = 0;
		snprintf(p, sizeof(p), "/local/domain/%u/airlock/%s-pid", rec->domid, procs[i]);
		if (rd(c, 0, p, v, sizeof(v)) == 0)
			parse_u64(v, INT32_MAX, &pid);
		snprintf(p, sizeof(p), "/local/domain/%u/airlock/%s-start", rec->domid, procs[i]);
		if (rd(c, 0, p, v, sizeof(v)) == 0)
			parse_u64(v, UINT64_MAX, &start);
		if (pid > 0 && strcmp(rec->boot_id, domstore_boot_id()) == 0 &&
		    domstore_proc_start((pid_t)pid) == start && start)
			kill((pid_t)pid, SIGKILL);
	}
	/* Whatever else ran in its cgroup. */
	snprintf(name, sizeof(name), "dom%u-%s", rec->domid, rec->uuid);
	if (cgroup_host_detect(NULL, &cgh) == 0 && cgh.mode != CGROUP_MODE_NONE &&
	    cgroup_open(&cgh, name, &cg) == 0)
		cgroup_destroy(cg);
	/* Its run directory (control socket, the engine's empty chroot). */
	if (rec->run_dir[0]) {
		snprintf(p, sizeof(p), "%s/control.sock", rec->run_dir);
		unlink(p);
		/* The device model's listening sockets in the chroot. */
		for (unsigned int i = 0; i < 2 * DOMSTORE_MAX_DEVS; i++) {
			snprintf(p, sizeof(p), "%s/chroot/dm-%s%u.sock", rec->run_dir,
				 i % 2 ? "net" : "blk", i / 2);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/chroot", rec->run_dir);
		rmdir(p);
		rmdir(rec->run_dir);
	}
}

int domstore_reconcile(struct xs_client *c, unsigned int *removed)
{
	unsigned *ids, n, gone = 0;
	int r = list_ids(c, 0, &ids, &n);

	for (unsigned i = 0; !r && i < n; i++) {
		struct dom_record rec;
		if (get_tx(c, 0, ids[i], &rec))
			continue;
		if (!domstore_alive(&rec)) {
			log_info("domain %u (%s): owner gone, removing what it left", rec.domid,
				 rec.name);
			domstore_reap(c, &rec);
			r = domstore_remove(c, ids[i]);
			gone++;
		}
	}
	free(ids);
	if (removed)
		*removed = gone;
	return r;
}

int domstore_list(struct xs_client *c, struct dom_record **recs, unsigned int *n)
{
	unsigned *ids, count, k = 0;
	int r = domstore_reconcile(c, NULL);

	*recs = NULL;
	*n = 0;
	if (!r)
		r = list_ids(c, 0, &ids, &count);
	if (r)
		return r;
	*recs = calloc(count ? count : 1, sizeof(**recs));
	if (!*recs) {
		free(ids);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < count; i++)
		if (get_tx(c, 0, ids[i], &(*recs)[k]) == 0)
			k++;
	free(ids);
	*n = k;
	return 0;
}

int domstore_find(struct xs_client *c, const char *name_or_id, struct dom_record *out)
{
	struct dom_record *recs;
	unsigned n, id;
	int r = domstore_list(c, &recs, &n);
	bool numeric = parse_uint(name_or_id, DOMID_LAST, &id) == 0;

	if (r)
		return r;
	r = -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(recs[i].name, name_or_id) == 0 || (numeric && recs[i].domid == id)) {
			*out = recs[i];
			r = 0;
			break;
		}
	}
	free(recs);
	return r;
}

static int register_once(struct xs_client *c, const struct dom_new *nw, struct dom_record *out)
{
	unsigned *ids, n, domid;
	uint32_t tx;
	char p[160], name[DOM_NAME_MAX + 1], clog[512];
	pid_t me = getpid();
	int r = xs_client_txn_start(c, &tx);

	if (r)
		return r;
	r = list_ids(c, tx, &ids, &n);
	if (r)
		goto abort;
	for (unsigned i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "/local/domain/%u/name", ids[i]);
		if (rd(c, tx, p, name, sizeof(name)) == 0 && strcmp(name, nw->name) == 0) {
			free(ids);
			r = -EEXIST;
			goto abort;
		}
	}
	/* The lowest free domid: O(n^2) over a few hundred domains at most. */
	for (domid = 1; domid <= DOMID_LAST; domid++) {
		bool used = false;
		for (unsigned i = 0; i < n && !used; i++)
			used = ids[i] == domid;
		if (!used)
			break;
	}
	free(ids);
	if (domid > DOMID_LAST) {
		r = -ENOSPC;
		goto abort;
	}
	memset(out, 0, sizeof(*out));
	out->domid = domid;
	snprintf(out->name, sizeof(out->name), "%s", nw->name);
	snprintf(out->uuid, sizeof(out->uuid), "%s", nw->uuid);
	snprintf(out->run_dir, sizeof(out->run_dir), "%s/%u", nw->run_dir_base, domid);
	snprintf(out->state, sizeof(out->state), "creating");
	snprintf(out->placement, sizeof(out->placement), "%s", nw->placement);
	snprintf(out->boot_id, sizeof(out->boot_id), "%s", domstore_boot_id());
	out->memory_mib = nw->memory_mib;
	out->vcpus = nw->vcpus;
	out->owner_pid = me;
	out->owner_start = domstore_proc_start(me);
	out->start_time = (uint64_t)time(NULL);
#define W(rel, ...)                                                                                \
	do {                                                                                       \
		snprintf(p, sizeof(p), "/local/domain/%u/" rel, domid);                            \
		if (!r)                                                                            \
			r = wr(c, tx, p, __VA_ARGS__);                                             \
	} while (0)
	W("name", "%s", out->name);
	W("domid", "%u", domid);
	W("vm", "/vm/%s", out->uuid);
	W("state", "creating");
	W("memory/target", "%lu", nw->memory_mib * 1024);
	W("airlock/owner-pid", "%d", (int)me);
	W("airlock/owner-start", "%llu", (unsigned long long)out->owner_start);
	W("airlock/boot-id", "%s", out->boot_id);
	W("airlock/run-dir", "%s", out->run_dir);
	W("airlock/placement", "%s", out->placement);
	W("airlock/vcpus", "%u", out->vcpus);
	W("airlock/memory-mib", "%lu", out->memory_mib);
	W("airlock/start-time", "%llu", (unsigned long long)out->start_time);
	W("console/log", "%s", paths_log_file(out->name, ".console.log", clog, sizeof(clog)));
#undef W
#define V(rel, ...)                                                                                \
	do {                                                                                       \
		snprintf(p, sizeof(p), "/vm/%s/" rel, out->uuid);                                  \
		if (!r)                                                                            \
			r = wr(c, tx, p, __VA_ARGS__);                                             \
	} while (0)
	V("name", "%s", out->name);
	V("uuid", "%s", out->uuid);
	V("memory", "%lu", out->memory_mib);
	V("vcpus", "%u", out->vcpus);
	V("start_time", "%llu", (unsigned long long)out->start_time);
	V("placement", "%s", out->placement);
#undef V
	if (r)
		goto abort;
	return xs_client_txn_end(c, tx, true);
abort:
	xs_client_txn_end(c, tx, false);
	return r;
}

int domstore_register(struct xs_client *c, const struct dom_new *nw, struct dom_record *out)
{
	int r = domstore_reconcile(c, NULL);

	for (int tries = 0; !r || r == -EAGAIN; tries++) {
		r = register_once(c, nw, out);
		if (r != -EAGAIN || tries > 100)
			break;
		usleep((useconds_t)(1000 * (tries + 1)));
	}
	return r;
}

int domstore_set_owner(struct xs_client *c, unsigned int domid, pid_t pid)
{
	char p[128];
	uint32_t tx;
	int r;

	for (int tries = 0; tries < 100; tries++) {
		r = xs_client_txn_start(c, &tx);
		if (r)
			return r;
		snprintf(p, sizeof(p), "/local/domain/%u/airlock/owner-pid", domid);
		r = wr(c, tx, p, "%d", (int)pid);
		snprintf(p, sizeof(p), "/local/domain/%u/airlock/owner-start", domid);
		if (!r)
			r = wr(c, tx, p, "%llu", (unsigned long long)domstore_proc_start(pid));
		if (r) {
			xs_client_txn_end(c, tx, false);
			return r;
		}
		r = xs_client_txn_end(c, tx, true);
		if (r != -EAGAIN)
			return r;
	}
	return r;
}

int domstore_set(struct xs_client *c, unsigned int domid, const char *rel, const char *value)
{
	char p[256];

	snprintf(p, sizeof(p), "/local/domain/%u/%s", domid, rel);
	return xs_client_write(c, 0, p, value, strlen(value));
}

/* cgroup.c — see cgroup.h.
 *
 * A group is a set of directories, one per controller on v1 and a single
 * one on v2; dirs[] holds each distinct directory once and ctrl_dir[] says
 * which directory carries which controller. Every operation is a loop over
 * those directories writing or reading small files, so v1 and v2 differ
 * only in file names and value formats (tables below) and in how a group
 * is created (v2 must first pass the controllers down from the root).
 */
#include "sys/cgroup.h"

#include "common/log.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bounds what we read from an interface file: cgroup.procs of a group
 * holding 100k processes is ~700 KiB. */
#define FILE_MAX (1u << 20)

struct cgroup {
	enum cgroup_mode mode;
	const struct cgroup_fs_ops *fs;
	unsigned ctrls;
	unsigned ndirs;
	int ctrl_dir[CGROUP_CTRL_COUNT]; /* index into dirs, or -1 */
	char dirs[CGROUP_CTRL_COUNT][CGROUP_PATH_MAX];
	char parent[CGROUP_CTRL_COUNT][CGROUP_PATH_MAX]; /* base dir of each dirs[i] */
	char name[CGROUP_NAME_MAX + 1];
};

static const char *const ctrl_names[CGROUP_CTRL_COUNT] = {"memory", "cpu", "pids"};

/* A file the root of each controller's v1 tree has, proving that the limit
 * airlock sets is there (cpu.cfs_quota_us needs CFS bandwidth control in
 * the kernel). The root of the pids tree has no pids.* file at all. */
static const char *const v1_marker[CGROUP_CTRL_COUNT] = {"memory.limit_in_bytes",
							 "cpu.cfs_quota_us", "cgroup.procs"};

/* Controllers a v1 host may offer, for `airlock info`. */
static const char *const v1_known[] = {"blkio",	   "cpu",	 "cpuacct", "cpuset", "devices",
				       "freezer",  "hugetlb",	 "memory",  "misc",   "net_cls",
				       "net_prio", "perf_event", "pids",    "rdma"};

const char *cgroup_ctrl_name(enum cgroup_ctrl c)
{
	return (unsigned)c < CGROUP_CTRL_COUNT ? ctrl_names[c] : "?";
}

const char *cgroup_mode_name(enum cgroup_mode m)
{
	switch (m) {
	case CGROUP_MODE_V1:
		return "v1";
	case CGROUP_MODE_V2:
		return "v2";
	default:
		return "none";
	}
}

/* --- small file helpers -------------------------------------------------- */

static int path_fmt(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int path_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int write_file(const char *dir, const char *file, const char *val)
{
	char path[CGROUP_PATH_MAX + 64];
	int fd, r;

	if (path_fmt(path, sizeof(path), "%s/%s", dir, file))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_all(fd, val, strlen(val));
	if (close(fd) && r == 0)
		r = -errno;
	return r;
}

/* Reads a whole file into a malloc'd NUL-terminated string. */
static int read_file(const char *dir, const char *file, char **out)
{
	char path[CGROUP_PATH_MAX + 64];
	size_t len = 0, cap = 4096;
	char *s;
	int fd;

	if (path_fmt(path, sizeof(path), "%s/%s", dir, file))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	s = malloc(cap);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *t = cap >= FILE_MAX ? NULL : realloc(s, cap * 2);
			if (!t) {
				free(s);
				close(fd);
				return cap >= FILE_MAX ? -EFBIG : -ENOMEM;
			}
			s = t;
			cap *= 2;
		}
		n = read(fd, s + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			free(s);
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	s[len] = '\0';
	*out = s;
	return 0;
}

/* True if the space-separated list `list` contains `word`. */
static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		size_t l = strcspn(p, " \t\n");
		if (l == wl && strncmp(p, word, wl) == 0)
			return true;
		p += l;
	}
	return false;
}

static int fs_mkdir(const struct cgroup_fs_ops *fs, const char *path)
{
	if (fs)
		return fs->mkdir(path, fs->data);
	return mkdir(path, 0755) ? -errno : 0;
}

static int fs_rmdir(const struct cgroup_fs_ops *fs, const char *path)
{
	if (fs)
		return fs->rmdir(path, fs->data);
	return rmdir(path) ? -errno : 0;
}

/* --- detection ------------------------------------------------------------ */

/* Finds the caller's own group in the v1 tree of `ctrl` from
 * /proc/self/cgroup ("4:memory:/a/b"); "" for the root or when unknown. */
static void self_group_v1(const char *ctrl, char *out, size_t size)
{
	char line[1024];
	FILE *f = fopen("/proc/self/cgroup", "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *path, *tok, *save = NULL;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c2 = '\0';
		path = c2 + 1;
		path[strcspn(path, "\n")] = '\0';
		for (tok = strtok_r(c1 + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (strcmp(tok, ctrl) == 0) {
				if (strcmp(path, "/") != 0 && strlen(path) < size)
					snprintf(out, size, "%s", path);
				fclose(f);
				return;
			}
		}
	}
	fclose(f);
}

static void detect_v2(struct cgroup_host *h)
{
	char *ctrls = NULL;

	h->mode = CGROUP_MODE_V2;
	if (read_file(h->root, "cgroup.controllers", &ctrls) == 0) {
		ctrls[strcspn(ctrls, "\n")] = '\0';
		snprintf(h->controllers, sizeof(h->controllers), "%s", ctrls);
	}
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++) {
		if (!ctrls || !word_in(ctrls, ctrl_names[c]))
			continue;
		if (path_fmt(h->base[c], sizeof(h->base[c]), "%s/%s", h->root, CGROUP_PARENT))
			continue;
		h->usable |= 1u << c;
	}
	if (!h->usable)
		snprintf(h->note, sizeof(h->note), "v2 root %s offers none of memory, cpu, pids",
			 h->root);
	else if (access(h->root, W_OK) != 0)
		snprintf(h->note, sizeof(h->note), "%s is not writable", h->root);
	free(ctrls);
}

static void detect_v1(struct cgroup_host *h, bool nest)
{
	char dir[CGROUP_PATH_MAX], self[CGROUP_PATH_MAX], *uni = NULL;
	size_t used = 0;

	h->mode = CGROUP_MODE_V1;
	for (size_t i = 0; i < ARRAY_SIZE(v1_known); i++) {
		int n;

		if (path_fmt(dir, sizeof(dir), "%s/%s/cgroup.procs", h->root, v1_known[i]) ||
		    !exists(dir))
			continue;
		n = snprintf(h->controllers + used, sizeof(h->controllers) - used, "%s%s",
			     used ? " " : "", v1_known[i]);
		if (n > 0 && (size_t)n < sizeof(h->controllers) - used)
			used += (size_t)n;
	}
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++) {
		if (path_fmt(dir, sizeof(dir), "%s/%s", h->root, ctrl_names[c]))
			continue;
		char marker[CGROUP_PATH_MAX + 64];
		snprintf(marker, sizeof(marker), "%s/%s", dir, v1_marker[c]);
		if (!exists(marker) || access(dir, W_OK) != 0)
			continue;
		self[0] = '\0';
		if (nest)
			self_group_v1(ctrl_names[c], self, sizeof(self));
		if (path_fmt(h->base[c], sizeof(h->base[c]), "%s%s/%s", dir, self, CGROUP_PARENT)) {
			h->base[c][0] = '\0';
			continue;
		}
		h->usable |= 1u << c;
	}
	if (path_fmt(dir, sizeof(dir), "%s/unified", h->root) == 0 &&
	    read_file(dir, "cgroup.controllers", &uni) == 0) {
		uni[strcspn(uni, "\n")] = '\0';
		if (uni[0])
			snprintf(h->note, sizeof(h->note),
				 "v2 mount at %s has controllers (%s); airlock uses the v1 trees",
				 dir, uni);
		else
			snprintf(h->note, sizeof(h->note), "v2 mount at %s has no controllers",
				 dir);
		free(uni);
	}
	if (!h->usable && !h->note[0])
		snprintf(h->note, sizeof(h->note), "no writable memory, cpu or pids tree under %s",
			 h->root);
}

int cgroup_host_detect(const char *root, struct cgroup_host *out)
{
	struct cgroup_host *h = out;
	char probe[CGROUP_PATH_MAX + 64];

	memset(h, 0, sizeof(*h));
	if (path_fmt(h->root, sizeof(h->root), "%s", root ? root : CGROUP_DEFAULT_ROOT))
		return -EINVAL;
	snprintf(probe, sizeof(probe), "%s/cgroup.controllers", h->root);
	if (exists(probe)) {
		detect_v2(h);
		return 0;
	}
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++) {
		snprintf(probe, sizeof(probe), "%s/%s/cgroup.procs", h->root, ctrl_names[c]);
		if (exists(probe)) {
			detect_v1(h, root == NULL);
			return 0;
		}
	}
	h->mode = CGROUP_MODE_NONE;
	snprintf(h->note, sizeof(h->note), "no cgroup hierarchy found under %s", h->root);
	return 0;
}

/* --- groups --------------------------------------------------------------- */

static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CGROUP_NAME_MAX || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

/* Fills the handle's directories from the host's bases (nothing created). */
static int group_init(const struct cgroup_host *host, const char *name, struct cgroup **out)
{
	struct cgroup *cg;

	if (!name_ok(name))
		return -EINVAL;
	if (host->mode == CGROUP_MODE_NONE || !host->usable)
		return -EOPNOTSUPP;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->mode = host->mode;
	cg->fs = host->fs;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++) {
		char dir[CGROUP_PATH_MAX];
		unsigned i;

		cg->ctrl_dir[c] = -1;
		if (!(host->usable & (1u << c)))
			continue;
		if (path_fmt(dir, sizeof(dir), "%s/%s", host->base[c], name)) {
			free(cg);
			return -ENAMETOOLONG;
		}
		for (i = 0; i < cg->ndirs; i++)
			if (strcmp(cg->dirs[i], dir) == 0)
				break;
		if (i == cg->ndirs) {
			memcpy(cg->dirs[i], dir, sizeof(dir));
			memcpy(cg->parent[i], host->base[c], sizeof(cg->parent[i]));
			cg->ndirs++;
		}
		cg->ctrl_dir[c] = (int)i;
		cg->ctrls |= 1u << c;
	}
	*out = cg;
	return 0;
}

/* Makes `dir` and every missing parent below the host's root. */
static int mkdir_parents(const struct cgroup_fs_ops *fs, const char *root, const char *dir)
{
	char path[CGROUP_PATH_MAX];
	size_t rl = strlen(root);
	int r;

	if (strlen(dir) >= sizeof(path) || strncmp(dir, root, rl) != 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + rl + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		r = exists(path) ? 0 : fs_mkdir(fs, path);
		*p = '/';
		if (r && r != -EEXIST)
			return r;
	}
	r = exists(path) ? 0 : fs_mkdir(fs, path);
	return r == -EEXIST ? 0 : r;
}

/* v2: lets the controllers reach ROOT/airlock's children, at both levels.
 * All of them in one write first (the kernel applies such a write as a
 * whole); if that is refused, each on its own, so that one the kernel
 * will not enable (a threaded subtree, say) costs only itself. Returns the
 * mask enabled. */
static unsigned v2_delegate(const struct cgroup_host *host, unsigned want)
{
	const char *levels[2] = {host->root, NULL};
	char all[64] = "";
	unsigned got = 0;

	for (unsigned c = 0; c < CGROUP_CTRL_COUNT && !levels[1]; c++)
		if (host->base[c][0])
			levels[1] = host->base[c];
	if (!levels[1])
		return 0;
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++)
		if (want & (1u << c))
			snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s+%s",
				 all[0] ? " " : "", ctrl_names[c]);
	if (write_file(levels[0], "cgroup.subtree_control", all) == 0 &&
	    write_file(levels[1], "cgroup.subtree_control", all) == 0)
		return want;
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++) {
		char tok[32];
		int r = 0;

		if (!(want & (1u << c)))
			continue;
		snprintf(tok, sizeof(tok), "+%s", ctrl_names[c]);
		for (unsigned l = 0; l < 2 && r == 0; l++)
			r = write_file(levels[l], "cgroup.subtree_control", tok);
		if (r)
			log_warn("cgroup: cannot enable %s for %s: %s", ctrl_names[c], levels[1],
				 err_str(r));
		else
			got |= 1u << c;
	}
	return got;
}

static void remove_dirs(struct cgroup *cg, unsigned upto)
{
	for (unsigned i = 0; i < upto; i++)
		fs_rmdir(cg->fs, cg->dirs[i]);
}

int cgroup_create(const struct cgroup_host *host, const char *name, struct cgroup **out)
{
	struct cgroup *cg;
	unsigned i;
	int r;

	r = group_init(host, name, &cg);
	if (r)
		return r;
	for (i = 0; i < cg->ndirs; i++) {
		/* A concurrent cgroup_destroy may remove the shared parent
		 * between our two mkdirs: try once more. */
		for (int attempt = 0; attempt < 2; attempt++) {
			r = mkdir_parents(cg->fs, host->root, cg->parent[i]);
			if (r == 0 && host->mode == CGROUP_MODE_V2 && i == 0) {
				unsigned got = v2_delegate(host, cg->ctrls);
				for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++)
					if (!(got & (1u << c)))
						cg->ctrl_dir[c] = -1;
				cg->ctrls &= got;
				r = cg->ctrls ? 0 : -EOPNOTSUPP;
			}
			if (r == 0)
				r = fs_mkdir(cg->fs, cg->dirs[i]);
			if (r != -ENOENT)
				break;
		}
		if (r)
			goto fail_remove;
	}
	*out = cg;
	return 0;

fail_remove:
	remove_dirs(cg, i); /* dirs[i] itself was not made by us */
	free(cg);
	return r;
}

int cgroup_open(const struct cgroup_host *host, const char *name, struct cgroup **out)
{
	struct cgroup *cg;
	bool any = false;
	int r;

	r = group_init(host, name, &cg);
	if (r)
		return r;
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++) {
		int i = cg->ctrl_dir[c];
		if (i < 0)
			continue;
		if (exists(cg->dirs[i]))
			any = true;
		else {
			cg->ctrl_dir[c] = -1;
			cg->ctrls &= ~(1u << c);
		}
	}
	if (!any) {
		free(cg);
		return -ENOENT;
	}
	*out = cg;
	return 0;
}

const char *cgroup_name(const struct cgroup *cg)
{
	return cg->name;
}

unsigned cgroup_ctrls(const struct cgroup *cg)
{
	return cg->ctrls;
}

const char *cgroup_dir(const struct cgroup *cg, enum cgroup_ctrl c)
{
	if ((unsigned)c >= CGROUP_CTRL_COUNT || cg->ctrl_dir[c] < 0)
		return NULL;
	return cg->dirs[cg->ctrl_dir[c]];
}

/* --- limits --------------------------------------------------------------- */

int cgroup_set_limits(struct cgroup *cg, uint64_t mem_bytes, unsigned cpu_percent, unsigned pids)
{
	const char *mem_dir = cgroup_dir(cg, CGROUP_CTRL_MEMORY);
	const char *cpu_dir = cgroup_dir(cg, CGROUP_CTRL_CPU);
	const char *pids_dir = cgroup_dir(cg, CGROUP_CTRL_PIDS);
	bool v2 = cg->mode == CGROUP_MODE_V2;
	char val[64];
	int r;

	if ((mem_bytes && !mem_dir) || (cpu_percent && !cpu_dir) || (pids && !pids_dir))
		return -EOPNOTSUPP;
	if (mem_dir) {
		if (v2)
			mem_bytes ? snprintf(val, sizeof(val), "%" PRIu64, mem_bytes)
				  : snprintf(val, sizeof(val), "max");
		else
			snprintf(val, sizeof(val), "%" PRId64,
				 mem_bytes ? (int64_t)MIN(mem_bytes, (uint64_t)INT64_MAX) : -1);
		r = write_file(mem_dir, v2 ? "memory.max" : "memory.limit_in_bytes", val);
		if (r)
			return r;
	}
	if (cpu_dir) {
		uint64_t quota = (uint64_t)cpu_percent * CGROUP_CPU_PERIOD_US / 100;

		/* The kernel's smallest quota is 1 ms. */
		if (cpu_percent && quota < 1000)
			quota = 1000;
		if (v2) {
			if (cpu_percent)
				snprintf(val, sizeof(val), "%" PRIu64 " %u", quota,
					 CGROUP_CPU_PERIOD_US);
			else
				snprintf(val, sizeof(val), "max %u", CGROUP_CPU_PERIOD_US);
			r = write_file(cpu_dir, "cpu.max", val);
		} else {
			snprintf(val, sizeof(val), "%u", CGROUP_CPU_PERIOD_US);
			r = write_file(cpu_dir, "cpu.cfs_period_us", val);
			if (r == 0) {
				if (cpu_percent)
					snprintf(val, sizeof(val), "%" PRIu64, quota);
				else
					snprintf(val, sizeof(val), "-1");
				r = write_file(cpu_dir, "cpu.cfs_quota_us", val);
			}
		}
		if (r)
			return r;
	}
	if (pids_dir) {
		pids ? snprintf(val, sizeof(val), "%u", pids) : snprintf(val, sizeof(val), "max");
		r = write_file(pids_dir, "pids.max", val);
		if (r)
			return r;
	}
	return 0;
}

/* Parses "max" (-> 0) or a decimal (v1's "unlimited" is a huge number
 * near INT64_MAX, and -1 for cpu quota: both -> 0). */
static int parse_limit(const char *s, uint64_t *out)
{
	char tok[32];
	size_t l = strcspn(s, " \n");

	if (l == 0 || l >= sizeof(tok))
		return -EPROTO;
	memcpy(tok, s, l);
	tok[l] = '\0';
	if (strcmp(tok, "max") == 0 || strcmp(tok, "-1") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_u64(tok, UINT64_MAX, out))
		return -EPROTO;
	/* v1 memory: PAGE_COUNTER_MAX * page size means "no limit". */
	if (*out >= (UINT64_C(1) << 62))
		*out = 0;
	return 0;
}

static int read_limit(const char *dir, const char *file, uint64_t *out)
{
	char *s;
	int r = read_file(dir, file, &s);

	if (r)
		return r;
	r = parse_limit(s, out);
	free(s);
	return r;
}

int cgroup_get_limits(const struct cgroup *cg, uint64_t *mem_bytes, unsigned *cpu_percent,
		      unsigned *pids)
{
	const char *dir;
	bool v2 = cg->mode == CGROUP_MODE_V2;
	uint64_t v = 0, quota = 0, period = 0;
	int r;

	if (mem_bytes) {
		*mem_bytes = 0;
		if ((dir = cgroup_dir(cg, CGROUP_CTRL_MEMORY))) {
			r = read_limit(dir, v2 ? "memory.max" : "memory.limit_in_bytes", &v);
			if (r)
				return r;
			*mem_bytes = v;
		}
	}
	if (cpu_percent) {
		*cpu_percent = 0;
		if ((dir = cgroup_dir(cg, CGROUP_CTRL_CPU))) {
			if (v2) {
				char *s, *sp;
				r = read_file(dir, "cpu.max", &s);
				if (r)
					return r;
				sp = strchr(s, ' ');
				r = parse_limit(s, &quota);
				if (r == 0)
					r = sp ? parse_limit(sp + 1, &period) : -EPROTO;
				free(s);
			} else {
				r = read_limit(dir, "cpu.cfs_quota_us", &quota);
				if (r == 0)
					r = read_limit(dir, "cpu.cfs_period_us", &period);
			}
			if (r)
				return r;
			if (quota && !period)
				return -EPROTO;
			if (quota)
				*cpu_percent = (unsigned)MIN(quota * 100 / period, UINT32_MAX);
		}
	}
	if (pids) {
		*pids = 0;
		if ((dir = cgroup_dir(cg, CGROUP_CTRL_PIDS))) {
			r = read_limit(dir, "pids.max", &v);
			if (r)
				return r;
			*pids = (unsigned)MIN(v, UINT32_MAX);
		}
	}
	return 0;
}

/* --- processes ------------------------------------------------------------ */

int cgroup_attach(struct cgroup *cg, pid_t pid)
{
	char val[24];

	if (pid <= 0)
		return -EINVAL;
	snprintf(val, sizeof(val), "%d", (int)pid);
	for (unsigned i = 0; i < cg->ndirs; i++) {
		int r = write_file(cg->dirs[i], "cgroup.procs", val);
		if (r)
			return r;
	}
	return 0;
}

static int pid_add(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == pid)
			return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		pid_t *t = realloc(*v, nc * sizeof(*t));
		if (!t)
			return -ENOMEM;
		*v = t;
		*cap = nc;
	}
	(*v)[(*n)++] = pid;
	return 0;
}

int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n)
{
	pid_t *v = NULL;
	size_t cnt = 0, cap = 0;
	int r = 0;

	for (unsigned i = 0; i < cg->ndirs && r == 0; i++) {
		char *s, *line, *save = NULL;

		r = read_file(cg->dirs[i], "cgroup.procs", &s);
		if (r == -ENOENT && !exists(cg->dirs[i])) {
			r = 0; /* a directory already removed holds nobody */
			continue;
		}
		if (r)
			break;
		for (line = strtok_r(s, "\n", &save); line && r == 0;
		     line = strtok_r(NULL, "\n", &save)) {
			unsigned p;
			if (parse_uint(line, INT32_MAX, &p) || p == 0)
				r = -EPROTO;
			else
				r = pid_add(&v, &cnt, &cap, (pid_t)p);
		}
		free(s);
	}
	if (r) {
		free(v);
		return r;
	}
	*pids = v;
	*n = cnt;
	return 0;
}

/* True if `pid` is gone or a zombie (nothing left to kill). */
static bool pid_dead(pid_t pid)
{
	char path[64], buf[512], *rp;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int cgroup_kill_all(struct cgroup *cg, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;

	if (cg->mode == CGROUP_MODE_V2) {
		for (unsigned i = 0; i < cg->ndirs; i++) {
			char path[CGROUP_PATH_MAX + 16];
			snprintf(path, sizeof(path), "%s/cgroup.kill", cg->dirs[i]);
			if (exists(path))
				write_file(cg->dirs[i], "cgroup.kill", "1");
		}
	}
	for (;;) {
		pid_t *pids;
		size_t n, live = 0;
		int r = cgroup_pids(cg, &pids, &n);

		if (r)
			return r;
		for (size_t i = 0; i < n; i++) {
			if (pids[i] == getpid() || pid_dead(pids[i]))
				continue;
			if (kill(pids[i], SIGKILL) == 0 || errno != ESRCH)
				live++;
		}
		free(pids);
		if (!live)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(5);
	}
}

/* rmdir that waits out the kernel's short delay between the last process
 * exiting and the group becoming removable. */
static int rmdir_patient(const struct cgroup_fs_ops *fs, const char *dir, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int r;

	while ((r = fs_rmdir(fs, dir)) == -EBUSY && now_ms() < deadline)
		sleep_ms(5);
	return r == -ENOENT ? 0 : r;
}

int cgroup_destroy(struct cgroup *cg)
{
	int first = 0, r;

	if (!cg)
		return 0;
	r = cgroup_kill_all(cg, 1000);
	if (r)
		first = r;
	for (unsigned i = 0; i < cg->ndirs; i++) {
		r = rmdir_patient(cg->fs, cg->dirs[i], 1000);
		if (r && !first)
			first = r;
		/* The shared parent goes when its last domain does; another
		 * domain's group (EBUSY, ENOTEMPTY) keeps it. */
		if (r == 0)
			fs_rmdir(cg->fs, cg->parent[i]);
	}
	free(cg);
	return first;
}

void cgroup_free(struct cgroup *cg)
{
	free(cg);
}

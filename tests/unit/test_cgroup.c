/* test_cgroup.c — per-domain control groups.
 *
 * On the real host (v1 on our machines, v2 on most others; skipped without
 * root or without a writable hierarchy) a group is really created, limited,
 * given a process, emptied and removed. The v2 (and a v1) layout is also
 * run against a fake cgroupfs of plain directories in a temp dir, whose
 * mkdir/rmdir hooks do what the kernel would: create the interface files
 * for the controllers the parent passes down, refuse to remove a group
 * with live processes or children.
 */
#include "common/util.h"
#include "sys/cgroup.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- helpers ----------------------------------------------------------------- */

static void put(const char *dir, const char *file, const char *val)
{
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write_all(fd, val, strlen(val)))
			CHECK(0);
		close(fd);
	}
}

/* Reads a file into buf (first line, newline stripped); "" if absent. */
static const char *get(const char *dir, const char *file, char *buf, size_t size)
{
	char path[1024];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits for `pid` and returns the signal that killed it (0 if none). */
static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

/* --- the fake cgroupfs ---------------------------------------------------------- */

/* Creates the interface files the kernel would: the core files, and the
 * limit files of every controller the parent enables for its children
 * (v2), or of the tree the directory is in (v1: ROOT/<ctrl>/...). */
static int fake_mkdir(const char *path, void *data)
{
	const char *root = data;
	char parent[1024], sub[256], tok[32];
	const char *p;
	bool v2 = strstr(path, "/v1/") == NULL;

	if (mkdir(path, 0755))
		return -errno;
	put(path, "cgroup.procs", "");
	if (v2) {
		snprintf(parent, sizeof(parent), "%s", path);
		*strrchr(parent, '/') = '\0';
		get(parent, "cgroup.subtree_control", sub, sizeof(sub));
		/* "+memory +cpu +pids" as written, or "memory cpu" as the
		 * kernel shows it. */
		char ctrls[256] = "";
		for (p = sub; sscanf(p, "%31s", tok) == 1; p = strstr(p, tok) + strlen(tok)) {
			const char *name = tok[0] == '+' ? tok + 1 : tok;
			strcat(ctrls, ctrls[0] ? " " : "");
			strcat(ctrls, name);
			if (strcmp(name, "memory") == 0)
				put(path, "memory.max", "max\n");
			if (strcmp(name, "cpu") == 0)
				put(path, "cpu.max", "max 100000\n");
			if (strcmp(name, "pids") == 0)
				put(path, "pids.max", "max\n");
		}
		put(path, "cgroup.controllers", ctrls);
		put(path, "cgroup.subtree_control", "");
		put(path, "cgroup.kill", "");
	} else if (strstr(path, "/v1/memory/")) {
		put(path, "memory.limit_in_bytes", "9223372036854771712\n");
	} else if (strstr(path, "/v1/cpu/")) {
		put(path, "cpu.cfs_quota_us", "-1\n");
		put(path, "cpu.cfs_period_us", "100000\n");
	} else if (strstr(path, "/v1/pids/")) {
		put(path, "pids.max", "max\n");
	}
	(void)root;
	return 0;
}

static int fake_rmdir(const char *path, void *data)
{
	char procs[256];
	DIR *d;
	struct dirent *e;

	(void)data;
	if (!is_dir(path))
		return -ENOENT;
	/* Live processes keep a group (zombies do not). */
	get(path, "cgroup.procs", procs, sizeof(procs));
	if (procs[0] && kill(atoi(procs), 0) == 0) {
		char stat[64], buf[256];
		snprintf(stat, sizeof(stat), "/proc/%d", atoi(procs));
		get(stat, "stat", buf, sizeof(buf));
		if (!strstr(buf, ") Z"))
			return -EBUSY;
	}
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char sub[1024];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (is_dir(sub)) {
			closedir(d);
			return -EBUSY; /* the kernel says EBUSY for child groups */
		}
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		char sub[1024];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		unlink(sub);
	}
	closedir(d);
	return rmdir(path) ? -errno : 0;
}

/* Removes a fake tree (plain rm -r of what the tests made). */
static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		char sub[1024];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

static char fake_root[64];
static struct cgroup_fs_ops fake_ops = {fake_mkdir, fake_rmdir, fake_root};

/* A v2 root offering `controllers`. */
static void make_v2_root(const char *controllers)
{
	snprintf(fake_root, sizeof(fake_root), "/tmp/airlock-cg-XXXXXX");
	if (!mkdtemp(fake_root))
		CHECK(0);
	put(fake_root, "cgroup.controllers", controllers);
	put(fake_root, "cgroup.subtree_control", "");
	put(fake_root, "cgroup.procs", "1\n");
}

/* --- v2 on the fake tree -------------------------------------------------------- */

static void test_v2_fake(void)
{
	struct cgroup_host h;
	struct cgroup *cg = NULL, *cg2 = NULL;
	char base[128], dir[160], buf[256];
	uint64_t mem;
	unsigned cpu, pids;
	pid_t *list = NULL, child;
	size_t n = 0;

	make_v2_root("cpuset cpu io memory hugetlb pids rdma misc\n");
	CHECK_EQ_INT(cgroup_host_detect(fake_root, &h), 0);
	CHECK_EQ_INT(h.mode, CGROUP_MODE_V2);
	CHECK_EQ_INT(h.usable, 7);
	CHECK_EQ_STR(h.controllers, "cpuset cpu io memory hugetlb pids rdma misc");
	snprintf(base, sizeof(base), "%s/airlock", fake_root);
	CHECK_EQ_STR(h.base[CGROUP_CTRL_MEMORY], base);
	CHECK_EQ_STR(h.base[CGROUP_CTRL_PIDS], base);
	CHECK(!is_dir(base)); /* detection writes nothing */
	h.fs = &fake_ops;

	CHECK_EQ_INT(cgroup_create(&h, "dom1", &cg), 0);
	if (!cg)
		goto out;
	snprintf(dir, sizeof(dir), "%s/dom1", base);
	CHECK(is_dir(dir));
	CHECK_EQ_STR(cgroup_dir(cg, CGROUP_CTRL_CPU), dir);
	CHECK_EQ_INT(cgroup_ctrls(cg), 7);
	/* The controllers were passed down from the root through airlock/. */
	CHECK_EQ_STR(get(fake_root, "cgroup.subtree_control", buf, sizeof(buf)),
		     "+memory +cpu +pids");
	CHECK_EQ_STR(get(base, "cgroup.subtree_control", buf, sizeof(buf)), "+memory +cpu +pids");
	CHECK_EQ_STR(get(dir, "cgroup.controllers", buf, sizeof(buf)), "memory cpu pids");

	CHECK_EQ_INT(cgroup_set_limits(cg, 256ull << 20, 50, 64), 0);
	CHECK_EQ_STR(get(dir, "memory.max", buf, sizeof(buf)), "268435456");
	CHECK_EQ_STR(get(dir, "cpu.max", buf, sizeof(buf)), "50000 100000");
	CHECK_EQ_STR(get(dir, "pids.max", buf, sizeof(buf)), "64");
	CHECK_EQ_INT(cgroup_get_limits(cg, &mem, &cpu, &pids), 0);
	CHECK_EQ_INT(mem, 256ull << 20);
	CHECK_EQ_INT(cpu, 50);
	CHECK_EQ_INT(pids, 64);
	CHECK_EQ_INT(cgroup_set_limits(cg, 0, 250, 0), 0);
	CHECK_EQ_STR(get(dir, "memory.max", buf, sizeof(buf)), "max");
	CHECK_EQ_STR(get(dir, "cpu.max", buf, sizeof(buf)), "250000 100000");
	CHECK_EQ_INT(cgroup_get_limits(cg, &mem, &cpu, &pids), 0);
	CHECK_EQ_INT(mem, 0);
	CHECK_EQ_INT(cpu, 250);
	CHECK_EQ_INT(pids, 0);
	CHECK_EQ_INT(cgroup_set_limits(cg, 0, 0, 0), 0);
	CHECK_EQ_STR(get(dir, "cpu.max", buf, sizeof(buf)), "max 100000");

	/* A second group of the same name is refused; open finds it. */
	CHECK_EQ_INT(cgroup_create(&h, "dom1", &cg2), -EEXIST);
	CHECK_EQ_INT(cgroup_open(&h, "dom1", &cg2), 0);
	cgroup_free(cg2);
	CHECK_EQ_INT(cgroup_open(&h, "nosuch", &cg2), -ENOENT);

	child = spawn_sleeper();
	CHECK_EQ_INT(cgroup_attach(cg, child), 0);
	snprintf(buf, sizeof(buf), "%d", (int)child);
	CHECK_EQ_STR(get(dir, "cgroup.procs", buf + 32, sizeof(buf) - 32), buf);
	CHECK_EQ_INT(cgroup_pids(cg, &list, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK(list && list[0] == child);
	free(list);
	CHECK_EQ_INT(cgroup_kill_all(cg, 2000), 0);
	CHECK_EQ_STR(get(dir, "cgroup.kill", buf, sizeof(buf)), "1");
	CHECK_EQ_INT(reap(child), SIGKILL);

	CHECK_EQ_INT(cgroup_destroy(cg), 0);
	CHECK(!is_dir(dir));
	CHECK(!is_dir(base)); /* the last domain takes the parent along */
out:
	rm_tree(fake_root);
}

static void test_v2_fake_partial(void)
{
	struct cgroup_host h;
	struct cgroup *a = NULL, *b = NULL;
	char base[128];
	unsigned cpu = 7;

	/* A host without the cpu controller: memory and pids still work. */
	make_v2_root("memory pids\n");
	CHECK_EQ_INT(cgroup_host_detect(fake_root, &h), 0);
	CHECK_EQ_INT(h.usable, (1u << CGROUP_CTRL_MEMORY) | (1u << CGROUP_CTRL_PIDS));
	CHECK_EQ_STR(h.base[CGROUP_CTRL_CPU], "");
	h.fs = &fake_ops;
	CHECK_EQ_INT(cgroup_create(&h, "a", &a), 0);
	CHECK_EQ_INT(cgroup_create(&h, "b", &b), 0);
	if (!a || !b)
		goto out;
	CHECK(cgroup_dir(a, CGROUP_CTRL_CPU) == NULL);
	CHECK_EQ_INT(cgroup_set_limits(a, 1 << 20, 10, 0), -EOPNOTSUPP);
	CHECK_EQ_INT(cgroup_set_limits(a, 1 << 20, 0, 5), 0);
	CHECK_EQ_INT(cgroup_get_limits(a, NULL, &cpu, NULL), 0);
	CHECK_EQ_INT(cpu, 0);
	/* The parent stays while another domain uses it. */
	snprintf(base, sizeof(base), "%s/airlock", fake_root);
	CHECK_EQ_INT(cgroup_destroy(a), 0);
	a = NULL;
	CHECK(is_dir(base));
	CHECK_EQ_INT(cgroup_destroy(b), 0);
	b = NULL;
	CHECK(!is_dir(base));
out:
	cgroup_free(a);
	cgroup_free(b);
	rm_tree(fake_root);
}

static void test_v1_fake(void)
{
	static const char *const trees[] = {"memory", "cpu", "pids"};
	struct cgroup_host h;
	struct cgroup *cg = NULL;
	char root[128], dir[192], buf[64];
	uint64_t mem;
	unsigned cpu, pids;

	snprintf(fake_root, sizeof(fake_root), "/tmp/airlock-cg-XXXXXX");
	if (!mkdtemp(fake_root)) {
		CHECK(0);
		return;
	}
	snprintf(root, sizeof(root), "%s/v1", fake_root);
	mkdir(root, 0755);
	for (size_t i = 0; i < ARRAY_SIZE(trees); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", root, trees[i]);
		mkdir(dir, 0755);
		put(dir, "cgroup.procs", "1\n");
	}
	snprintf(dir, sizeof(dir), "%s/memory", root);
	put(dir, "memory.limit_in_bytes", "9223372036854771712\n");
	snprintf(dir, sizeof(dir), "%s/cpu", root);
	put(dir, "cpu.cfs_quota_us", "-1\n");
	snprintf(dir, sizeof(dir), "%s/unified", root);
	mkdir(dir, 0755);
	put(dir, "cgroup.controllers", "\n");

	CHECK_EQ_INT(cgroup_host_detect(root, &h), 0);
	CHECK_EQ_INT(h.mode, CGROUP_MODE_V1);
	CHECK_EQ_INT(h.usable, 7);
	CHECK_EQ_STR(h.controllers, "cpu memory pids");
	CHECK(strstr(h.note, "has no controllers") != NULL);
	h.fs = &fake_ops;
	CHECK_EQ_INT(cgroup_create(&h, "dom-1.x_y", &cg), 0);
	if (!cg)
		goto out;
	snprintf(dir, sizeof(dir), "%s/memory/airlock/dom-1.x_y", root);
	CHECK_EQ_STR(cgroup_dir(cg, CGROUP_CTRL_MEMORY), dir);
	CHECK(is_dir(dir));
	CHECK_EQ_INT(cgroup_get_limits(cg, &mem, &cpu, &pids), 0);
	CHECK_EQ_INT(mem, 0); /* v1's "unlimited" */
	CHECK_EQ_INT(cpu, 0);
	CHECK_EQ_INT(pids, 0);
	CHECK_EQ_INT(cgroup_set_limits(cg, 64 << 20, 5, 10), 0);
	CHECK_EQ_STR(get(dir, "memory.limit_in_bytes", buf, sizeof(buf)), "67108864");
	snprintf(dir, sizeof(dir), "%s/cpu/airlock/dom-1.x_y", root);
	CHECK_EQ_STR(get(dir, "cpu.cfs_quota_us", buf, sizeof(buf)), "5000");
	CHECK_EQ_STR(get(dir, "cpu.cfs_period_us", buf, sizeof(buf)), "100000");
	CHECK_EQ_INT(cgroup_set_limits(cg, 0, 0, 0), 0);
	CHECK_EQ_STR(get(dir, "cpu.cfs_quota_us", buf, sizeof(buf)), "-1");
	CHECK_EQ_INT(cgroup_destroy(cg), 0);
	CHECK(!is_dir(dir));
out:
	rm_tree(fake_root);
}

static void test_names_and_none(void)
{
	static const char *const bad[] = {
		"",    ".",
		"..",  ".hidden",
		"a/b", "a b",
		"x\n", "12345678901234567890123456789012345678901234567890123456789012345"};
	struct cgroup_host h;
	struct cgroup *cg = NULL;
	char root[] = "/tmp/airlock-cg-XXXXXX";

	make_v2_root("memory\n");
	CHECK_EQ_INT(cgroup_host_detect(fake_root, &h), 0);
	h.fs = &fake_ops;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ_INT(cgroup_create(&h, bad[i], &cg), -EINVAL);
	rm_tree(fake_root);

	/* No hierarchy at all. */
	if (!mkdtemp(root)) {
		CHECK(0);
		return;
	}
	CHECK_EQ_INT(cgroup_host_detect(root, &h), 0);
	CHECK_EQ_INT(h.mode, CGROUP_MODE_NONE);
	CHECK(h.note[0] != '\0');
	CHECK_EQ_INT(cgroup_create(&h, "x", &cg), -EOPNOTSUPP);
	rmdir(root);
}

/* --- the real host ---------------------------------------------------------------- */

/* True if /proc/PID/cgroup puts `pid` in a group ending in "/name". */
static bool in_group(pid_t pid, const char *name)
{
	char path[64], line[512], suffix[96];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(suffix, sizeof(suffix), "/airlock/%s\n", name);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strlen(line) >= strlen(suffix) &&
		    strcmp(line + strlen(line) - strlen(suffix), suffix) == 0)
			found = true;
	fclose(f);
	return found;
}

static void test_real_host(void)
{
	struct cgroup_host h;
	struct cgroup *cg = NULL;
	char name[32], dirs[CGROUP_CTRL_COUNT][CGROUP_PATH_MAX];
	uint64_t mem;
	unsigned cpu, pids;
	pid_t child, child2, *list = NULL;
	size_t n = 0;

	CHECK_EQ_INT(cgroup_host_detect(NULL, &h), 0);
	printf("# host: cgroup %s, usable 0x%x, offers \"%s\"; %s\n", cgroup_mode_name(h.mode),
	       h.usable, h.controllers, h.note);
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++)
		if (h.base[c][0])
			printf("# %s groups under %s\n", cgroup_ctrl_name(c), h.base[c]);
	snprintf(name, sizeof(name), "unit-test-%d", (int)getpid());
	CHECK_EQ_INT(cgroup_create(&h, name, &cg), 0);
	if (!cg)
		return;
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++) {
		const char *d = cgroup_dir(cg, c);
		snprintf(dirs[c], sizeof(dirs[c]), "%s", d ? d : "");
		if (d)
			CHECK(is_dir(d));
	}
	CHECK_EQ_INT(cgroup_set_limits(cg, 256ull << 20, 50, 64), 0);
	CHECK_EQ_INT(cgroup_get_limits(cg, &mem, &cpu, &pids), 0);
	CHECK_EQ_INT(mem, 256ull << 20);
	CHECK_EQ_INT(cpu, 50);
	CHECK_EQ_INT(pids, 64);

	child = spawn_sleeper();
	child2 = spawn_sleeper();
	CHECK_EQ_INT(cgroup_attach(cg, child), 0);
	CHECK_EQ_INT(cgroup_attach(cg, child2), 0);
	CHECK(in_group(child, name));
	CHECK_EQ_INT(cgroup_pids(cg, &list, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK(n == 2 &&
	      ((list[0] == child && list[1] == child2) || (list[0] == child2 && list[1] == child)));
	free(list);
	CHECK_EQ_INT(cgroup_attach(cg, 0), -EINVAL);

	/* One child is reaped at once, the other stays a zombie for a while:
	 * neither blocks kill_all or the removal. */
	CHECK_EQ_INT(cgroup_kill_all(cg, 2000), 0);
	CHECK_EQ_INT(reap(child), SIGKILL);
	CHECK_EQ_INT(cgroup_destroy(cg), 0);
	CHECK_EQ_INT(reap(child2), SIGKILL);
	for (unsigned c = 0; c < CGROUP_CTRL_COUNT; c++)
		if (dirs[c][0])
			CHECK(!is_dir(dirs[c]));
}

int main(void)
{
	struct cgroup_host h;

	RUN(test_v2_fake);
	RUN(test_v2_fake_partial);
	RUN(test_v1_fake);
	RUN(test_names_and_none);
	cgroup_host_detect(NULL, &h);
	if (geteuid() != 0 || h.mode == CGROUP_MODE_NONE || !h.usable) {
		tap_n++;
		printf("ok %d - test_real_host # SKIP needs root and a writable cgroup tree\n",
		       tap_n);
	} else {
		RUN(test_real_host);
	}
	return tap_done();
}

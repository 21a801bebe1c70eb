/* test_stubsnap — the stub-domain template cache (supervisor/stubsnap.c)
 * without QEMU: keys, the key file check, the remembered failure and its
 * hour, pruning to the newest, the cache directory's owner and mode, and
 * the wake line. The templates' saving and loading run in
 * tests/blackbox/stubdom_template.sh. */
#include "supervisor/stubsnap.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char dir[64], kfile[128];

static struct stubsnap_key key(uint64_t mib)
{
	return (struct stubsnap_key){.qemu = "sh",
				     .kernel = kfile,
				     .ramdisk = kfile,
				     .append = "console=ttyS0 airlock.template",
				     .accel = "tcg",
				     .memory_mib = mib};
}

/* Publishes a template for memory size `mib` (its content: "state"),
 * dated `age` seconds ago. Returns its path in out. */
static int publish(uint64_t mib, time_t age, char *out, size_t size)
{
	char text[4096], tmp[700];
	struct stubsnap_key k = key(mib);
	int r = stubsnap_locate(&k, out, size, text, sizeof(text));

	if (r)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "state", 5) != 5)
		return -EIO;
	struct timeval tv[2] = {{.tv_sec = time(NULL) - age}, {.tv_sec = time(NULL) - age}};
	futimes(fd, tv);
	r = stubsnap_publish(fd, tmp, out, text);
	close(fd);
	return r;
}

static void test_locate(void)
{
	char p1[600], p2[600], t1[4096], t2[4096];
	struct stubsnap_key k1 = key(32), k2 = key(48), bad = key(32);
	struct stat st;

	CHECK_EQ_INT(stubsnap_locate(&k1, p1, sizeof(p1), t1, sizeof(t1)), 0);
	CHECK(strncmp(p1, dir, strlen(dir)) == 0 && strstr(p1, "/stubdom/template-"));
	CHECK(strstr(t1, "airlock-stubsnap v1\n") == t1);
	CHECK(strstr(t1, "memory=32\n") && strstr(t1, "accel=tcg\n"));
	/* QEMU by a bare name: the file exec would run, found on PATH. */
	CHECK(strstr(t1, "qemu=/") != NULL);
	CHECK_EQ_INT(stat(p1, &st), -1);
	snprintf(p2, sizeof(p2), "%s/stubdom", dir);
	CHECK_EQ_INT(stat(p2, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0700);
	/* Another stub RAM size is another key and another file. */
	CHECK_EQ_INT(stubsnap_locate(&k2, p2, sizeof(p2), t2, sizeof(t2)), 0);
	CHECK(strcmp(p1, p2) != 0 && strcmp(t1, t2) != 0);
	/* A file of the key that is not there. */
	bad.kernel = "/nonexistent/vmlinux";
	CHECK_EQ_INT(stubsnap_locate(&bad, p2, sizeof(p2), t2, sizeof(t2)), -ENOENT);
	bad = key(32);
	bad.qemu = "no-such-qemu-binary";
	CHECK_EQ_INT(stubsnap_locate(&bad, p2, sizeof(p2), t2, sizeof(t2)), -ENOENT);
}

static void test_open_and_key(void)
{
	char p[600], t[4096], kpath[620];
	struct stubsnap_key k = key(64);

	CHECK_EQ_INT(stubsnap_locate(&k, p, sizeof(p), t, sizeof(t)), 0);
	CHECK_EQ_INT(stubsnap_open(p, t), -ENOENT);
	CHECK_EQ_INT(publish(64, 0, p, sizeof(p)), 0);
	int fd = stubsnap_open(p, t);
	CHECK(fd >= 0);
	char buf[8] = "";
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "state", 5) == 0);
	close(fd);
	/* The key file must say exactly this key. */
	CHECK_EQ_INT(stubsnap_open(p, "airlock-stubsnap v1\nsomething else\n"), -ENOENT);
	snprintf(kpath, sizeof(kpath), "%s.key", p);
	fd = open(kpath, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	CHECK_EQ_INT(stubsnap_open(p, t), -ENOENT);
	/* The key file alone, without the template: nothing to open. */
	CHECK_EQ_INT(publish(64, 0, p, sizeof(p)), 0);
	unlink(p);
	CHECK_EQ_INT(stubsnap_open(p, t), -ENOENT);
}

static void test_failed(void)
{
	char p[600], t[4096], fpath[620];
	struct stubsnap_key k = key(96);

	CHECK_EQ_INT(publish(96, 0, p, sizeof(p)), 0);
	CHECK_EQ_INT(stubsnap_locate(&k, p, sizeof(p), t, sizeof(t)), 0);
	int fd = stubsnap_open(p, t);
	CHECK(fd >= 0);
	close(fd);
	stubsnap_mark_failed(p, t);
	CHECK_EQ_INT(stubsnap_open(p, t), -ENOEXEC);
	/* Another key's failure is not this one's. */
	stubsnap_mark_failed(p, "airlock-stubsnap v1\nanother key\n");
	fd = stubsnap_open(p, t);
	CHECK(fd >= 0);
	close(fd);
	/* An hour later it is tried again. */
	stubsnap_mark_failed(p, t);
	snprintf(fpath, sizeof(fpath), "%s.failed", p);
	struct timeval tv[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
	CHECK_EQ_INT(utimes(fpath, tv), 0);
	fd = stubsnap_open(p, t);
	CHECK(fd >= 0);
	close(fd);
}

static void test_prune(void)
{
	char p[600], newest[600], oldest[600], sub[80];
	int n = 0;

	/* 12 templates of other sizes, oldest first; with the earlier tests'
	 * there are more than 8: only the 8 newest stay. */
	for (int i = 0; i < 12; i++) {
		CHECK_EQ_INT(publish(1000 + (uint64_t)i, 1000 - 10 * i, p, sizeof(p)), 0);
		if (i == 0)
			snprintf(oldest, sizeof(oldest), "%s", p);
		snprintf(newest, sizeof(newest), "%s", p);
	}
	snprintf(sub, sizeof(sub), "%s/stubdom", dir);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "ls %s/template-*.state | wc -l", sub);
	FILE *f = popen(cmd, "r");
	CHECK(f && fscanf(f, "%d", &n) == 1);
	if (f)
		pclose(f);
	CHECK_EQ_INT(n, 8);
	CHECK(access(newest, F_OK) == 0);
	CHECK(access(oldest, F_OK) != 0);
	char k[620];
	snprintf(k, sizeof(k), "%s.key", oldest);
	CHECK(access(k, F_OK) != 0);
}

static void test_cache_dir(void)
{
	char p[600], t[4096], sub[80];
	struct stubsnap_key k = key(32);
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/stubdom", dir);
	CHECK_EQ_INT(chmod(sub, 0755), 0);
	CHECK_EQ_INT(stubsnap_locate(&k, p, sizeof(p), t, sizeof(t)), 0);
	CHECK_EQ_INT(stat(sub, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0700);
	if (geteuid() == 0) {
		/* Someone else's directory is refused, never used. */
		CHECK_EQ_INT(chown(sub, 1, 1), 0);
		CHECK_EQ_INT(stubsnap_locate(&k, p, sizeof(p), t, sizeof(t)), -EPERM);
		CHECK_EQ_INT(chown(sub, 0, 0), 0);
	}
}

static void test_wake(void)
{
	int sv[2];
	char a[512] = "", b[512] = "";

	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ_INT(stubsnap_wake(sv[0], "airlock.target=3 airlock.uuid=u airlock.shell"), 0);
	CHECK(read(sv[1], a, sizeof(a) - 1) > 0);
	CHECK_EQ_INT(stubsnap_wake(sv[0], "airlock.target=3 airlock.uuid=u airlock.shell"), 0);
	CHECK(read(sv[1], b, sizeof(b) - 1) > 0);
	const char *pre = "airlock.target=3 airlock.uuid=u airlock.shell airlock.seed=";
	CHECK(strncmp(a, pre, strlen(pre)) == 0);
	CHECK_EQ_INT(strlen(a), strlen(pre) + 64 + 1);
	CHECK(a[strlen(a) - 1] == '\n');
	CHECK_EQ_INT(strspn(a + strlen(pre), "0123456789abcdef"), 64);
	/* A fresh seed each time. */
	CHECK(strcmp(a, b) != 0);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_stubsnap.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	setenv("AIRLOCK_CACHE_DIR", dir, 1);
	snprintf(kfile, sizeof(kfile), "%s/vmlinux", dir);
	int fd = open(kfile, O_WRONLY | O_CREAT, 0644);
	close(fd);
	RUN(test_locate);
	RUN(test_open_and_key);
	RUN(test_failed);
	RUN(test_prune);
	RUN(test_cache_dir);
	RUN(test_wake);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}

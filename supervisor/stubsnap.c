/* stubsnap.c — see stubsnap.h. */
#include "supervisor/stubsnap.h"
#include "common/log.h"
#include "common/util.h"
#include "toolstack/paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_VERSION    "airlock-stubsnap v1"
#define WAITING_LINE   "template: waiting to be saved"
#define QMP_TIMEOUT_MS 10000
#define SEED_BYTES     32
#define STUBSNAP_KEEP  8
#define FAILED_TTL_S   3600

bool stubsnap_enabled(void)
{
	const char *e = getenv("AIRLOCK_STUBDOM_SNAPSHOT");

	return !(e && strcmp(e, "0") == 0);
}

/* "path:dev:ino:size:mtime" for the key text. A bare name (QEMU's, say)
 * is the file exec would run (paths_which). */
static int file_id(const char *path, char *out, size_t size)
{
	char found[512];
	struct stat st;

	if (!strchr(path, '/')) {
		if (!paths_which(path, found, sizeof(found)))
			return -ENOENT;
		path = found;
	}
	if (stat(path, &st) < 0)
		return -errno;
	snprintf(out, size, "%s:%llu:%llu:%lld:%lld.%09ld", path, (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
	return 0;
}

/* FNV-1a, 64 bits: names the file; the key file holds the whole text. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

int stubsnap_locate(const struct stubsnap_key *k, char *path, size_t path_size, char *text,
		    size_t text_size)
{
	char q[600], kr[600], rd[600], dir[512];
	const char *base = getenv("AIRLOCK_CACHE_DIR");
	int r;

	if ((r = file_id(k->qemu, q, sizeof(q))) || (r = file_id(k->kernel, kr, sizeof(kr))) ||
	    (r = file_id(k->ramdisk, rd, sizeof(rd))))
		return r;
	if ((size_t)snprintf(
		    text, text_size,
		    "%s\nqemu=%s\nkernel=%s\nramdisk=%s\nappend=%s\naccel=%s\nmemory=%llu\n",
		    KEY_VERSION, q, kr, rd, k->append, k->accel,
		    (unsigned long long)k->memory_mib) >= text_size)
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s/stubdom", base && *base ? base : "/var/cache/airlock");
	r = paths_mkdirs(dir, 0700);
	if (r)
		return r;
	/* Ours alone: whoever could write here would run code in every
	 * stub domain. */
	struct stat st;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		log_err("stub template cache %s: not a directory of uid %u", dir,
			(unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) < 0)
		return -errno;
	if ((size_t)snprintf(path, path_size, "%s/template-%016llx.state", dir,
			     (unsigned long long)fnv1a(text)) >= path_size)
		return -ENAMETOOLONG;
	return 0;
}

/* 0 if the file at path.suffix holds exactly `text`, else -errno
 * (-ENOENT for other text). */
static int holds(const char *path, const char *suffix, const char *text)
{
	char kpath[600], have[4096];
	ssize_t n;
	int fd;

	snprintf(kpath, sizeof(kpath), "%s%s", path, suffix);
	fd = open(kpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read_full(fd, have, sizeof(have) - 1);
	close(fd);
	if (n < 0)
		return (int)n;
	have[n] = '\0';
	return strcmp(have, text) == 0 ? 0 : -ENOENT;
}

/* True if path.failed holds `text` and is younger than FAILED_TTL_S: a
 * failure is retried after that (a template boot that timed out on a host
 * that was briefly overloaded is not given up for good). */
static bool failed_recently(const char *path, const char *text)
{
	char fpath[600];
	struct stat st;

	snprintf(fpath, sizeof(fpath), "%s.failed", path);
	return stat(fpath, &st) == 0 && time(NULL) - st.st_mtime < FAILED_TTL_S &&
	       holds(path, ".failed", text) == 0;
}

int stubsnap_open(const char *path, const char *text)
{
	int r;

	if (failed_recently(path, text))
		return -ENOEXEC;
	r = holds(path, ".key", text);
	if (r)
		return r;
	r = open(path, O_RDONLY | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

void stubsnap_mark_failed(const char *path, const char *text)
{
	char fpath[600];
	int fd;

	snprintf(fpath, sizeof(fpath), "%s.failed", path);
	fd = open(fpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		(void)write_all(fd, text, strlen(text));
		close(fd);
	}
}

int stubsnap_lock(const char *path)
{
	char lpath[600];
	int fd;

	snprintf(lpath, sizeof(lpath), "%s.lock", path);
	fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

/* Reads what the console says until WAITING_LINE shows (0), the deadline
 * passes (-ETIMEDOUT) or the console closes (-EPIPE). Keeps the last bytes
 * in tail for the log. */
static int wait_waiting(int fd, uint64_t deadline, char *tail, size_t tail_size)
{
	if (tail_size <= 1024)
		return -EINVAL;
	size_t used = 0;

	tail[0] = '\0';
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		char buf[1024];
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -EPIPE;
		/* Keep the newest tail_size - 1 bytes (tail_size > sizeof(buf)). */
		if (used + (size_t)k > tail_size - 1) {
			size_t drop = used + (size_t)k - (tail_size - 1);
			memmove(tail, tail + drop, used - drop);
			used -= drop;
		}
		memcpy(tail + used, buf, (size_t)k);
		used += (size_t)k;
		tail[used] = '\0';
		if (strstr(tail, WAITING_LINE))
			return 0;
	}
}

/* Polls query-migrate until its status is completed (0) or failed/
 * cancelled (-EIO), or the deadline passes (-ETIMEDOUT). */
static int wait_migration(struct qmp *qmp, uint64_t deadline)
{
	for (;;) {
		struct json_object *ret = NULL, *st = NULL;
		int r = qmp_execute(qmp, "query-migrate", NULL, &ret, QMP_TIMEOUT_MS);
		if (r) {
			log_err("stub template: query-migrate: %s %s", err_str(r),
				qmp_error_desc(qmp));
			return r;
		}
		const char *s = json_object_object_get_ex(ret, "status", &st)
					? json_object_get_string(st)
					: "";
		int done = strcmp(s, "completed") == 0				     ? 0
			   : strcmp(s, "failed") == 0 || strcmp(s, "cancelled") == 0 ? -EIO
										     : 1;
		if (done < 0)
			log_err("stub template: migration %s", s);
		json_object_put(ret);
		if (done <= 0)
			return done;
		if (now_ms() >= deadline) {
			log_err("stub template: migration not completed in time (status %s)", s);
			return -ETIMEDOUT;
		}
		usleep(5000);
	}
}

static int qmp_run(struct qmp *qmp, const char *cmd, const char *args)
{
	int r = qmp_execute_json(qmp, cmd, args, NULL, QMP_TIMEOUT_MS);

	if (r)
		log_err("stub template: %s %s: %s %s", cmd, args ? args : "", err_str(r),
			qmp_error_desc(qmp));
	return r;
}

static const char *caps =
	"{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}";

int stubsnap_save(struct qmp *qmp, int console_fd, int out_fd, int timeout_ms)
{
	char tail[2048], uri[64];
	int r = wait_waiting(console_fd, now_ms() + (uint64_t)timeout_ms, tail, sizeof(tail));

	if (r) {
		log_err("stub template: its init did not reach the template point: %s; its "
			"console's last output:\n%s",
			err_str(r), tail);
		return r;
	}
	/* Outgoing migration takes an fd by name only. */
	r = qmp_pass_fd(qmp, "template", out_fd, QMP_TIMEOUT_MS);
	if (r) {
		log_err("stub template: getfd: %s %s", err_str(r), qmp_error_desc(qmp));
		return r;
	}
	snprintf(uri, sizeof(uri), "{\"uri\":\"fd:template\"}");
	if ((r = qmp_run(qmp, "migrate-set-capabilities", caps)) ||
	    (r = qmp_run(qmp, "stop", NULL)) || (r = qmp_run(qmp, "migrate", uri)))
		return r;
	r = wait_migration(qmp, now_ms() + (uint64_t)timeout_ms);
	qmp_execute(qmp, "quit", NULL, NULL, QMP_TIMEOUT_MS);
	return r;
}

/* Deletes all but the STUBSNAP_KEEP newest templates in path's directory
 * (each ~20 MiB; a rebuilt image or QEMU leaves its old keys unused). */
static void prune(const char *path)
{
	char dir[600], victim[900];
	const char *slash = strrchr(path, '/');
	struct {
		char name[256];
		struct timespec mtime;
	} t[STUBSNAP_KEEP + 1];
	unsigned int n = 0;
	struct dirent *e;
	DIR *d;

	if (!slash)
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		struct stat st;
		if (strncmp(e->d_name, "template-", 9) || l < 6 ||
		    strcmp(e->d_name + l - 6, ".state") ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* Keep the newest STUBSNAP_KEEP in t (sorted, newest first); the
		 * one pushed out goes. */
		unsigned int i = n < STUBSNAP_KEEP + 1 ? n++ : STUBSNAP_KEEP;
		snprintf(t[i].name, sizeof(t[i].name), "%s", e->d_name);
		t[i].mtime = st.st_mtim;
		for (; i > 0 && (t[i].mtime.tv_sec > t[i - 1].mtime.tv_sec ||
				 (t[i].mtime.tv_sec == t[i - 1].mtime.tv_sec &&
				  t[i].mtime.tv_nsec > t[i - 1].mtime.tv_nsec));
		     i--) {
			__typeof__(t[0]) x = t[i];
			t[i] = t[i - 1];
			t[i - 1] = x;
		}
		if (n == STUBSNAP_KEEP + 1) {
			static const char *const sfx[] = {"", ".key", ".failed", ".lock"};
			for (unsigned int k = 0; k < ARRAY_SIZE(sfx); k++) {
				snprintf(victim, sizeof(victim), "%s/%s%s", dir,
					 t[STUBSNAP_KEEP].name, sfx[k]);
				unlink(victim);
			}
			log_info("stub template: deleted %s/%s (only the %d newest are kept)", dir,
				 t[STUBSNAP_KEEP].name, STUBSNAP_KEEP);
			n = STUBSNAP_KEEP;
		}
	}
	closedir(d);
}

int stubsnap_publish(int tmp_fd, const char *tmp_path, const char *path, const char *text)
{
	char kpath[600], ktmp[620];
	int fd, r = 0;

	if (fsync(tmp_fd) < 0)
		return -errno;
	snprintf(kpath, sizeof(kpath), "%s.key", path);
	snprintf(ktmp, sizeof(ktmp), "%s.tmp", kpath);
	fd = open(ktmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, strlen(text));
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	/* The template first, then its key: a crash in between leaves a
	 * template without a (matching) key, which is never used. */
	if (!r && rename(tmp_path, path) < 0)
		r = -errno;
	if (!r && rename(ktmp, kpath) < 0)
		r = -errno;
	if (r)
		unlink(ktmp);
	else
		prune(path);
	return r;
}

int stubsnap_load_begin(struct qmp *qmp, int in_fd)
{
	char uri[64];
	int r;

	snprintf(uri, sizeof(uri), "{\"uri\":\"fd:%d\"}", in_fd);
	if ((r = qmp_run(qmp, "migrate-set-capabilities", caps)))
		return r;
	return qmp_run(qmp, "migrate-incoming", uri);
}

int stubsnap_load_finish(struct qmp *qmp, const char *const *devs, unsigned int n, int timeout_ms)
{
	int r = wait_migration(qmp, now_ms() + (uint64_t)timeout_ms);

	for (unsigned int i = 0; i < n && !r; i++)
		r = qmp_run(qmp, "device_add", devs[i]);
	if (!r)
		r = qmp_run(qmp, "cont", NULL);
	return r;
}

int stubsnap_wake(int console_fd, const char *words)
{
	uint8_t seed[SEED_BYTES];
	char line[1024];
	int n;

	random_bytes(seed, sizeof(seed));
	n = snprintf(line, sizeof(line), "%s airlock.seed=", words);
	if (n < 0 || (size_t)n + 2 * SEED_BYTES + 2 > sizeof(line))
		return -ENAMETOOLONG;
	for (unsigned int i = 0; i < SEED_BYTES; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", seed[i]);
	line[n++] = '\n';
	int r = write_all(console_fd, line, (size_t)n);
	explicit_bzero(seed, sizeof(seed));
	explicit_bzero(line, sizeof(line));
	return r;
}

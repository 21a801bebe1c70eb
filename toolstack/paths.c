/* paths.c — see paths.h. */
#include "toolstack/paths.h"
#include "common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env_or(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v && *v ? v : dflt;
}

const char *paths_run_dir(void)
{
	return env_or("AIRLOCK_RUN_DIR", "/run/airlock");
}

const char *paths_log_dir(void)
{
	return env_or("AIRLOCK_LOG_DIR", "/var/log/airlock");
}

const char *paths_qemu(void)
{
	return env_or("AIRLOCK_QEMU", "qemu-system-x86_64");
}

uid_t paths_uid_base(void)
{
	unsigned v;

	if (parse_uint(env_or("AIRLOCK_UID_BASE", "640000"), 0x7fff0000u, &v))
		v = 640000;
	return (uid_t)v;
}

char *paths_log_file(const char *name, const char *suffix, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s%s", paths_log_dir(), name, suffix);
	return out;
}

int paths_sibling(const char *prog, const char *subdir, const char *env, char *out, size_t outsz)
{
	char self[PATH_MAX];
	const char *v = getenv(env);
	ssize_t n;
	char *slash;

	if (v && *v) {
		snprintf(out, outsz, "%s", v);
		return access(out, X_OK) == 0 ? 0 : -ENOENT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	snprintf(out, outsz, "%s/%s", self, prog);
	if (access(out, X_OK) == 0)
		return 0;
	snprintf(out, outsz, "%s/../%s/%s", self, subdir, prog);
	return access(out, X_OK) == 0 ? 0 : -ENOENT;
}

int paths_mkdirs(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

bool paths_which(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	char *dir, *save = NULL;

	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		return access(out, X_OK) == 0;
	}
	snprintf(dirs, sizeof(dirs), "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		int n = snprintf(out, size, "%s/%s", *dir ? dir : ".", name);
		struct stat st;

		if (n > 0 && (size_t)n < size && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return true;
	}
	out[0] = '\0';
	return false;
}

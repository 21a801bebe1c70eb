/* paths.h — where the toolstack keeps things on the host.
 *
 *   run dir   $AIRLOCK_RUN_DIR  (default /run/airlock): one directory per
 *             running domain (<run>/<domid>: control socket, the engine's
 *             empty chroot), removed when the domain ends.
 *   log dir   $AIRLOCK_LOG_DIR  (default /var/log/airlock): <name>.console.log
 *             (the guest's serial output) and <name>.log (its supervisor),
 *             kept after the domain ends, like xl's /var/log/xen.
 *   engine    $AIRLOCK_QEMU     (default qemu-system-x86_64 on PATH).
 *   uids      $AIRLOCK_UID_BASE (default 640000): domain N's engine runs as
 *             uid and gid BASE + N.
 */
#ifndef AIRLOCK_PATHS_H
#define AIRLOCK_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

const char *paths_run_dir(void);
const char *paths_log_dir(void);
const char *paths_qemu(void);
uid_t paths_uid_base(void);

/* Writes "<log dir>/<name><suffix>" into out. Returns out. */
char *paths_log_file(const char *name, const char *suffix, char *out, size_t outsz);

/* Finds a sibling program of the running executable ("airlock-supervisor"):
 * $AIRLOCK_<UPPER_NAME> if set, else the same directory as /proc/self/exe,
 * else ../<subdir>/<prog> relative to it (the build tree). Returns 0 and the
 * path in out, or -ENOENT. */
int paths_sibling(const char *prog, const char *subdir, const char *env, char *out, size_t outsz);

/* Finds program `name` as exec would: a name with a slash as it is, else
 * the first executable regular file of that name in $PATH's directories
 * (empty entries skipped; no PATH: /usr/local/bin:/usr/bin:/bin). Returns
 * true with its path in out. */
bool paths_which(const char *name, char *out, size_t size);

/* mkdir -p with mode. 0 or -errno. */
int paths_mkdirs(const char *path, mode_t mode);

#endif

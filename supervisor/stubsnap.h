/* stubsnap.h — stub-domain templates: a stub domain restored from a saved
 * state instead of booted.
 *
 * A stub domain's boot is the same every time up to the point where its
 * init needs to know whose device model it runs: QEMU's start, the kernel's
 * boot, the init's mounts. Under TCG that is seconds of the host's CPU, on
 * the same cores as the guest's own boot. So the supervisor boots it once
 * per template key (the image, QEMU, the stub's RAM and accelerator, the
 * kernel command line) with `airlock.template`, with none of any guest's
 * devices; the init stops in a read of its console; the supervisor saves
 * the stopped domain through QMP (a migration into a file) and keeps the
 * file in the cache directory. Each later stub domain is a QEMU that loads
 * that file (`-incoming defer`, then migrate-incoming from an inherited fd),
 * gets its guest's devices plugged in (ivshmem, disks, NICs: device_add),
 * runs, and reads a wake line on its console: the words its kernel command
 * line would have carried, and a fresh seed for its random number generator
 * (images/stubdom/init).
 *
 * Why the devices are plugged in after the restore and not saved: the
 * ivshmem BAR is the guest's RAM, a different memfd of a different size for
 * each guest, and QEMU refuses a saved state whose shared RAM block sat at
 * another address; the disks and NICs differ in number. A template without
 * them fits every guest. The template's RAM is the stub's own (private):
 * x-ignore-shared keeps the guest-RAM BAR out of both ends regardless.
 *
 * Nothing of any guest is ever in a template: it is made from a boot that
 * never saw one, never from a stub domain that served a guest.
 *
 * The cache directory ($AIRLOCK_CACHE_DIR/stubdom, default
 * /var/cache/airlock/stubdom) is root's alone (0700): whoever can write a
 * template runs code in every stub domain. Each template sits beside a
 * file with its key's text, compared in full before use. A template that
 * fails to load is deleted and the stub domain boots instead.
 * AIRLOCK_STUBDOM_SNAPSHOT=0 turns templates off.
 */
#ifndef AIRLOCK_SUP_STUBSNAP_H
#define AIRLOCK_SUP_STUBSNAP_H

#include "qmp/qmp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What makes two stub domains' boots the same. */
struct stubsnap_key {
	const char *qemu, *kernel, *ramdisk; /* files: identified by stat (a
					      * bare name: found on PATH) */
	const char *append;		     /* the template's kernel command line */
	const char *accel;
	uint64_t memory_mib;
};

/* True unless AIRLOCK_STUBDOM_SNAPSHOT is "0". */
bool stubsnap_enabled(void);

/* Fills path (the template file for key k in the cache directory, made if
 * missing) and text (the key's text). Returns 0 or -errno (a file of the
 * key that cannot be stat'ed, a cache directory that cannot be made). */
int stubsnap_locate(const struct stubsnap_key *k, char *path, size_t path_size, char *text,
		    size_t text_size);

/* Opens the template at path for reading if it exists and its key file
 * says `text`. Returns the fd or -errno (-ENOENT: none, or a stale one;
 * -ENOEXEC: making one failed within the hour, see stubsnap_mark_failed). */
int stubsnap_open(const char *path, const char *text);

/* Records that a template of this key could not be made (path.failed,
 * holding the key's text): for an hour stubsnap_open then answers -ENOEXEC
 * for that key rather than booting a template that never gets there on
 * every create (a stubdomain_kernel without the airlock init, say). */
void stubsnap_mark_failed(const char *path, const char *text);

/* Takes the build lock for path (flock on path.lock): one builder per key
 * at a time. Returns the lock's fd (close it to release) or -errno. */
int stubsnap_lock(const char *path);

/* Saves a template QEMU that boots with `airlock.template`: waits (at most
 * timeout_ms) until its console (console_fd) shows the init waiting, then
 * stops it and migrates it through qmp into out_fd (handed to QEMU over
 * QMP), and quits it. Returns 0 or -errno; on failure
 * the console's last output is logged. */
int stubsnap_save(struct qmp *qmp, int console_fd, int out_fd, int timeout_ms);

/* Publishes a saved template: fsyncs tmp_fd's file (tmp_path), writes the
 * key file and renames the template into place. Returns 0 or -errno. */
int stubsnap_publish(int tmp_fd, const char *tmp_path, const char *path, const char *text);

/* Starts loading the template QEMU inherited as in_fd (it runs with
 * `-incoming defer`): sets x-ignore-shared and starts migrate-incoming.
 * Returns 0 or -errno (QMP error logged). */
int stubsnap_load_begin(struct qmp *qmp, int in_fd);

/* Waits (at most timeout_ms) for the load to complete, then runs each of
 * the n device_add argument objects (JSON text) in devs and `cont`.
 * Returns 0 or -errno (logged). */
int stubsnap_load_finish(struct qmp *qmp, const char *const *devs, unsigned int n, int timeout_ms);

/* Writes the wake line to the stub's console (console_fd): `words` and a
 * fresh seed from the host's generator, as airlock.seed=<hex>. Returns 0
 * or -errno. */
int stubsnap_wake(int console_fd, const char *words);

#endif

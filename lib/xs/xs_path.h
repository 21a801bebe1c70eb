/* xs_path.h — store path syntax.
 *
 * A path is absolute ("/local/domain/3/x"), relative to the caller's home
 * ("x" from domain 3 means /local/domain/3/x), or special ("@releaseDomain").
 * Allowed characters: ASCII letters, digits and - / _ @. No empty path, no
 * doubled or trailing slash (except "/" itself), absolute paths at most
 * XS_ABS_PATH_MAX bytes, relative ones at most XS_REL_PATH_MAX.
 */
#ifndef AIRLOCK_XS_PATH_H
#define AIRLOCK_XS_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Size of a buffer that holds any canonical path and its NUL. */
#define XS_PATH_BUF (3072u + 1u)

/* Validates `in` and writes its absolute form into `out` (XS_PATH_BUF
 * bytes), resolving a relative path against domain `domid`'s home. Special
 * paths (leading '@') are accepted only if `allow_special`. Sets *relative
 * (may be NULL) when `in` was relative. Returns 0 or -EINVAL; `out` is
 * unspecified on error. */
int xs_path_canonical(const char *in, unsigned int domid, bool allow_special, char *out,
		      bool *relative);

/* True for "@..." paths. */
bool xs_path_is_special(const char *path);

/* True if `child` is `parent` or lies below it ("/" is everyone's parent). */
bool xs_path_is_child(const char *child, const char *parent);

/* Writes "/local/domain/<domid>" into out. Returns its length. */
size_t xs_path_domain_home(unsigned int domid, char *out, size_t outsz);

/* Returns the length of the parent part of an absolute path ("/a/b" -> 2,
 * "/a" -> 1); 0 for "/". */
size_t xs_path_parent_len(const char *path);

/* Returns the last component of an absolute path ("" for "/"). */
const char *xs_path_basename(const char *path);

#endif

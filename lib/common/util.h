/* util.h — small helpers every airlock program and library uses:
 * strict number parsing, whole reads and writes, fd flags, clocks.
 *
 * Convention across airlock: actions return 0 or -errno; predicates return
 * bool; errno is never carried across layers.
 */
#ifndef AIRLOCK_UTIL_H
#define AIRLOCK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Parses a whole string as an unsigned decimal number no larger than `max`.
 * No sign, no spaces, no leading "0x"; leading zeros are accepted. Returns 0
 * and sets *out, or -EINVAL (not a number) / -ERANGE (too large); *out is
 * untouched on error. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* parse_u64 for an unsigned int no larger than `max`. */
int parse_uint(const char *s, unsigned int max, unsigned int *out);

/* Parses a size such as "4096", "64K", "16M", "1G" (binary multiples).
 * Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *out);

/* Value of a hexadecimal digit (0-9, a-f, A-F), or -1. */
int hex_digit(char c);

/* Writes all `len` bytes, retrying on EINTR and short writes. Returns 0 or
 * -errno (a prefix may have been written). */
int write_all(int fd, const void *buf, size_t len);

/* Reads exactly `len` bytes unless EOF comes first. Returns the number of
 * bytes read (< len only at EOF) or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);

/* Sets or clears O_NONBLOCK. Returns 0 or -errno. */
int fd_set_nonblock(int fd, bool on);

/* Monotonic clock in milliseconds / nanoseconds. */
uint64_t now_ms(void);
uint64_t now_ns(void);

/* Fills `buf` with `len` random bytes from getrandom(2), falling back to a
 * clock-derived value only if the kernel cannot supply them. */
void random_bytes(void *buf, size_t len);

/* Returns a static string naming an errno value ("ENOENT"), or "E?" . */
const char *errno_name(int err);

/* Like strerror(-err), for -errno return values. */
const char *err_str(int neg_err);

/* Binds a listening UNIX stream socket (close-on-exec) at path, replacing
 * a stale socket file there (nothing else is removed). Returns the fd or
 * -errno (-ENAMETOOLONG for a path that does not fit). */
int unix_listen(const char *path, int backlog);

#endif

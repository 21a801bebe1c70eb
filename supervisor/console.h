/* console.h — a guest's serial console, owned by its supervisor.
 *
 * The engine's serial port is one end of a socketpair; the supervisor holds
 * the other. Everything the guest prints goes into a ring buffer (the
 * recent past, replayed to whoever attaches) and a log file (everything),
 * so nothing is lost while nobody is attached — unlike a pty, which drops
 * output nobody reads. Any number of clients may attach; each gets the
 * ring's contents, then the live stream, and what any of them types goes to
 * the guest. A client that cannot keep up is dropped rather than slowing
 * the guest.
 */
#ifndef AIRLOCK_SUP_CONSOLE_H
#define AIRLOCK_SUP_CONSOLE_H

#include "common/loop.h"

#include <stddef.h>
#include <stdint.h>

struct console;

/* Starts serving the guest side `guest_fd` (taken over), logging to
 * `log_path` (appended; rotated to log_path.1 past 8 MiB) with a ring of
 * `ring_size` bytes. Returns 0 or -errno. */
int console_new(struct loop *l, int guest_fd, const char *log_path, size_t ring_size,
		struct console **out);

/* Replaces the guest side (the engine restarted). Takes `guest_fd`. */
void console_set_guest(struct console *con, int guest_fd);

/* Attaches a client connection `fd` (taken over): replays the ring, then
 * streams. Returns 0 or -errno (fd closed). */
int console_attach(struct console *con, int fd);

/* Bytes the guest has printed since start (for tests and status). */
uint64_t console_bytes(const struct console *con);

/* Copies the ring's contents (oldest first) into `out` (up to `max`);
 * returns the length. */
size_t console_ring_copy(const struct console *con, char *out, size_t max);

/* Writes a line of the supervisor's own into the log (not to the guest). */
void console_note(struct console *con, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Detaches every client, flushes and closes the log. */
void console_free(struct console *con);

#endif

/* ctl_client.h — the CLI's side of a supervisor's control socket (see
 * supervisor/control.h for the protocol). */
#ifndef AIRLOCK_CTL_CLIENT_H
#define AIRLOCK_CTL_CLIENT_H

#include <stddef.h>

/* Connects to <run_dir>/control.sock and sends `cmd`. Returns the fd or
 * -errno (-ECONNREFUSED / -ENOENT: no supervisor listens). */
int ctl_open(const char *run_dir, const char *cmd);

/* Reads one line (without its newline) within timeout_ms (-1: forever).
 * Returns its length, -ETIMEDOUT, -EPIPE at EOF, or -errno. */
int ctl_read_line(int fd, char *line, size_t size, int timeout_ms);

/* Waits until the peer closes the connection. 0, -ETIMEDOUT or -errno. */
int ctl_wait_close(int fd, int timeout_ms);

#endif

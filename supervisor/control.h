/* control.h — the supervisor's control socket (<run-dir>/control.sock,
 * mode 0600): how `airlock` talks to a running domain.
 *
 * Protocol: the client sends one command line ("status", "shutdown",
 * "reboot", "destroy", "console"); the supervisor answers one line,
 * "ok[ text]" or "err text". Commands that take time (shutdown, reboot,
 * destroy) answer "ok" at once and then, on the same connection, "done
 * <what happened>" when it is over; the connection closes when the
 * supervisor exits. After "ok console" the connection carries the guest's
 * serial console both ways.
 */
#ifndef AIRLOCK_SUP_CONTROL_H
#define AIRLOCK_SUP_CONTROL_H

#include "common/loop.h"

struct control;
struct ctl_conn;

/* Called for each command line; answer with ctl_reply, then either let the
 * connection close (return 0), keep it to notify later (ctl_hold), or take
 * its fd (ctl_take_fd). */
typedef void (*ctl_command_cb)(void *ctx, struct ctl_conn *cc, const char *cmd);

/* Listens at `path` (replacing a stale socket). 0 or -errno. */
int control_new(struct loop *l, const char *path, ctl_command_cb cb, void *ctx,
		struct control **out);

/* Sends one line to the client. */
void ctl_reply(struct ctl_conn *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keeps the connection after the command (it is a waiter). */
void ctl_hold(struct ctl_conn *cc);

/* Hands the connection's fd to the caller; the control module forgets it. */
int ctl_take_fd(struct ctl_conn *cc);

/* Sends `line` to every held connection and closes them. */
void control_notify_all(struct control *ctl, const char *line);

/* Closes everything and removes the socket file. */
void control_free(struct control *ctl);

#endif

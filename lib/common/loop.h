/* loop.h — the event loop (epoll), owned by each program's main().
 *
 * Libraries never own or create a loop: they expose functions and take
 * callbacks; the program registers their fds here. Three kinds of sources:
 *   - fds, with epoll event masks (EPOLLIN/EPOLLOUT/...);
 *   - one-shot timers in milliseconds;
 *   - "prepare" hooks, run once per iteration just before the loop sleeps.
 *     The store uses one for group commit: all requests read in an iteration
 *     are made durable by one sync before any reply is sent.
 * Removing a source from inside any callback is safe; its memory is released
 * after the current iteration.
 */
#ifndef AIRLOCK_LOOP_H
#define AIRLOCK_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_fd;
struct loop_timer;

typedef void (*loop_fd_cb)(struct loop_fd *h, int fd, uint32_t events, void *data);
typedef void (*loop_timer_cb)(void *data);
typedef void (*loop_prepare_cb)(void *data);

/* Creates a loop. Returns 0 or -errno. */
int loop_new(struct loop **out);

/* Frees the loop and every source still registered (their fds stay open). */
void loop_free(struct loop *l);

/* Watches `fd` for `events`; `cb` runs with the events that fired. Returns 0
 * and the handle in *out (may be NULL), or -errno (nothing registered). */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *data,
		struct loop_fd **out);

/* Changes the event mask. Returns 0 or -errno (the old mask stays). */
int loop_mod_fd(struct loop_fd *h, uint32_t events);

/* Current event mask of a handle. */
uint32_t loop_fd_events(const struct loop_fd *h);

/* Stops watching; the fd is not closed. Safe inside callbacks. */
void loop_del_fd(struct loop_fd *h);

/* Runs `cb` once, `ms` milliseconds from now. Returns the handle or NULL on
 * allocation failure. */
struct loop_timer *loop_add_timer(struct loop *l, uint64_t ms, loop_timer_cb cb, void *data);

/* Cancels a timer that has not fired yet. Safe inside callbacks. */
void loop_cancel_timer(struct loop_timer *t);

/* Registers a hook run before every sleep. Returns 0 or -ENOMEM. */
int loop_add_prepare(struct loop *l, loop_prepare_cb cb, void *data);

/* Runs until loop_stop(). Returns 0, or -errno if epoll itself fails. */
int loop_run(struct loop *l);

/* Runs one iteration, sleeping at most `timeout_ms` (-1: until an event).
 * Returns 0 or -errno. */
int loop_run_once(struct loop *l, int timeout_ms);

/* Makes loop_run return after the current iteration. */
void loop_stop(struct loop *l);

#endif

/* log.h — leveled logging to stderr for every airlock program.
 *
 * Daemons never daemonize and never open log files themselves: they write to
 * stderr, and whoever started them (a terminal, the supervisor, a test)
 * decides where that goes. Each line is "ident: level: message".
 */
#ifndef AIRLOCK_LOG_H
#define AIRLOCK_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

/* Sets the program name printed before every line (not copied: pass a
 * string that lives as long as the program). */
void log_set_ident(const char *ident);

/* Sets the most verbose level that is printed; default LOG_LVL_INFO. */
void log_set_level(enum log_level level);

/* Returns the current level. */
enum log_level log_get_level(void);

/* Parses "err", "warn", "info" or "debug" into *out. Returns 0, or -EINVAL
 * (leaving *out untouched) for anything else. */
int log_parse_level(const char *s, enum log_level *out);

/* Prints one line at `level` if the current level allows it. A trailing
 * newline is added. Never fails visibly: a short write is ignored. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* A token bucket for messages a peer can trigger at will (bad input from a
 * guest or client). Zero-initialise; allows `burst` lines per `period_ms`,
 * then counts what it suppresses and reports the count with the next line it
 * lets through. */
struct log_ratelimit {
	uint64_t window_start_ms;
	unsigned int used;
	unsigned int suppressed;
};

/* Returns true if a line may be printed now under `rl` (10 lines per 5 s).
 * When lines were suppressed before, says so once. */
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_rl(rl, level, ...)                                                                     \
	do {                                                                                       \
		if (log_get_level() >= (level) && log_ratelimit_ok(rl))                            \
			log_msg((level), __VA_ARGS__);                                             \
	} while (0)

#endif

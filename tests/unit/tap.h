/* tap.h — the unit tests' tiny harness: TAP output ("ok 3 - name"),
 * counted by tests/run.sh.
 *
 *   static void test_x(void) { CHECK(1 + 1 == 2); CHECK_EQ_INT(f(), 0); }
 *   int main(void) { RUN(test_x); return tap_done(); }
 *
 * A test passes if none of its CHECKs failed; failed CHECKs print the
 * expression, file and line as TAP diagnostics ("# ...").
 */
#ifndef AIRLOCK_TAP_H
#define AIRLOCK_TAP_H

#include <stdio.h>
#include <string.h>

/* Weak: a test's helper files (vhost_peer.c) that include this count into
 * the same test as the test's own file; one file alone is unchanged. */
__attribute__((weak)) int tap_n, tap_failed_tests, tap_cur_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);         \
			tap_cur_failed = 1;                                                        \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long tap_a = (long long)(a), tap_b = (long long)(b);                          \
		if (tap_a != tap_b) {                                                              \
			printf("# CHECK failed: %s == %s (%lld != %lld) (%s:%d)\n", #a, #b, tap_a, \
			       tap_b, __FILE__, __LINE__);                                         \
			tap_cur_failed = 1;                                                        \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *tap_a = (a), *tap_b = (b);                                             \
		if (!tap_a || !tap_b || strcmp(tap_a, tap_b) != 0) {                               \
			printf("# CHECK failed: %s == %s (\"%s\" != \"%s\") (%s:%d)\n", #a, #b,    \
			       tap_a ? tap_a : "(null)", tap_b ? tap_b : "(null)", __FILE__,       \
			       __LINE__);                                                          \
			tap_cur_failed = 1;                                                        \
		}                                                                                  \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		tap_cur_failed = 0;                                                                \
		fn();                                                                              \
		tap_n++;                                                                           \
		printf("%s %d - %s\n", tap_cur_failed ? "not ok" : "ok", tap_n, #fn);              \
		fflush(stdout);                                                                    \
		tap_failed_tests += tap_cur_failed;                                                \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed_tests ? 1 : 0;
}

#endif

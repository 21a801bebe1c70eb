/* cmd_watch.c — `airlock watch`: print the path of every change. */
#include "cli.h"
#include "common/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Parses a positive number of seconds ("5", "0.5") into milliseconds. */
static int parse_seconds(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400.0 * 365)
		return -EINVAL;
	*ms = (int)(v * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

int cmd_watch(const struct cli *cli, int argc, char **argv)
{
	struct buf path = BUF_INIT, token = BUF_INIT;
	unsigned int count = 0, seen = 0;
	int timeout_ms = -1, status, opt, r;
	uint64_t deadline = 0;
	struct xs_client *c;

	while ((opt = cli_getopt(cli, argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n':
			if (parse_uint(optarg, UINT32_MAX, &count) || count == 0)
				return cli_usage_error(cli, "-n wants a positive count, not '%s'",
						       optarg);
			break;
		case 't':
			if (parse_seconds(optarg, &timeout_ms))
				return cli_usage_error(cli, "-t wants seconds, not '%s'", optarg);
			break;
		case 'h':
			return cli_help(cli);
		default:
			return CLI_USAGE;
		}
	}
	if (!cli_nargs_ok(cli, argc - optind, 1, -1, &status))
		return status;
	status = cli_connect(cli, &c);
	if (status)
		return status;
	if (timeout_ms >= 0)
		deadline = now_ms() + (uint64_t)timeout_ms;
	for (int i = optind; i < argc; i++) {
		/* The token is the watched path: events say which watch fired. */
		r = xs_client_watch(c, argv[i], argv[i]);
		if (r) {
			status = cli_error(cli, argv[i], r);
			goto out;
		}
	}
	while (count == 0 || seen < count) {
		int wait_ms = -1;

		if (timeout_ms >= 0) {
			uint64_t now = now_ms();
			wait_ms = now >= deadline ? 0 : (int)(deadline - now);
		}
		r = xs_client_read_watch(c, wait_ms, &path, &token);
		if (r == -ETIMEDOUT) {
			if (count) {
				fprintf(stderr, "airlock: watch: timed out after %u of %u events\n",
					seen, count);
				status = CLI_ERR;
			}
			break;
		}
		if (r) {
			status = cli_error(cli, NULL, r);
			break;
		}
		printf("%s\n", (const char *)path.data);
		if (fflush(stdout)) {
			status = CLI_ERR;
			break;
		}
		seen++;
	}
out:
	buf_free(&path);
	buf_free(&token);
	xs_client_close(c);
	return status;
}

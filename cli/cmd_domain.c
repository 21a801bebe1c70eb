/* cmd_domain.c — the domain verbs that talk to running domains: list,
 * console, log, shutdown, reboot, destroy. (create is in cmd_create.c.)
 *
 * A running domain is found through its store records (toolstack/domstore)
 * and driven through its supervisor's control socket
 * (toolstack/ctl_client). Every lookup reconciles first, so a domain whose
 * supervisor is gone is removed, never shown or driven.
 */
#include "cli/cli.h"
#include "common/util.h"
#include "toolstack/ctl_client.h"
#include "toolstack/domstore.h"
#include "toolstack/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CTRL_RIGHT_BRACKET 0x1d

static int find_domain(const struct cli *cli, struct xs_client **xs, const char *name,
		       struct dom_record *rec)
{
	int r = cli_connect(cli, xs);

	if (r)
		return r;
	r = domstore_find(*xs, name, rec);
	if (r) {
		/* On failure the caller gets no connection to close. */
		xs_client_close(*xs);
		*xs = NULL;
	}
	if (r == -ENOENT)
		return cli_error_desc(cli, name, r, "no such domain");
	if (r)
		return cli_error(cli, name, r);
	return CLI_OK;
}

static void format_uptime(uint64_t start, char *out, size_t outsz)
{
	uint64_t now = (uint64_t)time(NULL), s = now > start ? now - start : 0;

	if (s >= 86400)
		snprintf(out, outsz, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else
		snprintf(out, outsz, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60), (unsigned long long)(s % 60));
}

int cmd_list(const struct cli *cli, int argc, char **argv)
{
	struct xs_client *xs;
	struct dom_record *recs;
	unsigned n;
	int status, r;

	if (!cli_simple_args(cli, argc, argv, 0, 0, &status))
		return status;
	r = cli_connect(cli, &xs);
	if (r)
		return r;
	r = domstore_list(xs, &recs, &n);
	xs_client_close(xs);
	if (r)
		return cli_error(cli, NULL, r);
	printf("%-5s %-20s %-10s %8s %5s %-10s %9s\n", "ID", "NAME", "STATE", "MEM(MiB)", "VCPUS",
	       "PLACEMENT", "UPTIME");
	for (unsigned i = 0; i < n; i++) {
		char up[32];
		format_uptime(recs[i].start_time, up, sizeof(up));
		printf("%-5u %-20s %-10s %8lu %5u %-10s %9s\n", recs[i].domid, recs[i].name,
		       recs[i].state, recs[i].memory_mib, recs[i].vcpus, recs[i].placement, up);
	}
	free(recs);
	return CLI_OK;
}

/* Pumps stdin to the console and the console to stdout until Ctrl-] (on a
 * terminal), or until the domain goes away. */
static int console_pump(int fd)
{
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), in_open = true;
	char b[4096];

	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		tty = false;
	}
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {in_open ? STDIN_FILENO : -1, POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			ssize_t n = read(fd, b, sizeof(b));
			if (n <= 0)
				break; /* the domain ended */
			if (write_all(STDOUT_FILENO, b, (size_t)n))
				break;
		}
		if (p[1].revents) {
			ssize_t n = read(STDIN_FILENO, b, sizeof(b));
			if (n <= 0) {
				in_open = false; /* keep showing output */
				continue;
			}
			char *esc = tty ? memchr(b, CTRL_RIGHT_BRACKET, (size_t)n) : NULL;
			if (write_all(fd, b, esc ? (size_t)(esc - b) : (size_t)n) || esc)
				break;
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\r\n");
	}
	return CLI_OK;
}

/* Attaches to the console `what` ("console": the guest's; "console-dm":
 * its stub domain's) of the domain rec's supervisor runs. */
static int attach(const struct cli *cli, const struct dom_record *rec, const char *what,
		  const char *label)
{
	char line[160];
	int fd = ctl_open(rec->run_dir, what), r;

	if (fd < 0)
		return cli_error_desc(cli, rec->name, fd, "its supervisor does not answer");
	r = ctl_read_line(fd, line, sizeof(line), 5000);
	if (r < 0 || strcmp(line, "ok console") != 0) {
		close(fd);
		if (r >= 0 && strncmp(line, "err ", 4) == 0) {
			fprintf(stderr, "airlock: %s: %s\n", rec->name, line + 4);
			return CLI_ERR;
		}
		return cli_error_desc(cli, rec->name, r < 0 ? r : -EPROTO, "console refused");
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "[console of %s — Ctrl-] leaves]\r\n", label);
	r = console_pump(fd);
	close(fd);
	return r;
}

int cli_attach_console(const struct cli *cli, const struct dom_record *rec)
{
	return attach(cli, rec, "console", rec->name);
}

int cmd_console(const struct cli *cli, int argc, char **argv)
{
	struct xs_client *xs;
	struct dom_record rec, guest;
	char label[160], path[128];
	struct buf v = BUF_INIT;
	bool dm = false;
	int status, r, k = 1;

	/* `--dm` (anywhere): the guest's stub domain. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dm") == 0)
			dm = true;
		else
			argv[k++] = argv[i];
	}
	argc = k;
	if (!cli_simple_args(cli, argc, argv, 1, 1, &status))
		return status;
	r = find_domain(cli, &xs, argv[optind], &rec);
	if (r)
		return r;
	/* NAME-dm itself: its guest's supervisor serves the stub's console. */
	if (strcmp(rec.placement, "stub") == 0) {
		snprintf(path, sizeof(path), "/local/domain/%u/airlock/stub-of", rec.domid);
		unsigned int g;
		if (xs_client_read(xs, 0, path, &v) || buf_append(&v, "", 1) ||
		    parse_uint((const char *)buf_head(&v), DOMID_LAST, &g) ||
		    domstore_get(xs, g, &guest)) {
			buf_free(&v);
			xs_client_close(xs);
			return cli_error_desc(cli, rec.name, -ENOENT, "its guest is gone");
		}
		buf_free(&v);
		rec = guest;
		dm = true;
	}
	xs_client_close(xs);
	if (!dm)
		return cli_attach_console(cli, &rec);
	snprintf(label, sizeof(label), "%s-dm (stub domain of %s)", rec.name, rec.name);
	return attach(cli, &rec, "console-dm", label);
}

int cmd_log(const struct cli *cli, int argc, char **argv)
{
	char path[512], b[65536];
	const char *name;
	int status, fd;
	ssize_t n;

	if (!cli_simple_args(cli, argc, argv, 1, 1, &status))
		return status;
	name = argv[optind];
	/* By name, even after the domain ended: logs outlive domains. */
	paths_log_file(name, ".console.log", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error_desc(cli, name, -errno, "no console log for this domain");
	while ((n = read(fd, b, sizeof(b))) > 0)
		if (write_all(STDOUT_FILENO, b, (size_t)n))
			break;
	close(fd);
	return CLI_OK;
}

/* Sends a lifecycle command and waits for its "done" line. */
static int lifecycle(const struct cli *cli, int argc, char **argv, const char *cmd,
		     int default_wait_s)
{
	struct xs_client *xs;
	struct dom_record rec;
	unsigned wait_s = (unsigned)default_wait_s;
	char line[256];
	int c, r, fd;

	while ((c = cli_getopt(cli, argc, argv, "w:")) != -1) {
		if (c == 'h')
			return cli_help(cli);
		if (c == '?')
			return CLI_USAGE;
		if (c == 'w' && parse_uint(optarg, 86400, &wait_s))
			return cli_usage_error(cli, "-w: expected seconds");
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected one domain");
	r = find_domain(cli, &xs, argv[optind], &rec);
	if (r)
		return r;
	xs_client_close(xs);
	fd = ctl_open(rec.run_dir, cmd);
	if (fd < 0)
		return cli_error_desc(cli, rec.name, fd, "its supervisor does not answer");
	r = ctl_read_line(fd, line, sizeof(line), 5000);
	if (r < 0 || strncmp(line, "ok", 2) != 0) {
		close(fd);
		return cli_error_desc(cli, rec.name, r < 0 ? r : -EPROTO,
				      r < 0 ? "no answer from its supervisor" : line);
	}
	r = ctl_read_line(fd, line, sizeof(line), wait_s ? (int)wait_s * 1000 : -1);
	close(fd);
	if (r == -ETIMEDOUT) {
		fprintf(stderr, "airlock: %s %s: not done after %u s\n", cmd, rec.name, wait_s);
		return CLI_ERR;
	}
	if (r == -EPIPE) /* the supervisor ended: the domain is gone */
		snprintf(line, sizeof(line), "done destroyed");
	else if (r < 0)
		return cli_error(cli, rec.name, r);
	if (cli->verbose)
		fprintf(stderr, "airlock: %s %s: %s\n", cmd, rec.name, line);
	return strncmp(line, "done", 4) == 0 ? CLI_OK : CLI_ERR;
}

int cmd_shutdown(const struct cli *cli, int argc, char **argv)
{
	return lifecycle(cli, argc, argv, "shutdown", 120);
}

int cmd_reboot(const struct cli *cli, int argc, char **argv)
{
	return lifecycle(cli, argc, argv, "reboot", 180);
}

int cmd_destroy(const struct cli *cli, int argc, char **argv)
{
	return lifecycle(cli, argc, argv, "destroy", 30);
}

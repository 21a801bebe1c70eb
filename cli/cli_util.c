/* cli_util.c — see cli.h: error reporting, option parsing and the store
 * connection shared by every verb. */
#include "cli.h"
#include "common/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_connect(const struct cli *cli, struct xs_client **out)
{
	const char *path = cli->socket ? cli->socket : xs_client_default_path();
	int r = xs_client_open(path, out);

	if (r) {
		fprintf(stderr, "airlock: cannot connect to the store at %s: %s (%s)\n", path,
			errno_name(-r), err_str(r));
		return CLI_ERR;
	}
	return CLI_OK;
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "airlock %s: ", cli->verb->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: airlock %s %s\n", cli->verb->name, cli->verb->usage);
	return CLI_USAGE;
}

int cli_help(const struct cli *cli)
{
	printf("usage: airlock %s %s\n%s\n", cli->verb->name, cli->verb->usage, cli->verb->summary);
	return CLI_OK;
}

const char *cli_err_desc(int neg_err)
{
	switch (-neg_err) {
	case ENOENT:
		return "no such node";
	case EACCES:
		return "permission denied";
	case EEXIST:
		return "already exists";
	case EISDIR:
		return "is a directory";
	case EINVAL:
		return "invalid request";
	case ENOMEM:
		return "out of memory";
	case ENOSPC:
		return "quota exceeded";
	case EIO:
		return "I/O error";
	case ENOTEMPTY:
		return "not empty";
	case ENOSYS:
		return "not supported by the store";
	case EROFS:
		return "read-only";
	case EBUSY:
		return "busy";
	case EAGAIN:
		return "conflict, try again";
	case EISCONN:
		return "already connected";
	case E2BIG:
		return "too big";
	case EPERM:
		return "not permitted";
	case EPROTO:
		return "malformed reply from the store";
	case ECONNRESET:
		return "connection to the store lost";
	case ETIMEDOUT:
		return "timed out";
	default:
		return err_str(neg_err);
	}
}

int cli_error_desc(const struct cli *cli, const char *what, int neg_err, const char *desc)
{
	fprintf(stderr, "airlock: %s%s%s: %s (%s)\n", cli->verb->name, what ? " " : "",
		what ? what : "", errno_name(-neg_err), desc);
	return CLI_ERR;
}

int cli_error(const struct cli *cli, const char *what, int neg_err)
{
	return cli_error_desc(cli, what, neg_err, cli_err_desc(neg_err));
}

int cli_getopt(const struct cli *cli, int argc, char **argv, const char *optstring)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char spec[64];
	int opt;

	snprintf(spec, sizeof(spec), "+:h%s", optstring);
	opterr = 0;
	opt = getopt_long(argc, argv, spec, longopts, NULL);
	if (opt == '?') {
		if (optopt)
			cli_usage_error(cli, "unknown option -%c", optopt);
		else
			cli_usage_error(cli, "unknown option %s", argv[optind - 1]);
	} else if (opt == ':') {
		cli_usage_error(cli, "option -%c needs an argument", optopt);
		opt = '?';
	}
	return opt;
}

int cli_parse_domid(const struct cli *cli, const char *s, unsigned int *out)
{
	if (parse_uint(s, XS_DOMID_MAX, out))
		return cli_usage_error(cli, "'%s' is not a domain id (0 to %u)", s, XS_DOMID_MAX);
	return CLI_OK;
}

void cli_print_escaped(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = p[i];

		if (ch == '\\' || ch == '"')
			printf("\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

bool cli_nargs_ok(const struct cli *cli, int n, int min, int max, int *status)
{
	if (n < min)
		*status = cli_usage_error(cli, n ? "too few operands" : "missing operand");
	else if (max >= 0 && n > max)
		*status = cli_usage_error(cli, "too many operands");
	else
		return true;
	return false;
}

bool cli_simple_args(const struct cli *cli, int argc, char **argv, int min, int max, int *status)
{
	int opt = cli_getopt(cli, argc, argv, "");

	if (opt == 'h') {
		*status = cli_help(cli);
		return false;
	}
	if (opt != -1) {
		*status = CLI_USAGE;
		return false;
	}
	return cli_nargs_ok(cli, argc - optind, min, max, status);
}

/* cmd_store_admin.c — the store's administrative verbs: introduce,
 * release, set-target, quota, store-control. */
#include "cli.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Reports an error about domain `what`: ENOENT means no such domain. */
static int domain_error(const struct cli *cli, const char *what, int neg_err)
{
	if (neg_err == -ENOENT)
		return cli_error_desc(cli, what, neg_err, "no such domain");
	return cli_error(cli, what, neg_err);
}

/* Runs `op` on the single DOMID operand. */
static int one_domid(const struct cli *cli, int argc, char **argv,
		     int (*op)(struct xs_client *, unsigned int))
{
	struct xs_client *c;
	unsigned int domid;
	int status, r;

	if (!cli_simple_args(cli, argc, argv, 1, 1, &status))
		return status;
	status = cli_parse_domid(cli, argv[optind], &domid);
	if (status)
		return status;
	status = cli_connect(cli, &c);
	if (status)
		return status;
	r = op(c, domid);
	if (r)
		status = domain_error(cli, argv[optind], r);
	xs_client_close(c);
	return status;
}

int cmd_introduce(const struct cli *cli, int argc, char **argv)
{
	return one_domid(cli, argc, argv, xs_client_introduce);
}

int cmd_release(const struct cli *cli, int argc, char **argv)
{
	return one_domid(cli, argc, argv, xs_client_release);
}

int cmd_set_target(const struct cli *cli, int argc, char **argv)
{
	unsigned int domid, target;
	struct xs_client *c;
	int status, r;

	if (!cli_simple_args(cli, argc, argv, 2, 2, &status))
		return status;
	if ((status = cli_parse_domid(cli, argv[optind], &domid)) ||
	    (status = cli_parse_domid(cli, argv[optind + 1], &target)))
		return status;
	status = cli_connect(cli, &c);
	if (status)
		return status;
	r = xs_client_set_target(c, domid, target);
	if (r)
		status = domain_error(cli, argv[optind], r);
	xs_client_close(c);
	return status;
}

/* Reports a quota error: "quota [DOMID] NAME: ..."; ENOENT with a DOMID
 * means the domain is unknown. */
static int quota_error(const struct cli *cli, const char *domid, const char *name, int neg_err)
{
	char obj[80];

	snprintf(obj, sizeof(obj), "%s%s%s", domid ? domid : "", domid && name ? " " : "",
		 name ? name : "");
	if (domid && neg_err == -ENOENT)
		return cli_error_desc(cli, obj, neg_err, "no such domain");
	return cli_error(cli, obj[0] ? obj : NULL, neg_err);
}

/* Prints "name value" for every quota the store names; stops at the first
 * error. */
static int quota_list(const struct cli *cli, struct xs_client *c, int domid, const char *what)
{
	struct buf names = BUF_INIT;
	int status = CLI_OK, r;
	char *save, *name;

	r = xs_client_list_quotas(c, &names);
	if (r) {
		status = quota_error(cli, what, NULL, r);
		goto out;
	}
	for (name = strtok_r((char *)names.data, " ", &save); name;
	     name = strtok_r(NULL, " ", &save)) {
		unsigned int value;

		r = xs_client_get_quota(c, domid, name, &value);
		if (r) {
			status = quota_error(cli, what, name, r);
			break;
		}
		printf("%s %u\n", name, value);
	}
out:
	buf_free(&names);
	return status;
}

int cmd_quota(const struct cli *cli, int argc, char **argv)
{
	const char *what = NULL, *name;
	struct xs_client *c;
	unsigned int id, value;
	int status, domid = -1, n, r;

	if (!cli_simple_args(cli, argc, argv, 0, 3, &status))
		return status;
	/* Quota names are not numbers: a numeric first operand is a domid. */
	if (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') {
		status = cli_parse_domid(cli, argv[optind], &id);
		if (status)
			return status;
		domid = (int)id;
		what = argv[optind++];
	} else if (argc - optind > 2) {
		return cli_usage_error(cli, "too many operands");
	}
	n = argc - optind;
	name = n ? argv[optind] : NULL;
	if (n == 2 && parse_uint(argv[optind + 1], UINT32_MAX, &value))
		return cli_usage_error(cli, "quota value '%s' is not a number", argv[optind + 1]);
	status = cli_connect(cli, &c);
	if (status)
		return status;
	if (n == 0) {
		status = quota_list(cli, c, domid, what);
	} else {
		if (n == 1)
			r = xs_client_get_quota(c, domid, name, &value);
		else
			r = xs_client_set_quota(c, domid, name, value);
		if (r)
			status = quota_error(cli, what, name, r);
		else if (n == 1)
			printf("%u\n", value);
	}
	xs_client_close(c);
	return status;
}

int cmd_store_control(const struct cli *cli, int argc, char **argv)
{
	struct buf out = BUF_INIT;
	struct xs_client *c;
	int status, r;

	if (!cli_simple_args(cli, argc, argv, 1, 16, &status))
		return status;
	status = cli_connect(cli, &c);
	if (status)
		return status;
	r = xs_client_control(c, (const char *const *)(argv + optind),
			      (unsigned int)(argc - optind), &out);
	if (r) {
		status = cli_error(cli, argv[optind], r);
	} else if (out.len) {
		fwrite(out.data, 1, out.len, stdout);
		if (out.data[out.len - 1] != '\n')
			putchar('\n');
	}
	buf_free(&out);
	xs_client_close(c);
	return status;
}

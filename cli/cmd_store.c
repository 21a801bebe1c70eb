/* cmd_store.c — the node verbs, in the spirit of the xenstore-* tools:
 * read, write, mkdir, rm, ls, chmod, getperms. */
#include "cli.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often a multi-write transaction is retried after a conflict. */
#define CLI_TXN_RETRIES 100

/* Most permissions a node can carry: each takes at least 3 payload bytes. */
#define CLI_PERMS_MAX (XS_PAYLOAD_MAX / 3)

int cmd_read(const struct cli *cli, int argc, char **argv)
{
	struct buf value = BUF_INIT;
	struct xs_client *c;
	int status, r;

	if (!cli_simple_args(cli, argc, argv, 1, -1, &status))
		return status;
	status = cli_connect(cli, &c);
	if (status)
		return status;
	for (int i = optind; i < argc; i++) {
		r = xs_client_read(c, 0, argv[i], &value);
		if (r) {
			status = cli_error(cli, argv[i], r);
			break;
		}
		fwrite(value.data, 1, value.len, stdout);
		putchar('\n');
	}
	buf_free(&value);
	xs_client_close(c);
	return status;
}

/* Writes every PATH VALUE pair in one transaction, starting over when the
 * commit loses a race. */
static int write_pairs_txn(const struct cli *cli, struct xs_client *c, char **pairs, int n)
{
	for (int attempt = 0; attempt < CLI_TXN_RETRIES; attempt++) {
		uint32_t tx;
		int r = xs_client_txn_start(c, &tx);

		if (r)
			return cli_error(cli, "(transaction start)", r);
		for (int i = 0; i < n && r == 0; i += 2) {
			r = xs_client_write(c, tx, pairs[i], pairs[i + 1], strlen(pairs[i + 1]));
			if (r && r != -EAGAIN) {
				xs_client_txn_end(c, tx, false);
				return cli_error(cli, pairs[i], r);
			}
		}
		if (r == 0)
			r = xs_client_txn_end(c, tx, true);
		else
			xs_client_txn_end(c, tx, false);
		if (r == 0)
			return CLI_OK;
		if (r != -EAGAIN)
			return cli_error(cli, "(transaction commit)", r);
	}
	return cli_error(cli, "(transaction)", -EAGAIN);
}

int cmd_write(const struct cli *cli, int argc, char **argv)
{
	struct xs_client *c;
	int status, n, r;

	if (!cli_simple_args(cli, argc, argv, 2, -1, &status))
		return status;
	n = argc - optind;
	if (n % 2)
		return cli_usage_error(cli, "'%s' has no VALUE", argv[argc - 1]);
	status = cli_connect(cli, &c);
	if (status)
		return status;
	if (n == 2) {
		r = xs_client_write(c, 0, argv[optind], argv[optind + 1], strlen(argv[optind + 1]));
		if (r)
			status = cli_error(cli, argv[optind], r);
	} else {
		status = write_pairs_txn(cli, c, argv + optind, n);
	}
	xs_client_close(c);
	return status;
}

/* Runs `op` on every operand from argv[optind], stopping at the first
 * error. */
static int each_path(const struct cli *cli, int argc, char **argv,
		     int (*op)(struct xs_client *, uint32_t, const char *))
{
	struct xs_client *c;
	int status, r;

	status = cli_connect(cli, &c);
	if (status)
		return status;
	for (int i = optind; i < argc; i++) {
		r = op(c, 0, argv[i]);
		if (r) {
			status = cli_error(cli, argv[i], r);
			break;
		}
	}
	xs_client_close(c);
	return status;
}

int cmd_mkdir(const struct cli *cli, int argc, char **argv)
{
	int status;

	if (!cli_simple_args(cli, argc, argv, 1, -1, &status))
		return status;
	return each_path(cli, argc, argv, xs_client_mkdir);
}

int cmd_rm(const struct cli *cli, int argc, char **argv)
{
	int status, opt;

	/* -r is accepted for habit's sake: RM is always recursive. */
	while ((opt = cli_getopt(cli, argc, argv, "r")) != -1) {
		if (opt == 'h')
			return cli_help(cli);
		if (opt != 'r')
			return CLI_USAGE;
	}
	if (!cli_nargs_ok(cli, argc - optind, 1, -1, &status))
		return status;
	return each_path(cli, argc, argv, xs_client_rm);
}

/* Prints " (b0,r5)" for `path`. Returns 0 or -errno. */
static int print_perms(struct xs_client *c, const char *path, const char *sep)
{
	static struct xs_perm perms[CLI_PERMS_MAX];
	unsigned int n;
	int r = xs_client_get_perms(c, 0, path, perms, CLI_PERMS_MAX, &n);

	if (r)
		return r;
	for (unsigned int i = 0; i < n; i++) {
		char s[16];
		xs_perm_format(&perms[i], s, sizeof(s));
		printf("%s%s", i ? sep : "", s);
	}
	return 0;
}

struct ls_opts {
	const struct cli *cli;
	struct xs_client *c;
	bool recursive, perms;
	int status; /* CLI_ERR once anything below the top failed */
};

/* "/a" + "b" -> "/a/b"; "/" + "b" -> "/b". NULL when out of memory. */
static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool slash = dl == 0 || dir[dl - 1] != '/';
	char *p = malloc(dl + slash + nl + 1);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (slash)
		p[dl] = '/';
	memcpy(p + dl + slash, name, nl + 1);
	return p;
}

/* Prints one child line: "name", or with -r `name = "value"`, then the
 * permissions with -p. Returns false if the child vanished meanwhile. */
static bool ls_line(struct ls_opts *o, const char *path, const char *name, unsigned int depth)
{
	struct buf value = BUF_INIT;
	int r = 0;

	if (o->recursive) {
		r = xs_client_read(o->c, 0, path, &value);
		if (r == -ENOENT)
			goto out;
		printf("%*s%s = \"", (int)depth, "", name);
		if (r == 0)
			cli_print_escaped(value.data, value.len);
		putchar('"');
	} else {
		fputs(name, stdout);
	}
	if (o->perms && r == 0) {
		fputs("  (", stdout);
		r = print_perms(o->c, path, ",");
		putchar(')');
	}
	putchar('\n');
	if (r)
		o->status = cli_error(o->cli, path, r);
out:
	buf_free(&value);
	return r != -ENOENT;
}

static int ls_dir(struct ls_opts *o, const char *path, unsigned int depth)
{
	struct buf names = BUF_INIT;
	size_t pos = 0;
	int r;

	r = xs_client_directory(o->c, 0, path, &names, NULL);
	if (r)
		goto out;
	while (pos < names.len) {
		const char *name = (const char *)names.data + pos;
		char *child = path_join(path, name);

		pos += strlen(name) + 1;
		if (!child) {
			r = -ENOMEM;
			break;
		}
		if (ls_line(o, child, name, depth) && o->recursive) {
			int cr = ls_dir(o, child, depth + 1);
			if (cr && cr != -ENOENT)
				o->status = cli_error(o->cli, child, cr);
		}
		free(child);
		if (xs_client_is_broken(o->c))
			break;
	}
out:
	buf_free(&names);
	return r;
}

int cmd_ls(const struct cli *cli, int argc, char **argv)
{
	struct ls_opts o = {.cli = cli};
	int status, opt, r;

	while ((opt = cli_getopt(cli, argc, argv, "rp")) != -1) {
		switch (opt) {
		case 'r':
			o.recursive = true;
			break;
		case 'p':
			o.perms = true;
			break;
		case 'h':
			return cli_help(cli);
		default:
			return CLI_USAGE;
		}
	}
	if (!cli_nargs_ok(cli, argc - optind, 1, 1, &status))
		return status;
	status = cli_connect(cli, &o.c);
	if (status)
		return status;
	r = ls_dir(&o, argv[optind], 0);
	if (r)
		o.status = cli_error(cli, argv[optind], r);
	xs_client_close(o.c);
	return o.status;
}

int cmd_chmod(const struct cli *cli, int argc, char **argv)
{
	struct xs_client *c;
	struct xs_perm *perms;
	int status, n, r;

	if (!cli_simple_args(cli, argc, argv, 2, 1 + CLI_PERMS_MAX, &status))
		return status;
	n = argc - optind - 1;
	perms = calloc((size_t)n, sizeof(*perms));
	if (!perms)
		return cli_error(cli, NULL, -ENOMEM);
	for (int i = 0; i < n; i++) {
		if (xs_perm_parse(argv[optind + 1 + i], &perms[i])) {
			status = cli_usage_error(
				cli, "bad permission '%s' (want r, w, b or n and a domid)",
				argv[optind + 1 + i]);
			goto out;
		}
	}
	status = cli_connect(cli, &c);
	if (status)
		goto out;
	r = xs_client_set_perms(c, 0, argv[optind], perms, (unsigned int)n);
	if (r)
		status = cli_error(cli, argv[optind], r);
	xs_client_close(c);
out:
	free(perms);
	return status;
}

int cmd_getperms(const struct cli *cli, int argc, char **argv)
{
	struct xs_client *c;
	int status, r;

	if (!cli_simple_args(cli, argc, argv, 1, -1, &status))
		return status;
	status = cli_connect(cli, &c);
	if (status)
		return status;
	for (int i = optind; i < argc; i++) {
		r = print_perms(c, argv[i], " ");
		if (r) {
			status = cli_error(cli, argv[i], r);
			break;
		}
		putchar('\n');
	}
	xs_client_close(c);
	return status;
}

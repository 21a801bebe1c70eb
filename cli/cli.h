/* cli.h — what the `airlock` verbs share: the global options, exit codes,
 * error reporting and the store connection.
 *
 * A verb is a function `int cmd_x(const struct cli *cli, int argc, char
 * **argv)`; argv[0] is the verb's name and getopt's state is reset, ready
 * for cli_getopt. It returns an exit status. Adding a verb:
 * write the function in a cmd_*.c file, declare it below, and add one line
 * to the table in airlock.c.
 */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include "xs/xs_client.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of every verb. */
enum cli_exit {
	CLI_OK = 0,    /* success */
	CLI_ERR = 1,   /* the store (or the system) said no */
	CLI_USAGE = 2, /* bad command line */
};

/* The global options and the verb being run. */
struct cli {
	const char *socket; /* -s PATH, or NULL for xs_client_default_path() */
	bool verbose;	    /* -v */
	const struct verb *verb;
};

struct verb {
	const char *name;
	const char *usage;   /* operands and options, after the verb's name */
	const char *summary; /* one line for `airlock help` */
	int (*fn)(const struct cli *cli, int argc, char **argv);
};

/* Connects to the store. Returns CLI_OK with the client in *out, or prints
 * "airlock: cannot connect to the store at PATH: ..." and returns CLI_ERR. */
int cli_connect(const struct cli *cli, struct xs_client **out);

/* Prints "airlock VERB: <message>" and the verb's usage to stderr.
 * Returns CLI_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints the verb's usage (and summary) to stdout. Returns CLI_OK. */
int cli_help(const struct cli *cli);

/* Prints "airlock: VERB WHAT: ENAME (description)" for a -errno value.
 * `what` (a path, a domid; may be NULL) names the object. Returns CLI_ERR. */
int cli_error(const struct cli *cli, const char *what, int neg_err);

/* cli_error with `desc` in place of the generic description (a domain
 * verb's ENOENT is "no such domain", not "no such node"). */
int cli_error_desc(const struct cli *cli, const char *what, int neg_err, const char *desc);

/* A short description of a store error ("no such node"). */
const char *cli_err_desc(int neg_err);

/* Parses the verb's short options like getopt(3), stopping at the first
 * operand (so values such as "-1" after it stay operands) and at "--".
 * Returns the option letter, 'h' for -h/--help, -1 at the end, or '?'
 * after printing a usage error for an unknown option or a missing
 * argument. Operands start at argv[optind]. */
int cli_getopt(const struct cli *cli, int argc, char **argv, const char *optstring);

/* Checks that a verb got between `min` and `max` (-1: no limit) operands.
 * Returns true if so; else prints a usage error, sets *status to CLI_USAGE
 * and returns false. */
bool cli_nargs_ok(const struct cli *cli, int n, int min, int max, int *status);

/* For verbs without options of their own: parses -h/--help and "--", then
 * checks the operand count like cli_nargs_ok. Returns true when the verb
 * should go on with operands from argv[optind]; false with the exit status
 * in *status (help printed, or a usage error). */
bool cli_simple_args(const struct cli *cli, int argc, char **argv, int min, int max, int *status);

/* Parses a domain id (0..65535) operand; prints a usage error and returns
 * CLI_USAGE if it is not one, else CLI_OK. */
int cli_parse_domid(const struct cli *cli, const char *s, unsigned int *out);

/* Writes `len` bytes to stdout escaping what would break a quoted line:
 * backslash, double quote, control and non-ASCII bytes (\n, \t, \xHH). */
void cli_print_escaped(const uint8_t *p, size_t len);

/* Verbs: cmd_store.c */
int cmd_read(const struct cli *cli, int argc, char **argv);
int cmd_write(const struct cli *cli, int argc, char **argv);
int cmd_mkdir(const struct cli *cli, int argc, char **argv);
int cmd_rm(const struct cli *cli, int argc, char **argv);
int cmd_ls(const struct cli *cli, int argc, char **argv);
int cmd_chmod(const struct cli *cli, int argc, char **argv);
int cmd_getperms(const struct cli *cli, int argc, char **argv);

/* cmd_watch.c */
int cmd_watch(const struct cli *cli, int argc, char **argv);

/* cmd_store_admin.c */
int cmd_introduce(const struct cli *cli, int argc, char **argv);
int cmd_release(const struct cli *cli, int argc, char **argv);
int cmd_set_target(const struct cli *cli, int argc, char **argv);
int cmd_quota(const struct cli *cli, int argc, char **argv);
int cmd_store_control(const struct cli *cli, int argc, char **argv);

/* cmd_create.c, cmd_domain.c: domains */
int cmd_create(const struct cli *cli, int argc, char **argv);
int cmd_list(const struct cli *cli, int argc, char **argv);
int cmd_console(const struct cli *cli, int argc, char **argv);
int cmd_log(const struct cli *cli, int argc, char **argv);
int cmd_shutdown(const struct cli *cli, int argc, char **argv);
int cmd_reboot(const struct cli *cli, int argc, char **argv);
int cmd_destroy(const struct cli *cli, int argc, char **argv);
int cmd_info(const struct cli *cli, int argc, char **argv); /* cmd_info.c */

struct dom_record;
/* Attaches the terminal to a running domain's console (cmd_domain.c). */
int cli_attach_console(const struct cli *cli, const struct dom_record *rec);

#endif

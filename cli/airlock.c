/* airlock.c — the `airlock` command: global options and the verb table.
 *
 *   airlock [-s PATH] [-v] VERB [ARGS...]
 *
 * Each verb lives in a cmd_*.c file by group; this file only finds the verb
 * and hands it its arguments. See docs/cli.md.
 */
#include "cli.h"
#include "common/log.h"
#include "common/util.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#ifndef AIRLOCK_VERSION
#define AIRLOCK_VERSION "unknown"
#endif

static int cmd_help(const struct cli *cli, int argc, char **argv);

static const struct verb verbs[] = {
	{"create",
	 "[-c] [-n] CONFIG\n  -c  attach the console once it runs\n"
	 "  -n  check the config and print it normalized; start nothing",
	 "create a domain from an xl.cfg-style config", cmd_create},
	{"list", "", "list running domains", cmd_list},
	{"console", "[--dm] NAME  (Ctrl-] leaves)",
	 "attach to a domain's serial console (--dm: its stub domain's shell)", cmd_console},
	{"log", "NAME", "print a domain's console log", cmd_log},
	{"shutdown", "[-w SECONDS] NAME", "ACPI power-off; wait until it is done (default 120 s)",
	 cmd_shutdown},
	{"reboot", "[-w SECONDS] NAME", "clean reboot: power-off, then a fresh engine", cmd_reboot},
	{"destroy", "[-w SECONDS] NAME", "stop a domain at once and remove everything of it",
	 cmd_destroy},
	{"info", "", "show the accelerator (and why), QEMU, cgroups and host resources", cmd_info},
	{"read", "PATH...", "print the value of each node", cmd_read},
	{"write", "PATH VALUE [PATH VALUE...]", "set nodes (several pairs: one transaction)",
	 cmd_write},
	{"mkdir", "PATH...", "create empty nodes", cmd_mkdir},
	{"rm", "[-r] PATH...  (always recursive; -r is accepted and ignored)",
	 "remove nodes and everything below them", cmd_rm},
	{"ls",
	 "[-r] [-p] PATH\n  -r  the whole tree below PATH with values\n"
	 "  -p  show each node's permissions",
	 "list the children of a node", cmd_ls},
	{"watch",
	 "[-n COUNT] [-t SECONDS] PATH...\n  -n  exit after COUNT events\n"
	 "  -t  exit after SECONDS (status 1 if COUNT events did not arrive)",
	 "print the path of every change under PATH", cmd_watch},
	{"chmod", "PATH PERM...  (PERM: [rwbn]DOMID; the first is the owner and default)",
	 "set a node's permissions", cmd_chmod},
	{"getperms", "PATH...", "print a node's permissions", cmd_getperms},
	{"introduce", "DOMID", "introduce a domain to the store", cmd_introduce},
	{"release", "DOMID", "release a domain from the store", cmd_release},
	{"set-target", "DOMID TARGET", "let DOMID act with TARGET's privileges", cmd_set_target},
	{"quota", "[DOMID] [NAME [VALUE]]",
	 "list, get or set the store's quotas (global, or DOMID's)", cmd_quota},
	{"store-control", "CMD [ARG...]", "send a CONTROL command to the store", cmd_store_control},
	{"help", "[VERB]", "show the verbs, or one verb's usage", cmd_help},
};

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: airlock [-s PATH] [-v] VERB [ARGS...]\n"
		"\n"
		"  -s, --socket PATH  the store's socket (default: $XENSTORED_PATH, else %s)\n"
		"  -v, --verbose      log every store request to stderr\n"
		"  -h, --help         this help; `airlock help VERB` for one verb\n"
		"      --version      print the version\n"
		"\n"
		"verbs:\n",
		XS_DEFAULT_SOCKET);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-14s %s\n", verbs[i].name, verbs[i].summary);
}

static int cmd_help(const struct cli *cli, int argc, char **argv)
{
	struct cli one = *cli;
	int opt;

	while ((opt = cli_getopt(cli, argc, argv, "")) != -1)
		if (opt != 'h')
			return CLI_USAGE;
	if (optind == argc) {
		usage(stdout);
		return CLI_OK;
	}
	if (argc - optind > 1)
		return cli_usage_error(cli, "too many operands");
	one.verb = verb_find(argv[optind]);
	if (!one.verb)
		return cli_usage_error(cli, "no verb '%s'", argv[optind]);
	return cli_help(&one);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli cli = {0};
	int opt, status;

	log_set_ident("airlock");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:s:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			cli.socket = optarg;
			break;
		case 'v':
			cli.verbose = true;
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("airlock %s\n", AIRLOCK_VERSION);
			return CLI_OK;
		case ':':
			fprintf(stderr, "airlock: option %s needs an argument\n", argv[optind - 1]);
			return CLI_USAGE;
		default:
			fprintf(stderr, "airlock: unknown option %s\n", argv[optind - 1]);
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	cli.verb = verb_find(argv[optind]);
	if (!cli.verb) {
		fprintf(stderr, "airlock: no verb '%s' (see airlock --help)\n", argv[optind]);
		return CLI_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* the verb parses its own options from argv[1] */
	status = cli.verb->fn(&cli, argc, argv);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "airlock: %s: cannot write to stdout\n", cli.verb->name);
		if (status == CLI_OK)
			status = CLI_ERR;
	}
	return status;
}

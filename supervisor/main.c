/* main.c — airlock-supervisor: owns one domain from creation to its end.
 *
 *   airlock-supervisor --domid N --uuid UUID --accel tcg|kvm --run-dir DIR
 *                      [--deny-elevate] [--ready-fd FD] CONFIG
 *
 * Started by `airlock create` in a session of its own (it outlives the
 * CLI); logs to stderr, which the CLI points at <log dir>/<name>.log. Not
 * meant to be run by hand. See sup.c.
 */
#include "supervisor/sup.h"
#include "common/log.h"
#include "common/util.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"domid", required_argument, NULL, 'd'},
		{"uuid", required_argument, NULL, 'u'},
		{"accel", required_argument, NULL, 'a'},
		{"run-dir", required_argument, NULL, 'r'},
		{"deny-elevate", no_argument, NULL, 'e'},
		{"ready-fd", required_argument, NULL, 'f'},
		{"log-level", required_argument, NULL, 'l'},
		{0},
	};
	struct sup_params p = {.ready_fd = -1, .accel = "tcg"};
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct dom_config *cfg = NULL;
	unsigned v;
	int c, rc;

	log_set_ident("airlock-supervisor");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_uint(optarg, 0x7fef, &p.domid) || p.domid == 0)
				return 2;
			break;
		case 'u':
			snprintf(p.uuid, sizeof(p.uuid), "%s", optarg);
			break;
		case 'a':
			p.accel = optarg;
			break;
		case 'r':
			p.run_dir = optarg;
			break;
		case 'e':
			p.deny_elevate = true;
			break;
		case 'f':
			if (parse_uint(optarg, 1 << 20, &v))
				return 2;
			p.ready_fd = (int)v;
			break;
		case 'l': {
			enum log_level lvl;
			if (log_parse_level(optarg, &lvl) == 0)
				log_set_level(lvl);
			break;
		}
		default:
			fprintf(stderr, "usage: airlock-supervisor --domid N --uuid UUID --accel A "
					"--run-dir DIR [--deny-elevate] [--ready-fd FD] CONFIG\n");
			return 2;
		}
	}
	/* Our children (engine, passt) must not hold the CLI's pipe open. */
	if (p.ready_fd >= 0)
		fcntl(p.ready_fd, F_SETFD, FD_CLOEXEC);
	if (optind != argc - 1 || !p.domid || !p.uuid[0] || !p.run_dir) {
		fprintf(stderr,
			"airlock-supervisor: missing arguments (not meant to be run by hand)\n");
		return 2;
	}
	if (domcfg_load(argv[optind], &cfg, &diag)) {
		char msg[600];
		snprintf(msg, sizeof(msg), "err config: %s\n",
			 diag.n_errors ? diag.errors[0] : "cannot load");
		log_err("%s", msg + 4);
		if (p.ready_fd >= 0)
			write_all(p.ready_fd, msg, strlen(msg));
		cfg_diag_free(&diag);
		return 1;
	}
	cfg_diag_free(&diag);
	rc = sup_run(cfg, &p);
	domcfg_free(cfg);
	return rc;
}

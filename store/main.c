/* main.c — airlock-store: the xenstore-compatible store daemon.
 *
 *   airlock-store --socket PATH --state DIR [options]
 *
 * Runs in the foreground, logs to stderr, exits cleanly on SIGTERM/SIGINT.
 * See docs/store.md.
 */
#include "common/log.h"
#include "common/loop.h"
#include "common/util.h"
#include "store/domain.h"
#include "store/server.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: airlock-store --socket PATH --state DIR [options]\n"
		   "\n"
		   "  -s, --socket PATH        main socket (domain 0, privileged)\n"
		   "  -d, --state DIR          state directory (created if missing)\n"
		   "  -D, --domain-dir DIR     sockets of introduced domains (default PATH.d)\n"
		   "      --sync MODE          process: survive a daemon crash (default)\n"
		   "                           power: also fdatasync before replying\n"
		   "      --quota NAME=VALUE   global quota default (repeatable); names:\n"
		   "                           nodes watches transactions node-size\n"
		   "                           permissions memory outstanding (0 = none)\n"
		   "      --max-conn-buffer N  output queued per connection before it is\n"
		   "                           dropped (default 1M)\n"
		   "  -l, --log-level LEVEL    err, warn, info (default), debug\n"
		   "  -h, --help               this text\n"
		   "      --version            print the version\n");
}

static void on_signal(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si))
		log_info("signal %u: shutting down", si.ssi_signo);
	loop_stop(data);
}

struct quota_arg {
	int q;
	unsigned v;
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"state", required_argument, NULL, 'd'},
		{"domain-dir", required_argument, NULL, 'D'},
		{"sync", required_argument, NULL, 'S'},
		{"quota", required_argument, NULL, 'q'},
		{"max-conn-buffer", required_argument, NULL, 'B'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct server_options so = {.max_conn_buffer = 1u << 20};
	struct store_options sto = {.sync = STORE_SYNC_PROCESS};
	struct quota_arg quotas[Q_COUNT * 2];
	unsigned nquotas = 0;
	char *domdir = NULL;
	struct loop *loop = NULL;
	struct server *srv = NULL;
	struct store *st = NULL;
	struct loop_fd *sigh = NULL;
	sigset_t mask;
	int sfd = -1, c, rc = 1;

	log_set_ident("airlock-store");
	while ((c = getopt_long(argc, argv, "s:d:D:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			so.socket_path = optarg;
			break;
		case 'd':
			sto.state_dir = optarg;
			break;
		case 'D':
			so.domain_dir = optarg;
			break;
		case 'S':
			if (strcmp(optarg, "process") == 0)
				sto.sync = STORE_SYNC_PROCESS;
			else if (strcmp(optarg, "power") == 0)
				sto.sync = STORE_SYNC_POWER;
			else {
				fprintf(stderr,
					"airlock-store: --sync: expected process or power\n");
				return 2;
			}
			break;
		case 'q': {
			char *eq = strchr(optarg, '=');
			int q;
			if (!eq || nquotas == ARRAY_SIZE(quotas)) {
				fprintf(stderr, "airlock-store: --quota: expected NAME=VALUE\n");
				return 2;
			}
			*eq = '\0';
			q = quota_from_name(optarg);
			if (q < 0 || parse_uint(eq + 1, UINT32_MAX, &quotas[nquotas].v)) {
				fprintf(stderr,
					"airlock-store: --quota %s=%s: unknown quota or bad value"
					" (names: %s)\n",
					optarg, eq + 1, quota_names());
				return 2;
			}
			quotas[nquotas++].q = q;
			break;
		}
		case 'B': {
			uint64_t v;
			if (parse_size(optarg, &v) || v < 65536 || v > (1ull << 32)) {
				fprintf(stderr, "airlock-store: --max-conn-buffer: 64K..4G\n");
				return 2;
			}
			so.max_conn_buffer = (size_t)v;
			break;
		}
		case 'l': {
			enum log_level lvl;
			if (log_parse_level(optarg, &lvl)) {
				fprintf(stderr,
					"airlock-store: --log-level: err, warn, info, debug\n");
				return 2;
			}
			log_set_level(lvl);
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("airlock-store 0.1.0\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!so.socket_path || !sto.state_dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!so.domain_dir) {
		if (asprintf(&domdir, "%s.d", so.socket_path) < 0)
			return 1;
		so.domain_dir = domdir;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || loop_new(&loop) || loop_add_fd(loop, sfd, EPOLLIN, on_signal, loop, &sigh)) {
		log_err("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	if (server_new(loop, &so, &srv))
		goto out;
	sto.host = &server_host_ops;
	sto.host_ctx = srv;
	if (store_open(&sto, &st))
		goto out;
	server_attach(srv, st);
	for (unsigned i = 0; i < nquotas; i++) {
		/* Command-line defaults apply to this run (not persisted). */
		store_set_global_quota(st, quotas[i].q, quotas[i].v);
	}
	if (store_restore_domains(st)) {
		log_err("cannot restore the sockets of introduced domains");
		goto out;
	}
	log_info("serving %s (state %s, sync %s)", so.socket_path, sto.state_dir,
		 sto.sync == STORE_SYNC_POWER ? "power" : "process");
	rc = loop_run(loop) ? 1 : 0;
out:
	server_free(srv);
	store_close(st);
	loop_del_fd(sigh);
	loop_free(loop);
	if (sfd >= 0)
		close(sfd);
	free(domdir);
	return rc;
}

/* airlock-relay — one per stub domain: the engine QEMU's vhost-user back
 * end in dom0, forwarding to airlock-dm inside the stub domain over the
 * stub protocol, with ivshmem doorbells for kicks and calls. docs/relay.md.
 *
 *   airlock-relay --name NAME --ram-fd N --ram-size SIZE
 *                 --ivshmem-fd N --port-fd N
 *                 --device blk|net,fd=N,features=0x..,queues=N[,config=HEX] ...
 *                 [--no-sandbox] [--allow-root]
 *
 * Every fd is inherited from the supervisor: the guest-RAM memfd, and
 * listening UNIX sockets: one per device for the engine, one for the stub
 * QEMU's ivshmem-doorbell chardev, one for its virtio-serial port chardev
 * (the relay listens, QEMU connects as a client: `-chardev
 * socket,path=...,reconnect=1`; the relay is started first and survives
 * the stub QEMU's chardev reconnecting). Logs go to stderr; SIGTERM or
 * SIGINT exits.
 *
 * Confinement (docs/relay.md): the supervisor starts it as its own uid with
 * NoNewPrivs (supervisor/spawn.c); it refuses to run as root unless
 * --allow-root, and once relay_new() has made every fd it will own it
 * installs its seccomp allowlist (relay_sandbox.c) before serving anything.
 * --no-sandbox leaves the filter off, for debugging (strace, gdb).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/util.h"
#include "relay/relay.h"
#include "relay/relay_desc.h"
#include "relay/relay_sandbox.h"

#define MAX_FD (1u << 20)

static void usage(void)
{
	fprintf(stderr,
		"usage: airlock-relay --name NAME --ram-fd N --ram-size SIZE --ivshmem-fd N\n"
		"                     --port-fd N --device SPEC [--device SPEC ...]\n"
		"                     [--log-level err|warn|info|debug] [--no-sandbox]\n"
		"                     [--allow-root]\n"
		"SPEC:  blk|net,fd=N,features=0xHEX,queues=N[,config=HEX]\n");
}

static void on_signal(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		log_info("signal %u: exiting", si.ssi_signo);
	loop_stop(data);
}

static int parse_fd(const char *s, int *out)
{
	unsigned int n;

	if (parse_uint(s, MAX_FD, &n) < 0)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"ram-fd", required_argument, NULL, 'r'},
		{"ram-size", required_argument, NULL, 's'},
		{"ivshmem-fd", required_argument, NULL, 'i'},
		{"port-fd", required_argument, NULL, 'p'},
		{"device", required_argument, NULL, 'd'},
		{"log-level", required_argument, NULL, 'l'},
		{"no-sandbox", no_argument, NULL, 'S'},
		{"allow-root", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct relay_config cfg = {.ram_fd = -1, .ivshmem_fd = -1, .port_fd = -1};
	char err[256];
	enum log_level lvl;
	bool sandbox = true, allow_root = false;
	int c;

	log_set_ident("airlock-relay");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			cfg.name = optarg;
			break;
		case 'r':
			if (parse_fd(optarg, &cfg.ram_fd) < 0)
				goto bad;
			break;
		case 's':
			if (parse_size(optarg, &cfg.ram_size) < 0)
				goto bad;
			break;
		case 'i':
			if (parse_fd(optarg, &cfg.ivshmem_fd) < 0)
				goto bad;
			break;
		case 'p':
			if (parse_fd(optarg, &cfg.port_fd) < 0)
				goto bad;
			break;
		case 'd':
			if (cfg.ndevs >= RELAY_MAX_DEVICES) {
				log_err("at most %u devices", RELAY_MAX_DEVICES);
				return 2;
			}
			if (relay_desc_parse(optarg, &cfg.devs[cfg.ndevs], err, sizeof(err)) < 0) {
				log_err("--device %s: %s", optarg, err);
				return 2;
			}
			cfg.ndevs++;
			break;
		case 'l':
			if (log_parse_level(optarg, &lvl) < 0)
				goto bad;
			log_set_level(lvl);
			break;
		case 'S':
			sandbox = false;
			break;
		case 'R':
			allow_root = true;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || cfg.ram_fd < 0 || cfg.ivshmem_fd < 0 || cfg.port_fd < 0 ||
	    cfg.ndevs == 0) {
		usage();
		return 2;
	}
	if ((getuid() == 0 || geteuid() == 0) && !allow_root) {
		log_err("refusing to run as root: the relay parses what the stub domain and the "
			"engine send; start it as its own uid (--allow-root overrides)");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct loop *loop;
	if (sfd < 0 || loop_new(&loop) < 0) {
		log_err("start-up: %s", strerror(errno));
		return 1;
	}
	struct relay *r;
	if (loop_add_fd(loop, sfd, EPOLLIN, on_signal, loop, NULL) < 0 ||
	    relay_new(&cfg, loop, &r) < 0)
		return 1;
	/* Every fd the relay will own exists now; nothing is served yet. */
	if (sandbox) {
		int sr = relay_sandbox_install();
		if (sr < 0) {
			log_err("seccomp filter: %s", strerror(-sr));
			return 1;
		}
	} else {
		log_warn("--no-sandbox: running without the seccomp filter");
	}
	log_info("%s: relaying %u device(s)", cfg.name ? cfg.name : "relay", cfg.ndevs);
	int rc = loop_run(loop);
	relay_free(r);
	loop_free(loop);
	close(sfd);
	return rc < 0 ? 1 : 0;
bad:
	log_err("bad value for an option: %s", optarg);
	usage();
	return 2;
}

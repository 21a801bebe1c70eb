/* airlock-dm — airlock's device model: virtio devices served over
 * vhost-user, one listening socket per device.
 *
 *   airlock-dm --socket-path SOCK --blk-file IMAGE [--read-only]
 *   airlock-dm --fd N --blk-file IMAGE [--read-only]
 *   airlock-dm --device SPEC [--device SPEC ...]     (see dm/devspec.h)
 *   airlock-dm --stubdom PORT --device SPEC ...      (in a stub domain)
 *   airlock-dm --print-capabilities
 *   airlock-dm --seed-random < HEX                   (in a stub domain)
 *
 * The first two forms serve one disk, like QEMU's vhost-user-blk back end,
 * so other front ends and tools can drive it. The --device form is what the
 * supervisor uses: every device of one guest in one process, each on a
 * listening socket the supervisor made and handed over. --stubdom serves
 * the devices (each spec with channel=K, K its position) to the relay over
 * the stub protocol on the virtio-serial port PORT (dm/stub_transport.h),
 * with guest RAM and vectors from the ivshmem device through VFIO
 * (dm/stub_vfio.c), and exits with status 1 when the port closes (the stub
 * domain's init starts a new one: dm/stub_main.h).
 *
 * Follows the vhost-user back-end program conventions: stays in the
 * foreground, logs to stderr, exits on SIGTERM/SIGINT. Each device serves
 * one front end at a time and keeps listening after it goes away (QEMU's
 * reconnect=).
 *
 * --seed-random reads a seed in hex on stdin and reseeds the kernel's
 * random number generator with it (dm/rng_seed.h), then exits: the stub
 * domain's init runs it once when it is restored from a template.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/util.h"
#include "dm/devices.h"
#include "dm/devspec.h"
#include "dm/endpoint.h"
#include "dm/rng_seed.h"
#include "dm/stub_main.h"

#define MAX_DEVICES 16

static void usage(FILE *f)
{
	fprintf(f,
		"usage: airlock-dm (--socket-path SOCK | --fd N) --blk-file IMAGE [--read-only]\n"
		"       airlock-dm --device SPEC [--device SPEC ...]\n"
		"       airlock-dm --stubdom PORT --device SPEC [--device SPEC ...]\n"
		"       airlock-dm --print-capabilities\n"
		"       airlock-dm --seed-random < HEX\n"
		"SPEC:  blk,fd=N|socket=PATH|channel=K,file=IMAGE|pci=BDF[,read-only=on]\n"
		"       net,fd=N|socket=PATH|channel=K,tap-fd=N|stream-fd=N|packet=IFNAME"
		"[,mac=MAC][,mtu=N][,offload=on]\n");
}

/* --seed-random: the seed on stdin (at most RNG_SEED_MAX bytes in hex and
 * a newline) into the kernel's generator. Returns the exit status. */
static int seed_random(void)
{
	char text[2 * RNG_SEED_MAX + 8];
	uint8_t seed[RNG_SEED_MAX];
	size_t n = 0;
	ssize_t k;
	int r;

	while (n < sizeof(text) && (k = read(STDIN_FILENO, text + n, sizeof(text) - n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			log_err("--seed-random: stdin: %s", strerror(errno));
			return 1;
		}
		n += (size_t)k;
	}
	r = rng_seed_parse(text, n, seed);
	explicit_bzero(text, sizeof(text));
	if (r < 0) {
		log_err("--seed-random: expected %d to %d bytes in hex on stdin", RNG_SEED_MIN,
			RNG_SEED_MAX);
		return 1;
	}
	int e = rng_seed_apply(seed, (size_t)r);
	explicit_bzero(seed, sizeof(seed));
	if (e) {
		log_err("--seed-random: %s", strerror(-e));
		return 1;
	}
	return 0;
}

static void on_signal(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct loop *loop = data;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) > 0)
		log_info("signal %u: exiting", si.ssi_signo);
	loop_stop(loop);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket-path", required_argument, NULL, 's'},
		{"fd", required_argument, NULL, 'f'},
		{"blk-file", required_argument, NULL, 'b'},
		{"read-only", no_argument, NULL, 'r'},
		{"device", required_argument, NULL, 'd'},
		{"stubdom", required_argument, NULL, 'S'},
		{"print-capabilities", no_argument, NULL, 'c'},
		{"seed-random", no_argument, NULL, 'R'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct dm_devspec specs[MAX_DEVICES];
	struct dm_device *devs[MAX_DEVICES] = {0};
	unsigned int nspecs = 0, ndevs = 0;
	const char *sock = NULL, *image = NULL, *stubdom = NULL;
	int fd = -1, o, rc = 1;
	bool ro = false;
	char err[256];
	struct loop *loop = NULL;

	log_set_ident("airlock-dm");
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned int v;
		enum log_level lvl;
		switch (o) {
		case 's':
			sock = optarg;
			break;
		case 'f':
			if (parse_uint(optarg, 1u << 20, &v) < 0) {
				usage(stderr);
				goto out;
			}
			fd = (int)v;
			break;
		case 'S':
			stubdom = optarg;
			break;
		case 'b':
			image = optarg;
			break;
		case 'r':
			ro = true;
			break;
		case 'd':
			if (nspecs == MAX_DEVICES) {
				log_err("at most %d devices", MAX_DEVICES);
				goto out;
			}
			if (dm_devspec_parse(optarg, &specs[nspecs], err, sizeof(err)) < 0) {
				log_err("--device %s", err);
				goto out;
			}
			nspecs++;
			break;
		case 'l':
			if (log_parse_level(optarg, &lvl) < 0) {
				usage(stderr);
				goto out;
			}
			log_set_level(lvl);
			break;
		case 'R':
			rc = seed_random();
			goto out;
		case 'c':
			/* The vhost-user back-end convention describes one
			 * type; the one-disk form is the conventional one. */
			printf("{\n  \"type\": \"block\",\n  \"features\": [\n"
			       "    \"blk-file\",\n    \"read-only\"\n  ]\n}\n");
			rc = 0;
			goto out;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc || (nspecs > 0 && (sock || fd >= 0 || image || ro))) {
		usage(stderr);
		goto out;
	}
	if (stubdom || nspecs > 0) {
		for (unsigned int i = 0; i < nspecs; i++) {
			if (!stubdom && specs[i].channel) {
				log_err("--device %u: channel= needs --stubdom", i + 1);
				goto out;
			}
			if (stubdom && specs[i].channel != i + 1) {
				log_err("--device %u: --stubdom needs channel=%u (the k-th device "
					"is "
					"channel k)",
					i + 1, i + 1);
				goto out;
			}
		}
	}
	if (stubdom) {
		if (nspecs == 0) {
			usage(stderr);
			goto out;
		}
	}
	if (nspecs == 0) {
		if (!image || (!sock) == (fd < 0)) {
			usage(stderr);
			goto out;
		}
		specs[0] = (struct dm_devspec){
			.kind = DM_KIND_BLK,
			.listen_fd = fd,
			.socket_path = sock ? strdup(sock) : NULL,
			.file = strdup(image),
			.read_only = ro,
			.tap_fd = -1,
			.stream_fd = -1,
		};
		nspecs = 1;
		if (!specs[0].file || (sock && !specs[0].socket_path)) {
			log_err("out of memory");
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	int sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	if (sfd < 0 || loop_new(&loop) < 0 ||
	    loop_add_fd(loop, sfd, EPOLLIN, on_signal, loop, NULL) < 0) {
		log_err("cannot set up the event loop");
		goto out;
	}
	for (unsigned int i = 0; i < nspecs; i++) {
		if (dm_device_open(&specs[i], loop, i, &devs[i]) < 0)
			goto out;
		ndevs++;
	}
	if (stubdom)
		rc = dm_stub_serve(loop, sfd, stubdom, devs, ndevs);
	else
		rc = loop_run(loop) < 0 ? 1 : 0;
out:
	for (unsigned int i = 0; i < ndevs; i++)
		dm_device_close(devs[i]);
	for (unsigned int i = 0; i < nspecs; i++)
		dm_devspec_free(&specs[i]);
	loop_free(loop);
	return rc;
}

/* airlock-dm — airlock's device model: virtio devices served over
 * vhost-user.
 *
 *   airlock-dm --socket-path SOCK --blk-file IMAGE [--read-only]
 *   airlock-dm --fd N --blk-file IMAGE [--read-only]
 *   airlock-dm --print-capabilities
 *
 * Follows the vhost-user back-end program conventions: stays in the
 * foreground, logs to stderr, exits on SIGTERM/SIGINT. It serves one front
 * end at a time and keeps listening after that front end goes away (QEMU's
 * reconnect=); a second front end while one is connected is refused.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/util.h"
#include "dm/blk.h"
#include "vhost/vhost.h"

struct dm {
	struct loop *loop;
	int listen_fd;
	struct blk_dev *blk;
	struct vhost_conn *conn;
	struct loop_fd *conn_h;
};

/* ---- the loop behind vhost_watch_ops ---- */
struct watch {
	void (*cb)(void *);
	void *arg;
	struct loop_fd *h;
};

static void watch_fired(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct watch *w = data;
	w->cb(w->arg);
}

static void *dm_watch(void *ctx, int fd, void (*cb)(void *), void *arg)
{
	struct dm *dm = ctx;
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cb = cb;
	w->arg = arg;
	if (loop_add_fd(dm->loop, fd, EPOLLIN, watch_fired, w, &w->h) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

static void dm_unwatch(void *ctx, void *handle)
{
	struct watch *w = handle;
	loop_del_fd(w->h);
	free(w);
}

static const struct vhost_watch_ops dm_watch_ops = {dm_watch, dm_unwatch};

/* ---- connections ---- */
static void drop_conn(struct dm *dm)
{
	loop_del_fd(dm->conn_h);
	vhost_conn_free(dm->conn);
	dm->conn = NULL;
	dm->conn_h = NULL;
}

static void on_conn(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct dm *dm = data;
	int rc = vhost_conn_on_readable(dm->conn);
	if (rc < 0) {
		log_info("front end %s", rc == -EPIPE ? "disconnected" : "dropped");
		drop_conn(dm);
	}
}

static void on_accept(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct dm *dm = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (dm->conn) {
		log_warn("a front end is already connected: refusing another");
		close(c);
		return;
	}
	if (vhost_conn_new(c, &blk_vdev_ops, dm->blk, &dm_watch_ops, dm, &dm->conn) < 0) {
		close(c);
		return;
	}
	if (loop_add_fd(dm->loop, c, EPOLLIN, on_conn, dm, &dm->conn_h) < 0) {
		vhost_conn_free(dm->conn);
		dm->conn = NULL;
		return;
	}
	log_info("front end connected");
}

static void on_signal(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct dm *dm = data;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) > 0)
		log_info("signal %u: exiting", si.ssi_signo);
	loop_stop(dm->loop);
}

static int listen_on(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: airlock-dm (--socket-path SOCK | --fd N) --blk-file IMAGE [--read-only]\n"
		"       airlock-dm --print-capabilities\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket-path", required_argument, NULL, 's'},
		{"fd", required_argument, NULL, 'f'},
		{"blk-file", required_argument, NULL, 'b'},
		{"read-only", no_argument, NULL, 'r'},
		{"print-capabilities", no_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *image = NULL;
	int fd = -1, o;
	bool ro = false;
	struct dm dm = {.listen_fd = -1};

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
				return 1;
			}
			fd = (int)v;
			break;
		case 'b':
			image = optarg;
			break;
		case 'r':
			ro = true;
			break;
		case 'l':
			if (log_parse_level(optarg, &lvl) < 0) {
				usage(stderr);
				return 1;
			}
			log_set_level(lvl);
			break;
		case 'c':
			printf("{\n  \"type\": \"block\",\n  \"features\": [\n"
			       "    \"blk-file\",\n    \"read-only\"\n  ]\n}\n");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!image || (!sock) == (fd < 0) || optind != argc) {
		usage(stderr);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	int rc = blk_open(image, ro, NULL, &dm.blk);
	if (rc < 0) {
		log_err("%s: %s", image, strerror(-rc));
		return 1;
	}
	dm.listen_fd = sock ? listen_on(sock) : fd;
	if (dm.listen_fd < 0) {
		log_err("%s: %s", sock, strerror(-dm.listen_fd));
		return 1;
	}
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	int sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	if (sfd < 0 || loop_new(&dm.loop) < 0 ||
	    loop_add_fd(dm.loop, dm.listen_fd, EPOLLIN, on_accept, &dm, NULL) < 0 ||
	    loop_add_fd(dm.loop, sfd, EPOLLIN, on_signal, &dm, NULL) < 0) {
		log_err("cannot set up the event loop");
		return 1;
	}
	log_info("serving %s%s on %s", image, ro ? " (read-only)" : "",
		 sock ? sock : "the inherited socket");
	rc = loop_run(dm.loop);
	if (dm.conn)
		drop_conn(&dm);
	loop_free(dm.loop);
	close(sfd);
	close(dm.listen_fd);
	if (sock)
		unlink(sock);
	blk_close(dm.blk);
	return rc < 0 ? 1 : 0;
}

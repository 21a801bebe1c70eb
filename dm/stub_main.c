/* stub_main.c — see stub_main.h.
 *
 * The port is a virtio-serial port (/dev/vportNpM). Its guest end behaves
 * as the virtio_console driver makes it: while the host end (the stub
 * QEMU's chardev, connected to the relay) is not connected, poll reports
 * POLLHUP and read returns 0; a blocking write waits until it is. So the
 * port is opened blocking (the transport writes whole 32-byte frames and
 * counts a short write as lost), and before the transport starts we wait
 * for the host end, polling every 50 ms: a POLLHUP seen by the transport
 * means the relay went away, and the program exits so that the init starts
 * a new one against the new connection.
 */
#include "dm/stub_main.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "dm/stub_transport.h"
#include "dm/stub_vfio.h"
#include "stubproto/sp_wire.h"

#define WAIT_STEP_MS 50
#define WAIT_LOG_MS  10000

/* Opens the port once its host end is connected. Returns the fd, -EINTR
 * when stop_fd became readable first, or -errno. */
static int port_open(const char *path, int stop_fd)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		log_err("stub: %s: %s", path, strerror(errno));
		return -errno;
	}
	for (unsigned int waited = 0;; waited += WAIT_STEP_MS) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLOUT},
				      {.fd = stop_fd, .events = POLLIN}};
		if (poll(p, 2, 0) < 0 && errno != EINTR) {
			log_err("stub: poll %s: %s", path, strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN) {
			close(fd);
			return -EINTR;
		}
		if (!(p[0].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			if (waited)
				log_info("stub: %s connected after %u ms", path, waited);
			return fd;
		}
		if (waited % WAIT_LOG_MS == 0)
			log_info("stub: waiting for the relay's end of %s", path);
		nanosleep(&(struct timespec){.tv_nsec = WAIT_STEP_MS * 1000000L}, NULL);
	}
	close(fd);
	return -EIO;
}

struct watch {
	struct loop *loop;
	struct stub_transport *t;
	bool stopping;
};

static void stop_loop(void *data)
{
	loop_stop(data);
}

/* Before every sleep: a closed port ends the program. loop_stop alone
 * would only take effect after the sleep, and with the port unwatched
 * nothing may ever wake the loop: a timer due now does. */
static void check_closed(void *data)
{
	struct watch *w = data;
	if (w->t && !w->stopping && stub_transport_closed(w->t)) {
		w->stopping = true;
		if (!loop_add_timer(w->loop, 0, stop_loop, w->loop))
			loop_stop(w->loop);
	}
}

int dm_stub_serve(struct loop *loop, int stop_fd, const char *port, struct dm_device *const *devs,
		  unsigned int ndevs)
{
	struct stub_device sd[SP_MAX_CHANNELS - 1];
	struct stub_vfio *v = NULL;
	struct watch w = {.loop = loop};
	int rc = 1;

	if (ndevs == 0 || ndevs >= SP_MAX_CHANNELS)
		return 1;
	for (unsigned int i = 0; i < ndevs; i++)
		dm_device_vdev(devs[i], &sd[i].ops, &sd[i].dev);
	int fd = port_open(port, stop_fd);
	if (fd == -EINTR)
		return 0;
	if (fd < 0)
		return 1;
	if (stub_vfio_open(&v) < 0)
		goto out;
	if (stub_vfio_vectors(v) < 1 + 8 * ndevs) {
		log_err("stub: %u MSI-X vectors, %u devices need %u", stub_vfio_vectors(v), ndevs,
			1 + 8 * ndevs);
		goto out;
	}
	struct stub_params p = {
		.port_fd = fd,
		.bar = stub_vfio_bar(v),
		.bus = &stub_vfio_bus_ops,
		.bus_ctx = v,
		.devs = sd,
		.ndevs = ndevs,
	};
	int e = stub_transport_new(loop, &p, &w.t);
	if (e < 0) {
		log_err("stub: cannot start the transport: %s", strerror(-e));
		goto out;
	}
	if (loop_add_prepare(loop, check_closed, &w) < 0)
		goto out;
	log_info("stub: serving %u device(s) over %s", ndevs, port);
	/* The stub's init reports `running` at this mark rather than after
	 * its half-second liveness wait (images/stubdom/init). */
	const char *ready = getenv("AIRLOCK_DM_READY");
	if (ready && *ready) {
		int rf = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (rf >= 0)
			close(rf);
	}
	if (loop_run(loop) == 0)
		rc = stub_transport_closed(w.t) ? 1 : 0;
	if (rc)
		log_err("stub: %s closed: exiting", port);
out:
	stub_transport_free(w.t);
	stub_vfio_close(v);
	close(fd);
	return rc;
}

/* relay_ivshmem.c — the relay as the ivshmem server of the stub QEMU's
 * `ivshmem-doorbell` (QEMU docs/specs/ivshmem-spec.rst, "The ivshmem
 * Client-Server Protocol"). The protocol is one-way, server to client;
 * every message is one little-endian int64, some with one fd (SCM_RIGHTS).
 * On connect the relay sends, in this order:
 *   1. 0            the protocol version;
 *   2. 1            the client's peer id (the stub QEMU is peer 1);
 *   3. -1 + memfd   the shared memory: the guest-RAM memfd (BAR2);
 *   4. 0 + fd, N times: peer 0 (the relay) exists; fd i interrupts peer 0's
 *      vector i (the doorbell write (0 << 16) | i lands in own_ev[i]);
 *   5. 1 + fd, N times: the client's own vectors; fd i raises its MSI-X
 *      vector i (the relay writes stub_ev[i]).
 * N = 1 + 8 × ndevices. One client at a time: a second connection is
 * closed at once; when the client hangs up, the next one is served (a
 * restarted stub QEMU gets the same, stable eventfds).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/util.h"
#include "relay/relay_int.h"

#define IVSHMEM_PROTOCOL_VERSION 0
#define IVSHMEM_RELAY_PEER	 0
#define IVSHMEM_STUB_PEER	 1

static int send_msg(int sock, int64_t val, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t le[8];
	struct iovec iov = {.iov_base = le, .iov_len = sizeof(le)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)val >> (8 * i));
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(le) ? 0 : -EIO;
}

static int send_setup(const struct relay *r, int c)
{
	int rc = send_msg(c, IVSHMEM_PROTOCOL_VERSION, -1);

	if (rc == 0)
		rc = send_msg(c, IVSHMEM_STUB_PEER, -1);
	if (rc == 0)
		rc = send_msg(c, -1, r->ram_fd);
	for (unsigned int v = 0; rc == 0 && v < r->nvec; v++)
		rc = send_msg(c, IVSHMEM_RELAY_PEER, r->own_ev[v]);
	for (unsigned int v = 0; rc == 0 && v < r->nvec; v++)
		rc = send_msg(c, IVSHMEM_STUB_PEER, r->stub_ev[v]);
	return rc;
}

static void client_close(struct relay *r)
{
	if (r->ivs_conn < 0)
		return;
	loop_del_fd(r->ivs_conn_h);
	close(r->ivs_conn);
	r->ivs_conn = -1;
	r->ivs_conn_h = NULL;
}

static void on_client(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay *r = data;
	uint8_t junk[64];

	/* The client never speaks: anything readable is its end (or junk). */
	ssize_t n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (events & (EPOLLHUP | EPOLLERR))) {
		log_info("%s: ivshmem client gone", r->name);
		client_close(r);
	}
}

static void on_accept(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay *r = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (r->ivs_conn >= 0) {
		log_rl(&r->rl, LOG_LVL_WARN, "%s: a second ivshmem client refused", r->name);
		close(c);
		return;
	}
	struct timeval tv = {.tv_sec = 2};
	(void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = send_setup(r, c);
	if (rc < 0 || loop_add_fd(r->loop, c, EPOLLIN, on_client, r, &r->ivs_conn_h) < 0) {
		log_warn("%s: ivshmem client set-up failed: %s", r->name, err_str(rc));
		close(c);
		return;
	}
	r->ivs_conn = c;
	r->st.ivshmem_clients++;
	log_info("%s: ivshmem client connected (%u vectors)", r->name, r->nvec);
}

int relay_ivshmem_listen(struct relay *r)
{
	if (r->ivs_listen < 0)
		return 0;
	return loop_add_fd(r->loop, r->ivs_listen, EPOLLIN, on_accept, r, &r->ivs_listen_h);
}

void relay_ivshmem_close(struct relay *r)
{
	client_close(r);
	if (r->ivs_listen_h)
		loop_del_fd(r->ivs_listen_h);
	r->ivs_listen_h = NULL;
	if (r->ivs_listen >= 0)
		close(r->ivs_listen);
	r->ivs_listen = -1;
}

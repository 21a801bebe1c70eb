/* vhost_peer.c — see vhost_peer.h. */
#include "vhost_peer.h"

#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"

int fe = -1;
struct vhost_conn *conn;
int memfd = -1;
uint8_t *guest;
int kick_fd = -1, call_fd = -1;

/* ---- a watch table the test polls by hand ---- */
struct watch {
	int fd;
	void (*cb)(void *);
	void *arg;
	bool used;
};
static struct watch watches[16];

static void *t_watch(void *ctx, int fd, void (*cb)(void *), void *arg)
{
	for (int i = 0; i < 16; i++)
		if (!watches[i].used) {
			watches[i] = (struct watch){fd, cb, arg, true};
			return &watches[i];
		}
	return NULL;
}

static void t_unwatch(void *ctx, void *h)
{
	((struct watch *)h)->used = false;
}

const struct vhost_watch_ops watch_ops = {t_watch, t_unwatch};

int nwatched(void)
{
	int n = 0;
	for (int i = 0; i < 16; i++)
		n += watches[i].used;
	return n;
}

void pump_kicks(void)
{
	for (int i = 0; i < 16; i++)
		if (watches[i].used)
			watches[i].cb(watches[i].arg);
}

/* ---- the front end ---- */
int guest_map(void)
{
	memfd = memfd_create("guest", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, MEM_SIZE) < 0)
		return -1;
	guest = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	return guest == MAP_FAILED ? -1 : 0;
}

void connect_fresh(const struct vdev_ops *ops)
{
	int sv[2];
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe = sv[0];
	CHECK_EQ_INT(vhost_conn_new(sv[1], ops, NULL, &watch_ops, NULL, &conn), 0);
}

int send_req(uint32_t req, uint32_t flags, const void *payload, uint32_t size, const int *fds,
	     unsigned int nfds)
{
	CHECK_EQ_INT(vhost_msg_send_req(fe, req, flags, payload, size, fds, nfds), 0);
	return vhost_conn_on_readable(conn);
}

int send_u64(uint32_t req, uint64_t v)
{
	return send_req(req, 0, &v, 8, NULL, 0);
}

void recv_reply(struct vhost_msg *m, uint32_t req)
{
	CHECK_EQ_INT(vhost_msg_recv(fe, m), 0);
	CHECK_EQ_INT(m->hdr.request, req);
	CHECK(m->hdr.flags & VHOST_USER_REPLY);
}

uint64_t get_u64(uint32_t req)
{
	struct vhost_msg m;
	CHECK_EQ_INT(send_req(req, 0, NULL, 0, NULL, 0), 0);
	recv_reply(&m, req);
	CHECK_EQ_INT(m.hdr.size, 8);
	return m.p.u64;
}

void set_mem(void)
{
	struct vhost_mem_table t = {.nregions = 1};
	t.regions[0] = (struct vhost_mem_region){GPA, MEM_SIZE, UVA, 0};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 32, &memfd, 1), 0);
}

void ring_setup(uint16_t base)
{
	set_mem();
	struct vhost_vring_state s = {0, NUM};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_NUM, 0, &s, 8, NULL, 0), 0);
	s.num = base;
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_BASE, 0, &s, 8, NULL, 0), 0);
	struct vhost_vring_addr a = {
		0, 0, UVA + (DESC - GPA), UVA + (USED - GPA), UVA + (AVAIL - GPA), 0};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ADDR, 0, &a, 40, NULL, 0), 0);
	kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t idx = 0;
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_CALL, 0, &idx, 8, &call_fd, 1), 0);
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_KICK, 0, &idx, 8, &kick_fd, 1), 0);
}

void ring_enable(void)
{
	struct vhost_vring_state s = {0, 1};
	CHECK_EQ_INT(send_req(VHOST_USER_SET_VRING_ENABLE, 0, &s, 8, NULL, 0), 0);
	CHECK(vhost_conn_queue_started(conn, 0));
}

uint16_t used_idx(void)
{
	uint16_t v;
	memcpy(&v, guest + (USED - GPA) + 2, 2);
	return v;
}

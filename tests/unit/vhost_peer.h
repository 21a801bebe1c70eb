/* vhost_peer.h — a test front end for lib/vhost's back end, shared by
 * test_vhost and test_inflight: a socketpair for the connection (`fe` is
 * the front end's end, `conn` the back end on the other), a memfd for guest
 * memory (`guest`, at guest-physical GPA and front-end address UVA), a
 * watch table the test polls by hand instead of an event loop, and queue
 * 0's kick and call eventfds. Each request is handled synchronously: the
 * helper sends it and runs the back end on it at once.
 *
 * Failed expectations are CHECKs (tap.h), counted in the calling test.
 */
#ifndef AIRLOCK_TEST_VHOST_PEER_H
#define AIRLOCK_TEST_VHOST_PEER_H

#include <stdint.h>

#include "vhost/vhost.h"
#include "vhost/vhost_msg.h"

/* Guest memory and queue 0's rings in it. */
#define MEM_SIZE 0x40000ull
#define GPA	 0x100000ull
#define UVA	 0x7f0000000000ull
#define NUM	 16
#define DESC	 (GPA + 0x0)
#define AVAIL	 (GPA + 0x1000)
#define USED	 (GPA + 0x2000)
#define DATA	 (GPA + 0x8000)

extern int fe;			/* the front end's socket, or -1 */
extern struct vhost_conn *conn; /* the back end on the other end */
extern int memfd;		/* guest memory */
extern uint8_t *guest;		/* guest memory, mapped here: GPA is guest[0] */
extern int kick_fd, call_fd;	/* queue 0's, from ring_setup (-1 before) */

/* The watch ops to give vhost_conn_new: a table of 16 slots. */
extern const struct vhost_watch_ops watch_ops;

/* Creates and maps guest memory (MEM_SIZE bytes). Returns 0 or -1. */
int guest_map(void);

/* A new connection: a socketpair, the back end serving device ops (with a
 * NULL device pointer) on one end, fe the other. */
void connect_fresh(const struct vdev_ops *ops);

/* How many fds are watched now. */
int nwatched(void);

/* Runs every watched fd's callback once (a kick callback reads its
 * eventfd and serves what is there, if anything). */
void pump_kicks(void);

/* Sends a request with `size` payload bytes and nfds fds on fe, then runs
 * the back end on it; returns vhost_conn_on_readable's result. */
int send_req(uint32_t req, uint32_t flags, const void *payload, uint32_t size, const int *fds,
	     unsigned int nfds);

/* Sends a request whose payload is the u64 v; returns as send_req. */
int send_u64(uint32_t req, uint64_t v);

/* Receives the back end's reply to req into m and checks it is one. */
void recv_reply(struct vhost_msg *m, uint32_t req);

/* Sends a GET_* request without payload and returns its u64 answer. */
uint64_t get_u64(uint32_t req);

/* SET_MEM_TABLE: one region, all of guest memory. */
void set_mem(void);

/* Queue 0 up to, not including, its enable: the memory table, size NUM,
 * base `base`, the ring addresses (DESC, AVAIL, USED), and fresh call and
 * kick eventfds (in call_fd and kick_fd). */
void ring_setup(uint16_t base);

/* SET_VRING_ENABLE(1) for queue 0, which must start it. */
void ring_enable(void);

/* Queue 0's used index, from guest memory. */
uint16_t used_idx(void);

#endif

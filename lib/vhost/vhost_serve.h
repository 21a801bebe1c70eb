/* vhost_serve.h — serving one vhost-user request: the path every request
 * takes in a back end, whatever the back end keeps.
 *
 * airlock has two vhost-user back ends: lib/vhost (vhost.c, airlock-dm's
 * devices) and airlock-relay's engine side (relay/relay_engine.c). They
 * serve the same requests and answer them the same way: read and check
 * the message, refuse a request the back end does not serve, hand it to
 * the back end's handler, close what fds the handler did not keep, then
 * answer: the handler's payload for a GET_*, an ack when REPLY_ACK was
 * negotiated and the front end asked for one, else nothing; a refusal
 * without an ack closes the connection. vhost_serve_one() is that path;
 * the back end supplies the handling, its acked protocol features and its
 * log lines.
 */
#ifndef AIRLOCK_VHOST_SERVE_H
#define AIRLOCK_VHOST_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost/vhost_msg.h"

/* The requests airlock's back ends serve, each as X(REQUEST, handler): the
 * request's name after VHOST_USER_ and the name its handler goes by. Some
 * requests share a handler where the protocol makes them one: RESET_OWNER
 * and RESET_DEVICE, SET_VRING_KICK, _CALL and _ERR. */
#define VHOST_SERVED(X)                                                                            \
	X(GET_FEATURES, get_features)                                                              \
	X(SET_FEATURES, set_features)                                                              \
	X(SET_OWNER, set_owner)                                                                    \
	X(RESET_OWNER, reset)                                                                      \
	X(SET_MEM_TABLE, set_mem_table)                                                            \
	X(SET_VRING_NUM, set_vring_num)                                                            \
	X(SET_VRING_ADDR, set_vring_addr)                                                          \
	X(SET_VRING_BASE, set_vring_base)                                                          \
	X(GET_VRING_BASE, get_vring_base)                                                          \
	X(SET_VRING_KICK, set_vring_fd)                                                            \
	X(SET_VRING_CALL, set_vring_fd)                                                            \
	X(SET_VRING_ERR, set_vring_fd)                                                             \
	X(GET_PROTOCOL_FEATURES, get_protocol)                                                     \
	X(SET_PROTOCOL_FEATURES, set_protocol)                                                     \
	X(GET_QUEUE_NUM, get_queue_num)                                                            \
	X(SET_VRING_ENABLE, set_vring_enable)                                                      \
	X(GET_CONFIG, get_config)                                                                  \
	X(SET_CONFIG, set_config)                                                                  \
	X(GET_INFLIGHT_FD, get_inflight_fd)                                                        \
	X(SET_INFLIGHT_FD, set_inflight_fd)                                                        \
	X(RESET_DEVICE, reset)

#define VHOST_SERVE_ENTRY_(req, handler) [VHOST_USER_##req] = h_##handler,

/* Defines `static int name(void *be, struct vhost_msg *m, struct
 * vhost_answer *a)`, a vhost_serve_ops.handle that calls the back end's
 * handler for m's request: the function h_<handler> that VHOST_SERVED
 * names, taking a `type *` for be, the message and the answer. A back end
 * defines every one of them before this. */
#define VHOST_SERVE_DISPATCH(name, type)                                                           \
	static int name(void *be, struct vhost_msg *m, struct vhost_answer *a)                     \
	{                                                                                          \
		typedef int (*handler_fn)(type *, struct vhost_msg *, struct vhost_answer *);      \
		static const handler_fn handlers[VHOST_USER_REQ_MAX] = {                           \
			VHOST_SERVED(VHOST_SERVE_ENTRY_)};                                         \
		return handlers[m->hdr.request](be, m, a);                                         \
	}

/* What a handler answers, beyond its return value. */
struct vhost_answer {
	bool reply;    /* send the message back as the handler left it (a GET_*) */
	int reply_fd;  /* an fd to send with that reply, or -1 */
	bool own_fd;   /* reply_fd is the answer's to close once sent or refused */
	bool deferred; /* no answer now: the back end sends it later */
};

/* A GET_* handler's answer of one u64 (features, queue count): sets it as
 * m's payload and a->reply. Returns 0. */
int vhost_answer_u64(struct vhost_msg *m, struct vhost_answer *a, uint64_t value);

/* Where a request went wrong, for the back end's log line. */
enum vhost_serve_event {
	VHOST_SERVE_UNREADABLE, /* vhost_msg_recv failed (rc); m unset */
	VHOST_SERVE_MALFORMED,	/* checked and refused, or not served: m's header */
	VHOST_SERVE_REFUSED,	/* the handler returned rc < 0; ack: answered so */
};

struct vhost_serve_ops {
	/* Handles a checked request the back end serves (m's fds are its own
	 * to keep: it sets nfds to 0 or takes fds out). Returns 0 or -errno
	 * and fills *a. VHOST_SERVE_DISPATCH makes one. */
	int (*handle)(void *be, struct vhost_msg *m, struct vhost_answer *a);
	/* Logs what went wrong (rc, m and ack as vhost_serve_event says). */
	void (*log)(void *be, enum vhost_serve_event ev, const struct vhost_msg *m, int rc,
		    bool ack);
	/* Optional: runs after a request was handled (also one refused with
	 * an ack), before its answer goes out. */
	void (*handled)(void *be);
};

/* Whether the back ends serve request (it is in VHOST_SERVED). */
bool vhost_served(uint32_t request);

/* Reads one request from the front end on fd and serves it for the back
 * end `be` through ops, as the comment atop this header says; *protocol is
 * the protocol features acked so far (read after the handler: it may set
 * them), which say whether an ack is due. Returns 0, -EPIPE when the front
 * end hung up before a message, -EPROTO when the connection must be closed
 * (unreadable, malformed or not served, or refused without an ack: logged
 * through ops->log first), or vhost_msg_reply's -errno. Every fd received
 * is closed or kept by the handler; an own_fd reply fd is closed. */
int vhost_serve_one(int fd, const uint64_t *protocol, const struct vhost_serve_ops *ops, void *be);

#endif

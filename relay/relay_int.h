/* relay_int.h — the relay core's state, shared by its parts (private to
 * relay/). Who owns what:
 *   relay.c         creation, teardown, dropping the engine's connections
 *   relay_mem.c     the guest-RAM memfd: region checks, uva→gpa, inflight areas
 *   relay_engine.c  the vhost-user back end towards the engine (records)
 *   relay_sync.c    bringing the stub in line with the records, one request
 *                   per channel, and the stub's replies
 *   relay_stub.c    the port socket, the stub protocol session and notices
 *   relay_notify.c  the vectors' eventfds: kicks and calls
 *   relay_ivshmem.c the ivshmem server for the stub QEMU
 */
#ifndef AIRLOCK_RELAY_INT_H
#define AIRLOCK_RELAY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/log.h"
#include "common/loop.h"
#include "relay/relay.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_session.h"
#include "vhost/vhost_msg.h"

#define RELAY_MAX_VECTORS (1u + 8u * RELAY_MAX_DEVICES)
#define RELAY_OUT_MAX                                                                              \
	16384u /* stub output queue: far above what one                                            \
		* request per channel can fill */

/* One queue as the engine set it up. */
struct relay_ring {
	uint32_t num;
	bool addr_set;
	uint64_t desc_uva, avail_uva, used_uva;
	uint16_t base; /* SET_VRING_BASE, or the stub's answer to VRING_STOP */
	int kick_fd, call_fd, err_fd;
	struct loop_fd *kick_h;
	bool enabled;
	bool want;	    /* complete on the engine's side: should run in the stub */
	bool in_stub;	    /* VRING_START sent in this session, no VRING_STOP answered */
	bool wait_base;	    /* the engine waits for GET_VRING_BASE's answer */
	bool err_signalled; /* the err eventfd was written for this start */
	bool failed;	    /* the stub refused VRING_START: not retried until the
			     * engine changes the ring or the table */
	bool base_fresh;    /* SET_VRING_BASE after the VRING_STOP was sent */
	struct relay_dev *d;
	unsigned int q;
	uint64_t gpa_desc, gpa_avail, gpa_used; /* translated when `want` turned on */
};

/* What the stub has been told in the current session. */
struct relay_view {
	bool reset_due; /* DEVICE_RESET must be sent first */
	bool features_sent;
	uint64_t features;
	uint32_t mem_gen;      /* the records' mem_gen last sent, 0: none */
	uint32_t inflight_gen; /* likewise for the inflight area */
};

struct relay_dev {
	struct relay *r;
	unsigned int idx; /* 0-based; stub channel idx + 1 */
	struct relay_dev_desc desc;
	struct loop_fd *listen_h;
	int conn; /* the engine's connection, or -1 */
	struct loop_fd *conn_h;
	bool owner;
	uint64_t protocol;
	bool features_set;
	uint64_t features;
	unsigned int nregions;
	struct vhost_mem_region regions[VHOST_USER_MAX_REGIONS];
	uint32_t mem_gen; /* counts SET_MEM_TABLE; 0: none */
	struct sp_set_inflight inflight;
	uint32_t inflight_gen; /* counts accepted GET/SET_INFLIGHT_FD; 0: none */
	struct relay_ring rings[RELAY_MAX_QUEUES];
	struct relay_view view;
	struct {
		bool busy;
		uint16_t type;
		uint16_t queue;
		uint64_t val;		 /* what was sent: features, a generation */
	} req;				 /* the outstanding stub request of this channel */
	uint64_t area_offset, area_size; /* the inflight area in the memfd */
	struct log_ratelimit rl;
};

struct relay {
	struct loop *loop;
	const char *name;
	int ram_fd;
	uint64_t ram_size, memfd_size;
	dev_t ram_dev;
	ino_t ram_ino;
	unsigned int ndevs;
	struct relay_dev dev[RELAY_MAX_DEVICES];
	unsigned int nvec;
	int stub_ev[RELAY_MAX_VECTORS]; /* relay writes: MSI-X vector v in the stub */
	int own_ev[RELAY_MAX_VECTORS];	/* the stub's doorbell v: relay reads */
	struct loop_fd *own_h[RELAY_MAX_VECTORS];
	int ivs_listen, ivs_conn;
	struct loop_fd *ivs_listen_h, *ivs_conn_h;
	int port_listen, port;
	struct loop_fd *port_listen_h, *port_h;
	struct sp_decoder dec;
	struct sp_session ses;
	bool quiet;	  /* dropping engines for a new session: send nothing */
	bool had_session; /* a session was up (or broke) before: a HELLO is a restart */
	uint8_t out[RELAY_OUT_MAX];
	size_t out_len;
	struct relay_stats st;
	struct log_ratelimit rl, rl_log, rl_vec;
};

/* relay_engine.c: closes device d's engine connection and forgets everything it
 * set (fds closed, records cleared); the stub is told DEVICE_RESET when
 * it had any of it. The listening socket stays. */
void relay_engine_drop(struct relay_dev *d, const char *why);

/* relay_mem.c */
/* Records the memfd's identity and size. 0 or -errno. */
int relay_mem_init(struct relay *r);
/* 0 if fd is the guest-RAM memfd (same st_dev and st_ino), else -EBADF. */
int relay_mem_is_ram(const struct relay *r, int fd);
/* Checks a SET_MEM_TABLE (regions, their fds) against guest RAM and the
 * stub protocol's rules. 0 or -EINVAL/-EBADF with *why. */
int relay_mem_check_table(const struct relay *r, const struct vhost_msg *m, const char **why);
/* Translates [uva, uva+len) through d's table into a gpa. 0 or -EFAULT. */
int relay_mem_uva_to_gpa(const struct relay_dev *d, uint64_t uva, uint64_t len, uint64_t *gpa);
/* The stub protocol's view of d's table (gpa, size, BAR offset). */
void relay_mem_sp_table(const struct relay_dev *d, struct sp_mem_table *out);
/* GET_INFLIGHT_FD: checks the counts, zeroes the area and fills info.
 * 0 or -EINVAL/-errno. */
int relay_mem_inflight_get(struct relay_dev *d, struct vhost_inflight_info *info);
/* SET_INFLIGHT_FD: fd must be the memfd and info the device's area. */
int relay_mem_inflight_set(struct relay_dev *d, const struct vhost_inflight_info *info, int fd);

/* relay_engine.c */
/* Watches d's listening socket. 0 or -errno. */
int relay_engine_listen(struct relay_dev *d);
/* Sends the engine its GET_VRING_BASE answer for ring q (base recorded). */
void relay_engine_answer_base(struct relay_dev *d, unsigned int q);
/* Re-reads the engine socket after an answer was owed. */
void relay_engine_resume(struct relay_dev *d);
/* Recomputes ring q's `want` (and its gpas); false with a log line when the
 * rings lie outside the table. */
bool relay_engine_ring_update(struct relay_dev *d, unsigned int q);

/* relay_sync.c */
/* Sends d's next stub request if its channel is free and the stub lags
 * the records. */
void relay_sync(struct relay_dev *d);
/* Every device. */
void relay_sync_all(struct relay *r);
/* A new session: the stub has reset every device. */
void relay_sync_session_start(struct relay *r);
/* The session went down: outstanding requests are forgotten, waiting
 * engines answered with the recorded bases. */
void relay_sync_session_lost(struct relay *r);
/* A REPLY on d's channel (the session matched it to the request). */
void relay_sync_reply(struct relay_dev *d, const struct sp_reply *rep);

/* relay_stub.c */
int relay_stub_listen(struct relay *r);
void relay_stub_close(struct relay *r);
/* Queues a frame for the stub. 0, or -ENOBUFS (the stub is then dropped). */
int relay_stub_send(struct relay *r, const uint8_t *frame, size_t len);

/* relay_notify.c */
int relay_notify_init(struct relay *r);
void relay_notify_fini(struct relay *r);
/* (Re)watches ring q's kick fd of d, or stops watching it (fd -1). */
int relay_notify_watch_kick(struct relay_dev *d, unsigned int q);
void relay_notify_unwatch_kick(struct relay_dev *d, unsigned int q);
/* Writes 1 to an eventfd (ignores -1 and a full counter). */
void relay_notify_signal(int fd);

/* relay_ivshmem.c */
int relay_ivshmem_listen(struct relay *r);
void relay_ivshmem_close(struct relay *r);

#endif

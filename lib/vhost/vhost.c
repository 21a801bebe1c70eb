/* vhost.c — the vhost-user back end state machine.
 *
 * Design
 * ------
 * One struct vhost_conn per front-end connection. It owns what the front end
 * sent over that connection: the negotiated feature sets, the guest memory
 * mappings (struct vmem plus the mmap'ed ranges), and per queue a struct
 * vhost_ring (size, ring addresses in front-end user addresses, base index,
 * kick/call/err eventfds, enabled flag, and the struct vq the device sees).
 *
 * Every message goes through one path, vhost_serve_one() (vhost_serve.c,
 * which airlock-relay's back end shares): vhost_msg_recv() frames it
 * (header, payload, fds), vhost_msg_check() enforces the exact payload size
 * and fd count of its type, then the dispatch table here calls its
 * handler. Handlers return 0 or -errno (plus a reply payload for GET_*
 * requests). A refused request either gets an error ack (REPLY_ACK
 * negotiated and NEED_REPLY set: the front end learns of the error and the
 * connection lives on) or closes the connection; the program keeps
 * listening for the next one. Nothing a front end sends can abort the
 * daemon.
 *
 * A ring is started when everything it needs is there: memory table, size,
 * addresses, a kick fd, and, once VHOST_USER_F_PROTOCOL_FEATURES was
 * negotiated, SET_VRING_ENABLE(1) (without it rings are enabled at once,
 * as the spec says). Starting translates the three ring addresses through
 * vmem (each ring's full size must lie in guest memory), sets up the vq at
 * the base index, watches the kick fd and serves whatever is already
 * available. GET_VRING_BASE stops the ring (unwatches and closes the kick
 * fd, returns last_avail) and is what the front end uses before it stops
 * or migrates. SET_MEM_TABLE replaces the mappings; rings still started are
 * re-translated against the new table.
 *
 * A queue that turns broken (a hostile chain) stops being served: one log
 * line from vq, and the err eventfd (if any) is signalled so the front end
 * can report DEVICE_NEEDS_RESET. Other queues and connections go on.
 *
 * Crash recovery (INFLIGHT_SHMFD). GET_INFLIGHT_FD creates the connection's
 * inflight area (a sealed memfd, sent back with the reply) and
 * SET_INFLIGHT_FD maps one the front end hands back; both are refused while
 * a ring is started, and a reset drops the area (the front end fetches a
 * new one after a device reset). vhost_inflight.c checks and maps it. When
 * a ring starts and the area covers its index, the ring's region is given
 * to its vq with vq_set_inflight() right after vq_setup(): from then on
 * lib/virtio marks and clears heads itself, and after a back-end restart
 * hands the requests that were in flight to the device again before any
 * new one (vq_inflight.c says how duplicates are avoided, and why the base
 * from SET_VRING_BASE is then replaced by used index + inflight count). A
 * region that contradicts the rings refuses the start. The device never
 * knows.
 */
#include "vhost/vhost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/log.h"
#include "vhost/vhost_inflight.h"
#include "vhost/vhost_msg.h"
#include "vhost/vhost_serve.h"

struct vhost_ring {
	struct vhost_conn *conn;
	unsigned int idx;
	struct vq vq;
	unsigned int num;
	bool addr_set;
	uint64_t desc_uva, avail_uva, used_uva;
	uint16_t base;
	int kick_fd, call_fd, err_fd;
	void *kick_watch;
	bool enabled;
	bool started;
	bool err_signalled;
	char name[24];
};

struct vhost_mapping {
	void *addr;
	size_t len;
};

struct vhost_conn {
	int fd;
	const struct vdev_ops *ops;
	void *dev;
	const struct vhost_watch_ops *watch;
	void *watch_ctx;
	bool owner;
	uint64_t features; /* acked virtio features */
	uint64_t protocol; /* acked protocol features */
	bool features_set;
	struct vmem mem;
	struct vhost_mapping maps[VHOST_USER_MAX_REGIONS];
	unsigned int nmaps;
	struct vhost_ring rings[VHOST_MAX_QUEUES];
	struct vhost_inflight inflight; /* GET/SET_INFLIGHT_FD's area, if any */
	struct vdev_notifier notifier;	/* handed to the device per started queue */
	struct log_ratelimit rl;
};

static uint64_t offered_features(const struct vhost_conn *c)
{
	uint64_t f = c->ops->get_features ? c->ops->get_features(c->dev) : c->ops->features;
	return f | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

static uint64_t offered_protocol(const struct vhost_conn *c)
{
	uint64_t p = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
		     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		     (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
		     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE);
	if (c->ops->get_config && !c->ops->config_by_frontend)
		p |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	return p;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void ring_stop(struct vhost_ring *r)
{
	struct vhost_conn *c = r->conn;

	if (r->started && c->ops->queue_stop)
		c->ops->queue_stop(c->dev, r->idx);
	if (r->kick_watch)
		c->watch->unwatch(c->watch_ctx, r->kick_watch);
	r->kick_watch = NULL;
	if (r->started)
		r->base = r->vq.last_avail;
	r->started = false;
	/* A restarted ring is a fresh queue: if it breaks again, the front
	 * end must hear of it again (QEMU sends SET_VRING_ERR only once). */
	r->err_signalled = false;
	vq_reset(&r->vq);
}

/* Forgets everything about ring r (fds closed). */
static void ring_clear(struct vhost_ring *r)
{
	ring_stop(r);
	close_fd(&r->kick_fd);
	close_fd(&r->call_fd);
	close_fd(&r->err_fd);
	r->num = 0;
	r->addr_set = false;
	r->base = 0;
	r->enabled = false;
	r->err_signalled = false;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* An eventfd at its maximum: the driver is signalled already. */
	}
}

/* After the device pushed to (or broke) ring r: interrupt the driver if
 * it wants one, and report a broken queue once on its err eventfd. */
static void ring_signal(struct vhost_ring *r)
{
	if (!r->started)
		return;
	if (vq_should_notify(&r->vq))
		signal_fd(r->call_fd);
	if (vq_is_broken(&r->vq) && !r->err_signalled) {
		r->err_signalled = true;
		signal_fd(r->err_fd);
	}
}

static void ring_notify(void *ctx, unsigned int idx)
{
	struct vhost_conn *c = ctx;

	if (idx < VHOST_MAX_QUEUES)
		ring_signal(&c->rings[idx]);
}

static void ring_serve(struct vhost_ring *r)
{
	struct vhost_conn *c = r->conn;

	if (!r->started || vq_is_broken(&r->vq))
		return;
	c->ops->queue_kick(c->dev, &r->vq, r->idx);
	ring_signal(r);
}

static void on_kick(void *arg)
{
	struct vhost_ring *r = arg;
	uint64_t v;

	if (read(r->kick_fd, &v, sizeof(v)) < 0) {
		/* Spurious wake-up or an fd that is no eventfd: serve anyway. */
	}
	ring_serve(r);
}

/* Maps the rings and starts serving if everything is there. Returns 0
 * (started or not yet startable) or -EFAULT when the ring addresses are not
 * in guest memory. */
static int ring_try_start(struct vhost_ring *r)
{
	struct vhost_conn *c = r->conn;
	bool proto = c->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);

	if (r->started || r->kick_fd < 0 || !r->addr_set || r->num == 0 || c->mem.n == 0)
		return 0;
	if (proto && !r->enabled)
		return 0;
	void *desc = vmem_uva_to_hva(&c->mem, r->desc_uva, vq_desc_size(r->num));
	void *avail = vmem_uva_to_hva(&c->mem, r->avail_uva, vq_avail_size(r->num));
	void *used = vmem_uva_to_hva(&c->mem, r->used_uva, vq_used_size(r->num));
	if (vq_setup(&r->vq, &c->mem, r->num, desc, avail, used, c->features, r->base, r->name) <
	    0) {
		log_rl(&c->rl, LOG_LVL_WARN, "%s: rings outside guest memory or misaligned",
		       r->name);
		return -EFAULT;
	}
	struct inflight_queue *region = vhost_inflight_queue(&c->inflight, r->idx);
	if (region) {
		int rc = vq_set_inflight(&r->vq, region, c->inflight.queue_size);
		if (rc < 0) {
			log_rl(&c->rl, LOG_LVL_WARN, "%s: inflight region unusable: %s", r->name,
			       strerror(-rc));
			vq_reset(&r->vq);
			return rc;
		}
		if (vq_resubmit_pending(&r->vq))
			log_info("%s: resubmitting %u request(s) in flight before the restart",
				 r->name, vq_resubmit_pending(&r->vq));
	}
	r->kick_watch = c->watch->watch(c->watch_ctx, r->kick_fd, on_kick, r);
	if (!r->kick_watch) {
		vq_reset(&r->vq);
		return -ENOMEM;
	}
	r->started = true;
	if (c->ops->queue_start)
		c->ops->queue_start(c->dev, &r->vq, r->idx, &c->notifier);
	ring_serve(r);
	return 0;
}

static void unmap_all(struct vhost_conn *c)
{
	for (unsigned int i = 0; i < c->nmaps; i++)
		munmap(c->maps[i].addr, c->maps[i].len);
	c->nmaps = 0;
	vmem_init(&c->mem);
}

static void reset_all(struct vhost_conn *c)
{
	for (unsigned int i = 0; i < VHOST_MAX_QUEUES; i++)
		ring_clear(&c->rings[i]);
	vhost_inflight_release(&c->inflight);
	/* Protocol features belong to the connection and survive a device
	 * reset; virtio features are set again before the next start. */
	c->features = 0;
	c->features_set = false;
	if (c->ops->reset)
		c->ops->reset(c->dev);
}

/* The ring a vring message names, or NULL. */
static struct vhost_ring *ring_of(struct vhost_conn *c, uint32_t index)
{
	if (index >= c->ops->num_queues || index >= VHOST_MAX_QUEUES)
		return NULL;
	return &c->rings[index];
}

/* ---- handlers: return 0 or -errno; set a->reply to send msg back ---- */

static int h_get_features(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	return vhost_answer_u64(m, a, offered_features(c));
}

static int h_set_features(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	uint64_t f = m->p.u64;

	if (f & ~offered_features(c))
		return -EINVAL;
	for (unsigned int i = 0; i < VHOST_MAX_QUEUES; i++)
		if (c->rings[i].started)
			return -EBUSY;
	c->features = f;
	c->features_set = true;
	if (c->ops->set_features)
		c->ops->set_features(c->dev, f);
	return 0;
}

static int h_get_protocol(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	return vhost_answer_u64(m, a, offered_protocol(c));
}

static int h_set_protocol(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	if (m->p.u64 & ~offered_protocol(c))
		return -EINVAL;
	c->protocol = m->p.u64;
	return 0;
}

static int h_set_owner(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	c->owner = true;
	return 0;
}

static int h_reset(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	reset_all(c);
	return 0;
}

static int h_set_mem_table(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vmem mem;
	struct vhost_mapping maps[VHOST_USER_MAX_REGIONS];
	unsigned int nmaps = 0;
	int rc = 0;

	vmem_init(&mem);
	for (unsigned int i = 0; i < m->p.mem.nregions; i++) {
		const struct vhost_mem_region *reg = &m->p.mem.regions[i];
		struct stat st;
		if (fstat(m->fds[i], &st) < 0) {
			rc = -errno;
			goto unmap;
		}
		/* The region must lie inside the file it is mapped from. */
		if (reg->size == 0 || reg->mmap_offset + reg->size < reg->mmap_offset ||
		    st.st_size < 0 || reg->mmap_offset + reg->size > (uint64_t)st.st_size ||
		    reg->mmap_offset + reg->size > SIZE_MAX) {
			rc = -EINVAL;
			goto unmap;
		}
		size_t len = (size_t)(reg->mmap_offset + reg->size);
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[i], 0);
		if (p == MAP_FAILED) {
			rc = -errno;
			goto unmap;
		}
		maps[nmaps++] = (struct vhost_mapping){.addr = p, .len = len};
		rc = vmem_add(&mem, reg->gpa, reg->size, reg->uva, (uint8_t *)p + reg->mmap_offset);
		if (rc < 0)
			goto unmap;
	}
	vhost_msg_close_fds(m);
	/* Stop rings on the old table, swap, restart them on the new one. */
	bool was_started[VHOST_MAX_QUEUES];
	for (unsigned int i = 0; i < VHOST_MAX_QUEUES; i++) {
		was_started[i] = c->rings[i].started;
		ring_stop(&c->rings[i]);
	}
	unmap_all(c);
	c->mem = mem;
	memcpy(c->maps, maps, sizeof(maps[0]) * nmaps);
	c->nmaps = nmaps;
	for (unsigned int i = 0; i < VHOST_MAX_QUEUES; i++) {
		if (was_started[i] || c->rings[i].kick_fd >= 0)
			(void)ring_try_start(&c->rings[i]);
	}
	return 0;
unmap:
	while (nmaps > 0) {
		nmaps--;
		munmap(maps[nmaps].addr, maps[nmaps].len);
	}
	return rc;
}

static int h_set_vring_num(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_ring *r = ring_of(c, m->p.state.index);
	uint32_t num = m->p.state.num;

	if (!r || r->started || num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	r->num = num;
	return 0;
}

static int h_set_vring_addr(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_ring *r = ring_of(c, m->p.addr.index);

	if (!r || r->started)
		return -EINVAL;
	r->desc_uva = m->p.addr.desc;
	r->avail_uva = m->p.addr.avail;
	r->used_uva = m->p.addr.used;
	r->addr_set = true;
	return 0;
}

static int h_set_vring_base(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_ring *r = ring_of(c, m->p.state.index);

	if (!r || r->started || m->p.state.num > 0xffff)
		return -EINVAL;
	r->base = (uint16_t)m->p.state.num;
	return 0;
}

static int h_get_vring_base(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_ring *r = ring_of(c, m->p.state.index);

	if (!r)
		return -EINVAL;
	ring_stop(r);
	close_fd(&r->kick_fd);
	r->enabled = false;
	m->p.state.num = r->base;
	m->hdr.size = sizeof(m->p.state);
	a->reply = true;
	return 0;
}

/* SET_VRING_KICK/CALL/ERR: the fd (or none) for ring index. */
static int h_set_vring_fd(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_ring *r = ring_of(c, (uint32_t)(m->p.u64 & VHOST_USER_VRING_IDX_MASK));
	int fd = m->nfds ? m->fds[0] : -1;

	if (!r || (m->p.u64 & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD)))
		return -EINVAL;
	m->nfds = 0;
	switch (m->hdr.request) {
	case VHOST_USER_SET_VRING_KICK:
		ring_stop(r);
		close_fd(&r->kick_fd);
		r->kick_fd = fd;
		return ring_try_start(r);
	case VHOST_USER_SET_VRING_CALL:
		close_fd(&r->call_fd);
		r->call_fd = fd;
		return 0;
	default:
		close_fd(&r->err_fd);
		r->err_fd = fd;
		return 0;
	}
}

static int h_get_queue_num(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	return vhost_answer_u64(m, a, c->ops->num_queues);
}

static int h_set_vring_enable(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_ring *r = ring_of(c, m->p.state.index);

	if (!r || m->p.state.num > 1)
		return -EINVAL;
	r->enabled = m->p.state.num;
	if (!r->enabled) {
		ring_stop(r);
		return 0;
	}
	return ring_try_start(r);
}

static int h_get_config(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_config *cfg = &m->p.config;
	a->reply = true;
	if (!c->ops->get_config ||
	    c->ops->get_config(c->dev, cfg->offset, cfg->data, cfg->size) < 0) {
		/* The spec's failure answer: an empty payload. */
		m->hdr.size = 0;
		return 0;
	}
	return 0;
}

static int h_set_config(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	struct vhost_config *cfg = &m->p.config;
	if (!c->ops->set_config)
		return -ENOTSUP;
	return c->ops->set_config(c->dev, cfg->offset, cfg->data, cfg->size);
}

static bool any_started(const struct vhost_conn *c)
{
	for (unsigned int i = 0; i < VHOST_MAX_QUEUES; i++)
		if (c->rings[i].started)
			return true;
	return false;
}

static bool inflight_negotiated(const struct vhost_conn *c)
{
	return c->protocol & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
}

static int h_get_inflight_fd(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	int fd = -1;

	if (!inflight_negotiated(c) || any_started(c))
		return -EINVAL;
	int rc = vhost_inflight_create(&c->inflight, &m->p.inflight, c->ops->num_queues, &fd);
	if (rc < 0)
		return rc;
	a->reply_fd = fd;
	a->own_fd = true;
	m->hdr.size = sizeof(m->p.inflight);
	a->reply = true;
	return 0;
}

static int h_set_inflight_fd(struct vhost_conn *c, struct vhost_msg *m, struct vhost_answer *a)
{
	if (!inflight_negotiated(c) || any_started(c))
		return -EINVAL;
	return vhost_inflight_adopt(&c->inflight, &m->p.inflight, m->fds[0], c->ops->num_queues);
}

VHOST_SERVE_DISPATCH(handle, struct vhost_conn)

static void log_event(void *be, enum vhost_serve_event ev, const struct vhost_msg *m, int rc,
		      bool ack)
{
	struct vhost_conn *c = be;

	if (ev == VHOST_SERVE_UNREADABLE)
		log_rl(&c->rl, LOG_LVL_WARN, "vhost-user: unreadable message (%s): closing",
		       strerror(-rc));
	else if (ev == VHOST_SERVE_MALFORMED)
		log_rl(&c->rl, LOG_LVL_WARN,
		       "vhost-user: malformed %s (request %u, %u bytes, %u fds): closing",
		       vhost_req_name(m->hdr.request), m->hdr.request, m->hdr.size, m->nfds);
	else
		log_rl(&c->rl, LOG_LVL_WARN, "vhost-user: %s refused: %s%s",
		       vhost_req_name(m->hdr.request), strerror(-rc), ack ? "" : ": closing");
}

static const struct vhost_serve_ops serve_ops = {
	.handle = handle,
	.log = log_event,
};

int vhost_conn_on_readable(struct vhost_conn *c)
{
	return vhost_serve_one(c->fd, &c->protocol, &serve_ops, c);
}

int vhost_conn_new(int fd, const struct vdev_ops *ops, void *dev,
		   const struct vhost_watch_ops *watch, void *watch_ctx, struct vhost_conn **out)
{
	struct vhost_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->ops = ops;
	c->dev = dev;
	c->watch = watch;
	c->watch_ctx = watch_ctx;
	c->notifier = (struct vdev_notifier){.notify = ring_notify, .ctx = c};
	vmem_init(&c->mem);
	for (unsigned int i = 0; i < VHOST_MAX_QUEUES; i++) {
		struct vhost_ring *r = &c->rings[i];
		r->conn = c;
		r->idx = i;
		r->kick_fd = r->call_fd = r->err_fd = -1;
		snprintf(r->name, sizeof(r->name), "queue %u", i);
	}
	/* A front end that stops mid-message must not hang the daemon. */
	struct timeval tv = {.tv_sec = 2};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*out = c;
	return 0;
}

void vhost_conn_free(struct vhost_conn *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < VHOST_MAX_QUEUES; i++)
		ring_clear(&c->rings[i]);
	unmap_all(c);
	vhost_inflight_release(&c->inflight);
	close(c->fd);
	free(c);
}

void vhost_conn_notify(struct vhost_conn *c, unsigned int idx)
{
	ring_notify(c, idx);
}

int vhost_conn_fd(const struct vhost_conn *c)
{
	return c->fd;
}

bool vhost_conn_queue_started(const struct vhost_conn *c, unsigned int idx)
{
	return idx < VHOST_MAX_QUEUES && c->rings[idx].started;
}

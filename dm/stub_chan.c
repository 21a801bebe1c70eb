/* stub_chan.c — one device channel of the stub transport.
 *
 * Design
 * ------
 * A channel is to the stub protocol what a struct vhost_conn is to
 * vhost-user (lib/vhost/vhost.c), without fds: the relay names memory by
 * BAR offsets and notifications by vector numbers, and everything it says
 * is hostile. Per channel we hold the acked features, the memory table (the
 * relay's regions and the struct vmem built from them: region (gpa, size)
 * at BAR + offset), the inflight area (SET_INFLIGHT's offset, size and
 * counts) and per queue a struct stub_ring: the VRING_START it was started
 * with, its base, its kick watch and the struct vq the device sees.
 *
 * Every request is one call of stub_chan_request() and yields one status.
 * Checks come first and change nothing when they fail:
 *   - SET_FEATURES: bits the device does not offer are refused (EINVAL),
 *     as is a change while a ring runs (EBUSY).
 *   - SET_MEM_TABLE: the codec already checked alignment, overlap and
 *     wrap-around; here every region must lie inside the BAR
 *     (sp_check_mem_table_bar) and none may overlap the inflight area. The
 *     vmem then maps guest-physical addresses only into those BAR bytes, and
 *     lib/virtio checks every ring and buffer against it, so no address the
 *     relay or the guest chooses reaches memory outside the BAR. Replacing
 *     a table while rings run stops them (the device finishes what it
 *     popped), swaps the table and starts them again at their last_avail;
 *     a ring the new table no longer holds stays stopped and is reported
 *     broken (DEVICE_BROKEN, memory).
 *   - VRING_START: the queue must exist on this device (EINVAL), not run
 *     already (EBUSY), name neither the reserved vector 0 (EINVAL) and have
 *     a memory table holding all three rings (EFAULT, from vq_setup_gpa).
 *     With an inflight area covering the queue, its region (area + idx ×
 *     inflight_queue_size(queue_size), the stride vhost_inflight.c uses) is
 *     given to the vq (vq_set_inflight): requests a dead predecessor left in
 *     flight are handed to the device again before new ones. Then the kick
 *     vector's fd is watched (a vector another running queue watches
 *     already is EBUSY), the device gets queue_start with a notifier, and
 *     whatever is already available is served.
 *   - VRING_STOP: queue_stop (the device finishes or abandons what it
 *     popped), unwatch, reply with last_avail. A ring not running answers
 *     its last base.
 *   - SET_INFLIGHT: refused while a ring runs (EBUSY); the area must lie in
 *     the BAR outside guest RAM (sp_check_set_inflight_bar), cover
 *     num_queues regions, and num_queues may not exceed the device's.
 *   - GET_CONFIG: the device's get_config (ENOTSUP without one, EINVAL for
 *     a range outside its config space).
 *   - DEVICE_RESET: every ring stopped, inflight area and features
 *     forgotten, the device reset; the memory table stays (as in vhost.c).
 *
 * Calls: after the device served a kick (or completed requests on its own
 * through the notifier), vq_should_notify decides, and the bus rings the
 * queue's call vector. A queue that turns broken stops being served and is
 * reported once per start with DEVICE_BROKEN{queue, ring} and a LOG line.
 */
#include "dm/stub_chan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "stubproto/sp_codec.h"
#include "virtio/inflight.h"

static void say(struct stub_chan *c, uint16_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A notable event: a LOG frame to the relay and a local log line. */
static void say(struct stub_chan *c, uint16_t level, const char *fmt, ...)
{
	char text[SP_LOG_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_msg(level == 0   ? LOG_LVL_ERR
		: level == 1 ? LOG_LVL_WARN
			     : LOG_LVL_INFO,
		"%s: %s", c->name, text);
	c->env->log(c->env->ctx, c->ch, level, text);
}

static void ring_signal(struct stub_ring *r)
{
	struct stub_chan *c = r->chan;

	if (!r->started)
		return;
	if (vq_should_notify(&r->vq))
		c->env->bus->call(c->env->bus_ctx, r->cfg.call_vector);
	if (vq_is_broken(&r->vq) && !r->broken_reported) {
		r->broken_reported = true;
		say(c, 1, "%s broken: no longer served", r->name);
		c->env->broken(c->env->ctx, c->ch, (uint16_t)r->idx, SP_BROKEN_RING);
	}
}

static void ring_notify(void *ctx, unsigned int idx)
{
	struct stub_chan *c = ctx;

	if (idx < VDEV_MAX_QUEUES)
		ring_signal(&c->rings[idx]);
}

static void ring_serve(struct stub_ring *r)
{
	struct stub_chan *c = r->chan;

	if (!r->started || vq_is_broken(&r->vq))
		return;
	c->ops->queue_kick(c->dev, &r->vq, r->idx);
	ring_signal(r);
}

static void on_kick(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct stub_ring *r = data;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* Spurious wake-up: serve anyway. */
	}
	ring_serve(r);
}

static void ring_stop(struct stub_ring *r)
{
	struct stub_chan *c = r->chan;

	if (r->started && c->ops->queue_stop)
		c->ops->queue_stop(c->dev, r->idx);
	if (r->kick_h)
		loop_del_fd(r->kick_h);
	r->kick_h = NULL;
	r->kick_fd = -1;
	if (r->started)
		r->base = r->vq.last_avail;
	r->started = false;
	vq_reset(&r->vq);
}

static struct inflight_queue *inflight_region(struct stub_chan *c, unsigned int idx)
{
	if (!c->have_inflight || idx >= c->inflight.num_queues)
		return NULL;
	uint64_t off = c->inflight.offset + idx * inflight_queue_size(c->inflight.queue_size);
	return (struct inflight_queue *)(c->env->bar.base + off);
}

/* Maps r->cfg's rings through the memory table and starts serving.
 * Returns 0 or -errno (the ring is then stopped). */
static int ring_start(struct stub_ring *r)
{
	struct stub_chan *c = r->chan;
	const struct sp_vring_start *s = &r->cfg;
	int rc;

	if (!c->have_mt)
		return -EFAULT;
	rc = vq_setup_gpa(&r->vq, &c->mem, s->num, s->desc, s->avail, s->used, c->features, r->base,
			  r->name);
	if (rc < 0)
		return -EFAULT;
	struct inflight_queue *region = inflight_region(c, r->idx);
	if (region) {
		rc = vq_set_inflight(&r->vq, region, c->inflight.queue_size);
		if (rc < 0) {
			vq_reset(&r->vq);
			return rc;
		}
		if (vq_resubmit_pending(&r->vq))
			say(c, 2, "%s: resubmitting %u request(s) in flight before the restart",
			    r->name, vq_resubmit_pending(&r->vq));
	}
	int fd = c->env->bus->kick_fd(c->env->bus_ctx, s->kick_vector);
	if (fd < 0) {
		vq_reset(&r->vq);
		return fd;
	}
	rc = loop_add_fd(c->env->loop, fd, EPOLLIN, on_kick, r, &r->kick_h);
	if (rc < 0) {
		r->kick_h = NULL;
		vq_reset(&r->vq);
		return rc == -EEXIST ? -EBUSY : rc;
	}
	r->kick_fd = fd;
	r->started = true;
	r->broken_reported = false;
	if (c->ops->queue_start)
		c->ops->queue_start(c->dev, &r->vq, r->idx, &c->notifier);
	ring_serve(r);
	return 0;
}

static bool any_started(const struct stub_chan *c)
{
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++)
		if (c->rings[i].started)
			return true;
	return false;
}

static uint64_t offered(const struct stub_chan *c)
{
	return c->ops->get_features ? c->ops->get_features(c->dev) : c->ops->features;
}

/* The ring a request names, or NULL for a queue the device lacks. */
static struct stub_ring *ring_of(struct stub_chan *c, unsigned int q)
{
	if (q >= c->ops->num_queues || q >= VDEV_MAX_QUEUES)
		return NULL;
	return &c->rings[q];
}

/* ---- requests: return 0 or -errno ---- */

static int r_set_features(struct stub_chan *c, const struct sp_set_features *m)
{
	if (m->features & ~offered(c)) {
		say(c, 1, "SET_FEATURES refused: bits %#llx not offered",
		    (unsigned long long)(m->features & ~offered(c)));
		return -EINVAL;
	}
	if (any_started(c))
		return -EBUSY;
	c->features = m->features;
	if (c->ops->set_features)
		c->ops->set_features(c->dev, m->features);
	return 0;
}

static int r_set_mem_table(struct stub_chan *c, const struct sp_mem_table *m)
{
	const struct stub_bar *bar = &c->env->bar;
	const char *why = NULL;
	struct vmem mem;

	if (sp_check_mem_table_bar(m, bar->size, &why) < 0 ||
	    (c->have_inflight && sp_check_set_inflight_bar(&c->inflight, m, bar->size, &why) < 0)) {
		say(c, 1, "SET_MEM_TABLE refused: %s", why ? why : "outside the BAR");
		return -EINVAL;
	}
	vmem_init(&mem);
	for (unsigned int i = 0; i < m->n; i++) {
		const struct sp_region *g = &m->r[i];
		int rc = vmem_add(&mem, g->gpa, g->size, g->offset, bar->base + g->offset);
		if (rc < 0) {
			say(c, 1, "SET_MEM_TABLE refused: region %u unusable", i);
			return rc;
		}
	}
	/* Stop rings on the old table, swap, restart them on the new one. */
	bool was[VDEV_MAX_QUEUES];
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++) {
		was[i] = c->rings[i].started;
		ring_stop(&c->rings[i]);
	}
	c->mt = *m;
	c->mem = mem;
	c->have_mt = true;
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++) {
		if (!was[i])
			continue;
		int rc = ring_start(&c->rings[i]);
		if (rc < 0) {
			say(c, 1, "%s: cannot restart on the new memory table: %s",
			    c->rings[i].name, strerror(-rc));
			c->env->broken(c->env->ctx, c->ch, (uint16_t)i, SP_BROKEN_MEMORY);
		}
	}
	return 0;
}

static int r_vring_start(struct stub_chan *c, const struct sp_vring_start *m)
{
	struct stub_ring *r = ring_of(c, m->queue);

	if (!r) {
		say(c, 1, "VRING_START refused: queue %u beyond the device's %u", m->queue,
		    c->ops->num_queues);
		return -EINVAL;
	}
	if (r->started)
		return -EBUSY;
	if (m->kick_vector == 0 || m->call_vector == 0) {
		say(c, 1, "VRING_START refused: vector 0 is reserved");
		return -EINVAL;
	}
	r->cfg = *m;
	r->base = m->base;
	int rc = ring_start(r);
	if (rc < 0)
		say(c, 1, "VRING_START of %s refused: %s", r->name, strerror(-rc));
	return rc;
}

static int r_vring_stop(struct stub_chan *c, const struct sp_vring_stop *m, struct sp_reply *rep)
{
	struct stub_ring *r = ring_of(c, m->queue);

	if (!r)
		return -EINVAL;
	ring_stop(r);
	rep->len = 2;
	rep->result[0] = (uint8_t)r->base;
	rep->result[1] = (uint8_t)(r->base >> 8);
	return 0;
}

static int r_get_config(struct stub_chan *c, const struct sp_get_config *m, struct sp_reply *rep)
{
	if (!c->ops->get_config)
		return -ENOTSUP;
	if (m->len == 0 || m->len > SP_CONFIG_MAX)
		return -EINVAL;
	if (c->ops->get_config(c->dev, m->offset, rep->result, m->len) < 0) {
		memset(rep->result, 0, sizeof(rep->result));
		return -EINVAL;
	}
	rep->len = m->len;
	return 0;
}

static int r_set_inflight(struct stub_chan *c, const struct sp_set_inflight *m)
{
	const char *why = NULL;

	if (any_started(c))
		return -EBUSY;
	if (sp_check_set_inflight_bar(m, c->have_mt ? &c->mt : NULL, c->env->bar.size, &why) < 0) {
		say(c, 1, "SET_INFLIGHT refused: %s", why ? why : "outside the BAR");
		return -EINVAL;
	}
	if (m->num_queues > c->ops->num_queues ||
	    m->size < (uint64_t)m->num_queues * inflight_queue_size(m->queue_size)) {
		say(c, 1, "SET_INFLIGHT refused: %u queue(s) of %u do not fit %llu bytes",
		    m->num_queues, m->queue_size, (unsigned long long)m->size);
		return -EINVAL;
	}
	c->inflight = *m;
	c->have_inflight = true;
	return 0;
}

static void reset_device(struct stub_chan *c)
{
	stub_chan_stop_all(c);
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++)
		c->rings[i].base = 0;
	c->have_inflight = false;
	c->features = 0;
	if (c->ops->reset)
		c->ops->reset(c->dev);
}

void stub_chan_request(struct stub_chan *c, uint16_t type, const union sp_msg *m,
		       struct sp_reply *r)
{
	int rc;

	r->len = 0;
	memset(r->result, 0, sizeof(r->result));
	switch (type) {
	case SP_T_SET_FEATURES:
		rc = r_set_features(c, &m->set_features);
		break;
	case SP_T_SET_MEM_TABLE:
		rc = r_set_mem_table(c, &m->mem_table);
		break;
	case SP_T_VRING_START:
		rc = r_vring_start(c, &m->vring_start);
		break;
	case SP_T_VRING_STOP:
		rc = r_vring_stop(c, &m->vring_stop, r);
		break;
	case SP_T_DEVICE_RESET:
		reset_device(c);
		rc = 0;
		break;
	case SP_T_GET_CONFIG:
		rc = r_get_config(c, &m->get_config, r);
		break;
	case SP_T_SET_INFLIGHT:
		rc = r_set_inflight(c, &m->set_inflight);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (rc < 0) {
		r->len = 0;
		memset(r->result, 0, sizeof(r->result));
		r->status = (uint32_t)(-rc <= (int)SP_STATUS_MAX ? -rc : EIO);
	} else {
		r->status = 0;
	}
}

void stub_chan_stop_all(struct stub_chan *c)
{
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++)
		ring_stop(&c->rings[i]);
}

void stub_chan_forget(struct stub_chan *c)
{
	reset_device(c);
	c->have_mt = false;
	vmem_init(&c->mem);
	memset(&c->mt, 0, sizeof(c->mt));
}

void stub_chan_init(struct stub_chan *c, const struct stub_env *env, unsigned int ch,
		    const struct vdev_ops *ops, void *dev)
{
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->ch = ch;
	c->ops = ops;
	c->dev = dev;
	c->notifier = (struct vdev_notifier){.notify = ring_notify, .ctx = c};
	vmem_init(&c->mem);
	snprintf(c->name, sizeof(c->name), "channel %u", ch);
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++) {
		struct stub_ring *r = &c->rings[i];
		r->chan = c;
		r->idx = i;
		r->kick_fd = -1;
		snprintf(r->name, sizeof(r->name), "ch%u queue %u", ch, i);
	}
}

bool stub_chan_queue_started(const struct stub_chan *c, unsigned int idx)
{
	return idx < VDEV_MAX_QUEUES && c->rings[idx].started;
}

/* vhost_serve.c — see vhost_serve.h. */
#include "vhost/vhost_serve.h"

#include <errno.h>
#include <unistd.h>

#define SERVED(req, name) [VHOST_USER_##req] = true,
static const bool served[VHOST_USER_REQ_MAX] = {VHOST_SERVED(SERVED)};
#undef SERVED

bool vhost_served(uint32_t request)
{
	return request < VHOST_USER_REQ_MAX && served[request];
}

int vhost_answer_u64(struct vhost_msg *m, struct vhost_answer *a, uint64_t value)
{
	m->p.u64 = value;
	m->hdr.size = sizeof(m->p.u64);
	a->reply = true;
	return 0;
}

static void drop_fd(struct vhost_answer *a)
{
	if (a->own_fd && a->reply_fd >= 0)
		close(a->reply_fd);
	a->reply_fd = -1;
}

int vhost_serve_one(int fd, const uint64_t *protocol, const struct vhost_serve_ops *ops, void *be)
{
	struct vhost_msg m;
	struct vhost_answer a = {.reply_fd = -1};
	int rc = vhost_msg_recv(fd, &m);

	if (rc == -EPIPE)
		return rc;
	if (rc < 0) {
		ops->log(be, VHOST_SERVE_UNREADABLE, &m, rc, false);
		return -EPROTO;
	}
	rc = vhost_msg_check(&m);
	if (rc == 0 && !vhost_served(m.hdr.request))
		rc = -ENOSYS;
	if (rc < 0) {
		ops->log(be, VHOST_SERVE_MALFORMED, &m, rc, false);
		vhost_msg_close_fds(&m);
		return -EPROTO;
	}
	uint32_t flags = m.hdr.flags;
	rc = ops->handle(be, &m, &a);
	vhost_msg_close_fds(&m); /* whatever the handler did not keep */
	bool ack = (*protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)) &&
		   (flags & VHOST_USER_NEED_REPLY);
	if (rc < 0) {
		ops->log(be, VHOST_SERVE_REFUSED, &m, rc, ack);
		drop_fd(&a);
		if (!ack)
			return -EPROTO;
		a.reply = false;
	}
	if (ops->handled)
		ops->handled(be);
	if (a.deferred || (!a.reply && !ack)) {
		drop_fd(&a);
		return 0;
	}
	rc = vhost_msg_reply(fd, &m, a.reply, rc, a.reply_fd);
	drop_fd(&a); /* the front end has its own copy now */
	return rc < 0 ? rc : 0;
}

/* loop.c — see loop.h.
 *
 * Timers are few (a handful per program), so they live in an unsorted list
 * and each iteration scans it; a heap would only pay off with thousands.
 * Dead fd handles and timers are moved to a graveyard and freed at the end of
 * the iteration, so a callback may delete any source, including the one
 * being dispatched or one whose event is still pending in this batch.
 */
#include "common/loop.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct loop_fd {
	struct loop *loop;
	int fd;
	uint32_t events;
	bool dead;
	loop_fd_cb cb;
	void *data;
	struct loop_fd *next_dead;
	struct loop_fd *prev, *next; /* live handles */
};

struct loop_timer {
	struct loop *loop;
	uint64_t due_ms;
	bool dead;
	loop_timer_cb cb;
	void *data;
	struct loop_timer *next;
};

struct prepare {
	loop_prepare_cb cb;
	void *data;
	struct prepare *next;
};

struct loop {
	int epfd;
	bool stop;
	struct loop_fd *dead_fds;
	struct loop_timer *timers;
	struct prepare *prepares;
	struct loop_fd *live; /* live fd handles, freed by loop_free */
};

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = -errno;
		free(l);
		return e;
	}
	*out = l;
	return 0;
}

static void reap(struct loop *l)
{
	struct loop_timer **tp = &l->timers;

	while (l->dead_fds) {
		struct loop_fd *h = l->dead_fds;
		l->dead_fds = h->next_dead;
		free(h);
	}
	while (*tp) {
		struct loop_timer *t = *tp;
		if (t->dead) {
			*tp = t->next;
			free(t);
		} else {
			tp = &t->next;
		}
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	reap(l);
	while (l->timers) {
		struct loop_timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	while (l->live) {
		struct loop_fd *h = l->live;
		l->live = h->next;
		free(h);
	}
	while (l->prepares) {
		struct prepare *p = l->prepares;
		l->prepares = p->next;
		free(p);
	}
	close(l->epfd);
	free(l);
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *data,
		struct loop_fd **out)
{
	struct loop_fd *h = calloc(1, sizeof(*h));
	struct epoll_event ev = {.events = events};

	if (!h)
		return -ENOMEM;
	h->loop = l;
	h->fd = fd;
	h->events = events;
	h->cb = cb;
	h->data = data;
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		free(h);
		return e;
	}
	h->next = l->live;
	if (l->live)
		l->live->prev = h;
	l->live = h;
	if (out)
		*out = h;
	return 0;
}

int loop_mod_fd(struct loop_fd *h, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};

	if (h->dead)
		return -EBADF;
	if (events == h->events)
		return 0;
	if (epoll_ctl(h->loop->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		return -errno;
	h->events = events;
	return 0;
}

uint32_t loop_fd_events(const struct loop_fd *h)
{
	return h->events;
}

void loop_del_fd(struct loop_fd *h)
{
	if (!h || h->dead)
		return;
	epoll_ctl(h->loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->dead = true;
	h->next_dead = h->loop->dead_fds;
	h->loop->dead_fds = h;
	if (h->prev)
		h->prev->next = h->next;
	else
		h->loop->live = h->next;
	if (h->next)
		h->next->prev = h->prev;
}

struct loop_timer *loop_add_timer(struct loop *l, uint64_t ms, loop_timer_cb cb, void *data)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = l;
	t->due_ms = now_ms() + ms;
	t->cb = cb;
	t->data = data;
	t->next = l->timers;
	l->timers = t;
	return t;
}

void loop_cancel_timer(struct loop_timer *t)
{
	if (t)
		t->dead = true;
}

int loop_add_prepare(struct loop *l, loop_prepare_cb cb, void *data)
{
	struct prepare *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->cb = cb;
	p->data = data;
	p->next = l->prepares;
	l->prepares = p;
	return 0;
}

static int next_timeout(struct loop *l, int timeout_ms)
{
	uint64_t now = now_ms();

	for (struct loop_timer *t = l->timers; t; t = t->next) {
		if (t->dead)
			continue;
		int64_t left = t->due_ms > now ? (int64_t)(t->due_ms - now) : 0;
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)MIN(left, (int64_t)1 << 30);
	}
	return timeout_ms;
}

static void run_timers(struct loop *l)
{
	uint64_t now = now_ms();

	for (struct loop_timer *t = l->timers; t; t = t->next) {
		if (!t->dead && t->due_ms <= now) {
			t->dead = true;
			t->cb(t->data);
		}
	}
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	int n;

	for (struct prepare *p = l->prepares; p; p = p->next)
		p->cb(p->data);
	n = epoll_wait(l->epfd, evs, (int)ARRAY_SIZE(evs), next_timeout(l, timeout_ms));
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		struct loop_fd *h = evs[i].data.ptr;
		if (!h->dead)
			h->cb(h, h->fd, evs[i].events, h->data);
	}
	run_timers(l);
	reap(l);
	return 0;
}

int loop_run(struct loop *l)
{
	l->stop = false;
	while (!l->stop) {
		int r = loop_run_once(l, -1);
		if (r)
			return r;
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

/* xs_client.c — see xs_client.h.
 *
 * The client is strictly synchronous: a request is written whole, then
 * messages are read until the one whose req_id matches arrives. Anything
 * read on the way is either a watch event (queued for
 * xs_client_read_watch) or a stray reply (dropped). The event queue is a
 * buf of records, each a native uint32_t length followed by the event's
 * payload ("path\0token\0").
 *
 * The store is reached over a UNIX stream socket, or — when the path names
 * a character device — over that device opened read-write, with the same
 * wire protocol on it (as Xen's libxenstore uses /dev/xen/xenbus). Inside
 * a stub domain that device is the virtio-serial port of the store channel
 * (/dev/vportNpM); a stream either way, so the framing code is shared.
 *
 * A connection is marked broken — and stays broken — when the socket fails,
 * the peer closes it, or a header announces more than XS_PAYLOAD_MAX bytes
 * (the stream cannot be resynchronised after that). A reply that is merely
 * malformed (a bad number, a bad permission) fails only its own call with
 * -EPROTO.
 */
#include "xs/xs_client.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct xs_client {
	int fd;
	bool is_dev;	      /* a character device: write(), not send() */
	int broken;	      /* 0, or the -errno every call returns */
	uint32_t next_req_id; /* never 0: events carry req_id 0 */
	struct buf events;    /* queued watch events */
	struct buf scratch;   /* replies nobody asked to keep */
	uint8_t out[XS_HDR_SIZE + XS_PAYLOAD_MAX];
};

/* Upper bound on DIRECTORY_PART restarts when the node keeps changing. */
#define XS_DIR_PART_RETRIES 16

const char *xs_client_default_path(void)
{
	const char *s = getenv("XENSTORED_PATH");

	return s && *s ? s : XS_DEFAULT_SOCKET;
}

/* Opens a character device that carries the store's protocol. O_NOCTTY:
 * a tty (a pty in the tests) must not become our controlling terminal. */
static int open_dev(struct xs_client *c, const char *path)
{
	c->fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (c->fd < 0)
		return -errno;
	c->is_dev = true;
	c->next_req_id = 1;
	return 0;
}

int xs_client_open(const char *path, struct xs_client **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xs_client *c;
	struct stat st;
	int r;

	if (!path)
		path = xs_client_default_path();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
		r = open_dev(c, path);
		if (r)
			goto err_free;
		*out = c;
		return 0;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		r = -ENAMETOOLONG;
		goto err_free;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = -errno;
		goto err_free;
	}
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		r = -errno;
		goto err_close;
	}
	c->next_req_id = 1;
	*out = c;
	return 0;

err_close:
	close(c->fd);
err_free:
	free(c);
	return r;
}

void xs_client_close(struct xs_client *c)
{
	if (!c)
		return;
	close(c->fd);
	buf_free(&c->events);
	buf_free(&c->scratch);
	free(c);
}

int xs_client_fd(const struct xs_client *c)
{
	return c->fd;
}

bool xs_client_is_broken(const struct xs_client *c)
{
	return c->broken != 0;
}

/* Marks the connection broken with `err` (first error wins) and returns
 * the error every call will return from now on. */
static int client_break(struct xs_client *c, int err)
{
	if (!c->broken) {
		c->broken = err;
		log_debug("store connection broken: %s", errno_name(-err));
	}
	return c->broken;
}

/* Sets `b` to the `n` bytes at `p` plus an uncounted NUL. 0 or -ENOMEM. */
static int buf_set_bytes(struct buf *b, const void *p, size_t n)
{
	int r;

	buf_reset(b);
	r = buf_reserve(b, n + 1);
	if (r)
		return r;
	if (n)
		memcpy(b->data, p, n);
	b->len = n;
	b->data[n] = 0;
	return 0;
}

/* Drops a single trailing NUL that the protocol appends to some replies. */
static void reply_strip_nul(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] == 0)
		b->len--;
}

static int client_send(struct xs_client *c, const struct xs_hdr *h, const struct xs_part *parts,
		       unsigned int nparts)
{
	size_t pos = XS_HDR_SIZE, sent = 0;

	xs_hdr_encode(h, c->out);
	for (unsigned int i = 0; i < nparts; i++) {
		if (parts[i].len)
			memcpy(c->out + pos, parts[i].p, parts[i].len);
		pos += parts[i].len;
	}
	while (sent < pos) {
		ssize_t n = c->is_dev ? write(c->fd, c->out + sent, pos - sent)
				      : send(c->fd, c->out + sent, pos - sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return client_break(c, -errno);
		}
		sent += (size_t)n;
	}
	return 0;
}

/* Reads one whole message: its header into *h and its payload into `into`
 * (with an uncounted NUL after it). Returns 0, or the broken-connection
 * error. */
static int client_recv(struct xs_client *c, struct xs_hdr *h, struct buf *into)
{
	uint8_t raw[XS_HDR_SIZE];
	ssize_t n;
	int r;

	n = read_full(c->fd, raw, sizeof(raw));
	if (n < 0)
		return client_break(c, (int)n);
	if ((size_t)n < sizeof(raw))
		return client_break(c, -ECONNRESET);
	if (xs_hdr_decode(raw, h))
		return client_break(c, -EPROTO);
	buf_reset(into);
	r = buf_reserve(into, (size_t)h->len + 1);
	if (r)
		return client_break(c, r);
	n = read_full(c->fd, into->data, h->len);
	if (n < 0)
		return client_break(c, (int)n);
	if ((size_t)n < h->len)
		return client_break(c, -ECONNRESET);
	into->len = h->len;
	into->data[h->len] = 0;
	return 0;
}

static int client_queue_event(struct xs_client *c, const struct buf *payload)
{
	uint32_t len = (uint32_t)payload->len;
	int r;

	r = buf_reserve(&c->events, sizeof(len) + len);
	if (r)
		return r;
	buf_append(&c->events, &len, sizeof(len));
	buf_append(&c->events, payload->data, len);
	return 0;
}

int xs_client_request(struct xs_client *c, uint32_t type, uint32_t tx_id,
		      const struct xs_part *parts, unsigned int nparts, struct buf *reply)
{
	return xs_client_request_typed(c, type, tx_id, parts, nparts, reply, NULL);
}

int xs_client_request_typed(struct xs_client *c, uint32_t type, uint32_t tx_id,
			    const struct xs_part *parts, unsigned int nparts, struct buf *reply,
			    uint32_t *reply_type)
{
	struct buf *in = reply ? reply : &c->scratch;
	struct xs_hdr h = {.type = type, .tx_id = tx_id};
	size_t total = 0;
	int r;

	if (c->broken)
		return c->broken;
	for (unsigned int i = 0; i < nparts; i++) {
		if (parts[i].len > XS_PAYLOAD_MAX - total)
			return -E2BIG;
		total += parts[i].len;
	}
	h.len = (uint32_t)total;
	h.req_id = c->next_req_id++;
	if (c->next_req_id == 0)
		c->next_req_id = 1;
	log_debug("-> %s req %u tx %u len %u", xs_type_name(type), h.req_id, tx_id, h.len);
	r = client_send(c, &h, parts, nparts);
	if (r)
		return r;
	for (;;) {
		struct xs_hdr rh;

		r = client_recv(c, &rh, in);
		if (r)
			return r;
		if (rh.type == XS_WATCH_EVENT) {
			r = client_queue_event(c, in);
			if (r)
				return client_break(c, r);
			continue;
		}
		if (rh.req_id != h.req_id) {
			log_debug("dropping stray %s reply (req %u)", xs_type_name(rh.type),
				  rh.req_id);
			continue;
		}
		log_debug("<- %s req %u len %u", xs_type_name(rh.type), rh.req_id, rh.len);
		if (rh.type == XS_ERROR) {
			int err = xs_error_from_name((const char *)in->data);
			buf_reset(in);
			return -(err ? err : EINVAL);
		}
		if (reply_type)
			*reply_type = rh.type;
		return 0;
	}
}

/* A request whose parts are NUL-terminated strings (the NULs are sent). */
static int request_strs(struct xs_client *c, uint32_t type, uint32_t tx, const char *const *strs,
			unsigned int n, struct buf *reply)
{
	struct xs_part parts[8];

	if (n > ARRAY_SIZE(parts))
		return -E2BIG;
	for (unsigned int i = 0; i < n; i++) {
		parts[i].p = strs[i];
		parts[i].len = strlen(strs[i]) + 1;
	}
	return xs_client_request(c, type, tx, parts, n, reply);
}

static int request_path(struct xs_client *c, uint32_t type, uint32_t tx, const char *path,
			struct buf *reply)
{
	return request_strs(c, type, tx, &path, 1, reply);
}

int xs_client_read(struct xs_client *c, uint32_t tx, const char *path, struct buf *value)
{
	return request_path(c, XS_READ, tx, path, value);
}

int xs_client_write(struct xs_client *c, uint32_t tx, const char *path, const void *value,
		    size_t len)
{
	struct xs_part parts[2] = {{path, strlen(path) + 1}, {value, len}};

	return xs_client_request(c, XS_WRITE, tx, parts, 2, NULL);
}

int xs_client_mkdir(struct xs_client *c, uint32_t tx, const char *path)
{
	return request_path(c, XS_MKDIR, tx, path, NULL);
}

int xs_client_rm(struct xs_client *c, uint32_t tx, const char *path)
{
	return request_path(c, XS_RM, tx, path, NULL);
}

/* Number of NUL-terminated names in `b`; -EPROTO if the last one is not
 * terminated. */
static int names_count(const struct buf *b)
{
	int n = 0;

	if (b->len && b->data[b->len - 1] != 0)
		return -EPROTO;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == 0;
	return n;
}

/* Appends one DIRECTORY_PART reply's names to `names`. Sets *gen to the
 * reply's generation string and *done when the list ended. Returns the
 * number of list bytes consumed, or -EPROTO / -ENOMEM. */
static long dir_part_take(const struct buf *in, struct buf *names, const char **gen, bool *done)
{
	const uint8_t *nul = memchr(in->data, 0, in->len);
	const uint8_t *rest;
	size_t rest_len;

	if (!nul)
		return -EPROTO;
	*gen = (const char *)in->data;
	rest = nul + 1;
	rest_len = in->len - (size_t)(rest - in->data);
	if (rest_len == 0 || (rest_len == 1 && rest[0] == 0)) {
		*done = true;
		return 0;
	}
	if (rest[rest_len - 1] != 0)
		return -EPROTO;
	*done = rest_len >= 2 && rest[rest_len - 2] == 0;
	if (*done)
		rest_len--;
	if (buf_append(names, rest, rest_len))
		return -ENOMEM;
	return (long)rest_len;
}

static int directory_by_parts(struct xs_client *c, uint32_t tx, const char *path, struct buf *names)
{
	char first_gen[32] = "", off_str[24];
	struct buf in = BUF_INIT;
	unsigned int restarts = 0;
	size_t off = 0;
	int r;

	buf_reset(names);
	for (;;) {
		const char *strs[2] = {path, off_str}, *gen;
		bool done;
		long took;

		snprintf(off_str, sizeof(off_str), "%zu", off);
		r = request_strs(c, XS_DIRECTORY_PART, tx, strs, 2, &in);
		if (r)
			goto out;
		took = dir_part_take(&in, names, &gen, &done);
		if (took < 0) {
			r = (int)took;
			goto out;
		}
		if (off == 0) {
			snprintf(first_gen, sizeof(first_gen), "%s", gen);
		} else if (strcmp(first_gen, gen) != 0) {
			/* The node changed between parts: start over. */
			if (++restarts > XS_DIR_PART_RETRIES) {
				r = -EAGAIN;
				goto out;
			}
			buf_reset(names);
			off = 0;
			continue;
		}
		if (done)
			break;
		if (took == 0) {
			r = -EPROTO;
			goto out;
		}
		off += (size_t)took;
	}
	r = buf_reserve(names, 1);
	if (r == 0)
		names->data[names->len] = 0;
out:
	buf_free(&in);
	return r;
}

int xs_client_directory(struct xs_client *c, uint32_t tx, const char *path, struct buf *names,
			unsigned int *count)
{
	int n, r = request_path(c, XS_DIRECTORY, tx, path, names);

	if (r == -E2BIG)
		r = directory_by_parts(c, tx, path, names);
	if (r)
		return r;
	n = names_count(names);
	if (n < 0)
		return n;
	if (count)
		*count = (unsigned int)n;
	return 0;
}

int xs_client_get_perms(struct xs_client *c, uint32_t tx, const char *path, struct xs_perm *perms,
			unsigned int max, unsigned int *count)
{
	struct buf in = BUF_INIT;
	unsigned int n = 0;
	size_t pos = 0;
	int r;

	r = request_path(c, XS_GET_PERMS, tx, path, &in);
	if (r)
		goto out;
	if (names_count(&in) < 0) {
		r = -EPROTO;
		goto out;
	}
	while (pos < in.len) {
		const char *s = (const char *)in.data + pos;
		struct xs_perm p;

		pos += strlen(s) + 1;
		if (xs_perm_parse(s, &p)) {
			r = -EPROTO;
			goto out;
		}
		if (n >= max) {
			r = -E2BIG;
			goto out;
		}
		perms[n++] = p;
	}
	if (n == 0)
		r = -EPROTO;
	*count = n;
out:
	buf_free(&in);
	return r;
}

int xs_client_set_perms(struct xs_client *c, uint32_t tx, const char *path,
			const struct xs_perm *perms, unsigned int count)
{
	struct buf out = BUF_INIT;
	struct xs_part parts[2];
	int r;

	for (unsigned int i = 0; i < count; i++) {
		char s[16];
		xs_perm_format(&perms[i], s, sizeof(s));
		r = buf_append_strz(&out, s);
		if (r)
			goto out;
	}
	parts[0] = (struct xs_part){path, strlen(path) + 1};
	parts[1] = (struct xs_part){out.data, out.len};
	r = xs_client_request(c, XS_SET_PERMS, tx, parts, 2, NULL);
out:
	buf_free(&out);
	return r;
}

int xs_client_watch(struct xs_client *c, const char *path, const char *token)
{
	const char *strs[2] = {path, token};

	return request_strs(c, XS_WATCH, 0, strs, 2, NULL);
}

int xs_client_unwatch(struct xs_client *c, const char *path, const char *token)
{
	const char *strs[2] = {path, token};

	return request_strs(c, XS_UNWATCH, 0, strs, 2, NULL);
}

/* Splits an event payload "path\0token\0" into the two buffers. */
static int event_split(const uint8_t *p, size_t len, struct buf *path, struct buf *token)
{
	const uint8_t *nul = memchr(p, 0, len);
	const uint8_t *tok, *end;

	if (!nul)
		return -EPROTO;
	tok = nul + 1;
	end = memchr(tok, 0, len - (size_t)(tok - p));
	if (!end)
		end = p + len;
	if (buf_set_bytes(path, p, (size_t)(nul - p)) ||
	    buf_set_bytes(token, tok, (size_t)(end - tok)))
		return -ENOMEM;
	return 0;
}

/* Pops the oldest queued event into the buffers. -EAGAIN if none. */
static int event_pop(struct xs_client *c, struct buf *path, struct buf *token)
{
	uint32_t len;
	int r;

	if (buf_used(&c->events) < sizeof(len))
		return -EAGAIN;
	memcpy(&len, buf_head(&c->events), sizeof(len));
	r = event_split(buf_head(&c->events) + sizeof(len), len, path, token);
	buf_consume(&c->events, sizeof(len) + len);
	return r;
}

int xs_client_read_watch(struct xs_client *c, int timeout_ms, struct buf *path, struct buf *token)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : now_ms() + (uint64_t)timeout_ms;
	int r;

	r = event_pop(c, path, token);
	if (r != -EAGAIN)
		return r;
	if (c->broken)
		return c->broken;
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int wait_ms = -1;
		struct xs_hdr h;

		if (timeout_ms >= 0) {
			uint64_t now = now_ms();
			wait_ms = now >= deadline ? 0 : (int)(deadline - now);
		}
		r = poll(&pfd, 1, wait_ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		r = client_recv(c, &h, &c->scratch);
		if (r)
			return r;
		if (h.type == XS_WATCH_EVENT)
			return event_split(c->scratch.data, c->scratch.len, path, token);
		log_debug("dropping stray %s reply (req %u)", xs_type_name(h.type), h.req_id);
	}
}

int xs_client_reset_watches(struct xs_client *c)
{
	int r = request_path(c, XS_RESET_WATCHES, 0, "", NULL);

	/* Events queued so far belong to watches that no longer exist. */
	if (r == 0)
		buf_reset(&c->events);
	return r;
}

int xs_client_txn_start(struct xs_client *c, uint32_t *tx)
{
	struct buf in = BUF_INIT;
	unsigned int id;
	int r;

	r = request_path(c, XS_TRANSACTION_START, 0, "", &in);
	if (r)
		goto out;
	reply_strip_nul(&in);
	if (parse_uint((const char *)in.data, UINT32_MAX, &id) || id == 0) {
		r = -EPROTO;
		goto out;
	}
	*tx = id;
out:
	buf_free(&in);
	return r;
}

int xs_client_txn_end(struct xs_client *c, uint32_t tx, bool commit)
{
	return request_path(c, XS_TRANSACTION_END, tx, commit ? "T" : "F", NULL);
}

int xs_client_introduce(struct xs_client *c, unsigned int domid)
{
	char id[16];
	const char *strs[3] = {id, "0", "0"};

	snprintf(id, sizeof(id), "%u", domid);
	return request_strs(c, XS_INTRODUCE, 0, strs, 3, NULL);
}

int xs_client_release(struct xs_client *c, unsigned int domid)
{
	char id[16];

	snprintf(id, sizeof(id), "%u", domid);
	return request_path(c, XS_RELEASE, 0, id, NULL);
}

int xs_client_set_target(struct xs_client *c, unsigned int domid, unsigned int target)
{
	char id[16], tg[16];
	const char *strs[2] = {id, tg};

	snprintf(id, sizeof(id), "%u", domid);
	snprintf(tg, sizeof(tg), "%u", target);
	return request_strs(c, XS_SET_TARGET, 0, strs, 2, NULL);
}

int xs_client_is_introduced(struct xs_client *c, unsigned int domid, bool *yes)
{
	struct buf in = BUF_INIT;
	char id[16];
	int r;

	snprintf(id, sizeof(id), "%u", domid);
	r = request_path(c, XS_IS_DOMAIN_INTRODUCED, 0, id, &in);
	if (r)
		goto out;
	reply_strip_nul(&in);
	if (strcmp((const char *)in.data, "T") == 0)
		*yes = true;
	else if (strcmp((const char *)in.data, "F") == 0)
		*yes = false;
	else
		r = -EPROTO;
out:
	buf_free(&in);
	return r;
}

int xs_client_get_domain_path(struct xs_client *c, unsigned int domid, struct buf *path)
{
	char id[16];
	int r;

	snprintf(id, sizeof(id), "%u", domid);
	r = request_path(c, XS_GET_DOMAIN_PATH, 0, id, path);
	if (r == 0)
		reply_strip_nul(path);
	return r;
}

/* Strings of a quota request: "[domid\0]name\0[value\0]". */
static unsigned int quota_strs(int domid, const char *name, const char *value, char *id,
			       size_t idsz, const char *strs[3])
{
	unsigned int n = 0;

	if (domid >= 0) {
		snprintf(id, idsz, "%d", domid);
		strs[n++] = id;
	}
	strs[n++] = name;
	if (value)
		strs[n++] = value;
	return n;
}

int xs_client_get_quota(struct xs_client *c, int domid, const char *name, unsigned int *value)
{
	struct buf in = BUF_INIT;
	const char *strs[3];
	char id[16];
	unsigned int n = quota_strs(domid, name, NULL, id, sizeof(id), strs);
	int r;

	r = request_strs(c, XS_GET_QUOTA, 0, strs, n, &in);
	if (r)
		goto out;
	reply_strip_nul(&in);
	if (parse_uint((const char *)in.data, UINT32_MAX, value))
		r = -EPROTO;
out:
	buf_free(&in);
	return r;
}

int xs_client_set_quota(struct xs_client *c, int domid, const char *name, unsigned int value)
{
	const char *strs[3];
	char id[16], val[16];
	unsigned int n;

	snprintf(val, sizeof(val), "%u", value);
	n = quota_strs(domid, name, val, id, sizeof(id), strs);
	return request_strs(c, XS_SET_QUOTA, 0, strs, n, NULL);
}

int xs_client_list_quotas(struct xs_client *c, struct buf *names)
{
	int r = xs_client_request(c, XS_GET_QUOTA, 0, NULL, 0, names);

	if (r == 0)
		reply_strip_nul(names);
	return r;
}

int xs_client_control(struct xs_client *c, const char *const *args, unsigned int nargs,
		      struct buf *out)
{
	struct xs_part parts[16];
	int r;

	if (nargs == 0)
		return -EINVAL;
	if (nargs > ARRAY_SIZE(parts))
		return -E2BIG;
	for (unsigned int i = 0; i < nargs; i++) {
		parts[i].p = args[i];
		parts[i].len = strlen(args[i]) + 1;
	}
	r = xs_client_request(c, XS_CONTROL, 0, parts, nargs, out);
	if (r == 0)
		reply_strip_nul(out);
	return r;
}

/* store_bench.c — a load generator for airlock-store, and its echo floor.
 *
 *   store_bench --socket PATH --op read|write|txn --clients N --seconds S
 *               [--keys K] [--value-size B] [--shared-key]
 *   store_bench --echo-server PATH
 *   store_bench --echo PATH [--clients N] [--seconds S]
 *
 * How it measures. Each client is a thread with its own connection that
 * keeps exactly one request outstanding: send, wait for the reply, send the
 * next. Threads connect and write the keys they will use, then meet at a
 * barrier; the main thread notes the start time, sleeps S seconds and raises
 * a stop flag that the clients check between operations, so every counted
 * operation completed and none is cut in half. Each reply's round trip goes
 * into a per-thread log-linear histogram (64 steps per power of two, under
 * 1.6% error), merged at the end for p50 and p99. Throughput is completed
 * operations over the wall time from start to the last client's exit.
 *
 * A txn operation is a read-modify-write of one counter: TRANSACTION_START,
 * READ, WRITE value+1, TRANSACTION_END "T". An EAGAIN (at the end, or from
 * any step) restarts the whole transaction and counts one retry; latency is
 * from the first START to the commit. After the run the counters are read
 * back and must equal the commits counted (a lost or doubled update is
 * reported and the program exits 3).
 *
 * Keys are distinct per client (/bench/c<i>/k<j>, cycled over K keys) unless
 * --shared-key puts every client on one key (for txn: one contended counter).
 *
 * The echo server is the floor for READ: a single-threaded epoll loop that
 * frames xenstore messages exactly as a store must (header, then payload)
 * and sends each one back. The echo client sends the same READ request the
 * read mode sends, so both see the same message sizes and the same syscalls
 * on the client side.
 *
 * Output: one line of key=value pairs on stdout, e.g.
 *   op=read clients=8 shared=0 seconds=3.00 ops=123 ops_per_s=41 p50_us=9.1
 *   p99_us=30.2 retries=0
 * Errors go to stderr; the exit status is 0, 1 (a client failed), 2 (usage)
 * or 3 (counter check failed).
 */
#include "common/util.h"
#include "xs/xs_msg.h"
#include "xs/xs_wire.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- latency histogram ---- */

#define HIST_SUB_BITS 7
#define HIST_LINEAR   (1u << HIST_SUB_BITS)
#define HIST_HALF     (HIST_LINEAR / 2)
#define HIST_BUCKETS  (HIST_LINEAR + (64 - HIST_SUB_BITS) * HIST_HALF)

struct hist {
	uint64_t total;
	uint64_t count[HIST_BUCKETS];
};

static unsigned int hist_index(uint64_t v)
{
	if (v < HIST_LINEAR)
		return (unsigned int)v;
	unsigned int msb = 63u - (unsigned int)__builtin_clzll(v);
	unsigned int shift = msb - (HIST_SUB_BITS - 1);
	return HIST_LINEAR + (shift - 1) * HIST_HALF + (unsigned int)((v >> shift) - HIST_HALF);
}

/* The middle of the values bucket `idx` holds. */
static uint64_t hist_value(unsigned int idx)
{
	if (idx < HIST_LINEAR)
		return idx;
	unsigned int k = idx - HIST_LINEAR;
	unsigned int shift = k / HIST_HALF + 1;
	uint64_t sub = k % HIST_HALF + HIST_HALF;
	return (sub << shift) + (UINT64_C(1) << (shift - 1));
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->total++;
}

static void hist_merge(struct hist *into, const struct hist *from)
{
	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		into->count[i] += from->count[i];
	into->total += from->total;
}

/* The value at quantile q (0 < q <= 1), or 0 for an empty histogram. */
static uint64_t hist_quantile(const struct hist *h, double q)
{
	if (h->total == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank)
			return hist_value(i);
	}
	return hist_value(HIST_BUCKETS - 1);
}

/* ---- one blocking connection speaking the wire protocol ---- */

struct conn {
	int fd;
	uint32_t req_id;
	size_t rlen; /* bytes buffered in rbuf */
	uint8_t rbuf[XS_HDR_SIZE + XS_PAYLOAD_MAX + 1];
	uint8_t wbuf[XS_HDR_SIZE + XS_PAYLOAD_MAX];
};

/* A reply: its header, and its payload NUL-guarded in the connection's
 * buffer until the next request. */
struct reply {
	struct xs_hdr hdr;
	const char *payload;
};

static int unix_connect(const char *path, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/* Reads until one whole message is buffered. Returns 0 with *msg_len set,
 * or -errno (-ECONNRESET at EOF, -EPROTO for an oversized header). */
static int conn_fill(struct conn *c, struct xs_hdr *hdr, size_t *msg_len)
{
	for (;;) {
		if (c->rlen >= XS_HDR_SIZE) {
			if (xs_hdr_decode(c->rbuf, hdr) < 0)
				return -EPROTO;
			*msg_len = XS_HDR_SIZE + hdr->len;
			if (c->rlen >= *msg_len)
				return 0;
		}
		ssize_t n = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		c->rlen += (size_t)n;
	}
}

/* Sends one request of `type` whose payload is `a` followed by `b` (either
 * may be empty) and waits for its reply. Watch events are skipped. Returns 0
 * with the reply in *r, the store's error as -errno for an XS_ERROR reply,
 * or -errno for a broken connection (the connection is then useless). */
static int conn_request(struct conn *c, uint32_t type, uint32_t tx_id, const void *a, size_t alen,
			const void *b, size_t blen, struct reply *r)
{
	if (alen + blen > XS_PAYLOAD_MAX)
		return -E2BIG;
	struct xs_hdr h = {.type = type,
			   .req_id = ++c->req_id,
			   .tx_id = tx_id,
			   .len = (uint32_t)(alen + blen)};
	xs_hdr_encode(&h, c->wbuf);
	if (alen)
		memcpy(c->wbuf + XS_HDR_SIZE, a, alen);
	if (blen)
		memcpy(c->wbuf + XS_HDR_SIZE + alen, b, blen);
	int err = write_all(c->fd, c->wbuf, XS_HDR_SIZE + alen + blen);
	if (err < 0)
		return err;
	for (;;) {
		size_t msg_len = 0;
		err = conn_fill(c, &r->hdr, &msg_len);
		if (err < 0)
			return err;
		bool event = r->hdr.type == XS_WATCH_EVENT;
		if (!event) {
			/* Leave the reply in place, NUL-guarded; drop it on
			 * the next call. Only one request is outstanding, so
			 * nothing can follow it. */
			if (c->rlen != msg_len)
				return -EPROTO;
			c->rbuf[msg_len] = 0;
			r->payload = (const char *)c->rbuf + XS_HDR_SIZE;
			c->rlen = 0;
			if (r->hdr.req_id != h.req_id)
				return -EPROTO;
			if (r->hdr.type == XS_ERROR) {
				int e = xs_error_from_name(r->payload);
				return e ? -e : -EIO;
			}
			if (r->hdr.type != type)
				return -EPROTO;
			return 0;
		}
		memmove(c->rbuf, c->rbuf + msg_len, c->rlen - msg_len);
		c->rlen -= msg_len;
	}
}

/* ---- the load ---- */

enum bench_op { OP_READ, OP_WRITE, OP_TXN, OP_ECHO };

static const char *const op_names[] = {"read", "write", "txn", "echo"};

struct bench_opts {
	const char *socket;
	enum bench_op op;
	unsigned int clients;
	unsigned int seconds;
	unsigned int keys;
	unsigned int value_size;
	bool shared_key;
};

struct client {
	const struct bench_opts *opts;
	unsigned int id;
	pthread_t thread;
	struct conn conn;
	char (*keys)[64];
	char counter[64];
	uint64_t ops;
	uint64_t retries;
	int err;	    /* 0 or -errno: why the client stopped early */
	const char *failed; /* what it was doing then */
	struct hist hist;
};

static pthread_barrier_t start_barrier;
static atomic_bool stop_flag;
static char value_bytes[XS_PAYLOAD_MAX];

/* One read-modify-write transaction on the client's counter, retried until it
 * commits. Returns 0 or -errno (anything but EAGAIN is fatal). */
static int do_txn(struct client *cl)
{
	struct conn *c = &cl->conn;
	const char *key = cl->counter;
	size_t klen = strlen(key) + 1;
	struct reply r;
	int err;
	for (;;) {
		err = conn_request(c, XS_TRANSACTION_START, 0, "", 1, NULL, 0, &r);
		if (err < 0) {
			cl->failed = "TRANSACTION_START";
			return err;
		}
		unsigned int tx;
		if (parse_uint(r.payload, UINT32_MAX, &tx) < 0 || tx == 0) {
			cl->failed = "TRANSACTION_START reply";
			return -EPROTO;
		}
		err = conn_request(c, XS_READ, tx, key, klen, NULL, 0, &r);
		if (err == 0) {
			uint64_t v;
			if (parse_u64(r.payload, UINT64_MAX - 1, &v) < 0) {
				cl->failed = "READ counter value";
				return -EPROTO;
			}
			char val[24];
			int n = snprintf(val, sizeof(val), "%" PRIu64, v + 1);
			err = conn_request(c, XS_WRITE, tx, key, klen, val, (size_t)n, &r);
			if (err == 0) {
				err = conn_request(c, XS_TRANSACTION_END, tx, "T", 2, NULL, 0, &r);
				if (err == 0)
					return 0;
				if (err != -EAGAIN) {
					cl->failed = "TRANSACTION_END";
					return err;
				}
				cl->retries++;
				continue;
			}
		}
		if (err != -EAGAIN) {
			cl->failed = "READ/WRITE in transaction";
			return err;
		}
		/* EAGAIN before the end: abandon this attempt and retry. */
		cl->retries++;
		err = conn_request(c, XS_TRANSACTION_END, tx, "F", 2, NULL, 0, &r);
		if (err < 0 && err != -ENOENT && err != -EAGAIN) {
			cl->failed = "TRANSACTION_END abort";
			return err;
		}
	}
}

/* Connects and writes the keys this client will use. */
static int client_setup(struct client *cl)
{
	const struct bench_opts *o = cl->opts;
	struct reply r;
	int err = unix_connect(o->socket, &cl->conn.fd);
	if (err < 0) {
		cl->failed = "connect";
		return err;
	}
	cl->keys = calloc(o->keys, sizeof(*cl->keys));
	if (!cl->keys)
		return -ENOMEM;
	for (unsigned int k = 0; k < o->keys; k++) {
		if (o->shared_key)
			snprintf(cl->keys[k], sizeof(cl->keys[k]), "/bench/shared/k%u", k);
		else
			snprintf(cl->keys[k], sizeof(cl->keys[k]), "/bench/c%u/k%u", cl->id, k);
	}
	if (o->shared_key)
		snprintf(cl->counter, sizeof(cl->counter), "/bench/shared/counter");
	else
		snprintf(cl->counter, sizeof(cl->counter), "/bench/c%u/counter", cl->id);

	bool owner = !o->shared_key || cl->id == 0;
	if (o->op == OP_ECHO || !owner)
		return 0;
	if (o->op == OP_TXN) {
		err = conn_request(&cl->conn, XS_WRITE, 0, cl->counter, strlen(cl->counter) + 1,
				   "0", 1, &r);
	} else {
		for (unsigned int k = 0; k < o->keys && err == 0; k++)
			err = conn_request(&cl->conn, XS_WRITE, 0, cl->keys[k],
					   strlen(cl->keys[k]) + 1, value_bytes, o->value_size, &r);
	}
	if (err < 0)
		cl->failed = "writing the initial keys";
	return err;
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	const struct bench_opts *o = cl->opts;
	struct reply r;
	cl->err = client_setup(cl);
	pthread_barrier_wait(&start_barrier);
	if (cl->err < 0)
		return NULL;
	unsigned int k = 0;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		const char *key = cl->keys[k];
		size_t klen = strlen(key) + 1;
		uint64_t t0 = now_ns();
		int err;
		switch (o->op) {
		case OP_READ:
		case OP_ECHO:
			err = conn_request(&cl->conn, XS_READ, 0, key, klen, NULL, 0, &r);
			cl->failed = "READ";
			break;
		case OP_WRITE:
			err = conn_request(&cl->conn, XS_WRITE, 0, key, klen, value_bytes,
					   o->value_size, &r);
			cl->failed = "WRITE";
			break;
		default:
			err = do_txn(cl);
			break;
		}
		if (err < 0) {
			cl->err = err;
			return NULL;
		}
		cl->failed = NULL;
		hist_add(&cl->hist, now_ns() - t0);
		cl->ops++;
		if (++k == o->keys)
			k = 0;
	}
	return NULL;
}

/* Reads the txn counters back and compares them with the commits counted.
 * Returns true if they agree. */
static bool check_counters(const struct bench_opts *o, struct client *cls)
{
	struct reply r;
	uint64_t total = 0;
	bool ok = true;
	for (unsigned int i = 0; i < o->clients; i++)
		total += cls[i].ops;
	for (unsigned int i = 0; i < o->clients; i++) {
		if (o->shared_key && i > 0)
			break;
		uint64_t want = o->shared_key ? total : cls[i].ops, got;
		int err = conn_request(&cls[i].conn, XS_READ, 0, cls[i].counter,
				       strlen(cls[i].counter) + 1, NULL, 0, &r);
		if (err < 0 || parse_u64(r.payload, UINT64_MAX, &got) < 0) {
			fprintf(stderr, "store_bench: reading %s back: %s\n", cls[i].counter,
				err < 0 ? err_str(err) : "not a number");
			return false;
		}
		if (got != want) {
			fprintf(stderr,
				"store_bench: %s holds %" PRIu64 " after %" PRIu64
				" committed increments\n",
				cls[i].counter, got, want);
			ok = false;
		}
	}
	return ok;
}

static int run_bench(const struct bench_opts *o)
{
	struct client *cls = calloc(o->clients, sizeof(*cls));
	if (!cls) {
		fprintf(stderr, "store_bench: out of memory\n");
		return 1;
	}
	memset(value_bytes, 'v', sizeof(value_bytes));
	pthread_barrier_init(&start_barrier, NULL, o->clients + 1);
	unsigned int started = 0;
	for (; started < o->clients; started++) {
		cls[started].opts = o;
		cls[started].id = started;
		cls[started].conn.fd = -1;
		if (pthread_create(&cls[started].thread, NULL, client_main, &cls[started]) != 0) {
			fprintf(stderr, "store_bench: cannot start client thread %u\n", started);
			exit(1); /* the barrier can never open now */
		}
	}
	pthread_barrier_wait(&start_barrier);
	uint64_t t0 = now_ns();
	struct timespec ts = {.tv_sec = o->seconds};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	atomic_store(&stop_flag, true);
	struct hist *all = calloc(1, sizeof(*all));
	uint64_t ops = 0, retries = 0;
	int rc = 0;
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(cls[i].thread, NULL);
		if (cls[i].err < 0) {
			fprintf(stderr, "store_bench: client %u: %s: %s (%s)\n", i,
				cls[i].failed ? cls[i].failed : "request", err_str(cls[i].err),
				errno_name(-cls[i].err));
			rc = 1;
		}
		ops += cls[i].ops;
		retries += cls[i].retries;
		if (all)
			hist_merge(all, &cls[i].hist);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	if (rc == 0 && o->op == OP_TXN && !check_counters(o, cls))
		rc = 3;
	if (rc == 0 && all) {
		printf("op=%s clients=%u shared=%d seconds=%.2f ops=%" PRIu64
		       " ops_per_s=%.0f p50_us=%.1f p99_us=%.1f retries=%" PRIu64 "\n",
		       op_names[o->op], o->clients, o->shared_key ? 1 : 0, secs, ops,
		       (double)ops / secs, (double)hist_quantile(all, 0.50) / 1e3,
		       (double)hist_quantile(all, 0.99) / 1e3, retries);
		fflush(stdout);
	}
	for (unsigned int i = 0; i < started; i++) {
		if (cls[i].conn.fd >= 0)
			close(cls[i].conn.fd);
		free(cls[i].keys);
	}
	free(all);
	free(cls);
	pthread_barrier_destroy(&start_barrier);
	return rc;
}

/* ---- the echo server ---- */

struct echo_conn {
	struct echo_conn *next, *prev; /* every open connection, to free at exit */
	int fd;
	uint32_t events; /* what epoll watches for */
	size_t rlen;
	size_t wlen, woff;
	uint8_t rbuf[2 * (XS_HDR_SIZE + XS_PAYLOAD_MAX)];
	uint8_t wbuf[2 * (XS_HDR_SIZE + XS_PAYLOAD_MAX)];
};

static volatile sig_atomic_t echo_quit;
static struct echo_conn echo_conns = {.next = &echo_conns, .prev = &echo_conns};

static void echo_close(struct echo_conn *ec)
{
	ec->prev->next = ec->next;
	ec->next->prev = ec->prev;
	close(ec->fd); /* also leaves the epoll set */
	free(ec);
}

static void on_term(int sig)
{
	(void)sig;
	echo_quit = 1;
}

/* Sends what is queued. Returns 0 (maybe with bytes left: wait for EPOLLOUT)
 * or -errno. */
static int echo_flush(struct echo_conn *ec)
{
	while (ec->woff < ec->wlen) {
		ssize_t n = write(ec->fd, ec->wbuf + ec->woff, ec->wlen - ec->woff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		ec->woff += (size_t)n;
	}
	ec->woff = ec->wlen = 0;
	return 0;
}

/* Watches the connection for `events` unless it already is. */
static int echo_watch(int epfd, struct echo_conn *ec, uint32_t events)
{
	if (ec->events == events)
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = ec};
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, ec->fd, &ev) < 0)
		return -errno;
	ec->events = events;
	return 0;
}

/* One read (the loop is level-triggered), every whole message queued back,
 * then one write: the fewest syscalls a request can cost a server. What
 * cannot be sent now waits for EPOLLOUT, and reading stops until it has gone.
 * Returns 0 or -errno (the connection is to be closed). */
static int echo_serve(int epfd, struct echo_conn *ec)
{
	ssize_t n = read(ec->fd, ec->rbuf + ec->rlen, sizeof(ec->rbuf) - ec->rlen);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	ec->rlen += (size_t)n;
	size_t off = 0;
	struct xs_hdr h;
	while (ec->rlen - off >= XS_HDR_SIZE) {
		if (xs_hdr_decode(ec->rbuf + off, &h) < 0)
			return -EPROTO;
		size_t len = XS_HDR_SIZE + h.len;
		if (ec->rlen - off < len || sizeof(ec->wbuf) - ec->wlen < len)
			break;
		memcpy(ec->wbuf + ec->wlen, ec->rbuf + off, len);
		ec->wlen += len;
		off += len;
	}
	if (off) {
		memmove(ec->rbuf, ec->rbuf + off, ec->rlen - off);
		ec->rlen -= off;
	}
	int err = echo_flush(ec);
	if (err < 0)
		return err;
	return echo_watch(epfd, ec, ec->wlen ? EPOLLOUT : EPOLLIN);
}

/* Accepts every pending connection; one that cannot be set up is closed. */
static void echo_accept(int epfd, int lfd)
{
	int fd;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct echo_conn *ec = calloc(1, sizeof(*ec));
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ec};
		if (!ec || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(ec);
			close(fd);
			continue;
		}
		ec->fd = fd;
		ec->events = EPOLLIN;
		ec->next = &echo_conns;
		ec->prev = echo_conns.prev;
		ec->prev->next = ec;
		echo_conns.prev = ec;
	}
}

static int echo_server(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "store_bench: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	struct sigaction act = {.sa_handler = on_term};
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || epfd < 0) {
		perror("store_bench: socket/epoll");
		return 1;
	}
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
		fprintf(stderr, "store_bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	fprintf(stderr, "store_bench: echo server on %s\n", path);
	while (!echo_quit) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("store_bench: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct echo_conn *ec = evs[i].data.ptr;
			if (!ec) {
				echo_accept(epfd, lfd);
				continue;
			}
			int err;
			if (ec->events & EPOLLOUT) {
				err = echo_flush(ec);
				if (err == 0 && ec->wlen == 0)
					err = echo_watch(epfd, ec, EPOLLIN);
			} else {
				err = echo_serve(epfd, ec);
			}
			if (err < 0)
				echo_close(ec);
		}
	}
	while (echo_conns.next != &echo_conns)
		echo_close(echo_conns.next);
	unlink(path);
	close(lfd);
	close(epfd);
	return 0;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: store_bench --socket PATH --op read|write|txn --clients N --seconds S\n"
		   "                   [--keys K] [--value-size B] [--shared-key]\n"
		   "       store_bench --echo-server PATH\n"
		   "       store_bench --echo PATH [--clients N] [--seconds S]\n");
}

static int parse_op(const char *s, enum bench_op *out)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(op_names); i++) {
		if (strcmp(s, op_names[i]) == 0) {
			*out = (enum bench_op)i;
			return 0;
		}
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"op", required_argument, NULL, 'o'},
		{"clients", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 't'},
		{"keys", required_argument, NULL, 'k'},
		{"value-size", required_argument, NULL, 'v'},
		{"shared-key", no_argument, NULL, 'S'},
		{"echo-server", required_argument, NULL, 'E'},
		{"echo", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench_opts o = {
		.op = OP_READ, .clients = 1, .seconds = 3, .keys = 16, .value_size = 32};
	const char *echo_path = NULL;
	bool have_op = false;
	int ch, bad = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.socket = optarg;
			break;
		case 'o':
			bad |= parse_op(optarg, &o.op);
			have_op = true;
			break;
		case 'c':
			bad |= parse_uint(optarg, 1024, &o.clients);
			break;
		case 't':
			bad |= parse_uint(optarg, 3600, &o.seconds);
			break;
		case 'k':
			bad |= parse_uint(optarg, 1u << 20, &o.keys);
			break;
		case 'v':
			bad |= parse_uint(optarg, 1024, &o.value_size);
			break;
		case 'S':
			o.shared_key = true;
			break;
		case 'E':
			echo_path = optarg;
			break;
		case 'e':
			o.socket = optarg;
			o.op = OP_ECHO;
			have_op = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (echo_path)
		return echo_server(echo_path);
	if (bad || optind != argc || !o.socket || !have_op || o.clients == 0 || o.seconds == 0 ||
	    o.keys == 0) {
		usage(stderr);
		return 2;
	}
	if (o.shared_key)
		o.keys = 1;
	signal(SIGPIPE, SIG_IGN);
	return run_bench(&o);
}

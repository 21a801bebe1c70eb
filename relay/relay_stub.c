/* relay_stub.c — the relay's end of the stub protocol: the port socket (the
 * stub QEMU's virtio-serial chardev connects to the relay's listening
 * socket as a client), the streaming decoder, the session, and the stub's
 * notices.
 *
 * Sessions. The first HELLO starts a session: the relay answers HELLO_ACK
 * and relay_sync.c replays what the engine has set so far. A later HELLO
 * under a new nonce, or the HELLO that answers our REHELLO after a broken
 * session, means airlock-dm in the stub restarted (or lost its state): as
 * the design says, every engine connection is dropped (the engine
 * reconnects with reconnect=1, exactly the dom0 path, and the inflight
 * areas carry what was in flight), then the session starts afresh. A new
 * connection on the port socket (the stub QEMU's chardev reconnected) is a
 * new byte stream: the decoder restarts and the relay sends the preamble
 * and REHELLO, so a stub that was up asks for a new session.
 *
 * Output. Every frame the relay sends is small and the relay has at most
 * one request per channel out, so the queue is a fixed buffer; a stub that
 * does not read until it overflows is dropped (the connection closed).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "relay/relay_int.h"
#include "stubproto/sp_codec.h"

static void port_close(struct relay *r, const char *why)
{
	uint8_t scratch[SP_FRAME_MAX + SP_PREAMBLE_LEN];

	if (r->port < 0)
		return;
	log_info("%s: stub port closed (%s)", r->name, why);
	loop_del_fd(r->port_h);
	close(r->port);
	r->port = -1;
	r->port_h = NULL;
	r->out_len = 0;
	if (r->ses.state == SP_ST_UP)
		r->had_session = true;
	/* Drops the session; the frame itself goes nowhere. */
	(void)sp_session_rehello(&r->ses, SP_ERR_GARBAGE, scratch, sizeof(scratch));
	relay_sync_session_lost(r);
}

static void flush(struct relay *r)
{
	while (r->out_len > 0 && r->port >= 0) {
		ssize_t n = send(r->port, r->out, r->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			port_close(r, "unwritable");
			return;
		}
		memmove(r->out, r->out + n, r->out_len - (size_t)n);
		r->out_len -= (size_t)n;
	}
	if (r->port >= 0)
		(void)loop_mod_fd(r->port_h, EPOLLIN | (r->out_len ? EPOLLOUT : 0));
}

int relay_stub_send(struct relay *r, const uint8_t *frame, size_t len)
{
	if (r->port < 0)
		return -ENOTCONN;
	if (len > sizeof(r->out) - r->out_len) {
		port_close(r, "output queue full");
		return -ENOBUFS;
	}
	memcpy(r->out + r->out_len, frame, len);
	r->out_len += len;
	flush(r);
	return 0;
}

static void send_rehello(struct relay *r, enum sp_err reason)
{
	uint8_t buf[SP_PREAMBLE_LEN + SP_FRAME_MAX];
	int n = sp_session_rehello(&r->ses, reason, buf, sizeof(buf));

	relay_sync_session_lost(r);
	if (n > 0)
		(void)relay_stub_send(r, buf, (size_t)n);
}

static void send_ack(struct relay *r)
{
	uint8_t buf[SP_FRAME_MAX];
	int n = sp_session_ack(&r->ses, buf, sizeof(buf));

	if (n > 0)
		(void)relay_stub_send(r, buf, (size_t)n);
}

static void new_session(struct relay *r)
{
	r->st.stub_sessions++;
	if (r->had_session) {
		r->st.stub_restarts++;
		log_warn("%s: the stub's airlock-dm restarted: dropping the engine's connections",
			 r->name);
		r->quiet = true;
		for (unsigned int i = 0; i < r->ndevs; i++)
			relay_engine_drop(&r->dev[i], "stub restarted");
		r->quiet = false;
	} else {
		log_info("%s: stub session up", r->name);
	}
	r->had_session = true;
	relay_sync_session_start(r);
	send_ack(r);
	relay_sync_all(r);
}

static void on_broken(struct relay *r, const struct sp_frame *f)
{
	unsigned int ch = f->hdr.channel;
	const struct sp_device_broken *b = &f->m.device_broken;

	r->st.broken++;
	if (ch == 0 || ch > r->ndevs) {
		log_rl(&r->rl, LOG_LVL_WARN, "%s: DEVICE_BROKEN on channel %u: no such device",
		       r->name, ch);
		return;
	}
	struct relay_dev *d = &r->dev[ch - 1];
	log_rl(&r->rl, LOG_LVL_WARN, "%s dev%u: stub reports queue %u broken (reason %u)", r->name,
	       d->idx, b->queue, b->reason);
	for (unsigned int q = 0; q < d->desc.queues; q++) {
		struct relay_ring *g = &d->rings[q];
		if ((b->queue == SP_QUEUE_ALL || b->queue == q) && !g->err_signalled) {
			g->err_signalled = true;
			relay_notify_signal(g->err_fd);
		}
	}
}

static void deliver(struct relay *r, const struct sp_frame *f)
{
	if (f->refused) {
		log_rl(&r->rl, LOG_LVL_WARN, "%s: stub %s refused: %s", r->name,
		       sp_type_name(f->hdr.type), f->why ? f->why : "?");
		return;
	}
	switch (f->hdr.type) {
	case SP_T_REPLY:
		if (f->hdr.channel >= 1 && f->hdr.channel <= r->ndevs)
			relay_sync_reply(&r->dev[f->hdr.channel - 1], &f->m.reply);
		break;
	case SP_T_READY:
		log_info("%s: stub ready (channel %u)", r->name, f->hdr.channel);
		break;
	case SP_T_DEVICE_BROKEN:
		on_broken(r, f);
		break;
	case SP_T_LOG:
		log_rl(&r->rl_log, LOG_LVL_INFO, "stub %s: [%u] %s", r->name, f->m.log.level,
		       f->m.log.text);
		break;
	default:
		break;
	}
}

static void on_frame(struct relay *r, const struct sp_frame *f)
{
	switch (sp_session_rx(&r->ses, f)) {
	case SP_V_ACK:
		new_session(r);
		break;
	case SP_V_ACK_AGAIN:
		send_ack(r);
		break;
	case SP_V_REHANDSHAKE:
		log_rl(&r->rl, LOG_LVL_WARN,
		       "%s: stub session broken (%s: %s): asking for a new "
		       "handshake",
		       r->name, sp_err_name(r->ses.err), r->ses.why ? r->ses.why : "");
		r->had_session = true;
		send_rehello(r, r->ses.err ? r->ses.err : SP_ERR_REPLY);
		break;
	case SP_V_DELIVER:
		deliver(r, f);
		break;
	default:
		break;
	}
}

static void stub_feed(struct relay *r, const uint8_t *p, size_t n)
{
	struct sp_frame f;
	int rc;

	while (r->port >= 0 && (rc = sp_decode(&r->dec, &p, &n, &f)) != 0) {
		if (rc < 0) {
			log_rl(&r->rl, LOG_LVL_WARN, "%s: stub port: %s", r->name,
			       r->dec.why ? r->dec.why : "garbage");
			continue;
		}
		on_frame(r, &f);
	}
}

static void on_port(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay *r = data;
	uint8_t buf[4096];

	if (events & EPOLLOUT)
		flush(r);
	if (r->port < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = recv(r->port, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		port_close(r, n == 0 ? "end of stream" : "read error");
		return;
	}
	stub_feed(r, buf, (size_t)n);
}

static void on_port_accept(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct relay *r = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return;
	port_close(r, "replaced by a new connection");
	if (loop_add_fd(r->loop, c, EPOLLIN, on_port, r, &r->port_h) < 0) {
		close(c);
		return;
	}
	r->port = c;
	sp_decoder_reset(&r->dec);
	log_info("%s: stub port connected", r->name);
	/* A stub that was up before this stream asks for a new session. */
	send_rehello(r, SP_ERR_GARBAGE);
}

int relay_stub_listen(struct relay *r)
{
	sp_decoder_init(&r->dec, SP_ROLE_RELAY);
	uint32_t seed;
	random_bytes(&seed, sizeof(seed));
	sp_session_init(&r->ses, SP_ROLE_RELAY, seed);
	if (r->port_listen < 0)
		return 0;
	return loop_add_fd(r->loop, r->port_listen, EPOLLIN, on_port_accept, r, &r->port_listen_h);
}

void relay_stub_close(struct relay *r)
{
	if (r->port >= 0) {
		loop_del_fd(r->port_h);
		close(r->port);
		r->port = -1;
	}
	if (r->port_listen_h)
		loop_del_fd(r->port_listen_h);
	r->port_listen_h = NULL;
	if (r->port_listen >= 0)
		close(r->port_listen);
	r->port_listen = -1;
}

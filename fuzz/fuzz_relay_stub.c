/* fuzz_relay_stub.c — libFuzzer target for airlock-relay's core
 * (relay/) as a hostile stub domain sees it: the relay with one blk
 * device whose engine has set everything up (features, memory table,
 * inflight area, queue 0 started), and a "stub" on the port socket sending
 * what the input says.
 *
 * Input: a sequence of operations, each an opcode byte and its operands
 * (missing bytes read as 0):
 *   0 n b[n]   n raw bytes on the port (garbage, cut or forged frames)
 *   1 p        a HELLO with a fresh nonce (preamble if p&1)
 *   2 s b0 b1  a REPLY to the last request the relay sent: status s (0 or
 *              an errno), VRING_STOP's base b0|b1<<8; wrong type if s&0x80
 *   3 q r      DEVICE_BROKEN queue q (0xff: all), reason r
 *   4 l        a LOG line at level l
 *   5          the engine asks GET_VRING_BASE for queue 0
 *   6          the engine kicks queue 0; the stub rings vectors 0..2
 *   7          the stub's port connection is replaced by a new one
 *   8          READY on a channel from the next byte
 * After each operation the relay's loop runs and the stub reads (and
 * decodes, as the stub end) everything the relay sent.
 *
 * Oracles: no sanitizer report, no crash; every byte the relay sends
 * decodes as well-formed frames at the stub end (the relay never sends
 * garbage, whatever it was sent).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "relay/relay.h"
#include "relay/relay_desc.h"
#include "stubproto/sp_codec.h"
#include "stubproto/sp_decoder.h"
#include "stubproto/sp_session.h"
#include "vhost/vhost_msg.h"

#define RAM_SIZE 0x40000ull
#define UVA	 0x7f0000000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long serial;

static int listen_at(char *name, size_t cap, int which)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(name, cap, "airlock-fuzz-relay-%d-%lu-%d", (int)getpid(), serial, which);
	memcpy(a.sun_path + 1, name, strlen(name));
	if (bind(s, (struct sockaddr *)&a,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))) < 0 ||
	    listen(s, 4) < 0)
		abort();
	return s;
}

static int connect_to(const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(a.sun_path + 1, name, strlen(name));
	if (connect(s, (struct sockaddr *)&a,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))) < 0)
		abort();
	return s;
}

struct fz {
	struct loop *loop;
	struct relay *r;
	int memfd, fe, st, ivs;
	int kick, call, err;
	char port_name[64];
	struct sp_decoder dec;
	struct sp_session ses;
	struct sp_frame last; /* the last request the relay sent */
	bool have_last;
	const uint8_t *p;
	size_t n;
};

static uint8_t next(struct fz *z)
{
	if (z->n == 0)
		return 0;
	z->n--;
	return *z->p++;
}

static void pump(struct fz *z)
{
	for (int i = 0; i < 4; i++)
		loop_run_once(z->loop, 0);
}

static void fe_send(struct fz *z, uint32_t req, const void *pl, uint32_t size, int fd)
{
	struct vhost_msg m = {.hdr = {req, VHOST_USER_VERSION, size}};
	if (size)
		memcpy(&m.p, pl, size);
	if (fd >= 0) {
		m.fds[0] = fd;
		m.nfds = 1;
	}
	(void)vhost_msg_send(z->fe, &m);
	pump(z);
}

static void engine_setup(struct fz *z)
{
	uint64_t f = 0x130000044ull | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	uint64_t p =
		(1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) | (1ull << VHOST_USER_PROTOCOL_F_MQ);
	fe_send(z, VHOST_USER_SET_PROTOCOL_FEATURES, &p, 8, -1);
	fe_send(z, VHOST_USER_SET_FEATURES, &f, 8, -1);
	struct vhost_inflight_info in = {.num_queues = 2, .queue_size = 16};
	fe_send(z, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), -1);
	struct vhost_mem_table t = {.nregions = 1};
	t.regions[0] = (struct vhost_mem_region){0, RAM_SIZE, UVA, 0};
	fe_send(z, VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, z->memfd);
	struct vhost_vring_state s = {0, 16};
	fe_send(z, VHOST_USER_SET_VRING_NUM, &s, 8, -1);
	struct vhost_vring_addr a = {0, 0, UVA + 0x1000, UVA + 0x3000, UVA + 0x2000, 0};
	fe_send(z, VHOST_USER_SET_VRING_ADDR, &a, 40, -1);
	uint64_t idx = 0;
	fe_send(z, VHOST_USER_SET_VRING_CALL, &idx, 8, z->call);
	fe_send(z, VHOST_USER_SET_VRING_ERR, &idx, 8, z->err);
	fe_send(z, VHOST_USER_SET_VRING_KICK, &idx, 8, z->kick);
	s = (struct vhost_vring_state){0, 1};
	fe_send(z, VHOST_USER_SET_VRING_ENABLE, &s, 8, -1);
}

/* Reads what the relay sent; every byte must decode cleanly. */
static void stub_read(struct fz *z)
{
	uint8_t buf[4096];
	ssize_t got;

	pump(z);
	while ((got = recv(z->st, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const uint8_t *p = buf;
		size_t len = (size_t)got;
		struct sp_frame f;
		int rc;
		while ((rc = sp_decode(&z->dec, &p, &len, &f)) != 0) {
			if (rc < 0 || f.refused)
				abort(); /* the relay sent something malformed */
			(void)sp_session_rx(&z->ses, &f);
			if (sp_type_is_request(f.hdr.type)) {
				z->last = f;
				z->have_last = true;
			}
		}
	}
}

static void stub_write(struct fz *z, const uint8_t *b, size_t n)
{
	if (n && send(z->st, b, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the relay dropped the connection */
	}
	stub_read(z);
}

static void stub_connect(struct fz *z)
{
	if (z->st >= 0)
		close(z->st);
	z->st = connect_to(z->port_name);
	sp_decoder_init(&z->dec, SP_ROLE_STUB);
	sp_session_init(&z->ses, SP_ROLE_STUB, 0);
	z->have_last = false;
	stub_read(z);
}

static void op(struct fz *z, uint8_t code)
{
	uint8_t buf[SP_PREAMBLE_LEN + SP_FRAME_MAX];
	struct sp_addr a;
	int n = -1;
	uint64_t one = 1;

	switch (code % 9) {
	case 0: {
		size_t len = next(z);
		if (len > z->n)
			len = z->n;
		stub_write(z, z->p, len);
		z->p += len;
		z->n -= len;
		return;
	}
	case 1: {
		uint64_t nonce = ++serial * 0x9e3779b97f4a7c15ull;
		n = sp_session_hello(&z->ses, nonce, next(z) & 1, buf, sizeof(buf));
		break;
	}
	case 2: {
		uint8_t s = next(z), b0 = next(z), b1 = next(z);
		if (!z->have_last ||
		    sp_session_tx(&z->ses, SP_T_REPLY, z->last.hdr.channel, 0, &a) < 0)
			return;
		struct sp_reply r = {.req_seq = z->last.hdr.seq, .req_type = z->last.hdr.type};
		if (s & 0x80)
			r.req_type = SP_T_SET_FEATURES;
		r.status = s & 0x7f;
		if (r.status == 0 && r.req_type == SP_T_VRING_STOP) {
			r.len = 2;
			r.result[0] = b0;
			r.result[1] = b1;
		}
		n = sp_encode_reply(buf, sizeof(buf), &a, &r);
		break;
	}
	case 3: {
		uint8_t q = next(z), reason = next(z);
		struct sp_device_broken b = {.queue = q == 0xff ? SP_QUEUE_ALL : q % 8,
					     .reason = 1 + reason % 4};
		if (sp_session_tx(&z->ses, SP_T_DEVICE_BROKEN, 1 + next(z) % 2, 0, &a) < 0)
			return;
		n = sp_encode_device_broken(buf, sizeof(buf), &a, &b);
		break;
	}
	case 4:
		if (sp_session_tx(&z->ses, SP_T_LOG, 1, 0, &a) < 0)
			return;
		n = sp_encode_log(buf, sizeof(buf), &a, next(z) % 4, "fuzz line\x01\x7f");
		break;
	case 5: {
		struct vhost_vring_state s = {0, 0};
		fe_send(z, VHOST_USER_GET_VRING_BASE, &s, 8, -1);
		stub_read(z);
		return;
	}
	case 6:
		if (write(z->kick, &one, 8) < 0) {
		}
		pump(z);
		stub_read(z);
		return;
	case 7:
		stub_connect(z);
		return;
	case 8:
		if (sp_session_tx(&z->ses, SP_T_READY, next(z) % 16, 0, &a) < 0)
			return;
		n = sp_encode_ready(buf, sizeof(buf), &a);
		break;
	}
	if (n > 0)
		stub_write(z, buf, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fz z = {.memfd = -1, .fe = -1, .st = -1, .p = data, .n = size};
	char eng_name[64], ivs_name[64];
	unsigned int q = 2;

	if (!quiet) {
		log_set_level(LOG_LVL_ERR);
		quiet = true;
	}
	serial++;
	uint64_t msize = relay_inflight_layout(RAM_SIZE, &q, 1, NULL, NULL);
	z.memfd = memfd_create("fuzz-ram", MFD_CLOEXEC);
	if (z.memfd < 0 || ftruncate(z.memfd, (off_t)msize) < 0 || loop_new(&z.loop) < 0)
		abort();
	struct relay_config cfg = {.name = "fuzz", .ram_size = RAM_SIZE, .ndevs = 1};
	char err[64];
	if (relay_desc_parse("blk,fd=0,features=0x130000044,queues=2,config=00112233", &cfg.devs[0],
			     err, sizeof(err)) < 0)
		abort();
	cfg.ram_fd = dup(z.memfd);
	cfg.devs[0].listen_fd = listen_at(eng_name, sizeof(eng_name), 0);
	cfg.port_fd = listen_at(z.port_name, sizeof(z.port_name), 1);
	cfg.ivshmem_fd = listen_at(ivs_name, sizeof(ivs_name), 2);
	if (relay_new(&cfg, z.loop, &z.r) < 0)
		abort();
	z.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	z.call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	z.err = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	z.ivs = connect_to(ivs_name);
	z.fe = connect_to(eng_name);
	pump(&z);
	engine_setup(&z);
	stub_connect(&z);
	while (z.n > 0)
		op(&z, next(&z));
	relay_free(z.r);
	loop_free(z.loop);
	close(z.st);
	close(z.fe);
	close(z.ivs);
	close(z.kick);
	close(z.call);
	close(z.err);
	close(z.memfd);
	return 0;
}

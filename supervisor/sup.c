/* sup.c — the per-domain supervisor.
 *
 * Design
 * ------
 * One supervisor per domain owns everything of that domain: the guest-RAM
 * memfd, the taps, the cgroup, the engine process, the console, the control
 * socket, the run directory and the store records. It was started by
 * `airlock create` in its own session and outlives the CLI. Everything it
 * owns is released in one place, sup_finish(), whatever ended the domain —
 * a guest poweroff, `airlock destroy`, a crash, a killed engine, SIGTERM —
 * so nothing is left behind: the memfd and taps vanish with their fds, the
 * cgroup is emptied and removed, the run directory and records deleted.
 *
 * Lifecycle:
 *
 *   start engine --QMP handshake--> RUNNING
 *   RUNNING --SHUTDOWN event + engine exit--> decide:
 *       we asked (destroy)            -> finish
 *       reboot asked by `airlock reboot` -> restart
 *       reason guest-reset            -> on_reboot
 *       reason guest-shutdown         -> on_poweroff
 *       GUEST_PANICKED seen           -> on_crash
 *       engine died without SHUTDOWN  -> on_crash (it was killed or crashed)
 *   RUNNING --GUEST_PANICKED (engine paused by -action panic=pause)-->
 *       on_crash now (the engine is stopped for destroy and restart)
 *   action restart: a fresh engine on zeroed RAM — unless it has restarted
 *       5 times within 60 s: then the domain is destroyed (crash loop);
 *   action preserve: the engine stays (paused) or the records stay with
 *       state "shutdown"/"crashed" until `airlock destroy`.
 *
 * Rebooting starts a fresh engine instead of resetting the old one: the
 * engine's state (and anything a guest did to it) does not survive a reboot.
 */
#include "supervisor/sup.h"
#include "supervisor/argv.h"
#include "supervisor/console.h"
#include "supervisor/control.h"
#include "supervisor/dmproc.h"
#include "supervisor/engine.h"
#include "supervisor/host.h"
#include "supervisor/stubdom.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/util.h"
#include "qmp/qmp.h"
#include "sys/cgroup.h"
#include "toolstack/domstore.h"
#include "toolstack/paths.h"
#include "xs/xs_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RESTART_WINDOW_MS 60000
#define RESTART_MAX	  5
#define RING_SIZE	  (64u << 10)
#define MAX_NICS	  DOMCFG_VIFS_MAX
#define QUIT_GRACE_MS	  3000
/* airlock-dm restarts: more than dm_restart_max() deaths within
 * DM_RESTART_WINDOW_MS and the guest's on_crash applies. */
#define DM_RESTART_DEFAULT   5
#define DM_RESTART_LIMIT     1000
#define DM_RESTART_WINDOW_MS 60000

enum exit_cause {
	CAUSE_NONE,
	CAUSE_POWEROFF,
	CAUSE_REBOOT,
	CAUSE_PANIC,
	CAUSE_HOST, /* we quit it */
};

struct sup {
	const struct dom_config *cfg;
	const struct sup_params *p;
	struct loop *loop;
	struct xs_client *xs;
	struct console *con;
	struct control *ctl;
	struct cgroup_host cgh;
	struct cgroup *cg;
	int ram_fd;
	uint64_t ram_size;
	int taps[MAX_NICS];
	pid_t passt[MAX_NICS]; /* per passt vif, restarted with each engine */
	struct eng_disk disks[DOMCFG_DISKS_MAX];
	struct eng_nic nics[MAX_NICS];
	pid_t engine;
	/* Placement "airlock": airlock-dm serves the disks and NICs. */
	bool use_dm;
	struct dmproc_dev dmdevs[DMPROC_MAX_DEVS];
	unsigned int ndm;
	pid_t dm;
	uint64_t dm_deaths[DM_RESTART_LIMIT];
	unsigned int ndm_deaths;
	/* Placement "stubdom": airlock-dm in the stub domain, the relay. */
	bool use_stub;
	struct stubdom_spec sp;
	struct stubdom sd;
	struct console *stub_con;
	struct loop_timer *stub_timer;
	uint64_t stub_deadline;
	bool stub_restarting; /* its last state was "restarting" */
	struct qmp *qmp;
	struct loop_fd *qmp_h, *sig_h;
	struct loop_timer *kill_timer;
	int sig_fd;
	enum exit_cause cause;
	bool destroy_requested, reboot_requested, shutdown_requested, finishing;
	char state[24];
	char end[96];	/* the "done ..." line for waiters */
	char fail[320]; /* why create failed after start: the CLI hears it once all is gone */
	uint64_t restarts[RESTART_MAX];
	unsigned int nrestarts;
	int status;
};

static const char *action_name(enum dom_action a)
{
	return domcfg_action_name(a);
}

/* The store connection, reopened if the store restarted since (the
 * records persist; only the connection is new). NULL if it is down. */
static struct xs_client *store(struct sup *s)
{
	if (s->xs && !xs_client_is_broken(s->xs))
		return s->xs;
	xs_client_close(s->xs);
	s->xs = NULL;
	if (xs_client_open(NULL, &s->xs)) {
		s->xs = NULL;
		return NULL;
	}
	log_info("reconnected to the store");
	return s->xs;
}

/* Writes one of the domain's nodes, retrying once on a fresh connection
 * (a restarted store closes the old one, which shows only when used). */
static int store_set(struct sup *s, const char *rel, const char *value)
{
	int r = store(s) ? domstore_set(s->xs, s->p->domid, rel, value) : -ENOTCONN;

	if (r && store(s))
		r = domstore_set(s->xs, s->p->domid, rel, value);
	return r;
}

static void set_state(struct sup *s, const char *state)
{
	snprintf(s->state, sizeof(s->state), "%s", state);
	if (store_set(s, "state", state))
		log_warn("cannot record state %s in the store", state);
	if (s->con)
		console_note(s->con, "domain %s: %s", s->cfg->name, state);
	log_info("domain %s: %s", s->cfg->name, state);
}

static void ready(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ready(struct sup *s, const char *fmt, ...)
{
	struct sup_params *p = (struct sup_params *)s->p;
	char msg[512];
	va_list ap;
	int n;

	if (p->ready_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	if (write_all(p->ready_fd, msg, (size_t)n))
		log_debug("the creating CLI went away");
	close(p->ready_fd);
	p->ready_fd = -1;
}

/* ---- the engine ---- */

static void engine_child_setup(void *data)
{
	struct sup *s = data;

	if (s->cg && cgroup_attach(s->cg, getpid()))
		_exit(126);
}

static void on_qmp_event(struct qmp *q, const struct qmp_event *ev, void *data);
static int start_passt(struct sup *s);
static void qmp_readable(struct loop_fd *h, int fd, uint32_t events, void *data);

static int start_engine(struct sup *s)
{
	const struct dom_config *c = s->cfg;
	int qmp_pair[2] = {-1, -1}, con_pair[2] = {-1, -1};
	char chroot_dir[300], log_path[512];
	struct eng_spec spec = {
		.qemu = paths_qemu(),
		.name = c->name,
		.uuid = s->p->uuid,
		.accel = s->p->accel,
		.vcpus = c->vcpus,
		.mem_mib = c->memory_mib,
		.ram_fd = s->ram_fd,
		.kernel = c->boot == DOM_BOOT_DIRECT ? c->kernel : NULL,
		.initrd = c->boot == DOM_BOOT_DIRECT ? c->ramdisk : NULL,
		.cmdline = c->boot == DOM_BOOT_DIRECT ? c->cmdline : NULL,
		.disks = s->disks,
		.ndisks = (unsigned)c->n_disks,
		.nics = s->nics,
		.nnics = (unsigned)c->n_vifs,
		.uid = paths_uid_base() + s->p->domid,
		.gid = paths_uid_base() + s->p->domid,
		.deny_elevate = s->p->deny_elevate,
	};
	char **argv = NULL;
	int r;

	snprintf(chroot_dir, sizeof(chroot_dir), "%s/chroot", s->p->run_dir);
	spec.chroot_dir = chroot_dir;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp_pair) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con_pair)) {
		r = -errno;
		goto out;
	}
	spec.qmp_fd = qmp_pair[1];
	spec.serial_fd = con_pair[1];
	spec.cwd = chroot_dir;
	if (!s->use_dm && !s->use_stub) { /* else passt serves airlock-dm or the stub */
		r = start_passt(s);
		if (r)
			goto out;
	}
	r = engine_argv(&spec, &argv);
	if (r)
		goto out;
	argv_log("engine", argv);
	s->cause = CAUSE_NONE;
	s->engine = engine_spawn(&spec, argv, STDERR_FILENO, engine_child_setup, s);
	if (s->engine < 0) {
		r = (int)s->engine;
		s->engine = 0;
		goto out;
	}
	close(qmp_pair[1]);
	close(con_pair[1]);
	qmp_pair[1] = con_pair[1] = -1;
	if (s->con) {
		console_set_guest(s->con, con_pair[0]);
	} else {
		paths_log_file(c->name, ".console.log", log_path, sizeof(log_path));
		r = console_new(s->loop, con_pair[0], log_path, RING_SIZE, &s->con);
	}
	con_pair[0] = -1;
	if (r)
		goto out;
	r = qmp_open_fd(qmp_pair[0], 30000, &s->qmp);
	qmp_pair[0] = -1;
	if (r) {
		log_err("engine: no QMP greeting: %s", err_str(r));
		goto out;
	}
	qmp_set_event_cb(s->qmp, on_qmp_event, s);
	r = loop_add_fd(s->loop, qmp_fd(s->qmp), EPOLLIN, qmp_readable, s, &s->qmp_h);
	if (!r) {
		char pid[32];
		snprintf(pid, sizeof(pid), "%d", (int)s->engine);
		store_set(s, "airlock/engine-pid", pid);
		snprintf(pid, sizeof(pid), "%llu",
			 (unsigned long long)domstore_proc_start(s->engine));
		store_set(s, "airlock/engine-start", pid);
	}
out:
	argv_free(argv);
	for (int i = 0; i < 2; i++) {
		if (qmp_pair[i] >= 0)
			close(qmp_pair[i]);
		if (con_pair[i] >= 0)
			close(con_pair[i]);
	}
	return r;
}

static void drop_qmp(struct sup *s)
{
	if (s->qmp_h)
		loop_del_fd(s->qmp_h);
	s->qmp_h = NULL;
	qmp_close(s->qmp);
	s->qmp = NULL;
}

static void kill_timer_fired(void *data)
{
	struct sup *s = data;

	s->kill_timer = NULL;
	if (s->engine > 0) {
		log_warn("engine %d did not quit; killing it", (int)s->engine);
		kill(s->engine, SIGKILL);
	}
}

/* Asks the engine to quit (QMP), then kills it if it lingers. */
static void stop_engine(struct sup *s)
{
	if (s->engine <= 0)
		return;
	s->cause = CAUSE_HOST;
	if (s->qmp && qmp_execute(s->qmp, "quit", NULL, NULL, 2000) == 0) {
		if (!s->kill_timer)
			s->kill_timer = loop_add_timer(s->loop, QUIT_GRACE_MS, kill_timer_fired, s);
		return;
	}
	kill(s->engine, SIGKILL);
}

/* ---- the device model (placement "airlock") ---- */

static int start_dm(struct sup *s)
{
	char bin[512], pid[32], **argv = NULL;
	int r;

	if (paths_sibling("airlock-dm", "dm", "AIRLOCK_DM", bin, sizeof(bin))) {
		log_err("cannot find airlock-dm");
		return -ENOENT;
	}
	/* A fresh passt per start: a stream cut mid-frame cannot be resumed. */
	r = start_passt(s);
	if (r)
		return r;
	for (unsigned int i = 0, k = 0; i < s->ndm; i++)
		if (s->dmdevs[i].net)
			s->dmdevs[i].stream_fd = s->nics[k++].stream_fd;
	r = dmproc_argv(bin, s->dmdevs, s->ndm, &argv);
	if (r)
		return r;
	argv_log("airlock-dm", argv);
	s->dm = dmproc_spawn(argv, s->dmdevs, s->ndm, STDERR_FILENO, engine_child_setup, s);
	argv_free(argv);
	if (s->dm < 0) {
		r = (int)s->dm;
		s->dm = 0;
		return r;
	}
	snprintf(pid, sizeof(pid), "%d", (int)s->dm);
	store_set(s, "airlock/dm-pid", pid);
	snprintf(pid, sizeof(pid), "%llu", (unsigned long long)domstore_proc_start(s->dm));
	store_set(s, "airlock/dm-start", pid);
	return 0;
}

/* Stops airlock-dm: SIGTERM (it finishes what is in flight), SIGKILL after
 * a grace period. Blocks at most DM_STOP_MS. */
#define DM_STOP_MS 2000
static void stop_dm(struct sup *s)
{
	uint64_t until = now_ms() + DM_STOP_MS;

	if (s->dm <= 0)
		return;
	kill(s->dm, SIGTERM);
	while (waitpid(s->dm, NULL, WNOHANG) == 0) {
		if (now_ms() >= until) {
			kill(s->dm, SIGKILL);
			waitpid(s->dm, NULL, 0);
			break;
		}
		usleep(10000);
	}
	s->dm = 0;
}

/* How many airlock-dm deaths within DM_RESTART_WINDOW_MS are restarted:
 * $AIRLOCK_DM_RESTARTS (0..DM_RESTART_LIMIT), else DM_RESTART_DEFAULT. */
static unsigned int dm_restart_max(void)
{
	const char *v = getenv("AIRLOCK_DM_RESTARTS");
	unsigned int n;

	if (v && parse_uint(v, DM_RESTART_LIMIT, &n) == 0)
		return n;
	return DM_RESTART_DEFAULT;
}

static bool dm_restart_allowed(struct sup *s)
{
	unsigned int max = dm_restart_max(), recent = 0;
	uint64_t now = now_ms();

	for (unsigned i = 0; i < s->ndm_deaths && i < max; i++)
		if (now - s->dm_deaths[i] < DM_RESTART_WINDOW_MS)
			recent++;
	if (max)
		s->dm_deaths[s->ndm_deaths++ % max] = now;
	return recent < max;
}

static void apply(struct sup *s, enum dom_action a, const char *why);

/* airlock-dm died while the domain runs: restart it on the same listening
 * sockets (the engine reconnects by itself and the rings resume from the
 * in-flight record), unless it keeps dying: then the guest has crashed. */
static void dm_exited(struct sup *s, int wstatus)
{
	s->dm = 0;
	if (s->finishing || s->destroy_requested)
		return;
	if (WIFSIGNALED(wstatus))
		log_warn("airlock-dm killed by signal %d", WTERMSIG(wstatus));
	else
		log_warn("airlock-dm exited with status %d", WEXITSTATUS(wstatus));
	if (dm_restart_allowed(s)) {
		int r = start_dm(s);
		if (r == 0) {
			log_info("airlock-dm restarted (pid %d)", (int)s->dm);
			return;
		}
		log_err("airlock-dm: restart failed: %s", err_str(r));
	} else {
		log_err("airlock-dm died %u times within %d s: the guest's devices are gone",
			dm_restart_max() + 1, DM_RESTART_WINDOW_MS / 1000);
	}
	if (s->engine > 0) {
		/* The engine's exit applies on_crash (cause: none). */
		s->cause = CAUSE_NONE;
		kill(s->engine, SIGKILL);
	} else {
		apply(s, s->cfg->on_crash, "crashed");
	}
}

/* ---- the stub domain (placement "stubdom") ---- */

#define STUBDOM_POLL_MS	   100
#define STUBDOM_TIMEOUT_MS 60000

static void sup_finish(struct sup *s, const char *what, int status);
static void ready(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How long the stub may take to say `running`: $AIRLOCK_STUBDOM_TIMEOUT
 * seconds, else STUBDOM_TIMEOUT_MS. */
static uint64_t stub_timeout_ms(void)
{
	const char *v = getenv("AIRLOCK_STUBDOM_TIMEOUT");
	unsigned int n;

	if (v && parse_uint(v, 3600, &n) == 0 && n > 0)
		return 1000ull * n;
	return STUBDOM_TIMEOUT_MS;
}

#define STUBDOM_WATCH_MS 250

/* After the stub first ran: its init restarts a dying airlock-dm and says
 * "restarting" each time; as in the dom0 placement, more than
 * dm_restart_max() deaths within DM_RESTART_WINDOW_MS mean the guest's
 * devices are gone, and on_crash applies (through the engine's exit). */
/* A stub timer fired: forgets it and, unless the domain is finishing,
 * reads the stub's state node into state. Returns false when finishing. */
static bool stub_timer_poll(struct sup *s, char *state, size_t size)
{
	s->stub_timer = NULL;
	if (s->finishing)
		return false;
	stubdom_poll(store(s), &s->sp, &s->sd, state, size);
	return true;
}

static void stub_watch(void *data)
{
	struct sup *s = data;
	char state[64];

	if (!stub_timer_poll(s, state, sizeof(state)))
		return;
	bool restarting = strcmp(state, "restarting") == 0 || strcmp(state, "failed") == 0;
	if (restarting && !s->stub_restarting) {
		log_warn("stub domain %s: airlock-dm died inside it (state %s)", s->sd.name, state);
		if (!dm_restart_allowed(s) && s->engine > 0) {
			log_err("stub domain %s: airlock-dm died %u times within %d s: the guest's "
				"devices are gone",
				s->sd.name, dm_restart_max() + 1, DM_RESTART_WINDOW_MS / 1000);
			s->cause = CAUSE_NONE;
			kill(s->engine, SIGKILL);
		}
	}
	s->stub_restarting = restarting;
	s->stub_timer = loop_add_timer(s->loop, STUBDOM_WATCH_MS, stub_watch, s);
}

static void stub_tick(void *data)
{
	struct sup *s = data;
	char state[64];

	if (!stub_timer_poll(s, state, sizeof(state)))
		return;
	if (s->sd.running) {
		log_info("stub domain %s: running", s->sd.name);
		ready(s, "ok %u", s->p->domid);
		s->stub_timer = loop_add_timer(s->loop, STUBDOM_WATCH_MS, stub_watch, s);
		return;
	}
	if (strcmp(state, "failed") == 0) {
		char why[200] = "", path[128];
		struct buf v = BUF_INIT;
		snprintf(path, sizeof(path), "/local/domain/%u/device-model/%u/error", s->sd.domid,
			 s->p->domid);
		if (store(s) && xs_client_read(s->xs, 0, path, &v) == 0)
			snprintf(why, sizeof(why), "%.*s", (int)buf_used(&v), (char *)buf_head(&v));
		buf_free(&v);
		log_err("stub domain %s: failed: %s", s->sd.name, why);
		snprintf(s->fail, sizeof(s->fail),
			 "stub domain %s failed: %s (its console: %s-dm.console.log)", s->sd.name,
			 why, s->cfg->name);
		sup_finish(s, "stub domain failed", 1);
		return;
	}
	if (now_ms() >= s->stub_deadline) {
		log_err("stub domain %s: not running after %llu s (state '%s')", s->sd.name,
			(unsigned long long)(stub_timeout_ms() / 1000), state);
		snprintf(s->fail, sizeof(s->fail),
			 "stub domain %s not running after %llu s (its state: '%s'; its console: "
			 "%s-dm.console.log)",
			 s->sd.name, (unsigned long long)(stub_timeout_ms() / 1000), state,
			 s->cfg->name);
		sup_finish(s, "stub domain failed", 1);
		return;
	}
	s->stub_timer = loop_add_timer(s->loop, STUBDOM_POLL_MS, stub_tick, s);
}

/* The stub QEMU's pid and start time in the stub domain's record. */
static void stub_record_qemu(struct sup *s)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)s->sd.qemu);
	domstore_set(s->xs, s->sd.domid, "airlock/engine-pid", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)domstore_proc_start(s->sd.qemu));
	domstore_set(s->xs, s->sd.domid, "airlock/engine-start", v);
}

/* A stub QEMU that loads a template was left loading while the engine
 * started: plug its devices in and wake it (stubdom_resume). If it had to
 * boot instead, its new QEMU and serial line replace the old. */
static int resume_stub(struct sup *s)
{
	int r = stubdom_resume(&s->sp, &s->sd, engine_child_setup, s);

	if (r == 1) {
		console_set_guest(s->stub_con, s->sd.console_fd);
		s->sd.console_fd = -1;
		stub_record_qemu(s);
		r = 0;
	}
	return r;
}

static int start_stub(struct sup *s)
{
	const struct dom_config *c = s->cfg;
	char log_path[512];
	int r;

	s->sp = (struct stubdom_spec){
		.guest_name = c->name,
		.guest_domid = s->p->domid,
		.guest_uuid = s->p->uuid,
		.run_dir = s->p->run_dir,
		.accel = s->p->accel,
		.deny_elevate = s->p->deny_elevate,
		.memory_mib = c->stubdom.memory_mib ? c->stubdom.memory_mib
						    : stubdom_default_memory(c->memory_mib),
		.kernel = c->stubdom.kernel,
		.ramdisk = c->stubdom.ramdisk,
		.cmdline = c->stubdom.cmdline,
		.guest_ram = c->memory_mib << 20,
		.ram_fd = s->ram_fd,
		.timeout_ms = stub_timeout_ms(),
	};
	for (size_t i = 0; i < c->n_disks; i++) {
		if (c->disks[i].cdrom)
			continue;
		s->sp.files[s->sp.ndisks] = c->disks[i].target;
		s->sp.read_only[s->sp.ndisks++] = c->disks[i].readonly;
	}
	/* passt vifs: one passt for the stub domain's life, connected to the
	 * stub's own NIC (the engine may restart under it). */
	r = start_passt(s);
	if (r)
		return r;
	for (size_t i = 0; i < c->n_vifs && s->sp.nnics < DMPROC_MAX_DEVS; i++) {
		unsigned int k = s->sp.nnics++;
		s->sp.nic_tap[k] = s->taps[i];
		s->sp.nic_stream[k] =
			c->vifs[i].backend == CFG_VIF_PASST ? s->nics[i].stream_fd : -1;
		memcpy(s->sp.nic_mac[k], s->nics[i].mac, 6);
		s->sp.nic_mtu[k] = c->vifs[i].mtu;
	}
	if (!store(s))
		return -ENOTCONN;
	r = stubdom_prepare(s->xs, &s->sp, &s->sd);
	if (r)
		return r;
	for (unsigned int i = 0, nb = 0, nn = 0; i < s->sd.neng; i++) {
		if (s->sd.eng[i].net) {
			s->nics[nn++].vhost_sock = s->sd.eng[i].sock_name;
			continue;
		}
		while (s->disks[nb].cdrom)
			nb++;
		s->disks[nb].vhost_sock = s->sd.eng[i].sock_name;
		s->disks[nb].num_queues = c->vcpus < 4 ? c->vcpus : 4;
		nb++;
	}
	r = stubdom_start(&s->sp, &s->sd, engine_child_setup, s);
	if (r)
		return r;
	paths_log_file(s->sd.name, ".console.log", log_path, sizeof(log_path));
	r = console_new(s->loop, s->sd.console_fd, log_path, RING_SIZE, &s->stub_con);
	s->sd.console_fd = -1;
	if (r)
		return r;
	stub_record_qemu(s);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)s->sd.relay);
	domstore_set(s->xs, s->sd.domid, "airlock/dm-pid", pid);
	snprintf(pid, sizeof(pid), "%llu", (unsigned long long)domstore_proc_start(s->sd.relay));
	domstore_set(s->xs, s->sd.domid, "airlock/dm-start", pid);
	domstore_set(s->xs, s->sd.domid, "state", "running");
	s->stub_deadline = now_ms() + stub_timeout_ms();
	s->stub_timer = loop_add_timer(s->loop, STUBDOM_POLL_MS, stub_tick, s);
	return 0;
}

/* The relay or the stub's QEMU ended while the domain runs: the guest's
 * devices are gone; on_crash decides (through the engine's exit). */
static void stub_died(struct sup *s, pid_t pid, int wstatus)
{
	const char *who = pid == s->sd.relay ? "relay" : "QEMU";

	if (pid == s->sd.relay)
		s->sd.relay = 0;
	else
		s->sd.qemu = 0;
	if (s->finishing || s->destroy_requested)
		return;
	if (WIFSIGNALED(wstatus))
		log_err("stub domain %s: its %s was killed by signal %d", s->sd.name, who,
			WTERMSIG(wstatus));
	else
		log_err("stub domain %s: its %s exited with status %d", s->sd.name, who,
			WEXITSTATUS(wstatus));
	if (!s->sd.running) {
		snprintf(s->fail, sizeof(s->fail),
			 "stub domain %s: its %s ended before it ran (see %s.log)", s->sd.name, who,
			 s->cfg->name);
		sup_finish(s, "stub domain failed", 1);
		return;
	}
	if (s->engine > 0) {
		s->cause = CAUSE_NONE;
		kill(s->engine, SIGKILL);
	} else {
		sup_finish(s, "stub domain died", 1);
	}
}

/* ---- ending ---- */

/* Ends the domain: records why and leaves the loop; teardown() releases
 * everything it owned. */
static void sup_finish(struct sup *s, const char *what, int status)
{
	if (s->finishing)
		return;
	s->finishing = true;
	s->status = status;
	log_info("domain %s: ending (%s)", s->cfg->name, what);
	/* teardown() kills a still-running engine and releases the rest.
	 * Waiters hear "done" only from teardown, once everything is gone. */
	snprintf(s->end, sizeof(s->end), "done %s", what);
	loop_stop(s->loop);
}

static bool restart_allowed(struct sup *s)
{
	uint64_t now = now_ms();
	unsigned recent = 0;

	for (unsigned i = 0; i < s->nrestarts && i < RESTART_MAX; i++)
		if (now - s->restarts[i] < RESTART_WINDOW_MS)
			recent++;
	if (recent >= RESTART_MAX)
		return false;
	s->restarts[s->nrestarts++ % RESTART_MAX] = now;
	return true;
}

static void apply(struct sup *s, enum dom_action a, const char *why)
{
	int r;

	log_info("domain %s: %s -> %s", s->cfg->name, why, action_name(a));
	switch (a) {
	case DOM_ACTION_DESTROY:
		sup_finish(s, why, 0);
		return;
	case DOM_ACTION_PRESERVE:
		set_state(s, strcmp(why, "crashed") == 0 ? "crashed" : "shutdown");
		control_notify_all(s->ctl, "done preserved");
		return;
	case DOM_ACTION_RESTART:
		if (!restart_allowed(s)) {
			log_err("domain %s: restarted %d times within %d s: giving up",
				s->cfg->name, RESTART_MAX, RESTART_WINDOW_MS / 1000);
			sup_finish(s, "crash loop", 1);
			return;
		}
		ram_zero(s->ram_fd, s->ram_size);
		r = 0;
		if (s->use_dm && s->dm <= 0) {
			s->ndm_deaths = 0;
			r = start_dm(s);
		}
		if (s->use_stub)
			s->ndm_deaths = 0;
		if (!r)
			r = start_engine(s);
		if (r) {
			log_err("domain %s: restart failed: %s", s->cfg->name, err_str(r));
			sup_finish(s, "restart failed", 1);
			return;
		}
		set_state(s, "running");
		control_notify_all(s->ctl, "done restarted");
		return;
	}
}

/* The engine process has exited: decide what that means. */
static void engine_exited(struct sup *s, int wstatus)
{
	enum exit_cause cause;

	s->engine = 0;
	if (s->kill_timer) {
		loop_cancel_timer(s->kill_timer);
		s->kill_timer = NULL;
	}
	/* Events the engine sent before it went are still in the socket. */
	if (s->qmp)
		qmp_on_readable(s->qmp);
	cause = s->cause;
	drop_qmp(s);
	if (WIFSIGNALED(wstatus))
		log_warn("engine killed by signal %d", WTERMSIG(wstatus));
	else if (WEXITSTATUS(wstatus) != 0)
		log_warn("engine exited with status %d", WEXITSTATUS(wstatus));
	if (s->destroy_requested) {
		sup_finish(s, "destroyed", 0);
		return;
	}
	if (s->reboot_requested && cause != CAUSE_PANIC) {
		s->reboot_requested = false;
		apply(s, DOM_ACTION_RESTART, "rebooted");
		return;
	}
	switch (cause) {
	case CAUSE_POWEROFF:
		apply(s, s->cfg->on_poweroff, "powered off");
		break;
	case CAUSE_REBOOT:
		apply(s, s->cfg->on_reboot, "rebooted");
		break;
	case CAUSE_PANIC:
		apply(s, s->cfg->on_crash, "crashed");
		break;
	case CAUSE_HOST:
		sup_finish(s, "stopped", 0);
		break;
	case CAUSE_NONE:
		/* No SHUTDOWN event: the engine was killed or crashed. */
		apply(s, s->cfg->on_crash, "crashed");
		break;
	}
}

static void on_qmp_event(struct qmp *q, const struct qmp_event *ev, void *data)
{
	struct sup *s = data;

	switch (ev->type) {
	case QMP_EV_SHUTDOWN:
		log_info("engine: SHUTDOWN (%s%s)", ev->reason, ev->guest ? ", by the guest" : "");
		if (s->cause == CAUSE_PANIC || s->cause == CAUSE_HOST)
			break;
		if (strcmp(ev->reason, "guest-reset") == 0)
			s->cause = CAUSE_REBOOT;
		else if (strcmp(ev->reason, "guest-panic") == 0)
			s->cause = CAUSE_PANIC;
		else if (strncmp(ev->reason, "host-", 5) == 0)
			s->cause = CAUSE_HOST;
		else
			s->cause = CAUSE_POWEROFF;
		break;
	case QMP_EV_GUEST_PANICKED:
		log_warn("engine: the guest panicked");
		s->cause = CAUSE_PANIC;
		/* -action panic=pause: the engine waits for our decision. */
		if (s->cfg->on_crash == DOM_ACTION_PRESERVE)
			set_state(s, "crashed");
		else if (s->engine > 0)
			kill(s->engine, SIGKILL);
		break;
	default:
		break;
	}
}

static void qmp_readable(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	int r = qmp_on_readable(s->qmp);

	if (r) {
		/* The engine closed its monitor: it is exiting; SIGCHLD follows. */
		loop_del_fd(s->qmp_h);
		s->qmp_h = NULL;
	}
}

/* ---- control commands ---- */

static void control_cmd(void *ctx, struct ctl_conn *cc, const char *cmd)
{
	struct sup *s = ctx;

	if (strcmp(cmd, "status") == 0) {
		ctl_reply(cc, "ok %s engine=%d dm=%d console-bytes=%llu", s->state, (int)s->engine,
			  (int)s->dm, s->con ? (unsigned long long)console_bytes(s->con) : 0ull);
	} else if (strcmp(cmd, "console") == 0) {
		ctl_reply(cc, "ok console");
		console_attach(s->con, ctl_take_fd(cc));
	} else if (strcmp(cmd, "console-dm") == 0) {
		if (!s->stub_con) {
			ctl_reply(cc, "err this domain has no stub domain");
			return;
		}
		ctl_reply(cc, "ok console");
		console_attach(s->stub_con, ctl_take_fd(cc));
	} else if (strcmp(cmd, "destroy") == 0) {
		ctl_reply(cc, "ok");
		ctl_hold(cc);
		s->destroy_requested = true;
		if (s->engine > 0)
			stop_engine(s);
		else
			sup_finish(s, "destroyed", 0);
	} else if (strcmp(cmd, "shutdown") == 0 || strcmp(cmd, "reboot") == 0) {
		if (s->engine <= 0 || !s->qmp) {
			ctl_reply(cc, "err the domain is not running");
			return;
		}
		/* The ACPI power button: the guest shuts down in its own way. */
		if (qmp_execute(s->qmp, "system_powerdown", NULL, NULL, 5000)) {
			ctl_reply(cc, "err system_powerdown failed: %s",
				  qmp_error_desc(s->qmp) ? qmp_error_desc(s->qmp) : "no reply");
			return;
		}
		if (cmd[0] == 'r')
			s->reboot_requested = true;
		else
			s->shutdown_requested = true;
		ctl_reply(cc, "ok");
		ctl_hold(cc);
	} else {
		ctl_reply(cc, "err unknown command");
	}
}

/* ---- signals ---- */

static void signal_event(struct loop_fd *h, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int ws;
			pid_t pid;
			while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
				if (pid == s->engine)
					engine_exited(s, ws);
				else if (pid == s->dm)
					dm_exited(s, ws);
				else if (s->use_stub && (pid == s->sd.relay || pid == s->sd.qemu))
					stub_died(s, pid, ws);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %u: destroying the domain", si.ssi_signo);
			s->destroy_requested = true;
			sup_finish(s, "destroyed", 0);
		}
	}
}

/* ---- setup and teardown ---- */

static void make_mac(struct sup *s, unsigned i, uint8_t mac[6])
{
	/* 00:16:3e is Xen's prefix, as xl generates; the rest from the uuid. */
	uint8_t u[16];

	domcfg_uuid_parse(s->p->uuid, u);
	mac[0] = 0x00;
	mac[1] = 0x16;
	mac[2] = 0x3e;
	mac[3] = u[0] & 0x7f;
	mac[4] = u[1];
	mac[5] = (uint8_t)(u[2] + i);
}

static int setup_devices(struct sup *s)
{
	const struct dom_config *c = s->cfg;
	char dir[300];
	int rc;

	for (size_t i = 0; i < c->n_disks; i++) {
		const struct cfg_disk *d = &c->disks[i];
		s->disks[i].path = d->target;
		s->disks[i].format = cfg_disk_format_name(d->format);
		s->disks[i].readonly = d->readonly;
		s->disks[i].cdrom = d->cdrom;
		if (s->use_dm && !d->cdrom)
			s->dmdevs[s->ndm++] = (struct dmproc_dev){
				.file = d->target,
				.read_only = d->readonly,
				.tap_fd = -1,
				.stream_fd = -1,
			};
	}
	for (size_t i = 0; i < c->n_vifs; i++) {
		const struct cfg_vif *v = &c->vifs[i];
		char name[IFNAMSIZ];
		s->nics[i].tap_fd = s->nics[i].stream_fd = -1;
		if (v->mac_set)
			memcpy(s->nics[i].mac, v->mac, 6);
		else
			make_mac(s, (unsigned)i, s->nics[i].mac);
		s->nics[i].model = v->model == CFG_VIF_E1000	 ? "e1000"
				   : v->model == CFG_VIF_RTL8139 ? "rtl8139"
								 : "virtio-net-pci";
		if (v->backend == CFG_VIF_PASST)
			continue; /* started with each engine: start_passt() */
		if (v->vifname)
			snprintf(name, sizeof(name), "%s", v->vifname);
		else
			snprintf(name, sizeof(name), "vif%u.%zu", s->p->domid, i);
		if (v->rate_bytes_per_s)
			log_warn("vif %zu: rate limits are not applied yet", i);
		s->taps[i] = tap_open(name, v->bridge, v->mtu, true);
		if (s->taps[i] < 0) {
			int r = s->taps[i];
			log_err("vif %zu: tap %s on bridge %s: %s", i, name, v->bridge, err_str(r));
			return r;
		}
		s->nics[i].tap_fd = s->taps[i];
	}
	bool msix = engine_vhost_net_msix(0, s->p->accel);
	if (s->use_stub) {
		/* The taps go to the stub domain's QEMU (start_stub); the
		 * engine's NICs are vhost-user, to the relay. */
		for (size_t i = 0; i < c->n_vifs; i++) {
			s->nics[i].tap_fd = -1;
			s->nics[i].msix = msix;
		}
		return 0;
	}
	if (!s->use_dm)
		return 0;
	/* airlock-dm serves every disk but CD-ROMs, and every NIC. */
	for (size_t i = 0; i < c->n_vifs; i++) {
		const struct cfg_vif *v = &c->vifs[i];
		struct dmproc_dev *d = &s->dmdevs[s->ndm++];
		*d = (struct dmproc_dev){
			.net = true, .tap_fd = s->taps[i], .stream_fd = -1, .mtu = v->mtu};
		memcpy(d->mac, s->nics[i].mac, 6);
		s->nics[i].tap_fd = -1; /* the engine gets no tap */
		s->nics[i].msix = msix;
	}
	if (c->n_vifs && !msix)
		log_info("virtio-net on vhost-user: INTx (MSI-X crashes this engine under %s)",
			 s->p->accel);
	snprintf(dir, sizeof(dir), "%s/chroot", s->p->run_dir);
	rc = dmproc_listen(s->dmdevs, s->ndm, dir, paths_uid_base() + s->p->domid,
			   paths_uid_base() + s->p->domid);
	if (rc) {
		log_err("airlock-dm sockets in %s: %s", dir, err_str(rc));
		return rc;
	}
	for (unsigned int i = 0, nb = 0, nn = 0; i < s->ndm; i++) {
		const char *sock = s->dmdevs[i].sock_name;
		if (s->dmdevs[i].net) {
			s->nics[nn++].vhost_sock = sock;
			continue;
		}
		while (s->disks[nb].cdrom)
			nb++;
		s->disks[nb].vhost_sock = sock;
		/* One request queue per vCPU, as many as airlock-dm offers. */
		s->disks[nb].num_queues = c->vcpus < 4 ? c->vcpus : 4;
		nb++;
	}
	return 0;
}

static void stop_passt(struct sup *s)
{
	for (unsigned i = 0; i < MAX_NICS; i++) {
		if (s->passt[i] > 0) {
			kill(s->passt[i], SIGKILL);
			waitpid(s->passt[i], NULL, 0);
		}
		s->passt[i] = 0;
		if (s->nics[i].stream_fd >= 0)
			close(s->nics[i].stream_fd);
		s->nics[i].stream_fd = -1;
	}
}

/* A fresh passt per passt vif for the engine about to start: with a
 * pre-connected socket, one passt serves one engine. */
static int start_passt(struct sup *s)
{
	stop_passt(s);
	for (size_t i = 0; i < s->cfg->n_vifs; i++) {
		int sv[2];
		if (s->cfg->vifs[i].backend != CFG_VIF_PASST)
			continue;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return -errno;
		s->passt[i] = passt_spawn(sv[0], paths_uid_base() + s->p->domid, STDERR_FILENO);
		close(sv[0]);
		if (s->passt[i] < 0) {
			int r = s->passt[i];
			s->passt[i] = 0;
			close(sv[1]);
			log_err("vif %zu: cannot start passt: %s", i, err_str(r));
			return r;
		}
		s->nics[i].stream_fd = sv[1];
	}
	return 0;
}

static int setup(struct sup *s)
{
	const struct dom_config *c = s->cfg;
	char path[512];
	sigset_t mask;
	int r;

	for (unsigned i = 0; i < MAX_NICS; i++) {
		s->taps[i] = -1;
		s->nics[i].tap_fd = s->nics[i].stream_fd = -1;
	}
	s->ram_fd = -1;
	s->sig_fd = -1;
	s->use_dm = c->placement == DOM_PLACEMENT_DM;
	s->use_stub = c->placement == DOM_PLACEMENT_STUBDOM;
	r = loop_new(&s->loop);
	if (r)
		return r;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		return -errno;
	r = loop_add_fd(s->loop, s->sig_fd, EPOLLIN, signal_event, s, &s->sig_h);
	if (r)
		return r;
	r = xs_client_open(NULL, &s->xs);
	if (r) {
		log_err("cannot reach the store: %s", err_str(r));
		return r;
	}
	r = domstore_set_owner(s->xs, s->p->domid, getpid());
	if (r)
		return r;
	r = paths_mkdirs(s->p->run_dir, 0700);
	snprintf(path, sizeof(path), "%s/chroot", s->p->run_dir);
	if (!r && mkdir(path, 0555) < 0 && errno != EEXIST)
		r = -errno;
	if (r) {
		log_err("run directory %s: %s", s->p->run_dir, err_str(r));
		return r;
	}
	snprintf(path, sizeof(path), "%s/control.sock", s->p->run_dir);
	r = control_new(s->loop, path, control_cmd, s, &s->ctl);
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s:%s", c->name, s->p->uuid);
	uint64_t ram_bytes = c->memory_mib << 20;
	if (s->use_stub) {
		/* Room for the relay's inflight areas past guest RAM. */
		unsigned int nd = 0;
		for (size_t i = 0; i < c->n_disks; i++)
			nd += !c->disks[i].cdrom;
		ram_bytes = stubdom_ram_bytes(ram_bytes, nd, (unsigned int)c->n_vifs);
	}
	s->ram_fd = ram_create(path, ram_bytes, &s->ram_size);
	if (s->ram_fd < 0) {
		r = s->ram_fd;
		log_err("guest RAM (%llu MiB): %s", (unsigned long long)c->memory_mib, err_str(r));
		return r;
	}
	r = setup_devices(s);
	if (r)
		return r;
	cgroup_host_detect(NULL, &s->cgh);
	if (s->cgh.mode != CGROUP_MODE_NONE) {
		char cgname[96];
		/* By uuid: unique even with several toolstacks (or test runs)
		 * on one host, so a stale group can be only our own. */
		snprintf(cgname, sizeof(cgname), "dom%u-%s", s->p->domid, s->p->uuid);
		struct cgroup *stale;
		if (cgroup_open(&s->cgh, cgname, &stale) == 0)
			cgroup_destroy(stale);
		r = cgroup_create(&s->cgh, cgname, &s->cg);
		if (!r)
			/* RAM plus the engine's own needs; one CPU per vCPU. */
			r = cgroup_set_limits(s->cg, (c->memory_mib + 256) << 20, 100 * c->vcpus,
					      512);
		if (!r)
			log_info("cgroup %s: memory %llu MiB, %u%% CPU, 512 tasks", cgname,
				 (unsigned long long)c->memory_mib + 256, 100 * c->vcpus);
		if (r) {
			log_warn("cgroup %s: %s; running without limits", cgname, err_str(r));
			if (s->cg)
				cgroup_destroy(s->cg);
			s->cg = NULL;
		}
	} else {
		log_warn("no usable cgroups (%s): running without limits", s->cgh.note);
	}
	return 0;
}

static void teardown(struct sup *s)
{
	if (s->engine > 0) {
		kill(s->engine, SIGKILL);
		waitpid(s->engine, NULL, 0);
	}
	drop_qmp(s);
	stop_dm(s);
	if (s->use_stub) {
		if (s->stub_timer)
			loop_cancel_timer(s->stub_timer);
		s->stub_timer = NULL;
		stubdom_stop(store(s), &s->sd);
		console_free(s->stub_con);
		s->stub_con = NULL;
	}
	if (s->ndm) {
		char dir[300];
		snprintf(dir, sizeof(dir), "%s/chroot", s->p->run_dir);
		dmproc_unlisten(s->dmdevs, s->ndm, dir);
	}
	stop_passt(s);
	if (s->cg)
		cgroup_destroy(s->cg);
	for (unsigned i = 0; i < MAX_NICS; i++)
		if (s->taps[i] >= 0)
			close(s->taps[i]);
	if (s->ram_fd >= 0)
		close(s->ram_fd);
	console_free(s->con);
	if (store(s)) {
		int r = domstore_remove(s->xs, s->p->domid);
		if (r && store(s))
			r = domstore_remove(s->xs, s->p->domid);
		if (r)
			log_err("cannot remove the domain's store records: %s", err_str(r));
		xs_client_close(s->xs);
	}
	if (s->ctl)
		control_notify_all(s->ctl, s->end[0] ? s->end : "done stopped");
	control_free(s->ctl);
	if (s->p->run_dir) {
		char path[512];
		snprintf(path, sizeof(path), "%s/chroot", s->p->run_dir);
		rmdir(path);
		rmdir(s->p->run_dir);
	}
	if (s->sig_h)
		loop_del_fd(s->sig_h);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	loop_free(s->loop);
}

int sup_run(const struct dom_config *cfg, const struct sup_params *p)
{
	struct sup s = {.cfg = cfg, .p = p, .status = 1};
	int r = setup(&s);

	if (!r && s.use_dm)
		r = start_dm(&s);
	if (!r && s.use_stub)
		r = start_stub(&s);
	if (!r)
		r = start_engine(&s);
	if (!r && s.use_stub)
		r = resume_stub(&s);
	if (r) {
		ready(&s, "err %s", err_str(r));
		teardown(&s);
		return 1;
	}
	set_state(&s, "running");
	/* With a stub domain, create answers once the stub says it runs (the
	 * guest boots meanwhile); stub_tick answers. */
	if (!s.use_stub)
		ready(&s, "ok %u", p->domid);
	r = loop_run(s.loop);
	teardown(&s);
	/* A create that failed after the start hears why only now, when
	 * nothing of the domain is left. */
	if (s.fail[0])
		ready(&s, "err %s", s.fail);
	return r ? 1 : s.status;
}

/* cmd_create.c — `airlock create [-c] [-n] CONFIG`.
 *
 * 1. Load the config: every error is printed and nothing starts.
 * 2. Choose the accelerator (the config may force one; else the host
 *    probe) and how tightly the engine can be sandboxed.
 * 3. Register the domain in the store — name check and domid allocation in
 *    one transaction, so two creates never collide.
 * 4. Start the supervisor in a session of its own (it outlives this
 *    command), its stderr in <log dir>/<name>.log, and wait on a pipe for
 *    "ok" (the engine runs) or "err <why>".
 * 5. With -c, attach the console.
 */
#include "cli/cli.h"
#include "cfg/domcfg.h"
#include "common/util.h"
#include "toolstack/ctl_client.h"
#include "toolstack/domstore.h"
#include "toolstack/paths.h"
#include "toolstack/probe.h"
#include "toolstack/sandbox_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_diag(const struct cfg_diag *d)
{
	for (size_t i = 0; i < d->n_warnings; i++)
		fprintf(stderr, "airlock: create: warning: %s\n", d->warnings[i]);
	for (size_t i = 0; i < d->n_errors; i++)
		fprintf(stderr, "airlock: create: error: %s\n", d->errors[i]);
	if (d->n_errors_dropped)
		fprintf(stderr, "airlock: create: ... and %zu more errors\n", d->n_errors_dropped);
}

static const char *choose_accel(const struct dom_config *cfg, const struct cli *cli)
{
	struct probe_result pr;

	if (cfg->accel == DOM_ACCEL_KVM)
		return "kvm";
	if (cfg->accel == DOM_ACCEL_TCG)
		return "tcg";
	probe_accel(&pr, 0);
	if (cli->verbose)
		fprintf(stderr, "airlock: create: accelerator %s (%s)\n",
			probe_accel_name(pr.accel), pr.reason);
	return probe_accel_name(pr.accel);
}

/* Starts the supervisor detached; returns the read end of its ready pipe. */
static int spawn_supervisor(const char *sup, const char *cfg_path, const struct dom_record *rec,
			    const char *accel, bool deny_elevate)
{
	char domid[16], fdnum[16], log_path[512];
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	snprintf(domid, sizeof(domid), "%u", rec->domid);
	snprintf(fdnum, sizeof(fdnum), "%d", pipefd[1]);
	paths_log_file(rec->name, ".log", log_path, sizeof(log_path));
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		/* A new session, and a second fork so it is nobody's child. */
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		dup2(null, 0);
		dup2(null, 1);
		dup2(log >= 0 ? log : null, 2);
		fcntl(pipefd[1], F_SETFD, 0);
		execl(sup, sup, "--domid", domid, "--uuid", rec->uuid, "--accel", accel,
		      "--run-dir", rec->run_dir, "--ready-fd", fdnum,
		      deny_elevate ? "--deny-elevate" : cfg_path, deny_elevate ? cfg_path : NULL,
		      (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	waitpid(pid, NULL, 0);
	return pipefd[0];
}

/* How long the engine may take to answer QMP (TCG, a loaded machine). */
#define CREATE_TIMEOUT_MS 120000

int cmd_create(const struct cli *cli, int argc, char **argv)
{
	struct cfg_diag diag = CFG_DIAG_INIT;
	struct dom_config *cfg = NULL;
	struct xs_client *xs = NULL;
	struct dom_record rec;
	bool console = false, dry = false;
	char cfg_path[PATH_MAX], sup[PATH_MAX], uuid[37], line[512];
	const char *accel;
	bool deny;
	int c, r, fd;
	ssize_t n;

	while ((c = cli_getopt(cli, argc, argv, "cn")) != -1) {
		if (c == 'h')
			return cli_help(cli);
		if (c == '?')
			return CLI_USAGE;
		if (c == 'c')
			console = true;
		if (c == 'n')
			dry = true;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected one config file");
	if (!realpath(argv[optind], cfg_path))
		return cli_error_desc(cli, argv[optind], -errno, "cannot open the config file");
	r = domcfg_load(argv[optind], &cfg, &diag); /* messages name the file as typed */
	print_diag(&diag);
	cfg_diag_free(&diag);
	if (r) {
		fprintf(stderr, "airlock: create: %s: not started\n", argv[optind]);
		return CLI_ERR;
	}
	if (dry) {
		struct buf out = BUF_INIT;
		domcfg_dump(cfg, &out);
		fwrite(buf_head(&out), 1, buf_used(&out), stdout);
		buf_free(&out);
		domcfg_free(cfg);
		return CLI_OK;
	}
	r = CLI_ERR;
	if (paths_sibling("airlock-supervisor", "supervisor", "AIRLOCK_SUPERVISOR", sup,
			  sizeof(sup))) {
		fprintf(stderr, "airlock: create: cannot find airlock-supervisor\n");
		goto out;
	}
	if (cfg->has_uuid) {
		domcfg_uuid_format(cfg->uuid, uuid);
	} else {
		uint8_t u[16];
		random_bytes(u, sizeof(u));
		u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
		u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
		domcfg_uuid_format(u, uuid);
	}
	accel = choose_accel(cfg, cli);
	if (cfg->placement != DOM_PLACEMENT_ENGINE && cfg->boot == DOM_BOOT_FIRMWARE &&
	    strcmp(accel, "tcg") == 0 && cfg->n_disks > 0 && !cfg->disks[0].cdrom) {
		/* Measured: SeaBIOS loads the MBR, then the MBR loads the boot
		 * sector to the same address, and TCG runs its stale
		 * translation of the MBR: code written by an out-of-process
		 * device never invalidates TCG's translation cache
		 * (qemu-storage-daemon hangs the same way). KVM has no such
		 * cache. See docs/dm.md, "Limits". */
		fprintf(stderr,
			"airlock: create: %s: a firmware boot from a disk served by airlock-dm "
			"hangs under TCG (QEMU's translation cache never sees what an external "
			"device writes); boot the kernel directly (kernel = ...), or use "
			"device_model_version = \"qemu\"\n",
			cfg->name);
		goto out;
	}
	deny = probe_sandbox_runas(paths_qemu(), paths_uid_base(), 5000);
	if (paths_mkdirs(paths_run_dir(), 0700) || paths_mkdirs(paths_log_dir(), 0750)) {
		fprintf(stderr, "airlock: create: cannot make %s or %s: %s\n", paths_run_dir(),
			paths_log_dir(), strerror(errno));
		goto out;
	}
	if (cli_connect(cli, &xs))
		goto out;
	{
		struct dom_new nw = {
			.name = cfg->name,
			.uuid = uuid,
			.placement = domcfg_placement_name(cfg->placement),
			.run_dir_base = paths_run_dir(),
			.memory_mib = (unsigned long)cfg->memory_mib,
			.vcpus = cfg->vcpus,
		};
		int e = domstore_register(xs, &nw, &rec);
		if (e == -EEXIST) {
			fprintf(stderr, "airlock: create: a domain named %s already runs\n",
				cfg->name);
			goto out;
		}
		if (e) {
			cli_error(cli, cfg->name, e);
			goto out;
		}
	}
	fd = spawn_supervisor(sup, cfg_path, &rec, accel, deny);
	if (fd < 0) {
		cli_error(cli, cfg->name, fd);
		domstore_remove(xs, rec.domid);
		goto out;
	}
	/* One line, "ok N" or "err why"; EOF first means the supervisor died. */
	n = ctl_read_line(fd, line, sizeof(line), CREATE_TIMEOUT_MS);
	close(fd);
	if (n < 0)
		line[0] = '\0';
	if (strncmp(line, "ok", 2) != 0) {
		char log_path[512];
		fprintf(stderr, "airlock: create %s: %s (see %s)\n", cfg->name,
			line[0] ? line : "the supervisor died while starting",
			paths_log_file(cfg->name, ".log", log_path, sizeof(log_path)));
		/* A supervisor that failed cleaned up; one that died did not. */
		if (!line[0])
			domstore_remove(xs, rec.domid);
		goto out;
	}
	printf("created %s (domain %u, %s)\n", rec.name, rec.domid, accel);
	fflush(stdout);
	r = console ? cli_attach_console(cli, &rec) : CLI_OK;
out:
	xs_client_close(xs);
	domcfg_free(cfg);
	return r;
}

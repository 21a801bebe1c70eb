/* engine.c — see engine.h. */
#include "supervisor/engine.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct argv_b {
	char **v;
	size_t n, cap;
	bool oom;
};

static void add(struct argv_b *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv_b *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		a->oom = true;
		s = NULL;
	}
	va_end(ap);
	if (s) {
		a->v[a->n++] = s;
		a->v[a->n] = NULL;
	}
}

/* QEMU option values escape ',' by doubling it. */
static char *qemu_escape(const char *s)
{
	size_t n = 0;
	char *o, *p;

	for (const char *q = s; *q; q++)
		n += *q == ',' ? 2 : 1;
	o = p = malloc(n + 1);
	if (!o)
		return NULL;
	for (const char *q = s; *q; q++) {
		*p++ = *q;
		if (*q == ',')
			*p++ = ',';
	}
	*p = '\0';
	return o;
}

int engine_argv(const struct eng_spec *s, char ***argv)
{
	struct argv_b a = {0};
	char *e;

	add(&a, "%s", s->qemu);
	add(&a, "-name");
	add(&a, "guest=%s,debug-threads=on", s->name);
	if (s->uuid && *s->uuid) {
		add(&a, "-uuid");
		add(&a, "%s", s->uuid);
	}
	add(&a, "-nodefaults");
	add(&a, "-no-user-config");
	add(&a, "-display");
	add(&a, "none");
	add(&a, "-msg");
	add(&a, "timestamp=on");
	add(&a, "-machine");
	add(&a, "pc,accel=%s,memory-backend=ram", s->accel);
	add(&a, "-cpu");
	add(&a, "%s", strcmp(s->accel, "kvm") == 0 ? "host" : "max");
	add(&a, "-smp");
	add(&a, "%u", s->vcpus);
	add(&a, "-m");
	add(&a, "%llu", (unsigned long long)s->mem_mib);
	/* The RAM is the supervisor's memfd, shared: an out-of-process device
	 * model (and the stub domain) must see what the guest writes. */
	add(&a, "-object");
	add(&a, "memory-backend-file,id=ram,size=%lluM,mem-path=/proc/self/fd/%d,share=on",
	    (unsigned long long)s->mem_mib, s->ram_fd);
	add(&a, "-chardev");
	add(&a, "socket,id=qmp,fd=%d", s->qmp_fd);
	add(&a, "-mon");
	add(&a, "chardev=qmp,mode=control");
	add(&a, "-chardev");
	add(&a, "socket,id=serial0,fd=%d", s->serial_fd);
	add(&a, "-serial");
	add(&a, "chardev:serial0");
	/* Lifecycle: the supervisor decides what a reboot or a panic means. */
	add(&a, "-device");
	add(&a, "pvpanic");
	add(&a, "-action");
	add(&a, "reboot=shutdown");
	add(&a, "-action");
	add(&a, "panic=pause");
	if (s->kernel) {
		add(&a, "-kernel");
		add(&a, "%s", s->kernel);
		if (s->initrd) {
			add(&a, "-initrd");
			add(&a, "%s", s->initrd);
		}
		if (s->cmdline) {
			add(&a, "-append");
			add(&a, "%s", s->cmdline);
		}
	}
	for (unsigned i = 0; i < s->ndisks; i++) {
		const struct eng_disk *d = &s->disks[i];
		e = qemu_escape(d->path);
		if (!e) {
			a.oom = true;
			break;
		}
		add(&a, "-drive");
		add(&a, "file=%s,format=%s,if=none,id=disk%u%s%s", e, d->format ? d->format : "raw",
		    i, d->readonly || d->cdrom ? ",readonly=on" : "",
		    d->cdrom ? ",media=cdrom" : "");
		free(e);
		add(&a, "-device");
		if (d->cdrom)
			add(&a, "ide-cd,drive=disk%u%s", i,
			    i == 0 && !s->kernel ? ",bootindex=0" : "");
		else
			add(&a, "virtio-blk-pci,drive=disk%u%s", i,
			    i == 0 && !s->kernel ? ",bootindex=0" : "");
	}
	for (unsigned i = 0; i < s->nnics; i++) {
		const struct eng_nic *n = &s->nics[i];
		add(&a, "-netdev");
		if (n->tap_fd >= 0)
			add(&a, "tap,id=net%u,fd=%d", i, n->tap_fd);
		else
			add(&a, "stream,id=net%u,addr.type=fd,addr.str=%d", i, n->stream_fd);
		add(&a, "-device");
		add(&a, "%s,netdev=net%u,mac=%02x:%02x:%02x:%02x:%02x:%02x",
		    n->model ? n->model : "virtio-net-pci", i, n->mac[0], n->mac[1], n->mac[2],
		    n->mac[3], n->mac[4], n->mac[5]);
	}
	add(&a, "-sandbox");
	add(&a, "on,obsolete=deny,elevateprivileges=%s,spawn=deny,resourcecontrol=deny",
	    s->deny_elevate ? "deny" : "allow");
	add(&a, "-chroot");
	add(&a, "%s", s->chroot_dir);
	add(&a, "-runas");
	add(&a, "%u:%u", (unsigned)s->uid, (unsigned)s->gid);
	if (a.oom) {
		engine_argv_free(a.v);
		return -ENOMEM;
	}
	*argv = a.v;
	return 0;
}

void engine_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static bool keep_fd(const struct eng_spec *s, int fd, int log_fd)
{
	if (fd == log_fd || fd == s->ram_fd || fd == s->qmp_fd || fd == s->serial_fd)
		return true;
	for (unsigned i = 0; i < s->nnics; i++)
		if (fd == s->nics[i].tap_fd || fd == s->nics[i].stream_fd)
			return true;
	return false;
}

/* In the child: clear close-on-exec on the fds the engine gets, close all
 * others (async-signal-safe calls only, apart from opendir, which is safe
 * enough in a single-threaded supervisor). */
static void child_fds(const struct eng_spec *s, int log_fd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int dfd = d ? dirfd(d) : -1;

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dfd || fd <= 2)
			continue;
		if (keep_fd(s, fd, log_fd))
			fcntl(fd, F_SETFD, 0);
		else
			close(fd);
	}
	if (d)
		closedir(d);
}

pid_t engine_spawn(const struct eng_spec *s, char **argv, int log_fd, void (*in_child)(void *),
		   void *data)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	if (in_child)
		in_child(data);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	if (log_fd >= 0)
		dup2(log_fd, 2);
	child_fds(s, log_fd);
	execvp(argv[0], argv);
	_exit(127);
}

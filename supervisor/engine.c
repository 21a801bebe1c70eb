/* engine.c — see engine.h. */
#include "supervisor/engine.h"
#include "common/util.h"
#include "supervisor/spawn.h"

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
		if (d->vhost_sock) {
			/* Served by airlock-dm; reconnect=1: if the device model
			 * restarts, the engine connects again by itself. */
			add(&a, "-chardev");
			add(&a, "socket,id=vudisk%u,path=%s,reconnect=1", i, d->vhost_sock);
			add(&a, "-device");
			add(&a, "vhost-user-blk-pci,chardev=vudisk%u,num-queues=%u%s", i,
			    d->num_queues ? d->num_queues : 1,
			    i == 0 && !s->kernel ? ",bootindex=0" : "");
			continue;
		}
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
		if (n->vhost_sock) {
			add(&a, "-chardev");
			add(&a, "socket,id=vunet%u,path=%s,reconnect=1", i, n->vhost_sock);
			add(&a, "-netdev");
			add(&a, "vhost-user,id=net%u,chardev=vunet%u", i, i);
			add(&a, "-device");
			/* vectors=0: INTx, where MSI-X on a vhost-user netdev
			 * crashes the engine (engine_vhost_net_msix). */
			add(&a, "virtio-net-pci,netdev=net%u,mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
			    i, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
			    n->msix ? "" : ",vectors=0");
			continue;
		}
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

pid_t engine_spawn(const struct eng_spec *s, char **argv, int log_fd, void (*in_child)(void *),
		   void *data)
{
	int keep[4 + 2 * ENG_MAX_NICS];
	unsigned int n = 0;

	keep[n++] = s->ram_fd;
	keep[n++] = s->qmp_fd;
	keep[n++] = s->serial_fd;
	for (unsigned i = 0; i < s->nnics && i < ENG_MAX_NICS; i++) {
		if (s->nics[i].vhost_sock)
			continue; /* airlock-dm's: the engine gets only the socket path */
		if (s->nics[i].tap_fd >= 0)
			keep[n++] = s->nics[i].tap_fd;
		if (s->nics[i].stream_fd >= 0)
			keep[n++] = s->nics[i].stream_fd;
	}
	struct spawn_opts o = {
		.keep = keep,
		.nkeep = n,
		.log_fd = log_fd,
		.cwd = s->cwd,
		.in_child = in_child,
		.data = data,
	};
	return spawn_proc(argv, &o);
}

bool engine_vhost_net_msix(unsigned int qemu_version, const char *accel)
{
	/* Verified broken: 7.2 under TCG. No later version has been verified
	 * here yet, so every TCG engine gets INTx until one is (the cost is
	 * measured in docs/bench-net.md); KVM delivers MSI-X by irqfd. */
	(void)qemu_version;
	return strcmp(accel, "kvm") == 0;
}

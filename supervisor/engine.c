/* engine.c — see engine.h. */
#include "supervisor/engine.h"
#include "common/util.h"
#include "supervisor/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void engine_argv_head(struct argv_b *a, const char *qemu, const char *name, const char *uuid)
{
	argv_add(a, "%s", qemu);
	argv_add(a, "-name");
	argv_add(a, "guest=%s,debug-threads=on", name);
	if (uuid && *uuid) {
		argv_add(a, "-uuid");
		argv_add(a, "%s", uuid);
	}
	argv_add(a, "-nodefaults");
	argv_add(a, "-no-user-config");
	argv_add(a, "-display");
	argv_add(a, "none");
}

void engine_argv_confine(struct argv_b *a, bool deny_elevate, const char *chroot_dir, uid_t uid,
			 gid_t gid)
{
	argv_add(a, "-sandbox");
	argv_add(a, "on,obsolete=deny,elevateprivileges=%s,spawn=deny,resourcecontrol=deny",
		 deny_elevate ? "deny" : "allow");
	argv_add(a, "-chroot");
	argv_add(a, "%s", chroot_dir);
	argv_add(a, "-runas");
	argv_add(a, "%u:%u", (unsigned)uid, (unsigned)gid);
}

int engine_argv(const struct eng_spec *s, char ***argv)
{
	struct argv_b a = {0};
	char *e;

	engine_argv_head(&a, s->qemu, s->name, s->uuid);
	argv_add(&a, "-msg");
	argv_add(&a, "timestamp=on");
	argv_add(&a, "-machine");
	argv_add(&a, "pc,accel=%s,memory-backend=ram", s->accel);
	argv_add(&a, "-cpu");
	argv_add(&a, "%s", strcmp(s->accel, "kvm") == 0 ? "host" : "max");
	argv_add(&a, "-smp");
	argv_add(&a, "%u", s->vcpus);
	argv_add(&a, "-m");
	argv_add(&a, "%llu", (unsigned long long)s->mem_mib);
	/* The RAM is the supervisor's memfd, shared: an out-of-process device
	 * model (and the stub domain) must see what the guest writes. */
	argv_add(&a, "-object");
	argv_add(&a, "memory-backend-file,id=ram,size=%lluM,mem-path=/proc/self/fd/%d,share=on",
		 (unsigned long long)s->mem_mib, s->ram_fd);
	argv_add(&a, "-chardev");
	argv_add(&a, "socket,id=qmp,fd=%d", s->qmp_fd);
	argv_add(&a, "-mon");
	argv_add(&a, "chardev=qmp,mode=control");
	argv_add(&a, "-chardev");
	argv_add(&a, "socket,id=serial0,fd=%d", s->serial_fd);
	argv_add(&a, "-serial");
	argv_add(&a, "chardev:serial0");
	/* Lifecycle: the supervisor decides what a reboot or a panic means. */
	argv_add(&a, "-device");
	argv_add(&a, "pvpanic");
	argv_add(&a, "-action");
	argv_add(&a, "reboot=shutdown");
	argv_add(&a, "-action");
	argv_add(&a, "panic=pause");
	if (s->kernel) {
		argv_add(&a, "-kernel");
		argv_add(&a, "%s", s->kernel);
		if (s->initrd) {
			argv_add(&a, "-initrd");
			argv_add(&a, "%s", s->initrd);
		}
		if (s->cmdline) {
			argv_add(&a, "-append");
			argv_add(&a, "%s", s->cmdline);
		}
	}
	for (unsigned i = 0; i < s->ndisks; i++) {
		const struct eng_disk *d = &s->disks[i];
		if (d->vhost_sock) {
			/* Served by airlock-dm; reconnect=1: if the device model
			 * restarts, the engine connects again by itself. */
			argv_add(&a, "-chardev");
			argv_add(&a, "socket,id=vudisk%u,path=%s,reconnect=1", i, d->vhost_sock);
			argv_add(&a, "-device");
			argv_add(&a, "vhost-user-blk-pci,chardev=vudisk%u,num-queues=%u%s", i,
				 d->num_queues ? d->num_queues : 1,
				 i == 0 && !s->kernel ? ",bootindex=0" : "");
			continue;
		}
		e = qemu_escape(d->path);
		if (!e) {
			a.oom = true;
			break;
		}
		argv_add(&a, "-drive");
		argv_add(&a, "file=%s,format=%s,if=none,id=disk%u%s%s", e,
			 d->format ? d->format : "raw", i,
			 d->readonly || d->cdrom ? ",readonly=on" : "",
			 d->cdrom ? ",media=cdrom" : "");
		free(e);
		argv_add(&a, "-device");
		if (d->cdrom)
			argv_add(&a, "ide-cd,drive=disk%u%s", i,
				 i == 0 && !s->kernel ? ",bootindex=0" : "");
		else
			argv_add(&a, "virtio-blk-pci,drive=disk%u%s", i,
				 i == 0 && !s->kernel ? ",bootindex=0" : "");
	}
	for (unsigned i = 0; i < s->nnics; i++) {
		const struct eng_nic *n = &s->nics[i];
		if (n->vhost_sock) {
			argv_add(&a, "-chardev");
			argv_add(&a, "socket,id=vunet%u,path=%s,reconnect=1", i, n->vhost_sock);
			argv_add(&a, "-netdev");
			argv_add(&a, "vhost-user,id=net%u,chardev=vunet%u", i, i);
			argv_add(&a, "-device");
			/* vectors=0: INTx, where MSI-X on a vhost-user netdev
			 * crashes the engine (engine_vhost_net_msix). */
			argv_add(&a,
				 "virtio-net-pci,netdev=net%u,mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
				 i, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
				 n->mac[5], n->msix ? "" : ",vectors=0");
			continue;
		}
		argv_add(&a, "-netdev");
		if (n->tap_fd >= 0)
			argv_add(&a, "tap,id=net%u,fd=%d", i, n->tap_fd);
		else
			argv_add(&a, "stream,id=net%u,addr.type=fd,addr.str=%d", i, n->stream_fd);
		argv_add(&a, "-device");
		argv_add(&a, "%s,netdev=net%u,mac=%02x:%02x:%02x:%02x:%02x:%02x",
			 n->model ? n->model : "virtio-net-pci", i, n->mac[0], n->mac[1], n->mac[2],
			 n->mac[3], n->mac[4], n->mac[5]);
	}
	engine_argv_confine(&a, s->deny_elevate, s->chroot_dir, s->uid, s->gid);
	if (a.oom) {
		argv_free(a.v);
		return -ENOMEM;
	}
	*argv = a.v;
	return 0;
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

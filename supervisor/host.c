/* host.c — see host.h. */
#include "supervisor/host.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

int ram_create(const char *name, uint64_t bytes, uint64_t *size)
{
	char label[160];
	uint64_t sz = 1;
	int fd;

	while (sz < bytes)
		sz <<= 1;
	snprintf(label, sizeof(label), "airlock:%s", name);
	fd = memfd_create(label, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)sz) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*size = sz;
	return fd;
}

int ram_zero(int fd, uint64_t size)
{
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return 0;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

bool netif_exists(const char *name)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ifreq_ioctl(SIOCGIFINDEX, &ifr) == 0;
}

int tap_open(const char *name, const char *bridge, unsigned int mtu, bool vnet_hdr)
{
	struct ifreq ifr = {0};
	int fd, r, idx;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		goto fail;
	}
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		r = ifreq_ioctl(SIOCSIFMTU, &ifr);
		if (r) {
			log_err("tap %s: mtu %u: %s", name, mtu, strerror(-r));
			goto fail;
		}
	}
	r = ifreq_ioctl(SIOCGIFFLAGS, &ifr);
	if (!r) {
		ifr.ifr_flags |= IFF_UP;
		r = ifreq_ioctl(SIOCSIFFLAGS, &ifr);
	}
	if (!r && bridge && *bridge) {
		r = ifreq_ioctl(SIOCGIFINDEX, &ifr);
		idx = ifr.ifr_ifindex;
		if (!r) {
			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
			ifr.ifr_ifindex = idx;
			r = ifreq_ioctl(SIOCBRADDIF, &ifr);
			if (r)
				log_err("tap %s: cannot join bridge %s: %s", name, bridge,
					strerror(-r));
		}
	}
	if (r)
		goto fail;
	return fd;
fail:
	close(fd);
	return r;
}

pid_t passt_spawn(int fd, unsigned int uid, int log_fd)
{
	char fdnum[16], runas[32];
	pid_t pid;

	snprintf(fdnum, sizeof(fdnum), "%d", fd);
	snprintf(runas, sizeof(runas), "%u:%u", uid, uid);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		if (log_fd >= 0)
			dup2(log_fd, 2);
		fcntl(fd, F_SETFD, 0);
		execlp("passt", "passt", "--foreground", "--quiet", "--one-off", "--fd", fdnum,
		       "--runas", runas, (char *)NULL);
		_exit(127);
	}
	return pid;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

unsigned int host_tsc_khz(void)
{
	static unsigned int cached;

	if (cached)
		return cached;
	uint64_t n0 = mono_ns(), c0 = __rdtsc();
	nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	uint64_t n1 = mono_ns(), c1 = __rdtsc();
	if (n1 <= n0 || c1 <= c0)
		return 0;
	uint64_t khz = (c1 - c0) * 1000000u / (n1 - n0);
	/* 100 MHz .. 10 GHz, rounded to the MHz: anything else is noise. */
	if (khz < 100000 || khz > 10000000)
		return 0;
	cached = (unsigned int)((khz + 500) / 1000 * 1000);
	return cached;
}
#else
unsigned int host_tsc_khz(void)
{
	return 0;
}
#endif

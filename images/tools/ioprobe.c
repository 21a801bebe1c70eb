/* ioprobe.c — disk figures from inside a guest, for airlock's benchmarks.
 *
 *   ioprobe seqread  DEV SECONDS [BLOCK]   sequential reads, O_DIRECT
 *   ioprobe seqwrite DEV SECONDS [BLOCK]   sequential writes, O_DIRECT
 *   ioprobe randread DEV SECONDS [BLOCK]   random aligned reads, O_DIRECT
 *
 * BLOCK defaults to 1 MiB for the sequential modes and 4 KiB for randread;
 * one request in flight (queue depth 1), as dd does. Prints one line:
 *   mode=seqread block=1048576 seconds=5.00 bytes=... mib_per_s=... iops=...
 * Writes go over the whole device from its start: use a scratch disk.
 *
 * Built statically by images/build.sh into the guest images (busybox's dd
 * cannot do random reads, and fio brings a dozen libraries along).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: reproducible offsets without libc's rand state. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

int main(int argc, char **argv)
{
	const char *mode, *dev;
	double secs, t0, t;
	size_t block;
	uint64_t size = 0, off = 0, bytes = 0, ops = 0, seed = 0x9e3779b97f4a7c15ull;
	void *buf;
	int fd, wr;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: ioprobe seqread|seqwrite|randread DEV SECONDS [BLOCK]\n");
		return 2;
	}
	mode = argv[1];
	dev = argv[2];
	secs = atof(argv[3]);
	wr = strcmp(mode, "seqwrite") == 0;
	if (!wr && strcmp(mode, "seqread") && strcmp(mode, "randread")) {
		fprintf(stderr, "ioprobe: unknown mode %s\n", mode);
		return 2;
	}
	block = argc == 5 ? strtoul(argv[4], NULL, 0) : (strcmp(mode, "randread") ? 1u << 20 : 4096);
	if (secs <= 0 || block < 512 || block % 512 || block > (64u << 20)) {
		fprintf(stderr, "ioprobe: bad seconds or block size\n");
		return 2;
	}
	fd = open(dev, (wr ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
		/* A regular file works too. */
		off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
		if (end <= 0) {
			fprintf(stderr, "ioprobe: %s: %s\n", dev, strerror(errno));
			return 1;
		}
		size = (uint64_t)end;
	}
	size -= size % block;
	if (size < block || posix_memalign(&buf, 4096, block)) {
		fprintf(stderr, "ioprobe: %s is smaller than one block\n", dev);
		return 1;
	}
	memset(buf, 0xa5, block);
	t0 = now();
	do {
		ssize_t n;
		if (strcmp(mode, "randread") == 0)
			off = (next_rand(&seed) % (size / block)) * block;
		else if (off + block > size)
			off = 0;
		n = wr ? pwrite(fd, buf, block, (off_t)off) : pread(fd, buf, block, (off_t)off);
		if (n != (ssize_t)block) {
			fprintf(stderr, "ioprobe: %s at %llu: %s\n", wr ? "write" : "read",
				(unsigned long long)off, n < 0 ? strerror(errno) : "short");
			return 1;
		}
		off += block;
		bytes += block;
		ops++;
		t = now() - t0;
	} while (t < secs);
	if (wr && fdatasync(fd) < 0) {
		fprintf(stderr, "ioprobe: fdatasync: %s\n", strerror(errno));
		return 1;
	}
	t = now() - t0;
	printf("mode=%s block=%zu seconds=%.2f bytes=%llu mib_per_s=%.1f iops=%.0f\n", mode, block,
	       t, (unsigned long long)bytes, (double)bytes / t / 1048576.0, (double)ops / t);
	return 0;
}

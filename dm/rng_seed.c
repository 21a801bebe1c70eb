/* rng_seed.c — see rng_seed.h. */
#include "dm/rng_seed.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int rng_seed_parse(const char *text, size_t len, uint8_t *out)
{
	size_t b = 0, e = len;

	while (b < e && is_space(text[b]))
		b++;
	while (e > b && is_space(text[e - 1]))
		e--;
	if ((e - b) % 2 || (e - b) / 2 < RNG_SEED_MIN || (e - b) / 2 > RNG_SEED_MAX)
		return -EINVAL;
	for (size_t i = b; i < e; i += 2) {
		int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[(i - b) / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)((e - b) / 2);
}

int rng_seed_apply(const uint8_t *seed, size_t n)
{
	struct rand_pool_info *info;
	int fd, r = 0;

	if (n > RNG_SEED_MAX)
		return -EINVAL;
	info = calloc(1, sizeof(*info) + RNG_SEED_MAX);
	if (!info)
		return -ENOMEM;
	info->entropy_count = (int)(n * 8);
	info->buf_size = (int)n;
	memcpy(info->buf, seed, n);
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		r = -errno;
	else if (ioctl(fd, RNDADDENTROPY, info) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	explicit_bzero(info, sizeof(*info) + RNG_SEED_MAX);
	free(info);
	return r;
}

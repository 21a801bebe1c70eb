/* test_rng_seed — the seed a restored stub domain's init hands to
 * airlock-dm --seed-random (dm/rng_seed.c): what is accepted, what is
 * refused, and that the kernel takes it. */
#include "common/util.h"
#include "dm/rng_seed.h"
#include "tap.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *s, uint8_t *out)
{
	return rng_seed_parse(s, strlen(s), out);
}

static void test_parse_good(void)
{
	uint8_t b[RNG_SEED_MAX];
	char hex[2 * RNG_SEED_MAX + 4];

	CHECK_EQ_INT(parse("000102030405060708090a0b0c0d0e0F", b), 16);
	for (int i = 0; i < 16; i++)
		CHECK_EQ_INT(b[i], i);
	/* The line's newline and spaces around it are fine. */
	CHECK_EQ_INT(parse("  ffeeddccbbaa99887766554433221100\n", b), 16);
	CHECK_EQ_INT(b[0], 0xff);
	CHECK_EQ_INT(b[15], 0x00);
	memset(hex, 'a', 2 * RNG_SEED_MAX);
	hex[2 * RNG_SEED_MAX] = '\0';
	CHECK_EQ_INT(parse(hex, b), RNG_SEED_MAX);
	CHECK_EQ_INT(b[RNG_SEED_MAX - 1], 0xaa);
}

static void test_parse_bad(void)
{
	uint8_t b[RNG_SEED_MAX];
	char hex[2 * RNG_SEED_MAX + 4];

	CHECK_EQ_INT(parse("", b), -EINVAL);
	CHECK_EQ_INT(parse("\n", b), -EINVAL);
	/* Too short to trust: 15 bytes. */
	CHECK_EQ_INT(parse("000102030405060708090a0b0c0d0e", b), -EINVAL);
	/* Odd digit count, a non-hex digit, a space inside. */
	CHECK_EQ_INT(parse("000102030405060708090a0b0c0d0e0f1", b), -EINVAL);
	CHECK_EQ_INT(parse("000102030405060708090a0b0c0d0e0g", b), -EINVAL);
	CHECK_EQ_INT(parse("00010203040506070809 a0b0c0d0e0f0", b), -EINVAL);
	/* One byte over the maximum. */
	memset(hex, 'a', 2 * RNG_SEED_MAX + 2);
	hex[2 * RNG_SEED_MAX + 2] = '\0';
	CHECK_EQ_INT(parse(hex, b), -EINVAL);
	/* A NUL inside the given length is not hex either. */
	CHECK_EQ_INT(rng_seed_parse("00010203040506070809\0a0b0c0d0e0f00", 34, b), -EINVAL);
}

static void test_apply(void)
{
	uint8_t seed[32];

	random_bytes(seed, sizeof(seed));
	CHECK_EQ_INT(rng_seed_apply(seed, RNG_SEED_MAX + 1), -EINVAL);
	int r = rng_seed_apply(seed, sizeof(seed));
	if (geteuid() == 0)
		CHECK_EQ_INT(r, 0);
	else
		CHECK_EQ_INT(r, -EPERM);
}

int main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_bad);
	RUN(test_apply);
	return tap_done();
}

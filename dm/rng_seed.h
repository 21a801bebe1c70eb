/* rng_seed.h — reseeding the kernel's random number generator from a seed
 * the toolstack hands over (airlock-dm --seed-random, in a stub domain).
 *
 * Every stub domain restored from one template (supervisor/stubsnap.c)
 * resumes with the template's generator state: without a reseed, two stub
 * domains would draw the same "random" numbers (the layout of every process
 * they start, the keys of every hash table). The supervisor passes each one
 * a fresh seed from the host's generator; this mixes it into the kernel's
 * input pool, credited, and forces the generator to rekey from the pool at
 * once, so every later draw depends on the seed.
 */
#ifndef AIRLOCK_DM_RNG_SEED_H
#define AIRLOCK_DM_RNG_SEED_H

#include <stddef.h>
#include <stdint.h>

#define RNG_SEED_MIN 16	 /* bytes: less is refused */
#define RNG_SEED_MAX 256 /* bytes */

/* Decodes `len` characters of hex in `text` (surrounding white space
 * allowed) into out[RNG_SEED_MAX]. Returns the number of bytes, or -EINVAL
 * (odd digit count, a non-hex character, fewer than RNG_SEED_MIN or more
 * than RNG_SEED_MAX bytes): a short seed is refused rather than trusted. */
int rng_seed_parse(const char *text, size_t len, uint8_t *out);

/* Adds seed[0..n) to the kernel's input pool with n*8 bits of credit
 * (RNDADDENTROPY on /dev/urandom) and reseeds the generator from it
 * (RNDRESEEDCRNG). Needs CAP_SYS_ADMIN. Returns 0 or -errno. */
int rng_seed_apply(const uint8_t *seed, size_t n);

#endif

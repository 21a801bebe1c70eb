/* hmap.c — see hmap.h. SipHash-2-4 written from the algorithm's description
 * (Aumasson & Bernstein, 2012). */
#include "common/hmap.h"
#include "common/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t sip_k0, sip_k1;
static bool sip_keyed;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash24(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ sip_k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ sip_k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ sip_k0;
	uint64_t v3 = 0x7465646279746573ull ^ sip_k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, full = len & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		m = load_le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t hmap_hash(const char *key)
{
	if (!sip_keyed) {
		uint64_t k[2];
		random_bytes(k, sizeof(k));
		sip_k0 = k[0];
		sip_k1 = k[1];
		sip_keyed = true;
	}
	return siphash24(key, strlen(key));
}

int hmap_init(struct hmap *h, size_t hint)
{
	size_t n = 8;

	while (n < hint)
		n *= 2;
	h->buckets = calloc(n, sizeof(*h->buckets));
	if (!h->buckets)
		return -ENOMEM;
	h->nbuckets = n;
	h->count = 0;
	return 0;
}

void hmap_destroy(struct hmap *h)
{
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = h->count = 0;
}

struct hmap_entry *hmap_find(const struct hmap *h, const char *key)
{
	uint64_t hash = hmap_hash(key);

	for (struct hmap_entry *e = h->buckets[hash & (h->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void hmap_grow(struct hmap *h)
{
	size_t n = h->nbuckets * 2;
	struct hmap_entry **nb;

	if (n < h->nbuckets)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return; /* keep the old, fuller table */
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct hmap_entry *e = h->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(h->buckets);
	h->buckets = nb;
	h->nbuckets = n;
}

void hmap_insert(struct hmap *h, struct hmap_entry *e)
{
	struct hmap_entry **b;

	if (h->count >= h->nbuckets)
		hmap_grow(h);
	e->hash = hmap_hash(e->key);
	b = &h->buckets[e->hash & (h->nbuckets - 1)];
	e->next = *b;
	*b = e;
	h->count++;
}

void hmap_remove(struct hmap *h, struct hmap_entry *e)
{
	struct hmap_entry **pp = &h->buckets[e->hash & (h->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			h->count--;
			return;
		}
	}
}

static struct hmap_entry *hmap_scan(const struct hmap *h, struct hmap_iter *it)
{
	while (it->bucket < h->nbuckets) {
		struct hmap_entry *e = h->buckets[it->bucket++];
		if (e) {
			it->next = e->next;
			return e;
		}
	}
	return NULL;
}

struct hmap_entry *hmap_first(const struct hmap *h, struct hmap_iter *it)
{
	it->bucket = 0;
	it->next = NULL;
	return hmap_scan(h, it);
}

struct hmap_entry *hmap_next(const struct hmap *h, struct hmap_iter *it)
{
	struct hmap_entry *e = it->next;

	if (e) {
		it->next = e->next;
		return e;
	}
	return hmap_scan(h, it);
}

/* hmap.h — an intrusive hash table keyed by NUL-terminated strings.
 *
 * Keys come from guests and clients (store paths), so the hash is SipHash-2-4
 * with a per-process random key: nobody outside can aim entries at one bucket.
 * Entries are embedded in the caller's structs (struct hmap_entry member);
 * the table never allocates or frees them. The bucket array doubles when the
 * load passes 1 and never shrinks below its initial size.
 */
#ifndef AIRLOCK_HMAP_H
#define AIRLOCK_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_entry {
	struct hmap_entry *next;
	uint64_t hash;
	const char *key; /* owned by the containing struct */
};

struct hmap {
	struct hmap_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

#define hmap_container(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Prepares an empty table with room for about `hint` entries before growing.
 * Returns 0 or -ENOMEM. */
int hmap_init(struct hmap *h, size_t hint);

/* Frees the bucket array (not the entries). */
void hmap_destroy(struct hmap *h);

/* Hashes a key with the process's secret key. */
uint64_t hmap_hash(const char *key);

/* Returns the entry whose key equals `key`, or NULL. */
struct hmap_entry *hmap_find(const struct hmap *h, const char *key);

/* Inserts `e` (whose key must be set and not already present). Never fails:
 * if growing the bucket array fails the entry still goes in, at a higher
 * load. */
void hmap_insert(struct hmap *h, struct hmap_entry *e);

/* Removes `e`, which must be in the table. */
void hmap_remove(struct hmap *h, struct hmap_entry *e);

/* Iteration: for (e = hmap_first(h, &it); e; e = hmap_next(h, &it)).
 * The current entry may be removed during iteration; nothing may be inserted. */
struct hmap_iter {
	size_t bucket;
	struct hmap_entry *next;
};
struct hmap_entry *hmap_first(const struct hmap *h, struct hmap_iter *it);
struct hmap_entry *hmap_next(const struct hmap *h, struct hmap_iter *it);

#endif

/* fuzz_persist.c — libFuzzer target for the state-log loader.
 *
 * The input is a state-log image (see store/persist.h). It is loaded with
 * persist_load_buffer into a fresh tree and domain table, and the result is
 * checked directly, without the loader's own helpers:
 *
 *   - the return value is one persist.h names; a refused image leaves the
 *     tree holding only "/";
 *   - the report adds up (good + damaged bytes = the image);
 *   - every node's path is canonical and absolute, its permissions are
 *     well-formed, its child list is packed NUL-terminated names;
 *   - "/" exists; every non-root node's parent exists and lists it; every
 *     listed child exists (its full path, however long); no name is listed
 *     twice (the number of listed names equals the number of non-root nodes);
 *   - every domain's node and byte usage equals what the tree holds.
 *
 * Random bytes rarely carry valid checksums, so when an image's records do
 * not, a copy with every record's CRC-32C recomputed is loaded as well: the
 * record parser sees the mutations instead of the checksum test stopping
 * them.
 */
#include "store/persist.h"
#include "store/domain.h"
#include "store/tree.h"
#include "xs/xs_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_persist: invariant failed: %s: ", #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define HDR_LEN	    16u
#define REC_HDR_LEN 8u

/* Usage recomputed from the tree, indexed by domid (cleared after use). */
static uint64_t want_nodes[XS_DOMID_MAX + 1], want_bytes[XS_DOMID_MAX + 1];

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites each whole record's checksum in place. Returns whether any
 * changed. */
static bool fix_checksums(uint8_t *img, size_t len)
{
	size_t pos = HDR_LEN;
	bool changed = false;

	while (len >= HDR_LEN && len - pos >= REC_HDR_LEN) {
		uint32_t rlen = get_le32(img + pos);
		uint32_t crc;

		if (rlen == 0 || rlen > len - pos - REC_HDR_LEN)
			break;
		crc = crc32c(img + pos + REC_HDR_LEN, rlen);
		if (get_le32(img + pos + 4) != crc) {
			put_le32(img + pos + 4, crc);
			changed = true;
		}
		pos += REC_HDR_LEN + rlen;
	}
	return changed;
}

/* Full path of child `name` of `parent`, malloc'd (never truncated). */
static char *child_path(const char *parent, const char *name)
{
	size_t pl = strcmp(parent, "/") ? strlen(parent) : 0, nl = strlen(name);
	char *s = malloc(pl + 1 + nl + 1);

	if (!s)
		abort();
	memcpy(s, parent, pl);
	s[pl] = '/';
	memcpy(s + pl + 1, name, nl + 1);
	return s;
}

static bool lists(const struct node *parent, const char *name)
{
	for (const char *c = node_child_first(parent); c; c = node_child_next(parent, c))
		if (strcmp(c, name) == 0)
			return true;
	return false;
}

static void check_node(const struct tree *t, const struct node *n, uint64_t *names)
{
	char canon[XS_PATH_BUF], parent[XS_PATH_BUF];

	CHECK(n->path && n->path[0] == '/', "path %.100s", n->path ? n->path : "(null)");
	CHECK(xs_path_canonical(n->path, 0, false, canon, NULL) == 0 && !strcmp(canon, n->path),
	      "path \"%.100s\" is not canonical", n->path);
	CHECK(n->nperms >= 1 && n->perms, "%.100s: %u permissions", n->path, n->nperms);
	for (unsigned i = 0; i < n->nperms; i++)
		CHECK(n->perms[i].domid <= XS_DOMID_MAX && n->perms[i].bits <= XS_PERM_BOTH,
		      "%.100s: permission %u is %u/%u", n->path, i, n->perms[i].domid,
		      n->perms[i].bits);
	CHECK(n->value_len == 0 || n->value, "%.100s: value", n->path);
	if (n->children_len) {
		CHECK(n->children && n->children[n->children_len - 1] == '\0',
		      "%.100s: children not terminated", n->path);
		CHECK(n->children[0] != '\0', "%.100s: empty first child name", n->path);
	}
	for (const char *c = node_child_first(n); c; c = node_child_next(n, c)) {
		char *cp = child_path(n->path, c);
		CHECK(c[0] != '\0' && !strchr(c, '/'), "%.100s: bad child name \"%.100s\"", n->path,
		      c);
		CHECK(tree_get(t, cp), "%.100s lists child \"%.100s\" but %.100s does not exist",
		      n->path, c, cp);
		free(cp);
		(*names)++;
	}
	if (strcmp(n->path, "/") == 0)
		return;
	size_t pl = xs_path_parent_len(n->path);
	memcpy(parent, n->path, pl);
	parent[pl] = '\0';
	const struct node *p = tree_get(t, parent);
	CHECK(p, "orphan %.100s", n->path);
	CHECK(lists(p, xs_path_basename(n->path)), "%.100s not listed by %.100s", n->path, parent);
}

/* Collects the existing domain records. The scan of all 65536 slots runs
 * uninstrumented: it would otherwise dominate an execution. */
__attribute__((no_sanitize("address", "coverage"))) static unsigned
domains_present(const struct domains *d, const struct domain **out)
{
	unsigned n = 0;

	for (unsigned i = 0; i <= XS_DOMID_MAX; i++)
		if (d->by_id[i])
			out[n++] = d->by_id[i];
	return n;
}

static void check_state(const struct tree *t, const struct domains *d)
{
	static const struct domain *doms[XS_DOMID_MAX + 1];
	unsigned ndoms = domains_present(d, doms);
	struct hmap_iter it;
	uint64_t names = 0;
	size_t count = 0;

	CHECK(tree_get(t, "/"), "no root");
	for (struct hmap_entry *e = hmap_first(&t->map, &it); e; e = hmap_next(&t->map, &it)) {
		const struct node *n = hmap_container(e, struct node, he);
		check_node(t, n, &names);
		CHECK(d->by_id[node_owner(n)], "%.100s: owner %u has no record", n->path,
		      node_owner(n));
		want_nodes[node_owner(n)]++;
		want_bytes[node_owner(n)] += node_footprint(n);
		count++;
	}
	CHECK(count == tree_count(t), "%zu nodes iterated, %zu counted", count, tree_count(t));
	CHECK(names == count - 1, "%llu child names for %zu non-root nodes (a name listed twice)",
	      (unsigned long long)names, count - 1);
	/* Every owner has a record (checked above), so the records cover all
	 * usage; their slots are cleared for the next input. */
	for (unsigned k = 0; k < ndoms; k++) {
		const struct domain *dom = doms[k];
		uint32_t i = dom->domid;
		CHECK(i <= XS_DOMID_MAX && d->by_id[i] == dom, "domain record %u misfiled", i);
		CHECK(dom->nodes == want_nodes[i] && dom->bytes == want_bytes[i],
		      "domain %u: usage %llu nodes %llu bytes, tree has %llu nodes %llu bytes", i,
		      (unsigned long long)dom->nodes, (unsigned long long)dom->bytes,
		      (unsigned long long)want_nodes[i], (unsigned long long)want_bytes[i]);
		CHECK(dom->target == DOMID_NONE || dom->target <= XS_DOMID_MAX,
		      "domain %u: target %u", i, dom->target);
		want_nodes[i] = want_bytes[i] = 0;
	}
}

static void load(const uint8_t *img, size_t len)
{
	static struct domains *d;
	struct persist_report rep;
	struct tree t;
	int r;

	if (!d && !(d = malloc(sizeof(*d))))
		abort();
	domains_init(d);
	if (tree_init(&t))
		abort();
	r = persist_load_buffer(&t, d, img, len, &rep);
	CHECK(r == 0 || r == -EINVAL || r == -EPROTONOSUPPORT || r == -ENOMEM, "returned %d", r);
	if (r == 0) {
		check_state(&t, d);
		CHECK(rep.good_bytes <= len, "good %llu of %zu", (unsigned long long)rep.good_bytes,
		      len);
		if (rep.damage)
			CHECK(rep.good_bytes + rep.damaged_bytes == len && rep.damaged_bytes,
			      "damage \"%s\": good %llu + damaged %llu != %zu", rep.damage,
			      (unsigned long long)rep.good_bytes,
			      (unsigned long long)rep.damaged_bytes, len);
		else
			CHECK(rep.good_bytes == len && rep.damaged_bytes == 0,
			      "intact: good %llu damaged %llu of %zu",
			      (unsigned long long)rep.good_bytes,
			      (unsigned long long)rep.damaged_bytes, len);
		CHECK(rep.records <= len / (REC_HDR_LEN + 1), "%llu records in %zu bytes",
		      (unsigned long long)rep.records, len);
	} else if (r != -ENOMEM) {
		CHECK(tree_count(&t) == 1 && tree_get(&t, "/"), "refused image changed the tree");
	}
	tree_destroy(&t);
	domains_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	load(data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (fix_checksums(copy, size))
		load(copy, size);
	free(copy);
	return 0;
}

/* watch.c — delivering watch events.
 *
 * A change of path P is offered to every watch of every connection: a watch
 * on W matches if P is W or lies below it ("exact" events — descendants
 * removed along with an ancestor — only if P is W). The watcher must be able
 * to read the changed node (its permissions before removal for a removed
 * node); special events (@introduceDomain, @releaseDomain) are governed by
 * the special node's permissions. Events for relative watches carry paths
 * relative to the watcher's home. O(connections x watches) per change, which
 * quotas bound; an index by path prefix would pay off only with thousands.
 */
#include "store/core.h"

#include <stdlib.h>
#include <string.h>

void watch_send_event(struct conn *c, const struct watch *w, const char *path)
{
	char home[64], payload[XS_PATH_BUF + XS_PAYLOAD_MAX];
	struct xs_hdr h = {.type = XS_WATCH_EVENT};
	size_t pl, tl = strlen(w->token);

	if (w->relative) {
		size_t hl = xs_path_domain_home(c->domid, home, sizeof(home));
		if (strncmp(path, home, hl) == 0 && path[hl] == '/')
			path += hl + 1;
	}
	pl = strlen(path);
	if (pl + tl + 2 > XS_PAYLOAD_MAX)
		return; /* cannot happen: WATCH bounds tokens so that every event fits */
	memcpy(payload, path, pl + 1);
	memcpy(payload + pl + 1, w->token, tl + 1);
	h.len = (uint32_t)(pl + tl + 2);
	c->st->n_events++;
	c->ops->send(c, &h, payload);
}

void watch_fire(struct store *st, const char *path, bool exact, const struct xs_perm *perms,
		uint16_t nperms)
{
	for (struct conn *c = st->conns; c; c = c->next) {
		if (!(perm_for_conn(c, perms, nperms) & XS_PERM_READ))
			continue;
		for (struct watch *w = c->watches; w; w = w->next) {
			bool match = exact ? strcmp(path, w->path) == 0
					   : xs_path_is_child(path, w->path);
			if (match)
				watch_send_event(c, w, path);
		}
	}
}

void watch_drop_all(struct conn *c)
{
	struct domain *dom = domain_find(&c->st->doms, c->domid);

	while (c->watches) {
		struct watch *w = c->watches;
		c->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
		if (dom && dom->watches)
			dom->watches--;
	}
}

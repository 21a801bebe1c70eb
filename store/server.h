/* server.h — airlock-store's sockets: the main socket (domain 0,
 * privileged) and one socket per introduced domain, with buffering,
 * back-pressure and group commit around the store core. */
#ifndef AIRLOCK_STORE_SERVER_H
#define AIRLOCK_STORE_SERVER_H

#include "common/loop.h"
#include "store/store.h"

#include <stddef.h>

struct server;

struct server_options {
	const char *socket_path; /* the main socket */
	const char *domain_dir;	 /* where <domid> sockets go */
	size_t max_conn_buffer;	 /* output bytes queued before a connection is dropped */
};

/* The host hooks the store calls; their ctx is the server. */
extern const struct store_host_ops server_host_ops;

/* Creates the server and its main socket (refusing a path another daemon
 * answers on). The store is attached later. 0 or -errno (logged). */
int server_new(struct loop *l, const struct server_options *o, struct server **out);

/* Starts serving `st`: accepts connections from now on. */
void server_attach(struct server *srv, struct store *st);

/* Closes every connection and socket and removes the socket files. */
void server_free(struct server *srv);

#endif

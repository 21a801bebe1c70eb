/* relay_desc.h — airlock-relay's --device grammar:
 *
 *   blk|net,fd=N,features=0xHEX,queues=N[,config=HEX]
 *
 * fd: the engine's listening socket; features: the virtio feature bits the
 * engine is offered (hex, "0x" optional); queues: 1..8; config: the device's
 * config space as an even number of hex digits (at most 256 bytes; empty or
 * absent: no config, GET_CONFIG is then not offered).
 */
#ifndef AIRLOCK_RELAY_DESC_H
#define AIRLOCK_RELAY_DESC_H

#include <stddef.h>

#include "relay/relay.h"

/* Parses one spec into *d. Returns 0, or -EINVAL with a reason in err.
 * Every key must appear at most once; fd, features and queues are
 * required. */
int relay_desc_parse(const char *spec, struct relay_dev_desc *d, char *err, size_t errsz);

#endif

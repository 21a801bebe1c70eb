/* vifspec.h — one entry of `vif = [...]` in xl-network-configuration(5)
 * syntax, plus airlock's user-mode backend.
 *
 * A spec is a comma-separated list of key=value pairs, all optional:
 *
 *   'mac=00:16:3e:74:3d:76, bridge=xenbr0, model=e1000'
 *   ''                                   (all defaults)
 *   'type=passt'                         (airlock: user-mode networking
 *                                         through passt, no root needed)
 *
 * Without type=passt the guest's NIC is a tap device on `bridge` (xl's
 * default bridge is xenbr0).
 */
#ifndef AIRLOCK_CFG_VIFSPEC_H
#define AIRLOCK_CFG_VIFSPEC_H

#include "cfg/xlcfg.h"
#include "common/buf.h"

#include <stdbool.h>
#include <stdint.h>

enum cfg_vif_model {
	CFG_VIF_VIRTIO, /* virtio-net: airlock's default */
	CFG_VIF_E1000,
	CFG_VIF_RTL8139, /* xl's default */
};

enum cfg_vif_backend {
	CFG_VIF_TAP,   /* a tap device added to a host bridge */
	CFG_VIF_PASST, /* passt: user-mode networking, no privileges */
};

/* The bridge a tap vif joins when the spec names none (as xl). */
#define CFG_VIF_DEFAULT_BRIDGE "xenbr0"

struct cfg_vif {
	bool mac_set; /* false: the toolstack generates one */
	uint8_t mac[6];
	enum cfg_vif_backend backend;
	char *bridge; /* CFG_VIF_TAP: always set; CFG_VIF_PASST: NULL */
	enum cfg_vif_model model;
	char *ip;		   /* one or more addresses separated by blanks; NULL: none */
	char *vifname;		   /* host-side interface name; NULL: the toolstack picks */
	unsigned int mtu;	   /* 0: the default (the bridge's) */
	uint64_t rate_bytes_per_s; /* 0: unlimited */
	uint32_t rate_interval_us; /* credit refill period (xl: 50 ms) */
	unsigned int line;	   /* set by the caller */
};

/* Parses one vif spec into *out (zeroed first). Problems are appended to
 * `diag` as "<where>: <message>": errors for unknown keys (with a
 * suggestion) and bad values, warnings for xl keys airlock ignores. Returns
 * 0, -EINVAL (at least one error; *out is cleared) or -ENOMEM. Release with
 * cfg_vif_clear. */
int cfg_vif_parse(const char *spec, struct cfg_vif *out, struct cfg_diag *diag, const char *where);

/* Frees a vif's strings and zeroes it. */
void cfg_vif_clear(struct cfg_vif *vif);

/* Parses "xx:xx:xx:xx:xx:xx" (two hex digits per byte, either case).
 * Returns 0, or -EINVAL (malformed). Multicast and all-zero addresses parse;
 * cfg_mac_usable says whether a NIC may have them. */
int cfg_mac_parse(const char *s, uint8_t mac[6]);

/* True for a unicast, non-zero MAC. */
bool cfg_mac_usable(const uint8_t mac[6]);

/* Writes "xx:xx:xx:xx:xx:xx" and a NUL into out (18 bytes). */
void cfg_mac_format(const uint8_t mac[6], char out[18]);

/* Parses xl's rate "RATE/s" or "RATE/s@INTERVAL": RATE a decimal number
 * with an optional unit (GB, MB, KB, B: bytes; Gb, Mb, Kb, b: bits; powers
 * of 1000), INTERVAL a decimal number with an optional unit (s, ms, us;
 * default us), 50ms when absent. The guest may send bytes_per_s * interval
 * worth of credit each interval, as in xl ("1MB/s@20ms": 20000 bytes every
 * 20000 us). Returns 0, or -EINVAL (malformed, below 1 byte/s, zero
 * interval, or out of range: rates above 2^53 bytes/s, intervals above
 * UINT32_MAX us). */
int cfg_rate_parse(const char *s, uint64_t *bytes_per_s, uint32_t *interval_us);

/* "virtio", "e1000", "rtl8139". */
const char *cfg_vif_model_name(enum cfg_vif_model model);

/* Appends the vif's normalized spec, which cfg_vif_parse reads back to the
 * same vif. 0 or -ENOMEM. */
int cfg_vif_format_spec(const struct cfg_vif *vif, struct buf *out);

#endif

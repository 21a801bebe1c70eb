/* host.h — the host resources a supervisor creates for its domain: the
 * guest-RAM memfd and tap devices. Each is released by closing its fd (a
 * memfd and a non-persistent tap vanish with their last fd), so a
 * supervisor that dies leaves neither behind. */
#ifndef AIRLOCK_SUP_HOST_H
#define AIRLOCK_SUP_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/types.h>

/* Creates the guest's RAM as a memfd named "airlock:<label>", sized up to the
 * next power of two of `bytes` (the stub domain maps it as a PCI BAR, which
 * must be a power of two). Returns the fd (close-on-exec) or -errno;
 * *size gets the file size. */
int ram_create(const char *label, uint64_t bytes, uint64_t *size);

/* Zeroes the RAM file (before a reboot's fresh engine). 0 or -errno. */
int ram_zero(int fd, uint64_t size);

/* Opens a tap device named `name` (IFNAMSIZ), with a virtio-net header,
 * sets its MTU (0: leave the default), brings it up and, if `bridge` is
 * set, enslaves it to that bridge.
 * Returns the fd (close-on-exec) or -errno; the tap disappears when the fd
 * (and the engine's copy) is closed. */
/* Without vnet_hdr the kernel hands out only finished frames (checksums
 * computed, no GSO): what a reader that cannot take offloads needs. */
int tap_open(const char *name, const char *bridge, unsigned int mtu, bool vnet_hdr);

/* Starts passt (user-mode networking, no privileges needed) serving one
 * engine over the connected socket `fd`, as uid/gid `uid` (passt also
 * sandboxes itself), its messages to `log_fd`. Returns its pid or -errno. */
pid_t passt_spawn(int fd, unsigned int uid, int log_fd);

/* The host's TSC rate in kHz, measured once against CLOCK_MONOTONIC over
 * ~20 ms (x86 only; 0 elsewhere or when the measurement makes no sense).
 * A VM under TCG reads the host's TSC, but its kernel cannot calibrate it
 * reliably on a busy host (its PIT runs on the same emulated time) and
 * falls back to a 4 ms jiffies clock: a stub domain is told the rate
 * (tsc_early_khz=) instead. */
unsigned int host_tsc_khz(void);

/* True if a network interface of that name exists. */
bool netif_exists(const char *name);

#endif

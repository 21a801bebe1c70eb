/* stub_main.h — airlock-dm's --stubdom mode: the virtio-serial port to the
 * relay, the VFIO bus, and the stub transport serving the devices. */
#ifndef AIRLOCK_DM_STUB_MAIN_H
#define AIRLOCK_DM_STUB_MAIN_H

#include "common/loop.h"
#include "dm/devices.h"

/* Opens the port at `port` (waiting, with a log line every 10 s, until the
 * relay's end is connected; returns early when stop_fd becomes readable),
 * opens the ivshmem device through VFIO, and serves devs[0..ndevs-1] as
 * channels 1..ndevs on `loop` until the loop is stopped (a signal) or the
 * port closes. Returns the exit status: 0 when stopped, 1 when the port
 * closed or something could not be set up (the stub's init restarts the
 * program). */
int dm_stub_serve(struct loop *loop, int stop_fd, const char *port, struct dm_device *const *devs,
		  unsigned int ndevs);

#endif

/* `mac_sim wake` (wake.c): Macs that poll when the APNs stand-in records a
 * push for them. Part of the mac_sim command, not of the library. */
#ifndef ORCHARD_MAC_SIM_WAKE_H
#define ORCHARD_MAC_SIM_WAKE_H

#include "tests/support/mac_sim/mac_sim.h"

/**
 * Follow `record` (the stand-in's --record file; waited for when missing)
 * for `seconds` (0: until SIGINT or SIGTERM) and run a poll session for each
 * accepted push to one of `macs` that carries its PushMagic. Events:
 * pushed, ignored, command, answered, polled, error. 0, or 1 when a poll
 * failed.
 */
int macsim_wake(orchard_macsim_mac **macs, size_t n, const char *record, double seconds,
                const orchard_macsim_poll_opts *poll, const char *cafile, int insecure);

#endif

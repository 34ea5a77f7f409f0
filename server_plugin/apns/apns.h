/* APNs for the server plugin: the pusher that wakes devices (docs/protocols.md,
 * APNs). Callers ask for pushes by UDID; the `apns.push` job sends them
 * through the host's outbound HTTP/2 client (ABI 1.3), records every
 * outcome, marks dead tokens and retries the rest with backoff. */
#ifndef ORCHARD_SERVER_APNS_H
#define ORCHARD_SERVER_APNS_H

#include <orchard/plugin.h>

#include <stddef.h>

/**
 * Ask for a push to each device (coalesced per device in the store) and
 * queue the `apns.push` job. Returns 0, or a store error.
 */
int orchard_apns_push(orchard_ctx *ctx, const char *const *udids, size_t n);

#endif

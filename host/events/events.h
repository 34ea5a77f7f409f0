/* The host's event bus (ABI 1.2): plugins publish named events with a JSON
 * payload and subscribe to names or "prefix.*"; one event thread delivers
 * them in publish order, never on the publisher's thread, so one flow reacts
 * to another without calling into it. */
#ifndef ORCHARD_EVENTS_H
#define ORCHARD_EVENTS_H

#include <orchard/plugin.h>

/** Deliver what is queued, then stop the event thread (it restarts on the next publish). */
void orchard_events_flush_stop(void);

/** Drop every subscription of `ctx` (its plugin is unloading). */
void orchard_events_forget(orchard_ctx *ctx);

/* The orchard_host_api functions. */
int orchard_events_subscribe(orchard_ctx *ctx, const char *name, orchard_event_fn fn,
                             void *payload);
int orchard_events_publish(orchard_ctx *ctx, const char *name, const char *json);

#endif

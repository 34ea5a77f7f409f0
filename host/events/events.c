/* STUB until the event bus lands. */
#include "host/events/events.h"

void orchard_events_flush_stop(void) {}
void orchard_events_forget(orchard_ctx *ctx) { (void)ctx; }

int orchard_events_subscribe(orchard_ctx *ctx, const char *name, orchard_event_fn fn,
                             void *payload)
{
    (void)ctx;
    (void)name;
    (void)fn;
    (void)payload;
    return 0;
}

int orchard_events_publish(orchard_ctx *ctx, const char *name, const char *json)
{
    (void)ctx;
    (void)name;
    (void)json;
    return 0;
}

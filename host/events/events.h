/* The host's event bus (ABI 1.2): plugins publish named events with a JSON
 * payload and subscribe to names or "prefix.*"; one event thread delivers
 * them in publish order, never on the publisher's thread, so one flow reacts
 * to another without calling into it. */
#ifndef ORCHARD_EVENTS_H
#define ORCHARD_EVENTS_H

#include <orchard/plugin.h>

/** Events queued and not yet taken by the event thread; past it publish is EBUSY. */
#define ORCHARD_EVENTS_QUEUE_MAX 10000u
/** One event's JSON over this is refused (ORCHARD_ETOOBIG). */
#define ORCHARD_EVENTS_JSON_MAX ((size_t)1 << 20)
/** Bytes (names and JSON) queued at once; past it publish is EBUSY. */
#define ORCHARD_EVENTS_QUEUE_BYTES ((size_t)32 << 20)
/** The longest event name or pattern. */
#define ORCHARD_EVENTS_NAME_MAX 128u

/**
 * Deliver what is queued, then stop and join the event thread (the next
 * publish starts it again). Bounded: when the queue has not drained within
 * the flush timeout (a subscriber that does not return), what is left is
 * dropped, the thread is left to finish its current callback alone, and
 * this logs which plugin's subscriber held it. Called from inside an event
 * callback it does nothing (a thread can't join itself).
 */
void orchard_events_flush_stop(void);

/**
 * Drop every subscription of `ctx` (its plugin is unloading). Returns once
 * none of its callbacks runs any more (bounded by the flush timeout, then
 * logged), unless called from one of them.
 */
void orchard_events_forget(orchard_ctx *ctx);

/** For tests: set the flush timeout (default 10000 ms); returns the old one. */
unsigned orchard_events_set_flush_timeout_ms(unsigned ms);

/**
 * 1 when `name` is a valid event name: 1 to ORCHARD_EVENTS_NAME_MAX bytes of
 * dot-separated segments, each a lower-case letter then lower-case letters,
 * digits or '_' ("mdm.checked_in"). With `pattern` set, a final ".*" is
 * allowed too ("mdm.*").
 */
int orchard_events_name_valid(const char *name, int pattern);

/*
 * The orchard_host_api functions (plugin.h). Beyond the contract there:
 * "prefix.*" matches names that continue the prefix with a dot ("mdm.*"
 * takes "mdm.enrolled", not "mdm" nor "mdmx.y"); publish also returns
 * ORCHARD_ETOOBIG for JSON over ORCHARD_EVENTS_JSON_MAX, and EBUSY when the
 * queue's byte budget is spent. JSON is copied, not parsed. A NULL ctx
 * stands for the host's own context.
 */
int orchard_events_subscribe(orchard_ctx *ctx, const char *name, orchard_event_fn fn,
                             void *payload);
int orchard_events_publish(orchard_ctx *ctx, const char *name, const char *json);

#endif

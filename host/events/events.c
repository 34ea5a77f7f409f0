/* The host's event bus (events.h): a bounded FIFO of copied events and one
 * delivery thread, started by the first publish and stopped by
 * orchard_events_flush_stop. Callbacks run without the lock held, so a
 * subscriber may publish, subscribe or forget from inside one. */
#include "host/events/events.h"

#include "host/log.h"
#include "host/plugins/plugin_ctx.h"

#include <glib.h>
#include <string.h>

/* A full queue is logged at most this often, with the count in between. */
#define DROP_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

typedef struct {
    char *name;
    char *json;
    size_t bytes; /* counted against ORCHARD_EVENTS_QUEUE_BYTES */
} event;

/* Held by the list and by each delivery that took it in a snapshot, so a
 * subscription forgotten mid-delivery is skipped, never freed under it. */
typedef struct {
    orchard_ctx *ctx;
    char *pattern; /* the exact name, or a prefix with its final dot ("mdm.") */
    int prefix;
    orchard_event_fn fn;
    void *payload;
    int live;
    int refs;
} sub;

/* One delivery thread. A worker flush_stop gave up on (abandoned) finishes
 * the callback it is in, delivers nothing more, and frees itself. */
typedef struct {
    GThread *thread;
    orchard_ctx *delivering; /* whose callback runs now, or NULL */
    int abandoned;
    int exited;
} worker;

static struct {
    GMutex lock;
    GCond wake;    /* to the worker: an event was queued, or stop */
    GCond changed; /* from workers: a callback returned, or a worker exited */
    GQueue queue;  /* event*, oldest first */
    size_t queued_bytes;
    GPtrArray *subs;    /* sub*, subscription order; NULL when empty */
    GPtrArray *workers; /* every running worker, abandoned ones included */
    worker *current;    /* the one that delivers, or NULL */
    int stopping;
    unsigned flush_ms;
    guint64 dropped; /* since the last "queue full" line */
    gint64 last_drop_log;
} bus = {.flush_ms = 10000};

/* flush_stop calls, one at a time. */
static GMutex flush_lock;
/* The worker this thread is, on a delivery thread. */
static _Thread_local worker *this_worker;

unsigned orchard_events_set_flush_timeout_ms(unsigned ms)
{
    g_mutex_lock(&bus.lock);
    unsigned old = bus.flush_ms;
    bus.flush_ms = ms;
    g_mutex_unlock(&bus.lock);
    return old;
}

/* ------------------------------------------------------------------------ */
/* Names */

static int segments_valid(const char *s, size_t len)
{
    int at_start = 1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (at_start)
                return 0;
            at_start = 1;
        } else if (at_start) {
            if (c < 'a' || c > 'z')
                return 0;
            at_start = 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return 0;
        }
    }
    return len > 0 && !at_start;
}

int orchard_events_name_valid(const char *name, int pattern)
{
    size_t len = name ? strnlen(name, ORCHARD_EVENTS_NAME_MAX + 1) : 0;
    if (len == 0 || len > ORCHARD_EVENTS_NAME_MAX)
        return 0;
    if (pattern && len > 2 && name[len - 2] == '.' && name[len - 1] == '*')
        return segments_valid(name, len - 2);
    return segments_valid(name, len);
}

static int sub_matches(const sub *s, const char *name)
{
    if (s->prefix)
        return g_str_has_prefix(name, s->pattern);
    return strcmp(name, s->pattern) == 0;
}

/* With the lock held. */
static void sub_unref(sub *s)
{
    if (--s->refs > 0)
        return;
    g_free(s->pattern);
    g_free(s);
}

static void event_free(event *e)
{
    g_free(e->name);
    g_free(e->json);
    g_free(e);
}

/* ------------------------------------------------------------------------ */
/* Delivery */

/* Call every live subscriber of `e`, in subscription order. Entered and
 * left with the lock held; dropped around each callback. */
static void deliver(worker *w, const event *e)
{
    GPtrArray *snap = g_ptr_array_new();

    for (guint i = 0; bus.subs && i < bus.subs->len; i++) {
        sub *s = g_ptr_array_index(bus.subs, i);
        if (sub_matches(s, e->name)) {
            s->refs++;
            g_ptr_array_add(snap, s);
        }
    }
    for (guint i = 0; i < snap->len; i++) {
        sub *s = g_ptr_array_index(snap, i);
        if (s->live && !w->abandoned) {
            w->delivering = s->ctx;
            g_mutex_unlock(&bus.lock);
            s->fn(s->ctx, e->name, e->json, s->payload);
            g_mutex_lock(&bus.lock);
            w->delivering = NULL;
            g_cond_broadcast(&bus.changed);
        }
        sub_unref(s);
    }
    g_ptr_array_free(snap, TRUE);
}

static gpointer worker_main(gpointer p)
{
    worker *w = p;

    this_worker = w;
    g_mutex_lock(&bus.lock);
    for (;;) {
        while (!w->abandoned && !bus.stopping && g_queue_is_empty(&bus.queue))
            g_cond_wait(&bus.wake, &bus.lock);
        /* Stopping still drains the queue; abandoned delivers nothing more. */
        if (w->abandoned || g_queue_is_empty(&bus.queue))
            break;
        event *e = g_queue_pop_head(&bus.queue);
        bus.queued_bytes -= e->bytes;
        deliver(w, e);
        event_free(e);
    }
    g_ptr_array_remove_fast(bus.workers, w);
    if (w->abandoned)
        g_free(w); /* flush_stop dropped its reference to the thread */
    else
        w->exited = 1; /* flush_stop joins and frees */
    g_cond_broadcast(&bus.changed);
    g_mutex_unlock(&bus.lock);
    return NULL;
}

/* With the lock held. Failing to start leaves the queue as it is: the next
 * publish tries again. */
static void start_worker(void)
{
    g_autoptr(GError) err = NULL;
    worker *w = g_new0(worker, 1);

    w->thread = g_thread_try_new("orchard-events", worker_main, w, &err);
    if (!w->thread) {
        orchard_error("events", "cannot start the event thread: %s", err->message);
        g_free(w);
        return;
    }
    if (!bus.workers)
        bus.workers = g_ptr_array_new();
    g_ptr_array_add(bus.workers, w);
    bus.current = w;
}

/* ------------------------------------------------------------------------ */
/* The host API */

int orchard_events_subscribe(orchard_ctx *ctx, const char *name, orchard_event_fn fn,
                             void *payload)
{
    size_t len;
    sub *s;

    if (!fn || !orchard_events_name_valid(name, 1))
        return ORCHARD_EINVAL;
    len = strlen(name);
    s = g_new0(sub, 1);
    s->ctx = ctx ? ctx : orchard_ctx_host();
    s->prefix = name[len - 1] == '*';
    s->pattern = g_strndup(name, s->prefix ? len - 1 : len); /* keeps the dot */
    s->fn = fn;
    s->payload = payload;
    s->live = 1;
    s->refs = 1;
    g_mutex_lock(&bus.lock);
    if (!bus.subs)
        bus.subs = g_ptr_array_new();
    g_ptr_array_add(bus.subs, s);
    g_mutex_unlock(&bus.lock);
    return 0;
}

/* With the lock held: count a dropped event; 1 when it is time to say so. */
static int note_drop(guint64 *count)
{
    gint64 now = g_get_monotonic_time();
    bus.dropped++;
    if (bus.last_drop_log && now - bus.last_drop_log < DROP_LOG_INTERVAL_US)
        return 0;
    bus.last_drop_log = now;
    *count = bus.dropped;
    bus.dropped = 0;
    return 1;
}

int orchard_events_publish(orchard_ctx *ctx, const char *name, const char *json)
{
    guint64 dropped = 0;
    size_t len;
    event *e;

    if (!orchard_events_name_valid(name, 0))
        return ORCHARD_EINVAL;
    json = json ? json : "{}";
    len = strnlen(json, ORCHARD_EVENTS_JSON_MAX + 1);
    if (len > ORCHARD_EVENTS_JSON_MAX) {
        orchard_warn("events", "%s: event %s refused: its JSON is over %zu bytes",
                     orchard_ctx_name(ctx), name, ORCHARD_EVENTS_JSON_MAX);
        return ORCHARD_ETOOBIG;
    }
    e = g_new(event, 1);
    e->name = g_strdup(name);
    e->json = g_strndup(json, len);
    e->bytes = strlen(name) + len + 2;

    g_mutex_lock(&bus.lock);
    if (bus.queue.length >= ORCHARD_EVENTS_QUEUE_MAX ||
        bus.queued_bytes + e->bytes > ORCHARD_EVENTS_QUEUE_BYTES) {
        int say = note_drop(&dropped);
        g_mutex_unlock(&bus.lock);
        if (say)
            orchard_warn("events",
                         "%s: the event queue is full (%u events, %zu bytes): dropped %s "
                         "(%" G_GUINT64_FORMAT " dropped since the last report)",
                         orchard_ctx_name(ctx), ORCHARD_EVENTS_QUEUE_MAX,
                         ORCHARD_EVENTS_QUEUE_BYTES, name, dropped);
        event_free(e);
        return ORCHARD_EBUSY;
    }
    g_queue_push_tail(&bus.queue, e);
    bus.queued_bytes += e->bytes;
    /* While flush_stop runs, the stopping worker (or the one flush_stop
     * starts after it) takes the event. */
    if (!bus.current && !bus.stopping)
        start_worker();
    else
        g_cond_signal(&bus.wake);
    g_mutex_unlock(&bus.lock);
    return 0;
}

/* With the lock held: the current worker did not drain in time. */
static void abandon(worker *w)
{
    guint n = bus.queue.length;
    event *e;

    while ((e = g_queue_pop_head(&bus.queue)))
        event_free(e);
    bus.queued_bytes = 0;
    w->abandoned = 1;
    g_cond_broadcast(&bus.wake);
    orchard_error("events",
                  "the event queue did not drain within %u ms (a subscriber of %s has not "
                  "returned): %u queued events dropped, the event thread left to finish alone",
                  bus.flush_ms, w->delivering ? orchard_ctx_name(w->delivering) : "(none)", n);
    g_thread_unref(w->thread); /* it frees itself when it returns */
}

void orchard_events_flush_stop(void)
{
    /* Before flush_lock: another thread's flush_stop may hold it while it
     * waits for this very callback to return. */
    if (this_worker) {
        orchard_warn("events", "flush_stop from an event callback is ignored");
        return;
    }
    g_mutex_lock(&flush_lock);
    g_mutex_lock(&bus.lock);
    worker *w = bus.current;
    if (!w)
        goto done;
    bus.stopping = 1;
    g_cond_broadcast(&bus.wake);
    gint64 until = g_get_monotonic_time() + (gint64)bus.flush_ms * 1000;
    while (!w->exited)
        if (!g_cond_wait_until(&bus.changed, &bus.lock, until))
            break;
    if (w->exited) {
        g_mutex_unlock(&bus.lock);
        g_thread_join(w->thread);
        g_mutex_lock(&bus.lock);
        g_free(w);
    } else {
        abandon(w);
    }
    bus.current = NULL;
    bus.stopping = 0;
    /* Published after the worker had drained and decided to exit. */
    if (!g_queue_is_empty(&bus.queue))
        start_worker();
done:
    g_mutex_unlock(&bus.lock);
    g_mutex_unlock(&flush_lock);
}

/* With the lock held: is a callback of `ctx` running on a worker other than this thread? */
static int ctx_busy(orchard_ctx *ctx)
{
    for (guint i = 0; bus.workers && i < bus.workers->len; i++) {
        worker *w = g_ptr_array_index(bus.workers, i);
        if (w != this_worker && w->delivering == ctx)
            return 1;
    }
    return 0;
}

void orchard_events_forget(orchard_ctx *ctx)
{
    g_mutex_lock(&bus.lock);
    for (guint i = bus.subs ? bus.subs->len : 0; i > 0; i--) {
        sub *s = g_ptr_array_index(bus.subs, i - 1);
        if (s->ctx == ctx) {
            s->live = 0;
            g_ptr_array_remove_index(bus.subs, i - 1);
            sub_unref(s);
        }
    }
    if (bus.subs && bus.subs->len == 0)
        g_clear_pointer(&bus.subs, g_ptr_array_unref);
    /* The plugin's code may be unmapped once we return. */
    gint64 until = g_get_monotonic_time() + (gint64)bus.flush_ms * 1000;
    while (ctx_busy(ctx))
        if (!g_cond_wait_until(&bus.changed, &bus.lock, until))
            break;
    if (ctx_busy(ctx))
        orchard_error("events", "a subscriber of %s is still running after %u ms",
                      orchard_ctx_name(ctx), bus.flush_ms);
    g_mutex_unlock(&bus.lock);
}

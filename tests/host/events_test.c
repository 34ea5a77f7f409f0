/* The event bus (host/events/): who gets which event, on which thread, in
 * which order; the bounded queue; names; flush_stop and forget. Callbacks
 * run on the event thread, so they only record; assertions stay here. Each
 * test forgets its subscriptions and stops the thread before it ends. */
#include "tests/suites.h"

#include "host/events/events.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

/* What one subscriber saw: "name json" lines and the threads it ran on. */
typedef struct {
    GMutex lock;
    GPtrArray *seen;
    GThread *thread;
    orchard_ctx *ctx_seen;
    int calls;
} recorder;

static void recorder_init(recorder *r)
{
    memset(r, 0, sizeof *r);
    g_mutex_init(&r->lock);
    r->seen = g_ptr_array_new_with_free_func(g_free);
}

static void recorder_clear(recorder *r)
{
    g_ptr_array_unref(r->seen);
    g_mutex_clear(&r->lock);
}

static void record(orchard_ctx *ctx, const char *name, const char *json, void *payload)
{
    recorder *r = payload;
    g_mutex_lock(&r->lock);
    g_ptr_array_add(r->seen, g_strdup_printf("%s %s", name, json));
    r->thread = g_thread_self();
    r->ctx_seen = ctx;
    r->calls++;
    g_mutex_unlock(&r->lock);
}

static const char *seen(recorder *r, guint i)
{
    return i < r->seen->len ? g_ptr_array_index(r->seen, i) : "(nothing)";
}

/* A callback that holds the event thread until released. */
typedef struct {
    GMutex lock;
    GCond cond;
    int started;
    int released;
    atomic_int finished;
} gate;

static void gate_init(gate *g)
{
    memset(g, 0, sizeof *g);
    g_mutex_init(&g->lock);
    g_cond_init(&g->cond);
}

static void gate_clear(gate *g)
{
    g_mutex_clear(&g->lock);
    g_cond_clear(&g->cond);
}

static void blocking(orchard_ctx *ctx, const char *name, const char *json, void *payload)
{
    gate *g = payload;
    (void)ctx;
    (void)name;
    (void)json;
    g_mutex_lock(&g->lock);
    g->started = 1;
    g_cond_broadcast(&g->cond);
    while (!g->released)
        g_cond_wait(&g->cond, &g->lock);
    g_mutex_unlock(&g->lock);
    atomic_store(&g->finished, 1);
}

/* Bounded: returns 0 when the callback did not start within 10 s. */
static int gate_wait_started(gate *g)
{
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    g_mutex_lock(&g->lock);
    while (!g->started && g_cond_wait_until(&g->cond, &g->lock, until))
        ;
    int started = g->started;
    g_mutex_unlock(&g->lock);
    return started;
}

static void gate_release(gate *g)
{
    g_mutex_lock(&g->lock);
    g->released = 1;
    g_cond_broadcast(&g->cond);
    g_mutex_unlock(&g->lock);
}

static orchard_ctx *ctx_a, *ctx_b;
static int saved_level;

static int suite_init(void)
{
    ctx_a = orchard_ctx_new(NULL);
    ctx_b = orchard_ctx_new(NULL);
    saved_level = orchard_log_get_level();
    orchard_log_set_level(ORCHARD_LOG_ERROR); /* queue-full warnings are expected here */
    return 0;
}

static int suite_cleanup(void)
{
    orchard_events_flush_stop();
    orchard_events_forget(ctx_a);
    orchard_events_forget(ctx_b);
    g_free(ctx_a);
    g_free(ctx_b);
    orchard_log_set_level(saved_level);
    return 0;
}

/* End of a test: nothing of it stays subscribed or running. */
static void settle(void)
{
    orchard_events_flush_stop();
    orchard_events_forget(ctx_a);
    orchard_events_forget(ctx_b);
}

static void test_events__exact_and_prefix(void)
{
    recorder exact, prefix, other;
    recorder_init(&exact);
    recorder_init(&prefix);
    recorder_init(&other);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.a.b", record, &exact), 0);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.a.*", record, &prefix), 0);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_b, "t.x", record, &other), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.a.b", "{\"n\":1}"), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.a", "{\"n\":2}"), 0);    /* not "t.a.*" */
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.ab.c", "{\"n\":3}"), 0); /* nor this */
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.a.c.d", NULL), 0);
    orchard_events_flush_stop();

    CU_ASSERT_EQUAL(exact.seen->len, 1);
    CU_ASSERT_STRING_EQUAL(seen(&exact, 0), "t.a.b {\"n\":1}");
    CU_ASSERT_EQUAL(prefix.seen->len, 2);
    CU_ASSERT_STRING_EQUAL(seen(&prefix, 0), "t.a.b {\"n\":1}");
    CU_ASSERT_STRING_EQUAL(seen(&prefix, 1), "t.a.c.d {}");
    CU_ASSERT_EQUAL(other.seen->len, 0);
    /* The subscriber's own context and payload, not the publisher's. */
    CU_ASSERT_PTR_EQUAL(exact.ctx_seen, ctx_a);
    settle();
    recorder_clear(&exact);
    recorder_clear(&prefix);
    recorder_clear(&other);
}

static void test_events__not_on_publisher_thread(void)
{
    recorder r;
    recorder_init(&r);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.thread", record, &r), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.thread", "{}"), 0);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_PTR_NOT_NULL(r.thread);
    CU_ASSERT_PTR_NOT_EQUAL(r.thread, g_thread_self());
    settle();
    recorder_clear(&r);
}

static void test_events__order_preserved(void)
{
    recorder r;
    recorder_init(&r);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.order", record, &r), 0);
    for (int i = 0; i < 2000; i++) {
        g_autofree char *json = g_strdup_printf("{\"i\":%d}", i);
        CU_ASSERT_EQUAL_FATAL(orchard_events_publish(ctx_b, "t.order", json), 0);
    }
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL_FATAL(r.seen->len, 2000);
    int in_order = 1;
    for (int i = 0; i < 2000; i++) {
        g_autofree char *want = g_strdup_printf("t.order {\"i\":%d}", i);
        in_order &= strcmp(seen(&r, (guint)i), want) == 0;
    }
    CU_ASSERT_TRUE(in_order);
    settle();
    recorder_clear(&r);
}

static void test_events__json_copied(void)
{
    recorder r;
    gate g;
    recorder_init(&r);
    gate_init(&g);

    /* Hold the thread so delivery surely happens after the buffer is gone. */
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.hold", blocking, &g), 0);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.copy", record, &r), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.hold", NULL), 0);
    CU_ASSERT_TRUE(gate_wait_started(&g));
    char *json = g_strdup("{\"serial\":\"C02XYZ\"}");
    char *name = g_strdup("t.copy");
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, name, json), 0);
    memset(json, 'X', strlen(json));
    memset(name, 'Y', strlen(name));
    g_free(json);
    g_free(name);
    gate_release(&g);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(r.seen->len, 1);
    CU_ASSERT_STRING_EQUAL(seen(&r, 0), "t.copy {\"serial\":\"C02XYZ\"}");
    settle();
    recorder_clear(&r);
    gate_clear(&g);
}

static void test_events__queue_full(void)
{
    recorder r;
    gate g;
    int busy = 0;
    recorder_init(&r);
    gate_init(&g);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.hold", blocking, &g), 0);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.fill", record, &r), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.hold", NULL), 0);
    CU_ASSERT_TRUE_FATAL(gate_wait_started(&g)); /* taken off the queue: it is empty */
    for (unsigned i = 0; i < ORCHARD_EVENTS_QUEUE_MAX; i++)
        busy += orchard_events_publish(ctx_b, "t.fill", "{}") != 0;
    CU_ASSERT_EQUAL(busy, 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.fill", "{}"), ORCHARD_EBUSY);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.fill", "{}"), ORCHARD_EBUSY);
    gate_release(&g);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(r.seen->len, ORCHARD_EVENTS_QUEUE_MAX);
    /* Drained: there is room again. */
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.fill", "{}"), 0);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(r.seen->len, ORCHARD_EVENTS_QUEUE_MAX + 1);
    settle();
    recorder_clear(&r);
    gate_clear(&g);
}

static void test_events__byte_budget_and_oversized(void)
{
    gate g;
    int accepted = 0, rc = 0;
    gate_init(&g);
    g_autofree char *big = g_malloc(ORCHARD_EVENTS_JSON_MAX + 2);

    memset(big, ' ', ORCHARD_EVENTS_JSON_MAX + 1);
    big[ORCHARD_EVENTS_JSON_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.big", big), ORCHARD_ETOOBIG);
    big[ORCHARD_EVENTS_JSON_MAX] = '\0'; /* exactly the cap is fine */

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.hold", blocking, &g), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.hold", NULL), 0);
    CU_ASSERT_TRUE_FATAL(gate_wait_started(&g));
    while (accepted < 100 && (rc = orchard_events_publish(ctx_a, "t.big", big)) == 0)
        accepted++;
    CU_ASSERT_EQUAL(rc, ORCHARD_EBUSY);
    CU_ASSERT_TRUE(accepted >= 1);
    CU_ASSERT_TRUE((size_t)accepted <= ORCHARD_EVENTS_QUEUE_BYTES / ORCHARD_EVENTS_JSON_MAX);
    gate_release(&g);
    settle();
    gate_clear(&g);
}

static void test_events__invalid_names(void)
{
    recorder r;
    static const char *const bad[] = {
        "", "A.b", "mdm.Checked", "mdm..x", ".mdm", "mdm.", "*", ".*", "mdm.*.x", "mdm.*x",
        "mdm checked", "mdm-x", "9abc", "mdm.9", "mdm._x", "mdm.\xc3\xa9", "mdm.x\n", "mdm/x",
    };
    static const char *const good[] = {"mdm", "mdm.checked_in", "a.b2.c_d", "settings.changed"};
    char long_name[ORCHARD_EVENTS_NAME_MAX + 2];
    recorder_init(&r);

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, bad[i], "{}"), ORCHARD_EINVAL);
        CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, bad[i], record, &r), ORCHARD_EINVAL);
    }
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, NULL, "{}"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, NULL, record, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "mdm.x", NULL, &r), ORCHARD_EINVAL);
    /* A pattern is for subscribing only. */
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "mdm.*", "{}"), ORCHARD_EINVAL);

    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0'; /* one over the cap */
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, long_name, "{}"), ORCHARD_EINVAL);
    long_name[ORCHARD_EVENTS_NAME_MAX] = '\0';
    CU_ASSERT_TRUE(orchard_events_name_valid(long_name, 0));

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
        CU_ASSERT_TRUE(orchard_events_name_valid(good[i], 0));
    CU_ASSERT_TRUE(orchard_events_name_valid("mdm.*", 1));
    CU_ASSERT_FALSE(orchard_events_name_valid("mdm.*", 0));
    settle();
    CU_ASSERT_EQUAL(r.calls, 0);
    recorder_clear(&r);
}

static void slow_record(orchard_ctx *ctx, const char *name, const char *json, void *payload)
{
    g_usleep(500);
    record(ctx, name, json, payload);
}

static void test_events__flush_stop_delivers_all(void)
{
    recorder r;
    recorder_init(&r);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.slow", slow_record, &r), 0);
    for (int i = 0; i < 300; i++)
        CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.slow", "{}"), 0);
    orchard_events_flush_stop();
    g_mutex_lock(&r.lock);
    CU_ASSERT_EQUAL(r.seen->len, 300);
    g_mutex_unlock(&r.lock);
    orchard_events_flush_stop(); /* again, with no thread: nothing happens */
    /* The next publish starts the thread again. */
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.slow", "{}"), 0);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(r.seen->len, 301);
    settle();
    recorder_clear(&r);
}

static void test_events__forget_stops_delivery(void)
{
    recorder ra, rb;
    recorder_init(&ra);
    recorder_init(&rb);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.f.*", record, &ra), 0);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_b, "t.f.x", record, &rb), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.f.x", NULL), 0);
    orchard_events_flush_stop();
    orchard_events_forget(ctx_a);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.f.x", NULL), 0);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(ra.calls, 1);
    CU_ASSERT_EQUAL(rb.calls, 2); /* another plugin's subscription stays */
    settle();
    recorder_clear(&ra);
    recorder_clear(&rb);
}

/* forget waits for a callback of the plugin that is running right now. */
static atomic_int seq, cb_end_at, forget_end_at;

static void blocking_then_mark(orchard_ctx *ctx, const char *name, const char *json, void *p)
{
    blocking(ctx, name, json, p);
    atomic_store(&cb_end_at, atomic_fetch_add(&seq, 1) + 1);
}

static gpointer forget_a(gpointer p)
{
    (void)p;
    orchard_events_forget(ctx_a);
    atomic_store(&forget_end_at, atomic_fetch_add(&seq, 1) + 1);
    return NULL;
}

static void test_events__forget_waits_for_running_callback(void)
{
    gate g;
    gate_init(&g);
    atomic_store(&seq, 0);
    atomic_store(&cb_end_at, 0);
    atomic_store(&forget_end_at, 0);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.w", blocking_then_mark, &g), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.w", NULL), 0);
    CU_ASSERT_TRUE_FATAL(gate_wait_started(&g));
    GThread *t = g_thread_new("forget", forget_a, NULL);
    g_usleep(100 * 1000); /* give a forget that does not wait the chance to return */
    CU_ASSERT_EQUAL(atomic_load(&forget_end_at), 0);
    gate_release(&g);
    g_thread_join(t);
    CU_ASSERT_TRUE(atomic_load(&cb_end_at) > 0);
    CU_ASSERT_TRUE(atomic_load(&cb_end_at) < atomic_load(&forget_end_at));
    settle();
    gate_clear(&g);
}

#define PUBLISHERS 8
#define PER_PUBLISHER 500

static gpointer publisher(gpointer p)
{
    int t = GPOINTER_TO_INT(p), failures = 0;
    for (int i = 0; i < PER_PUBLISHER; i++) {
        g_autofree char *json = g_strdup_printf("%d %d", t, i);
        failures += orchard_events_publish(ctx_b, "t.many", json) != 0;
    }
    return GINT_TO_POINTER(failures);
}

static void test_events__many_publishers(void)
{
    GThread *threads[PUBLISHERS];
    int failures = 0, next[PUBLISHERS] = {0}, in_order = 1;
    recorder r;
    recorder_init(&r);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.*", record, &r), 0);
    for (int t = 0; t < PUBLISHERS; t++)
        threads[t] = g_thread_new("publisher", publisher, GINT_TO_POINTER(t));
    for (int t = 0; t < PUBLISHERS; t++)
        failures += GPOINTER_TO_INT(g_thread_join(threads[t]));
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL_FATAL(r.seen->len, PUBLISHERS * PER_PUBLISHER);
    /* Each publisher's events arrive in the order it published them. */
    for (guint k = 0; k < r.seen->len; k++) {
        int t = -1, i = -1;
        if (sscanf(seen(&r, k), "t.many %d %d", &t, &i) != 2 || t < 0 || t >= PUBLISHERS ||
            i != next[t]++)
            in_order = 0;
    }
    CU_ASSERT_TRUE(in_order);
    settle();
    recorder_clear(&r);
}

/* A stuck subscriber: flush_stop gives up after its timeout, drops the rest. */
static void test_events__flush_stop_bounded(void)
{
    recorder r;
    gate g;
    recorder_init(&r);
    gate_init(&g);
    unsigned old = orchard_events_set_flush_timeout_ms(200);

    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.stuck", blocking, &g), 0);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_b, "t.after", record, &r), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.stuck", NULL), 0);
    CU_ASSERT_TRUE_FATAL(gate_wait_started(&g));
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.after", "{\"dropped\":1}"), 0);
    orchard_log_set_level(-1); /* the abandon is logged as an error */
    orchard_events_flush_stop(); /* returns although the callback has not */
    orchard_log_set_level(ORCHARD_LOG_ERROR);
    CU_ASSERT_EQUAL(atomic_load(&g.finished), 0);
    gate_release(&g);
    /* A new thread serves later events; the dropped ones never arrive. */
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_a, "t.after", "{\"later\":1}"), 0);
    orchard_events_set_flush_timeout_ms(old);
    orchard_events_flush_stop();
    orchard_events_forget(ctx_a); /* waits for the abandoned callback to return */
    CU_ASSERT_EQUAL(atomic_load(&g.finished), 1);
    CU_ASSERT_EQUAL(r.seen->len, 1);
    CU_ASSERT_STRING_EQUAL(seen(&r, 0), "t.after {\"later\":1}");
    settle();
    recorder_clear(&r);
    gate_clear(&g);
}

/* A callback may publish, subscribe and call flush_stop (ignored). */
static recorder chained;

static void chain(orchard_ctx *ctx, const char *name, const char *json, void *payload)
{
    (void)name;
    (void)json;
    (void)payload;
    orchard_events_flush_stop();
    orchard_events_subscribe(ctx, "t.chain.second", record, &chained);
    orchard_events_publish(ctx, "t.chain.second", "{\"from\":\"callback\"}");
}

static void test_events__callback_reenters(void)
{
    recorder_init(&chained);
    CU_ASSERT_EQUAL(orchard_events_subscribe(ctx_a, "t.chain.first", chain, NULL), 0);
    CU_ASSERT_EQUAL(orchard_events_publish(ctx_b, "t.chain.first", NULL), 0);
    orchard_events_flush_stop(); /* drains the event published from the callback too */
    CU_ASSERT_EQUAL(chained.calls, 1);
    CU_ASSERT_STRING_EQUAL(seen(&chained, 0), "t.chain.second {\"from\":\"callback\"}");
    CU_ASSERT_PTR_EQUAL(chained.ctx_seen, ctx_a);
    settle();
    recorder_clear(&chained);
}

void events_suite(void)
{
    ORCHARD_ADD_SUITE("events", suite_init, suite_cleanup,
                      {"exact_and_prefix", test_events__exact_and_prefix},
                      {"not_on_publisher_thread", test_events__not_on_publisher_thread},
                      {"order_preserved", test_events__order_preserved},
                      {"json_copied", test_events__json_copied},
                      {"queue_full", test_events__queue_full},
                      {"byte_budget_and_oversized", test_events__byte_budget_and_oversized},
                      {"invalid_names", test_events__invalid_names},
                      {"flush_stop_delivers_all", test_events__flush_stop_delivers_all},
                      {"forget_stops_delivery", test_events__forget_stops_delivery},
                      {"forget_waits_for_running_callback",
                       test_events__forget_waits_for_running_callback},
                      {"many_publishers", test_events__many_publishers},
                      {"flush_stop_bounded", test_events__flush_stop_bounded},
                      {"callback_reenters", test_events__callback_reenters});
}

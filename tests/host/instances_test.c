/* Several instances on one store (host/instances/): leases between two
 * holders on a clock of the test's own, the registry's row, heartbeat,
 * reaping and clean stop, fingerprints compared with an older instance's
 * (held, allowed mixed, agreeing again), the view, and the hold as a 503
 * through the real HTTP server. Every case runs on every store backend.
 * The "other" instances are rows the test writes, as another process would. */
#include "tests/suites.h"

#include "host/http/http_guard.h"
#include "host/instances/instances.h"
#include "host/jobs/job_record.h"
#include "host/jobs/jobs.h"
#include "host/plugins/registry.h"
#include "host/instances/instances_store.h"
#include "host/instances/leases.h"
#include "host/store/store.h"
#include "tests/host/guard_fixture.h"
#include "tests/host/store_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#define T0 1800000000000LL /* a fixed clock, Unix ms */
#define TTL 3000
#define FP_A "{\"mdm.apple_scep_challenge\":\"aaaa\",\"mdm.apple_apns_topic\":\"t1\"}"
#define FP_B "{\"mdm.apple_scep_challenge\":\"bbbb\",\"mdm.apple_apns_topic\":\"t1\"}"

/* ---- helpers: what another instance would write */

static int other_instance(const char *id, int64_t started_at, int64_t heartbeat,
                          const char *gate, const char *json)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_instances_migrate();
    if (rc == 0)
        rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    rc = orchard_instance_row_put(tx, id, "http://other:1", "0.0.9", started_at, heartbeat);
    if (rc == 0 && gate)
        rc = orchard_instance_fingerprint_put(tx, id, gate, json, heartbeat);
    if (rc != 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

static int64_t count(const char *sql, const char *text)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int64_t n = NO_ROW;
    if (orchard_store_begin(&tx, 0) != 0)
        return NO_ROW;
    if (orchard_stmt_prepare(tx, sql, &st) == 0 &&
        (!text || orchard_stmt_bind_text(st, 1, text) == 0) &&
        orchard_stmt_step(st) == 1)
        n = orchard_stmt_column_int(st, 0);
    orchard_store_rollback(tx);
    return n;
}

static char *names_of(const char *holder, int64_t now)
{
    orchard_store_tx *tx = NULL;
    char *names = NULL;
    if (orchard_store_begin(&tx, 0) == 0) {
        orchard_lease_names(tx, holder, now, &names);
        orchard_store_rollback(tx);
    }
    return names;
}

static int with_write(int (*fn)(orchard_store_tx *, const char *, int64_t), const char *holder,
                      int64_t now)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    if ((rc = fn(tx, holder, now)) < 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    int crc = orchard_store_commit(tx);
    return crc ? crc : rc; /* what fn returned: renew counts the leases */
}

static int renew(orchard_store_tx *tx, const char *holder, int64_t now)
{
    return orchard_lease_renew_all(tx, holder, now, TTL);
}

static int release(orchard_store_tx *tx, const char *holder, int64_t now)
{
    (void)now;
    return orchard_lease_release_all(tx, holder);
}

static orchard_instances_view view_of(const char *json, int *rc)
{
    orchard_instances_view v = {.abi_version = ORCHARD_ABI_VERSION, .struct_size = sizeof v};
    *rc = orchard_instances_get(NULL, "mdm", json, &v);
    return v;
}

/* ---- leases */

STORE_TEST(test_instances__lease_between_two_holders)
{
    (void)f;
    CU_ASSERT_EQUAL_FATAL(orchard_instances_migrate(), 0);
    /* Free: a takes it; b cannot while it lasts; a keeps it. */
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "a", T0, TTL), 1);
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "b", T0 + 1, TTL), 0);
    /* Ours with half the time to go: yes, answered by a read (not extended). */
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "a", T0 + 1000, TTL), 1);
    CU_ASSERT_EQUAL(count("SELECT expires_at FROM orchard_leases WHERE name = ?", "apns.push"),
                    T0 + TTL);
    /* Less than half: taken again by the write, until T0 + 2000 + TTL. */
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "a", T0 + 2000, TTL), 1);
    CU_ASSERT_EQUAL(count("SELECT expires_at FROM orchard_leases WHERE name = ?", "apns.push"),
                    T0 + 2000 + TTL);
    /* Sticky: a's heartbeat renews it, so b still cannot past the first ttl. */
    CU_ASSERT_EQUAL(with_write(renew, "a", T0 + 4000), 1);
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "b", T0 + 6500, TTL), 0);
    g_autofree char *held = orchard_lease_holder("apns.push", T0 + 6500);
    CU_ASSERT_STRING_EQUAL(held, "a");
    /* a dies (no renewal): b takes it once it expired, and a has lost it. */
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "b", T0 + 7000, TTL), 0); /* == expiry */
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "b", T0 + 7001, TTL), 1);
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "a", T0 + 7002, TTL), 0);
    /* Leases are per job name. */
    CU_ASSERT_EQUAL(orchard_lease_acquire("dep.sync", "a", T0 + 7002, TTL), 1);
    g_autofree char *a_names = names_of("a", T0 + 7002);
    g_autofree char *b_names = names_of("b", T0 + 7002);
    CU_ASSERT_STRING_EQUAL(a_names, "dep.sync");
    CU_ASSERT_STRING_EQUAL(b_names, "apns.push");
    /* A clean stop gives them back: the other takes them at once. */
    CU_ASSERT_EQUAL(with_write(release, "b", 0), 0);
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "a", T0 + 7003, TTL), 1);
    g_autofree char *none = names_of("b", T0 + 7003);
    CU_ASSERT_STRING_EQUAL(none, "");
    /* Bad arguments. */
    CU_ASSERT_EQUAL(orchard_lease_acquire(NULL, "a", T0, TTL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_lease_acquire("x", NULL, T0, TTL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_lease_acquire("x", "a", T0, 0), ORCHARD_EINVAL);
}

/* ---- the registry */

STORE_TEST(test_instances__register_heartbeat_reap_stop)
{
    const char *id = orchard_instances_id();
    int64_t now = orchard_instances_now_ms();
    (void)f;

    CU_ASSERT(strlen(id) > 0 && strlen(id) <= 63);
    CU_ASSERT_PTR_NOT_NULL(strchr(id, '-'));
    CU_ASSERT_EQUAL_FATAL(orchard_instances_start("http://127.0.0.1:9"), 0);
    CU_ASSERT_EQUAL(orchard_instances_start("http://127.0.0.1:9"), ORCHARD_EEXIST);
    CU_ASSERT(orchard_instances_registered());
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instances WHERE id = ?", id), 1);
    /* A dead instance (heartbeat older than twice the lease) with a lease and settings. */
    CU_ASSERT_EQUAL(other_instance("dead-1", now - 120000, now - 31000, "mdm", "{\"k\":\"1\"}"), 0);
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", "dead-1", now - 31000, TTL), 1);
    /* A live one. */
    CU_ASSERT_EQUAL(other_instance("live-1", now - 60000, now, NULL, NULL), 0);
    orchard_instances_heartbeat();
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instances WHERE id = ?", "dead-1"), 0);
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instance_settings WHERE instance_id = ?",
                          "dead-1"), 0);
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instances WHERE id = ?", "live-1"), 1);
    /* The dead one's lease simply expired: ours now. */
    CU_ASSERT_EQUAL(orchard_lease_acquire("apns.push", id, orchard_instances_now_ms(),
                                          orchard_instances_lease_ms()), 1);
    /* Our row dropped by another instance (a long stall): the heartbeat makes it again. */
    CU_ASSERT_EQUAL(write_sql("DELETE FROM orchard_instances", 0, 0, 0), 0);
    orchard_instances_heartbeat();
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instances WHERE id = ?", id), 1);
    int rc;
    orchard_instances_view v = view_of(NULL, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(v.live, 1); /* live-1 went with the DELETE */
    CU_ASSERT_STRING_EQUAL(v.instance_id, id);
    /* A clean stop: row and leases gone at once. */
    orchard_instances_stop();
    CU_ASSERT_FALSE(orchard_instances_registered());
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instances WHERE id = ?", id), 0);
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_leases WHERE holder = ?", id), 0);
    orchard_instances_stop(); /* twice is fine */
}

STORE_TEST(test_instances__lease_setting_checked)
{
    (void)f;
    config_set("server.lease_duration", "3s");
    CU_ASSERT_EQUAL(orchard_instances_lease_ms(), 3000);
    config_set("server.lease_duration", "10m");
    CU_ASSERT_EQUAL(orchard_instances_lease_ms(), 600000);
    static const char *const bad[] = {"2s", "11m", "-5s", "soon", "0"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        config_set("server.lease_duration", bad[i]);
        CU_ASSERT_EQUAL(orchard_instances_lease_ms(), ORCHARD_LEASE_DEFAULT_MS);
    }
    config_set("server.lease_duration", NULL);
    CU_ASSERT_EQUAL(orchard_instances_lease_ms(), ORCHARD_LEASE_DEFAULT_MS);
}

/* ---- the lease hook under the scheduler */

static atomic_int lease_job_runs;

static int lease_job_run(orchard_ctx *ctx, void *payload)
{
    (void)ctx;
    (void)payload;
    atomic_fetch_add(&lease_job_runs, 1);
    return 0;
}

static const orchard_job lease_job = {ORCHARD_STRUCT_HEADER(orchard_job), .name = "t.lease",
                                      .run2 = lease_job_run, .flags = ORCHARD_JOB_ONE_INSTANCE};
static const orchard_job *const lease_jobs[] = {&lease_job};
static const orchard_plugin lease_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "lease-test", .version = "1",
    .description = "one one-instance job", .jobs = lease_jobs, .n_jobs = 1};

static int lease_plugin_entry(const orchard_host_api *api, const orchard_plugin **out)
{
    (void)api;
    *out = &lease_plugin;
    return 0;
}

static char *outcome_of(const char *name)
{
    g_autoptr(GPtrArray) recs = orchard_jobs_records();
    for (guint i = 0; i < recs->len; i++) {
        const orchard_job_record *r = g_ptr_array_index(recs, i);
        if (strcmp(r->name, name) == 0)
            return g_strdup(r->last_outcome);
    }
    return NULL;
}

/* Queue the job and wait (at most 10 s) until it ran `want_runs` times in
 * all, or, for 0, until its first outcome (a skip) is recorded. */
static int run_once(orchard_ctx *ctx, int want_runs)
{
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    orchard_jobs_queue(ctx, "t.lease");
    for (;;) {
        g_autofree char *outcome = outcome_of("t.lease");
        int done = want_runs ? atomic_load(&lease_job_runs) >= want_runs : outcome != NULL;
        if (done && orchard_jobs_state("t.lease") == 0)
            return 1;
        if (g_get_monotonic_time() > until)
            return 0;
        g_usleep(10 * 1000);
    }
}

/* The scheduler asks the registry's hook: a job whose lease another live
 * instance holds is skipped here, and runs once that instance lets go. */
STORE_TEST(test_instances__scheduler_asks_the_lease)
{
    orchard_registry *saved = orchard_registry_global(), *reg = orchard_registry_new();
    g_autofree char *err = NULL;
    (void)f;

    CU_ASSERT_EQUAL_FATAL(orchard_registry_add_builtin(reg, lease_plugin_entry, &err), 0);
    orchard_registry_set_global(reg);
    orchard_ctx *ctx = orchard_registry_ctx_of(reg, &lease_job);
    atomic_store(&lease_job_runs, 0);
    CU_ASSERT_EQUAL_FATAL(orchard_instances_start("http://127.0.0.1:9"), 0);
    CU_ASSERT_EQUAL(orchard_lease_acquire("t.lease", "other-1", orchard_instances_now_ms(),
                                          ORCHARD_LEASE_DEFAULT_MS), 1);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT(run_once(ctx, 0));
    CU_ASSERT_EQUAL(atomic_load(&lease_job_runs), 0);
    g_autofree char *skipped = outcome_of("t.lease");
    CU_ASSERT_STRING_EQUAL(skipped, "skipped: lease held elsewhere");
    /* other-1 stops cleanly: ours at the next run, and it stays ours. */
    CU_ASSERT_EQUAL(with_write(release, "other-1", 0), 0);
    CU_ASSERT(run_once(ctx, 1));
    CU_ASSERT(run_once(ctx, 2));
    g_autofree char *holder = orchard_lease_holder("t.lease", orchard_instances_now_ms());
    CU_ASSERT_STRING_EQUAL(holder, orchard_instances_id());
    CU_ASSERT_EQUAL(orchard_lease_acquire("t.lease", "other-1", orchard_instances_now_ms(),
                                          ORCHARD_LEASE_DEFAULT_MS), 0);
    /* Held (our settings differ from an older instance's): no run, and the
     * heartbeat stops renewing the lease, so the others get it. */
    int64_t now = orchard_instances_now_ms();
    CU_ASSERT_EQUAL(other_instance("ref-9", now - 60000, now, "mdm", FP_A), 0);
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, "mdm", FP_B, 0), 0);
    int64_t expires = count("SELECT expires_at FROM orchard_leases WHERE name = ?", "t.lease");
    g_usleep(20 * 1000);
    orchard_instances_heartbeat();
    CU_ASSERT_EQUAL(count("SELECT expires_at FROM orchard_leases WHERE name = ?", "t.lease"),
                    expires);
    orchard_jobs_queue(ctx, "t.lease");
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    for (;;) {
        g_autofree char *o = outcome_of("t.lease");
        if ((o && strcmp(o, "skipped: lease held elsewhere") == 0 &&
             orchard_jobs_state("t.lease") == 0) || g_get_monotonic_time() > until)
            break;
        g_usleep(10 * 1000);
    }
    g_autofree char *held_outcome = outcome_of("t.lease");
    CU_ASSERT_STRING_EQUAL(held_outcome, "skipped: lease held elsewhere");
    CU_ASSERT_EQUAL(atomic_load(&lease_job_runs), 2);
    orchard_jobs_stop();
    orchard_instances_stop();
    /* Our clean stop gave it back. */
    g_autofree char *after = orchard_lease_holder("t.lease", orchard_instances_now_ms());
    CU_ASSERT_PTR_NULL(after);
    orchard_registry_free(reg);
    orchard_registry_set_global(saved);
}

/* ---- fingerprints */


STORE_TEST(test_instances__fingerprints_hold_and_release)
{
    int64_t now = orchard_instances_now_ms();
    int rc;
    (void)f;

    CU_ASSERT_EQUAL_FATAL(orchard_instances_start("http://127.0.0.1:9"), 0);
    /* An older instance published A; we publish B: held, naming the key. */
    CU_ASSERT_EQUAL(other_instance("ref-1", now - 60000, now, "mdm", FP_A), 0);
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, "mdm", FP_B, 0), 0);
    orchard_instances_view v = view_of(NULL, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(v.live, 2);
    CU_ASSERT_EQUAL(v.published, 2);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT(v.held);
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "mdm.apple_scep_challenge");
    CU_ASSERT_STRING_EQUAL(v.reference_id, "ref-1");
    /* Stored canonical, under our id. */
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instance_settings WHERE instance_id = ?",
                          orchard_instances_id()), 1);
    /* Mixed settings allowed: not held, still not agreeing. */
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, "mdm", FP_B, ORCHARD_INSTANCE_ALLOW_MIXED), 0);
    v = view_of(NULL, &rc);
    CU_ASSERT_FALSE(v.held);
    CU_ASSERT_FALSE(v.agree);
    /* The reference changes its settings to ours: the next heartbeat releases us. */
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, "mdm", FP_B, 0), 0);
    CU_ASSERT(view_of(NULL, &rc).held);
    CU_ASSERT_EQUAL(
        other_instance("ref-1", now - 60000, orchard_instances_now_ms(), "mdm", FP_B), 0);
    orchard_instances_heartbeat();
    v = view_of(NULL, &rc);
    CU_ASSERT(v.agree);
    CU_ASSERT_FALSE(v.held);
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "");
    /* A given fingerprint (config check) compares that one instead. */
    v = view_of(FP_A, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT(v.held); /* an instance with it would be held */
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "mdm.apple_scep_challenge");
    v = view_of(FP_B, &rc);
    CU_ASSERT(v.agree);
    CU_ASSERT_FALSE(v.held);
    /* Hostile input through the host API. */
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, "mdm", "[1]", 0), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, "mdm", "{\"a\":1}", 0), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, "MDM!", FP_A, 0), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_instance_settings(NULL, NULL, FP_A, 0), ORCHARD_EINVAL);
    v = view_of("{\"a\":", &rc);
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    orchard_instances_view small = {.abi_version = ORCHARD_ABI_VERSION, .struct_size = 8};
    CU_ASSERT_EQUAL(orchard_instances_get(NULL, "mdm", NULL, &small), ORCHARD_EINVAL);
    /* The refused ones changed nothing. */
    CU_ASSERT_FALSE(view_of(NULL, &rc).held);
    orchard_instances_stop();
    CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM orchard_instance_settings WHERE instance_id = ?",
                          orchard_instances_id()), 0);
}

/* Outside serve: the view reads the live instances; no store: ENOTCONFIGURED. */
STORE_TEST(test_instances__view_outside_serve)
{
    int64_t now = orchard_instances_now_ms();
    int rc;
    (void)f;

    orchard_instances_view v = view_of(NULL, &rc);
    CU_ASSERT_EQUAL(rc, 0); /* no tables yet: no instances */
    CU_ASSERT_EQUAL(v.live, 0);
    CU_ASSERT(v.agree);
    CU_ASSERT_EQUAL(other_instance("x-1", now - 2000, now, "mdm", FP_A), 0);
    CU_ASSERT_EQUAL(other_instance("x-2", now - 1000, now, "mdm", FP_B), 0);
    v = view_of(NULL, &rc);
    CU_ASSERT_EQUAL(v.live, 2);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT_FALSE(v.held);
    CU_ASSERT_STRING_EQUAL(v.reference_id, "x-1");
    CU_ASSERT_STRING_EQUAL(v.instance_id, "");
    orchard_store_close();
    config_set("store.sqlite", NULL);
    config_set("store.postgres", NULL);
    v = view_of(NULL, &rc);
    CU_ASSERT_EQUAL(rc, ORCHARD_ENOTCONFIGURED);
    CU_ASSERT_EQUAL_FATAL(open_target(f->target), 0);
}

/* The hold as the HTTP server answers it: 503 with the differing key, on
 * an open gate only; a closed gate still says 404. Serve registers the
 * instance itself. */
STORE_TEST(test_instances__hold_answers_503)
{
    int64_t now = orchard_instances_now_ms();
    guard_response r = {0};
    (void)f;

    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm", 1, NULL), 0);
    CU_ASSERT_EQUAL(other_instance("ref-1", now - 60000, now, "mdm", FP_A), 0);
    CU_ASSERT_EQUAL(guard_host->instance_settings(guard_ctx, "mdm", FP_B, 0), 0);
    guard_server *s = guard_server_start();
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(orchard_instances_registered());
    guard_get(guard_server_url(s), "/gated", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body->str,
                                  "\"message\":\"this instance's MDM settings differ from the "
                                  "other instances' (mdm.apple_scep_challenge)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body->str, "ref-1"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "bbbb")); /* a digest is not shown */
    guard_response_clear(&r);
    /* Routes without the gate serve on. */
    guard_get(guard_server_url(s), "/open", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    guard_response_clear(&r);
    /* Closed beats held. */
    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm", 0, "MDM is off"), 0);
    guard_get(guard_server_url(s), "/gated", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm", 1, NULL), 0);
    /* Agreeing again releases the gate at once. */
    CU_ASSERT_EQUAL(guard_host->instance_settings(guard_ctx, "mdm", FP_A, 0), 0);
    guard_get(guard_server_url(s), "/gated", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
    /* Serve's stop unregistered us and released the holds. */
    CU_ASSERT_FALSE(orchard_instances_registered());
    CU_ASSERT_EQUAL(orchard_http_gate_hold("mdm", NULL), 0);
    CU_ASSERT_EQUAL(orchard_http_gate_hold("Bad Gate", "x"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm", 0, "not configured"), 0);
    CU_ASSERT_EQUAL_FATAL(open_target(f->target), 0); /* serve closed it; the fixture closes it */
}

void instances_suite(void)
{
    ORCHARD_ADD_SUITE("instances", guard_fixture_init, guard_fixture_cleanup,
                      {"test_instances__lease_between_two_holders",
                       test_instances__lease_between_two_holders},
                      {"test_instances__register_heartbeat_reap_stop",
                       test_instances__register_heartbeat_reap_stop},
                      {"test_instances__lease_setting_checked",
                       test_instances__lease_setting_checked},
                      {"test_instances__scheduler_asks_the_lease",
                       test_instances__scheduler_asks_the_lease},
                      {"test_instances__fingerprints_hold_and_release",
                       test_instances__fingerprints_hold_and_release},
                      {"test_instances__view_outside_serve", test_instances__view_outside_serve},
                      {"test_instances__hold_answers_503", test_instances__hold_answers_503});
}

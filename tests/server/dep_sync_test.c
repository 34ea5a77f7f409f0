/* dep_sync: the DEP sync (server_plugin/dep/dep_sync.c, store_dep.c,
 * dep_profile.c) against the ABM simulator (dep_fixture) on a fresh store
 * per case (SQLite; PostgreSQL as dep_sync_postgres): a full fetch across
 * pages then sync of added / modified / deleted, dedupe and op order within
 * a page, every cursor error, THROTTLED's wait, T_C_NOT_SIGNED, an expired
 * token, 5xx, and the profile's assignment (new devices only, failures
 * retried on the next run). The DEP profile itself: dep_profile_test.c. */
#include "server_plugin/dep/dep_sync.h"
#include "server_plugin/server.h"
#include "tests/server/dep_fixture.h"
#include "tests/server/dep_sync_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/reconcile_fixture.h"
#include "tests/suites.h"

#include <stdio.h>
#include <string.h>

/* ---- fetch, sync, the store's view of Apple's ops ------------------------------------ */

static void test_full_fetch_then_sync(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    seen_progress sp = {.monotonic = 1};
    CU_ASSERT_EQUAL_FATAL(dsfx_sync_at(c, T0, &run, NULL, &sp), 0);
    CU_ASSERT_STRING_EQUAL(run.kind, "fetch");
    CU_ASSERT_EQUAL(run.pages, 3);
    CU_ASSERT_EQUAL(run.fetched, SIM_DEVICES);
    CU_ASSERT_EQUAL(run.added, SIM_DEVICES);
    CU_ASSERT_EQUAL(run.assigned, SIM_DEVICES);
    CU_ASSERT(sp.calls >= 4 && sp.monotonic); /* a call per page, and per assign call */
    CU_ASSERT_EQUAL(dsfx_live(), SIM_DEVICES);
    g_autofree char *phase = dsfx_state(ORCHARD_DEP_KEY_PHASE);
    CU_ASSERT_STRING_EQUAL(phase, "sync");
    /* The run's row says the same, finished. */
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_sync_runs WHERE kind = 'fetch' AND "
                            "finished_at IS NOT NULL AND pages = 3 AND fetched = 250 AND "
                            "added = 250 AND assigned = 250 AND error IS NULL AND "
                            "cursor_age IS NULL", NULL), 1);
    g_autofree char *uuid = dsfx_state(ORCHARD_DEP_KEY_PROFILE_UUID);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_devices WHERE profile_uuid = ? AND "
                            "assign_status = 'SUCCESS' AND assign_attempts = 1 AND "
                            "profile_assigned_at = 1800000000", uuid, NULL), SIM_DEVICES);
    orchard_dep_run_clear(&run);

    /* Changes on Apple's side: 3 added, 2 modified, 1 deleted. */
    char **added = dsfx_serials_of(dfx_control("devices/add", "{\"count\": 3}"), "added");
    g_autofree char *first = dsfx_first_serial();
    g_autofree char *mod = g_strdup_printf("{\"serials\": [\"%s\", \"%s\"], \"set\": "
                                           "{\"model\": \"MacBook Neo\", \"color\": \"teal\"}}",
                                           first, added[0]);
    dfx_say("devices/modify", mod);
    g_autofree char *del = g_strdup_printf("{\"serials\": [\"%s\"]}", added[1]);
    dfx_say("devices/delete", del);
    dsfx_sync_ok(c, T0 + 60, &run);
    CU_ASSERT_STRING_EQUAL(run.kind, "sync");
    CU_ASSERT_EQUAL(run.cursor_age, 60);
    CU_ASSERT_EQUAL(run.added, 3);
    CU_ASSERT_EQUAL(run.deleted, 1);
    /* 250 assignments (Apple logs each as modified), the 2 set, and the added then
     * modified one. */
    CU_ASSERT_EQUAL(run.modified, SIM_DEVICES + 2);
    CU_ASSERT_EQUAL(run.assigned, 2); /* the two new, live ones: nothing else */
    CU_ASSERT_EQUAL(dsfx_live(), SIM_DEVICES + 2);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_devices", NULL), SIM_DEVICES + 3);
    g_autofree char *model = dsfx_field(first, "model");
    g_autofree char *color = dsfx_field(added[0], "color");
    g_autofree char *op = dsfx_field(added[1], "op_type");
    g_autofree char *gone = dsfx_field(added[1], "deleted");
    g_autofree char *never = dsfx_field(added[1], "assign_status");
    CU_ASSERT_STRING_EQUAL(model, "MacBook Neo");
    CU_ASSERT_STRING_EQUAL(color, "teal");
    CU_ASSERT_STRING_EQUAL(op, "deleted");
    CU_ASSERT_STRING_EQUAL(gone, "1");
    CU_ASSERT_PTR_NULL(never);
    orchard_dep_run_clear(&run);

    /* Nothing changed but the 2 assignments: no assign call at all. */
    gint64 assigns = dfx_calls("assign");
    dsfx_sync_ok(c, T0 + 120, &run);
    CU_ASSERT_EQUAL(run.added + run.deleted, 0);
    CU_ASSERT_EQUAL(run.modified, 2);
    CU_ASSERT_EQUAL(run.assigned, 0);
    CU_ASSERT_EQUAL(dfx_calls("assign"), assigns);
    orchard_dep_run_clear(&run);
    g_strfreev(added);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void test_dedupe_and_order(void)
{
    dsfx_fresh();
    orchard_dep_run run = {0};
    gint64 skipped = 0;
    /* Out of order in the page: applied by op_date, so the modify wins. */
    orchard_dep_record page1[] = {dsfx_rec("S1", "modified", T0 + 2, "B"),
                                  dsfx_rec("S1", "added", T0 + 1, "A"),
                                  dsfx_rec("S2", "added", T0 + 1, "X")};
    CU_ASSERT_EQUAL_FATAL(dsfx_apply(page1, 3, &run, &skipped), 0);
    CU_ASSERT_EQUAL(skipped, 0);
    CU_ASSERT_EQUAL(run.added, 2);
    CU_ASSERT_EQUAL(run.modified, 1);
    CU_ASSERT_EQUAL(run.pages, 1);
    CU_ASSERT_EQUAL(run.fetched, 3);
    g_autofree char *m = dsfx_field("S1", "model");
    g_autofree char *op = dsfx_field("S1", "op_type");
    CU_ASSERT_STRING_EQUAL(m, "B");
    CU_ASSERT_STRING_EQUAL(op, "modified");
    /* The same ops again (a resumed run, Apple repeating itself), and one older
     * than the row: skipped, nothing counted. */
    orchard_dep_record again[] = {dsfx_rec("S1", "modified", T0 + 2, "C"),
                                  dsfx_rec("S1", "added", T0 + 1, "D"),
                                  dsfx_rec("S2", "added", T0 + 1, "Y")};
    memset(&run, 0, sizeof run);
    CU_ASSERT_EQUAL_FATAL(dsfx_apply(again, 3, &run, &skipped), 0);
    CU_ASSERT_EQUAL(skipped, 3);
    CU_ASSERT_EQUAL(run.added + run.modified + run.deleted, 0);
    g_free(m);
    m = dsfx_field("S1", "model");
    CU_ASSERT_STRING_EQUAL(m, "B");
    /* Deleted then added again in one page, given in reverse: live, re-added. */
    orchard_dep_record back[] = {dsfx_rec("S2", "added", T0 + 9, NULL),
                                 dsfx_rec("S2", "deleted", T0 + 8, NULL)};
    memset(&run, 0, sizeof run);
    CU_ASSERT_EQUAL_FATAL(dsfx_apply(back, 2, &run, &skipped), 0);
    CU_ASSERT_EQUAL(run.deleted, 1);
    CU_ASSERT_EQUAL(run.added, 1);
    g_autofree char *del = dsfx_field("S2", "deleted");
    g_autofree char *kept = dsfx_field("S2", "model");
    CU_ASSERT_STRING_EQUAL(del, "0");
    CU_ASSERT_STRING_EQUAL(kept, "X"); /* a record without a model keeps it */
    /* A deleted op carries no profile_status: the stored profile stays. */
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_devices WHERE profile_status = 'empty'",
                            NULL), 2);
    /* The cursor and phase went with the page. */
    g_autofree char *cur = dsfx_state(ORCHARD_DEP_KEY_CURSOR);
    CU_ASSERT_STRING_EQUAL(cur, "c1");
    /* Hostile: a record without a serial stores nothing of the page. */
    orchard_dep_record bad[] = {dsfx_rec("S3", "added", T0, "Z"), dsfx_rec("", "added", T0, "Z")};
    bad[1].serial_number = NULL;
    CU_ASSERT_EQUAL(dsfx_apply(bad, 2, &run, NULL), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(dsfx_field("S3", "model"));
    /* An empty page still moves the cursor. */
    orchard_dep_page p = {.records = NULL, .n = 0, .cursor = "c2", .phase = "sync", .now = T0};
    CU_ASSERT_EQUAL(orchard_store_dep_page_apply(&p, 0, &run, NULL), 0);
    g_free(cur);
    cur = dsfx_state(ORCHARD_DEP_KEY_CURSOR);
    CU_ASSERT_STRING_EQUAL(cur, "c2");
    dsfx_done();
}

/* Apple's page as records: what is not Apple's shape is left out or absent. */
static void test_page_records_hostile(void)
{
    g_autofree char *big = g_strnfill(ORCHARD_DEP_FIELD_MAX + 1, 'x');
    g_autofree char *text = g_strdup_printf(
        "{\"cursor\": \"c\", \"devices\": ["
        "{\"serial_number\": \"A\", \"op_type\": \"added\", "
        "\"op_date\": \"2026-12-06T10:00:00+02:00\", \"model\": 5, \"color\": \"\"},"
        "{\"serial_number\": \"B\", \"op_type\": \"DROP TABLE dep_devices\"},"
        "{\"serial_number\": 7},"
        "{\"model\": \"no serial\"},"
        "\"not an object\", null, [],"
        "{\"serial_number\": \"C\", \"op_type\": null, \"op_date\": \"yesterday\", "
        "\"description\": \"%s\"},"
        "{\"serial_number\": \"D\", \"op_type\": 3},"
        "{\"serial_number\": \"E\", \"op_type\": \"%s\"},"
        "{\"serial_number\": \"F\", \"op_type\": \"\", \"op_date\": "
        "\"2026-12-06T08:00:00Z\"}]}", big, big);
    json_t *page = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(page);
    orchard_dep_record *r = NULL;
    size_t n = 0, dropped = 0;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_page_records(page, &r, &n, &dropped), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(dropped, 8);
    CU_ASSERT_STRING_EQUAL(r[0].serial_number, "A");
    CU_ASSERT_EQUAL(r[0].op_date_unix, 1796544000); /* 08:00 UTC */
    CU_ASSERT_PTR_NULL(r[0].model);
    CU_ASSERT_PTR_NULL(r[0].color);
    CU_ASSERT_STRING_EQUAL(r[1].serial_number, "C");
    CU_ASSERT_PTR_NULL(r[1].op_type);       /* a fetch's device: added */
    CU_ASSERT_EQUAL(r[1].op_date_unix, 0);  /* not a date */
    CU_ASSERT_PTR_NULL(r[1].description);   /* over the cap */
    CU_ASSERT_STRING_EQUAL(r[2].serial_number, "F");
    CU_ASSERT_EQUAL(r[2].op_date_unix, 1796544000);
    g_free(r);
    json_decref(page);
    /* Not a page at all. */
    const char *bad[] = {"[]", "{\"devices\": {}}", "{\"devices\": \"x\"}", "7"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        CU_ASSERT_EQUAL(orchard_dep_page_records(j, &r, &n, &dropped), ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(r);
        json_decref(j);
    }
    /* No devices: an empty page. */
    json_t *empty = json_pack("{s:s}", "cursor", "c");
    CU_ASSERT_EQUAL(orchard_dep_page_records(empty, &r, &n, &dropped), 0);
    CU_ASSERT_EQUAL(n + dropped, 0);
    g_free(r);
    json_decref(empty);
    /* The records as stored: undated C never beats a dated row, but is new. */
    dsfx_fresh();
    page = json_loads(text, 0, NULL);
    orchard_dep_page_records(page, &r, &n, &dropped);
    orchard_dep_run run = {0};
    CU_ASSERT_EQUAL(dsfx_apply(r, n, &run, NULL), 0);
    CU_ASSERT_EQUAL(run.added, 3);
    CU_ASSERT_EQUAL(dsfx_live(), 3);
    g_free(r);
    json_decref(page);
    dsfx_done();
}

/* ---- cursors ------------------------------------------------------------------------ */

static void test_exhausted_switches_to_sync(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    dsfx_sync_ok(c, T0, &run);
    orchard_dep_run_clear(&run);
    /* As if the last fetch page's phase had not been stored: Apple says the
     * fetch is complete, and the run syncs from the same cursor. */
    rfx_sql("UPDATE server_state SET value = 'fetch' WHERE key = 'dep.phase'", NULL);
    gint64 fetches = dfx_calls("fetch"), syncs = dfx_calls("sync");
    dsfx_sync_ok(c, T0 + 60, &run);
    CU_ASSERT_STRING_EQUAL(run.kind, "sync");
    CU_ASSERT_EQUAL(dfx_calls("fetch"), fetches + 1);
    CU_ASSERT(dfx_calls("sync") > syncs);
    g_autofree char *phase = dsfx_state(ORCHARD_DEP_KEY_PHASE);
    CU_ASSERT_STRING_EQUAL(phase, "sync");
    CU_ASSERT_EQUAL(dsfx_live(), SIM_DEVICES);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void refetch_after(const char *how)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    dsfx_sync_ok(c, T0, &run);
    orchard_dep_run_clear(&run);
    char **added = dsfx_serials_of(dfx_control("devices/add", "{\"count\": 2}"), "added");
    /* Deleted while the cursor is lost: no deleted op will say so, the
     * refetch must notice the device is no longer listed. */
    g_autofree char *gone = dsfx_first_serial();
    g_autofree char *del = g_strdup_printf("{\"serials\": [\"%s\"]}", gone);
    dfx_say("devices/delete", del);
    if (strcmp(how, "expired") == 0)
        dfx_say("expire_cursors", "{}");
    else
        rfx_sql("UPDATE server_state SET value = 'deadbeef' WHERE key = 'dep.cursor'", NULL);
    gint64 fetches = dfx_calls("fetch");
    dsfx_sync_ok(c, T0 + 60, &run);
    /* Fetched from the start: every device once, the rows kept, the new ones
     * in, the one no longer listed marked deleted. */
    CU_ASSERT_STRING_EQUAL(run.kind, "fetch");
    CU_ASSERT_EQUAL(dfx_calls("fetch"), fetches + 3);
    CU_ASSERT_EQUAL(run.fetched, SIM_DEVICES + 1);
    CU_ASSERT_EQUAL(run.added, 2);
    CU_ASSERT_EQUAL(run.deleted, 1);
    CU_ASSERT_EQUAL(dsfx_live(), SIM_DEVICES + 1);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_devices", NULL), SIM_DEVICES + 2);
    g_autofree char *was = dsfx_field(gone, "deleted");
    g_autofree char *op = dsfx_field(gone, "op_type");
    CU_ASSERT_STRING_EQUAL(was, "1");
    CU_ASSERT_STRING_EQUAL(op, "deleted");
    g_autofree char *a0 = dsfx_field(added[0], "assign_status");
    CU_ASSERT_STRING_EQUAL(a0, "SUCCESS");
    g_autofree char *phase = dsfx_state(ORCHARD_DEP_KEY_PHASE);
    CU_ASSERT_STRING_EQUAL(phase, "sync");
    orchard_dep_run_clear(&run);
    /* And syncing works from the new cursor. */
    dsfx_sync_ok(c, T0 + 120, &run);
    CU_ASSERT_STRING_EQUAL(run.kind, "sync");
    orchard_dep_run_clear(&run);
    g_strfreev(added);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void test_expired_cursor_refetch(void)
{
    refetch_after("expired");
}

static void test_invalid_cursor_refetch(void)
{
    refetch_after("invalid");
}

/* ---- Apple's refusals ------------------------------------------------------------------ */

static void test_throttled_waits(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    dsfx_sync_ok(c, T0, &run);
    orchard_dep_run_clear(&run);
    dfx_say("fail", "{\"endpoint\": \"sync\", \"error\": \"THROTTLED\", \"retry_after\": 30}");
    gint64 wait = 0;
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0 + 60, &run, &wait, NULL), ORCHARD_EPROTO);
    CU_ASSERT_STRING_EQUAL(run.error_code, "THROTTLED");
    CU_ASSERT_EQUAL(wait, T0 + 90);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_sync_runs WHERE error_code = 'THROTTLED' "
                            "AND finished_at IS NOT NULL", NULL), 1);
    orchard_dep_run_clear(&run);
    /* Before retry_after: nothing is called, no run is recorded. */
    json_t *before = dfx_control("stats", NULL);
    gint64 runs = rfx_int("SELECT count(*) FROM dep_sync_runs", NULL);
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0 + 89, &run, &wait, NULL), ORCHARD_EBUSY);
    CU_ASSERT_EQUAL(wait, T0 + 90);
    CU_ASSERT_STRING_EQUAL(run.error_code, "THROTTLED");
    json_t *after = dfx_control("stats", NULL);
    CU_ASSERT_TRUE(json_equal(json_object_get(before, "calls"), json_object_get(after, "calls")));
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_sync_runs", NULL), runs);
    json_decref(before);
    json_decref(after);
    orchard_dep_run_clear(&run);
    /* At retry_after: a run, and the wait is gone. */
    dsfx_sync_ok(c, T0 + 90, &run);
    CU_ASSERT_PTR_NULL(dsfx_state(ORCHARD_DEP_KEY_NOT_BEFORE));
    orchard_dep_run_clear(&run);
    /* The 400 + retry_after_seconds form, on the account (fetched again after an hour). */
    dfx_say("fail", "{\"endpoint\": \"account\", \"error\": \"THROTTLED\", \"retry_after\": 7, "
                    "\"status\": 400}");
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0 + 7200, &run, &wait, NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(wait, T0 + 7207);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void test_terms_not_signed(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    dfx_say("fail", "{\"endpoint\": \"*\", \"error\": \"T_C_NOT_SIGNED\", \"count\": 5}");
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0, &run, NULL, NULL), ORCHARD_EPROTO);
    CU_ASSERT_STRING_EQUAL(run.error_code, "T_C_NOT_SIGNED");
    CU_ASSERT_PTR_NOT_NULL(strstr(run.error, "accept"));
    CU_ASSERT_PTR_NOT_NULL(strstr(run.error, "Apple Business Manager"));
    dfx_assert_no_secret(run.error);
    g_autofree char *err = rfx_text("SELECT error FROM dep_sync_runs WHERE error_code = "
                                    "'T_C_NOT_SIGNED' AND finished_at IS NOT NULL", NULL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "terms"));
    CU_ASSERT_EQUAL(dsfx_live(), 0);
    orchard_dep_run_clear(&run);
    dfx_say("clear", "{}");
    /* Terms accepted: the next run goes on. */
    dsfx_sync_ok(c, T0 + 60, &run);
    CU_ASSERT_EQUAL(dsfx_live(), SIM_DEVICES);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void test_expired_token(void)
{
    dsfx_fresh();
    orchard_abm_token old = dfx.token;
    old.access_token_expiry = "2020-01-01T00:00:00Z";
    old.expiry = 1577836800;
    orchard_dep_client *c = dfx_client_with(&old, 0);
    orchard_dep_run run = {0};
    gint64 sessions = dfx_calls("session");
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0, &run, NULL, NULL), ORCHARD_EPROTO);
    CU_ASSERT_STRING_EQUAL(run.error_code, "TOKEN_EXPIRED");
    CU_ASSERT_PTR_NOT_NULL(strstr(run.error, "new one"));
    CU_ASSERT_EQUAL(dfx_calls("session"), sessions); /* nothing sent */
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_sync_runs WHERE error_code = "
                            "'TOKEN_EXPIRED'", NULL), 1);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    /* A token Apple refuses (a wrong secret) says so too. */
    orchard_abm_token wrong = dfx.token;
    wrong.access_secret = "not the secret";
    c = dfx_client_with(&wrong, 0);
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0, &run, NULL, NULL), ORCHARD_EPROTO);
    CU_ASSERT_STRING_EQUAL(run.error_code, "UNAUTHORIZED");
    CU_ASSERT_PTR_NOT_NULL(strstr(run.error, "revoked"));
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void test_server_errors(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client(); /* no retries */
    orchard_dep_run run = {0};
    dsfx_sync_ok(c, T0, &run);
    orchard_dep_run_clear(&run);
    g_autofree char *cursor = dsfx_state(ORCHARD_DEP_KEY_CURSOR);
    dfx_say("fail", "{\"endpoint\": \"sync\", \"error\": \"503\", \"count\": 10}");
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0 + 60, &run, NULL, NULL), ORCHARD_EPROTO);
    CU_ASSERT_STRING_EQUAL(run.error_code, "SERVER_ERROR");
    /* Nothing moved: the next run starts from the same cursor. */
    g_autofree char *same = dsfx_state(ORCHARD_DEP_KEY_CURSOR);
    CU_ASSERT_STRING_EQUAL(same, cursor);
    orchard_dep_run_clear(&run);
    dfx_say("clear", "{}");
    dsfx_sync_ok(c, T0 + 120, &run);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

/* ---- assignment ------------------------------------------------------ */
static void test_assign_new_devices_only(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    dsfx_sync_ok(c, T0, &run);
    orchard_dep_run_clear(&run);
    gint64 assigns = dfx_calls("assign");
    char **added = dsfx_serials_of(dfx_control("devices/add", "{\"count\": 2}"), "added");
    dsfx_sync_ok(c, T0 + 60, &run);
    CU_ASSERT_EQUAL(run.assigned, 2);
    CU_ASSERT_EQUAL(dfx_calls("assign"), assigns + 1);
    json_t *st = dfx_control("state", NULL);
    size_t i;
    json_t *d;
    int with_profile = 0;
    json_array_foreach(json_object_get(st, "devices"), i, d) {
        if (json_string_value(json_object_get(d, "profile_uuid")))
            with_profile++;
    }
    CU_ASSERT_EQUAL(with_profile, SIM_DEVICES + 2);
    json_decref(st);
    g_autofree char *a = dsfx_field(added[1], "assign_attempts");
    CU_ASSERT_STRING_EQUAL(a, "1");
    orchard_dep_run_clear(&run);
    g_strfreev(added);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void test_failed_assignment_retried(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    /* The first run stores the devices; the second assigns, one refused. */
    json_t *st = dfx_control("state", NULL);
    const char *victim_c =
        json_string_value(json_object_get(json_array_get(json_object_get(st, "devices"), 7),
                                          "serial_number"));
    g_autofree char *victim = g_strdup(victim_c);
    json_decref(st);
    g_autofree char *body = g_strdup_printf("{\"serials\": [\"%s\"]}", victim);
    dfx_say("fail_assign", body);
    dsfx_sync_ok(c, T0, &run);
    CU_ASSERT_EQUAL(run.assigned, SIM_DEVICES - 1);
    g_autofree char *s1 = dsfx_field(victim, "assign_status");
    g_autofree char *e1 = dsfx_field(victim, "assign_error");
    g_autofree char *u1 = dsfx_field(victim, "profile_uuid");
    CU_ASSERT_STRING_EQUAL(s1, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(e1);
    CU_ASSERT_PTR_NULL(u1);
    orchard_dep_run_clear(&run);
    /* Apple still refuses: tried again, counted again. */
    dsfx_sync_ok(c, T0 + 60, &run);
    CU_ASSERT_EQUAL(run.assigned, 0);
    g_autofree char *n2 = dsfx_field(victim, "assign_attempts");
    CU_ASSERT_STRING_EQUAL(n2, "2");
    orchard_dep_run_clear(&run);
    dfx_say("clear", "{}");
    dsfx_sync_ok(c, T0 + 120, &run);
    CU_ASSERT_EQUAL(run.assigned, 1);
    g_autofree char *s3 = dsfx_field(victim, "assign_status");
    g_autofree char *n3 = dsfx_field(victim, "assign_attempts");
    g_autofree char *e3 = dsfx_field(victim, "assign_error");
    CU_ASSERT_STRING_EQUAL(s3, "SUCCESS");
    CU_ASSERT_STRING_EQUAL(n3, "3");
    CU_ASSERT_PTR_NULL(e3);
    orchard_dep_run_clear(&run);
    /* A device deleted in ABM is never assigned (NOT_ACCESSIBLE is not retried forever). */
    g_autofree char *first = dsfx_first_serial();
    rfx_sql("UPDATE dep_devices SET profile_uuid = NULL WHERE serial_number = ?", first, NULL);
    g_autofree char *del = g_strdup_printf("{\"serials\": [\"%s\"]}", first);
    dfx_say("devices/delete", del);
    gint64 assigns = dfx_calls("assign");
    dsfx_sync_ok(c, T0 + 180, &run);
    CU_ASSERT_EQUAL(dfx_calls("assign"), assigns);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

/* ---- runs ------------------------------------------------------------------------------ */

static void test_runs_pruned_and_killed(void)
{
    dsfx_fresh();
    /* A month-old run goes when a run starts; a killed one (no finished_at) stays. */
    rfx_sql("INSERT INTO dep_sync_runs (kind, started_at) VALUES ('fetch', 1000)", NULL);
    gint64 id = 0;
    gint64 now_ms = T0 * 1000;
    CU_ASSERT_EQUAL(orchard_store_dep_run_begin("fetch", now_ms - 1000, -1, &id), 0);
    CU_ASSERT_EQUAL(orchard_store_dep_run_begin("sync", now_ms, 5, &id), 0);
    CU_ASSERT(id > 0);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_sync_runs", NULL), 2);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_sync_runs WHERE finished_at IS NULL",
                            NULL), 2);
    orchard_dep_run r = {.pages = 2, .fetched = 7, .error_code = "X", .error = "why"};
    CU_ASSERT_EQUAL(orchard_store_dep_run_finish(id, &r, now_ms + 5), 0);
    CU_ASSERT_EQUAL(rfx_int("SELECT cursor_age FROM dep_sync_runs WHERE id = (SELECT max(id) "
                            "FROM dep_sync_runs)", NULL), 5);
    CU_ASSERT_EQUAL(orchard_store_dep_run_finish(id + 100, &r, now_ms), ORCHARD_ENOTFOUND);
    /* State: set, read, delete. */
    char *v = NULL;
    CU_ASSERT_EQUAL(orchard_store_dep_state_get("dep.test", &v), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_store_dep_state_set("dep.test", "1"), 0);
    CU_ASSERT_EQUAL(orchard_store_dep_state_set("dep.test", "2"), 0);
    CU_ASSERT_EQUAL(orchard_store_dep_state_get("dep.test", &v), 0);
    CU_ASSERT_STRING_EQUAL(v, "2");
    g_free(v);
    CU_ASSERT_EQUAL(orchard_store_dep_state_set("dep.test", NULL), 0);
    CU_ASSERT_EQUAL(orchard_store_dep_state_get("dep.test", &v), ORCHARD_ENOTFOUND);
    dsfx_done();
}

void dep_sync_suite(void)
{
    ORCHARD_ADD_SUITE("dep_sync", dfx_init, dfx_cleanup,
                      {"full_fetch_then_sync", test_full_fetch_then_sync},
                      {"dedupe_and_order", test_dedupe_and_order},
                      {"page_records_hostile", test_page_records_hostile},
                      {"exhausted_switches_to_sync", test_exhausted_switches_to_sync},
                      {"expired_cursor_refetch", test_expired_cursor_refetch},
                      {"invalid_cursor_refetch", test_invalid_cursor_refetch},
                      {"throttled_waits", test_throttled_waits},
                      {"terms_not_signed", test_terms_not_signed},
                      {"expired_token", test_expired_token},
                      {"server_errors", test_server_errors},
                      {"assign_new_devices_only", test_assign_new_devices_only},
                      {"failed_assignment_retried", test_failed_assignment_retried},
                      {"runs_pruned_and_killed", test_runs_pruned_and_killed});
}

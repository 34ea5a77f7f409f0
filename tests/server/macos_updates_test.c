/* macos_updates: the macOS update setting (server_plugin/updates/
 * macos_updates.c): every refusal in Fleet's words, set / get / off for
 * the global scope and a team, orchard's Nudge row in mdm_profiles kept
 * with it (content, checksum, applies_below, replaced and deleted), the
 * desired-state marker and the activity, the PATCH merge of
 * orchard_macos_updates_from_json, and the macos_updates table's phases at
 * fixed times. */
#include "host/query/context.h"
#include "host/query/rows.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/teams/teams.h"
#include "server_plugin/updates/updates.h"
#include "server_plugin/updates/updates_priv.h"
#include "tests/server/updates_fixture.h"
#include "tests/suites.h"

#include "macos_updates.gen.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <string.h>

#define MSG_DL_REQ "deadline is required when minimum_version is provided"
#define MSG_MIN_REQ "minimum_version is required when deadline is provided"
#define MSG_VERSION                                                                             \
    "minimum_version accepts version numbers only. (E.g., \"13.0.1.\") NOT \"Ventura 13\" or " \
    "\"13.0.1 (22A400)\""
#define MSG_DATE "deadline accepts YYYY-MM-DD format only (E.g., \"2023-06-01.\")"

static void expect_refusal(const char *min, const char *dl, const char *field, const char *msg)
{
    const char *f = NULL;
    char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_macos_updates_validate(min, dl, &f, &reason), ORCHARD_EINVAL);
    if (!reason || strcmp(reason, msg) != 0 || !f || strcmp(f, field) != 0)
        fprintf(stderr, "\n  (%s, %s): got %s: %s\n", min ? min : "NULL", dl ? dl : "NULL",
                f ? f : "NULL", reason ? reason : "NULL");
    CU_ASSERT_STRING_EQUAL(f ? f : "", field);
    CU_ASSERT_STRING_EQUAL(reason ? reason : "", msg);
    g_free(reason);
}

static void expect_ok(const char *min, const char *dl)
{
    const char *f = NULL;
    char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_macos_updates_validate(min, dl, &f, &reason), 0);
    if (reason)
        fprintf(stderr, "\n  (%s, %s) refused: %s\n", min, dl, reason);
    CU_ASSERT_PTR_NULL(reason);
    g_free(reason);
}

static void test_validate(void)
{
    expect_ok(NULL, NULL);
    expect_ok("", "");
    expect_ok("14", "2024-02-29");
    expect_ok("14.4", "2026-12-20");
    expect_ok("13.6.1", "2030-01-01");
    expect_refusal("14.4", NULL, "deadline", MSG_DL_REQ);
    expect_refusal("14.4", "", "deadline", MSG_DL_REQ);
    expect_refusal(NULL, "2026-12-20", "minimum_version", MSG_MIN_REQ);
    expect_refusal("", "2026-12-20", "minimum_version", MSG_MIN_REQ);
    static const char *const versions[] = {
        "Ventura 13", "13.0.1 (22A400)", "13.0.1.", "13..1", ".13", "13.0.1.2", "v13",
        "13.a", "-1", " 13", "13 ", "１３", "1234567.1", "13.0.1\n", "13.0.1<x>"};
    for (size_t i = 0; i < G_N_ELEMENTS(versions); i++)
        expect_refusal(versions[i], "2026-12-20", "minimum_version", MSG_VERSION);
    static const char *const dates[] = {
        "2026-13-01", "2026-02-30", "2025-02-29", "2026-00-10", "2026-01-00", "26-01-01",
        "2026/01/01", "2026-1-1", "2026-01-01T00:00:00Z", "20260101", "2026-01-0a",
        "0000-01-01", "2026-01-01 ", "yyyy-mm-dd"};
    for (size_t i = 0; i < G_N_ELEMENTS(dates); i++)
        expect_refusal("14.4", dates[i], "deadline", MSG_DATE);
    /* Oversized input is refused, not trusted. */
    char *long_version = g_strnfill(5000, '1');
    expect_refusal(long_version, "2026-12-20", "minimum_version", MSG_VERSION);
    g_free(long_version);
}

static void test_set_get_off(void)
{
    if (updfx_open())
        return;
    g_autofree char *min = NULL, *dl = NULL, *reason = NULL;
    const char *field = NULL;
    CU_ASSERT_EQUAL(orchard_macos_updates_get(0, &min, &dl), 0);
    CU_ASSERT_PTR_NULL(min);
    CU_ASSERT_PTR_NULL(dl);
    g_autofree char *m0 = updfx_marker();

    /* A refused setting writes nothing. */
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "14.4", NULL, NULL, &field, &reason),
                    ORCHARD_EINVAL);
    CU_ASSERT_STRING_EQUAL(field, "deadline");
    g_clear_pointer(&reason, g_free);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings", NULL), 0);
    g_autofree char *m1 = updfx_marker();
    CU_ASSERT_STRING_EQUAL(m0, m1);

    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "14.4", "2026-12-20", "a@example.com",
                                              &field, &reason), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_get(0, &min, &dl), 0);
    CU_ASSERT_STRING_EQUAL(min, "14.4");
    CU_ASSERT_STRING_EQUAL(dl, "2026-12-20");
    g_autofree char *m2 = updfx_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m1, m2);

    /* The Nudge row: kind, identifier, name, applies_below, content and checksum. */
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_profiles WHERE team_id = 0 AND kind = "
                              "'nudge'", NULL), 1);
    g_autofree char *ident = updfx_text("SELECT identifier FROM mdm_profiles WHERE kind = ?",
                                        "nudge");
    CU_ASSERT_STRING_EQUAL(ident, ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    g_autofree char *name = updfx_text("SELECT name FROM mdm_profiles WHERE kind = ?", "nudge");
    CU_ASSERT_STRING_EQUAL(name, ORCHARD_NUDGE_PROFILE_NAME);
    g_autofree char *below = updfx_text("SELECT applies_below FROM mdm_profiles WHERE kind = ?",
                                        "nudge");
    CU_ASSERT_STRING_EQUAL(below, "14.4");
    GBytes *want = NULL;
    g_autofree char *uuid = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(0, "14.4", "2026-12-20", &want, &uuid), 0);
    gsize wlen = 0;
    const void *wdata = g_bytes_get_data(want, &wlen);
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, wdata, wlen);
    g_autofree char *checksum = updfx_text("SELECT checksum FROM mdm_profiles WHERE kind = ?",
                                           "nudge");
    CU_ASSERT_STRING_EQUAL(checksum, sum);
    g_autofree char *puuid = updfx_text("SELECT payload_uuid FROM mdm_profiles WHERE kind = ?",
                                        "nudge");
    CU_ASSERT_STRING_EQUAL(puuid, uuid);
    GBytes *content = updfx_blob("SELECT content FROM mdm_profiles WHERE kind = ?", "nudge");
    CU_ASSERT_TRUE(content && g_bytes_equal(content, want));
    if (content)
        g_bytes_unref(content);
    g_bytes_unref(want);

    CU_ASSERT_EQUAL(updfx_activities("edited_macos_min_version"), 1);
    g_autofree char *d = updfx_activity_details("edited_macos_min_version");
    json_t *j = json_loads(d, 0, NULL);
    CU_ASSERT_TRUE(json_is_null(json_object_get(j, "team_id")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "minimum_version")), "14.4");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "deadline")), "2026-12-20");
    json_decref(j);

    /* A new deadline replaces the content (one row still). */
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "14.4", "2026-12-27", NULL, &field,
                                              &reason), 0);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_profiles", NULL), 1);
    g_autofree char *checksum2 = updfx_text("SELECT checksum FROM mdm_profiles WHERE kind = ?",
                                            "nudge");
    CU_ASSERT_STRING_NOT_EQUAL(checksum, checksum2);

    /* Off: both rows gone, the marker moved, the activity says so. */
    g_autofree char *m3 = updfx_marker();
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "", NULL, NULL, &field, &reason), 0);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_profiles", NULL), 0);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings", NULL), 0);
    g_autofree char *m4 = updfx_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m3, m4);
    g_clear_pointer(&min, g_free);
    g_clear_pointer(&dl, g_free);
    CU_ASSERT_EQUAL(orchard_macos_updates_get(0, &min, &dl), 0);
    CU_ASSERT_PTR_NULL(min);
    CU_ASSERT_EQUAL(updfx_activities("edited_macos_min_version"), 3);
    updfx_close();
}

static void test_team_scope(void)
{
    if (updfx_open())
        return;
    g_autofree char *reason = NULL, *min = NULL, *dl = NULL;
    const char *field = NULL;
    gint64 id = 0;
    CU_ASSERT_EQUAL(orchard_teams_create(NULL, "Engineering", NULL, NULL, &id, &reason), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 999, "14.4", "2026-12-20", NULL, &field,
                                              &reason), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, id, "14.4", "2026-12-20", NULL, &field,
                                              &reason), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_get(id, &min, &dl), 0);
    CU_ASSERT_STRING_EQUAL(min, "14.4");
    g_clear_pointer(&min, g_free);
    g_clear_pointer(&dl, g_free);
    CU_ASSERT_EQUAL(orchard_macos_updates_get(0, &min, &dl), 0);
    CU_ASSERT_PTR_NULL(min);
    g_autofree char *d = updfx_activity_details("edited_macos_min_version");
    CU_ASSERT_PTR_NOT_NULL(d && strstr(d, "\"team_name\":\"Engineering\""));
    g_autoptr(orchard_team) t = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_teams_get(id, &t), 0);
    CU_ASSERT_STRING_EQUAL(t->minimum_version, "14.4");
    CU_ASSERT_STRING_EQUAL(t->deadline, "2026-12-20");

    /* An admin's profile under orchard's identifier is never overwritten. */
    orchard_store_tx *tx = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_sstore_begin(1, "test", &tx), 0);
    CU_ASSERT_TRUE(orchard_sstore_exec(
                       tx,
                       "INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, "
                       "content, checksum, created_at, updated_at) VALUES (0, 'custom', ?, 'x', "
                       "'u', ?, 'c', 1, 1)",
                       SQL_PARAMS(SQL_TEXT(ORCHARD_NUDGE_PROFILE_IDENTIFIER),
                                  SQL_BLOB("abc", 3))) == 1);
    CU_ASSERT_EQUAL(orchard_sstore_end(tx, 0, "test", 0), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "14.4", "2026-12-20", NULL, &field,
                                              &reason), ORCHARD_EEXIST);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings WHERE team_id = 0",
                              NULL), 0);
    g_autofree char *kind = updfx_text("SELECT kind FROM mdm_profiles WHERE team_id = 0", NULL);
    CU_ASSERT_STRING_EQUAL(kind, "custom");
    updfx_close();
}

/* A PATCH's object merged over the stored setting, then validated. */
static void test_from_json(void)
{
    if (updfx_open())
        return;
    char *min = NULL, *dl = NULL, *reason = NULL;
    const char *field = NULL;
    json_t *o = json_loads("{\"minimum_version\": \"14.4\", \"deadline\": \"2026-12-20\"}", 0,
                           NULL);
    CU_ASSERT_EQUAL(orchard_macos_updates_from_json(0, o, &min, &dl, &field, &reason), 0);
    CU_ASSERT_STRING_EQUAL(min, "14.4");
    CU_ASSERT_STRING_EQUAL(dl, "2026-12-20");
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, min, dl, NULL, &field, &reason), 0);
    g_free(min), g_free(dl), min = dl = NULL;
    json_decref(o);
    /* Only the deadline: the stored version stays. */
    o = json_loads("{\"deadline\": \"2027-01-05\"}", 0, NULL);
    CU_ASSERT_EQUAL(orchard_macos_updates_from_json(0, o, &min, &dl, &field, &reason), 0);
    CU_ASSERT_STRING_EQUAL(min, "14.4");
    CU_ASSERT_STRING_EQUAL(dl, "2027-01-05");
    g_free(min), g_free(dl), min = dl = NULL;
    json_decref(o);
    /* Clearing one alone is refused in Fleet's words. */
    o = json_loads("{\"deadline\": null}", 0, NULL);
    CU_ASSERT_EQUAL(orchard_macos_updates_from_json(0, o, &min, &dl, &field, &reason),
                    ORCHARD_EINVAL);
    CU_ASSERT_STRING_EQUAL(field, "macos_updates.deadline");
    CU_ASSERT_STRING_EQUAL(reason, MSG_DL_REQ);
    CU_ASSERT_PTR_NULL(min);
    g_clear_pointer(&reason, g_free);
    json_decref(o);
    /* Both cleared: off. */
    o = json_loads("{\"deadline\": \"\", \"minimum_version\": null}", 0, NULL);
    CU_ASSERT_EQUAL(orchard_macos_updates_from_json(0, o, &min, &dl, &field, &reason), 0);
    CU_ASSERT_PTR_NULL(min);
    CU_ASSERT_PTR_NULL(dl);
    json_decref(o);
    /* Wrong types. */
    static const char *const bad[] = {"{\"minimum_version\": 14.4}",
                                      "{\"minimum_version\": [\"14\"]}",
                                      "{\"deadline\": {\"d\": 1}}", "{\"deadline\": true}"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        o = json_loads(bad[i], 0, NULL);
        CU_ASSERT_EQUAL(orchard_macos_updates_from_json(0, o, &min, &dl, &field, &reason),
                        ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "must be a string"));
        CU_ASSERT_PTR_NOT_NULL(field && g_str_has_prefix(field, "macos_updates."));
        g_clear_pointer(&reason, g_free);
        json_decref(o);
    }
    /* A NUL inside a string. */
    o = json_pack("{s:s%}", "minimum_version", "14\0.4", (size_t)5);
    CU_ASSERT_EQUAL(orchard_macos_updates_from_json(0, o, &min, &dl, &field, &reason),
                    ORCHARD_EINVAL);
    g_clear_pointer(&reason, g_free);
    json_decref(o);
    updfx_close();
}

static gint64 utc(const char *iso)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(iso, NULL);
    return g_date_time_to_unix(t);
}

/* The deadline is 20:00 UTC; Nudge's windows are 72 h and 24 h. */
static void test_phase_at_fixed_times(void)
{
    static const struct {
        const char *os, *now, *phase;
        int compliant;
        gint64 cycle;
    } cases[] = {
        {"13.6", "2026-12-10T12:00:00Z", "initial", 0, 86400},
        {"13.6", "2026-12-17T19:59:59Z", "initial", 0, 86400},     /* 72 h + 1 s */
        {"13.6", "2026-12-17T20:00:01Z", "approaching", 0, 86400}, /* under 72 h */
        {"13.6", "2026-12-19T19:59:59Z", "approaching", 0, 86400}, /* 24 h + 1 s */
        {"13.6", "2026-12-19T20:00:00Z", "imminent", 0, 7200}, /* 24 h exactly */
        {"13.6", "2026-12-20T19:59:59Z", "imminent", 0, 7200},
        {"13.6", "2026-12-20T20:00:00Z", "elapsed", 0, 3600},
        {"13.6", "2027-02-01T00:00:00Z", "elapsed", 0, 3600},
        {"14.4", "2026-12-20T20:00:00Z", "compliant", 1, 0},
        {"14.4.1", "2026-12-01T00:00:00Z", "compliant", 1, 0},
        {"15.0", "2026-12-01T00:00:00Z", "compliant", 1, 0},
        {NULL, "2026-12-20T19:00:00Z", "imminent", -1, 7200},
        {"garbage", "2026-12-10T12:00:00Z", "initial", -1, 86400},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int compliant = 9;
        gint64 cycle = -1;
        const char *p = orchard_macos_updates_phase(cases[i].os, "14.4", "2026-12-20",
                                                    utc(cases[i].now), &compliant, &cycle);
        if (!p || strcmp(p, cases[i].phase) != 0)
            fprintf(stderr, "\n  %s at %s: %s\n", cases[i].os, cases[i].now, p ? p : "NULL");
        CU_ASSERT_STRING_EQUAL(p ? p : "", cases[i].phase);
        CU_ASSERT_EQUAL(compliant, cases[i].compliant);
        CU_ASSERT_EQUAL(cycle, cases[i].cycle);
    }
    int c = 0;
    gint64 cy = 0;
    CU_ASSERT_PTR_NULL(orchard_macos_updates_phase("13.6", NULL, NULL, 0, &c, &cy));
    CU_ASSERT_EQUAL(c, -1);
}

static void test_table(void)
{
    if (updfx_open())
        return;
    g_autofree char *reason = NULL;
    const char *field = NULL;
    gint64 team = 0;
    updfx_host("0000BBBB-0000-0000-0000-000000000001", "13.6", 1);
    updfx_host("0000BBBB-0000-0000-0000-000000000002", "14.5", 1);
    updfx_host("0000BBBB-0000-0000-0000-000000000003", "13.6", 1);
    updfx_host("0000BBBB-0000-0000-0000-000000000004", "13.6", 0); /* not enrolled: no row */
    CU_ASSERT_EQUAL(orchard_teams_create(NULL, "Design", NULL, NULL, &team, &reason), 0);
    const char *moved[] = {"0000BBBB-0000-0000-0000-000000000003"};
    g_autofree char *bad = NULL;
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, team, moved, 1, NULL, &bad), 0);
    /* Global: far ahead. The team: nothing set. */
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "14.4", "2099-01-01", NULL, &field,
                                              &reason), 0);
    orchard_query_ctx *q = orchard_query_ctx_new();
    orchard_rows *rows = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_table_generate(&orchard_table_macos_updates, q, &rows), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_rows_count(rows), 3);
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_OS_VERSION], "13.6");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_TEAM_ID], "0");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_TEAM], "");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_MINIMUM_VERSION], "14.4");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_DEADLINE], "2099-01-01");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_COMPLIANT], "0");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_PHASE], "initial");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_REFRESH_CYCLE], "86400");
    CU_ASSERT_PTR_NULL(v[MACOS_UPDATES_COL_NUDGE_PROFILE_STATUS]);
    CU_ASSERT_PTR_NOT_NULL(v[MACOS_UPDATES_COL_SERIAL_NUMBER]);
    v = orchard_rows_get(rows, 1);
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_COMPLIANT], "1");
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_PHASE], "compliant");
    CU_ASSERT_PTR_NULL(v[MACOS_UPDATES_COL_REFRESH_CYCLE]);
    v = orchard_rows_get(rows, 2);
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_TEAM], "Design");
    CU_ASSERT_PTR_NULL(v[MACOS_UPDATES_COL_MINIMUM_VERSION]);
    CU_ASSERT_PTR_NULL(v[MACOS_UPDATES_COL_COMPLIANT]);
    CU_ASSERT_PTR_NULL(v[MACOS_UPDATES_COL_PHASE]);
    orchard_rows_free(rows);
    /* The Nudge profile's status on a host, as the reconciler records it. */
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_host_profiles", NULL), 0);
    orchard_store_tx *tx = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_sstore_begin(1, "test", &tx), 0);
    CU_ASSERT_TRUE(orchard_sstore_exec(
                       tx,
                       "INSERT INTO mdm_host_profiles (udid, identifier, name, checksum, "
                       "payload_uuid, operation, status, updated_at) VALUES (?, ?, 'n', 'c', "
                       "'u', 'install', 'verifying', 1)",
                       SQL_PARAMS(SQL_TEXT("0000BBBB-0000-0000-0000-000000000001"),
                                  SQL_TEXT(ORCHARD_NUDGE_PROFILE_IDENTIFIER))) == 1);
    CU_ASSERT_EQUAL(orchard_sstore_end(tx, 0, "test", 0), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_table_generate(&orchard_table_macos_updates, q, &rows), 0);
    v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[MACOS_UPDATES_COL_NUDGE_PROFILE_STATUS], "verifying");
    orchard_rows_free(rows);
    orchard_query_ctx_free(q);
    updfx_close();
}

void macos_updates_suite(void)
{
    ORCHARD_ADD_SUITE("macos_updates", NULL, NULL, {"validate", test_validate},
                      {"set_get_off", test_set_get_off}, {"team_scope", test_team_scope},
                      {"from_json", test_from_json},
                      {"phase_at_fixed_times", test_phase_at_fixed_times},
                      {"table", test_table});
}

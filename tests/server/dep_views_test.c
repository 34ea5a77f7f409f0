/* dep_views: what admins see of Apple Business Manager. The description
 * (api/mdm_apple_bm.c) over rows seeded with plain SQL: never synced, synced,
 * terms not signed, a token expiring or expired; GET /mdm/apple_bm served for
 * real with each role; `orchard get mdm-apple-bm` as the real binary, local
 * and --server; the dep_devices and dep_sync_runs tables; and hostile
 * values in what Apple, a server, or a damaged store left behind. */
#include "server_plugin/api/mdm_apple_bm.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_dep.h"
#include "tests/server/dep_views_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/token_auth_fixture.h"
#include "tests/suites.h"

#include "dep_devices.gen.h"
#include "dep_sync_runs.gen.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <string.h>

/* ---- the description: never synced, synced, terms, expiring, expired */

static void test_never_synced(void)
{
    dvfx_reset();
    json_t *o = dvfx_describe();
    g_autofree char *at = orchard_mdm_format_utc(mdmfx_state.token_expiry);
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "apple_id"), "");
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "org_name"), "");
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "mdm_server_url"), "https://mdm.example.com/mdm/apple/mdm");
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "renew_date"), at);
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "expires_at"), at);
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "default_team"), "");
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "status"), "ok");
    CU_ASSERT_TRUE(dvfx_num(o, "days_left") >= 199); /* mdmfx: 200 days ahead */
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "synced")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(o, "account_at")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(o, "last_sync")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(o, "last_success_at")));
    CU_ASSERT_EQUAL(dvfx_num(o, "devices"), 0);
    CU_ASSERT_EQUAL(dvfx_num(o, "assigned"), 0);
    CU_ASSERT_EQUAL(dvfx_num(o, "enrolled"), 0);
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "terms_not_signed")));
    CU_ASSERT_PTR_NULL(json_object_get(o, "terms_message"));
    json_decref(o);

    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.token_expiry);
    g_autofree char *want = g_strdup_printf(
        "Apple ID: (not synced yet: run `orchard dep sync` or start `orchard serve`)\n"
        "Organization name: (not synced yet: run `orchard dep sync` or start `orchard serve`)\n"
        "MDM server URL: https://mdm.example.com/mdm/apple/mdm\n"
        "Renew date: %s\n"
        "Default team: No team\n"
        "Last sync: never (run `orchard dep sync` or start `orchard serve`)\n"
        "Devices: 0 (0 with the enrollment profile, 0 enrolled)\n",
        renew);
    CU_ASSERT_EQUAL(dvfx_get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_TRUE(dvfx_quiet(err));
}

static void test_synced(void)
{
    dvfx_reset();
    dvfx_synced();
    dvfx_configure(DVFX_TEAM);
    json_t *o = dvfx_describe();
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "apple_id"), ADMIN_ID);
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "org_name"), ORG);
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "default_team"), "Workstations");
    CU_ASSERT_TRUE(json_is_true(json_object_get(o, "synced")));
    CU_ASSERT_TRUE(g_str_has_suffix(dvfx_str(o, "account_at"), "Z"));
    json_t *last = json_object_get(o, "last_sync");
    g_autofree char *fin = orchard_mdm_format_utc(dvfx_t_ok / 1000);
    g_autofree char *began = orchard_mdm_format_utc((dvfx_t_ok - 500) / 1000);
    CU_ASSERT_FATAL(json_is_object(last));
    CU_ASSERT_STRING_EQUAL(dvfx_str(last, "kind"), "sync");
    CU_ASSERT_STRING_EQUAL(dvfx_str(last, "finished_at"), fin);
    CU_ASSERT_STRING_EQUAL(dvfx_str(last, "started_at"), began);
    CU_ASSERT_EQUAL(dvfx_num(last, "fetched"), 3);
    CU_ASSERT_EQUAL(dvfx_num(last, "added"), 2);
    CU_ASSERT_EQUAL(dvfx_num(last, "modified"), 1);
    CU_ASSERT_EQUAL(dvfx_num(last, "deleted"), 0);
    CU_ASSERT_EQUAL(dvfx_num(last, "assigned"), 2);
    CU_ASSERT_STRING_EQUAL(dvfx_str(last, "error_code"), "");
    CU_ASSERT_STRING_EQUAL(dvfx_str(last, "error"), "");
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "last_success_at"), fin);
    /* Not deleted; with our current profile; hosts enrolled through DEP. */
    CU_ASSERT_EQUAL(dvfx_num(o, "devices"), 2);
    CU_ASSERT_EQUAL(dvfx_num(o, "assigned"), 1);
    CU_ASSERT_EQUAL(dvfx_num(o, "enrolled"), 1);
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "terms_not_signed")));

    /* The command prints the same, Fleet's lines first. */
    g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(DVFX_TEAM, NULL, &out, &err, NOARGS), 0);
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.token_expiry);
    g_autofree char *head = g_strdup_printf(
        "Apple ID: " ADMIN_ID "\nOrganization name: " ORG
        "\nMDM server URL: https://mdm.example.com/mdm/apple/mdm\nRenew date: %s\n"
        "Default team: Workstations\nLast sync: %s (sync): ok, 3 fetched, 2 added, 1 modified, "
        "0 deleted, 2 assigned\nDevices: 2 (1 with the enrollment profile, 1 enrolled)\n",
        renew, fin);
    CU_ASSERT_STRING_EQUAL(out, head);
    CU_ASSERT_TRUE(dvfx_quiet(err));
    CU_ASSERT_EQUAL(GET_BM(DVFX_TEAM, NULL, &jout, &jerr, "--json"), 0);
    json_t *j = json_loads(jout, 0, NULL);
    CU_ASSERT_FATAL(json_is_object(j));
    static const char *const same[] = {"apple_id",        "org_name",         "mdm_server_url",
                                       "renew_date",      "default_team",     "last_sync",
                                       "last_success_at", "devices",          "assigned",
                                       "enrolled",        "terms_not_signed", "status"};
    for (size_t i = 0; i < G_N_ELEMENTS(same); i++)
        CU_ASSERT_TRUE(json_equal(json_object_get(j, same[i]), json_object_get(o, same[i])));
    CU_ASSERT_EQUAL(json_object_size(j), json_object_size(o));
    json_decref(j);
    json_decref(o);

    /* No administrator (or not a string): the facilitator, as Fleet shows. */
    static const char *const accounts[] = {
        "{\"facilitator_id\": \"partner@example.com\", \"org_name\": \"P\"}",
        "{\"admin_id\": \"\", \"facilitator_id\": \"partner@example.com\"}",
        "{\"admin_id\": 42, \"facilitator_id\": \"partner@example.com\"}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(accounts); i++) {
        CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT, accounts[i]), 0);
        o = dvfx_describe();
        CU_ASSERT_STRING_EQUAL(dvfx_str(o, "apple_id"), "partner@example.com");
        json_decref(o);
    }
}

#define TERMS_ERROR "Apple Business Manager answered T_C_NOT_SIGNED (403)"

static void test_terms_not_signed(void)
{
    dvfx_reset();
    dvfx_synced();
    gint64 now = g_get_real_time() / 1000;
    dvfx_run("sync", now - 500, now - 400, 0, "T_C_NOT_SIGNED", TERMS_ERROR);
    json_t *o = dvfx_describe();
    CU_ASSERT_TRUE(json_is_true(json_object_get(o, "terms_not_signed")));
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "terms_message"), ORCHARD_BM_TERMS_MESSAGE);
    CU_ASSERT_STRING_EQUAL(dvfx_str(json_object_get(o, "last_sync"), "error_code"),
                           "T_C_NOT_SIGNED");
    CU_ASSERT_STRING_EQUAL(dvfx_str(json_object_get(o, "last_sync"), "error"), TERMS_ERROR);
    g_autofree char *ok_at = orchard_mdm_format_utc(dvfx_t_ok / 1000);
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "last_success_at"), ok_at);
    json_decref(o);

    /* A warning on stderr, not a failure: the token itself is fine. */
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(dvfx_contains(err,
                                 "WARNING: Apple Business Manager's terms and conditions changed: "
                                 "an administrator must sign in to business.apple.com and "
                                 "accept them; automatic enrollment is paused until then"));
    CU_ASSERT_TRUE(
        dvfx_contains(out, "(sync): failed: T_C_NOT_SIGNED: " TERMS_ERROR "; 0 fetched"));
    g_autofree char *line = g_strdup_printf("Last successful sync: %s\n", ok_at);
    CU_ASSERT_TRUE(dvfx_contains(out, line));
    CU_ASSERT_PTR_NULL(strstr(out, "WARNING"));

    /* Accepted and synced again: the warning goes. */
    dvfx_run("sync", now - 300, now - 200, 0, NULL, NULL);
    o = dvfx_describe();
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "terms_not_signed")));
    CU_ASSERT_PTR_NULL(json_object_get(o, "terms_message"));
    json_decref(o);
    g_free(out), g_free(err);
    out = err = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(dvfx_quiet(err));
    CU_ASSERT_PTR_NULL(strstr(out, "Last successful sync"));
}

static void test_expiring(void)
{
    dvfx_reset();
    dvfx_configure(DVFX_SOON);
    json_t *o = dvfx_describe();
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "status"), "expiring");
    /* Made 10 days ahead when the suite started: 10 whole days within that
     * second, 9 after it. */
    gint64 days = dvfx_num(o, "days_left");
    CU_ASSERT_TRUE(days == 9 || days == 10);
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.soon_token_expiry);
    g_autofree char *line = g_strdup_printf("Renew date: %s\n", renew);
    CU_ASSERT_EQUAL(dvfx_get_bm(DVFX_SOON, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(dvfx_contains(out, line));
    CU_ASSERT_TRUE(strstr(err, "WARNING: Your Apple Business Manager (ABM) server token "
                               "expires in 9 days") ||
                   dvfx_contains(err, "WARNING: Your Apple Business Manager (ABM) server token "
                                      "expires in 10 days"));
    CU_ASSERT_TRUE(dvfx_contains(err, "Download a new token for the same MDM server"));
    dvfx_configure(NULL);
}

static void test_expired(void)
{
    dvfx_reset();
    dvfx_configure(DVFX_EXPIRED);
    json_t *o = dvfx_describe();
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "status"), "expired");
    CU_ASSERT_TRUE(dvfx_num(o, "days_left") < 0);
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(DVFX_EXPIRED, NULL, &out, &err, NOARGS), 1);
    CU_ASSERT_TRUE(dvfx_contains(out, "Renew date: "));
    CU_ASSERT_TRUE(dvfx_contains(err,
                                 "ERROR: Your Apple Business Manager (ABM) server token expired "
                                 "on"));
    CU_ASSERT_EQUAL(GET_BM(DVFX_EXPIRED, NULL, &jout, &jerr, "--json"), 1);
    json_t *j = json_loads(jout, 0, NULL);
    CU_ASSERT_STRING_EQUAL(dvfx_str(j, "status"), "expired");
    json_decref(j);
    /* The API describes it (200) rather than failing. */
    dvfx_answer a;
    dvfx_call(&a, "GET", LATEST "/mdm/apple_bm", TFX_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(dvfx_str(a.json, "status"), "expired");
    dvfx_answer_clear(&a);
    dvfx_configure(NULL);
}

/* ---- GET /mdm/apple_bm */

static void test_api(void)
{
    dvfx_reset();
    dvfx_synced();
    dvfx_configure(DVFX_TEAM);
    dvfx_answer a;
    dvfx_call(&a, "GET", LATEST "/mdm/apple_bm", NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    dvfx_answer_clear(&a);
    dvfx_call(&a, "GET", LATEST "/mdm/apple_bm", "Bearer not-a-token");
    CU_ASSERT_EQUAL(a.status, 401);
    dvfx_answer_clear(&a);

    /* Observers and up, on both prefixes; the description's fields. */
    const char *const roles[] = {TFX_OBSERVER, TFX_MAINTAINER, TFX_ADMIN};
    json_t *o = dvfx_describe();
    for (size_t i = 0; i < G_N_ELEMENTS(roles); i++) {
        const char *paths[] = {LATEST "/mdm/apple_bm", "/api/v1/fleet/mdm/apple_bm"};
        for (size_t p = 0; p < G_N_ELEMENTS(paths); p++) {
            dvfx_call(&a, "GET", paths[p], roles[i]);
            CU_ASSERT_EQUAL(a.status, 200);
            CU_ASSERT_STRING_EQUAL(dvfx_str(a.json, "apple_id"), ADMIN_ID);
            CU_ASSERT_STRING_EQUAL(dvfx_str(a.json, "org_name"), ORG);
            CU_ASSERT_STRING_EQUAL(dvfx_str(a.json, "mdm_server_url"),
                                   "https://mdm.example.com/mdm/apple/mdm");
            CU_ASSERT_STRING_EQUAL(dvfx_str(a.json, "renew_date"), dvfx_str(o, "renew_date"));
            CU_ASSERT_STRING_EQUAL(dvfx_str(a.json, "default_team"), "Workstations");
            CU_ASSERT_TRUE(
                json_equal(json_object_get(a.json, "last_sync"), json_object_get(o, "last_sync")));
            CU_ASSERT_EQUAL(dvfx_num(a.json, "devices"), 2);
            CU_ASSERT_EQUAL(json_object_size(a.json), json_object_size(o));
            /* Never a secret of the token's, never a key. */
            CU_ASSERT_PTR_NULL(strstr(a.body, MDMFX_ACCESS_SECRET));
            CU_ASSERT_PTR_NULL(strstr(a.body, MDMFX_CONSUMER_SECRET));
            CU_ASSERT_PTR_NULL(strstr(a.body, MDMFX_ACCESS_TOKEN));
            CU_ASSERT_PTR_NULL(strstr(a.body, "PRIVATE KEY"));
            dvfx_answer_clear(&a);
        }
    }
    json_decref(o);
    /* Only that path. */
    const char *others[] = {LATEST "/mdm/apple_bmx", LATEST "/mdm/apple_bm/1",
                            LATEST "/mdm/apple_bm%00", LATEST "/mdm/apple_bm%2f"};
    for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
        dvfx_call(&a, "GET", others[i], TFX_ADMIN);
        /* the host refuses a NUL in a path before any handler (400) */
        CU_ASSERT_TRUE(a.status == 404 || a.status == 400);
        dvfx_answer_clear(&a);
    }
    dvfx_call(&a, "POST", LATEST "/mdm/apple_bm", TFX_ADMIN);
    CU_ASSERT_TRUE(a.status == 404 || a.status == 405);
    dvfx_answer_clear(&a);

    /* Not configured: Fleet's JSON 404, naming the setting. */
    dvfx_configure(DVFX_NO_ABM);
    dvfx_call(&a, "GET", LATEST "/mdm/apple_bm", TFX_OBSERVER);
    dvfx_expect_error(&a, 404, "mdm.apple_bm_server_token");
    dvfx_answer_clear(&a);
    /* A broken configuration: 500 naming the key, never a value. */
    const char *const broken[] = {"mdm.apple_bm_server_token", "fx:token_other.p7m", NULL};
    dvfx_configure(broken);
    dvfx_call(&a, "GET", LATEST "/mdm/apple_bm", TFX_OBSERVER);
    dvfx_expect_error(&a, 500, "does not decrypt with mdm.apple_bm_key");
    dvfx_answer_clear(&a);
    dvfx_configure(NULL);
}

/* ---- get mdm-apple-bm --server, and the command's usage */

static void test_command_server(void)
{
    dvfx_reset();
    dvfx_synced();
    dvfx_configure(DVFX_TEAM);
    g_autofree char *local = NULL, *lerr = NULL, *remote = NULL, *rerr = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(DVFX_TEAM, NULL, &local, &lerr, NOARGS), 0);
    int rc = GET_BM(NULL, "observer-tok", &remote, &rerr, "--server", dvfx_server->url);
    if (rc)
        fprintf(stderr, "\n  --server: %d %s\n", rc, rerr);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(remote, local);
    g_autofree char *jl = NULL, *jle = NULL, *jr = NULL, *jre = NULL;
    CU_ASSERT_EQUAL(GET_BM(DVFX_TEAM, NULL, &jl, &jle, "--json"), 0);
    CU_ASSERT_EQUAL(GET_BM(NULL, "observer-tok", &jr, &jre, "--json", "--server", dvfx_server->url),
                    0);
    json_t *a = json_loads(jl, 0, NULL), *b = json_loads(jr, 0, NULL);
    CU_ASSERT_TRUE(a && b && json_object_size(a) == json_object_size(b) &&
                   json_equal(json_object_get(a, "apple_id"), json_object_get(b, "apple_id")) &&
                   json_equal(json_object_get(a, "last_sync"), json_object_get(b, "last_sync")) &&
                   json_equal(json_object_get(a, "devices"), json_object_get(b, "devices")));
    json_decref(a);
    json_decref(b);

    /* What goes wrong says what to do; the token is never echoed. */
    static const struct {
        const char *token, *want;
    } bad[] = {{NULL, "ORCHARD_API_TOKEN"}, {"not-a-token", "401"}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(GET_BM(NULL, bad[i].token, &out, &err, "--server", dvfx_server->url), 1);
        CU_ASSERT_TRUE(dvfx_contains(err, bad[i].want));
        CU_ASSERT_STRING_EQUAL(out, "");
    }
    dvfx_configure(DVFX_NO_ABM);
    g_autofree char *o4 = NULL, *e4 = NULL;
    CU_ASSERT_EQUAL(GET_BM(NULL, "observer-tok", &o4, &e4, "--server", dvfx_server->url), 1);
    CU_ASSERT_TRUE(dvfx_contains(e4, "mdm.apple_bm_server_token is not set"));
    CU_ASSERT_STRING_EQUAL(o4, "");
    dvfx_configure(NULL);

    /* Locally without ABM: exit 1, how to set it up. */
    g_autofree char *o5 = NULL, *e5 = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(DVFX_NO_ABM, NULL, &o5, &e5, NOARGS), 1);
    CU_ASSERT_TRUE(dvfx_contains(e5, "`orchard generate mdm-apple-bm`"));
    /* Without a store: the token's part, and why nothing synced shows. */
    const char *const no_store[] = {"store.sqlite", NULL, NULL};
    g_autofree char *o6 = NULL, *e6 = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(no_store, NULL, &o6, &e6, NOARGS), 0);
    CU_ASSERT_TRUE(dvfx_contains(e6, "no store is configured"));
    CU_ASSERT_TRUE(dvfx_contains(o6, "Apple ID: (not synced yet"));
    CU_ASSERT_TRUE(dvfx_contains(o6, "Renew date: "));

    static const char *const usage[][3] = {{"--server", NULL, NULL},
                                           {"--ca", "x.pem", NULL},
                                           {"--bogus", NULL, NULL},
                                           {"--json", "extra", NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(usage); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(dvfx_get_bm(NULL, NULL, &out, &err, usage[i]), 2);
        CU_ASSERT_TRUE(dvfx_contains(err, "usage: orchard get mdm-apple-bm"));
    }
}

/* What a server (or something posing as one) answers is checked and
 * escaped like Apple's words. */
static void test_command_server_hostile(void)
{
    static const char good_fields[] =
        "\"apple_id\": \"x\", \"org_name\": \"o\", \"mdm_server_url\": \"\", "
        "\"renew_date\": \"2030-01-02T00:00:00Z\", \"default_team\": \"\", "
        "\"status\": \"ok\", \"days_left\": 100";
    g_autofree char *evil_ok = g_strdup_printf(
        "{%s, \"synced\": true, \"last_sync\": {\"kind\": \"sync\\u001b[31m\", "
        "\"error_code\": \"X\", \"error\": \"\\u0007bell\", \"fetched\": \"many\"}, "
        "\"devices\": [], \"terms_not_signed\": 1}",
        good_fields);
    g_autofree char *no_days = g_strdup_printf("{%s}", good_fields);
    *strstr(no_days, "100") = '"'; /* days_left: "00 -> a string that never closes */
    static const struct {
        int status;
        const char *body, *want_err, *want_out;
        int rc;
    } cases[] = {
        {200, "[]", "without Apple Business Manager's fields", NULL, 1},
        {200, "{\"apple_id\": \"x\"", "without Apple Business Manager's fields", NULL, 1},
        {200, "", "without Apple Business Manager's fields", NULL, 1},
        {200, "{\"apple_id\": 5}", "without Apple Business Manager's fields", NULL, 1},
        {404, "{\"message\": \"gone\\u001b[2J\"}", "gone\\x1b[2J", NULL, 1},
        {500, "not json", "answered 500", NULL, 1},
        {403, "{}", "observer role", NULL, 1},
        {200, NULL, NULL,
         "Last sync: (time unknown) (sync\\x1b[31m): failed: X: \\x07bell; 0 "
         "fetched",
         0},
        {200, NULL, "without Apple Business Manager's fields", NULL, 1},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        dvfx_evil_status = cases[i].status;
        dvfx_evil_body = cases[i].body ? cases[i].body : i == 7 ? evil_ok : no_days;
        g_autofree char *base = g_strconcat(dvfx_server->url, "/evil", NULL);
        g_autofree char *out = NULL, *err = NULL;
        int rc = GET_BM(NULL, "observer-tok", &out, &err, "--server", base);
        if (rc != cases[i].rc)
            fprintf(stderr, "\n  case %zu: exit %d: %s%s\n", i, rc, out, err);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (cases[i].want_err)
            CU_ASSERT_TRUE(dvfx_contains(err, cases[i].want_err));
        if (cases[i].want_out)
            CU_ASSERT_TRUE(dvfx_contains(out, cases[i].want_out));
        for (const char *p = out; p && *p; p++)
            CU_ASSERT_TRUE((unsigned char)*p >= 0x20 || *p == '\n');
        for (const char *p = err; p && *p; p++)
            CU_ASSERT_TRUE((unsigned char)*p >= 0x20 || *p == '\n');
    }
}

/* ---- the tables */

static void test_dep_devices_table(void)
{
    dvfx_reset();
    CU_ASSERT_EQUAL(dvfx_count_rows(&orchard_table_dep_devices, NULL, NULL), 0);
    dvfx_synced();
    /* A serial enrolled through DEP twice (a Mac wiped and set up again) is one row. */
    dvfx_enrolled("0000DE00-0000-0000-0000-000000000003", "SIM001000001", 1);
    orchard_rows *rows = dvfx_table_rows(&orchard_table_dep_devices, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 3);
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_SERIAL_NUMBER], "SIM001000001");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_MODEL], "MacBookPro18,3");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DESCRIPTION], "MBP 14");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_COLOR], "SPACE GRAY");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_OS], "OSX");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DEVICE_FAMILY], "Mac");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_STATUS], "assigned");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_UUID], OUR_PROFILE);
    CU_ASSERT_EQUAL(strlen(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT]), 20);
    CU_ASSERT_TRUE(g_str_has_suffix(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT], "Z"));
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ASSIGN_STATUS], "SUCCESS");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ASSIGN_ERROR], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_OP_TYPE], "added");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_OP_DATE], "2026-12-01T10:00:00Z");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DELETED], "0");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ENROLLED], "1");
    /* Enrolled, but not through the DEP URL. */
    v = orchard_rows_get(rows, 1);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_SERIAL_NUMBER], "SIM001000002");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ENROLLED], "0");
    /* Deleted by Apple, never assigned: '' where nothing is known. */
    v = orchard_rows_get(rows, 2);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DELETED], "1");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_UUID], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ASSIGN_ERROR], "NOT_ACCESSIBLE");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ENROLLED], "0");
    orchard_rows_free(rows);

    /* The key constraint reads one row; a hostile value is only a value. */
    rows = dvfx_table_rows(&orchard_table_dep_devices, "serial_number", "SIM001000002");
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 1);
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[DEP_DEVICES_COL_SERIAL_NUMBER],
                           "SIM001000002");
    orchard_rows_free(rows);
    CU_ASSERT_EQUAL(dvfx_count_rows(&orchard_table_dep_devices, "serial_number", "NOPE"), 0);
    CU_ASSERT_EQUAL(dvfx_count_rows(&orchard_table_dep_devices, "serial_number", "' OR 1=1 --"), 0);
    CU_ASSERT_EQUAL(dvfx_count_rows(&orchard_table_dep_devices, "serial_number", ""), 0);
    /* Another column's constraint is SQLite's to apply: every row comes back. */
    CU_ASSERT_EQUAL(dvfx_count_rows(&orchard_table_dep_devices, "model", "x"), 3);
}

static void test_dep_sync_runs_table(void)
{
    dvfx_reset();
    CU_ASSERT_EQUAL(dvfx_count_rows(&orchard_table_dep_sync_runs, NULL, NULL), 0);
    dvfx_synced();
    orchard_rows *rows = dvfx_table_rows(&orchard_table_dep_sync_runs, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 3);
    /* Newest first: the killed run, the good sync, the throttled fetch. */
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_KIND], "sync");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_FINISHED_AT], "");
    CU_ASSERT_EQUAL(strlen(v[DEP_SYNC_RUNS_COL_STARTED_AT]), 24); /* ...SS.mmmZ */
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_CURSOR_AGE], "60");
    v = orchard_rows_get(rows, 1);
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_FETCHED], "3");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ADDED], "2");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_MODIFIED], "1");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_DELETED], "0");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ASSIGNED], "2");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_PAGES], "1");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR_CODE], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR], "");
    CU_ASSERT_EQUAL(strlen(v[DEP_SYNC_RUNS_COL_FINISHED_AT]), 24);
    CU_ASSERT_TRUE(strcmp(v[DEP_SYNC_RUNS_COL_STARTED_AT], v[DEP_SYNC_RUNS_COL_FINISHED_AT]) < 0);
    gint64 id1 = g_ascii_strtoll(v[DEP_SYNC_RUNS_COL_ID], NULL, 10);
    v = orchard_rows_get(rows, 2);
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_KIND], "fetch");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_CURSOR_AGE], "-1");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR_CODE], "THROTTLED");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR], "Apple asked to wait 60 s");
    CU_ASSERT_TRUE(g_ascii_strtoll(v[DEP_SYNC_RUNS_COL_ID], NULL, 10) < id1);
    orchard_rows_free(rows);

    /* The store's list takes a limit, newest first. */
    g_autoptr(GPtrArray) two = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_dep_run_list(2, &two), 0);
    CU_ASSERT_EQUAL_FATAL(two->len, 2);
    CU_ASSERT_EQUAL(((orchard_dep_run *)two->pdata[1])->id, id1);
    CU_ASSERT_EQUAL(((orchard_dep_run *)two->pdata[0])->finished_at, 0);
}

/* ---- hostile: what Apple, or a damaged store, may have left */

static void test_hostile_account(void)
{
    dvfx_reset();
    /* Not an object, not JSON, truncated, a repeated key, empty: not synced. */
    static const char *const junk[] = {
        "[\"" ADMIN_ID "\"]",
        "\"" ADMIN_ID "\"",
        "null",
        "42",
        "not json at all",
        "{\"admin_id\": \"" ADMIN_ID "\"",
        "{\"admin_id\": \"a\", \"admin_id\": \"b\"}",
        "",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(junk); i++) {
        CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT, junk[i]), 0);
        json_t *o = dvfx_describe();
        if (json_is_true(json_object_get(o, "synced")))
            fprintf(stderr, "\n  account %s read as synced\n", junk[i]);
        CU_ASSERT_TRUE(json_is_false(json_object_get(o, "synced")));
        CU_ASSERT_STRING_EQUAL(dvfx_str(o, "apple_id"), "");
        json_decref(o);
    }
    /* An account_at that is not a time (or would overflow as milliseconds). */
    static const char *const not_times[] = {
        "yesterday", "-5", "0", "12abc", "99999999999999999", "99999999999999999999999"};
    json_t *o = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(not_times); i++) {
        CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT_AT, not_times[i]), 0);
        o = dvfx_describe();
        CU_ASSERT_TRUE(json_is_null(json_object_get(o, "account_at")));
        json_decref(o);
    }

    /* Over 64 KiB: not read at all. */
    GString *big = g_string_new("{\"admin_id\": \"" ADMIN_ID "\", \"org_name\": \"");
    for (int i = 0; i < 70000; i++)
        g_string_append_c(big, 'x');
    g_string_append(big, "\"}");
    CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT, big->str), 0);
    o = dvfx_describe();
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "synced")));
    json_decref(o);
    /* Long names are cut on a character boundary (2-byte characters here). */
    g_string_assign(big, "{\"admin_id\": \"" ADMIN_ID "\", \"org_name\": \"");
    for (int i = 0; i < 10000; i++)
        g_string_append(big, "\xc3\xa9");
    g_string_append(big, "\"}");
    CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT, big->str), 0);
    g_string_free(big, TRUE);
    o = dvfx_describe();
    const char *org = dvfx_str(o, "org_name");
    CU_ASSERT_TRUE(strlen(org) > 0 && strlen(org) <= ORCHARD_BM_FIELD_MAX);
    CU_ASSERT_EQUAL(strlen(org) % 2, 0);
    CU_ASSERT_TRUE(g_utf8_validate(org, -1, NULL));
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(out && strlen(out) < 2000);
}

static void test_hostile_text(void)
{
    dvfx_reset();
    /* Escapes that would clear a terminal, ring it, start a C1 CSI, or
     * forge a line of the output. */
    CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT,
                               "{\"admin_id\": \"a\\nRenew date: never@example.com\", "
                               "\"org_name\": \"Evil\\u001b[2J\\u0007Corp\\u009b31m\\u007f\"}"),
                    0);
    gint64 now = g_get_real_time() / 1000;
    GString *huge = g_string_new("Apple said: \x1b]0;owned\x07 ");
    for (int i = 0; i < 10000; i++)
        g_string_append_c(huge, 'e');
    dvfx_run("sync", now - 200, now - 100, 0, "SERVER_ERROR\r", huge->str);
    g_string_free(huge, TRUE);
    json_t *o = dvfx_describe();
    /* The JSON keeps Apple's text as sent (jansson escapes it), cut to length. */
    CU_ASSERT_STRING_EQUAL(dvfx_str(o, "org_name"), "Evil\x1b[2J\x07"
                                                    "Corp\xc2\x9b"
                                                    "31m\x7f");
    CU_ASSERT_TRUE(strlen(dvfx_str(json_object_get(o, "last_sync"), "error")) <=
                   4 * ORCHARD_BM_FIELD_MAX);
    json_decref(o);

    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(dvfx_contains(out, "Apple ID: a\\x0aRenew date: never@example.com\n"));
    CU_ASSERT_TRUE(dvfx_contains(out, "Organization name: Evil\\x1b[2J\\x07Corp\\u009b31m\\x7f\n"));
    CU_ASSERT_TRUE(
        dvfx_contains(out, "failed: SERVER_ERROR\\x0d: Apple said: \\x1b]0;owned\\x07 e"));
    /* Not one raw control byte (but the line ends) reaches the terminal. */
    for (const char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n') {
            fprintf(stderr, "\n  raw byte 0x%02x in the output\n", (unsigned char)*p);
            CU_FAIL("a control byte was printed");
            break;
        }
    CU_ASSERT_PTR_NULL(strstr(out, "\xc2\x9b"));
    CU_ASSERT_PTR_NULL(strstr(out, "\x7f"));
    /* Exactly one "Renew date:" line starts a line: the forged one is inside another. */
    CU_ASSERT_PTR_NULL(strstr(out, "\nRenew date: never"));
}

/* Times no writer makes (a damaged row): shown as unknown, never a crash
 * or an overflow. */
static void test_hostile_rows(void)
{
    dvfx_reset();
    CU_ASSERT_EQUAL(
        dvfx_sql("INSERT INTO dep_sync_runs (kind, started_at, finished_at, error_code) "
                 "VALUES ('sync', -5, 9223372036854775807, '')",
                 NULL, 0),
        0);
    CU_ASSERT_EQUAL(
        dvfx_sql("INSERT INTO dep_devices (serial_number, profile_assigned_at, deleted, "
                 "created_at, updated_at) VALUES ('ODD1', 9223372036854775807, 7, 0, 0)",
                 NULL, 0),
        0);
    orchard_rows *rows = dvfx_table_rows(&orchard_table_dep_sync_runs, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 1);
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[DEP_SYNC_RUNS_COL_STARTED_AT], "");
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[DEP_SYNC_RUNS_COL_FINISHED_AT], "");
    orchard_rows_free(rows);
    rows = dvfx_table_rows(&orchard_table_dep_devices, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 1);
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_MODEL], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DELETED], "1");
    orchard_rows_free(rows);
    json_t *o = dvfx_describe();
    json_t *last = json_object_get(o, "last_sync");
    CU_ASSERT_TRUE(json_is_null(json_object_get(last, "started_at")));
    CU_ASSERT_STRING_EQUAL(dvfx_str(last, "finished_at"), "");
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(dvfx_get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(dvfx_contains(out, "Last sync: (time unknown) (sync): ok"));
}

static void test_no_secret_in_any_output(void)
{
    CU_ASSERT_EQUAL(mdmfx_leaks(), 0);
}

void dep_views_suite(void)
{
    ORCHARD_ADD_SUITE("dep_views", dvfx_init, dvfx_cleanup, {"never_synced", test_never_synced},
                      {"synced", test_synced}, {"terms_not_signed", test_terms_not_signed},
                      {"expiring", test_expiring}, {"expired", test_expired}, {"api", test_api},
                      {"command_server", test_command_server},
                      {"command_server_hostile", test_command_server_hostile},
                      {"dep_devices_table", test_dep_devices_table},
                      {"dep_sync_runs_table", test_dep_sync_runs_table},
                      {"hostile_account", test_hostile_account},
                      {"hostile_text", test_hostile_text}, {"hostile_rows", test_hostile_rows},
                      {"no_secret_in_any_output", test_no_secret_in_any_output});
}

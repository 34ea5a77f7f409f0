/* dep_client: the DEP client (server_plugin/dep/dep_client.c) against the
 * ABM simulator (tests/support/dep_sim) run as a child: the session and its
 * reuse, rotation and expiry, a full fetch across pages, sync, every error
 * the simulator produces on demand, profile define and assign, device
 * details, a wrong secret, an expired token, retries, and bad arguments. */
#include "tests/server/dep_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEP_SIM_BIN BUILD_DIR "/tests/support/dep_sim/dep_sim"

/* ---- cases ------------------------------------------------------------------- */

static void test_session_and_account(void)
{
    dfx_say("reset", "{}");
    orchard_dep_client *c = dfx_client();
    gint64 sessions = dfx_calls("session");
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_account(c, &acct, &r), 0);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(acct, "org_name")), "Example Inc");
    CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(acct, "server_uuid")));
    json_decref(acct);
    /* The session is kept: a second call takes no new one. */
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    CU_ASSERT_EQUAL(dfx_calls("session"), sessions + 1);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

static void test_full_fetch_then_exhausted(void)
{
    dfx_say("reset", "{}");
    orchard_dep_client *c = dfx_client();
    GHashTable *seen = dfx_serial_set();
    char *cursor = NULL;
    CU_ASSERT_EQUAL(dfx_fetch_all(c, 0, &cursor, 100, seen), 3);
    CU_ASSERT_EQUAL(g_hash_table_size(seen), SIM_DEVICES);
    /* Past the end of the fetch: Apple says the fetch is done. */
    orchard_dep_result r = {0};
    json_t *page = NULL;
    int rc = orchard_dep_devices_page(c, 0, cursor, 100, &page, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_EXHAUSTED_CURSOR, "EXHAUSTED_CURSOR");
    CU_ASSERT_EQUAL(r.http_status, 400);
    CU_ASSERT_PTR_NULL(page);
    /* A page at the largest limit. */
    g_hash_table_remove_all(seen);
    g_clear_pointer(&cursor, g_free);
    CU_ASSERT_EQUAL(dfx_fetch_all(c, 0, &cursor, ORCHARD_DEP_PAGE_MAX, seen), 1);
    CU_ASSERT_EQUAL(g_hash_table_size(seen), SIM_DEVICES);
    orchard_dep_result_clear(&r);
    g_free(cursor);
    g_hash_table_destroy(seen);
    orchard_dep_client_free(c);
}

static void test_sync_changes(void)
{
    dfx_say("reset", "{}");
    orchard_dep_client *c = dfx_client();
    GHashTable *seen = dfx_serial_set();
    char *cursor = NULL;
    dfx_fetch_all(c, 0, &cursor, 1000, seen);
    /* Nothing changed: an empty sync page, with a cursor. */
    GHashTable *changes = dfx_serial_set();
    dfx_fetch_all(c, 1, &cursor, 100, changes);
    CU_ASSERT_EQUAL(g_hash_table_size(changes), 0);

    json_t *added = dfx_control("devices/add", "{\"count\": 3}");
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, seen);
    g_assert(g_hash_table_iter_next(&it, &k, &v));
    g_autofree char *modified = g_strdup(k);
    g_assert(g_hash_table_iter_next(&it, &k, &v));
    g_autofree char *deleted = g_strdup(k);
    g_autofree char *mbody = g_strdup_printf("{\"serials\":[\"%s\"],\"set\":{\"color\":\"red\"}}",
                                             modified);
    g_autofree char *dbody = g_strdup_printf("{\"serials\":[\"%s\"]}", deleted);
    dfx_say("devices/modify", mbody);
    dfx_say("devices/delete", dbody);

    CU_ASSERT(dfx_fetch_all(c, 1, &cursor, 2, changes) >= 3);
    CU_ASSERT_EQUAL(g_hash_table_size(changes), 5);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(changes, modified) ?: "", "modified");
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(changes, deleted) ?: "", "deleted");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(added, "added"), i, a) {
        const char *s = json_is_string(a) ? json_string_value(a)
                                          : json_string_value(json_object_get(a, "serial_number"));
        CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(changes, s ? s : "") ?: "", "added");
    }
    CU_ASSERT_EQUAL(json_array_size(json_object_get(added, "added")), 3);
    json_decref(added);
    g_free(cursor);
    g_hash_table_destroy(seen);
    g_hash_table_destroy(changes);
    orchard_dep_client_free(c);
}

static void test_cursor_errors(void)
{
    dfx_say("reset", "{}");
    orchard_dep_client *c = dfx_client();
    GHashTable *seen = dfx_serial_set();
    char *cursor = NULL;
    dfx_fetch_all(c, 0, &cursor, 1000, seen);
    orchard_dep_result r = {0};
    json_t *page = NULL;
    /* A cursor Apple never made. */
    int rc = orchard_dep_devices_page(c, 1, "not-a-cursor", 100, &page, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_INVALID_CURSOR, "INVALID_CURSOR");
    /* Cursors expire (Apple: after 7 days). */
    dfx_say("expire_cursors", "{}");
    rc = orchard_dep_devices_page(c, 1, cursor, 100, &page, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_EXPIRED_CURSOR, "EXPIRED_CURSOR");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "7 days"));
    /* Each on demand, on the full fetch too, then the call works again. */
    static const char *const codes[] = {"EXPIRED_CURSOR", "INVALID_CURSOR", "EXHAUSTED_CURSOR"};
    static const orchard_dep_status st[] = {ORCHARD_DEP_EXPIRED_CURSOR,
                                            ORCHARD_DEP_INVALID_CURSOR,
                                            ORCHARD_DEP_EXHAUSTED_CURSOR};
    for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
        g_autofree char *rule = g_strdup_printf("{\"endpoint\":\"fetch\",\"error\":\"%s\"}",
                                                codes[i]);
        dfx_say("fail", rule);
        rc = orchard_dep_devices_page(c, 0, NULL, 100, &page, &r);
        dfx_expect_fail(rc, ORCHARD_EPROTO, &r, st[i], codes[i]);
        CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 0, NULL, 100, &page, &r), 0);
        json_decref(page);
    }
    orchard_dep_result_clear(&r);
    g_free(cursor);
    g_hash_table_destroy(seen);
    orchard_dep_client_free(c);
}

/* Apple's errors in each body shape met in the wild: bare text, a JSON
 * string, a {"code", "message"} object. */
static void test_error_body_shapes(void)
{
    static const struct {
        const char *ep, *error;
        orchard_dep_status st;
        const char *code;
    } cases[] = {
        {"fetch", "EXPIRED_CURSOR", ORCHARD_DEP_EXPIRED_CURSOR, "EXPIRED_CURSOR"},
        {"sync", "INVALID_CURSOR", ORCHARD_DEP_INVALID_CURSOR, "INVALID_CURSOR"},
        {"fetch", "EXHAUSTED_CURSOR", ORCHARD_DEP_EXHAUSTED_CURSOR, "EXHAUSTED_CURSOR"},
        {"fetch", "T_C_NOT_SIGNED", ORCHARD_DEP_T_C_NOT_SIGNED, "T_C_NOT_SIGNED"},
        {"sync", "503", ORCHARD_DEP_SERVER_ERROR, "INTERNAL_SERVER_ERROR"},
    };
    static const char *const shapes[] = {"text", "string", "object"};
    orchard_dep_client *c = dfx_client_with(NULL, -1);
    orchard_dep_result r = {0};
    json_t *page = NULL;
    for (size_t s = 0; s < G_N_ELEMENTS(shapes); s++) {
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
            g_autofree char *rule = g_strdup_printf("{\"endpoint\":\"%s\",\"error\":\"%s\","
                                                    "\"body\":\"%s\"}", cases[i].ep,
                                                    cases[i].error, shapes[s]);
            dfx_say("fail", rule);
            int rc = orchard_dep_devices_page(c, !strcmp(cases[i].ep, "sync"), NULL, 10, &page,
                                              &r);
            dfx_expect_fail(rc, ORCHARD_EPROTO, &r, cases[i].st, cases[i].code);
        }
        /* A FORBIDDEN session in this shape still takes one new session. */
        gint64 s0 = dfx_calls("session");
        g_autofree char *rule = g_strdup_printf("{\"endpoint\":\"fetch\",\"error\":\"403\","
                                                "\"body\":\"%s\"}", shapes[s]);
        dfx_say("fail", rule);
        CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 0, NULL, 10, &page, &r), 0);
        json_decref(page);
        CU_ASSERT_EQUAL(dfx_calls("session"), s0 + 1);
    }
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

static void test_terms_not_signed(void)
{
    orchard_dep_client *c = dfx_client();
    orchard_dep_result r = {0};
    json_t *page = NULL;
    dfx_say("fail", "{\"endpoint\":\"sync\",\"error\":\"T_C_NOT_SIGNED\"}");
    int rc = orchard_dep_devices_page(c, 1, NULL, 100, &page, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_T_C_NOT_SIGNED, "T_C_NOT_SIGNED");
    CU_ASSERT_EQUAL(r.http_status, 403);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "terms and conditions"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "accept"));
    /* Also when it comes at the session. */
    orchard_dep_client *c2 = dfx_client();
    dfx_say("fail", "{\"endpoint\":\"session\",\"error\":\"T_C_NOT_SIGNED\"}");
    json_t *acct = NULL;
    rc = orchard_dep_account(c2, &acct, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_T_C_NOT_SIGNED, "T_C_NOT_SIGNED");
    CU_ASSERT_PTR_NULL(acct);
    CU_ASSERT_EQUAL(orchard_dep_account(c2, &acct, &r), 0);
    json_decref(acct);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
    orchard_dep_client_free(c2);
}

static void test_throttled(void)
{
    orchard_dep_client *c = dfx_client();
    orchard_dep_result r = {0};
    json_t *page = NULL;
    /* 429 with Retry-After: the dfx_client says how long and does not sleep. */
    dfx_say("fail", "{\"endpoint\":\"fetch\",\"error\":\"THROTTLED\",\"retry_after\":17}");
    gint64 t0 = g_get_monotonic_time();
    int rc = orchard_dep_devices_page(c, 0, NULL, 100, &page, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_THROTTLED, "THROTTLED");
    CU_ASSERT_EQUAL(r.http_status, 429);
    CU_ASSERT_EQUAL(r.retry_after, 17);
    CU_ASSERT(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    /* THROTTLED as a 400 with retry_after_seconds in the body. */
    dfx_say("fail", "{\"endpoint\":\"*\",\"error\":\"THROTTLED\",\"retry_after\":42,"
                    "\"status\":400}");
    rc = orchard_dep_devices_page(c, 0, NULL, 100, &page, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_THROTTLED, "THROTTLED");
    CU_ASSERT_EQUAL(r.http_status, 400);
    CU_ASSERT_EQUAL(r.retry_after, 42);
    CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 0, NULL, 100, &page, &r), 0);
    json_decref(page);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

static void test_reauth_once(void)
{
    orchard_dep_client *c = dfx_client();
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    /* The session expired: one new session, the call goes through. */
    gint64 s0 = dfx_calls("session"), a0 = dfx_calls("account");
    dfx_say("expire_sessions", "{}");
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    CU_ASSERT_EQUAL(dfx_calls("session"), s0 + 1);
    CU_ASSERT_EQUAL(dfx_calls("account"), a0 + 2);
    /* 403 FORBIDDEN (Apple forgot the session): the same. */
    dfx_say("fail", "{\"endpoint\":\"account\",\"error\":\"FORBIDDEN\"}");
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    CU_ASSERT_EQUAL(dfx_calls("session"), s0 + 2);
    /* A 401 again after the new session: UNAUTHORIZED, no third session. */
    dfx_say("fail", "{\"endpoint\":\"account\",\"error\":\"401\",\"count\":2}");
    int rc = orchard_dep_account(c, &acct, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_UNAUTHORIZED, "UNAUTHORIZED");
    CU_ASSERT_EQUAL(r.http_status, 401);
    CU_ASSERT_EQUAL(dfx_calls("session"), s0 + 3);
    CU_ASSERT_EQUAL(dfx_calls("account"), a0 + 6);
    /* T_C_NOT_SIGNED is a 403 too, but no session problem: no re-auth. */
    dfx_say("fail", "{\"endpoint\":\"account\",\"error\":\"T_C_NOT_SIGNED\"}");
    rc = orchard_dep_account(c, &acct, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_T_C_NOT_SIGNED, "T_C_NOT_SIGNED");
    CU_ASSERT_EQUAL(dfx_calls("session"), s0 + 3);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

static void test_session_rotation(void)
{
    orchard_dep_client *c = dfx_client();
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    gint64 s0 = dfx_calls("session");
    /* Apple hands out a new session and ends the old one: the dfx_client follows. */
    dfx_say("rotate_session", "{\"count\": 2}");
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), 0);
        json_decref(acct);
    }
    CU_ASSERT_EQUAL(dfx_calls("session"), s0);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

static void test_wrong_secret(void)
{
    orchard_abm_token bad = dfx.token;
    bad.consumer_secret = "CS_not_the_right_one";
    orchard_dep_client *c = dfx_client_with(&bad, 0);
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    gint64 a0 = dfx_calls("account");
    int rc = orchard_dep_account(c, &acct, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_UNAUTHORIZED, NULL);
    CU_ASSERT_EQUAL(r.http_status, 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "token"));
    CU_ASSERT_PTR_NULL(strstr(r.message, bad.consumer_secret));
    CU_ASSERT_EQUAL(dfx_calls("account"), a0); /* nothing sent without a session */
    /* The wrong access secret too. */
    orchard_abm_token bad2 = dfx.token;
    bad2.access_secret = "AS_wrong";
    orchard_dep_client *c2 = dfx_client_with(&bad2, 0);
    rc = orchard_dep_account(c2, &acct, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_UNAUTHORIZED, NULL);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
    orchard_dep_client_free(c2);
}

static void test_expired_token(void)
{
    orchard_abm_token old = dfx.token;
    old.access_token_expiry = "2020-01-01T00:00:00Z";
    old.expiry = 1577836800;
    orchard_dep_client *c = dfx_client_with(&old, 0);
    orchard_dep_result r = {0};
    json_t *j = NULL;
    gint64 s0 = dfx_calls("session"), f0 = dfx_calls("fetch");
    int rc = orchard_dep_devices_page(c, 0, NULL, 100, &j, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_TOKEN_EXPIRED, NULL);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "2020-01-01T00:00:00Z"));
    CU_ASSERT_EQUAL(orchard_dep_account(c, &j, &r), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_TOKEN_EXPIRED);
    CU_ASSERT_EQUAL(dfx_calls("session"), s0);
    CU_ASSERT_EQUAL(dfx_calls("fetch"), f0);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

static void test_server_errors_retried(void)
{
    orchard_dep_client *c = dfx_client_with(NULL, 3);
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    gint64 a0 = dfx_calls("account");
    /* Two 5xx, then an answer: within the retries. */
    dfx_say("fail", "{\"endpoint\":\"account\",\"error\":\"500\",\"count\":2}");
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    CU_ASSERT_EQUAL(dfx_calls("account"), a0 + 3);
    /* More than the retries: SERVER_ERROR after 1 + 3 tries. */
    dfx_say("fail", "{\"endpoint\":\"account\",\"error\":\"503\",\"count\":10}");
    int rc = orchard_dep_account(c, &acct, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_SERVER_ERROR, "INTERNAL_SERVER_ERROR");
    CU_ASSERT_EQUAL(r.http_status, 503);
    CU_ASSERT_EQUAL(dfx_calls("account"), a0 + 7);
    /* The session too is retried on a 502. */
    orchard_dep_client *c2 = dfx_client_with(NULL, 2);
    gint64 s0 = dfx_calls("session");
    dfx_say("fail", "{\"endpoint\":\"session\",\"error\":\"502\",\"count\":2}");
    CU_ASSERT_EQUAL(orchard_dep_account(c2, &acct, &r), 0);
    json_decref(acct);
    CU_ASSERT_EQUAL(dfx_calls("session"), s0 + 3);
    /* No retries: the first 5xx is the answer. */
    orchard_dep_client *c3 = dfx_client_with(NULL, -1);
    dfx_say("fail", "{\"endpoint\":\"session\",\"error\":\"500\"}");
    rc = orchard_dep_account(c3, &acct, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_SERVER_ERROR, NULL);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
    orchard_dep_client_free(c2);
    orchard_dep_client_free(c3);
}

static void test_no_answer(void)
{
    /* A port nothing listens on: NETWORK after the retries, ORCHARD_EIO. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CU_ASSERT_FATAL(bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
                    getsockname(s, (struct sockaddr *)&a, &al) == 0);
    g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d", ntohs(a.sin_port));
    close(s);
    orchard_dep_client_config cfg = {.base_url = url, .token = &dfx.token, .timeout_ms = 5000,
                                     .max_retries = 2, .backoff_ms = 1};
    orchard_dep_client *c = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_client_new(dfx.ctx, &cfg, &c), 0);
    orchard_dep_result r = {0};
    json_t *j = NULL;
    int rc = orchard_dep_account(c, &j, &r);
    dfx_expect_fail(rc, ORCHARD_EIO, &r, ORCHARD_DEP_NETWORK, NULL);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "did not answer"));
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}


static void test_profile_define_and_assign(void)
{
    dfx_say("reset", "{}");
    orchard_dep_client *c = dfx_client();
    orchard_dep_result r = {0};
    json_t *profile = json_pack("{s:s, s:s, s:b, s:b}", "profile_name", "orchard automatic "
                                "enrollment", "url", "https://orchard.example.com/mdm/apple/dep",
                                "is_mdm_removable", 0, "await_device_configured", 1);
    char *uuid = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_profile_define(c, profile, &uuid, &r), 0);
    CU_ASSERT_EQUAL(strlen(uuid), 32);
    /* Apple's refusal of a profile comes back REFUSED with its code. */
    json_t *bad = json_pack("{s:s}", "profile_name", "no url");
    char *none = NULL;
    int rc = orchard_dep_profile_define(c, bad, &none, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_REFUSED, "MALFORMED_REQUEST_BODY");
    CU_ASSERT_PTR_NULL(none);
    json_decref(bad);

    /* Assign: per-serial results, one FAILED on demand, one unknown. */
    char **serials = dfx_some_serials(c, 3);
    g_autofree char *fail = g_strdup_printf("{\"serials\":[\"%s\"]}", serials[1]);
    dfx_say("fail_assign", fail);
    const char *list[] = {serials[0], serials[1], serials[2], "C02UNKNOWN00"};
    json_t *devices = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_profile_assign(c, uuid, list, 4, &devices, &r), 0);
    CU_ASSERT_EQUAL(json_object_size(devices), 4);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(devices, serials[0])), "SUCCESS");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(devices, serials[1])), "FAILED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(devices, serials[2])), "SUCCESS");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(devices, "C02UNKNOWN00")),
                           "NOT_ACCESSIBLE");
    json_decref(devices);
    /* The details show the profile on the assigned device. */
    json_t *details = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_device_details(c, list, 4, &details, &r), 0);
    json_t *d0 = json_object_get(json_object_get(details, "devices"), serials[0]);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d0, "profile_uuid")) ?: "", uuid);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               json_object_get(json_object_get(details, "devices"),
                                               "C02UNKNOWN00"), "response_status")) ?: "",
                           "NOT_ACCESSIBLE");
    json_decref(details);
    /* An unknown profile. */
    rc = orchard_dep_profile_assign(c, "0000", list, 1, &devices, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_REFUSED, "PROFILE_NOT_FOUND");
    CU_ASSERT_PTR_NULL(devices);
    /* Assign and define answer THROTTLED like the rest. */
    dfx_say("fail", "{\"endpoint\":\"assign\",\"error\":\"THROTTLED\",\"retry_after\":9}");
    rc = orchard_dep_profile_assign(c, uuid, list, 1, &devices, &r);
    dfx_expect_fail(rc, ORCHARD_EPROTO, &r, ORCHARD_DEP_THROTTLED, "THROTTLED");
    CU_ASSERT_EQUAL(r.retry_after, 9);
    orchard_dep_result_clear(&r);
    g_strfreev(serials);
    g_free(uuid);
    json_decref(profile);
    orchard_dep_client_free(c);
}

/* Arguments refused before anything is sent. */
static void test_bad_arguments(void)
{
    orchard_dep_client *c = dfx_client();
    orchard_dep_result r = {0};
    json_t *j = NULL;
    char *uuid = NULL;
    gint64 calls0 = dfx_calls("fetch") + dfx_calls("assign") + dfx_calls("profile") +
                    dfx_calls("details") + dfx_calls("session");
    CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 0, NULL, 0, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_REFUSED);
    CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 0, NULL, 1001, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 1, "\xff\xfe", 10, &j, &r), ORCHARD_EINVAL);
    json_t *arr = json_array();
    CU_ASSERT_EQUAL(orchard_dep_profile_define(c, arr, &uuid, &r), ORCHARD_EINVAL);
    json_decref(arr);
    const char *ok[] = {"C02A"}, *spaced[] = {"C02 A"}, *empty[] = {""}, *null[] = {NULL};
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c, "P", ok, 0, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c, "P", ok, 1001, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c, NULL, ok, 1, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c, "", ok, 1, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c, "P", spaced, 1, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c, "P", empty, 1, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c, "P", null, 1, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_device_details(c, ok, 0, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_device_details(c, spaced, 1, &j, &r), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_PTR_NULL(uuid);
    CU_ASSERT_EQUAL(dfx_calls("fetch") + dfx_calls("assign") + dfx_calls("profile") +
                    dfx_calls("details") + dfx_calls("session"), calls0);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);

    /* Clients that cannot be made. */
    static const char *const urls[] = {"ftp://x/", "mdmenrollment.apple.com", "https://x/?q=1",
                                       "https://x/#f", "https://x y/", "http://u:p@x/"};
    for (size_t i = 0; i < G_N_ELEMENTS(urls); i++) {
        orchard_dep_client_config cfg = {.base_url = urls[i], .token = &dfx.token};
        CU_ASSERT_EQUAL(orchard_dep_client_new(dfx.ctx, &cfg, &c), ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(c);
    }
    orchard_abm_token half = dfx.token;
    half.access_secret = NULL;
    orchard_dep_client_config cfg = {.token = &half};
    CU_ASSERT_EQUAL(orchard_dep_client_new(dfx.ctx, &cfg, &c), ORCHARD_EINVAL);
    cfg.token = NULL;
    CU_ASSERT_EQUAL(orchard_dep_client_new(dfx.ctx, &cfg, &c), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_dep_client_new(dfx.ctx, NULL, &c), ORCHARD_EINVAL);
    /* The default is Apple's production host (no call is made here). */
    cfg.token = &dfx.token;
    CU_ASSERT_EQUAL(orchard_dep_client_new(dfx.ctx, &cfg, &c), 0);
    orchard_dep_client_free(c);
    orchard_dep_client_free(NULL);
}

/* The token as ABM hands it out: `dep_sim token` encrypts the account's
 * values to the ABM key pair; abm_token.c decrypts them; the dfx_client uses them. */
static void test_token_from_p7m(void)
{
    g_autofree char *creds = mdmfx_path("dep_creds.json");
    g_autofree char *cert = mdmfx_path("bm.crt");
    g_autofree char *out = mdmfx_path("dep_sim_token.p7m");
    const char *argv[] = {DEP_SIM_BIN, "token", "--cert", cert, "--credentials", creds, "--out",
                          out, "--expiry", "2099-06-01T00:00:00Z", NULL};
    CU_ASSERT_EQUAL_FATAL(mdmfx_spawn(mdmfx_state.dir, NULL, NULL, argv), 0);
    g_autofree char *data = NULL, *key_pem = mdmfx_read("bm.key"), *cert_pem = mdmfx_read("bm.crt");
    gsize len = 0;
    CU_ASSERT_FATAL(g_file_get_contents(out, &data, &len, NULL));
    BIO *kb = BIO_new_mem_buf(key_pem, -1), *cb = BIO_new_mem_buf(cert_pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    BIO_free(kb);
    BIO_free(cb);
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_abm_token_decrypt(data, len, x, key, "token", "key", &t, &err),
                          0);
    EVP_PKEY_free(key);
    X509_free(x);
    orchard_dep_client *c = dfx_client_with(t, 0);
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), 0);
    json_decref(acct);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
    orchard_abm_token_free(t);
}

void dep_client_suite(void)
{
    ORCHARD_ADD_SUITE("dep_client", dfx_init, dfx_cleanup,
                      {"session_and_account", test_session_and_account},
                      {"full_fetch_then_exhausted", test_full_fetch_then_exhausted},
                      {"sync_changes", test_sync_changes},
                      {"cursor_errors", test_cursor_errors},
                      {"error_body_shapes", test_error_body_shapes},
                      {"terms_not_signed", test_terms_not_signed},
                      {"throttled", test_throttled},
                      {"reauth_once", test_reauth_once},
                      {"session_rotation", test_session_rotation},
                      {"wrong_secret", test_wrong_secret},
                      {"expired_token", test_expired_token},
                      {"server_errors_retried", test_server_errors_retried},
                      {"no_answer", test_no_answer},
                      {"profile_define_and_assign", test_profile_define_and_assign},
                      {"bad_arguments", test_bad_arguments},
                      {"token_from_p7m", test_token_from_p7m});
}

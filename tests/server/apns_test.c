/* apns: the pusher (server_plugin/apns/) against the APNs stand-in
 * (tests/support/apns_standin) over real HTTP/2 and TLS: what a push
 * carries, coalescing, each permanent error marking the token dead until a
 * TokenUpdate, retries with backoff and their end, an untrusted stand-in;
 * the outcome rules and APNs' error bodies alone (hostile ones too); the
 * push API's handler through a fake request; `orchard push` as the real
 * binary. The job runs in process with the test's own clock; the stand-in
 * and the helpers are apns_fixture.c's. */
#include "tests/server/apns_fixture.h"

#include "server_plugin/api/api.h"
#include "server_plugin/apns/apns.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_pushes.h"
#include "server_plugin/store/store_sql.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WEEK_S (7 * 24 * 3600)
#define NEED_STANDIN() CU_ASSERT_FATAL(apnsfx.ready)

typedef apnsfx_device device;
typedef apnsfx_resp fake_resp;

/* ---- outcome rules and error bodies alone ------------------------------------ */

static void test_apns__classify(void)
{
    const char *dead[][2] = {{"400", "BadDeviceToken"}, {"400", "DeviceTokenNotForTopic"},
                             {"403", "BadCertificate"}, {"403", "BadCertificateEnvironment"},
                             {"400", "BadTopic"},       {"400", "TopicDisallowed"},
                             {"410", "Unregistered"},   {"410", "ExpiredToken"},
                             {"410", NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(dead); i++)
        CU_ASSERT_EQUAL(orchard_apns_classify(0, atoi(dead[i][0]), dead[i][1]), ORCHARD_APNS_DEAD);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 200, NULL), ORCHARD_APNS_SENT);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 429, "TooManyRequests"), ORCHARD_APNS_RETRY);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 500, "InternalServerError"), ORCHARD_APNS_RETRY);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 503, "ServiceUnavailable"), ORCHARD_APNS_RETRY);
    CU_ASSERT_EQUAL(orchard_apns_classify(ORCHARD_EIO, 0, NULL), ORCHARD_APNS_RETRY);
    CU_ASSERT_EQUAL(orchard_apns_classify(ORCHARD_ETIMEOUT, 0, NULL), ORCHARD_APNS_RETRY);
    /* Other 4xx: recorded and done, never retried, the token kept. */
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 400, "BadExpirationDate"), ORCHARD_APNS_REFUSED);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 403, "Forbidden"), ORCHARD_APNS_REFUSED);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 413, "PayloadTooLarge"), ORCHARD_APNS_REFUSED);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 400, NULL), ORCHARD_APNS_REFUSED);
    /* A permanent reason only counts with the status Apple sends it with. */
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 404, "BadDeviceToken"), ORCHARD_APNS_REFUSED);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 400, "baddevicetoken"), ORCHARD_APNS_REFUSED);
    CU_ASSERT_EQUAL(orchard_apns_classify(0, 302, NULL), ORCHARD_APNS_REFUSED);
}

static void test_apns__backoff(void)
{
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(0, 0.5), 1000);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(1, 0.5), 2000);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(5, 0.5), 32000);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(9, 0.5), 512000);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(10, 0.5), 600000); /* the cap */
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(63, 0.5), 600000);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(G_MAXINT64, 0.5), 600000);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(-1, 0.5), 600000);
    /* +-20 % jitter, clamped. */
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(0, 0.0), 800);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(0, 1.0), 1200);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(0, 7.0), 1200);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(0, -3.0), 800);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(0, NAN), 800);
    CU_ASSERT_EQUAL(orchard_apns_backoff_ms(10, 1.0), 720000);
}

static int reason_of(const char *body, char *out, size_t n)
{
    return orchard_apns_reason((const unsigned char *)body, body ? strlen(body) : 0, out, n);
}

static void test_apns__reason_hostile(void)
{
    char r[64];
    CU_ASSERT_EQUAL(reason_of("{\"reason\":\"BadDeviceToken\"}", r, sizeof r), 0);
    CU_ASSERT_STRING_EQUAL(r, "BadDeviceToken");
    CU_ASSERT_EQUAL(reason_of("{\"reason\":\"Unregistered\",\"timestamp\":1700000000000}", r,
                              sizeof r), 0);
    CU_ASSERT_STRING_EQUAL(r, "Unregistered");
    const char *bad[] = {
        NULL, "", "{", "{\"reason\":\"BadDevi", "[\"reason\"]", "\"BadDeviceToken\"",
        "{\"reason\":42}", "{\"reason\":null}", "{\"Reason\":\"BadTopic\"}", "{\"reason\":\"\"}",
        "{\"reason\":\"Bad Topic\"}", "{\"reason\":\"Bad\\nTopic\"}", "{\"reason\":\"x\\u0000y\"}",
        "{\"reason\":\"<script>\"}", "{\"reason\":\"a\",\"reason\":\"b\"}",
        "{\"reason\":\"BadTopic\"} trailing", "\xff\xfe{}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        strcpy(r, "untouched");
        CU_ASSERT_EQUAL(reason_of(bad[i], r, sizeof r), ORCHARD_EINVAL);
        CU_ASSERT_STRING_EQUAL(r, "");
    }
    /* Oversized: a reason over 64 characters, one over the buffer, a huge body. */
    g_autofree char *word = g_strnfill(65, 'A');
    g_autofree char *long_reason = g_strdup_printf("{\"reason\":\"%s\"}", word);
    CU_ASSERT_EQUAL(reason_of(long_reason, r, sizeof r), ORCHARD_EINVAL);
    char tiny[4];
    CU_ASSERT_EQUAL(reason_of("{\"reason\":\"BadTopic\"}", tiny, sizeof tiny), ORCHARD_EINVAL);
    CU_ASSERT_STRING_EQUAL(tiny, "");
    GString *deep = g_string_new(NULL);
    for (int i = 0; i < 100000; i++)
        g_string_append_c(deep, '[');
    CU_ASSERT_EQUAL(reason_of(deep->str, r, sizeof r), ORCHARD_EINVAL);
    g_string_free(deep, TRUE);
}

/* ---- the store alone ----------------------------------------------------------- */

static void test_apns__store_coalesce(void)
{
    device d;
    apnsfx_enroll(&d);
    for (int i = 0; i < 3; i++)
        apnsfx_want(&d);
    GPtrArray *due = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_push_due(apnsfx_now_ms() + 1000, 1000, &due), 0);
    int mine = 0;
    for (guint i = 0; i < due->len; i++) {
        orchard_push_due *p = due->pdata[i];
        if (strcmp(p->udid, d.udid) != 0)
            continue;
        mine++;
        CU_ASSERT_STRING_EQUAL(p->token_hex, d.token_hex);
        CU_ASSERT_STRING_EQUAL(p->push_magic, d.magic);
        CU_ASSERT_STRING_EQUAL(p->topic, mdmfx_state.topic);
        CU_ASSERT_EQUAL(p->attempts, 0);
    }
    CU_ASSERT_EQUAL(mine, 1);
    g_ptr_array_unref(due);
    /* Not due before it was wanted. */
    CU_ASSERT_EQUAL_FATAL(orchard_store_push_due(apnsfx_now_ms() - 60000, 1000, &due), 0);
    CU_ASSERT_EQUAL(due->len, 0);
    g_ptr_array_unref(due);

    /* A want while a push is in flight survives the push's settling. */
    gint64 next = 0;
    CU_ASSERT_FATAL(apnsfx_queued(&d, NULL, &next));
    orchard_push_outcome o = {.udid = d.udid, .status = 200, .sent_ms = apnsfx_now_ms(),
                              .next = ORCHARD_PUSH_DONE, .due_ms = next - 5};
    CU_ASSERT_EQUAL(orchard_store_push_settle(&o, 1), 0);
    CU_ASSERT(apnsfx_queued(&d, NULL, NULL));
    o.due_ms = next;
    CU_ASSERT_EQUAL(orchard_store_push_settle(&o, 1), 0);
    CU_ASSERT(!apnsfx_queued(&d, NULL, NULL));

    /* An unknown device is due with no token, so the job drops it. */
    const char *ghost = "0000FE00-NOT-ENROLLED";
    CU_ASSERT_EQUAL(orchard_store_push_want(&ghost, 1, 5), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_push_due(10, 1000, &due), 0);
    CU_ASSERT_EQUAL_FATAL(due->len, 1);
    CU_ASSERT_PTR_NULL(((orchard_push_due *)due->pdata[0])->token_hex);
    g_ptr_array_unref(due);
    orchard_apns_stats st = apnsfx_run_at(10);
    CU_ASSERT_EQUAL(st.dropped, 1);
    CU_ASSERT_EQUAL(st.sent, 0);
    /* Gone from the queue, and no push recorded: nothing was sent. */
    device g = {0};
    g_strlcpy(g.udid, ghost, sizeof g.udid);
    CU_ASSERT(!apnsfx_queued(&g, NULL, NULL));
    g_autoptr(GPtrArray) none = apnsfx_records_of(&g);
    CU_ASSERT_EQUAL(none->len, 0);
}

/* 2026-12-06: wants travel in multi-row statements; one statement may not
 * name a UDID twice on PostgreSQL, so a UDID named twice is wanted once. */
static void test_apns__store_want_many(void)
{
    enum { N = 2 * ORCHARD_SQL_BATCH_ROWS + 17 };
    char names[N][40];
    const char *udids[N + 3];
    for (int i = 0; i < N; i++) {
        g_snprintf(names[i], sizeof names[i], "0000FE01-MANY-%04d", i);
        udids[i] = names[i];
    }
    udids[N] = names[3], udids[N + 1] = names[N - 1], udids[N + 2] = names[3];
    CU_ASSERT_EQUAL_FATAL(orchard_store_push_want(udids, N + 3, 20), 0);
    GPtrArray *due = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_push_due(20, 100000, &due), 0);
    int mine = 0;
    for (guint i = 0; i < due->len; i++)
        mine += g_str_has_prefix(((orchard_push_due *)due->pdata[i])->udid, "0000FE01-MANY-");
    CU_ASSERT_EQUAL(mine, N);
    g_ptr_array_unref(due);
    orchard_apns_stats st = apnsfx_run_at(20); /* unknown devices: dropped */
    CU_ASSERT_EQUAL(st.dropped, N);
    CU_ASSERT_EQUAL(orchard_store_push_want(udids, 0, 20), 0);
}

/* ---- against the stand-in --------------------------------------------------------- */

static void test_apns__push_reaches_standin(void)
{
    NEED_STANDIN();
    device d;
    apnsfx_enroll(&d);
    apnsfx_want(&d);
    gint64 before = apnsfx_now_ms() / 1000;
    orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
    CU_ASSERT_EQUAL(st.sent, 1);
    CU_ASSERT_EQUAL(st.retried + st.dead + st.refused, 0);
    CU_ASSERT(!apnsfx_queued(&d, NULL, NULL));

    g_autoptr(GPtrArray) rec = apnsfx_recorded(d.token_hex);
    CU_ASSERT_EQUAL_FATAL(rec->len, 1);
    json_t *j = rec->pdata[0];
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "status")), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "mdm")), d.magic);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "topic")), mdmfx_state.topic);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "push_type")), "mdm");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "priority")), "10");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "method")), "POST");
    g_autofree char *path = g_strdup_printf("/3/device/%s", d.token_hex);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "path")), path);
    const char *exp = json_string_value(json_object_get(j, "expiration"));
    gint64 e = exp ? g_ascii_strtoll(exp, NULL, 10) : 0;
    CU_ASSERT(e >= before + WEEK_S && e <= apnsfx_now_ms() / 1000 + WEEK_S);

    /* Recorded with the apns-id the stand-in answered. */
    g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
    CU_ASSERT_EQUAL_FATAL(mine->len, 1);
    orchard_push_record *r = mine->pdata[0];
    CU_ASSERT_EQUAL(r->status_code, 200);
    CU_ASSERT_STRING_EQUAL(r->apns_id, json_string_value(json_object_get(j, "apns_id")));
    CU_ASSERT_PTR_NULL(r->reason);
}

static void test_apns__coalesced(void)
{
    NEED_STANDIN();
    device d, e;
    apnsfx_enroll(&d);
    apnsfx_enroll(&e);
    long before = apnsfx_say(NULL);
    for (int i = 0; i < 3; i++)
        apnsfx_want(&d);
    apnsfx_want(&e);
    orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
    CU_ASSERT_EQUAL(st.sent, 2);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), before + 2);
    g_autoptr(GPtrArray) rec = apnsfx_recorded(d.token_hex);
    CU_ASSERT_EQUAL(rec->len, 1);
    /* Nothing left: a second run sends nothing. */
    st = apnsfx_run_at(apnsfx_now_ms());
    CU_ASSERT_EQUAL(st.sent, 0);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), before + 2);
}

static void test_apns__permanent_errors(void)
{
    NEED_STANDIN();
    const char *errs[][2] = {{"400", "BadDeviceToken"}, {"400", "DeviceTokenNotForTopic"},
                             {"403", "BadCertificate"}, {"403", "BadCertificateEnvironment"},
                             {"400", "BadTopic"},       {"400", "TopicDisallowed"},
                             {"410", "Unregistered"}};
    for (size_t i = 0; i < G_N_ELEMENTS(errs); i++) {
        device d;
        apnsfx_enroll(&d);
        g_autofree char *rule = g_strdup_printf("fail %s %s %s 1", d.token_hex, errs[i][0],
                                                errs[i][1]);
        long n0 = apnsfx_say(rule);
        apnsfx_want(&d);
        orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
        CU_ASSERT_EQUAL(st.dead, 1);
        g_autofree char *why = NULL;
        CU_ASSERT_EQUAL(apnsfx_token_valid(&d, &why), 0);
        CU_ASSERT_STRING_EQUAL(why ? why : "", errs[i][1]);
        CU_ASSERT(!apnsfx_queued(&d, NULL, NULL));
        g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
        CU_ASSERT_EQUAL_FATAL(mine->len, 1);
        orchard_push_record *r = mine->pdata[0];
        CU_ASSERT_EQUAL(r->status_code, atoi(errs[i][0]));
        CU_ASSERT_STRING_EQUAL(r->reason, errs[i][1]);

        /* Not pushed again while the token is dead... */
        apnsfx_want(&d);
        st = apnsfx_run_at(apnsfx_now_ms());
        CU_ASSERT_EQUAL(st.dropped, 1);
        CU_ASSERT_EQUAL(st.sent, 0);
        CU_ASSERT_EQUAL(apnsfx_say(NULL), n0 + 1);
        /* ...until the device's next TokenUpdate. */
        CU_ASSERT_EQUAL(orchard_store_device_token_update(d.udid, d.token, 32, d.magic, NULL, 0, 0,
                                                          apnsfx_now_ms() / 1000), 0);
        CU_ASSERT_EQUAL(apnsfx_token_valid(&d, NULL), 1);
        apnsfx_want(&d);
        st = apnsfx_run_at(apnsfx_now_ms());
        CU_ASSERT_EQUAL(st.sent, 1);
        CU_ASSERT_EQUAL(apnsfx_say(NULL), n0 + 2);
    }
}

static void test_apns__retry_then_sent(void)
{
    NEED_STANDIN();
    device d;
    apnsfx_enroll(&d);
    g_autofree char *r1 = g_strdup_printf("fail %s 429 TooManyRequests 1", d.token_hex);
    apnsfx_say(r1);
    apnsfx_want(&d);
    gint64 t = apnsfx_now_ms(), attempts = 0, next = 0;
    orchard_apns_stats st = apnsfx_run_at(t);
    CU_ASSERT_EQUAL(st.retried, 1);
    CU_ASSERT_FATAL(apnsfx_queued(&d, &attempts, &next));
    CU_ASSERT_EQUAL(attempts, 1);
    CU_ASSERT(next >= t + 800 && next <= t + 1200);
    /* Not due yet: nothing is sent. */
    st = apnsfx_run_at(t + 700);
    CU_ASSERT_EQUAL(st.sent + st.retried, 0);

    g_autofree char *r2 = g_strdup_printf("fail %s 503 ServiceUnavailable 1", d.token_hex);
    apnsfx_say(r2);
    t = next;
    st = apnsfx_run_at(t);
    CU_ASSERT_EQUAL(st.retried, 1);
    CU_ASSERT_FATAL(apnsfx_queued(&d, &attempts, &next));
    CU_ASSERT_EQUAL(attempts, 2);
    CU_ASSERT(next >= t + 1600 && next <= t + 2400);
    st = apnsfx_run_at(next);
    CU_ASSERT_EQUAL(st.sent, 1);
    CU_ASSERT(!apnsfx_queued(&d, NULL, NULL));
    CU_ASSERT_EQUAL(apnsfx_token_valid(&d, NULL), 1);

    g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
    CU_ASSERT_EQUAL_FATAL(mine->len, 3);
    int want_status[] = {429, 503, 200};
    for (guint i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(((orchard_push_record *)mine->pdata[i])->status_code, want_status[i]);
    CU_ASSERT_STRING_EQUAL(((orchard_push_record *)mine->pdata[0])->reason, "TooManyRequests");
}

static void test_apns__attempts_exhausted(void)
{
    NEED_STANDIN();
    device d;
    apnsfx_enroll(&d);
    g_autofree char *rule = g_strdup_printf("fail %s 500 InternalServerError 100", d.token_hex);
    apnsfx_say(rule);
    apnsfx_want(&d);
    gint64 t = apnsfx_now_ms();
    orchard_apns_stats st = {0};
    for (int i = 0; i < ORCHARD_APNS_MAX_ATTEMPTS; i++) {
        CU_ASSERT_FATAL(apnsfx_queued(&d, NULL, NULL));
        st = apnsfx_run_at(t);
        t += ORCHARD_APNS_BACKOFF_CAP_MS * 2;
    }
    CU_ASSERT_EQUAL(st.gave_up, 1);
    CU_ASSERT(!apnsfx_queued(&d, NULL, NULL));
    g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
    CU_ASSERT_EQUAL_FATAL(mine->len, ORCHARD_APNS_MAX_ATTEMPTS);
    orchard_push_record *last = mine->pdata[mine->len - 1];
    CU_ASSERT_EQUAL(last->status_code, 500);
    CU_ASSERT(g_str_has_prefix(last->reason, "gave up after 12 attempts: InternalServerError"));
    /* A 5xx says nothing about the token. */
    CU_ASSERT_EQUAL(apnsfx_token_valid(&d, NULL), 1);
    apnsfx_say("clear");
}

/* Without mdm.apple_apns_ca the system's trust store does not know the
 * stand-in's CA: TLS fails, nothing arrives, the push waits to be retried. */
static void test_apns__untrusted_standin(void)
{
    NEED_STANDIN();
    device d;
    apnsfx_enroll(&d);
    long n0 = apnsfx_say(NULL);
    apnsfx_set("mdm.apple_apns_ca", NULL);
    apnsfx_want(&d);
    gint64 attempts = 0;
    orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
    CU_ASSERT_EQUAL(st.retried, 1);
    CU_ASSERT_EQUAL(st.sent, 0);
    CU_ASSERT(apnsfx_queued(&d, &attempts, NULL));
    CU_ASSERT_EQUAL(attempts, 1);
    g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
    CU_ASSERT_EQUAL_FATAL(mine->len, 1);
    CU_ASSERT_EQUAL(((orchard_push_record *)mine->pdata[0])->status_code, 0);
    CU_ASSERT(((orchard_push_record *)mine->pdata[0])->reason != NULL);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n0);
    /* Trusted again (a new settings generation reopens the client): sent. */
    apnsfx_set("mdm.apple_apns_ca", apnsfx.ca);
    st = apnsfx_run_at(apnsfx_now_ms() + ORCHARD_APNS_BACKOFF_CAP_MS);
    CU_ASSERT_EQUAL(st.sent, 1);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n0 + 1);
}

/* A bad setting is no client: the batch waits like a failed connection. */
static void test_apns__bad_settings(void)
{
    NEED_STANDIN();
    device d;
    apnsfx_enroll(&d);
    g_autofree char *not_certs = mdmfx_path("apns.key"); /* PEM, but no certificate */
    const char *bad[][2] = {{"mdm.apple_apns_url", "ftp://example.com"},
                            {"mdm.apple_apns_connections", "0"},
                            {"mdm.apple_apns_connections", "65"},
                            {"mdm.apple_apns_ca", "/nonexistent/ca.pem"},
                            {"mdm.apple_apns_ca", "/dev/zero"},
                            {"mdm.apple_apns_ca", not_certs}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *keep = g_strcmp0(bad[i][0], "mdm.apple_apns_url") == 0 ? apnsfx.url
                           : g_strcmp0(bad[i][0], "mdm.apple_apns_ca") == 0 ? apnsfx.ca : NULL;
        apnsfx_set(bad[i][0], bad[i][1]);
        apnsfx_want(&d);
        orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
        CU_ASSERT_EQUAL(st.retried, 1);
        CU_ASSERT_EQUAL(st.sent, 0);
        apnsfx_set(bad[i][0], keep);
    }
    /* Each recorded with what is wrong, naming the key. */
    g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
    CU_ASSERT_EQUAL_FATAL(mine->len, G_N_ELEMENTS(bad));
    for (guint i = 0; i < mine->len; i++) {
        orchard_push_record *r = mine->pdata[i];
        CU_ASSERT_EQUAL(r->status_code, 0);
        CU_ASSERT(g_str_has_prefix(r->reason, "no APNs client: "));
        CU_ASSERT(strstr(r->reason, bad[i][0]) != NULL);
    }
    apnsfx_want(&d);
    orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
    CU_ASSERT_EQUAL(st.sent, 1);
}

/* An expired APNs certificate turns MDM off: nothing is sent with it (Apple
 * would refuse it, and that refusal must not kill every token). */
static void test_apns__expired_certificate(void)
{
    NEED_STANDIN();
    device d;
    apnsfx_enroll(&d);
    g_autofree char *expired = mdmfx_path("apns_expired.crt");
    const char *kv[] = {"mdm.apple_apns_cert", expired, NULL};
    apnsfx_serve_with(kv);
    long n0 = apnsfx_say(NULL);
    apnsfx_want(&d);
    orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
    CU_ASSERT_EQUAL(st.retried, 1);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n0);
    CU_ASSERT_EQUAL(apnsfx_token_valid(&d, NULL), 1);
    g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
    CU_ASSERT_EQUAL_FATAL(mine->len, 1);
    CU_ASSERT(g_str_has_prefix(((orchard_push_record *)mine->pdata[0])->reason,
                               "no APNs client: MDM is off"));
    apnsfx_serve_with(NULL);
    st = apnsfx_run_at(apnsfx_now_ms() + ORCHARD_APNS_BACKOFF_CAP_MS);
    CU_ASSERT_EQUAL(st.sent, 1);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n0 + 1);
}

/* What a device said at Authenticate lands in a header: a topic that would
 * split it is never sent (recorded, not retried); no topic at all falls back
 * to the certificate's. */
static void test_apns__hostile_enrollment(void)
{
    NEED_STANDIN();
    const char *topics[] = {"com.apple.mgmt.x\r\nX-Evil: 1", "has space", "tab\there",
                            "caf\xc3\xa9"};
    for (size_t i = 0; i <= G_N_ELEMENTS(topics); i++) {
        device d;
        apnsfx_enroll(&d);
        g_autofree char *cert = g_strdup_printf("%064zx", 0xfeed00 + i);
        const char *topic = i < G_N_ELEMENTS(topics) ? topics[i] : NULL;
        orchard_device_auth a = {.udid = d.udid, .cert_sha256 = cert, .topic = topic};
        CU_ASSERT_EQUAL_FATAL(orchard_store_device_authenticate(&a, apnsfx_now_ms() / 1000, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(orchard_store_device_token_update(d.udid, d.token, 32, d.magic,
                                                                NULL, 0, 0, apnsfx_now_ms() / 1000), 0);
        long n0 = apnsfx_say(NULL);
        apnsfx_want(&d);
        orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
        g_autoptr(GPtrArray) rec = apnsfx_recorded(d.token_hex);
        g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
        CU_ASSERT_EQUAL_FATAL(mine->len, 1);
        orchard_push_record *r = mine->pdata[0];
        if (topic) {
            CU_ASSERT_EQUAL(st.refused, 1);
            CU_ASSERT_EQUAL(apnsfx_say(NULL), n0);
            CU_ASSERT_EQUAL(rec->len, 0);
            CU_ASSERT_EQUAL(r->status_code, 0);
            CU_ASSERT_STRING_EQUAL(r->reason, "the topic is not a valid header value");
            CU_ASSERT(!apnsfx_queued(&d, NULL, NULL));
        } else {
            CU_ASSERT_EQUAL(st.sent, 1);
            CU_ASSERT_EQUAL_FATAL(rec->len, 1);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(rec->pdata[0], "topic")),
                                   mdmfx_state.topic);
        }
    }
}

/* More due than one batch: the run goes on to the next batch, every device
 * gets exactly one push, all in one run. */
static void test_apns__batches(void)
{
    NEED_STANDIN();
    const guint n = ORCHARD_APNS_BATCH + 7;
    device *devs = g_new0(device, n);
    const char **udids = g_new0(const char *, n);
    for (guint i = 0; i < n; i++) {
        apnsfx_enroll(&devs[i]);
        udids[i] = devs[i].udid;
    }
    CU_ASSERT_EQUAL(orchard_apns_push(apnsfx.ctx, udids, n), 0);
    long n0 = apnsfx_say(NULL);
    gint64 t0 = g_get_monotonic_time();
    orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
    gint64 us = g_get_monotonic_time() - t0;
    CU_ASSERT_EQUAL(st.sent, n);
    CU_ASSERT_EQUAL(st.retried + st.dead + st.refused + st.dropped, 0);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n0 + (long)n);
    CU_ASSERT(!apnsfx_queued(&devs[0], NULL, NULL));
    CU_ASSERT(!apnsfx_queued(&devs[n - 1], NULL, NULL));
    if (g_getenv("ORCHARD_TEST_VERBOSE"))
        fprintf(stderr, "\n  %u pushes in %.3f s through the job (store and stand-in)\n", n,
                (double)us / 1e6);
    g_free(udids);
    g_free(devs);
}

static void expect_400(const char *body, const char *needle)
{
    fake_resp r;
    apnsfx_post("/api/latest/fleet/mdm/apple/push", body, 0, &r);
    CU_ASSERT_EQUAL(r.status, 400);
    if (!r.body || !strstr(r.body, needle))
        fprintf(stderr, "\n  %s -> %s (wanted %s)\n", body, r.body ? r.body : "", needle);
    CU_ASSERT(r.body && strstr(r.body, needle));
    g_free(r.body);
}

static void test_apns__api(void)
{
    CU_ASSERT_EQUAL(orchard_route_apns_push_latest.guard, ORCHARD_GUARD_MAINTAINER);
    CU_ASSERT_EQUAL(orchard_route_apns_push_v1.guard, ORCHARD_GUARD_MAINTAINER);
    CU_ASSERT_STRING_EQUAL(orchard_route_apns_push_latest.gate, "mdm");
    CU_ASSERT_STRING_EQUAL(orchard_route_apns_push_v1.path_prefix, "/api/v1/fleet/mdm/apple/push");

    device good, dead, fresh;
    apnsfx_enroll(&good);
    apnsfx_enroll(&dead);
    apnsfx_enroll(&fresh);
    CU_ASSERT_EQUAL(orchard_store_device_push_invalid(dead.udid, "Unregistered", 1), 0);
    /* Authenticated again, no TokenUpdate yet. */
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, fresh.udid, -1);
    orchard_device_auth a = {.udid = fresh.udid, .cert_sha256 = cert, .topic = mdmfx_state.topic};
    CU_ASSERT_EQUAL(orchard_store_device_authenticate(&a, apnsfx_now_ms() / 1000, NULL), 0);

    expect_400("{", "bad JSON");
    expect_400("[]", "object");
    expect_400("{}", "host_uuids");
    expect_400("{\"host_uuids\": \"abc\"}", "array");
    expect_400("{\"host_uuids\": []}", "at least one");
    expect_400("{\"host_uuids\": [1]}", "host_uuids[0] is not a host UUID");
    expect_400("{\"host_uuids\": [null]}", "not a host UUID");
    expect_400("{\"host_uuids\": [\"\"]}", "not a host UUID");
    expect_400("{\"host_uuids\": [\"a b\"]}", "not a host UUID");
    expect_400("{\"host_uuids\": [\"x\\u0000y\"]}", "bad JSON"); /* jansson refuses NUL */
    expect_400("{\"host_uuids\": [\"<script>\"]}", "not a host UUID");
    g_autofree char *long_id = g_strnfill(129, 'A');
    g_autofree char *long_body = g_strdup_printf("{\"host_uuids\": [\"%s\"]}", long_id);
    expect_400(long_body, "not a host UUID");
    g_autofree char *unknown = g_strdup_printf("{\"host_uuids\": [\"%s\", \"0000FE00-NOBODY\"]}",
                                               good.udid);
    expect_400(unknown, "host 0000FE00-NOBODY is not a known host");
    g_autofree char *with_dead = g_strdup_printf("{\"host_uuids\": [\"%s\", \"%s\"]}", good.udid,
                                                 dead.udid);
    expect_400(with_dead, "no valid push token (Unregistered)");
    g_autofree char *with_fresh = g_strdup_printf("{\"host_uuids\": [\"%s\"]}", fresh.udid);
    expect_400(with_fresh, "no valid push token");
    /* A refused list queues nothing. */
    CU_ASSERT(!apnsfx_queued(&good, NULL, NULL));

    /* Over 1 MiB: 413. */
    fake_resp r;
    gsize big_len = ORCHARD_API_BODY_MAX + 1;
    g_autofree char *big = g_malloc(big_len);
    memset(big, ' ', big_len);
    apnsfx_post("/api/latest/fleet/mdm/apple/push", big, big_len, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    g_free(r.body);
    /* Below the route: 404. */
    apnsfx_post("/api/latest/fleet/mdm/apple/push/more", "{}", 0, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    g_free(r.body);

    gint64 before = apnsfx_activities("sent_mdm_push");
    g_autofree char *ok = g_strdup_printf("{\"host_uuids\": [\"%s\", \"%s\"]}", good.udid,
                                          good.udid);
    apnsfx_post("/api/v1/fleet/mdm/apple/push", ok, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body ? r.body : "", "{\"queued\":1}");
    g_free(r.body);
    CU_ASSERT(apnsfx_queued(&good, NULL, NULL));
    CU_ASSERT_EQUAL(apnsfx_activities("sent_mdm_push"), before + 1);
    orchard_apns_stats st = apnsfx_run_at(apnsfx_now_ms());
    CU_ASSERT_EQUAL(st.sent, apnsfx.ready ? 1 : 0);
}

/* ---- `orchard push` ---------------------------------------------------------------- */

static void test_apns__command(void)
{
    NEED_STANDIN();
    device d, dead;
    apnsfx_enroll(&d);
    apnsfx_enroll(&dead);
    CU_ASSERT_EQUAL(orchard_store_device_push_invalid(dead.udid, "BadDeviceToken", 1), 0);
    const char *kv[] = {"store.sqlite", apnsfx.store, "mdm.apple_apns_url", apnsfx.url,
                        "mdm.apple_apns_ca", apnsfx.ca, NULL};
    g_autofree char *cfg = mdmfx_write_config(kv);
    long n0 = apnsfx_say(NULL);
    gint64 before = apnsfx_activities("sent_mdm_push");

    g_autofree char *out = NULL, *err = NULL;
    const char *args[] = {"--config", cfg, "push", "--udid", d.udid, NULL};
    CU_ASSERT_EQUAL(mdmfx_run(args, NULL, &out, &err), 0);
    g_autofree char *sent = g_strdup_printf("%s: sent (apns-id ", d.udid);
    CU_ASSERT(out && strstr(out, sent));
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n0 + 1);
    g_autoptr(GPtrArray) mine = apnsfx_records_of(&d);
    CU_ASSERT_EQUAL(mine->len, 1);
    CU_ASSERT_EQUAL(apnsfx_activities("sent_mdm_push"), before + 1);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* Unknown and dead devices: said, exit 1; the good one still goes. */
    const char *args2[] = {"--config", cfg, "push", "--udid", "0000FE00-NOBODY", "--udid",
                           dead.udid, "--udid", d.udid, NULL};
    CU_ASSERT_EQUAL(mdmfx_run(args2, NULL, &out, &err), 1);
    CU_ASSERT(out && strstr(out, "0000FE00-NOBODY: not pushed: unknown device"));
    CU_ASSERT(out && strstr(out, "no valid push token (BadDeviceToken)"));
    CU_ASSERT(out && strstr(out, sent));
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n0 + 2);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* A permanent error: printed, the token marked. */
    g_autofree char *rule = g_strdup_printf("fail %s 410 Unregistered 1", d.token_hex);
    apnsfx_say(rule);
    CU_ASSERT_EQUAL(mdmfx_run(args, NULL, &out, &err), 1);
    CU_ASSERT(out && strstr(out, "failed: 410 Unregistered"));
    CU_ASSERT_EQUAL(apnsfx_token_valid(&d, NULL), 0);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* The apns_pushes table shows each outcome. */
    g_autofree char *sql = g_strdup_printf("select status_code, reason, apns_id, sent_at from "
                                           "apns_pushes where udid = '%s'", d.udid);
    const char *query[] = {"--config", cfg, "query", sql, NULL};
    CU_ASSERT_EQUAL(mdmfx_run(query, NULL, &out, &err), 0);
    CU_ASSERT(out && strstr(out, "Unregistered") && strstr(out, "410") && strstr(out, "200"));
    g_autoptr(GDateTime) today = g_date_time_new_now_utc();
    g_autofree char *year = g_strdup_printf("%d-", g_date_time_get_year(today));
    CU_ASSERT(out && strstr(out, year) && strstr(out, "Z"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* `orchard job run apns.push`: the job outside serve reads the
     * configuration itself and sends what is due. */
    CU_ASSERT_EQUAL(orchard_store_device_token_update(d.udid, d.token, 32, d.magic, NULL, 0, 0,
                                                      apnsfx_now_ms() / 1000), 0);
    apnsfx_want(&d);
    long n1 = apnsfx_say(NULL);
    const char *job[] = {"--config", cfg, "job", "run", "apns.push", NULL};
    CU_ASSERT_EQUAL(mdmfx_run(job, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(apnsfx_say(NULL), n1 + 1);
    CU_ASSERT(!apnsfx_queued(&d, NULL, NULL));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* Usage errors: 2. */
    const char *usage[][6] = {{"--config", cfg, "push", NULL},
                              {"--config", cfg, "push", "--udid", NULL},
                              {"--config", cfg, "push", "--udid=", NULL},
                              {"--config", cfg, "push", "stray", NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(usage); i++) {
        CU_ASSERT_EQUAL(mdmfx_run(usage[i], NULL, &out, &err), 2);
        CU_ASSERT(err && strstr(err, "usage:"));
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);
    }
    CU_ASSERT_EQUAL(mdmfx_leaks(), 0);
}

static void test_apns__api_over_http(void)
{
    NEED_STANDIN();
    device d;
    apnsfx_enroll(&d);
    int port = mdmfx_free_port();
    CU_ASSERT_FATAL(port > 0);
    g_autofree char *addr = g_strdup_printf("127.0.0.1:%d", port);
    const char *kv[] = {"store.sqlite", apnsfx.store, "mdm.apple_apns_url", apnsfx.url,
                        "mdm.apple_apns_ca", apnsfx.ca, "server.address", addr, NULL};
    g_autofree char *cfg = mdmfx_write_config(kv);
    g_autofree char *observer = apnsfx_api_user(cfg, "observer@example.com", "observer");
    g_autofree char *maintainer = apnsfx_api_user(cfg, "maintainer@example.com", "maintainer");
    CU_ASSERT_FATAL(observer && maintainer);

    const char *argv[] = {ORCHARD_BIN, "--config", cfg, "serve", NULL};
    GPid pid = 0;
    CU_ASSERT_FATAL(g_spawn_async(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                                  NULL, &pid, NULL));
    g_autofree char *base = g_strdup_printf("http://%s/", addr);
    g_autofree char *url = g_strdup_printf("http://%s/api/latest/fleet/mdm/apple/push", addr);
    g_autofree char *body = g_strdup_printf("{\"host_uuids\": [\"%s\"]}", d.udid);
    long n0 = apnsfx_say(NULL);
    if (apnsfx_wait_listening(base)) {
        char *out = NULL;
        CU_ASSERT_EQUAL(apnsfx_post_http(url, NULL, body, &out), 401);
        g_free(out);
        CU_ASSERT_EQUAL(apnsfx_post_http(url, "not-a-token", body, &out), 401);
        g_free(out);
        CU_ASSERT_EQUAL(apnsfx_post_http(url, observer, body, &out), 403);
        CU_ASSERT(strstr(out, "\"errors\"") != NULL);
        g_free(out);
        CU_ASSERT_EQUAL(apnsfx_post_http(url, maintainer, "{\"host_uuids\": [\"0000FE00-NOBODY\"]}",
                                  &out), 400);
        CU_ASSERT(strstr(out, "0000FE00-NOBODY") != NULL);
        g_free(out);
        CU_ASSERT_EQUAL(apnsfx_post_http(url, maintainer, body, &out), 200);
        CU_ASSERT_STRING_EQUAL(out, "{\"queued\":1}");
        g_free(out);
        /* serve's apns.push job sends it. */
        long n = n0;
        for (int i = 0; i < 100 && n == n0; i++) {
            g_usleep(100 * 1000);
            n = apnsfx_say(NULL);
        }
        CU_ASSERT_EQUAL(n, n0 + 1);
        g_autoptr(GPtrArray) rec = apnsfx_recorded(d.token_hex);
        CU_ASSERT_EQUAL(rec->len, 1);
    } else {
        CU_FAIL("orchard serve did not start");
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void apns_suite(void)
{
    ORCHARD_ADD_SUITE("apns", apnsfx_init, apnsfx_cleanup,
                      {"classify", test_apns__classify},
                      {"backoff", test_apns__backoff},
                      {"reason_hostile", test_apns__reason_hostile},
                      {"store_coalesce", test_apns__store_coalesce},
                      {"store_want_many", test_apns__store_want_many},
                      {"push_reaches_standin", test_apns__push_reaches_standin},
                      {"coalesced", test_apns__coalesced},
                      {"permanent_errors", test_apns__permanent_errors},
                      {"retry_then_sent", test_apns__retry_then_sent},
                      {"attempts_exhausted", test_apns__attempts_exhausted},
                      {"untrusted_standin", test_apns__untrusted_standin},
                      {"bad_settings", test_apns__bad_settings},
                      {"expired_certificate", test_apns__expired_certificate},
                      {"hostile_enrollment", test_apns__hostile_enrollment},
                      {"batches", test_apns__batches},
                      {"api", test_apns__api},
                      {"command", test_apns__command},
                      {"api_over_http", test_apns__api_over_http});
}

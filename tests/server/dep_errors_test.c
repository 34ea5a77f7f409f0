/* dep_errors: reading Apple's DEP answers (server_plugin/dep/dep_errors.c):
 * every error code Apple names, in each body shape it comes in, mapped to
 * orchard_dep_status; Retry-After and retry_after_seconds; each success body
 * validated; hostile bodies (huge, nested, not JSON, NUL bytes, control
 * characters) never crash and never reach a message raw. */
#include "server_plugin/dep/dep_client.h"
#include "tests/suites.h"

#include <string.h>

typedef struct {
    int http;
    const char *body;
    orchard_dep_status want;
    const char *code; /* NULL: none kept */
} error_case;

static void run_error(const error_case *c)
{
    orchard_dep_result r = {0};
    orchard_dep_parse_error(c->http, c->body, c->body ? strlen(c->body) : 0, NULL, 0, &r);
    if (r.status != c->want || g_strcmp0(r.apple_code, c->code) != 0)
        fprintf(stderr, "\n  HTTP %d %s: got %s/%s, want %s/%s\n", c->http,
                c->body ? c->body : "(none)", orchard_dep_status_name(r.status),
                r.apple_code ? r.apple_code : "-", orchard_dep_status_name(c->want),
                c->code ? c->code : "-");
    CU_ASSERT_EQUAL(r.status, c->want);
    CU_ASSERT_STRING_EQUAL(r.apple_code ? r.apple_code : "-", c->code ? c->code : "-");
    CU_ASSERT_EQUAL(r.http_status, c->http);
    CU_ASSERT_PTR_NOT_NULL(r.message);
    if (r.message)
        CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "HTTP"));
    orchard_dep_result_clear(&r);
    CU_ASSERT_PTR_NULL(r.message);
}

/* Each code Apple documents, as a bare body, a JSON string, and JSON objects. */
static void test_apple_codes(void)
{
    static const error_case cases[] = {
        {400, "EXHAUSTED_CURSOR", ORCHARD_DEP_EXHAUSTED_CURSOR, "EXHAUSTED_CURSOR"},
        {400, "EXPIRED_CURSOR", ORCHARD_DEP_EXPIRED_CURSOR, "EXPIRED_CURSOR"},
        {400, "INVALID_CURSOR", ORCHARD_DEP_INVALID_CURSOR, "INVALID_CURSOR"},
        {400, "EXPIRED_CURSOR\n", ORCHARD_DEP_EXPIRED_CURSOR, "EXPIRED_CURSOR"},
        {400, "\"INVALID_CURSOR\"", ORCHARD_DEP_INVALID_CURSOR, "INVALID_CURSOR"},
        {400, "{\"code\":\"EXHAUSTED_CURSOR\",\"message\":\"done\"}",
         ORCHARD_DEP_EXHAUSTED_CURSOR, "EXHAUSTED_CURSOR"},
        {400, "{\"error_code\":\"EXPIRED_CURSOR\"}", ORCHARD_DEP_EXPIRED_CURSOR,
         "EXPIRED_CURSOR"},
        {400, "{\"error\":{\"code\":\"INVALID_CURSOR\",\"message\":\"x\"}}",
         ORCHARD_DEP_INVALID_CURSOR, "INVALID_CURSOR"},
        {403, "T_C_NOT_SIGNED", ORCHARD_DEP_T_C_NOT_SIGNED, "T_C_NOT_SIGNED"},
        {403, "{\"code\":\"T_C_NOT_SIGNED\"}", ORCHARD_DEP_T_C_NOT_SIGNED, "T_C_NOT_SIGNED"},
        {403, "FORBIDDEN", ORCHARD_DEP_UNAUTHORIZED, "FORBIDDEN"},
        {403, "ACCESS_DENIED", ORCHARD_DEP_UNAUTHORIZED, "ACCESS_DENIED"},
        {403, "", ORCHARD_DEP_UNAUTHORIZED, NULL},
        {403, "SOMETHING_ELSE", ORCHARD_DEP_REFUSED, "SOMETHING_ELSE"},
        {401, "UNAUTHORIZED", ORCHARD_DEP_UNAUTHORIZED, "UNAUTHORIZED"},
        {401, NULL, ORCHARD_DEP_UNAUTHORIZED, NULL},
        {400, "{\"code\":\"THROTTLED\",\"retry_after_seconds\":30}", ORCHARD_DEP_THROTTLED,
         "THROTTLED"},
        {429, "TOO_MANY_REQUESTS", ORCHARD_DEP_THROTTLED, "TOO_MANY_REQUESTS"},
        {429, "", ORCHARD_DEP_THROTTLED, NULL},
        {500, "INTERNAL_ERROR", ORCHARD_DEP_SERVER_ERROR, "INTERNAL_ERROR"},
        {503, "<html>busy</html>", ORCHARD_DEP_SERVER_ERROR, NULL},
        /* Define and assign refusals: REFUSED with Apple's code kept. */
        {400, "CONFIG_URL_INVALID", ORCHARD_DEP_REFUSED, "CONFIG_URL_INVALID"},
        {400, "{\"code\":\"DEVICE_ID_REQUIRED\"}", ORCHARD_DEP_REFUSED, "DEVICE_ID_REQUIRED"},
        {404, "NOT_FOUND", ORCHARD_DEP_REFUSED, "NOT_FOUND"},
        {405, NULL, ORCHARD_DEP_REFUSED, NULL},
        /* A cursor code on a success or a 5xx is not a cursor error. */
        {500, "EXPIRED_CURSOR", ORCHARD_DEP_SERVER_ERROR, "EXPIRED_CURSOR"},
        {302, "EXPIRED_CURSOR", ORCHARD_DEP_BAD_REPLY, "EXPIRED_CURSOR"},
        {0, NULL, ORCHARD_DEP_BAD_REPLY, NULL},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        run_error(&cases[i]);
}

static gint64 retry_of(int http, const char *body, const char *header, gint64 now)
{
    orchard_dep_result r = {0};
    orchard_dep_parse_error(http, body, body ? strlen(body) : 0, header, now, &r);
    gint64 v = r.retry_after;
    if (r.status == ORCHARD_DEP_THROTTLED)
        CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "retry after"));
    orchard_dep_result_clear(&r);
    return v;
}

static void test_retry_after(void)
{
    CU_ASSERT_EQUAL(retry_of(429, "", "120", 0), 120);
    CU_ASSERT_EQUAL(retry_of(429, "", " 7 ", 0), 7);
    CU_ASSERT_EQUAL(retry_of(400, "{\"code\":\"THROTTLED\",\"retry_after_seconds\":30}", NULL,
                             0), 30);
    CU_ASSERT_EQUAL(retry_of(400, "{\"code\":\"THROTTLED\",\"retry_after_seconds\":\"45\"}",
                             NULL, 0), 45);
    /* The header wins over the body. */
    CU_ASSERT_EQUAL(retry_of(429, "{\"retry_after_seconds\":30}", "5", 0), 5);
    /* An HTTP-date, 90 s after now. */
    GDateTime *t = g_date_time_new_utc(2026, 12, 6, 8, 0, 0);
    gint64 now = g_date_time_to_unix(t);
    g_date_time_unref(t);
    CU_ASSERT_EQUAL(retry_of(429, "", "Sun, 06 Dec 2026 08:01:30 GMT", now), 90);
    CU_ASSERT_EQUAL(retry_of(429, "", "Sun, 06 Dec 2026 07:59:00 GMT", now), 0);
    /* No time, or one that is not a time: the default. */
    CU_ASSERT_EQUAL(retry_of(429, "", NULL, 0), ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(429, "", "soon", 0), ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(429, "", "-5", 0), ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(429, "", "Sun, 32 Dec 2026 08:01:30 GMT", now),
                    ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(429, "", "Sun, 06 Dex 2026 08:01:30 GMT", now),
                    ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(429, "", "Sun, 06 Dec 2026 08:01:30 GMTX", now),
                    ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(400, "{\"code\":\"THROTTLED\",\"retry_after_seconds\":-3}", NULL,
                             0), ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(400, "{\"code\":\"THROTTLED\",\"retry_after_seconds\":[1]}", NULL,
                             0), ORCHARD_DEP_THROTTLE_DEFAULT);
    /* Absurd waits are capped. */
    CU_ASSERT_EQUAL(retry_of(429, "", "99999999999999999999", 0), ORCHARD_DEP_RETRY_AFTER_MAX);
    CU_ASSERT_EQUAL(retry_of(400, "{\"code\":\"THROTTLED\",\"retry_after_seconds\":1e300}",
                             NULL, 0), ORCHARD_DEP_THROTTLE_DEFAULT);
    CU_ASSERT_EQUAL(retry_of(400, "{\"code\":\"THROTTLED\",\"retry_after_seconds\":9999999}",
                             NULL, 0), ORCHARD_DEP_RETRY_AFTER_MAX);
    /* A 503 may say when to come back; a 400 that is not throttling has no wait. */
    CU_ASSERT_EQUAL(retry_of(503, "", "3", 0), 3);
    CU_ASSERT_EQUAL(retry_of(400, "INVALID_CURSOR", NULL, 0), 0);
}

/* Hostile error bodies: no crash, no raw bytes in the message, bounded. */
static void test_hostile_error_bodies(void)
{
    orchard_dep_result r = {0};
    /* Huge. */
    size_t n = 4u << 20;
    char *big = g_malloc(n);
    memset(big, 'A', n);
    orchard_dep_parse_error(400, big, n, NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_REFUSED);
    CU_ASSERT_PTR_NULL(r.apple_code); /* too long for a code */
    CU_ASSERT(strlen(r.message) <= 400 + 3);
    /* Deeply nested JSON. */
    memset(big, '[', n / 2);
    memset(big + n / 2, ']', n / 2);
    big[0] = '{';
    orchard_dep_parse_error(400, big, n, NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_REFUSED);
    CU_ASSERT(strlen(r.message) <= 403);
    g_free(big);
    /* NUL bytes and control characters: kept out of the code and the message. */
    static const char nul[] = "EXPIRED\0CURSOR";
    orchard_dep_parse_error(400, nul, sizeof nul - 1, NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_REFUSED);
    CU_ASSERT_PTR_NULL(r.apple_code);
    CU_ASSERT_EQUAL(strlen(r.message), strcspn(r.message, "\r\n\x1b"));
    static const char ctl[] = "bad\r\nX-Injected: 1\x1b[31m";
    orchard_dep_parse_error(400, ctl, sizeof ctl - 1, NULL, 0, &r);
    CU_ASSERT_EQUAL(strcspn(r.message, "\r\n\x1b"), strlen(r.message));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "X-Injected"));
    /* A JSON code that is not a code is kept as words only. */
    orchard_dep_parse_error(400, "{\"code\":\"no such\\nthing\"}", 25, NULL, 0, &r);
    CU_ASSERT_PTR_NULL(r.apple_code);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "no such?thing"));
    /* Not JSON after all; JSON that is not an object; a number. */
    orchard_dep_parse_error(400, "{\"code\":", 8, NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_REFUSED);
    CU_ASSERT_PTR_NULL(r.apple_code);
    /* A 403 naming no code is the token's access, whatever else it holds. */
    orchard_dep_parse_error(403, "[\"T_C_NOT_SIGNED\"]", 18, NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_UNAUTHORIZED);
    CU_ASSERT_PTR_NULL(r.apple_code);
    orchard_dep_parse_error(403, "{\"code\":7}", 10, NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_UNAUTHORIZED);
    /* Duplicate keys are refused as JSON: no code picked from either. */
    orchard_dep_parse_error(403, "{\"code\":\"FORBIDDEN\",\"code\":\"T_C_NOT_SIGNED\"}", 44, NULL,
                            0, &r);
    CU_ASSERT_PTR_NULL(r.apple_code);
    /* Apple's message comes through, quoted and bounded. */
    orchard_dep_parse_error(400, "{\"code\":\"CONFIG_URL_INVALID\",\"message\":\"url is bad\"}",
                            52, NULL, 0, &r);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "Apple says \"url is bad\""));
    orchard_dep_result_clear(&r);
}

/* ---- success bodies -------------------------------------------------------- */

static int parse(orchard_dep_reply_kind kind, const char *body, json_t **out)
{
    orchard_dep_result r = {0};
    json_t *j = NULL;
    int rc = orchard_dep_parse_reply(kind, body, body ? strlen(body) : 0, &j, &r);
    if (rc == 0) {
        CU_ASSERT_PTR_NOT_NULL(j);
        CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_OK);
    } else {
        CU_ASSERT_PTR_NULL(j);
        CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_BAD_REPLY);
        CU_ASSERT_PTR_NOT_NULL(r.message);
    }
    if (out)
        *out = j;
    else
        json_decref(j);
    orchard_dep_result_clear(&r);
    return rc;
}

static void test_page_reply(void)
{
    const orchard_dep_reply_kind P = ORCHARD_DEP_REPLY_PAGE;
    json_t *j = NULL;
    CU_ASSERT_EQUAL(parse(P, "{\"cursor\":\"c1\",\"more_to_follow\":true,\"fetched_until\":"
                             "\"2026-12-06T08:00:00Z\",\"devices\":[{\"serial_number\":\"C02X\","
                             "\"op_type\":\"added\",\"op_date\":\"2026-12-06T08:00:00Z\","
                             "\"profile_uuid\":null}]}", &j), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "devices")), 1);
    json_decref(j);
    /* No devices: an empty list. */
    CU_ASSERT_EQUAL(parse(P, "{\"cursor\":\"c\",\"more_to_follow\":false}", &j), 0);
    CU_ASSERT(json_is_array(json_object_get(j, "devices")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "devices")), 0);
    json_decref(j);
    static const char *const bad[] = {
        "{\"more_to_follow\":false,\"devices\":[]}",                      /* no cursor */
        "{\"cursor\":5,\"more_to_follow\":false,\"devices\":[]}",         /* cursor a number */
        "{\"cursor\":\"c\",\"devices\":[]}",                              /* no more_to_follow */
        "{\"cursor\":\"c\",\"more_to_follow\":\"true\",\"devices\":[]}",  /* a string */
        "{\"cursor\":\"c\",\"more_to_follow\":1,\"devices\":[]}",
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":{}}",     /* not an array */
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[1]}",    /* not objects */
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[[]]}",
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[{}]}",   /* no serial */
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[{\"serial_number\":\"\"}]}",
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[{\"serial_number\":\"a b\"}]}",
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[{\"serial_number\":3}]}",
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[{\"serial_number\":\"A\","
        "\"op_type\":{}}]}",
        "{\"cursor\":\"c\",\"more_to_follow\":false,\"fetched_until\":1,\"devices\":[]}",
        "{\"cursor\":\"a\\u0000b\",\"more_to_follow\":false}",            /* NUL in a string */
        "[]", "\"cursor\"", "null", "", "{", "{\"cursor\":\"c\"", "<html></html>",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (parse(P, bad[i], NULL) == 0)
            fprintf(stderr, "\n  accepted: %s\n", bad[i]);
        CU_ASSERT_EQUAL(parse(P, bad[i], NULL), ORCHARD_EPROTO);
    }
    /* A cursor over 4 KiB. */
    GString *s = g_string_new("{\"more_to_follow\":false,\"cursor\":\"");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(s, 'c');
    g_string_append(s, "\"}");
    CU_ASSERT_EQUAL(parse(P, s->str, NULL), ORCHARD_EPROTO);
    g_string_free(s, TRUE);
}

static void test_other_replies(void)
{
    json_t *j = NULL;
    const orchard_dep_reply_kind S = ORCHARD_DEP_REPLY_SESSION, D = ORCHARD_DEP_REPLY_DEFINE,
                                 A = ORCHARD_DEP_REPLY_ASSIGN, T = ORCHARD_DEP_REPLY_DETAILS,
                                 C = ORCHARD_DEP_REPLY_ACCOUNT;
    CU_ASSERT_EQUAL(parse(S, "{\"auth_session_token\":\"87a235815b8d6661\"}", NULL), 0);
    CU_ASSERT_EQUAL(parse(S, "{\"auth_session_token\":\"\"}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(S, "{\"auth_session_token\":\"a\\r\\nX-Evil: 1\"}", NULL),
                    ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(S, "{\"auth_session_token\":\"a b\"}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(S, "{\"auth_session_token\":7}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(S, "{}", NULL), ORCHARD_EPROTO);

    CU_ASSERT_EQUAL(parse(C, "{\"server_name\":\"orchard\",\"org_name\":\"Acme\"}", NULL), 0);
    CU_ASSERT_EQUAL(parse(C, "[]", NULL), ORCHARD_EPROTO);

    CU_ASSERT_EQUAL(parse(D, "{\"profile_uuid\":\"ABC123\",\"devices\":{}}", &j), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "profile_uuid")), "ABC123");
    json_decref(j);
    CU_ASSERT_EQUAL(parse(D, "{\"profile_uuid\":\"ABC123\"}", NULL), 0);
    CU_ASSERT_EQUAL(parse(D, "{\"devices\":{}}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(D, "{\"profile_uuid\":\"\"}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(D, "{\"profile_uuid\":\"A\",\"devices\":[]}", NULL), ORCHARD_EPROTO);

    CU_ASSERT_EQUAL(parse(A, "{\"profile_uuid\":\"P\",\"devices\":{\"C02A\":\"SUCCESS\","
                             "\"C02B\":\"NOT_ACCESSIBLE\",\"C02C\":\"FAILED\"}}", &j), 0);
    CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "devices")), 3);
    json_decref(j);
    CU_ASSERT_EQUAL(parse(A, "{\"profile_uuid\":\"P\"}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(A, "{\"devices\":[\"C02A\"]}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(A, "{\"devices\":{\"C02A\":1}}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(A, "{\"devices\":{\"\":\"SUCCESS\"}}", NULL), ORCHARD_EPROTO);

    CU_ASSERT_EQUAL(parse(T, "{\"devices\":{\"C02A\":{\"model\":\"Mac\"}}}", NULL), 0);
    CU_ASSERT_EQUAL(parse(T, "{\"devices\":{\"C02A\":\"x\"}}", NULL), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(parse(T, "{}", NULL), ORCHARD_EPROTO);
}

static void test_hostile_replies(void)
{
    orchard_dep_result r = {0};
    json_t *j = NULL;
    /* NUL bytes inside the body. */
    static const char nul[] = "{\"cursor\":\"c\",\0\"more_to_follow\":false}";
    CU_ASSERT_EQUAL(orchard_dep_parse_reply(ORCHARD_DEP_REPLY_PAGE, nul, sizeof nul - 1, &j, &r),
                    ORCHARD_EPROTO);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "not JSON"));
    /* Truncated at every length: never accepted, never a crash. */
    static const char full[] = "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[{"
                               "\"serial_number\":\"C02X\"}]}";
    for (size_t n = 0; n + 1 < sizeof full; n++) {
        CU_ASSERT_EQUAL(orchard_dep_parse_reply(ORCHARD_DEP_REPLY_PAGE, full, n, &j, &r),
                        ORCHARD_EPROTO);
        CU_ASSERT_PTR_NULL(j);
    }
    CU_ASSERT_EQUAL(orchard_dep_parse_reply(ORCHARD_DEP_REPLY_PAGE, full, sizeof full - 1, &j,
                                            &r), 0);
    json_decref(j);
    /* Nested deep enough to exhaust a naive parser. */
    size_t n = 100000;
    char *deep = g_malloc(n * 2 + 2);
    deep[0] = '{';
    memset(deep + 1, '[', n);
    memset(deep + 1 + n, ']', n);
    deep[2 * n + 1] = '}';
    CU_ASSERT_EQUAL(orchard_dep_parse_reply(ORCHARD_DEP_REPLY_ACCOUNT, deep, 2 * n + 2, &j, &r),
                    ORCHARD_EPROTO);
    g_free(deep);
    /* A message never carries raw control characters from the parser's words. */
    CU_ASSERT_EQUAL(orchard_dep_parse_reply(ORCHARD_DEP_REPLY_PAGE, "\x01\x02", 2, &j, &r),
                    ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(strcspn(r.message, "\x01\x02\r\n"), strlen(r.message));
    CU_ASSERT_EQUAL(orchard_dep_parse_reply(ORCHARD_DEP_REPLY_PAGE, NULL, 0, &j, &r),
                    ORCHARD_EPROTO);
    orchard_dep_result_clear(&r);
}

static void test_status_names(void)
{
    CU_ASSERT_STRING_EQUAL(orchard_dep_status_name(ORCHARD_DEP_OK), "OK");
    CU_ASSERT_STRING_EQUAL(orchard_dep_status_name(ORCHARD_DEP_T_C_NOT_SIGNED),
                           "T_C_NOT_SIGNED");
    CU_ASSERT_STRING_EQUAL(orchard_dep_status_name(ORCHARD_DEP_REFUSED), "REFUSED");
    CU_ASSERT_STRING_EQUAL(orchard_dep_status_name((orchard_dep_status)99), "UNKNOWN");
    orchard_dep_result_clear(NULL);
}

void dep_errors_suite(void)
{
    ORCHARD_ADD_SUITE("dep_errors", NULL, NULL,
                      {"apple_codes", test_apple_codes},
                      {"retry_after", test_retry_after},
                      {"hostile_error_bodies", test_hostile_error_bodies},
                      {"page_reply", test_page_reply},
                      {"other_replies", test_other_replies},
                      {"hostile_replies", test_hostile_replies},
                      {"status_names", test_status_names});
}

/* users: passwords, logins, sessions and roles over real HTTP
 * (users_fixture.h serves the server plugin on a store of its own).
 * Passwords and tokens made here are planted secrets. */
#include "tests/suites.h"

#include "host/plugins/registry.h"
#include "host/settings.h"
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/users/activity.h"
#include "server_plugin/users/users.h"
#include "tests/server/users_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- passwords ------------------------------------------------------------------ */

static void test_password__hash_verify(void)
{
    g_autofree char *enc = NULL, *enc2 = NULL;
    const char *pw = "Correct-horse-42";
    CU_ASSERT_EQUAL_FATAL(orchard_password_hash(pw, strlen(pw), &enc), 0);
    CU_ASSERT(g_str_has_prefix(enc, "$scrypt$ln=15,r=8,p=1$"));
    CU_ASSERT(strstr(enc, pw) == NULL);
    CU_ASSERT_EQUAL(orchard_password_verify(pw, strlen(pw), enc), 0);
    CU_ASSERT_EQUAL(orchard_password_verify("Correct-horse-43", 16, enc), ORCHARD_EDENIED);
    CU_ASSERT_EQUAL(orchard_password_verify(pw, strlen(pw) - 1, enc), ORCHARD_EDENIED);
    /* A fresh salt each time. */
    CU_ASSERT_EQUAL_FATAL(orchard_password_hash(pw, strlen(pw), &enc2), 0);
    CU_ASSERT_STRING_NOT_EQUAL(enc, enc2);
    CU_ASSERT_EQUAL(orchard_password_verify(pw, strlen(pw), enc2), 0);
}

/* Malformed or greedy stored hashes match nothing, and still cost one KDF
 * run (the dummy's), so a broken row is not a timing oracle either. */
static void test_password__malformed_hashes(void)
{
    const char *bad[] = {
        "", "$scrypt$", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "$scrypt$ln=15,r=8,p=1$IsRBjzxJIuoCrzWyiYw4OA",           /* no hash */
        "$scrypt$ln=15,r=8,p=1$IsRBjzxJIuoCrzWyiYw4OA$",          /* empty hash */
        "$scrypt$ln=15,r=8,p=1$!!!!$ouh9EJmtmJ688HslFkiATX06ixT3fkjttNQyM0U",
        "$scrypt$ln=30,r=8,p=1$IsRBjzxJIuoCrzWyiYw4OA$ouh9EJmtmJ688HslFkiATX06ixT3fkjttNQyM0U",
        "$scrypt$ln=20,r=32,p=1$IsRBjzxJIuoCrzWyiYw4OA$ouh9EJmtmJ688HslFkiATX06ixT3fkjttNQyM0U",
        "$scrypt$ln=0,r=8,p=1$IsRBjzxJIuoCrzWyiYw4OA$ouh9EJmtmJ688HslFkiATX06ixT3fkjttNQyM0U",
        "$scrypt$ln=-1,r=8,p=1$IsRBjzxJIuoCrzWyiYw4OA$ouh9EJmtmJ688HslFkiATX06ixT3fkjttNQyM0U",
        "$scrypt$ln=15,r=8,p=99$IsRBjzxJIuoCrzWyiYw4OA$ouh9EJmtmJ688HslFkiATX06ixT3fkjttNQyM0U",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        guint64 before = orchard_password_kdf_runs();
        CU_ASSERT_EQUAL(orchard_password_verify("x", 1, bad[i]), ORCHARD_EINVAL);
        CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
    }
    CU_ASSERT_EQUAL(orchard_password_verify("x", 1, NULL), ORCHARD_EINVAL);
    guint64 before = orchard_password_kdf_runs();
    CU_ASSERT_EQUAL(orchard_password_verify_dummy("anything", 8), ORCHARD_EDENIED);
    CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
}

static void test_password__rule_and_generator(void)
{
    const char *weak[] = {"short-1", "no-digits-here!", "nosymbols12345", "x1-",
                          "1234567890-1234567890-1234567890-1234567890-12345",
                          "tab\there-1234567"};
    for (size_t i = 0; i < G_N_ELEMENTS(weak); i++)
        CU_ASSERT_PTR_NOT_NULL(orchard_password_weakness(weak[i], strlen(weak[i])));
    CU_ASSERT_PTR_NOT_NULL(orchard_password_weakness("Good-pass\0word-12", 17));
    CU_ASSERT_PTR_NOT_NULL(orchard_password_weakness("Good-pass\xff-word-12", 17));
    CU_ASSERT_PTR_NULL(orchard_password_weakness("Correct-horse-42", 16));
    CU_ASSERT_PTR_NULL(orchard_password_weakness("Üñíçødé-pass-1", strlen("Üñíçødé-pass-1")));
    g_autofree char *prev = NULL;
    for (int i = 0; i < 200; i++) {
        g_autofree char *g = orchard_password_generate();
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        CU_ASSERT_EQUAL(strlen(g), 24);
        CU_ASSERT_PTR_NULL(orchard_password_weakness(g, strlen(g)));
        if (prev)
            CU_ASSERT_STRING_NOT_EQUAL(g, prev);
        g_free(prev);
        prev = g_steal_pointer(&g);
    }
}

static void test_fields__email_role_name(void)
{
    const char *good[] = {"a@b.c", "First.Last+tag@example.com", "admin@localhost"};
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
        CU_ASSERT_PTR_NULL(orchard_email_problem(good[i]));
    g_autofree char *huge = g_strnfill(300, 'a');
    const char *bad[] = {"", "plain", "@example.com", "a@", "a@@b.c", "a@b@c",
                         "a b@c.d", "a@b..c", "a@.b", "a\n@b.c", "<a@b.c>", "é@b.c", huge};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        CU_ASSERT_PTR_NOT_NULL(orchard_email_problem(bad[i]));
    CU_ASSERT_PTR_NOT_NULL(orchard_email_problem(NULL));
    CU_ASSERT_EQUAL(orchard_role_parse("admin"), ORCHARD_ROLE_ADMIN);
    CU_ASSERT_EQUAL(orchard_role_parse("maintainer"), ORCHARD_ROLE_MAINTAINER);
    CU_ASSERT_EQUAL(orchard_role_parse("observer"), ORCHARD_ROLE_OBSERVER);
    CU_ASSERT_EQUAL(orchard_role_parse("Admin"), ORCHARD_ROLE_NONE);
    CU_ASSERT_EQUAL(orchard_role_parse("root"), ORCHARD_ROLE_NONE);
    CU_ASSERT_EQUAL(orchard_role_parse(NULL), ORCHARD_ROLE_NONE);
    CU_ASSERT_PTR_NULL(orchard_user_name_problem("Ada Lövelace"));
    CU_ASSERT_PTR_NOT_NULL(orchard_user_name_problem(""));
    CU_ASSERT_PTR_NOT_NULL(orchard_user_name_problem("bad\x1b[31m"));
    CU_ASSERT_PTR_NOT_NULL(orchard_user_name_problem("bad\xff"));
}

/* ---- login ------------------------------------------------------------------------ */

static void test_login__success(void)
{
    orchard_login_limit_reset();
    http_response r;
    ufx_post("/api/latest/fleet/login",
         "{\"email\": \"ADMIN@example.com\", \"password\": \"" PW_ADMIN "\"}", NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    json_t *j = ufx_json(&r);
    json_t *u = json_object_get(j, "user");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "email")), "admin@example.com");
    /* Fleet's numeric id (fleetctl reads it as a number). */
    CU_ASSERT(json_is_integer(json_object_get(u, "id")) &&
              json_integer_value(json_object_get(u, "id")) > 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "global_role")), "admin");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "name")), "Test User");
    CU_ASSERT(json_is_false(json_object_get(u, "api_only")));
    CU_ASSERT(json_is_string(json_object_get(u, "created_at")));
    CU_ASSERT(json_is_string(json_object_get(u, "updated_at")));
    CU_ASSERT_PTR_NULL(json_object_get(u, "password_hash"));
    const char *token = json_string_value(json_object_get(j, "token"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    CU_ASSERT_EQUAL(strlen(token), 43);
    g_ptr_array_add(ufx_secrets, g_strdup(token));
    CU_ASSERT(strstr(r.body->str, "$scrypt$") == NULL);
    /* v1 is the same route. */
    long status = 0;
    g_autofree char *t2 = ufx_login("admin@example.com", PW_ADMIN, &status);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_NOT_EQUAL(t2, token);
    /* The store keeps the token's hash, never the token. */
    g_autofree char *hash = orchard_sstore_sha256_hex(token);
    g_autoptr(orchard_user) who = NULL;
    CU_ASSERT_EQUAL(orchard_store_session_user(hash, g_get_real_time() / G_USEC_PER_SEC, &who),
                    0);
    g_clear_pointer(&who, orchard_user_free);
    CU_ASSERT_EQUAL(orchard_store_session_user(token, g_get_real_time() / G_USEC_PER_SEC, &who),
                    ORCHARD_ENOTFOUND);
    json_decref(j);
    http_response_clear(&r);
}

/* Wrong password, unknown email, API-only user: one answer, and the KDF
 * runs once for each (the unknown email against the dummy hash). */
static void test_login__failures_look_alike(void)
{
    orchard_login_limit_reset();
    CU_ASSERT_EQUAL_FATAL(ufx_make_user("apionly@example.com", "observer", NULL, 1), 0);
    const char *bodies[] = {
        "{\"email\": \"admin@example.com\", \"password\": \"wrong-password-1\"}",
        "{\"email\": \"nobody@example.com\", \"password\": \"wrong-password-1\"}",
        "{\"email\": \"apionly@example.com\", \"password\": \"wrong-password-1\"}",
        "{\"email\": \"not an email\", \"password\": \"" PW_ADMIN "\"}",
    };
    g_autofree char *first = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
        http_response r;
        guint64 before = orchard_password_kdf_runs();
        ufx_post("/api/latest/fleet/login", bodies[i], NULL, &r);
        CU_ASSERT_EQUAL(r.status, 401);
        CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
        CU_ASSERT(ufx_is_fleet_error(&r, "Authentication failed"));
        if (!first)
            first = g_strdup(r.body->str);
        else
            CU_ASSERT_STRING_EQUAL(r.body->str, first);
        CU_ASSERT(!http_has_header(&r, "Retry-After"));
        http_response_clear(&r);
    }
}

static void test_login__rate_limited(void)
{
    orchard_login_limit_reset();
    long status = 0;
    for (int i = 0; i < ORCHARD_LOGIN_FAILURES_PER_EMAIL; i++) {
        g_free(ufx_login("maint@example.com", "wrong-password-1", &status));
        CU_ASSERT_EQUAL(status, 401);
    }
    /* Blocked now, even with the right password, and without a KDF run. */
    http_response r;
    guint64 before = orchard_password_kdf_runs();
    ufx_post("/api/latest/fleet/login",
         "{\"email\": \"maint@example.com\", \"password\": \"" PW_MAINT "\"}", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 429);
    CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before);
    CU_ASSERT(ufx_is_fleet_error(&r, "too many failed logins"));
    const char *h = strstr(r.headers->str, "Retry-After: ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int secs = atoi(h + strlen("Retry-After: "));
    CU_ASSERT(secs >= 1 && secs <= ORCHARD_LOGIN_WINDOW_SECONDS);
    http_response_clear(&r);
    /* Another email from the same address still may. */
    g_autofree char *t = ufx_login("obs@example.com", PW_OBS, &status);
    CU_ASSERT_EQUAL(status, 200);

    /* A success clears the email's count. */
    orchard_login_limit_reset();
    for (int i = 0; i < ORCHARD_LOGIN_FAILURES_PER_EMAIL - 1; i++)
        g_free(ufx_login("maint@example.com", "wrong-password-1", &status));
    g_free(ufx_login("maint@example.com", PW_MAINT, &status));
    CU_ASSERT_EQUAL(status, 200);
    for (int i = 0; i < ORCHARD_LOGIN_FAILURES_PER_EMAIL - 1; i++) {
        g_free(ufx_login("maint@example.com", "wrong-password-1", &status));
        CU_ASSERT_EQUAL(status, 401);
    }
    orchard_login_limit_reset();
}

/* Per address: many made-up emails from one place. Counted in the table
 * directly (the HTTP path is the test above); the window ends. */
static void test_login__limit_per_address_and_bounds(void)
{
    orchard_login_limit_reset();
    gint64 now = 1000000;
    for (int i = 0; i < ORCHARD_LOGIN_FAILURES_PER_ADDRESS; i++) {
        g_autofree char *e = g_strdup_printf("u%d@example.com", i);
        CU_ASSERT_EQUAL(orchard_login_limit_check(e, "192.0.2.1", now), 0);
        orchard_login_limit_fail(e, "192.0.2.1", now);
    }
    CU_ASSERT_EQUAL(orchard_login_limit_check("fresh@example.com", "192.0.2.1", now + 10), 50);
    CU_ASSERT_EQUAL(orchard_login_limit_check("fresh@example.com", "192.0.2.2", now + 10), 0);
    CU_ASSERT_EQUAL(orchard_login_limit_check("fresh@example.com", "192.0.2.1", now + 60), 0);
    /* A flood of keys stays bounded and the table still answers. */
    for (int i = 0; i < ORCHARD_LOGIN_LIMIT_SLOTS * 2; i++) {
        char e[64];
        g_snprintf(e, sizeof e, "flood%d@example.com", i);
        orchard_login_limit_fail(e, NULL, now + 100);
    }
    for (int i = 0; i < ORCHARD_LOGIN_FAILURES_PER_EMAIL; i++)
        orchard_login_limit_fail("victim@example.com", NULL, now + 101);
    CU_ASSERT(orchard_login_limit_check("victim@example.com", NULL, now + 102) > 0);
    orchard_login_limit_reset();
}

/* Bodies that are not a login: 400 with the reason, 413, never a 5xx. */
#define NUL_BODY "{\"email\": \"a\0b\", \"password\": \"x\"}"
static void test_login__hostile_bodies(void)
{
    orchard_login_limit_reset();
    const struct {
        const char *body;
        size_t len;
        int status;
        const char *msg;
    } cases[] = {
        {"{\"email\": ", 0, 400, "line 1"},
        {"{\"email\": \"a@b.c\", \"password\": \"x\"", 0, 400, "bad JSON"},
        {"", 0, 400, "JSON body"},
        {"[1, 2]", 0, 400, "object"},
        {"{\"email\": 5, \"password\": \"x\"}", 0, 400, "email must be a string"},
        {"{\"email\": \"a@b.c\", \"password\": null}", 0, 400, "password must be a string"},
        {"{\"email\": [\"a@b.c\"], \"password\": \"x\"}", 0, 400, "email"},
        {"{\"email\": \"a@b.c\", \"password\": {}}", 0, 400, "password"},
        {"{\"password\": \"x\"}", 0, 400, "email is missing"},
        {"{\"email\": \"a@b.c\"}", 0, 400, "password is missing"},
        {"{\"email\": \"admin@example.com\\u0000x\", \"password\": \"x\"}", 0, 400, "bad JSON"},
        {NUL_BODY, sizeof NUL_BODY - 1, 400, "bad JSON"},
        {"{\"email\": \"a@b.c\", \"email\": \"d@e.f\", \"password\": \"x\"}", 0, 400,
         "duplicate"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        http_response r;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
        ufx_request("POST", "/api/latest/fleet/login", cases[i].body, len, NULL, &r);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        if (r.status != cases[i].status)
            fprintf(stderr, "\n  case %zu: %ld %s\n", i, r.status, r.body->str);
        CU_ASSERT(ufx_is_fleet_error(&r, cases[i].msg));
        http_response_clear(&r);
    }
    /* Over 1 MiB: 413. */
    size_t big = ORCHARD_API_BODY_MAX + 512 * 1024;
    char *body = g_malloc(big);
    memset(body, ' ', big);
    memcpy(body, "{\"email\": \"", 11);
    body[big - 2] = '"';
    body[big - 1] = '}';
    http_response r;
    ufx_request("POST", "/api/latest/fleet/login", body, big, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    CU_ASSERT(ufx_is_fleet_error(&r, "limit"));
    http_response_clear(&r);
    /* A huge email (under the cap): an ordinary failure, counted by address. */
    GString *s = g_string_new("{\"password\": \"x\", \"email\": \"");
    for (int i = 0; i < 100000; i++)
        g_string_append_c(s, 'a');
    g_string_append(s, "@example.com\"}");
    guint64 before = orchard_password_kdf_runs();
    ufx_request("POST", "/api/latest/fleet/login", s->str, s->len, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
    CU_ASSERT(ufx_is_fleet_error(&r, "Authentication failed"));
    CU_ASSERT(strstr(r.body->str, "aaaaaaaaaa") == NULL);
    http_response_clear(&r);
    /* A huge password, even for a real user: one KDF run, the same 401. */
    g_string_assign(s, "{\"email\": \"admin@example.com\", \"password\": \"" PW_ADMIN);
    for (int i = 0; i < 200000; i++)
        g_string_append_c(s, 'p');
    g_string_append(s, "\"}");
    before = orchard_password_kdf_runs();
    ufx_request("POST", "/api/latest/fleet/login", s->str, s->len, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
    CU_ASSERT(ufx_is_fleet_error(&r, "Authentication failed"));
    http_response_clear(&r);
    g_string_free(s, TRUE);
    g_free(body);
    orchard_login_limit_reset();
}

/* ---- sessions -------------------------------------------------------------------- */

static void test_session__me_and_logout(void)
{
    orchard_login_limit_reset();
    long status = 0;
    g_autofree char *token = ufx_login("obs@example.com", PW_OBS, &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    http_response r;
    ufx_get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = ufx_json(&r);
    json_t *u = json_object_get(j, "user");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "email")), "obs@example.com");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "global_role")), "observer");
    CU_ASSERT(ufx_free_of_secrets("GET /me", r.body->str));
    json_decref(j);
    http_response_clear(&r);
    ufx_get("/api/v1/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);

    ufx_post("/api/latest/fleet/logout", NULL, token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    ufx_get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(ufx_is_fleet_error(&r, "Authentication required"));
    http_response_clear(&r);
    ufx_post("/api/latest/fleet/logout", NULL, token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(ufx_is_fleet_error(&r, NULL));
    http_response_clear(&r);
    ufx_post("/api/latest/fleet/logout", NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(ufx_is_fleet_error(&r, NULL));
    http_response_clear(&r);
}

/* Tokens that are not ours: wrong scheme, junk, oversized, a hash of a
 * real token. All 401 in Fleet's shape. */
static void test_session__bad_tokens(void)
{
    orchard_login_limit_reset();
    g_autofree char *token = ufx_login("obs@example.com", PW_OBS, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    g_autofree char *hash = orchard_sstore_sha256_hex(token);
    g_autofree char *huge = g_strnfill(4000, 'A');
    g_autofree char *basic = g_strdup_printf("Authorization: Basic %s", token);
    g_autofree char *almost = g_strndup(token, strlen(token) - 1);
    const char *tokens[] = {"", "not a token", "x'; DROP TABLE users;--", huge, hash, almost};
    for (size_t i = 0; i < G_N_ELEMENTS(tokens); i++) {
        http_response r;
        ufx_get("/api/latest/fleet/me", tokens[i], &r);
        CU_ASSERT_EQUAL(r.status, 401);
        CU_ASSERT(ufx_is_fleet_error(&r, NULL));
        http_response_clear(&r);
    }
    http_response r;
    struct curl_slist *h = curl_slist_append(NULL, basic);
    g_autofree char *url = g_strconcat(ufx_server->url, "/api/latest/fleet/me", NULL);
    http_perform(http_client(url, &r, h), &r);
    CU_ASSERT_EQUAL(r.status, 401);
    curl_slist_free_all(h);
    http_response_clear(&r);
    /* Lower-case scheme is still Bearer (RFC 9110: case-insensitive). */
    g_autofree char *lower = g_strdup_printf("Authorization: bearer %s", token);
    h = curl_slist_append(NULL, lower);
    http_perform(http_client(url, &r, h), &r);
    CU_ASSERT_EQUAL(r.status, 200);
    curl_slist_free_all(h);
    http_response_clear(&r);
}

static void test_session__expires(void)
{
    orchard_login_limit_reset();
    CU_ASSERT_EQUAL_FATAL(orchard_settings_override(NULL, ORCHARD_SESSION_DURATION_KEY, "1s"), 0);
    g_autofree char *token = ufx_login("obs@example.com", PW_OBS, NULL);
    CU_ASSERT_EQUAL(orchard_settings_override(NULL, ORCHARD_SESSION_DURATION_KEY, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    http_response r;
    ufx_get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    g_usleep(2100 * 1000);
    ufx_get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(ufx_is_fleet_error(&r, NULL));
    http_response_clear(&r);
    /* The row is still there (a clock from before its end finds it) until
     * the hourly sweep deletes it. */
    g_autofree char *hash = orchard_sstore_sha256_hex(token);
    g_autoptr(orchard_user) u = NULL;
    CU_ASSERT_EQUAL(orchard_store_session_user(hash, 0, &u), 0);
    g_clear_pointer(&u, orchard_user_free);
    const orchard_job *job = &orchard_job_sessions_expire;
    CU_ASSERT_STRING_EQUAL(job->name, "users.sessions_expire");
    CU_ASSERT(job->flags & ORCHARD_JOB_ONE_INSTANCE);
    CU_ASSERT_EQUAL(job->run2(orchard_registry_ctx_of(ufx_reg, job), job->payload), 0);
    CU_ASSERT_EQUAL(orchard_store_session_user(hash, 0, &u), ORCHARD_ENOTFOUND);
    /* Other sessions stand. */
    gint64 deleted = -1;
    CU_ASSERT_EQUAL(orchard_store_sessions_expire(g_get_real_time() / G_USEC_PER_SEC, &deleted),
                    0);
    CU_ASSERT_EQUAL(deleted, 0);
    /* The default is 5 days. */
    int64_t ms = 0;
    CU_ASSERT_EQUAL(orchard_settings_duration(NULL, ORCHARD_SESSION_DURATION_KEY, &ms), 0);
    CU_ASSERT_EQUAL(ms, (int64_t)5 * 24 * 3600 * 1000);
}

/* Each role on a MAINTAINER route (GET /activities): observer 403, the
 * others 200; no token 401. */
static void test_roles__guarded_route(void)
{
    orchard_login_limit_reset();
    g_autofree char *obs = ufx_login("obs@example.com", PW_OBS, NULL);
    g_autofree char *maint = ufx_login("maint@example.com", PW_MAINT, NULL);
    g_autofree char *admin = ufx_login("admin@example.com", PW_ADMIN, NULL);
    CU_ASSERT_FATAL(obs && maint && admin);
    const struct {
        const char *token;
        long status;
    } cases[] = {{NULL, 401}, {"bogus", 401}, {obs, 403}, {maint, 200}, {admin, 200}};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        http_response r;
        ufx_get("/api/latest/fleet/activities", cases[i].token, &r);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        if (r.status >= 400)
            CU_ASSERT(ufx_is_fleet_error(&r, NULL));
        http_response_clear(&r);
    }
}

void users_suite(void)
{
    ORCHARD_ADD_SUITE("users", ufx_init, ufx_cleanup,
                      {"scrypt hashes verify, salted", test_password__hash_verify},
                      {"malformed stored hashes match nothing", test_password__malformed_hashes},
                      {"Fleet's password rule; generated passwords",
                       test_password__rule_and_generator},
                      {"emails, roles and names", test_fields__email_role_name},
                      {"login answers a user and a token", test_login__success},
                      {"failed logins look alike", test_login__failures_look_alike},
                      {"failed logins are limited per email", test_login__rate_limited},
                      {"per address, bounded table", test_login__limit_per_address_and_bounds},
                      {"hostile login bodies", test_login__hostile_bodies},
                      {"me and logout", test_session__me_and_logout},
                      {"tokens that are not ours", test_session__bad_tokens},
                      {"sessions expire", test_session__expires},
                      {"roles on a guarded route", test_roles__guarded_route});
}

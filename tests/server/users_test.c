/* users: users, roles, sessions and the activity log. The server plugin is
 * loaded into a registry of our own and served with the real
 * orchard_http.so on a store in a temporary directory (http_fixture's
 * server and libcurl client); `orchard user` runs as the real binary on the
 * same store. Passwords and tokens made here are planted secrets: no
 * activity, table or listing may show one. */
#include "tests/suites.h"

#include "host/config.h"
#include "host/http/http_guard.h"
#include "host/log.h"
#include "host/plugins/registry.h"
#include "host/settings.h"
#include "host/store/store.h"
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/users/activity.h"
#include "server_plugin/users/users.h"
#include "tests/host/http_fixture.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PW_ADMIN "Admin-password-1"
#define PW_MAINT "Maint-password-22"
#define PW_OBS "Observer-pass-333"

static char *dir, *db_path, *cfg_path;
static orchard_registry *reg, *saved_reg;
static http_server *server;
static int saved_level;
static GPtrArray *secrets; /* every password and token made here (g_free) */

/* ---- helpers: HTTP ---------------------------------------------------------- */

static void request(const char *method, const char *path, const char *body, size_t len,
                    const char *token, http_response *r)
{
    g_autofree char *url = g_strconcat(server->url, path, NULL);
    g_autofree char *auth = token ? g_strdup_printf("Authorization: Bearer %s", token) : NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth)
        h = curl_slist_append(h, auth);
    CURL *c = http_client(url, r, h);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    http_perform(c, r);
    curl_slist_free_all(h);
}

static void post(const char *path, const char *body, const char *token, http_response *r)
{
    request("POST", path, body, body ? strlen(body) : 0, token, r);
}

static void get(const char *path, const char *token, http_response *r)
{
    request("GET", path, NULL, 0, token, r);
}

static json_t *json_of(const http_response *r)
{
    json_t *j = json_loadb(r->body->str, r->body->len, 0, NULL);
    if (!j)
        fprintf(stderr, "\n  not JSON (%ld): %s\n", r->status, r->body->str);
    return j;
}

/* Fleet's error shape: {"message": ..., "errors": [{"name": ..., "reason": ...}]},
 * the message holding `want` (NULL: any). */
static int is_fleet_error(const http_response *r, const char *want)
{
    json_t *j = json_of(r);
    json_t *errs = json_object_get(j, "errors");
    json_t *e0 = json_array_get(errs, 0);
    const char *msg = json_string_value(json_object_get(j, "message"));
    int ok = msg && json_is_string(json_object_get(e0, "name")) &&
             json_is_string(json_object_get(e0, "reason")) && (!want || strstr(msg, want));
    if (!ok)
        fprintf(stderr, "\n  not a Fleet error with '%s': %s\n", want ? want : "",
                r->body->str);
    json_decref(j);
    return ok;
}

/* POST /login; the token (g_free, planted) on 200, else NULL; *status. */
static char *login(const char *email, const char *password, long *status)
{
    http_response r;
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    post("/api/latest/fleet/login", text, NULL, &r);
    free(text);
    json_decref(body);
    char *token = NULL;
    if (status)
        *status = r.status;
    if (r.status == 200) {
        json_t *j = json_of(&r);
        token = g_strdup(json_string_value(json_object_get(j, "token")));
        json_decref(j);
        if (token)
            g_ptr_array_add(secrets, g_strdup(token));
    }
    http_response_clear(&r);
    return token;
}

/* ---- helpers: users and the binary ------------------------------------------ */

/* A user straight into the store: 0 (or already there), else the code. */
static int make_user(const char *email, const char *role, const char *password, int api_only)
{
    g_autofree char *hash = NULL;
    if (password && orchard_password_hash(password, strlen(password), &hash) != 0)
        return ORCHARD_EIO;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    orchard_user u = {.email = (char *)email, .name = (char *)"Test User", .role = (char *)role,
                      .api_only = api_only, .password_hash = hash, .created_at = now};
    int rc = orchard_store_user_create(&u);
    return rc == ORCHARD_EEXIST ? 0 : rc;
}

static void to_stdin(gpointer fd) { dup2(GPOINTER_TO_INT(fd), STDIN_FILENO); }

/* `orchard --config <cfg> args...` with `input` on stdin; exit status. */
static int run_orchard(const char *input, char **out, char **err, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)ORCHARD_BIN);
    g_ptr_array_add(argv, (char *)"--config");
    g_ptr_array_add(argv, cfg_path);
    for (size_t i = 0; args[i]; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    g_autofree char *in_path = g_build_filename(dir, "stdin", NULL);
    g_file_set_contents(in_path, input ? input : "", -1, NULL);
    int fd = open(in_path, O_RDONLY);
    int status = -1;
    g_autoptr(GError) gerr = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_CHILD_INHERITS_STDIN, to_stdin,
                      GINT_TO_POINTER(fd), out, err, &status, &gerr)) {
        fprintf(stderr, "\n  cannot run orchard: %s\n", gerr->message);
        close(fd);
        return -1;
    }
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define ORCHARD(in, out, err, ...) run_orchard(in, out, err, (const char *const[]){__VA_ARGS__, NULL})

/* The last non-empty line of `text` (g_free). */
static char *last_line(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    for (int i = (int)g_strv_length(lines) - 1; i >= 0; i--)
        if (*lines[i])
            return g_strdup(lines[i]);
    return g_strdup("");
}

/* 1 when no planted secret (nor a password hash) is in `text`. */
static int free_of_secrets(const char *what, const char *text)
{
    for (guint i = 0; i < secrets->len; i++)
        if (strstr(text, secrets->pdata[i])) {
            fprintf(stderr, "\n  %s shows a secret: %s\n", what, (char *)secrets->pdata[i]);
            return 0;
        }
    if (strstr(text, "$scrypt$")) {
        fprintf(stderr, "\n  %s shows a password hash\n", what);
        return 0;
    }
    return 1;
}

/* ---- suite ---------------------------------------------------------------------- */

static void config(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

static int suite_init(void)
{
    g_autofree char *err = NULL;
    secrets = g_ptr_array_new_with_free_func(g_free);
    dir = g_dir_make_tmp("orchard-users-XXXXXX", NULL);
    db_path = g_build_filename(dir, "users.db", NULL);
    cfg_path = g_build_filename(dir, "orchard.yml", NULL);
    g_autofree char *yml = g_strdup_printf("store:\n  sqlite: %s\n", db_path);
    if (!dir || !g_file_set_contents(cfg_path, yml, -1, NULL))
        return 1;
    saved_level = orchard_log_get_level();
    orchard_log_set_level(ORCHARD_LOG_ERROR);
    /* An authenticator left by a suite that ran the plugin's init on a
     * context of its own would stand in for ours. */
    orchard_http_guard_reset();
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, orchard_plugin_entry, &err) != 0) {
        fprintf(stderr, "users: %s\n", err);
        return 1;
    }
    orchard_registry_set_global(reg);
    config("http_module", BUILD_DIR "/modules/orchard_http.so");
    config("server.address", "127.0.0.1:0");
    config("server.threads", "4");
    config("store.sqlite", db_path);
    orchard_store_close();
    if (orchard_store_open(db_path, &err) != 0 || orchard_server_store_migrate() != 0) {
        fprintf(stderr, "users: store: %s\n", err ? err : "migrations failed");
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    server = http_server_start();
    if (!server->url) {
        fprintf(stderr, "users: the server did not start\n");
        return 1;
    }
    if (make_user("admin@example.com", "admin", PW_ADMIN, 0) ||
        make_user("maint@example.com", "maintainer", PW_MAINT, 0) ||
        make_user("obs@example.com", "observer", PW_OBS, 0)) {
        fprintf(stderr, "users: cannot make the test users\n");
        return 1;
    }
    const char *planted[] = {PW_ADMIN, PW_MAINT, PW_OBS};
    for (size_t i = 0; i < G_N_ELEMENTS(planted); i++)
        g_ptr_array_add(secrets, g_strdup(planted[i]));
    return 0;
}

static int suite_cleanup(void)
{
    if (server)
        http_server_finish(server, NULL);
    server = NULL;
    orchard_store_close();
    config("http_module", NULL);
    config("server.address", NULL);
    config("server.threads", NULL);
    config("store.sqlite", NULL);
    if (reg) {
        orchard_registry_set_global(saved_reg);
        orchard_registry_free(reg);
        reg = NULL;
    }
    orchard_log_set_level(saved_level);
    curl_global_cleanup();
    if (dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "users: cannot remove %s\n", dir);
    }
    g_clear_pointer(&dir, g_free);
    g_clear_pointer(&db_path, g_free);
    g_clear_pointer(&cfg_path, g_free);
    g_clear_pointer(&secrets, g_ptr_array_unref);
    return 0;
}

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
    post("/api/latest/fleet/login",
         "{\"email\": \"ADMIN@example.com\", \"password\": \"" PW_ADMIN "\"}", NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    json_t *j = json_of(&r);
    json_t *u = json_object_get(j, "user");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "email")), "admin@example.com");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "id")), "admin@example.com");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "global_role")), "admin");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "name")), "Test User");
    CU_ASSERT(json_is_false(json_object_get(u, "api_only")));
    CU_ASSERT(json_is_string(json_object_get(u, "created_at")));
    CU_ASSERT(json_is_string(json_object_get(u, "updated_at")));
    CU_ASSERT_PTR_NULL(json_object_get(u, "password_hash"));
    const char *token = json_string_value(json_object_get(j, "token"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    CU_ASSERT_EQUAL(strlen(token), 43);
    g_ptr_array_add(secrets, g_strdup(token));
    CU_ASSERT(strstr(r.body->str, "$scrypt$") == NULL);
    /* v1 is the same route. */
    long status = 0;
    g_autofree char *t2 = login("admin@example.com", PW_ADMIN, &status);
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
    CU_ASSERT_EQUAL_FATAL(make_user("apionly@example.com", "observer", NULL, 1), 0);
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
        post("/api/latest/fleet/login", bodies[i], NULL, &r);
        CU_ASSERT_EQUAL(r.status, 401);
        CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
        CU_ASSERT(is_fleet_error(&r, "Authentication failed"));
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
        g_free(login("maint@example.com", "wrong-password-1", &status));
        CU_ASSERT_EQUAL(status, 401);
    }
    /* Blocked now, even with the right password, and without a KDF run. */
    http_response r;
    guint64 before = orchard_password_kdf_runs();
    post("/api/latest/fleet/login",
         "{\"email\": \"maint@example.com\", \"password\": \"" PW_MAINT "\"}", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 429);
    CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before);
    CU_ASSERT(is_fleet_error(&r, "too many failed logins"));
    const char *h = strstr(r.headers->str, "Retry-After: ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int secs = atoi(h + strlen("Retry-After: "));
    CU_ASSERT(secs >= 1 && secs <= ORCHARD_LOGIN_WINDOW_SECONDS);
    http_response_clear(&r);
    /* Another email from the same address still may. */
    g_autofree char *t = login("obs@example.com", PW_OBS, &status);
    CU_ASSERT_EQUAL(status, 200);

    /* A success clears the email's count. */
    orchard_login_limit_reset();
    for (int i = 0; i < ORCHARD_LOGIN_FAILURES_PER_EMAIL - 1; i++)
        g_free(login("maint@example.com", "wrong-password-1", &status));
    g_free(login("maint@example.com", PW_MAINT, &status));
    CU_ASSERT_EQUAL(status, 200);
    for (int i = 0; i < ORCHARD_LOGIN_FAILURES_PER_EMAIL - 1; i++) {
        g_free(login("maint@example.com", "wrong-password-1", &status));
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
        request("POST", "/api/latest/fleet/login", cases[i].body, len, NULL, &r);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        if (r.status != cases[i].status)
            fprintf(stderr, "\n  case %zu: %ld %s\n", i, r.status, r.body->str);
        CU_ASSERT(is_fleet_error(&r, cases[i].msg));
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
    request("POST", "/api/latest/fleet/login", body, big, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    CU_ASSERT(is_fleet_error(&r, "limit"));
    http_response_clear(&r);
    /* A huge email (under the cap): an ordinary failure, counted by address. */
    GString *s = g_string_new("{\"password\": \"x\", \"email\": \"");
    for (int i = 0; i < 100000; i++)
        g_string_append_c(s, 'a');
    g_string_append(s, "@example.com\"}");
    guint64 before = orchard_password_kdf_runs();
    request("POST", "/api/latest/fleet/login", s->str, s->len, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
    CU_ASSERT(is_fleet_error(&r, "Authentication failed"));
    CU_ASSERT(strstr(r.body->str, "aaaaaaaaaa") == NULL);
    http_response_clear(&r);
    /* A huge password, even for a real user: one KDF run, the same 401. */
    g_string_assign(s, "{\"email\": \"admin@example.com\", \"password\": \"" PW_ADMIN);
    for (int i = 0; i < 200000; i++)
        g_string_append_c(s, 'p');
    g_string_append(s, "\"}");
    before = orchard_password_kdf_runs();
    request("POST", "/api/latest/fleet/login", s->str, s->len, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT_EQUAL(orchard_password_kdf_runs(), before + 1);
    CU_ASSERT(is_fleet_error(&r, "Authentication failed"));
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
    g_autofree char *token = login("obs@example.com", PW_OBS, &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    http_response r;
    get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = json_of(&r);
    json_t *u = json_object_get(j, "user");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "email")), "obs@example.com");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "global_role")), "observer");
    CU_ASSERT(free_of_secrets("GET /me", r.body->str));
    json_decref(j);
    http_response_clear(&r);
    get("/api/v1/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);

    post("/api/latest/fleet/logout", NULL, token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(is_fleet_error(&r, "Authentication required"));
    http_response_clear(&r);
    post("/api/latest/fleet/logout", NULL, token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(is_fleet_error(&r, NULL));
    http_response_clear(&r);
    post("/api/latest/fleet/logout", NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(is_fleet_error(&r, NULL));
    http_response_clear(&r);
}

/* Tokens that are not ours: wrong scheme, junk, oversized, a hash of a
 * real token. All 401 in Fleet's shape. */
static void test_session__bad_tokens(void)
{
    orchard_login_limit_reset();
    g_autofree char *token = login("obs@example.com", PW_OBS, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    g_autofree char *hash = orchard_sstore_sha256_hex(token);
    g_autofree char *huge = g_strnfill(4000, 'A');
    g_autofree char *basic = g_strdup_printf("Authorization: Basic %s", token);
    g_autofree char *almost = g_strndup(token, strlen(token) - 1);
    const char *tokens[] = {"", "not a token", "x'; DROP TABLE users;--", huge, hash, almost};
    for (size_t i = 0; i < G_N_ELEMENTS(tokens); i++) {
        http_response r;
        get("/api/latest/fleet/me", tokens[i], &r);
        CU_ASSERT_EQUAL(r.status, 401);
        CU_ASSERT(is_fleet_error(&r, NULL));
        http_response_clear(&r);
    }
    http_response r;
    struct curl_slist *h = curl_slist_append(NULL, basic);
    g_autofree char *url = g_strconcat(server->url, "/api/latest/fleet/me", NULL);
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
    g_autofree char *token = login("obs@example.com", PW_OBS, NULL);
    CU_ASSERT_EQUAL(orchard_settings_override(NULL, ORCHARD_SESSION_DURATION_KEY, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    http_response r;
    get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    g_usleep(2100 * 1000);
    get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(is_fleet_error(&r, NULL));
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
    CU_ASSERT_EQUAL(job->run2(orchard_registry_ctx_of(reg, job), job->payload), 0);
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
    g_autofree char *obs = login("obs@example.com", PW_OBS, NULL);
    g_autofree char *maint = login("maint@example.com", PW_MAINT, NULL);
    g_autofree char *admin = login("admin@example.com", PW_ADMIN, NULL);
    CU_ASSERT_FATAL(obs && maint && admin);
    const struct {
        const char *token;
        long status;
    } cases[] = {{NULL, 401}, {"bogus", 401}, {obs, 403}, {maint, 200}, {admin, 200}};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        http_response r;
        get("/api/latest/fleet/activities", cases[i].token, &r);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        if (r.status >= 400)
            CU_ASSERT(is_fleet_error(&r, NULL));
        http_response_clear(&r);
    }
}

/* ---- the command line ------------------------------------------------------------ */

static void test_cli__create_login_delete(void)
{
    orchard_login_limit_reset();
    g_autofree char *out = NULL, *err = NULL;
    const char *pw = "Cli-password-4242";
    g_ptr_array_add(secrets, g_strdup(pw));
    g_autofree char *line = g_strdup_printf("%s\n", pw);
    int rc = ORCHARD(line, &out, &err, "user", "create", "--email", "Cli@Example.com", "--name",
                     "Cli User", "--role", "maintainer");
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  %s%s\n", out, err);
    CU_ASSERT(strstr(out, "cli@example.com") != NULL);
    CU_ASSERT(free_of_secrets("user create", out));
    long status = 0;
    g_autofree char *token = login("cli@example.com", pw, &status);
    CU_ASSERT_EQUAL(status, 200);

    /* The same email again (any case): refused, and the first one stands. */
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = ORCHARD(line, &out, &err, "user", "create", "--email", "CLI@example.com", "--name", "X",
                 "--role", "admin");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(strstr(err, "already exists") != NULL);

    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = ORCHARD(NULL, &out, &err, "user", "delete", "--email", "cli@example.com");
    CU_ASSERT_EQUAL(rc, 0);
    /* Deleted: the session is gone and the password no longer works. */
    http_response r;
    get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    http_response_clear(&r);
    g_free(login("cli@example.com", pw, &status));
    CU_ASSERT_EQUAL(status, 401);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = ORCHARD(NULL, &out, &err, "user", "delete", "--email", "cli@example.com");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(strstr(err, "no user") != NULL);
    orchard_login_limit_reset();
}

static void test_cli__refusals(void)
{
    const struct {
        const char *input;
        const char *args[10];
        int rc;
        const char *why;
    } cases[] = {
        {"Good-password-123\n", {"--email", "r@example.com", "--name", "R", "--role", "root"}, 2,
         "--role must be"},
        {"Good-password-123\n", {"--email", "not-an-email", "--name", "R", "--role", "admin"}, 2,
         "email"},
        {"short-1\n", {"--email", "r@example.com", "--name", "R", "--role", "admin"}, 2,
         "12 to 48"},
        {"", {"--email", "r@example.com", "--name", "R", "--role", "admin"}, 1,
         "no password"},
        {"Good-password-123\n", {"--email", "r@example.com", "--role", "admin"}, 2, "--name"},
        {"Good-password-123\n", {"--email", "r@example.com", "--name", "R\x1b[2J", "--role",
         "admin"}, 2, "control"},
        {NULL, {"--email", "r@example.com", "--name", "R", "--role", "admin", "--api-only",
         "--generate-password"}, 2, "exclude"},
        {NULL, {"--email", "r@example.com", "--bogus"}, 2, "bogus"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *argv[14] = {"user", "create"};
        size_t n = 2;
        for (size_t k = 0; k < 10 && cases[i].args[k]; k++)
            argv[n++] = cases[i].args[k];
        argv[n] = NULL;
        g_autofree char *out = NULL, *err = NULL;
        int rc = run_orchard(cases[i].input, &out, &err, argv);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT(strstr(err, cases[i].why) != NULL);
        if (rc != cases[i].rc || !strstr(err, cases[i].why))
            fprintf(stderr, "\n  case %zu: %d %s\n", i, rc, err);
    }
    g_autoptr(orchard_user) u = NULL;
    CU_ASSERT_EQUAL(orchard_store_user_get("r@example.com", &u), ORCHARD_ENOTFOUND);
}

static void test_cli__generated_and_api_only(void)
{
    orchard_login_limit_reset();
    g_autofree char *out = NULL, *err = NULL;
    int rc = ORCHARD("ignored\n", &out, &err, "user", "create", "--email", "gen@example.com",
                     "--name", "Gen", "--role", "observer", "--generate-password");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    g_autofree char *pw = last_line(out);
    g_ptr_array_add(secrets, g_strdup(pw));
    CU_ASSERT_PTR_NULL(orchard_password_weakness(pw, strlen(pw)));
    long status = 0;
    g_autofree char *t = login("gen@example.com", pw, &status);
    CU_ASSERT_EQUAL(status, 200);

    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = ORCHARD(NULL, &out, &err, "user", "create", "--email", "bot@example.com", "--name",
                 "CI bot", "--role", "maintainer", "--api-only");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    g_autofree char *token = last_line(out);
    g_ptr_array_add(secrets, g_strdup(token));
    CU_ASSERT_EQUAL(strlen(token), 43);
    http_response r;
    get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = json_of(&r);
    CU_ASSERT(json_is_true(json_object_get(json_object_get(j, "user"), "api_only")));
    json_decref(j);
    http_response_clear(&r);
    get("/api/latest/fleet/activities", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    /* Its session never expires (NULL in the store), and it cannot log in
     * with a password. */
    CU_ASSERT_EQUAL(orchard_store_sessions_expire(G_MAXINT64 / 2, NULL), 0);
    get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    g_free(login("bot@example.com", token, &status));
    CU_ASSERT_EQUAL(status, 401);
    orchard_login_limit_reset();
}

static void test_cli__list(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(ORCHARD(NULL, &out, &err, "user", "list"), 0);
    CU_ASSERT(strstr(out, "admin@example.com") && strstr(out, "maintainer") &&
              strstr(out, "EMAIL"));
    CU_ASSERT(free_of_secrets("user list", out));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    CU_ASSERT_EQUAL_FATAL(ORCHARD(NULL, &out, &err, "user", "list", "--json"), 0);
    json_t *arr = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(json_is_array(arr));
    CU_ASSERT(json_array_size(arr) >= 3);
    json_t *first = json_array_get(arr, 0);
    const char *keys[] = {"email", "name", "role", "api_only", "created_at"};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        CU_ASSERT_PTR_NOT_NULL(json_object_get(first, keys[i]));
    CU_ASSERT_EQUAL(json_object_size(first), G_N_ELEMENTS(keys));
    CU_ASSERT(free_of_secrets("user list --json", out));
    json_decref(arr);
}

/* ---- activities and tables ------------------------------------------------------- */

static void test_activities__recorded_and_listed(void)
{
    orchard_login_limit_reset();
    g_autofree char *token = login("maint@example.com", PW_MAINT, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    http_response r;
    get("/api/latest/fleet/activities?per_page=1000", token, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    CU_ASSERT(free_of_secrets("GET /activities", r.body->str));
    json_t *j = json_of(&r);
    json_t *acts = json_object_get(j, "activities");
    CU_ASSERT_FATAL(json_array_size(acts) >= 3);
    /* Newest first: our own login. */
    json_t *a0 = json_array_get(acts, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a0, "type")), "user_logged_in");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a0, "actor_email")),
                           "maint@example.com");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a0, "actor_full_name")), "Test User");
    CU_ASSERT(json_is_object(json_object_get(a0, "details")));
    CU_ASSERT(json_is_integer(json_object_get(a0, "id")));
    CU_ASSERT(json_is_string(json_object_get(a0, "created_at")));
    int created = 0, deleted = 0;
    json_int_t prev = G_MAXINT64;
    for (size_t i = 0; i < json_array_size(acts); i++) {
        json_t *a = json_array_get(acts, i);
        const char *type = json_string_value(json_object_get(a, "type"));
        json_int_t id = json_integer_value(json_object_get(a, "id"));
        CU_ASSERT(id < prev);
        prev = id;
        if (strcmp(type, "created_user") == 0 || strcmp(type, "deleted_user") == 0) {
            /* From the command line: no actor. */
            CU_ASSERT(json_is_null(json_object_get(a, "actor_email")));
            CU_ASSERT(json_is_string(json_object_get(json_object_get(a, "details"), "user_email")));
            created += type[0] == 'c';
            deleted += type[0] == 'd';
        }
    }
    CU_ASSERT(created >= 3);
    CU_ASSERT(deleted >= 1);
    json_decref(j);
    http_response_clear(&r);

    /* Paging: one per page, the second page holds the second newest. */
    get("/api/latest/fleet/activities?per_page=1&page=1", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    j = json_of(&r);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "activities")), 1);
    CU_ASSERT(json_is_true(json_object_get(json_object_get(j, "meta"), "has_previous_results")));
    json_decref(j);
    http_response_clear(&r);
    const char *bad[] = {"?per_page=0", "?page=-1", "?per_page=abc", "?per_page=100000"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *p = g_strconcat("/api/latest/fleet/activities", bad[i], NULL);
        get(p, token, &r);
        CU_ASSERT_EQUAL(r.status, 400);
        CU_ASSERT(is_fleet_error(&r, NULL));
        http_response_clear(&r);
    }
}

/* orchard_activity_record: the actor's name from the store, details kept
 * as an object, a missing type refused. */
static void test_activities__record(void)
{
    orchard_ctx *ctx = orchard_registry_ctx_of(reg, &orchard_cmd_user_create);
    CU_ASSERT_EQUAL(orchard_activity_record(ctx, NULL, "admin@example.com", "changed_setting",
                                            json_pack("{s:s}", "key", "server.url")),
                    0);
    CU_ASSERT_EQUAL(orchard_activity_record(ctx, NULL, NULL, NULL, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_activity_record(ctx, NULL, NULL, "x", json_array()), ORCHARD_EINVAL);
    g_autoptr(GPtrArray) list = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_activity_list(0, 1, &list), 0);
    CU_ASSERT_EQUAL_FATAL(list->len, 1);
    orchard_activity *a = list->pdata[0];
    CU_ASSERT_STRING_EQUAL(a->type, "changed_setting");
    CU_ASSERT_STRING_EQUAL(a->actor_email, "admin@example.com");
    CU_ASSERT_STRING_EQUAL(a->actor_name, "Test User");
    CU_ASSERT_STRING_EQUAL(a->details, "{\"key\":\"server.url\"}");
}

/* The tables through `orchard query`: the columns of the spec, no secret. */
static void test_tables__users_and_activities(void)
{
    g_autofree char *out = NULL, *err = NULL;
    int rc = ORCHARD(NULL, &out, &err, "query", "--json", "select * from users");
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT(strstr(out, "admin@example.com") != NULL);
    CU_ASSERT(strstr(out, "\"role\"") != NULL);
    CU_ASSERT(free_of_secrets("the users table", out));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = ORCHARD(NULL, &out, &err, "query", "--json",
                 "select id, type, actor_email, details from activities");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(strstr(out, "created_user") != NULL);
    CU_ASSERT(strstr(out, "user_logged_in") != NULL);
    CU_ASSERT(free_of_secrets("the activities table", out));
}

void users_suite(void)
{
    ORCHARD_ADD_SUITE("users", suite_init, suite_cleanup,
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
                      {"roles on a guarded route", test_roles__guarded_route},
                      {"user create, login, delete", test_cli__create_login_delete},
                      {"user create refusals", test_cli__refusals},
                      {"generated password, API-only token", test_cli__generated_and_api_only},
                      {"user list", test_cli__list},
                      {"activities recorded and listed", test_activities__recorded_and_listed},
                      {"activity_record", test_activities__record},
                      {"users and activities tables", test_tables__users_and_activities});
}

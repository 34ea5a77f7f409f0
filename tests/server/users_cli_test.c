/* users_cli: `orchard user create | list | delete` as the real binary on
 * the store the server in this process serves (users_fixture.h), the
 * activity log they and logins write, and the users and activities tables.
 * No listing, activity or table may show a planted secret. */
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

/* ---- the command line ------------------------------------------------------------ */

static void test_cli__create_login_delete(void)
{
    orchard_login_limit_reset();
    g_autofree char *out = NULL, *err = NULL;
    const char *pw = "Cli-password-4242";
    g_ptr_array_add(ufx_secrets, g_strdup(pw));
    g_autofree char *line = g_strdup_printf("%s\n", pw);
    int rc = ORCHARD(line, &out, &err, "user", "create", "--email", "Cli@Example.com", "--name",
                     "Cli User", "--role", "maintainer");
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  %s%s\n", out, err);
    CU_ASSERT(strstr(out, "cli@example.com") != NULL);
    CU_ASSERT(ufx_free_of_secrets("user create", out));
    long status = 0;
    g_autofree char *token = ufx_login("cli@example.com", pw, &status);
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
    ufx_get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    http_response_clear(&r);
    g_free(ufx_login("cli@example.com", pw, &status));
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
        int rc = ufx_orchard(cases[i].input, &out, &err, argv);
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
    g_autofree char *pw = ufx_last_line(out);
    g_ptr_array_add(ufx_secrets, g_strdup(pw));
    CU_ASSERT_PTR_NULL(orchard_password_weakness(pw, strlen(pw)));
    long status = 0;
    g_autofree char *t = ufx_login("gen@example.com", pw, &status);
    CU_ASSERT_EQUAL(status, 200);

    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = ORCHARD(NULL, &out, &err, "user", "create", "--email", "bot@example.com", "--name",
                 "CI bot", "--role", "maintainer", "--api-only");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    g_autofree char *token = ufx_last_line(out);
    g_ptr_array_add(ufx_secrets, g_strdup(token));
    CU_ASSERT_EQUAL(strlen(token), 43);
    http_response r;
    ufx_get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = ufx_json(&r);
    CU_ASSERT(json_is_true(json_object_get(json_object_get(j, "user"), "api_only")));
    json_decref(j);
    http_response_clear(&r);
    ufx_get("/api/latest/fleet/activities", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    /* Its session never expires (NULL in the store), and it cannot log in
     * with a password. */
    CU_ASSERT_EQUAL(orchard_store_sessions_expire(G_MAXINT64 / 2, NULL), 0);
    ufx_get("/api/latest/fleet/me", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    g_free(ufx_login("bot@example.com", token, &status));
    CU_ASSERT_EQUAL(status, 401);
    orchard_login_limit_reset();
}

static void test_cli__list(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(ORCHARD(NULL, &out, &err, "user", "list"), 0);
    CU_ASSERT(strstr(out, "admin@example.com") && strstr(out, "maintainer") &&
              strstr(out, "EMAIL"));
    CU_ASSERT(ufx_free_of_secrets("user list", out));
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
    CU_ASSERT(ufx_free_of_secrets("user list --json", out));
    json_decref(arr);
}

/* ---- activities and tables ------------------------------------------------------- */

static void test_activities__recorded_and_listed(void)
{
    orchard_login_limit_reset();
    g_autofree char *token = ufx_login("maint@example.com", PW_MAINT, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    http_response r;
    ufx_get("/api/latest/fleet/activities?per_page=1000", token, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    CU_ASSERT(ufx_free_of_secrets("GET /activities", r.body->str));
    json_t *j = ufx_json(&r);
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
    ufx_get("/api/latest/fleet/activities?per_page=1&page=1", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    j = ufx_json(&r);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "activities")), 1);
    CU_ASSERT(json_is_true(json_object_get(json_object_get(j, "meta"), "has_previous_results")));
    json_decref(j);
    http_response_clear(&r);
    const char *bad[] = {"?per_page=0", "?page=-1", "?per_page=abc", "?per_page=100000"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *p = g_strconcat("/api/latest/fleet/activities", bad[i], NULL);
        ufx_get(p, token, &r);
        CU_ASSERT_EQUAL(r.status, 400);
        CU_ASSERT(ufx_is_fleet_error(&r, NULL));
        http_response_clear(&r);
    }
}

/* orchard_activity_record: the actor's name from the store, details kept
 * as an object, a missing type refused. */
static void test_activities__record(void)
{
    orchard_ctx *ctx = orchard_registry_ctx_of(ufx_reg, &orchard_cmd_user_create);
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
    CU_ASSERT(ufx_free_of_secrets("the users table", out));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    rc = ORCHARD(NULL, &out, &err, "query", "--json",
                 "select id, type, actor_email, details from activities");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(strstr(out, "created_user") != NULL);
    CU_ASSERT(strstr(out, "user_logged_in") != NULL);
    CU_ASSERT(ufx_free_of_secrets("the activities table", out));
}

void users_cli_suite(void)
{
    ORCHARD_ADD_SUITE("users_cli", ufx_init, ufx_cleanup,
                      {"user create, login, delete", test_cli__create_login_delete},
                      {"user create refusals", test_cli__refusals},
                      {"generated password, API-only token", test_cli__generated_and_api_only},
                      {"user list", test_cli__list},
                      {"activities recorded and listed", test_activities__recorded_and_listed},
                      {"activity_record", test_activities__record},
                      {"users and activities tables", test_tables__users_and_activities});
}

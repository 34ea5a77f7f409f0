/* The users suites' fixture (users_fixture.h): the server plugin served
 * on a store of our own, three users, the real binary, planted secrets. */
#include "tests/server/users_fixture.h"

#include "host/config.h"
#include "host/http/http_guard.h"
#include "host/log.h"
#include "host/store/store.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/users/users.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

orchard_registry *ufx_reg;
http_server *ufx_server;
GPtrArray *ufx_secrets;
static char *dir, *db_path, *cfg_path;
static orchard_registry *saved_reg;
static int saved_level;

/* ---- helpers: HTTP ---------------------------------------------------------- */

void ufx_request(const char *method, const char *path, const char *body, size_t len,
                 const char *token, http_response *r)
{
    g_autofree char *url = g_strconcat(ufx_server->url, path, NULL);
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

void ufx_post(const char *path, const char *body, const char *token, http_response *r)
{
    ufx_request("POST", path, body, body ? strlen(body) : 0, token, r);
}

void ufx_get(const char *path, const char *token, http_response *r)
{
    ufx_request("GET", path, NULL, 0, token, r);
}

json_t *ufx_json(const http_response *r)
{
    json_t *j = json_loadb(r->body->str, r->body->len, 0, NULL);
    if (!j)
        fprintf(stderr, "\n  not JSON (%ld): %s\n", r->status, r->body->str);
    return j;
}

/* Fleet's error shape: {"message": ..., "errors": [{"name": ..., "reason": ...}]},
 * the message holding `want` (NULL: any). */
int ufx_is_fleet_error(const http_response *r, const char *want)
{
    json_t *j = ufx_json(r);
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
char *ufx_login(const char *email, const char *password, long *status)
{
    http_response r;
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    ufx_post("/api/latest/fleet/login", text, NULL, &r);
    free(text);
    json_decref(body);
    char *token = NULL;
    if (status)
        *status = r.status;
    if (r.status == 200) {
        json_t *j = ufx_json(&r);
        token = g_strdup(json_string_value(json_object_get(j, "token")));
        json_decref(j);
        if (token)
            g_ptr_array_add(ufx_secrets, g_strdup(token));
    }
    http_response_clear(&r);
    return token;
}

/* ---- helpers: users and the binary ------------------------------------------ */

/* A user straight into the store: 0 (or already there), else the code. */
int ufx_make_user(const char *email, const char *role, const char *password, int api_only)
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
int ufx_orchard(const char *input, char **out, char **err, const char *const *args)
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
        /* Callers read both: empty text fails their checks, NULL would crash. */
        if (out && !*out)
            *out = g_strdup("");
        if (err && !*err)
            *err = g_strdup("");
        return -1;
    }
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}


/* The last non-empty line of `text` (g_free). */
char *ufx_last_line(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    for (int i = (int)g_strv_length(lines) - 1; i >= 0; i--)
        if (*lines[i])
            return g_strdup(lines[i]);
    return g_strdup("");
}

/* 1 when no planted secret (nor a password hash) is in `text`. */
int ufx_free_of_secrets(const char *what, const char *text)
{
    for (guint i = 0; i < ufx_secrets->len; i++)
        if (strstr(text, ufx_secrets->pdata[i])) {
            fprintf(stderr, "\n  %s shows a secret: %s\n", what, (char *)ufx_secrets->pdata[i]);
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

int ufx_init(void)
{
    g_autofree char *err = NULL;
    ufx_secrets = g_ptr_array_new_with_free_func(g_free);
    if (!(dir = g_dir_make_tmp("orchard-users-XXXXXX", NULL)))
        return 1;
    db_path = g_build_filename(dir, "users.db", NULL);
    cfg_path = g_build_filename(dir, "orchard.yml", NULL);
    g_autofree char *yml = g_strdup_printf("store:\n  %s: %s\n", orchard_test_store_key() + 6,
                                           orchard_test_store(db_path));
    if (!g_file_set_contents(cfg_path, yml, -1, NULL))
        return 1;
    saved_level = orchard_log_get_level();
    orchard_log_set_level(ORCHARD_LOG_ERROR);
    /* An authenticator left by a suite that ran the plugin's init on a
     * context of its own would stand in for ours. */
    orchard_http_guard_reset();
    saved_reg = orchard_registry_global();
    ufx_reg = orchard_registry_new();
    if (orchard_registry_add_builtin(ufx_reg, orchard_plugin_entry, &err) != 0) {
        fprintf(stderr, "users: %s\n", err);
        return 1;
    }
    orchard_registry_set_global(ufx_reg);
    config("http_module", BUILD_DIR "/modules/orchard_http.so");
    config("server.address", "127.0.0.1:0");
    config("server.threads", "4");
    config(orchard_test_store_key(), orchard_test_store(db_path));
    orchard_store_close();
    if (orchard_store_open(orchard_test_store(db_path), &err) != 0 || orchard_server_store_migrate() != 0) {
        fprintf(stderr, "users: store: %s\n", err ? err : "migrations failed");
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    ufx_server = http_server_start();
    if (!ufx_server->url) {
        fprintf(stderr, "users: the server did not start\n");
        return 1;
    }
    if (ufx_make_user("admin@example.com", "admin", PW_ADMIN, 0) ||
        ufx_make_user("maint@example.com", "maintainer", PW_MAINT, 0) ||
        ufx_make_user("obs@example.com", "observer", PW_OBS, 0)) {
        fprintf(stderr, "users: cannot make the test users\n");
        return 1;
    }
    const char *planted[] = {PW_ADMIN, PW_MAINT, PW_OBS};
    for (size_t i = 0; i < G_N_ELEMENTS(planted); i++)
        g_ptr_array_add(ufx_secrets, g_strdup(planted[i]));
    return 0;
}

int ufx_cleanup(void)
{
    if (ufx_server)
        http_server_finish(ufx_server, NULL);
    ufx_server = NULL;
    orchard_store_close();
    config("http_module", NULL);
    config("server.address", NULL);
    config("server.threads", NULL);
    config(orchard_test_store_key(), NULL);
    if (ufx_reg) {
        orchard_registry_set_global(saved_reg);
        orchard_registry_free(ufx_reg);
        ufx_reg = NULL;
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
    g_clear_pointer(&ufx_secrets, g_ptr_array_unref);
    return 0;
}

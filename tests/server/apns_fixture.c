/* The apns suite's fixture (apns_fixture.h): the stand-in as a child, the
 * plugin's context and store, test devices through store_devices.h, the
 * push API's handler behind a fake request, and an HTTP client. */
#include "tests/server/apns_fixture.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_pushes.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "host/settings.h"
#include "host/store/store.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STANDIN_BIN BUILD_DIR "/tests/support/apns_standin"

typedef apnsfx_device device;

struct apnsfx apnsfx;

/* ---- the stand-in ---------------------------------------------------------- */

static int sh(const char *cmd)
{
    const char *argv[] = {"sh", "-c", cmd, NULL};
    int rc = mdmfx_spawn(mdmfx_state.dir, NULL, NULL, argv);
    if (rc)
        fprintf(stderr, "apns: `%s` failed\n", cmd);
    return rc;
}

/* One line of the stand-in's stdout (10 s at most); g_free, NULL on EOF or timeout. */
static char *standin_line(void)
{
    GString *s = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    char c;
    while (g_get_monotonic_time() < end) {
        struct pollfd p = {.fd = apnsfx.out, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        if (read(apnsfx.out, &c, 1) != 1)
            break;
        if (c == '\n')
            return g_string_free(s, FALSE);
        g_string_append_c(s, c);
    }
    g_string_free(s, TRUE);
    return NULL;
}

/* Send a control line, then `stats`, whose answer proves the line was read;
 * returns the pushes the stand-in has answered so far (-1 when it did not say). */
long apnsfx_say(const char *line)
{
    g_autofree char *text = g_strdup_printf("%s%sstats\n", line ? line : "", line ? "\n" : "");
    if (write(apnsfx.in, text, strlen(text)) != (ssize_t)strlen(text))
        return -1;
    g_autofree char *answer = standin_line();
    long pushes = -1;
    if (!answer || sscanf(answer, "pushes %ld", &pushes) != 1)
        fprintf(stderr, "\n  stand-in said: %s\n", answer ? answer : "(nothing)");
    return pushes;
}

static int standin_start(void)
{
    g_autofree char *srv_crt = mdmfx_path("standin.crt");
    g_autofree char *srv_key = mdmfx_path("standin.key");
    g_autofree char *client_ca = mdmfx_path("apple_ca.crt");
    const char *argv[] = {STANDIN_BIN, "--cert", srv_crt, "--key", srv_key, "--client-ca",
                          client_ca, "--topic", mdmfx_state.topic, "--listen", "127.0.0.1:0",
                          "--record", apnsfx.record, NULL};
    g_autoptr(GError) err = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &apnsfx.pid, &apnsfx.in, &apnsfx.out, NULL, &err)) {
        fprintf(stderr, "apns: cannot start %s: %s\n", STANDIN_BIN, err->message);
        return -1;
    }
    g_autofree char *line = standin_line();
    if (!line || !g_str_has_prefix(line, "listening https://")) {
        fprintf(stderr, "apns: the stand-in said %s\n", line ? line : "nothing");
        return -1;
    }
    apnsfx.url = g_strdup(line + strlen("listening "));
    return 0;
}

static void standin_stop(void)
{
    if (apnsfx.pid) {
        kill(apnsfx.pid, SIGTERM);
        waitpid(apnsfx.pid, NULL, 0);
        g_spawn_close_pid(apnsfx.pid);
        apnsfx.pid = 0;
    }
    if (apnsfx.in > 0)
        close(apnsfx.in);
    if (apnsfx.out > 0)
        close(apnsfx.out);
    apnsfx.in = apnsfx.out = -1;
}

/* The record's lines for `token` (json_t *, decref'd by the array). */
GPtrArray *apnsfx_recorded(const char *token)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(apnsfx.record, &text, NULL, NULL))
        return out;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (size_t i = 0; lines[i]; i++) {
        json_t *j = *lines[i] ? json_loads(lines[i], 0, NULL) : NULL;
        if (j && g_strcmp0(json_string_value(json_object_get(j, "token")), token) == 0)
            g_ptr_array_add(out, j);
        else
            json_decref(j);
    }
    return out;
}

/* ---- suite ------------------------------------------------------------------ */

void apnsfx_set(const char *key, const char *value)
{
    CU_ASSERT_EQUAL(orchard_settings_override(NULL, key, value), 0);
}

int apnsfx_init(void)
{
    memset(&apnsfx, 0, sizeof apnsfx);
    apnsfx.in = apnsfx.out = -1;
    if (mdmfx_setup())
        return -1;
    orchard_server_host = orchard_host_api_get();
    if (!orchard_settings_find("mdm.apple_apns_url", NULL)) {
        g_autofree char *err = NULL;
        apnsfx.settings_owner = orchard_ctx_new(NULL);
        if (orchard_settings_add_owner(apnsfx.settings_owner, orchard_mdm_settings,
                                       ORCHARD_MDM_N_SETTINGS, &err)) {
            fprintf(stderr, "apns: %s\n", err);
            return -1;
        }
    }
    /* The stand-in's own CA and server certificate, for 127.0.0.1. */
    if (sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout standin_ca.key -subj "
           "'/CN=apns stand-in CA' -days 2 -out standin_ca.crt 2>/dev/null && "
           "openssl req -newkey rsa:2048 -nodes -keyout standin.key -subj '/CN=127.0.0.1' "
           "-out standin.csr 2>/dev/null && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n"
           "extendedKeyUsage=serverAuth\\n' > standin.ext && openssl x509 -req -in standin.csr "
           "-CA standin_ca.crt -CAkey standin_ca.key -CAcreateserial -days 2 -extfile "
           "standin.ext -out standin.crt 2>/dev/null"))
        return -1;
    apnsfx.ca = mdmfx_path("standin_ca.crt");
    apnsfx.record = mdmfx_path("record.jsonl");
    apnsfx.store = mdmfx_path("apns.db");
    if (standin_start())
        return -1;

    g_autofree char *err = NULL;
    apnsfx.ctx = orchard_ctx_new(NULL);
    orchard_server_init(apnsfx.ctx);
    if (orchard_store_open(orchard_test_store(apnsfx.store), &err) || orchard_server_store_migrate()) {
        fprintf(stderr, "apns: store: %s\n", err ? err : "migrations failed");
        return -1;
    }
    orchard_mdm_config *cfg = NULL;
    mdmfx_apply_config(NULL);
    if (orchard_mdm_config_load(orchard_server_host, &cfg, &err)) {
        fprintf(stderr, "apns: config: %s\n", err);
        return -1;
    }
    orchard_serve_state_set(apnsfx.ctx, cfg);
    orchard_settings_override(NULL, "mdm.apple_apns_url", apnsfx.url);
    orchard_settings_override(NULL, "mdm.apple_apns_ca", apnsfx.ca);
    apnsfx.ready = 1;
    return 0;
}

int apnsfx_cleanup(void)
{
    standin_stop();
    orchard_settings_override(NULL, "mdm.apple_apns_url", NULL);
    orchard_settings_override(NULL, "mdm.apple_apns_ca", NULL);
    if (apnsfx.ctx) {
        orchard_serve_state_set(apnsfx.ctx, NULL);
        orchard_server_deinit(apnsfx.ctx);
        g_clear_pointer(&apnsfx.ctx, orchard_ctx_free);
    }
    orchard_store_close();
    if (apnsfx.settings_owner) {
        orchard_settings_forget_owner(apnsfx.settings_owner);
        g_clear_pointer(&apnsfx.settings_owner, g_free);
    }
    g_clear_pointer(&apnsfx.ca, g_free);
    g_clear_pointer(&apnsfx.record, g_free);
    g_clear_pointer(&apnsfx.store, g_free);
    g_clear_pointer(&apnsfx.url, g_free);
    mdmfx_apply_config(NULL);
    return mdmfx_teardown();
}

/* ---- devices ---------------------------------------------------------------- */

gint64 apnsfx_now_ms(void) { return g_get_real_time() / 1000; }

/* Authenticate + TokenUpdate a fresh device, as the check-in flow does. */
void apnsfx_enroll(device *d)
{
    int n = ++apnsfx.serial;
    g_snprintf(d->udid, sizeof d->udid, "0000FE00-APNS-TEST-%04d", n);
    g_snprintf(d->magic, sizeof d->magic, "magic-%d-\"quoted\"\\", n);
    g_autofree char *seed = g_strdup_printf("token %d", n);
    gsize len = sizeof d->token;
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(c, (const guchar *)seed, -1);
    g_checksum_get_digest(c, d->token, &len);
    g_checksum_free(c);
    for (size_t i = 0; i < 32; i++)
        g_snprintf(d->token_hex + 2 * i, 3, "%02x", d->token[i]);
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, d->udid, -1);
    orchard_device_auth a = {.udid = d->udid, .cert_sha256 = cert, .serial_number = "C02TEST",
                             .model = "Mac14,2", .product_name = "Mac14,2", .os_version = "14.4",
                             .build_version = "23E214", .device_name = "test mac",
                             .topic = mdmfx_state.topic};
    gint64 now = apnsfx_now_ms() / 1000;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_authenticate(&a, now, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_token_update(d->udid, d->token, 32, d->magic, NULL,
                                                            0, 0, now), 0);
}

void apnsfx_want(const device *d)
{
    const char *u = d->udid;
    CU_ASSERT_EQUAL(orchard_apns_push(apnsfx.ctx, &u, 1), 0);
}

orchard_apns_stats apnsfx_run_at(gint64 at_ms)
{
    orchard_apns_stats st;
    CU_ASSERT_EQUAL(orchard_apns_run(apnsfx.ctx, at_ms, &st), 0);
    return st;
}

int apnsfx_token_valid(const device *d, char **reason)
{
    orchard_device *dev = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get(d->udid, &dev), 0);
    int v = dev->push_token_valid;
    if (reason)
        *reason = g_strdup(dev->push_invalid_reason);
    orchard_device_free(dev);
    return v;
}

/* The device's queue row: 1 and its attempts and next_attempt_at, or 0. */
int apnsfx_queued(const device *d, gint64 *attempts, gint64 *next)
{
    const orchard_host_api *h = orchard_host_api_get();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int found = 0;
    CU_ASSERT_FATAL(h->store_begin(&tx, 0) == 0);
    CU_ASSERT_FATAL(h->stmt_prepare(tx, "SELECT attempts, next_attempt_at FROM apns_push_queue "
                                        "WHERE udid = ?", &st) == 0);
    h->stmt_bind_text(st, 1, d->udid);
    if (h->stmt_step(st) == 1) {
        found = 1;
        if (attempts)
            *attempts = h->stmt_column_int(st, 0);
        if (next)
            *next = h->stmt_column_int(st, 1);
    }
    h->stmt_finish(st);
    h->store_rollback(tx);
    return found;
}

/* The device's recorded outcomes, oldest first (orchard_push_record *). */
GPtrArray *apnsfx_records_of(const device *d)
{
    GPtrArray *all = NULL, *mine = g_ptr_array_new_with_free_func(
                                       (GDestroyNotify)orchard_push_record_free);
    CU_ASSERT_EQUAL_FATAL(orchard_store_push_list(0, &all), 0);
    for (guint i = all->len; i > 0; i--) {
        orchard_push_record *r = all->pdata[i - 1];
        if (strcmp(r->udid, d->udid) == 0)
            g_ptr_array_add(mine, g_steal_pointer(&all->pdata[i - 1]));
    }
    g_ptr_array_unref(all);
    return mine;
}

/* Serve with the fixtures' good configuration plus kv. */
void apnsfx_serve_with(const char *const *kv)
{
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    mdmfx_apply_config(kv);
    CU_ASSERT_EQUAL_FATAL(orchard_mdm_config_load(orchard_server_host, &cfg, &err), 0);
    orchard_serve_state_set(apnsfx.ctx, cfg);
}

/* ---- the push API's handler, through a fake request ---------------------------- */

typedef struct {
    const char *path;
    const char *body;
    size_t len;
} fake_req;

static orchard_host_api api_host;

static const char *fk_path(const orchard_http_request *req)
{
    return ((const fake_req *)req)->path;
}

static const char *fk_method(const orchard_http_request *req)
{
    (void)req;
    return "POST";
}

static const unsigned char *fk_body(const orchard_http_request *req, size_t *len)
{
    *len = ((const fake_req *)req)->len;
    return (const unsigned char *)((const fake_req *)req)->body;
}

static const char *fk_principal(const orchard_http_request *req, int *role)
{
    (void)req;
    if (role)
        *role = ORCHARD_ROLE_MAINTAINER;
    return "maintainer@example.com";
}

static int fk_respond(orchard_http_response *resp, int status, const char *ct, const void *body,
                      size_t len)
{
    apnsfx_resp *r = (apnsfx_resp *)resp;
    (void)ct;
    r->status = status;
    g_free(r->body);
    r->body = g_strndup(body, len);
    return 0;
}

static int fk_error(orchard_http_response *resp, int status, const char *message,
                    const char *field, const char *reason)
{
    json_t *j = json_pack("{s:s, s:[{s:s, s:s}]}", "message", message, "errors", "name",
                          field ? field : "base", "reason", reason ? reason : message);
    char *text = json_dumps(j, JSON_COMPACT);
    fk_respond(resp, status, "application/json", text, strlen(text));
    free(text);
    json_decref(j);
    return 0;
}

void apnsfx_post(const char *path, const char *body, size_t len, apnsfx_resp *r)
{
    fake_req q = {path, body, body && !len ? strlen(body) : len};
    const orchard_host_api *saved = orchard_server_host;
    api_host = *orchard_host_api_get();
    api_host.http_path = fk_path;
    api_host.http_method = fk_method;
    api_host.http_body = fk_body;
    api_host.http_principal = fk_principal;
    api_host.http_respond = fk_respond;
    api_host.http_error = fk_error;
    memset(r, 0, sizeof *r);
    orchard_server_host = &api_host;
    CU_ASSERT_EQUAL(orchard_route_apns_push_latest.handle2(apnsfx.ctx, (const orchard_http_request *)&q,
                                                           (orchard_http_response *)r, NULL), 0);
    orchard_server_host = saved;
}

gint64 apnsfx_activities(const char *type)
{
    const orchard_host_api *h = orchard_host_api_get();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    gint64 n = -1;
    CU_ASSERT_FATAL(h->store_begin(&tx, 0) == 0);
    if (h->stmt_prepare(tx, "SELECT count(*) FROM activities WHERE type = ?", &st) == 0) {
        h->stmt_bind_text(st, 1, type);
        if (h->stmt_step(st) == 1)
            n = h->stmt_column_int(st, 0);
    }
    h->stmt_finish(st);
    h->store_rollback(tx);
    return n;
}

/* ---- the push API over HTTP, with `orchard serve`'s guards and job ---------------- */

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    g_string_append_len(ud, data, (gssize)(size * n));
    return size * n;
}

/* POST body to url with a bearer token (NULL: none); the status, *out the body (g_free). */
long apnsfx_post_http(const char *url, const char *token, const char *body, char **out)
{
    GString *resp = g_string_new(NULL);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    g_autofree char *auth = token ? g_strdup_printf("Authorization: Bearer %s", token) : NULL;
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    CURL *c = curl_easy_init();
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    *out = g_string_free(resp, FALSE);
    return status;
}

/* An API-only user's token (the last line `user create` prints), or NULL. */
char *apnsfx_api_user(const char *cfg, const char *email, const char *role)
{
    g_autofree char *out = NULL, *err = NULL;
    const char *args[] = {"--config", cfg, "user", "create", "--email", email, "--name", role,
                          "--role", role, "--api-only", NULL};
    if (mdmfx_run(args, NULL, &out, &err) != 0) {
        fprintf(stderr, "\n  user create: %s\n", err ? err : "");
        return NULL;
    }
    g_strstrip(out);
    const char *nl = strrchr(out, '\n');
    return g_strdup(nl ? nl + 1 : out);
}

/* Wait (10 s at most) until something answers base/ at all. */
int apnsfx_wait_listening(const char *base)
{
    for (int i = 0; i < 100; i++) {
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, base);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 1L);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        if (rc == CURLE_OK)
            return 1;
        g_usleep(100 * 1000);
    }
    return 0;
}

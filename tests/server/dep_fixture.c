/* The dep_client suite's fixture (dep_fixture.h): the ABM simulator
 * (tests/support/dep_sim) as a child with a known account, its /_sim/
 * controls, clients of it, and the checks the cases share. */
#include "tests/server/dep_fixture.h"

#include "server_plugin/server.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "tests/server/mdm_fixtures.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEP_SIM_BIN BUILD_DIR "/tests/support/dep_sim/dep_sim"

/* Reserved characters in the secrets: their encoding in the key is tested too. */
const char *const DFX_CK = "CK_orchard_test_01", *const DFX_CS = "CS_orchard+secret/02",
           *const DFX_AT = "AT_orchard_test_03", *const DFX_AS = "AS_orchard secret&04";

struct dfx dfx;

/* ---- the simulator ------------------------------------------------------- */

static char *dfx_sim_line(void)
{
    GString *s = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    char c;
    while (g_get_monotonic_time() < end) {
        struct pollfd p = {.fd = dfx.out, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        if (read(dfx.out, &c, 1) != 1)
            break;
        if (c == '\n')
            return g_string_free(s, FALSE);
        g_string_append_c(s, c);
    }
    g_string_free(s, TRUE);
    return NULL;
}

static size_t collect(char *p, size_t size, size_t n, void *user)
{
    g_string_append_len(user, p, (gssize)(size * n));
    return size * n;
}

/* A control under /_sim/ (body NULL: GET); the answer as JSON (json_decref). */
json_t *dfx_control(const char *name, const char *body)
{
    g_autofree char *url = g_strdup_printf("%s/_sim/%s", dfx.url, name);
    GString *got = g_string_new(NULL);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    json_t *j = json_loads(got->str, 0, NULL);
    if (rc != CURLE_OK || status != 200 || !j)
        fprintf(stderr, "\n  dep_sim %s: HTTP %ld %s\n", name, status, got->str);
    CU_ASSERT_EQUAL(status, 200);
    g_string_free(got, TRUE);
    return j ? j : json_object();
}

void dfx_say(const char *name, const char *body)
{
    json_decref(dfx_control(name, body));
}

/* How many times the simulator was called at `ep` ("session", "account", ...). */
gint64 dfx_calls(const char *ep)
{
    json_t *st = dfx_control("stats", NULL);
    gint64 n = json_integer_value(json_object_get(json_object_get(st, "calls"), ep));
    json_decref(st);
    return n;
}

int dfx_init(void)
{
    memset(&dfx, 0, sizeof dfx);
    dfx.out = -1;
    if (mdmfx_setup())
        return -1;
    orchard_server_host = orchard_host_api_get();
    g_autofree char *creds = mdmfx_path("dep_creds.json");
    g_autofree char *text = g_strdup_printf("{\"consumer_key\":\"%s\",\"consumer_secret\":\"%s\","
                                            "\"access_token\":\"%s\",\"access_secret\":\"%s\"}",
                                            DFX_CK, DFX_CS, DFX_AT, DFX_AS);
    g_autofree char *log = mdmfx_path("dep_sim.log");
    if (!g_file_set_contents(creds, text, -1, NULL))
        return -1;
    const char *argv[] = {DEP_SIM_BIN, "serve", "--credentials", creds, "--listen",
                          "127.0.0.1:0", "--devices", G_STRINGIFY(SIM_DEVICES), "--seed", "13",
                          "--log", log, NULL};
    g_autoptr(GError) err = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                  NULL, &dfx.pid, NULL, &dfx.out, NULL, &err)) {
        fprintf(stderr, "dep_client: cannot start %s: %s\n", DEP_SIM_BIN, err->message);
        return -1;
    }
    g_autofree char *line = dfx_sim_line();
    if (!line || !g_str_has_prefix(line, "listening http://")) {
        fprintf(stderr, "dep_client: dep_sim said %s\n", line ? line : "nothing");
        return -1;
    }
    dfx.url = g_strdup(line + strlen("listening "));
    dfx.ctx = orchard_ctx_new(NULL);
    dfx.token = (orchard_abm_token){.consumer_key = (char *)DFX_CK, .consumer_secret = (char *)DFX_CS,
                                   .access_token = (char *)DFX_AT, .access_secret = (char *)DFX_AS,
                                   .access_token_expiry = "2099-01-01T00:00:00Z",
                                   .expiry = 4070908800};
    return 0;
}

int dfx_cleanup(void)
{
    if (dfx.pid) {
        kill(dfx.pid, SIGTERM);
        waitpid(dfx.pid, NULL, 0);
        g_spawn_close_pid(dfx.pid);
    }
    if (dfx.out >= 0)
        close(dfx.out);
    g_clear_pointer(&dfx.ctx, orchard_ctx_free);
    g_clear_pointer(&dfx.url, g_free);
    return mdmfx_teardown();
}

/* A dfx_client of the simulator with `token` (NULL: the good one); retries 1 ms apart. */
orchard_dep_client *dfx_client_with(const orchard_abm_token *token, int retries)
{
    dfx_say("clear", "{}");
    orchard_dep_client_config cfg = {.base_url = dfx.url, .token = token ? token : &dfx.token,
                                     .timeout_ms = 20000, .max_retries = retries,
                                     .backoff_ms = 1};
    orchard_dep_client *c = NULL;
    int rc = orchard_dep_client_new(dfx.ctx, &cfg, &c);
    if (rc)
        fprintf(stderr, "\n  dfx_client: %s\n", orchard_ctx_failure());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return c;
}

orchard_dep_client *dfx_client(void)
{
    return dfx_client_with(NULL, 0);
}

/* No secret of the token in a message. */
void dfx_assert_no_secret(const char *msg)
{
    if (!msg)
        return;
    CU_ASSERT_PTR_NULL(strstr(msg, DFX_CS));
    CU_ASSERT_PTR_NULL(strstr(msg, DFX_AS));
    CU_ASSERT_PTR_NULL(strstr(msg, DFX_AT));
    CU_ASSERT_PTR_NULL(strstr(msg, DFX_CK));
    CU_ASSERT_PTR_NULL(strstr(msg, "AAAA")); /* the simulator's session tokens */
}

/* Expect a failed call: rc, status and (when not NULL) Apple's code. */
void dfx_expect_fail(int rc, int want_rc, const orchard_dep_result *r,
                        orchard_dep_status st, const char *code)
{
    if (r->status != st)
        fprintf(stderr, "\n  got %s (%s), want %s\n", orchard_dep_status_name(r->status),
                r->message ? r->message : "", orchard_dep_status_name(st));
    CU_ASSERT_EQUAL(rc, want_rc);
    CU_ASSERT_EQUAL(r->status, st);
    if (code)
        CU_ASSERT_STRING_EQUAL(r->apple_code ? r->apple_code : "(none)", code);
    CU_ASSERT_PTR_NOT_NULL(r->message);
    dfx_assert_no_secret(r->message);
}

/* Fetch every page from `cursor` (NULL: a full fetch; sync otherwise):
 * serial -> op_type into seen; the last cursor (g_free); the page count. */
int dfx_fetch_all(orchard_dep_client *c, int sync, char **cursor, int limit, GHashTable *seen)
{
    int pages = 0, more = 1;
    while (more) {
        orchard_dep_result r = {0};
        json_t *page = NULL;
        int rc = orchard_dep_devices_page(c, sync, *cursor, limit, &page, &r);
        if (rc)
            fprintf(stderr, "\n  page %d: %s\n", pages, r.message);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_OK);
        CU_ASSERT_EQUAL(r.http_status, 200);
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(page, "devices"), i, d) {
            const char *op = json_string_value(json_object_get(d, "op_type"));
            g_hash_table_insert(seen, g_strdup(json_string_value(json_object_get(d, "serial_number"))),
                                g_strdup(op ? op : ""));
        }
        CU_ASSERT(json_array_size(json_object_get(page, "devices")) <= (size_t)limit);
        g_free(*cursor);
        *cursor = g_strdup(json_string_value(json_object_get(page, "cursor")));
        more = json_is_true(json_object_get(page, "more_to_follow"));
        json_decref(page);
        orchard_dep_result_clear(&r);
        CU_ASSERT_FATAL(++pages < 1000);
    }
    return pages;
}

GHashTable *dfx_serial_set(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}


/* The first n serials of a full fetch (g_strfreev). */
char **dfx_some_serials(orchard_dep_client *c, guint n)
{
    GHashTable *seen = dfx_serial_set();
    char *cursor = NULL;
    dfx_fetch_all(c, 0, &cursor, 1000, seen);
    g_free(cursor);
    GList *keys = g_hash_table_get_keys(seen);
    keys = g_list_sort(keys, (GCompareFunc)strcmp);
    char **out = g_new0(char *, n + 1);
    guint i = 0;
    for (GList *l = keys; l && i < n; l = l->next)
        out[i++] = g_strdup(l->data);
    g_list_free(keys);
    g_hash_table_destroy(seen);
    return out;
}
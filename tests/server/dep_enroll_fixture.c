/* The dep_enroll suite's fixture (dep_enroll_fixture.h): a fake host whose
 * requests, responses and log are ours over the real store, the suite's
 * store and configuration, and dep_devices rows seeded in plain SQL (the
 * sync's writer is not needed to test the enrollment URL). */
#include "tests/server/dep_enroll_fixture.h"

#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/enroll/dep_checkin.h"
#include "server_plugin/enroll/download_limit.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"
#include "tests/server/enroll_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char *defx_store_path;
int defx_store_ok;
static const orchard_host_api *saved_host;
orchard_ctx *defx_ctx;
mifx_identity defx_dev;

/* ---- the fake host ---------------------------------------------------------- */

static orchard_host_api fake_host;
GPtrArray *defx_log_lines;
int defx_fail_begin;

static void fake_log(int level, const char *plugin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(defx_log_lines, g_strdup_printf("%d %s %s", level, plugin, msg));
}

static const char *fake_method(const orchard_http_request *r) { return ((const defx_req *)r)->method; }
static const char *fake_path(const orchard_http_request *r) { return ((const defx_req *)r)->path; }
static const char *fake_query(const orchard_http_request *r, const char *k)
{
    (void)r, (void)k;
    return NULL;
}
static const char *fake_header(const orchard_http_request *r, const char *n)
{
    (void)r;
    return g_ascii_strcasecmp(n, "Content-Type") == 0 ? "application/pkcs7-signature" : NULL;
}
static const char *fake_remote(const orchard_http_request *r)
{
    (void)r;
    return "192.0.2.9";
}
static const unsigned char *fake_body(const orchard_http_request *r, size_t *len)
{
    *len = ((const defx_req *)r)->len;
    return ((const defx_req *)r)->body;
}

static int fake_set_header(orchard_http_response *resp, const char *name, const char *value)
{
    g_ptr_array_add(((defx_resp *)resp)->headers, g_strdup_printf("%s: %s", name, value));
    return 0;
}

static int fake_respond(orchard_http_response *resp, int status, const char *ct, const void *body,
                        size_t len)
{
    defx_resp *r = (defx_resp *)resp;
    r->status = status;
    g_free(r->content_type);
    r->content_type = g_strdup(ct);
    g_byte_array_set_size(r->body, 0);
    g_byte_array_append(r->body, body, (guint)len);
    return 0;
}

static int fake_store_begin(orchard_store_tx **tx, int write)
{
    if (defx_fail_begin)
        return ORCHARD_EBUSY;
    return orchard_host_api_get()->store_begin(tx, write);
}

static int fake_gate_set(orchard_ctx *ctx, const char *name, int open, const char *reason)
{
    (void)ctx, (void)name, (void)open, (void)reason;
    return 0;
}

void defx_resp_clear(defx_resp *r)
{
    g_free(r->content_type);
    g_byte_array_unref(r->body);
    g_ptr_array_unref(r->headers);
}

/* `method` path with body through a route's handler, as the host calls it. */
void defx_call(const orchard_route *route, const char *method, const char *path,
                 const void *body, size_t len, defx_resp *r)
{
    defx_req q = {method, path, body, len};
    memset(r, 0, sizeof *r);
    r->body = g_byte_array_new();
    r->headers = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_set_size(defx_log_lines, 0);
    route->handle2(defx_ctx, (const orchard_http_request *)&q, (orchard_http_response *)r,
                   route->payload);
}

void defx_post(GBytes *mi, defx_resp *r)
{
    gsize len = 0;
    const void *d = mi ? g_bytes_get_data(mi, &len) : NULL;
    defx_call(&orchard_route_dep_enroll, "POST", ORCHARD_DEP_ENROLL_PATH, d, len, r);
}

char *defx_body_text(const defx_resp *r)
{
    return g_strndup((const char *)r->body->data, r->body->len);
}

const char *defx_header(const defx_resp *r, const char *name)
{
    size_t n = strlen(name);
    for (guint i = 0; i < r->headers->len; i++) {
        const char *h = r->headers->pdata[i];
        if (g_ascii_strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h + n + 2;
    }
    return NULL;
}

/* How many log lines hold every one of the NULL-terminated needles. */
int defx_logged(const char *needle, ...)
{
    int n = 0;
    for (guint i = 0; i < defx_log_lines->len; i++) {
        const char *l = defx_log_lines->pdata[i];
        int all = strstr(l, needle) != NULL;
        va_list ap;
        va_start(ap, needle);
        for (const char *s; all && (s = va_arg(ap, const char *));)
            all = strstr(l, s) != NULL;
        va_end(ap);
        n += all;
    }
    return n;
}

/* ---- store material ---------------------------------------------------------- */

/* A device Apple assigned us (deleted: taken back). */
void defx_seed_device(const char *serial, int deleted)
{
    gint64 n = orchard_sstore_write(
        "dep_enroll test", "INSERT INTO dep_devices (serial_number, model, op_type, deleted, "
                           "created_at, updated_at) VALUES (?, 'MacBookPro18,3', ?, ?, 1, 1)",
        SQL_PARAMS(SQL_TEXT(serial), SQL_TEXT(deleted ? "deleted" : "added"), SQL_INT(deleted)));
    CU_ASSERT_EQUAL_FATAL(n, 1);
}

static gint64 int_row_val;
static int int_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    (void)out;
    int_row_val = h->stmt_column_is_null(st, 0) ? -1 : h->stmt_column_int(st, 0);
    return 0;
}

/* enroll_served_at of `serial`: -1 when NULL, -2 when no row. */
gint64 defx_served_at(const char *serial)
{
    int rc = orchard_sstore_read_one("dep_enroll test",
                                     "SELECT enroll_served_at FROM dep_devices "
                                     "WHERE serial_number = ?",
                                     SQL_PARAMS(SQL_TEXT(serial)), int_row, NULL);
    return rc ? -2 : int_row_val;
}

void defx_serve_with(const char *const *kv)
{
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    mdmfx_apply_config(kv);
    int rc = orchard_mdm_config_load(&fake_host, &cfg, &err);
    if (rc)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    orchard_serve_state_set(defx_ctx, cfg);
    orchard_serve_set_listen_url(defx_ctx, "http://127.0.0.1:8080");
}

/* ---- suite setup --------------------------------------------------------------- */

int defx_reopen_store(const char *path)
{
    g_autofree char *err = NULL;
    orchard_store_close();
    int rc = orchard_store_open(orchard_test_store(path), &err);
    if (rc)
        fprintf(stderr, "\n  store %s: %s\n", path, err ? err : "(no message)");
    return rc;
}

int defx_init(void)
{
    if (mdmfx_setup() || enroll_fixture_init() || mifx_identity_make(&defx_dev, "device"))
        return -1;
    defx_log_lines = g_ptr_array_new_with_free_func(g_free);
    fake_host = *orchard_host_api_get();
    fake_host.gate_set = fake_gate_set;
    fake_host.log = fake_log;
    fake_host.http_method = fake_method;
    fake_host.http_path = fake_path;
    fake_host.http_query = fake_query;
    fake_host.http_header = fake_header;
    fake_host.http_body = fake_body;
    fake_host.http_remote_addr = fake_remote;
    fake_host.http_set_header = fake_set_header;
    fake_host.http_respond = fake_respond;
    fake_host.store_begin = fake_store_begin;
    saved_host = orchard_server_host;
    orchard_server_host = &fake_host;
    defx_ctx = orchard_ctx_new(NULL);
    orchard_server_init(defx_ctx);
    defx_store_path = tmp_path("dep_enroll.db");
    defx_store_ok = defx_reopen_store(defx_store_path) == 0 && orchard_server_store_migrate() == 0;
    return 0;
}

int defx_cleanup(void)
{
    orchard_serve_state_set(defx_ctx, NULL);
    orchard_server_deinit(defx_ctx);
    g_clear_pointer(&defx_ctx, orchard_ctx_free);
    orchard_store_close();
    orchard_server_host = saved_host;
    mifx_identity_clear(&defx_dev);
    enroll_fixture_cleanup();
    g_clear_pointer(&defx_store_path, g_free);
    g_clear_pointer(&defx_log_lines, g_ptr_array_unref);
    orchard_enroll_download_reset();
    orchard_dep_checkin_reset();
    return mdmfx_teardown();
}

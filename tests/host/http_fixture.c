/* The http suites' test plugin (see http_fixture.h): ten routes and their
 * handlers, a second plugin that clashes with it, and the registry both
 * suites run with. */
#include "tests/host/http_fixture.h"

#include "host/log.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* ---- the test plugin */

static const orchard_host_api *H;
atomic_int slow_started;

static int reply(orchard_http_response *resp, int status, const char *text)
{
    return H->http_respond(resp, status, "text/plain", text, strlen(text));
}

static const char *or_none(const char *s) { return s ? s : "(none)"; }

static int h_scep(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    g_autofree char *t = g_strdup_printf(
        "scep %s %s op=%s msg=%s remote=%s", H->http_method(req), H->http_path(req),
        or_none(H->http_query(req, "operation")), or_none(H->http_query(req, "message")),
        H->http_remote_addr(req));
    return reply(resp, 200, t);
}

static int h_body(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    size_t len = 99;
    const unsigned char *body = H->http_body(req, &len);
    (void)p;
    g_autofree char *n = g_strdup_printf("%zu", len);
    H->http_set_header(resp, "X-Body-Len", n);
    return H->http_respond(resp, 200, "application/octet-stream", body, len);
}

static int h_apple(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    g_autofree char *t = g_strdup_printf("apple %s", H->http_path(req));
    return reply(resp, 200, t);
}

static int h_api(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    g_autofree char *t = g_strdup_printf("api %s", H->http_path(req));
    return reply(resp, 200, t);
}

static int h_any(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    return reply(resp, 200, H->http_method(req));
}

static int h_headers(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    int bad_value = H->http_set_header(resp, "X-Bad", "a\r\nInjected: 1");
    int bad_lf = H->http_set_header(resp, "X-Bad", "a\nInjected: 1");
    int bad_name = H->http_set_header(resp, "Bad:Name", "v");
    H->http_set_header(resp, "X-Reply", "yes");
    g_autofree char *t = g_strdup_printf(
        "lower=%s upper=%s missing=%s bad_value=%d bad_lf=%d bad_name=%d",
        or_none(H->http_header(req, "x-orchard-test")),
        or_none(H->http_header(req, "X-ORCHARD-TEST")), or_none(H->http_header(req, "X-Nope")),
        bad_value, bad_lf, bad_name);
    return reply(resp, 200, t);
}

static int h_fail(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    H->http_set_header(resp, "X-Partial", "1");
    return ORCHARD_EIO;
}

static int h_fail_after(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    reply(resp, 418, "teapot");
    return ORCHARD_EIO;
}

static int h_silent(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    H->http_set_header(resp, "X-Silent", "1");
    return 0;
}

static int h_slow(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    atomic_store(&slow_started, 1);
    g_usleep(1500 * 1000);
    return reply(resp, 200, "slow done");
}

#define ROUTE(m, prefix, fn) \
    {ORCHARD_STRUCT_HEADER(orchard_route), .method = m, .path_prefix = prefix, .handle = fn}
const orchard_route routes[HTTP_FIXTURE_N_ROUTES] = {
    ROUTE("GET", "/mdm/apple/scep", h_scep),   ROUTE("POST", "/mdm/apple/scep", h_body),
    ROUTE("GET", "/mdm/apple", h_apple),       ROUTE("GET", "/api/", h_api),
    ROUTE("*", "/any", h_any),                 ROUTE("GET", "/headers", h_headers),
    ROUTE("GET", "/fail", h_fail),             ROUTE("GET", "/fail-after", h_fail_after),
    ROUTE("GET", "/silent", h_silent),         ROUTE("GET", "/slow", h_slow),
};
static const orchard_route *const route_ptrs[] = {
    &routes[0], &routes[1], &routes[2], &routes[3], &routes[4],
    &routes[5], &routes[6], &routes[7], &routes[8], &routes[9],
};

static const orchard_plugin http_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "http-test",
    .version = "1.0",
    .description = "routes for the http suite",
    .routes = route_ptrs,
    .n_routes = G_N_ELEMENTS(route_ptrs),
};

static int http_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    H = host;
    *out = &http_plugin;
    return 0;
}

/* A second plugin that claims a route the first one has. */
static const orchard_route dup_route = ROUTE("GET", "/mdm/apple/scep", h_apple);
static const orchard_route *const dup_ptrs[] = {&dup_route};
static const orchard_plugin dup_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "http-dup",
    .version = "1.0",
    .description = "clashing route",
    .routes = dup_ptrs,
    .n_routes = 1,
};
int dup_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    (void)host;
    *out = &dup_plugin;
    return 0;
}

/* ---- the registry: ours is the global one while a suite runs */

orchard_registry *reg;
static orchard_registry *saved_reg;
static int saved_level;

int http_fixture_init(void)
{
    g_autofree char *err = NULL;
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, http_plugin_entry, &err) != 0) {
        fprintf(stderr, "http: %s\n", err);
        return 1;
    }
    orchard_registry_set_global(reg);
    saved_level = orchard_log_get_level();
    orchard_log_set_level(ORCHARD_LOG_WARNING);
    return 0;
}

int http_fixture_cleanup(void)
{
    orchard_registry_free(reg);
    reg = NULL;
    orchard_registry_set_global(saved_reg);
    orchard_log_set_level(saved_level);
    return 0;
}

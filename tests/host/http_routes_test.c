/* The http_routes suite: what needs no server. Route lookup in the registry
 * (longest prefix at a '/' boundary, the Allow list for a path known under
 * other methods), a clashing route refused, and the response checks
 * (headers, status, body) called directly. The routes are http_fixture.c's. */
#include "host/http/http_api.h"
#include "host/http/http_internal.h"
#include "tests/host/http_fixture.h"
#include "host/plugins/registry.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

static void test_http__find_route(void)
{
    g_autofree char *allow = NULL;
    const orchard_route *r;

#define FIND(m, p) orchard_registry_find_route(http_reg, m, p, &allow)
    CU_ASSERT_EQUAL(orchard_registry_route_count(http_reg), G_N_ELEMENTS(routes));
    CU_ASSERT_PTR_EQUAL(FIND("GET", "/mdm/apple/scep"), &routes[0]);
    CU_ASSERT_PTR_EQUAL(FIND("GET", "/mdm/apple/scep/pkiclient.exe"), &routes[0]);
    CU_ASSERT_PTR_EQUAL(FIND("POST", "/mdm/apple/scep"), &routes[1]);
    /* Only at a '/' boundary: scepX belongs to the shorter /mdm/apple. */
    CU_ASSERT_PTR_EQUAL(FIND("GET", "/mdm/apple/scepX"), &routes[2]);
    CU_ASSERT_PTR_EQUAL(FIND("HEAD", "/mdm/apple"), &routes[2]);
    CU_ASSERT_PTR_EQUAL(FIND("GET", "/api/x/y"), &routes[3]);
    CU_ASSERT_PTR_EQUAL(FIND("DELETE", "/any/thing"), &routes[4]);
    CU_ASSERT_PTR_NULL(FIND("GET", "/mdm/applex"));
    CU_ASSERT_PTR_NULL(allow);
    CU_ASSERT_PTR_NULL(FIND("GET", "/api"));
    CU_ASSERT_PTR_NULL(FIND("POST", "/mdm/apple"));
    CU_ASSERT_STRING_EQUAL(allow, "GET");
    g_clear_pointer(&allow, g_free);
    r = FIND("PUT", "/mdm/apple/scep/x");
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_STRING_EQUAL(allow, "GET, POST");
    g_clear_pointer(&allow, g_free);
    /* An exact route (1.5) takes its path alone: "/" is not a catch-all. */
    CU_ASSERT_PTR_EQUAL(FIND("GET", "/"), &routes[11]);
    CU_ASSERT_PTR_EQUAL(FIND("HEAD", "/"), &routes[11]);
    CU_ASSERT_PTR_NULL(FIND("GET", "/nothing/here"));
    CU_ASSERT_PTR_NULL(allow);
    CU_ASSERT_PTR_NULL(FIND("GET", "//"));
    CU_ASSERT_PTR_NULL(FIND("POST", "/"));
    CU_ASSERT_STRING_EQUAL(allow, "GET");
#undef FIND
}

/* A route whose flags this host does not know is refused, not half-served. */
static int odd_handler(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req, (void)resp, (void)p;
    return 0;
}
static const orchard_route odd_route = {ORCHARD_STRUCT_HEADER(orchard_route), .method = "GET",
                                        .path_prefix = "/odd", .handle = odd_handler,
                                        .flags = 1u << 7};
static const orchard_route *const odd_ptrs[] = {&odd_route};
static const orchard_plugin odd_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "http-odd", .version = "1.0",
    .description = "a route with unknown flags", .routes = odd_ptrs, .n_routes = 1,
};
static int odd_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    (void)host;
    *out = &odd_plugin;
    return 0;
}

static void test_http__unknown_route_flags_refused(void)
{
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_registry_add_builtin(http_reg, odd_entry, &err), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "GET /odd has unknown flags 0x80") : NULL);
    CU_ASSERT_EQUAL(orchard_registry_route_count(http_reg), G_N_ELEMENTS(routes));
}

/* http_query_at (1.5): every parameter in the client's order, then ENOTFOUND. */
static void test_http__query_at(void)
{
    const orchard_http_pair q[] = {{"page", "2"}, {"team", "a b&c"}, {"flag", ""}};
    const orchard_http_request req = {.method = "GET", .path = "/hosts", .query = q,
                                      .n_query = G_N_ELEMENTS(q), .body = (const unsigned char *)""};
    const char *name = "x", *value = "x";
    CU_ASSERT_EQUAL(orchard_http_query_at(&req, 0, &name, &value), 0);
    CU_ASSERT_STRING_EQUAL(name, "page");
    CU_ASSERT_STRING_EQUAL(value, "2");
    CU_ASSERT_EQUAL(orchard_http_query_at(&req, 1, &name, &value), 0);
    CU_ASSERT_STRING_EQUAL(value, "a b&c");
    CU_ASSERT_EQUAL(orchard_http_query_at(&req, 2, &name, &value), 0);
    CU_ASSERT_STRING_EQUAL(name, "flag");
    CU_ASSERT_STRING_EQUAL(value, "");
    CU_ASSERT_EQUAL(orchard_http_query_at(&req, 3, &name, &value), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(name);
    CU_ASSERT_PTR_NULL(value);
    CU_ASSERT_EQUAL(orchard_http_query_at(NULL, 0, &name, &value), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_EQUAL(orchard_host_api_get()->http_query_at, orchard_http_query_at);
}

static void test_http__duplicate_route_refused(void)
{
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_registry_add_builtin(http_reg, dup_plugin_entry, &err), ORCHARD_EEXIST);
    CU_ASSERT_PTR_NOT_NULL(err);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "GET /mdm/apple/scep") : NULL);
    CU_ASSERT_EQUAL(orchard_registry_route_count(http_reg), G_N_ELEMENTS(routes));
}

static void test_http__response_checks(void)
{
    orchard_http_response *resp = orchard_http_response_new();

    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "X-A", "b\r\nX-Injected: 1"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "X-A", "b\nc"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "X-A", "b\rc"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "X-A\r\n", "b"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "X A", "b"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "", "b"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "Content-Length", "3"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(resp->n_headers, 0);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "X-A", "tab\tis fine"), 0);
    CU_ASSERT_EQUAL(orchard_http_set_header(resp, "Content-Type", "text/html"), 0);
    CU_ASSERT_EQUAL(resp->n_headers, 2);

    CU_ASSERT_EQUAL(orchard_http_respond(resp, 99, NULL, NULL, 0), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_respond(resp, 600, NULL, NULL, 0), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_respond(resp, 200, NULL, NULL, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_respond(resp, 200, "a\r\nb", "x", 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(resp->status, 0);
    /* The last call wins; respond's content type replaces the header's. */
    CU_ASSERT_EQUAL(orchard_http_respond(resp, 201, "text/plain", "one", 3), 0);
    CU_ASSERT_EQUAL(orchard_http_respond(resp, 202, "application/json", "{}", 2), 0);
    CU_ASSERT_EQUAL(resp->status, 202);
    CU_ASSERT_EQUAL(resp->body_len, 2);
    orchard_http_response_finish(resp);
    CU_ASSERT_EQUAL(resp->n_headers, 1);
    CU_ASSERT_STRING_EQUAL(resp->headers[0].name, "X-A");
    CU_ASSERT_STRING_EQUAL(resp->content_type, "application/json");
    orchard_http_response_free(resp);

    CU_ASSERT_EQUAL(orchard_http_set_header(NULL, "X-A", "b"), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(orchard_http_header(NULL, "Host"));
    CU_ASSERT_PTR_NULL(orchard_http_query(NULL, "operation"));
}

void http_routes_suite(void)
{
    ORCHARD_ADD_SUITE("http_routes", http_fixture_init, http_fixture_cleanup,
                      {"find_route", test_http__find_route},
                      {"duplicate_route_refused", test_http__duplicate_route_refused},
                      {"unknown_route_flags_refused", test_http__unknown_route_flags_refused},
                      {"query_at", test_http__query_at},
                      {"response_checks", test_http__response_checks});
}

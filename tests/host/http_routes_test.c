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
#undef FIND
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
                      {"response_checks", test_http__response_checks});
}

/* From a complete request to a plugin's handler and back: the transport
 * module calls orchard_http_dispatch on its worker thread, which picks the
 * route from the process's registry (orchard_registry_find_route), runs the
 * route's guard (http_guard.c) and then the handler, and fills in the
 * answers plugin.h promises when there is no route (404), no route for the
 * method (405 with Allow), a failing handler (500, JSON with the message it
 * gave host->fail) or a silent one (204). Also the access log. */
#include "host/http/http_api.h"
#include "host/http/http_guard.h"
#include "host/http/http_internal.h"
#include "host/plugins/plugin_ctx.h"
#include "host/log.h"
#include "host/plugins/registry.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

/* The guard let the request through: call the handler and fill in what
 * it left unanswered. */
static void run_handler(orchard_registry *reg, const orchard_route *route,
                        const orchard_http_request *req, orchard_http_response *resp)
{
    int rc = orchard_call_route(orchard_registry_ctx_of(reg, route), route, req, resp);

    if (rc < 0 && resp->status == 0) {
        /* The query string stays out of logs: it carries enrollment tokens. */
        const char *why = orchard_ctx_failure();
        orchard_warn("http", "%s %s: the handler for %s failed: %s", req->method, req->path,
                     route->path_prefix, why ? why : orchard_strerror(rc));
        /* Headers a failing handler set are dropped either way. */
        orchard_http_response_text(resp, 500, "internal server error\n");
        if (why)
            orchard_http_error(resp, 500, why, NULL, NULL);
    } else if (resp->status == 0) {
        resp->status = 204; /* headers the handler set still go out */
    }
}

orchard_http_response *orchard_http_dispatch(const orchard_http_request *req, void *ud)
{
    orchard_registry *reg = orchard_registry_global();
    orchard_http_response *resp = orchard_http_response_new();
    g_autofree char *allow = NULL;
    const orchard_route *route;

    (void)ud;
    route = reg ? orchard_registry_find_route(reg, req->method, req->path, &allow) : NULL;
    if (!route) {
        if (allow) {
            orchard_http_response_text(resp, 405, "method not allowed\n");
            orchard_http_set_header(resp, "Allow", allow);
        } else {
            orchard_http_response_text(resp, 404, "not found\n");
        }
        return resp;
    }
    if (orchard_http_guard_check(route, req, resp) == 0)
        run_handler(reg, route, req, resp);
    orchard_http_guard_end();
    orchard_http_response_finish(resp);
    return resp;
}

size_t orchard_http_body_cap(const char *method, const char *path, void *ud)
{
    orchard_registry *reg = orchard_registry_global();
    const orchard_route *route;

    (void)ud;
    /* The route that will serve it; with none the answer is 404 or 405 and
     * the default cap is as good as any. */
    route = reg ? orchard_registry_find_route(reg, method, path, NULL) : NULL;
    if (ORCHARD_HAS_FIELD(route, orchard_route, max_body) && route->max_body)
        return route->max_body > SIZE_MAX ? SIZE_MAX : (size_t)route->max_body;
    return ORCHARD_HTTP_BODY_CAP;
}

void orchard_http_release(orchard_http_response *resp, void *ud)
{
    (void)ud;
    orchard_http_response_free(resp);
}

/* A client chose the path: keep it on one log line and unambiguous by
 * writing control bytes, quotes and backslashes as \xNN. */
static void escape_into(char *out, size_t size, const char *s)
{
    size_t n = 0;
    for (; *s && n + 5 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            n += (size_t)g_snprintf(out + n, size - n, "\\x%02x", c);
        else
            out[n++] = (char)c;
    }
    out[n] = '\0';
}

void orchard_http_access_log(const orchard_http_access *rec, void *ud)
{
    char path[512], method[32];

    (void)ud;
    escape_into(path, sizeof path, rec->path);
    escape_into(method, sizeof method, rec->method);
    orchard_info("http", "%s \"%s %s\" %u %" PRIu64 " %" PRIu64 ".%03" PRIu64 "ms%s",
                 rec->remote_addr, method, path, rec->status, rec->bytes,
                 rec->duration_us / 1000, rec->duration_us % 1000,
                 rec->completed ? "" : " (not completed)");
}

void orchard_http_transport_log(int level, const char *msg, void *ud)
{
    (void)ud;
    /* The module prefixes libmicrohttpd's own lines; the rest are its own
     * (a request deadline, a refused connection). */
    orchard_log(level, "http", "%s", msg);
}

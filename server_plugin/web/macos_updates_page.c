/* /controls/macos-updates: STUB of the contract, replaced by the page's implementation. */
#include "server_plugin/server.h"
#include "server_plugin/web/web_pages.h"

static int page(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    orchard_web_visit v;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_OBSERVER, &v))
        return 0;
    return orchard_web_respond(ctx, resp, &v, 200, "macos_updates", "macOS updates", NULL);
}

const orchard_route orchard_route_web_macos_updates_get = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/controls/macos-updates",
    .handle2 = page,
    .guard = ORCHARD_GUARD_NONE,
};

const orchard_route orchard_route_web_macos_updates_post = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "POST",
    .path_prefix = "/controls/macos-updates",
    .handle2 = page,
    .guard = ORCHARD_GUARD_NONE,
    .max_body = ORCHARD_WEB_FORM_MAX,
};

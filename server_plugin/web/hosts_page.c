/* /hosts: STUB of the contract, replaced by the page's implementation. */
#include "server_plugin/server.h"
#include "server_plugin/web/web_pages.h"

static int page(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    orchard_web_visit v;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_OBSERVER, &v))
        return 0;
    return orchard_web_respond(ctx, resp, &v, 200, "hosts", "Hosts", NULL);
}

const orchard_route orchard_route_web_hosts = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/hosts",
    .handle2 = page,
    .guard = ORCHARD_GUARD_NONE,
};


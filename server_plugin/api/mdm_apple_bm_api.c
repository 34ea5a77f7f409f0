/* STUB (lead, issue 13 contract): GET /mdm/apple_bm, registered so the
 * plugin links; the views' engineer replaces this file. */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"

static int mdm_apple_bm(orchard_ctx *ctx, const orchard_http_request *req,
                        orchard_http_response *resp, void *payload)
{
    (void)ctx, (void)req, (void)payload;
    return orchard_api_error(resp, 404, NULL, "not built yet");
}

ORCHARD_API_ROUTES(orchard_route_mdm_apple_bm_api, "GET", "/mdm/apple_bm", mdm_apple_bm,
                   ORCHARD_GUARD_OBSERVER, NULL);

/* GET /healthz: what a load balancer asks each instance. 200 when the
 * instance reaches its store (a read transaction), 503 with the reason when
 * it does not; no credentials, no gate (an instance whose MDM settings
 * differ answers 503 on its MDM routes itself: docs/instances.md). */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"

#include <string.h>

static int handle_health(orchard_ctx *ctx, const orchard_http_request *req,
                         orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    (void)ctx, (void)payload;
    if (strcmp(h->http_path(req), "/healthz") != 0)
        return orchard_api_error(resp, 404, NULL, "not found");
    int rc = orchard_server_store_ping();
    if (rc != 0)
        return orchard_api_error(resp, 503, NULL, "the store cannot be reached; see the log");
    return orchard_api_reply(resp, 200, json_pack("{s:s}", "status", "ok"));
}

const orchard_route orchard_route_healthz = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/healthz",
    .handle2 = handle_health,
    .guard = ORCHARD_GUARD_NONE,
};

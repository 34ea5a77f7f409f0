/* STUB (lead, issue 13 contract): the DEP enrollment URL, registered so the
 * plugin links; the DEP enrollment's engineer replaces this file. */
#include "server_plugin/server.h"

#include <string.h>

static int handle_dep_enroll(orchard_ctx *ctx, const orchard_http_request *req,
                             orchard_http_response *resp, void *payload)
{
    static const char text[] = "not found\n";
    (void)ctx, (void)req, (void)payload;
    return orchard_server_host->http_respond(resp, 404, "text/plain; charset=utf-8", text,
                                             strlen(text));
}

const orchard_route orchard_route_dep_enroll = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "POST",
    .path_prefix = ORCHARD_DEP_ENROLL_PATH,
    .handle2 = handle_dep_enroll,
    .gate = "mdm",
};

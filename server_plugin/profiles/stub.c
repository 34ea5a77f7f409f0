/* STUB (issue 12 in progress): placeholders the profiles work replaces. */
#include "server_plugin/api/api.h"
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "mdm_host_profiles.gen.h"

static int todo(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    (void)ctx, (void)req, (void)payload;
    return orchard_api_error(resp, 501, NULL, "not implemented yet");
}
ORCHARD_API_ROUTES(orchard_route_profiles_post, "POST", "/mdm/apple/profiles", todo,
                   ORCHARD_GUARD_MAINTAINER, "mdm");
ORCHARD_API_ROUTES(orchard_route_profiles_get, "GET", "/mdm/apple/profiles", todo,
                   ORCHARD_GUARD_OBSERVER, "mdm");
ORCHARD_API_ROUTES(orchard_route_profiles_delete, "DELETE", "/mdm/apple/profiles", todo,
                   ORCHARD_GUARD_MAINTAINER, "mdm");
static int noop(orchard_ctx *ctx, void *payload) { (void)ctx, (void)payload; return 0; }
const orchard_job orchard_job_profiles_reconcile = {
    ORCHARD_STRUCT_HEADER(orchard_job), .name = ORCHARD_PROFILES_JOB, .interval_seconds = 0,
    .run2 = noop, .flags = ORCHARD_JOB_ONE_INSTANCE};
int orchard_profiles_init(orchard_ctx *ctx) { (void)ctx; return 0; }
void orchard_profiles_cleanup(void) {}
int orchard_profiles_report(orchard_ctx *ctx, const char *udid, const char *command_uuid,
                            const char *status, plist_t root, const char *error_chain_json,
                            gint64 now)
{
    (void)ctx, (void)udid, (void)command_uuid, (void)status, (void)root, (void)error_chain_json,
        (void)now;
    return 0;
}
int mdm_host_profiles_generate(orchard_ctx *ctx, const orchard_query_ctx *query,
                               orchard_rows *rows, void *payload)
{
    (void)ctx, (void)query, (void)rows, (void)payload;
    return 0;
}

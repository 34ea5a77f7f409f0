/* STUB (issue 12 in progress): placeholders the macOS updates work replaces. */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/updates/updates.h"
#include "macos_updates.gen.h"

static int todo(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    (void)ctx, (void)req, (void)payload;
    return orchard_api_error(resp, 501, NULL, "not implemented yet");
}
ORCHARD_API_ROUTES(orchard_route_config_get, "GET", "/config", todo, ORCHARD_GUARD_OBSERVER, NULL);
ORCHARD_API_ROUTES(orchard_route_config_patch, "PATCH", "/config", todo, ORCHARD_GUARD_ADMIN,
                   NULL);
ORCHARD_API_ROUTES(orchard_route_os_versions, "GET", "/os_versions", todo,
                   ORCHARD_GUARD_OBSERVER, NULL);
const orchard_route orchard_route_nudge_pkg = {
    ORCHARD_STRUCT_HEADER(orchard_route), .method = "GET", .path_prefix = "/mdm/apple/nudge",
    .handle2 = todo, .gate = "mdm"};
static int noop(orchard_ctx *ctx, void *payload) { (void)ctx, (void)payload; return 0; }
const orchard_job orchard_job_device_info = {
    ORCHARD_STRUCT_HEADER(orchard_job), .name = "updates.device_info", .interval_seconds = 0,
    .run2 = noop, .flags = ORCHARD_JOB_ONE_INSTANCE};
int orchard_updates_init(orchard_ctx *ctx) { (void)ctx; return 0; }
void orchard_updates_cleanup(void) {}
int orchard_updates_report(orchard_ctx *ctx, const char *udid, const char *command_uuid,
                           const char *status, plist_t root, gint64 now)
{
    (void)ctx, (void)udid, (void)command_uuid, (void)status, (void)root, (void)now;
    return 0;
}
int macos_updates_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                           void *payload)
{
    (void)ctx, (void)query, (void)rows, (void)payload;
    return 0;
}

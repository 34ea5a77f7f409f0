/* STUB (issue 12 in progress): placeholders the teams work replaces. */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/teams/teams.h"
#include "teams.gen.h"

static int todo(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    (void)ctx, (void)req, (void)payload;
    return orchard_api_error(resp, 501, NULL, "not implemented yet");
}
ORCHARD_API_ROUTES(orchard_route_teams_get, "GET", "/teams", todo, ORCHARD_GUARD_OBSERVER, NULL);
ORCHARD_API_ROUTES(orchard_route_teams_post, "POST", "/teams", todo, ORCHARD_GUARD_ADMIN, NULL);
ORCHARD_API_ROUTES(orchard_route_teams_patch, "PATCH", "/teams", todo, ORCHARD_GUARD_ADMIN, NULL);
ORCHARD_API_ROUTES(orchard_route_teams_delete, "DELETE", "/teams", todo, ORCHARD_GUARD_ADMIN,
                   NULL);
ORCHARD_API_ROUTES(orchard_route_hosts_transfer, "POST", "/hosts/transfer", todo,
                   ORCHARD_GUARD_MAINTAINER, NULL);
static int cmd_todo(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    (void)ctx, (void)argc, (void)argv, (void)payload;
    return 1;
}
const orchard_command orchard_cmd_team_create = {
    ORCHARD_STRUCT_HEADER(orchard_command), .name = "team create", .summary = "(in progress)",
    .usage = "", .run2 = cmd_todo};
const orchard_command orchard_cmd_team_list = {
    ORCHARD_STRUCT_HEADER(orchard_command), .name = "team list", .summary = "(in progress)",
    .usage = "", .run2 = cmd_todo};
int teams_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                   void *payload)
{
    (void)ctx, (void)query, (void)rows, (void)payload;
    return 0;
}

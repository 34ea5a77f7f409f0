/* STUB (issue 12 in progress): placeholder the apply work replaces. */
#include "server_plugin/server.h"

static int cmd_todo(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    (void)ctx, (void)argc, (void)argv, (void)payload;
    return 1;
}
const orchard_command orchard_cmd_apply = {
    ORCHARD_STRUCT_HEADER(orchard_command), .name = "apply", .summary = "(in progress)",
    .usage = "", .run2 = cmd_todo};

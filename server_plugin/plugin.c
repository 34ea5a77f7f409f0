/* orchard_server.so's entry: the commands and tables of the MDM server
 * (server.h lists where each lives). */
#include "server_plugin/server.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/enroll/download_limit.h"
#include "server_plugin/serve/serve_state.h"

#include "abm_token.gen.h"
#include "apns_certificate.gen.h"
#include "scep_certificates.gen.h"

#include <stddef.h>

const orchard_host_api *orchard_server_host;

static const orchard_table *const tables[] = {
    &orchard_table_apns_certificate,
    &orchard_table_abm_token,
    &orchard_table_scep_certificates,
};

static const orchard_command *const commands[] = {
    &orchard_cmd_generate_mdm_apple,
    &orchard_cmd_generate_mdm_apple_bm,
    &orchard_cmd_get_mdm_apple,
    &orchard_cmd_get_mdm_apple_bm,
    &orchard_cmd_config_check,
    &orchard_cmd_enroll_token_create,
    &orchard_cmd_serve,
};

static const orchard_route *const routes[] = {
    &orchard_route_scep,
    &orchard_route_enroll,
    &orchard_route_mdm_apple,
};

static const orchard_job *const jobs[] = {
    &orchard_job_challenges_expire,
};

int orchard_server_init(orchard_ctx *ctx)
{
    return orchard_serve_state_attach(ctx);
}

void orchard_server_deinit(orchard_ctx *ctx)
{
    orchard_serve_state_detach(ctx);
    orchard_scep_route_cleanup();
    orchard_enroll_download_reset();
    orchard_mdm_config_cache_clear();
}

static const orchard_plugin server_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "orchard-server",
    .version = ORCHARD_VERSION,
    .description = "Apple MDM server: setup commands, configuration, server-state tables",
    .tables = tables,
    .n_tables = sizeof tables / sizeof *tables,
    .commands = commands,
    .n_commands = sizeof commands / sizeof *commands,
    .routes = routes,
    .n_routes = sizeof routes / sizeof *routes,
    .jobs = jobs,
    .n_jobs = sizeof jobs / sizeof *jobs,
    .init = orchard_server_init,
    .deinit2 = orchard_server_deinit,
    .settings = orchard_mdm_settings,
    .n_settings = ORCHARD_MDM_N_SETTINGS,
};

ORCHARD_EXPORT int orchard_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    /* Contexts, gates and jobs: nothing older will do. */
    if (!host || host->abi_version != ORCHARD_ABI_VERSION || ORCHARD_HOST_MINOR(host) < 2)
        return ORCHARD_EABI;
    orchard_server_host = host;
    *out = &server_plugin;
    return 0;
}

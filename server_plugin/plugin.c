/* orchard_server.so's entry: the commands and tables of the MDM server
 * (server.h lists where each lives). */
#include "server_plugin/server.h"

#include "server_plugin/api/mdm_apple.h"
#include "server_plugin/checkin/signer_cache.h"
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/enroll/download_limit.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/web/web_pages.h"

#include "abm_token.gen.h"
#include "apns_certificate.gen.h"
#include "mdm_commands.gen.h"
#include "mdm_enrollments.gen.h"
#include "apns_pushes.gen.h"
#include "scep_certificates.gen.h"
#include "users.gen.h"
#include "activities.gen.h"
#include "macos_updates.gen.h"
#include "mdm_host_profiles.gen.h"
#include "teams.gen.h"
#include "dep_devices.gen.h"
#include "dep_sync_runs.gen.h"

#include <stddef.h>

const orchard_host_api *orchard_server_host;

static const orchard_table *const tables[] = {
    &orchard_table_apns_certificate,
    &orchard_table_abm_token,
    &orchard_table_scep_certificates,
    &orchard_table_mdm_enrollments,
    &orchard_table_mdm_commands,
    &orchard_table_users,
    &orchard_table_activities,
    &orchard_table_apns_pushes,
    &orchard_table_teams,
    &orchard_table_mdm_host_profiles,
    &orchard_table_macos_updates,
    &orchard_table_dep_devices,
    &orchard_table_dep_sync_runs,
};

static const orchard_command *const commands[] = {
    &orchard_cmd_generate_mdm_apple,
    &orchard_cmd_generate_mdm_apple_bm,
    &orchard_cmd_get_mdm_apple,
    &orchard_cmd_get_mdm_apple_bm,
    &orchard_cmd_config_check,
    &orchard_cmd_enroll_token_create,
    &orchard_cmd_serve,
    &orchard_cmd_user_create,
    &orchard_cmd_user_list,
    &orchard_cmd_user_delete,
    &orchard_cmd_push,
    &orchard_cmd_team_create,
    &orchard_cmd_team_list,
    &orchard_cmd_apply,
    &orchard_cmd_dep_sync,
};

static const orchard_route *const routes[] = {
    &orchard_route_scep,
    &orchard_route_enroll,
    &orchard_route_mdm_apple,
    &orchard_route_checkin,
    &orchard_route_commands_run_latest,
    &orchard_route_commands_run_v1,
    &orchard_route_commands_results_latest,
    &orchard_route_commands_results_v1,
    &orchard_route_commands_list_latest,
    &orchard_route_commands_list_v1,
    &orchard_route_hosts_latest,
    &orchard_route_hosts_v1,
    &orchard_route_mdm_apple_api_latest,
    &orchard_route_mdm_apple_api_v1,
    &orchard_route_login_latest,
    &orchard_route_login_v1,
    &orchard_route_logout_latest,
    &orchard_route_logout_v1,
    &orchard_route_me_latest,
    &orchard_route_me_v1,
    &orchard_route_activities_latest,
    &orchard_route_activities_v1,
    &orchard_route_apns_push_latest,
    &orchard_route_apns_push_v1,
    &orchard_route_healthz,
    &orchard_route_profiles_post_latest,
    &orchard_route_profiles_post_v1,
    &orchard_route_profiles_batch_latest,
    &orchard_route_profiles_batch_v1,
    &orchard_route_profiles_get_latest,
    &orchard_route_profiles_get_v1,
    &orchard_route_profiles_delete_latest,
    &orchard_route_profiles_delete_v1,
    &orchard_route_teams_get_latest,
    &orchard_route_teams_get_v1,
    &orchard_route_teams_post_latest,
    &orchard_route_teams_post_v1,
    &orchard_route_teams_patch_latest,
    &orchard_route_teams_patch_v1,
    &orchard_route_teams_delete_latest,
    &orchard_route_teams_delete_v1,
    &orchard_route_hosts_transfer_latest,
    &orchard_route_hosts_transfer_v1,
    &orchard_route_config_get_latest,
    &orchard_route_config_get_v1,
    &orchard_route_config_patch_latest,
    &orchard_route_config_patch_v1,
    &orchard_route_os_versions_latest,
    &orchard_route_os_versions_v1,
    &orchard_route_nudge_pkg,
    &orchard_route_dep_enroll,
    &orchard_route_mdm_apple_bm_api_latest,
    &orchard_route_mdm_apple_bm_api_v1,
    &orchard_route_web_login_get,
    &orchard_route_web_login_post,
    &orchard_route_web_logout,
    &orchard_route_web_root,
    &orchard_route_web_assets,
    &orchard_route_web_mdm_settings,
    &orchard_route_web_macos_updates_get,
    &orchard_route_web_macos_updates_post,
    &orchard_route_web_hosts,
};

static const orchard_job *const jobs[] = {
    &orchard_job_challenges_expire,
    &orchard_job_sessions_expire,
    &orchard_job_apns_push,
    &orchard_job_profiles_reconcile,
    &orchard_job_device_info,
    &orchard_job_dep_sync,
};

int orchard_server_init(orchard_ctx *ctx)
{
    int rc = orchard_serve_state_attach(ctx);
    if (rc == 0)
        rc = orchard_users_init(ctx);
    if (rc == 0)
        rc = orchard_profiles_init(ctx);
    if (rc == 0)
        rc = orchard_updates_init(ctx);
    return rc;
}

void orchard_server_deinit(orchard_ctx *ctx)
{
    orchard_serve_state_detach(ctx);
    orchard_scep_route_cleanup();
    orchard_users_cleanup();
    orchard_profiles_cleanup();
    orchard_updates_cleanup();
    orchard_enroll_download_reset();
    orchard_mdm_config_cache_clear();
    orchard_apns_cleanup();
    orchard_signer_cache_reset(0);
    orchard_web_cleanup();
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
    /* Contexts, gates, jobs, route body caps, the HTTP/2 client, per-dialect
     * migrations and instances, exact routes and whole queries (1.5): nothing
     * older will do. */
    if (!host || host->abi_version != ORCHARD_ABI_VERSION || ORCHARD_HOST_MINOR(host) < 5)
        return ORCHARD_EABI;
    orchard_server_host = host;
    *out = &server_plugin;
    return 0;
}

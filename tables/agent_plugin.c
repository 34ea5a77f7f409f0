/* The built-in "orchard-agent" plugin: the Mac's tables (mdm, macos_profiles,
 * nudge), all reading through mac_source. */
#include "tables/agent.h"
#include "tables/mac/mac_source.h"
#include "macos_profiles.gen.h"
#include "mdm.gen.h"
#include "nudge.gen.h"

#include <glib.h>

const orchard_host_api *orchard_agent_host;

static const orchard_table *const tables[] = {
    &orchard_table_mdm,
    &orchard_table_macos_profiles,
    &orchard_table_nudge,
};

/* Read on every query (mac_source), so a change applies to the next one. */
static const orchard_setting setting_root = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "agent.root",
    .type = ORCHARD_SETTING_PATH,
    .default_value = "/",
    .description = "Where the Mac tables read the Mac's files (--root)",
};

static const orchard_setting setting_profiles_bin = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "agent.profiles_bin",
    .type = ORCHARD_SETTING_PATH,
    .default_value = "/usr/bin/profiles",
    .description = "The `profiles` command the Mac tables run (--profiles_bin)",
};

static const orchard_setting setting_nudge_json = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "agent.nudge_json",
    .type = ORCHARD_SETTING_PATH,
    .default_value = NULL,
    .description = "A Nudge JSON configuration for the nudge table (--nudge_json)",
};

static const orchard_setting *const settings[] = {
    &setting_root,
    &setting_profiles_bin,
    &setting_nudge_json,
};

static void agent_deinit(void) { orchard_mac_source_reset(); }

static const orchard_plugin agent_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "orchard-agent",
    .version = ORCHARD_VERSION,
    .description = "A Mac's MDM enrollment, profiles and Nudge state",
    .tables = tables,
    .n_tables = G_N_ELEMENTS(tables),
    .commands = NULL,
    .n_commands = 0,
    .routes = NULL,
    .n_routes = 0,
    .jobs = NULL,
    .n_jobs = 0,
    .deinit = agent_deinit,
    .settings = settings,
    .n_settings = G_N_ELEMENTS(settings),
};

int orchard_agent_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    orchard_agent_host = host;
    *out = &agent_plugin;
    return 0;
}

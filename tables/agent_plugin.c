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
};

int orchard_agent_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    orchard_agent_host = host;
    *out = &agent_plugin;
    return 0;
}

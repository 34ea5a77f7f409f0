/* Shared by the agent tables: the host API the plugin was given, and the
 * plugin's entry (registered by the host as a built-in). */
#ifndef ORCHARD_AGENT_H
#define ORCHARD_AGENT_H

#include <orchard/plugin.h>

extern const orchard_host_api *orchard_agent_host;

int orchard_agent_plugin_entry(const orchard_host_api *host, const orchard_plugin **out);

/* Log a warning attributed to the agent plugin. */
#define agent_warn(...) orchard_agent_host->log(ORCHARD_LOG_WARNING, "agent", __VA_ARGS__)

#endif

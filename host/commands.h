/* The host's own commands, contributed through the built-in "orchard-core"
 * plugin like any plugin's commands. Each returns a process exit status. */
#ifndef ORCHARD_COMMANDS_H
#define ORCHARD_COMMANDS_H

#include <orchard/plugin.h>
#include <stdio.h>

int orchard_cmd_query(int argc, char **argv, void *payload);
int orchard_cmd_extension(int argc, char **argv, void *payload);
int orchard_cmd_help(int argc, char **argv, void *payload);
int orchard_cmd_version(int argc, char **argv, void *payload);

/** List every registered command with its summary. */
void orchard_print_commands(FILE *out);

/** Entry of the built-in core plugin (orchard_plugins table, the commands above). */
int orchard_core_plugin_entry(const orchard_host_api *host, const orchard_plugin **out);

#endif

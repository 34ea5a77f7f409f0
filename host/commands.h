/* The host's own commands, contributed through the built-in "orchard-core"
 * plugin like any plugin's commands, and what main needs to find a command
 * and explain a wrong one. Each command returns a process exit status. */
#ifndef ORCHARD_COMMANDS_H
#define ORCHARD_COMMANDS_H

#include <orchard/plugin.h>
#include <stdio.h>

int orchard_cmd_query(int argc, char **argv, void *payload);
int orchard_cmd_extension(int argc, char **argv, void *payload);
int orchard_cmd_help(int argc, char **argv, void *payload);
int orchard_cmd_version(int argc, char **argv, void *payload);

/** List every registered command with its summary, and the global options. */
void orchard_print_commands(FILE *out);

/**
 * Say why argv (the words after `orchard`, `argc` of them) names no
 * command: the subcommands of a group such as `generate` when the
 * subcommand is missing or wrong, with the closest match to a typo, or the
 * closest command. `who` prefixes the lines ("orchard"). Returns 2.
 */
int orchard_command_not_found(FILE *out, const char *who, int argc, char **argv);

/**
 * `orchard config check`: the host checks what it owns (the file, every
 * declared key's type, unknown and ignored keys, the file's mode) and prints
 * the effective settings as YAML, around the check of the plugin that
 * registers `config check` (`cmd`, may be NULL) for its own rules. argv[0]
 * is "config check". Returns the exit status (0, 1, or 2 for usage).
 */
int orchard_config_check(orchard_ctx *ctx, const orchard_command *cmd, int argc, char **argv);

/** Entry of the built-in core plugin (orchard_plugins table, the commands above). */
int orchard_core_plugin_entry(const orchard_host_api *host, const orchard_plugin **out);

#endif

/* `orchard help` and `orchard version`: what the registered commands are. */
#include "host/commands.h"
#include "host/plugins/registry.h"

#include <stdio.h>

void orchard_print_commands(FILE *out)
{
    const orchard_registry *reg = orchard_registry_global();
    fprintf(out, "usage: orchard [--config F] [--plugin PATH]... <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < orchard_registry_command_count(reg); i++) {
        const orchard_command *c = orchard_registry_command(reg, i);
        fprintf(out, "  %-22s %s\n", c->name, c->summary ? c->summary : "");
    }
    fprintf(out, "\nRun `orchard help <command>` for a command's options.\n");
}

int orchard_cmd_help(int argc, char **argv, void *payload)
{
    (void)payload;
    if (argc <= 1) {
        orchard_print_commands(stdout);
        return 0;
    }
    int n = 0;
    const orchard_command *c =
        orchard_registry_find_command(orchard_registry_global(), argc - 1, argv + 1, &n);
    if (!c || n != argc - 1) {
        fprintf(stderr, "orchard help: no command '%s'\n", argv[1]);
        return 2;
    }
    printf("%s\n\n%s\n", c->summary ? c->summary : c->name, c->usage ? c->usage : "");
    return 0;
}

int orchard_cmd_version(int argc, char **argv, void *payload)
{
    (void)argc;
    (void)argv;
    (void)payload;
    printf("orchard %s (plugin ABI %u)\n", ORCHARD_VERSION, ORCHARD_ABI_VERSION);
    return 0;
}


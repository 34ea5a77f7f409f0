/* Command-line options. The global ones (--config, --plugin, --verbose, the
 * agent tables' sources, --help) are parsed with GLib's option parser
 * wherever they appear on the line; a command parses its own after its
 * name, in the two spellings osqueryd and people use: `--name value` and
 * `--name=value`. */
#ifndef ORCHARD_ARGS_H
#define ORCHARD_ARGS_H

#include <stdio.h>

/** The global options, as parsed. */
typedef struct {
    char *config;    /* --config F */
    char **plugins;  /* --plugin PATH, repeatable; NULL-terminated or NULL */
    int verbose;     /* --verbose */
    int help;        /* --help or -h */
    int version;     /* --version */
    char *root;      /* --root DIR          (config agent.root) */
    char *profiles_bin; /* --profiles_bin PATH (config agent.profiles_bin) */
    char *nudge_json;   /* --nudge_json PATH   (config agent.nudge_json) */
} orchard_global_args;

/**
 * Take the global options out of argv (in place; the rest keeps its order,
 * argv[*argc] = NULL). `-config` is read as `--config` (gflags' spelling).
 * Returns 0, or 2 with *error_msg (g_free) for a usage error ("Missing
 * argument for --config"). Clear `out` with orchard_global_args_clear.
 */
int orchard_args_parse_global(int *argc, char **argv, orchard_global_args *out,
                              char **error_msg);
void orchard_global_args_clear(orchard_global_args *g);

/**
 * The same for orchard.ext, started by osqueryd: --config, --plugin and the
 * agent tables' options are taken out of argv with the flag helpers below;
 * everything else (osqueryd's flags, --verbose) stays for extension mode.
 * GLib's option parser is not used here: it kept ~50 KiB of GLib resident
 * in every extension (bench/RESULTS.md). Returns 0, or 2 with *error_msg.
 */
int orchard_args_take_ext(int *argc, char **argv, orchard_global_args *out, char **error_msg);

/** The configuration key a global option sets ("agent.root" for "root"), or NULL. */
const char *orchard_args_config_key(const char *option);

/** List the global options, one per line, for `orchard help`. */
void orchard_args_print_global(FILE *out);

/**
 * If argv[*i] is the flag `--name` (or `-name`, as gflags allows), store its
 * value in *value, advance *i past it, and return 1. Return 0 when argv[*i]
 * is another argument, and -1 (with *i unchanged) when the flag has no value.
 */
int orchard_arg_value(int *i, int argc, char **argv, const char *name, const char **value);

/** 1 if argv[i] is the boolean flag `--name` (or `--name=true`), else 0. */
int orchard_arg_flag(const char *arg, const char *name);

/** Parse a non-negative integer of at most `max`; -1 on error. */
long orchard_arg_uint(const char *s, long max);

#endif

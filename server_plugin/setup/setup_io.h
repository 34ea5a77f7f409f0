/* The command-line side of the generate commands: options (`--x v` and
 * `--x=v`), and writing a set of files all-or-nothing: every output is
 * checked before the first is written, and a failed write undoes what this
 * run wrote. Exit statuses follow orchard_command_fn (1 failure, 2 usage). */
#ifndef ORCHARD_SETUP_IO_H
#define ORCHARD_SETUP_IO_H

#include <stddef.h>

/** One option: a value option sets *value, a flag (value NULL) sets *flag = 1. */
typedef struct orchard_setup_opt {
    const char *name; /* without the leading "--" */
    const char **value;
    int *flag;
} orchard_setup_opt;

/**
 * Parse argv[1..argc-1] (argv[0] is the command's name). Values are borrowed
 * from argv. `--help`/`-h` print `usage` to stdout; `--verbose` (a global
 * flag the host leaves in place) is ignored.
 * Returns 0; -1 after --help (exit 0); 2 after printing a usage error
 * (unknown option, missing or empty value, an option given twice, a stray
 * argument).
 */
int orchard_setup_parse(int argc, char **argv, const orchard_setup_opt *opts, size_t n_opts,
                        const char *usage);

/** What happens to a file of the plan. */
typedef enum orchard_setup_action {
    ORCHARD_SETUP_NEW = 0,  /* written; an existing file is an error unless `force` */
    ORCHARD_SETUP_REPLACE,  /* written, over an existing file if there is one */
    ORCHARD_SETUP_KEEP,     /* exists and stays as it is: only checked for collisions */
} orchard_setup_action;

/** One file of the plan. `data` and `if_exists` are borrowed. */
typedef struct orchard_setup_file {
    const char *path;
    const char *what;       /* e.g. "APNs private key", for messages */
    const char *data;
    size_t len;
    int mode;               /* 0600 for private keys, 0644 otherwise */
    orchard_setup_action action;
    const char *if_exists;  /* advice when a NEW file exists (said once, that of the first
                             * one); NULL: "use --force to replace it" */
} orchard_setup_file;

/**
 * Check before writing anything: the files (kept ones too) are distinct and
 * none is one of `inputs` (2: usage error); no NEW file exists unless
 * `force`, none to write is a directory, each one's folder exists (1).
 * Prints every problem found on stderr, prefixed with `cmd`. Returns 0, 1 or 2.
 */
int orchard_setup_check(const char *cmd, const orchard_setup_file *files, size_t n,
                        const char *const *inputs, size_t n_inputs, int force);

/**
 * Write the files in order (KEEP ones are skipped), then print each one
 * written or kept. On a failure every file is put back as it was: those this
 * call created are removed, those it replaced get their old bytes and mode
 * back. Returns 0 or 1 (message on stderr).
 */
int orchard_setup_write(const char *cmd, const orchard_setup_file *files, size_t n, int force);

#endif

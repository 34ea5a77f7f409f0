/* Command-line flags in the two spellings osqueryd and people use:
 * `--name value` and `--name=value`. */
#ifndef ORCHARD_ARGS_H
#define ORCHARD_ARGS_H

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

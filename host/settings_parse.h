/* The text forms of typed settings (orchard_setting_type): what a value in
 * the YAML file, the environment or on the command line must look like to
 * be read as a bool, an integer, a duration, a size or a path. Shared by
 * the typed getters, snapshot validation and `config check`. */
#ifndef ORCHARD_SETTINGS_PARSE_H
#define ORCHARD_SETTINGS_PARSE_H

#include <orchard/plugin.h>

/** true/false, yes/no, on/off, 1/0 (any case). 0 and *out, or ORCHARD_EINVAL. */
int orchard_parse_bool(const char *text, int *out);

/** A decimal integer with an optional sign, in int64 range. 0, or ORCHARD_EINVAL. */
int orchard_parse_int(const char *text, int64_t *out);

/**
 * A Go duration ("90s", "1m", "1h30m", "1.5h", "500ms", "-2m"; units ns, us,
 * µs, ms, s, m, h) or a bare number of seconds ("90", "0.5"), in
 * milliseconds (sub-millisecond parts are dropped). 0, or ORCHARD_EINVAL
 * (malformed, or beyond int64 nanoseconds: about 292 years).
 */
int orchard_parse_duration_ms(const char *text, int64_t *out_ms);

/**
 * A size: a number ("1.5" allowed) and an optional unit, B or binary
 * multiples in any case: k/kb/kib = 1024, m/mb/mib = 1024^2, g.., t..
 * ("2MiB", "512k", "4096"). Rounded down to whole bytes. 0, or
 * ORCHARD_EINVAL (malformed, or over 2^64 - 1).
 */
int orchard_parse_bytes(const char *text, uint64_t *out);

/**
 * Does `text` read as `type`? 0, or ORCHARD_EINVAL with *why (g_free; may
 * be NULL) such as "is not a duration such as 90s, 1m or 1h30m".
 */
int orchard_setting_check_value(orchard_setting_type type, const char *text, char **why);

/** "a duration", "a path", ...: what a value of `type` is, for messages. */
const char *orchard_setting_type_noun(orchard_setting_type type);

#endif

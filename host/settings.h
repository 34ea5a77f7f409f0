/* Settings (ABI 1.2): the declared configuration keys, each with one owner
 * (a plugin, or the host through its core plugin), and the snapshot of
 * their values that every reader sees. The snapshot is built from the YAML
 * file, the environment (ORCHARD_* over FLEET_*) and the command line; a
 * reload (SIGHUP under `orchard serve`) or a run-time override builds a new
 * one and swaps it in whole, then publishes "settings.changed".
 *
 * Precedence, highest first: a run-time override (orchard_settings_override),
 * the command line (orchard_config_set on orchard_config_global), ORCHARD_<KEY>,
 * FLEET_<KEY>, the file, the declared default. Each step tries the key, then
 * its aliases. An empty value at any step unsets the key (the default
 * applies). Every string handed out stays valid until the process exits. */
#ifndef ORCHARD_SETTINGS_H
#define ORCHARD_SETTINGS_H

#include <orchard/plugin.h>

#include <glib.h>

/**
 * A host-only orchard_setting.flags bit: the key holds a list (`plugins:`).
 * ABI 1.2 has no list type; only the host's own declarations use this.
 */
#define ORCHARD_SETTING_HOST_LIST (1u << 16)

/**
 * Declare `ctx`'s plugin's keys. Returns 0, ORCHARD_EEXIST (a key or alias
 * already has an owner: *error_msg names both) or ORCHARD_EINVAL (a
 * malformed declaration: no key, an unknown type, a default that does not
 * read as the type). On failure nothing of this call is kept. The
 * declarations must stay valid until orchard_settings_forget_owner(ctx).
 */
int orchard_settings_add_owner(orchard_ctx *ctx, const orchard_setting *const *settings,
                               size_t n, char **error_msg);

/** Forget the keys `ctx` declared (its plugin is unloading). */
void orchard_settings_forget_owner(orchard_ctx *ctx);

/** The declaration of `key` (or of a key it is an alias of), and its owner's name; NULL when undeclared. */
const orchard_setting *orchard_settings_find(const char *key, const char **owner);

/**
 * Read the configuration file `path` (NULL: none, only the environment and
 * the command line) and build the snapshot. Returns 0, or the file's load
 * error (orchard_config_load_file's codes) with *error_msg (g_free); then
 * nothing changed.
 */
int orchard_settings_load(const char *path, char **error_msg);

/**
 * Re-read the configuration file (and the environment), validate, and swap
 * the snapshot when it is good; publishes "settings.changed" with a JSON
 * array of the keys whose value changed, and warns for each changed key
 * flagged ORCHARD_SETTING_RESTART. Logs one line either way. Returns 0, or
 * ORCHARD_EINVAL (a setting is wrong), the file's load error, with
 * *error_msg (g_free): the old snapshot stays.
 */
int orchard_settings_reload(char **error_msg);

/**
 * The value set for `key` (or an alias) by any layer, without the declared
 * default; NULL when unset. What v1's host->config_get answers (plugin.h:
 * "NULL when unset"), so older plugins keep applying their own defaults.
 * Works for undeclared keys too.
 */
const char *orchard_settings_raw(const char *key);

/** A command-line value for `key` (NULL removes it); swaps the snapshot, publishes nothing. */
void orchard_settings_set_cli(const char *key, const char *value);

/** The list under `key` (a ORCHARD_SETTING_HOST_LIST key), NULL when none. Borrowed. */
const GPtrArray *orchard_settings_list(const char *key);

/** The configuration file in force, or NULL. Borrowed. */
const char *orchard_settings_file(void);

/** Free everything (at exit, after the last reader: LeakSanitizer stays quiet). */
void orchard_settings_shutdown(void);

/* ---- what is wrong with the snapshot in force (settings_check.c) ---- */

typedef enum {
    ORCHARD_PROBLEM_ERROR = 0,   /* the value can't be used as declared */
    ORCHARD_PROBLEM_WARNING = 1, /* likely a mistake (unknown key, file mode) */
    ORCHARD_PROBLEM_NOTE = 2     /* worth knowing (a Fleet key orchard ignores) */
} orchard_problem_level;

typedef struct {
    orchard_problem_level level;
    char *key;     /* the key concerned, or NULL */
    char *message; /* one line, naming the key and where it came from */
    int unknown;   /* a key nobody declared: `config check` fails on it, others warn */
} orchard_settings_problem;

/** The problems of the snapshot in force, in file order (g_ptr_array_unref). */
GPtrArray *orchard_settings_problems(void);

/** Number of problems of `level` in `problems`. */
guint orchard_settings_count(const GPtrArray *problems, orchard_problem_level level);

/** One effective setting, for `config check`. */
typedef struct {
    const orchard_setting *decl;
    const char *owner;        /* the plugin's name */
    const char *value;        /* NULL when unset and without default */
    const GPtrArray *list;    /* for ORCHARD_SETTING_HOST_LIST keys, else NULL */
    int is_default;
    const char *origin;       /* "the file", "ORCHARD_X", "the command line", ... */
} orchard_setting_effective;

/** Every declared key, sorted by key (orchard_setting_effective*, g_ptr_array_unref). */
GPtrArray *orchard_settings_effective(void);

/* The orchard_host_api functions. `ctx` may be NULL (the host itself). */
const char *orchard_settings_string(orchard_ctx *ctx, const char *key);
int orchard_settings_bool(orchard_ctx *ctx, const char *key, int *out);
int orchard_settings_int(orchard_ctx *ctx, const char *key, int64_t *out);
int orchard_settings_duration(orchard_ctx *ctx, const char *key, int64_t *out_ms);
const char *orchard_settings_path(orchard_ctx *ctx, const char *key);
int orchard_settings_bytes(orchard_ctx *ctx, const char *key, uint64_t *out);
int orchard_settings_override(orchard_ctx *ctx, const char *key, const char *value);
uint64_t orchard_settings_generation(orchard_ctx *ctx);

#endif

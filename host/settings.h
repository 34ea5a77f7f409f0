/* Settings (ABI 1.2): the declared configuration keys, each with one owner
 * (a plugin, or the host through its core plugin), and the snapshot of
 * their values that every reader sees. The snapshot is built from the YAML
 * file, the environment (ORCHARD_* over FLEET_*) and the command line; a
 * reload (SIGHUP under `orchard serve`) or a run-time override builds a new
 * one and swaps it in whole, then publishes "settings.changed". */
#ifndef ORCHARD_SETTINGS_H
#define ORCHARD_SETTINGS_H

#include <orchard/plugin.h>

/**
 * Declare `ctx`'s plugin's keys. Returns 0, ORCHARD_EEXIST (a key or alias
 * already has an owner: *error_msg names both) or ORCHARD_EINVAL (a
 * malformed declaration). On failure nothing of this call is kept.
 */
int orchard_settings_add_owner(orchard_ctx *ctx, const orchard_setting *const *settings,
                               size_t n, char **error_msg);

/** Forget the keys `ctx` declared (its plugin is unloading). */
void orchard_settings_forget_owner(orchard_ctx *ctx);

/** The declaration of `key` (or of a key it is an alias of), and its owner's name; NULL when undeclared. */
const orchard_setting *orchard_settings_find(const char *key, const char **owner);

/**
 * Re-read the configuration file (and the environment), validate, and swap
 * the snapshot when it is good; publishes "settings.changed". Returns 0, or
 * the load's error with *error_msg (g_free): the old snapshot stays.
 */
int orchard_settings_reload(char **error_msg);

/* The orchard_host_api functions. */
const char *orchard_settings_string(orchard_ctx *ctx, const char *key);
int orchard_settings_bool(orchard_ctx *ctx, const char *key, int *out);
int orchard_settings_int(orchard_ctx *ctx, const char *key, int64_t *out);
int orchard_settings_duration(orchard_ctx *ctx, const char *key, int64_t *out_ms);
const char *orchard_settings_path(orchard_ctx *ctx, const char *key);
int orchard_settings_bytes(orchard_ctx *ctx, const char *key, uint64_t *out);
int orchard_settings_override(orchard_ctx *ctx, const char *key, const char *value);
uint64_t orchard_settings_generation(orchard_ctx *ctx);

#endif

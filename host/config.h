/* Configuration: a YAML file flattened to "section.key" -> value, with
 * environment overrides ORCHARD_<SECTION>_<KEY> (dots and dashes become '_'),
 * and command-line overrides over both (orchard_config_set).
 * Fleet's key names are kept (mdm.apple_scep_challenge, ...). Sequences are
 * kept as lists (top-level `plugins:` names .so plugins to load). */
#ifndef ORCHARD_CONFIG_H
#define ORCHARD_CONFIG_H

#include <glib.h>

typedef struct orchard_config orchard_config;

/** An empty configuration (only environment overrides apply). Never NULL. */
orchard_config *orchard_config_new(void);

/**
 * Load a YAML file over `cfg`. Returns 0, ORCHARD_ENOTFOUND (no such file),
 * ORCHARD_EINVAL (not YAML, or not a mapping at the top), or ORCHARD_ETOOBIG
 * (over 1 MiB or nested deeper than 16); *error_msg (free with g_free) says
 * where. On failure cfg is unchanged.
 */
int orchard_config_load_file(orchard_config *cfg, const char *path, char **error_msg);

/** Same as load_file, from a string (for tests). */
int orchard_config_load_string(orchard_config *cfg, const char *yaml, size_t len,
                               const char *origin, char **error_msg);

/**
 * Set "section.key" from the command line: it wins over the environment and
 * the file. The previous value stays allocated (a borrowed pointer handed
 * out earlier stays valid).
 */
void orchard_config_set(orchard_config *cfg, const char *key, const char *value);

/** Value of "section.key": command line, then environment, then file; NULL when unset. Borrowed. */
const char *orchard_config_get(orchard_config *cfg, const char *key);

/** The list under `key` (never NULL, maybe empty). Borrowed. */
const GPtrArray *orchard_config_get_list(const orchard_config *cfg, const char *key);

/** The file the config came from, or NULL. */
const char *orchard_config_path(const orchard_config *cfg);

void orchard_config_free(orchard_config *cfg);

/** The process-wide configuration that orchard_host_api.config_get reads. */
orchard_config *orchard_config_global(void);

/** The environment variable name for a key: "mdm.apple_x" -> "ORCHARD_MDM_APPLE_X". */
char *orchard_config_env_name(const char *key);

#endif

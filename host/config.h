/* Configuration files: a YAML file flattened to "section.key" -> value, with
 * what each key holds (a value, a list or a section) and on which line, so
 * that settings (host/settings.c) can name a list where a path belongs or a
 * key nobody declared. Sequences are kept as lists (`plugins:`).
 *
 * A standalone orchard_config also answers environment overrides
 * ORCHARD_<SECTION>_<KEY> and command-line overrides (orchard_config_set).
 * The process-wide one (orchard_config_global) is a view of the settings
 * snapshot: reads see the current snapshot, orchard_config_set is a
 * command-line override that swaps it. */
#ifndef ORCHARD_CONFIG_H
#define ORCHARD_CONFIG_H

#include <glib.h>

typedef struct orchard_config orchard_config;

/** What a key holds in the file. */
typedef enum {
    ORCHARD_CONFIG_NONE = 0,   /* not in the file */
    ORCHARD_CONFIG_VALUE = 1,  /* a scalar */
    ORCHARD_CONFIG_LIST = 2,   /* a sequence of scalars */
    ORCHARD_CONFIG_SECTION = 3 /* a mapping (its keys are "key.sub") */
} orchard_config_shape;

/** An empty configuration (only environment overrides apply). Never NULL. */
orchard_config *orchard_config_new(void);

/**
 * Load a YAML file over `cfg`. Returns 0, ORCHARD_ENOTFOUND (no such file),
 * ORCHARD_EIO (it can't be read: the message says why, e.g. "Permission
 * denied"), ORCHARD_EINVAL (not YAML, or not a mapping at the top), or
 * ORCHARD_ETOOBIG (over 1 MiB or nested deeper than 16); *error_msg (free
 * with g_free) says where. On failure cfg is unchanged.
 */
int orchard_config_load_file(orchard_config *cfg, const char *path, char **error_msg);

/** Same as load_file, from a string (for tests). */
int orchard_config_load_string(orchard_config *cfg, const char *yaml, size_t len,
                               const char *origin, char **error_msg);

/**
 * Set "section.key" from the command line: it wins over the environment and
 * the file; NULL removes the override. The previous value stays allocated (a
 * borrowed pointer handed out earlier stays valid).
 */
void orchard_config_set(orchard_config *cfg, const char *key, const char *value);

/** Value of "section.key": command line, then environment, then file; NULL when unset. Borrowed. */
const char *orchard_config_get(orchard_config *cfg, const char *key);

/** The list under `key` (never NULL, maybe empty). Borrowed. */
const GPtrArray *orchard_config_get_list(const orchard_config *cfg, const char *key);

/** The file's own value of `key` (no overrides), or NULL. Borrowed. */
const char *orchard_config_file_value(const orchard_config *cfg, const char *key);

/** What `key` holds in the file, and its line (1-based; may be NULL). */
orchard_config_shape orchard_config_shape_of(const orchard_config *cfg, const char *key,
                                             unsigned *line);

/**
 * Every key of the file that holds a value or a list, or is an empty
 * section, in file order (char*, borrowed from cfg; free the array).
 */
GPtrArray *orchard_config_keys(const orchard_config *cfg);

/** Keys given twice in the file, each once (the later value wins). Borrowed. */
const GPtrArray *orchard_config_duplicates(const orchard_config *cfg);

/** The file the config came from, or NULL. */
const char *orchard_config_path(const orchard_config *cfg);

void orchard_config_free(orchard_config *cfg);

/** The process-wide configuration that orchard_host_api.config_get reads. */
orchard_config *orchard_config_global(void);

/** The environment variable name for a key: "mdm.apple_x" -> "ORCHARD_MDM_APPLE_X". */
char *orchard_config_env_name(const char *key);

/** Same with another prefix: ("FLEET_", "server.cert") -> "FLEET_SERVER_CERT". */
char *orchard_config_env_name_with(const char *prefix, const char *key);

#endif

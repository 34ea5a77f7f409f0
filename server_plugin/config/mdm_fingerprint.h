/* The MDM settings fingerprint (gate "mdm", ABI 1.4 instance_settings):
 * what every instance on one store must agree on, as key -> SHA-256 hex,
 * never a secret in clear. `serve` publishes it; `get mdm-apple`, the admin
 * API and `config check` show how the instances compare. */
#ifndef ORCHARD_MDM_FINGERPRINT_H
#define ORCHARD_MDM_FINGERPRINT_H

#include "server_plugin/config/mdm_config.h"

#include <jansson.h>
#include <orchard/plugin.h>

#define ORCHARD_MDM_GATE "mdm"
#define ORCHARD_MDM_ALLOW_MIXED_KEY "mdm.allow_mixed_settings"

/** mdm.allow_mixed_settings (declared in mdm_settings.c). */
extern const orchard_setting orchard_setting_mdm_allow_mixed;

/**
 * cfg's fingerprint as compact JSON (g_free): for each certificate the
 * SHA-256 of its DER, for each key the SHA-256 of its public key's DER
 * (so a path on one instance and the same PEM in *_bytes on another
 * agree), and for the APNs topic, the SCEP challenge, the ABM token's
 * content and the settings that change behaviour, the SHA-256 of the
 * key's name and its effective value. Items not configured are left out.
 * `host` reads the APNs push settings that cfg does not hold. NULL only
 * when out of memory.
 */
char *orchard_mdm_fingerprint(const orchard_host_api *host, const orchard_mdm_config *cfg);

/** 1 when mdm.allow_mixed_settings is true. */
int orchard_mdm_allow_mixed(const orchard_host_api *host);

/**
 * Publish cfg's fingerprint for gate "mdm" (serve, at start and on
 * "settings.changed"), with ORCHARD_INSTANCE_ALLOW_MIXED when allowed.
 * Returns 0, ORCHARD_EABI (a host before 1.4: nothing to do), or the
 * host's code.
 */
int orchard_mdm_fingerprint_publish(orchard_ctx *ctx, const orchard_mdm_config *cfg);

/**
 * How the instances compare for gate "mdm", as the admin API shows it:
 * {"count": live, "settings_agree": bool, "differing_keys": [...],
 * "reference": id}; `fingerprint` NULL compares this instance's (or, outside
 * serve, the live ones among themselves). NULL when the host cannot tell
 * (before 1.4, no store, a store error): the caller leaves it out.
 */
json_t *orchard_mdm_instances_json(orchard_ctx *ctx, const char *fingerprint);

/** The line `get mdm-apple` prints for such an object (g_free): "Instances: 2 live, ...". */
char *orchard_mdm_instances_line(json_t *instances);

#endif

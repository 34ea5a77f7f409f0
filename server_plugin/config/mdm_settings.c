/* The server plugin's configuration keys (ABI 1.2 settings): each declared
 * once, here, with Fleet's names; listed in the plugin's .settings. The
 * serve command reads them once when it starts (mdm_config), so a reload
 * that changes one warns that it needs a restart. */
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/config/mdm_fingerprint.h"

#include "server_plugin/enroll/download_limit.h"
#include "server_plugin/users/users.h"

#include <glib.h>

#define RESTART ORCHARD_SETTING_RESTART
#define SECRET ORCHARD_SETTING_SECRET

#define SETTING(name, k, t, dflt, desc, fl)                                              \
    static const orchard_setting name = {ORCHARD_STRUCT_HEADER(orchard_setting), .key = k, \
                                         .type = t, .default_value = dflt,               \
                                         .description = desc, .flags = fl}

#define PATH ORCHARD_SETTING_PATH
#define TEXT ORCHARD_SETTING_STRING

SETTING(url, "server.url", TEXT, NULL,
        "The https base URL devices and admins use (default: the listening address)", RESTART);
SETTING(signing_cert, "server.profile_signing_cert", PATH, NULL,
        "Certificate that signs enrollment profiles (with its key)", RESTART);
SETTING(signing_key, "server.profile_signing_key", PATH, NULL,
        "Private key that signs enrollment profiles", RESTART);
SETTING(apns_cert, "mdm.apple_apns_cert", PATH, NULL, "The APNs certificate (PEM)", RESTART);
SETTING(apns_cert_bytes, "mdm.apple_apns_cert_bytes", TEXT, NULL,
        "The APNs certificate itself, instead of a path", RESTART);
SETTING(apns_key, "mdm.apple_apns_key", PATH, NULL, "The APNs private key (PEM)", RESTART);
SETTING(apns_key_bytes, "mdm.apple_apns_key_bytes", TEXT, NULL,
        "The APNs private key itself, instead of a path", RESTART | SECRET);
SETTING(scep_cert, "mdm.apple_scep_cert", PATH, NULL, "The SCEP CA certificate (PEM)", RESTART);
SETTING(scep_cert_bytes, "mdm.apple_scep_cert_bytes", TEXT, NULL,
        "The SCEP CA certificate itself, instead of a path", RESTART);
SETTING(scep_key, "mdm.apple_scep_key", PATH, NULL, "The SCEP CA private key (PEM)", RESTART);
SETTING(scep_key_bytes, "mdm.apple_scep_key_bytes", TEXT, NULL,
        "The SCEP CA private key itself, instead of a path", RESTART | SECRET);
SETTING(challenge, "mdm.apple_scep_challenge", TEXT, NULL,
        "The static SCEP challenge (32 letters and digits, as Fleet asks)", RESTART | SECRET);
SETTING(challenge_ttl, "mdm.apple_scep_challenge_ttl", ORCHARD_SETTING_DURATION, "1h",
        "How long a one-time challenge of an enrollment profile is valid", RESTART);
SETTING(validity_days, "mdm.apple_scep_signer_validity_days", ORCHARD_SETTING_INT, "365",
        "Days a device identity certificate is valid", RESTART);
SETTING(renewal_days, "mdm.apple_scep_signer_allow_renewal_days", ORCHARD_SETTING_INT, "14",
        "Days before expiry a device may renew its certificate", RESTART);
SETTING(bm_token, "mdm.apple_bm_server_token", PATH, NULL,
        "The Apple Business Manager server token (.p7m)", RESTART);
SETTING(bm_token_bytes, "mdm.apple_bm_server_token_bytes", TEXT, NULL,
        "The ABM server token itself, instead of a path", RESTART | SECRET);
SETTING(bm_cert, "mdm.apple_bm_cert", PATH, NULL, "The ABM public key certificate (PEM)",
        RESTART);
SETTING(bm_cert_bytes, "mdm.apple_bm_cert_bytes", TEXT, NULL,
        "The ABM certificate itself, instead of a path", RESTART);
SETTING(bm_key, "mdm.apple_bm_key", PATH, NULL, "The ABM private key (PEM)", RESTART);
SETTING(bm_key_bytes, "mdm.apple_bm_key_bytes", TEXT, NULL,
        "The ABM private key itself, instead of a path", RESTART | SECRET);
SETTING(dep_sync, "mdm.apple_dep_sync_periodicity", ORCHARD_SETTING_DURATION, "1m",
        "How often devices are synced from Apple Business Manager", RESTART);
/* Automatic enrollment (server_plugin/dep/): read by the sync job on every
 * run and by the DEP enrollment URL, so none needs a restart. */
SETTING(dep_url, "mdm.apple_dep_url", TEXT, "https://mdmenrollment.apple.com",
        "Apple's device assignment service (Apple Business Manager's DEP API)", 0);
SETTING(dep_profile, "mdm.apple_dep_profile", PATH, NULL,
        "A JSON file in Apple's DEP profile format; orchard fills its url and defaults "
        "(is_mdm_removable false, await_device_configured true)", 0);
SETTING(bm_default_team, "mdm.apple_bm_default_team", TEXT, NULL,
        "The team Macs that enroll automatically (through Apple Business Manager) join", 0);
SETTING(org_name, "org_info.org_name", TEXT, "orchard",
        "The organization named in enrollment profiles (at most 55 characters)", RESTART);
/* APNs (server_plugin/apns/): read by the pusher, which reopens its client
 * when the settings change, so none of them needs a restart. */
SETTING(apns_url, "mdm.apple_apns_url", TEXT, "https://api.push.apple.com",
        "Where APNs pushes go (Apple's development host: https://api.sandbox.push.apple.com)", 0);
SETTING(apns_ca, "mdm.apple_apns_ca", PATH, NULL,
        "A PEM bundle that replaces the system's trust store for APNs only", 0);
SETTING(apns_expiration, "mdm.apple_apns_push_expiration", ORCHARD_SETTING_DURATION, "168h",
        "How long APNs keeps a push for a device it cannot reach (apns-expiration)", 0);
SETTING(apns_connections, "mdm.apple_apns_connections", ORCHARD_SETTING_INT, "2",
        "Persistent HTTP/2 connections to APNs (1 to 64)", 0);

/* Profiles and macOS updates (server_plugin/profiles/, updates/): read by
 * their jobs on every run, so none needs a restart. */
SETTING(reconcile_interval, "mdm.apple_profile_reconcile_interval", ORCHARD_SETTING_DURATION,
        "30s", "How often the profile reconciler runs a full pass when nothing changed "
        "(changes start a pass at once)", 0);
SETTING(device_info_interval, "mdm.apple_device_info_interval", ORCHARD_SETTING_DURATION, "24h",
        "How often each Mac is asked for its DeviceInformation (OS version and model)", 0);
SETTING(nudge_pkg, "mdm.macos_updates.nudge_pkg", PATH, NULL,
        "A signed Nudge installer package (.pkg) that orchard serves and installs on Macs "
        "that get the Nudge configuration", 0);

/* Read by serve when it publishes its fingerprint, on start and on every
 * settings change: no restart. */
const orchard_setting orchard_setting_mdm_allow_mixed = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = ORCHARD_MDM_ALLOW_MIXED_KEY,
    .type = ORCHARD_SETTING_BOOL,
    .default_value = "false",
    .description = "Serve MDM routes even when this instance's MDM settings differ from the "
                   "other instances' on the same store (the difference is only logged)",
    .flags = 0,
};

const orchard_setting *const orchard_mdm_settings[ORCHARD_MDM_N_SETTINGS] = {
    &url, &signing_cert, &signing_key,
    &apns_cert, &apns_cert_bytes, &apns_key, &apns_key_bytes,
    &scep_cert, &scep_cert_bytes, &scep_key, &scep_key_bytes,
    &challenge, &challenge_ttl, &validity_days, &renewal_days,
    &bm_token, &bm_token_bytes, &bm_cert, &bm_cert_bytes, &bm_key, &bm_key_bytes,
    &dep_sync, &org_name, &dep_url, &dep_profile, &bm_default_team,
    &orchard_setting_enroll_downloads,
    &apns_url, &apns_ca, &apns_expiration, &apns_connections,
    &orchard_setting_session_duration,
    &orchard_setting_mdm_allow_mixed,
    &reconcile_interval, &device_info_interval, &nudge_pkg,
};
/* More declarations than slots fails here; fewer leaves a NULL slot, which
 * the host refuses when the plugin loads. */
G_STATIC_ASSERT(G_N_ELEMENTS(orchard_mdm_settings) == ORCHARD_MDM_N_SETTINGS);

const orchard_mdm_config_key orchard_mdm_config_keys[] = {
    {"server.address"}, {"server.url"}, {"server.tls_cert"}, {"server.tls_key"},
    {"server.profile_signing_cert"}, {"server.profile_signing_key"}, {"store.sqlite"}, {"store.postgres"},
    {"mdm.apple_apns_cert"}, {"mdm.apple_apns_cert_bytes"}, {"mdm.apple_apns_key"},
    {"mdm.apple_apns_key_bytes"}, {"mdm.apple_scep_cert"}, {"mdm.apple_scep_cert_bytes"},
    {"mdm.apple_scep_key"}, {"mdm.apple_scep_key_bytes"}, {"mdm.apple_scep_challenge"},
    {"mdm.apple_scep_challenge_ttl"}, {"mdm.apple_scep_signer_validity_days"},
    {"mdm.apple_scep_signer_allow_renewal_days"}, {"mdm.apple_bm_server_token"},
    {"mdm.apple_bm_server_token_bytes"}, {"mdm.apple_bm_cert"}, {"mdm.apple_bm_cert_bytes"},
    {"mdm.apple_bm_key"}, {"mdm.apple_bm_key_bytes"}, {"mdm.apple_dep_sync_periodicity"},
    {"org_info.org_name"},
    {"mdm.apple_apns_url"}, {"mdm.apple_apns_ca"}, {"mdm.apple_apns_push_expiration"},
    {"mdm.apple_apns_connections"}, {"mdm.allow_mixed_settings"},
    {"mdm.apple_profile_reconcile_interval"}, {"mdm.apple_device_info_interval"},
    {"mdm.macos_updates.nudge_pkg"},
    {"mdm.apple_dep_url"}, {"mdm.apple_dep_profile"}, {"mdm.apple_bm_default_team"},
};
const size_t orchard_mdm_config_n_keys = G_N_ELEMENTS(orchard_mdm_config_keys);

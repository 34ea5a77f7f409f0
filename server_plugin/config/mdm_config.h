/* The server plugin's configuration (`server:`, `store:`, `mdm:`), read
 * through host->config_get with Fleet's key names and checked against every
 * rule of docs/protocols.md §5; `config check`, `get`, `serve` and the
 * tables start here. A loaded configuration is cached per settings
 * generation, so tables don't re-read PEM files on every query. */
#ifndef ORCHARD_MDM_CONFIG_H
#define ORCHARD_MDM_CONFIG_H

#include "server_plugin/dep/abm_token.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Under this many days left, a certificate or token is "expiring". */
#define ORCHARD_MDM_EXPIRY_WARN_DAYS 30

/**
 * A loaded, valid configuration. Everything is owned by the struct
 * (orchard_mdm_config_free). A pair is either fully set or NULL.
 */
typedef struct orchard_mdm_config {
    /* server: */
    char *url;     /* server.url, NULL when unset */
    X509 *tls_cert;
    EVP_PKEY *tls_key;
    X509 *profile_signing_cert;
    EVP_PKEY *profile_signing_key;
    /* store: exactly one of store.sqlite and store.postgres */
    char *store; /* for messages: the SQLite file, or "the PostgreSQL database of
                  * store.postgres" (never the URL: it may hold a password);
                  * NULL when neither is set */
    /* mdm: APNs and SCEP, both or neither */
    X509 *apns_cert;
    EVP_PKEY *apns_key;
    char *apns_topic; /* the subject UID, com.apple.mgmt... */
    X509 *scep_cert;
    EVP_PKEY *scep_key;
    char *scep_challenge; /* secret; set whenever SCEP is */
    gint64 scep_challenge_ttl;          /* seconds, default 1h */
    long scep_signer_validity_days;     /* default 365 */
    long scep_signer_allow_renewal_days; /* default 14 */
    gint64 dep_sync_periodicity;        /* seconds, default 1m */
    /* mdm: Apple Business Manager, all three or none */
    X509 *bm_cert;
    EVP_PKEY *bm_key;
    orchard_abm_token *bm_token;
    /* MDM runs only with APNs and SCEP; otherwise mdm_off_reason says why. */
    int mdm_enabled;
    char *mdm_off_reason;
    /* org_info: (Fleet's organization settings) */
    char *org_name; /* org_info.org_name, default "orchard": named in enrollment profiles */
    /* private: references (the cache holds one) */
    gint refs;
} orchard_mdm_config;

/* orchard_mdm_config_load_ex flags. */
enum {
    /* Keep an expired ABM token instead of failing (get mdm-apple-bm shows it). */
    ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN = 1
};

/**
 * Read and validate the configuration through host->config_get (so
 * environment overrides apply). Returns 0 and *out (orchard_mdm_config_free;
 * read-only: it may be shared with the cache and other callers), or the
 * first invalid item with *error_msg (g_free) naming its key, e.g.
 * "mdm.apple_scep_challenge is required when SCEP is configured ...":
 *   ORCHARD_EINVAL     a rule is broken or a value is malformed;
 *   ORCHARD_ENOTFOUND  a configured file does not exist;
 *   ORCHARD_EIO        a configured file can't be read (the message says why);
 *   ORCHARD_ETOOBIG    a file is over its cap.
 * *out is NULL on failure. With a 1.2 host the result is cached until the
 * settings generation changes (a reload, an override).
 *
 * An APNs certificate that expired turns MDM off (mdm_enabled 0, with the
 * reason): Apple refuses pushes with it.
 */
int orchard_mdm_config_load(const orchard_host_api *host, orchard_mdm_config **out,
                            char **error_msg);
int orchard_mdm_config_load_ex(const orchard_host_api *host, unsigned flags,
                               orchard_mdm_config **out, char **error_msg);

/** Drop a reference; the last one frees everything, wiping the challenge and the token. NULL is fine. */
void orchard_mdm_config_free(orchard_mdm_config *cfg);

/** Drop the cached configuration (the plugin unloads; tests). */
void orchard_mdm_config_cache_clear(void);

/** The keys this loader reads, its own and others' (server.address, store.sqlite, store.postgres). */
typedef struct orchard_mdm_config_key {
    const char *key; /* "section.key" */
} orchard_mdm_config_key;

extern const orchard_mdm_config_key orchard_mdm_config_keys[];
extern const size_t orchard_mdm_config_n_keys;

/** The keys the server plugin declares (its orchard_plugin.settings; mdm_settings.c). */
#define ORCHARD_MDM_N_SETTINGS 36
extern const orchard_setting *const orchard_mdm_settings[ORCHARD_MDM_N_SETTINGS];

/* Fleet's docs ask for a static challenge of 32 letters and digits. */
#define ORCHARD_MDM_CHALLENGE_MIN_CHARS 32

/**
 * What is risky but allowed in the configuration: private key files
 * readable by group or others, a static challenge under
 * ORCHARD_MDM_CHALLENGE_MIN_CHARS characters. Messages (char*, g_free'd by
 * the array) name the key; *refuse (may be NULL) is set when a private key
 * file is writable by others, which `serve` refuses to start with.
 */
GPtrArray *orchard_mdm_config_warnings(const orchard_host_api *host, int *refuse);

/**
 * "ok", "expiring" (under ORCHARD_MDM_EXPIRY_WARN_DAYS) or "expired" for an
 * end of validity; *days_left gets whole days left (negative once past).
 */
const char *orchard_mdm_expiry_status(gint64 not_after, gint64 now, gint64 *days_left);

/** "YYYY-MM-DDTHH:MM:SSZ" in UTC (RFC 3339). g_free. */
char *orchard_mdm_format_utc(gint64 unix_seconds);

/** Parse "1h", "30m", "90s", "1h30m" into seconds (> 0); -1 when malformed. */
gint64 orchard_mdm_parse_duration(const char *text);

#endif

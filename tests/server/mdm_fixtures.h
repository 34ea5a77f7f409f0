/* Test material for the server plugin's config and token suites: keys,
 * APNs stand-ins, a SCEP CA, ABM key pairs and tokens, made in a temporary
 * directory with the openssl CLI (and OpenSSL's API for backdated certs). */
#ifndef ORCHARD_TEST_MDM_FIXTURES_H
#define ORCHARD_TEST_MDM_FIXTURES_H

#include <glib.h>

/* Secrets planted in the material; no output may ever contain them. */
#define MDMFX_CHALLENGE "chal-SECRET-7788"
#define MDMFX_CONSUMER_KEY "CK_consumer_key_31337"
#define MDMFX_CONSUMER_SECRET "CS_topsecret_4f2a"
#define MDMFX_ACCESS_TOKEN "AT_access_token_5e6d"
#define MDMFX_ACCESS_SECRET "AS_topsecret_9b1c"
/* The APNs stand-in's serial: longer than 64 bits. */
#define MDMFX_SERIAL_HEX "0x0123456789ABCDEF0123456789"
#define MDMFX_SERIAL_DEC "90144042682896311822508713865"
#define MDMFX_ISSUER_CN "Fake Apple Application Integration CA"

typedef struct {
    char *dir;   /* the temporary directory; removed by mdmfx_teardown */
    char *uuid;  /* topic = com.apple.mgmt.External.<uuid> */
    char *topic;
    gint64 token_expiry;      /* the good token's access_token_expiry */
    gint64 soon_token_expiry; /* 10 days away */
} mdmfx;

extern mdmfx mdmfx_state;

/**
 * Make everything (once per suite). Files in mdmfx_state.dir:
 *  apple_ca.{key,crt}  issuer of the APNs stand-ins (CN MDMFX_ISSUER_CN)
 *  apns.key, apns.crt (1 year, long serial), apns_soon.crt (10 days),
 *  apns_expired.crt (ended yesterday), apns_wrong_topic.crt, apns_no_topic.crt
 *  other.key           a key that matches nothing
 *  scep.{key,crt}      SCEP CA;  tls.{key,crt}  a server certificate
 *  bm.{key,crt}, bm2.{key,crt}  ABM key pairs
 *  token.p7m (good, CRLF message), token_lf.p7m (LF message), token_crlf_file.p7m
 *  (the .p7m itself with CRLF), token_soon.p7m, token_expired.p7m, token_other.p7m
 *  (to bm2), token_no_message.p7m, token_bad_json.p7m, token_missing.p7m
 *  (no access_secret), token_bad_expiry.p7m, token_offset.p7m (+02:00),
 *  not_smime.p7m
 * Returns 0, or -1 (a CUnit suite init failure).
 */
int mdmfx_setup(void);
int mdmfx_teardown(void);

/**
 * Run argv (PATH searched) in `dir`; *out / *err (g_free) get its output when
 * not NULL. The exit status, or -1 when it could not start or did not exit.
 */
int mdmfx_spawn(const char *dir, char **out, char **err, const char *const *argv);

/** g_build_filename(dir, name). g_free. */
char *mdmfx_path(const char *name);
/** The content of a fixture file. g_free. */
char *mdmfx_read(const char *name);

/**
 * The good configuration (APNs, SCEP, challenge, ABM) with `kv` applied:
 * pairs "section.key", value; a NULL value drops the key; a key not in the
 * good set is added. Values naming fixtures are absolute paths.
 * mdmfx_write_config writes it as YAML and returns the path (g_free);
 * mdmfx_apply_config sets it on the process's global configuration (for
 * in-process calls), after clearing every server key.
 */
char *mdmfx_write_config(const char *const *kv);
void mdmfx_apply_config(const char *const *kv);

/**
 * Run ORCHARD_BIN with `args` (NULL-terminated) and extra environment
 * `env` ("NAME=value", NULL-terminated, may be NULL). Returns the exit
 * status (-1 when it could not run); *out and *err (g_free) get the output.
 * Every output is also checked for the planted secrets (mdmfx_leaks).
 */
int mdmfx_run(const char *const *args, const char *const *env, char **out, char **err);

/* A loopback port nobody listens on right now (the kernel's pick; small race), or -1. */
int mdmfx_free_port(void);

/** Number of outputs so far that contained a planted secret. */
int mdmfx_leaks(void);

/** Fleet's renew date format for a unix time, computed independently. g_free. */
char *mdmfx_renew_date(gint64 t);

#endif

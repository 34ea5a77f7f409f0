/* server_config: the server plugin's configuration rules (mdm_config), the
 * `config check` and `get mdm-apple[-bm]` commands and the apns_certificate /
 * abm_token tables, in process and through the orchard binary. */
#include "server_plugin/config/mdm_config.h"
#include "host/config.h"
#include "tests/server/mdm_fixtures.h"
#include "host/plugins/registry.h"
#include "tests/suites.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *kv[12]; /* mdmfx overrides; a NULL value drops the key */
    const char *expect; /* in the message */
} bad_case;

/* Every rule, one broken item each. */
static const bad_case bad_cases[] = {
    {"apns cert path and bytes", {"mdm.apple_apns_cert_bytes", "pem:apns.crt"},
     "mdm.apple_apns_cert and mdm.apple_apns_cert_bytes are both set"},
    {"apns key path and bytes", {"mdm.apple_apns_key_bytes", "pem:apns.key"},
     "mdm.apple_apns_key and mdm.apple_apns_key_bytes are both set"},
    {"scep cert path and bytes", {"mdm.apple_scep_cert_bytes", "pem:scep.crt"},
     "mdm.apple_scep_cert and mdm.apple_scep_cert_bytes are both set"},
    {"bm key path and bytes", {"mdm.apple_bm_key_bytes", "pem:bm.key"},
     "mdm.apple_bm_key and mdm.apple_bm_key_bytes are both set"},
    {"token path and bytes", {"mdm.apple_bm_server_token_bytes", "pem:token_lf.p7m"},
     "mdm.apple_bm_server_token and mdm.apple_bm_server_token_bytes are both set"},
    {"apns cert without key", {"mdm.apple_apns_key", NULL},
     "mdm.apple_apns_cert is set without mdm.apple_apns_key"},
    {"apns cert bytes without key",
     {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_cert_bytes", "pem:apns.crt",
      "mdm.apple_apns_key", NULL},
     "mdm.apple_apns_cert_bytes is set without mdm.apple_apns_key"},
    {"apns key without cert", {"mdm.apple_apns_cert", NULL},
     "mdm.apple_apns_key is set without mdm.apple_apns_cert"},
    {"scep cert without key", {"mdm.apple_scep_key", NULL},
     "mdm.apple_scep_cert is set without mdm.apple_scep_key"},
    {"scep key without cert", {"mdm.apple_scep_cert", NULL},
     "mdm.apple_scep_key is set without mdm.apple_scep_cert"},
    {"bm cert without key", {"mdm.apple_bm_key", NULL},
     "mdm.apple_bm_cert is set without mdm.apple_bm_key"},
    {"tls cert without key", {"server.tls_cert", "fx:tls.crt"},
     "server.tls_cert is set without server.tls_key"},
    {"signing key without cert", {"server.profile_signing_key", "fx:tls.key"},
     "server.profile_signing_key is set without server.profile_signing_cert"},
    {"apns key mismatch", {"mdm.apple_apns_key", "fx:other.key"},
     "mdm.apple_apns_key does not match the certificate in mdm.apple_apns_cert"},
    {"scep key mismatch", {"mdm.apple_scep_key", "fx:other.key"},
     "mdm.apple_scep_key does not match the certificate in mdm.apple_scep_cert"},
    {"bm key mismatch", {"mdm.apple_bm_key", "fx:bm2.key"},
     "mdm.apple_bm_key does not match the certificate in mdm.apple_bm_cert"},
    {"tls key mismatch", {"server.tls_cert", "fx:tls.crt", "server.tls_key", "fx:other.key"},
     "server.tls_key does not match the certificate in server.tls_cert"},
    {"signing key mismatch",
     {"server.profile_signing_cert", "fx:tls.crt", "server.profile_signing_key", "fx:bm.key"},
     "server.profile_signing_key does not match the certificate in server.profile_signing_cert"},
    {"tls cert missing file", {"server.tls_cert", "/nonexistent/tls.crt", "server.tls_key",
                               "fx:tls.key"},
     "server.tls_cert: /nonexistent/tls.crt"},
    {"apns cert not PEM", {"mdm.apple_apns_cert", "fx:token.p7m"}, "mdm.apple_apns_cert: "},
    {"apns without scep", {"mdm.apple_scep_cert", NULL, "mdm.apple_scep_key", NULL},
     "mdm.apple_apns_cert is set without mdm.apple_scep_cert"},
    {"scep without apns", {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL},
     "mdm.apple_scep_cert is set without mdm.apple_apns_cert"},
    {"scep without challenge", {"mdm.apple_scep_challenge", NULL},
     "mdm.apple_scep_challenge is required when SCEP is configured"},
    {"topic missing", {"mdm.apple_apns_cert", "fx:apns_no_topic.crt"},
     "mdm.apple_apns_cert has no APNs topic"},
    {"topic wrong", {"mdm.apple_apns_cert", "fx:apns_wrong_topic.crt"},
     "does not start with com.apple.mgmt"},
    {"token for another key", {"mdm.apple_bm_server_token", "fx:token_other.p7m"},
     "mdm.apple_bm_server_token does not decrypt with mdm.apple_bm_key"},
    {"token expired", {"mdm.apple_bm_server_token", "fx:token_expired.p7m"},
     "mdm.apple_bm_server_token expired on"},
    {"token not smime", {"mdm.apple_bm_server_token", "fx:not_smime.p7m"},
     "mdm.apple_bm_server_token: not an S/MIME"},
    {"token without bm pair", {"mdm.apple_bm_cert", NULL, "mdm.apple_bm_key", NULL},
     "mdm.apple_bm_server_token is set without mdm.apple_bm_cert and mdm.apple_bm_key"},
    {"bm pair without token", {"mdm.apple_bm_server_token", NULL},
     "mdm.apple_bm_cert and mdm.apple_bm_key are set without mdm.apple_bm_server_token"},
    {"validity days zero", {"mdm.apple_scep_signer_validity_days", "0"},
     "mdm.apple_scep_signer_validity_days must be a positive integer"},
    {"renewal days negative", {"mdm.apple_scep_signer_allow_renewal_days", "-3"},
     "mdm.apple_scep_signer_allow_renewal_days must be a positive integer"},
    {"validity days text", {"mdm.apple_scep_signer_validity_days", "a year"},
     "mdm.apple_scep_signer_validity_days must be a positive integer"},
    {"challenge ttl", {"mdm.apple_scep_challenge_ttl", "1 hour"},
     "mdm.apple_scep_challenge_ttl must be a duration"},
    {"dep sync zero", {"mdm.apple_dep_sync_periodicity", "0s"},
     "mdm.apple_dep_sync_periodicity must be a duration"},
    {"url not https", {"server.url", "http://mdm.example.com"}, "server.url must be an https URL"},
    {"url no host", {"server.url", "https://"}, "server.url must be an https URL"},
    {"two stores", {"store.postgres", "postgresql:///orchard"},
     "store.sqlite and store.postgres are both set: keep exactly one"},
};

static int suite_init(void) { return mdmfx_setup(); }
static int suite_cleanup(void) { return mdmfx_teardown(); }

static int load_in_process(const char *const *kv, unsigned flags, orchard_mdm_config **cfg,
                           char **err)
{
    mdmfx_apply_config(kv);
    return orchard_mdm_config_load_ex(orchard_host_api_get(), flags, cfg, err);
}

/* Run the binary with a config built from kv; *out and *err: g_free. */
static int run_with(const char *const *kv, const char *const *env, const char *const *cmd,
                    char **out, char **err)
{
    g_autofree char *path = mdmfx_write_config(kv);
    const char *args[16] = {"--config", path};
    size_t n = 2;
    for (size_t i = 0; cmd[i] && n < G_N_ELEMENTS(args) - 1; i++)
        args[n++] = cmd[i];
    args[n] = NULL;
    return mdmfx_run(args, env, out, err);
}

static int contains(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

static const char *const CHECK[] = {"config", "check", NULL};
static const char *const GET_APNS[] = {"get", "mdm-apple", NULL};
static const char *const GET_APNS_JSON[] = {"get", "mdm-apple", "--json", NULL};
static const char *const GET_BM[] = {"get", "mdm-apple-bm", NULL};
static const char *const GET_BM_JSON[] = {"get", "mdm-apple-bm", "--json", NULL};

/* --- the rules */

static void test_invalid_in_process(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        orchard_mdm_config *cfg = NULL;
        g_autofree char *err = NULL;
        int rc = load_in_process(bad_cases[i].kv, 0, &cfg, &err);
        if (rc == 0 || !err || !strstr(err, bad_cases[i].expect))
            fprintf(stderr, "\n  case %s: rc %d, message: %s\n", bad_cases[i].name, rc,
                    err ? err : "(none)");
        CU_ASSERT(rc < 0);
        CU_ASSERT_PTR_NULL(cfg);
        CU_ASSERT(err && strstr(err, bad_cases[i].expect));
        orchard_mdm_config_free(cfg);
    }
}

static void test_invalid_through_binary(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *out = NULL, *err = NULL;
        int rc = run_with(bad_cases[i].kv, NULL, CHECK, &out, &err);
        if (rc != 1)
            fprintf(stderr, "\n  case %s: exit %d\n", bad_cases[i].name, rc);
        CU_ASSERT_EQUAL(rc, 1);
        CU_ASSERT(contains(err, bad_cases[i].expect));
        CU_ASSERT(contains(err, "orchard config check: "));
        CU_ASSERT(!strstr(out, "The configuration is valid"));
    }
}

static void test_valid_in_process(void)
{
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    int rc = load_in_process(NULL, 0, &cfg, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(cfg->mdm_enabled);
    CU_ASSERT_PTR_NULL(cfg->mdm_off_reason);
    CU_ASSERT_STRING_EQUAL(cfg->apns_topic, mdmfx_state.topic);
    CU_ASSERT_STRING_EQUAL(cfg->scep_challenge, MDMFX_CHALLENGE);
    CU_ASSERT_STRING_EQUAL(cfg->url, "https://mdm.example.com");
    CU_ASSERT_EQUAL(cfg->scep_challenge_ttl, 3600);
    CU_ASSERT_EQUAL(cfg->scep_signer_validity_days, 365);
    CU_ASSERT_EQUAL(cfg->scep_signer_allow_renewal_days, 14);
    CU_ASSERT_EQUAL(cfg->dep_sync_periodicity, 60);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->bm_token);
    CU_ASSERT_EQUAL(cfg->bm_token->expiry, mdmfx_state.token_expiry);
    CU_ASSERT_STRING_EQUAL(cfg->bm_token->access_secret, MDMFX_ACCESS_SECRET);
    orchard_mdm_config_free(cfg);

    /* Set values, a TLS pair and a trailing slash on the URL. */
    const char *const kv[] = {"server.address", "[::1]:9443", "server.url",
                              "https://mdm.example.com:8443/", "server.tls_cert", "fx:tls.crt",
                              "server.tls_key", "fx:tls.key", "mdm.apple_scep_challenge_ttl",
                              "1h30m", "mdm.apple_dep_sync_periodicity", "90s",
                              "mdm.apple_scep_signer_validity_days", "30", NULL};
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL_FATAL(load_in_process(kv, 0, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg->url, "https://mdm.example.com:8443");
    CU_ASSERT_PTR_NOT_NULL(cfg->tls_cert);
    CU_ASSERT_EQUAL(cfg->scep_challenge_ttl, 5400);
    CU_ASSERT_EQUAL(cfg->dep_sync_periodicity, 90);
    CU_ASSERT_EQUAL(cfg->scep_signer_validity_days, 30);
    orchard_mdm_config_free(cfg);
}

static void test_durations(void)
{
    CU_ASSERT_EQUAL(orchard_mdm_parse_duration("1h"), 3600);
    CU_ASSERT_EQUAL(orchard_mdm_parse_duration("30m"), 1800);
    CU_ASSERT_EQUAL(orchard_mdm_parse_duration("90s"), 90);
    CU_ASSERT_EQUAL(orchard_mdm_parse_duration("2h15m10s"), 8110);
    const char *bad[] = {"", "1", "h", "1d", "-1h", "1 h", "0m", "1h ", "99999999999999h"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        CU_ASSERT_EQUAL(orchard_mdm_parse_duration(bad[i]), -1);
}

static void test_bytes_variants(void)
{
    const char *const kv[] = {
        "mdm.apple_apns_cert", NULL, "mdm.apple_apns_cert_bytes", "pem:apns.crt",
        "mdm.apple_apns_key", NULL, "mdm.apple_apns_key_bytes", "pem:apns.key",
        "mdm.apple_scep_cert", NULL, "mdm.apple_scep_cert_bytes", "pem:scep.crt",
        "mdm.apple_scep_key", NULL, "mdm.apple_scep_key_bytes", "pem:scep.key",
        "mdm.apple_bm_cert", NULL, "mdm.apple_bm_cert_bytes", "pem:bm.crt",
        "mdm.apple_bm_key", NULL, "mdm.apple_bm_key_bytes", "pem:bm.key",
        "mdm.apple_bm_server_token", NULL, "mdm.apple_bm_server_token_bytes",
        "pem:token_lf.p7m", NULL};
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL, *out = NULL, *serr = NULL;
    CU_ASSERT_EQUAL_FATAL(load_in_process(kv, 0, &cfg, &err), 0);
    CU_ASSERT(cfg->mdm_enabled);
    CU_ASSERT_PTR_NOT_NULL(cfg->bm_token);
    orchard_mdm_config_free(cfg);

    CU_ASSERT_EQUAL(run_with(kv, NULL, CHECK, &out, &serr), 0);
    if (serr && *serr)
        fprintf(stderr, "\n  config check: %s\n", serr);
    CU_ASSERT(contains(out, "apple_apns_key_bytes: REDACTED"));
    CU_ASSERT(contains(out, "apple_scep_key_bytes: REDACTED"));
    CU_ASSERT(contains(out, "apple_bm_key_bytes: REDACTED"));
    CU_ASSERT(contains(out, "apple_bm_server_token_bytes: REDACTED"));
    CU_ASSERT(contains(out, "apple_apns_cert_bytes: (PEM, "));
    CU_ASSERT(!strstr(out, "BEGIN"));
}

static void test_env_overrides(void)
{
    const char *const no_challenge[] = {"mdm.apple_scep_challenge", NULL, NULL};
    const char *const env_challenge[] = {"ORCHARD_MDM_APPLE_SCEP_CHALLENGE=" MDMFX_CHALLENGE,
                                         "ORCHARD_STORE_SQLITE=/srv/orchard/env.db",
                                         "ORCHARD_SERVER_ADDRESS=0.0.0.0:9443", NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(no_challenge, NULL, CHECK, &out, &err), 1);
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(no_challenge, env_challenge, CHECK, &out, &err), 0);
    CU_ASSERT(contains(out, "apple_scep_challenge: REDACTED"));
    CU_ASSERT(contains(out, "sqlite: /srv/orchard/env.db"));
    CU_ASSERT(contains(out, "address: 0.0.0.0:9443"));

    g_autofree char *key_env = g_strdup_printf("ORCHARD_MDM_APPLE_APNS_KEY=%s/other.key",
                                               mdmfx_state.dir);
    const char *const env_key[] = {key_env, NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(NULL, env_key, CHECK, &out, &err), 1);
    CU_ASSERT(contains(err, "mdm.apple_apns_key does not match"));

    const char *const env_days[] = {"ORCHARD_MDM_APPLE_SCEP_SIGNER_VALIDITY_DAYS=abc", NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(NULL, env_days, CHECK, &out, &err), 1);
    CU_ASSERT(contains(err, "mdm.apple_scep_signer_validity_days must be a positive integer"));

    /* An empty override clears a key from the file. */
    const char *const env_clear[] = {"ORCHARD_MDM_APPLE_BM_SERVER_TOKEN=", NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(NULL, env_clear, CHECK, &out, &err), 1);
    CU_ASSERT(contains(err, "without mdm.apple_bm_server_token"));
}

static void test_config_check_output(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(NULL, NULL, CHECK, &out, &err), 0);
    CU_ASSERT(contains(out, "mdm:\n"));
    CU_ASSERT(contains(out, "  apple_scep_challenge: REDACTED\n"));
    CU_ASSERT(contains(out, "  address: 127.0.0.1:8080  # default\n"));
    CU_ASSERT(contains(out, "  apple_scep_signer_validity_days: 365  # default\n"));
    CU_ASSERT(contains(out, "MDM is on: APNs topic "));
    CU_ASSERT(contains(out, mdmfx_state.topic));
    CU_ASSERT(contains(out, "Apple Business Manager: token renew date "));
    CU_ASSERT(contains(out, "The configuration is valid."));
}

static void test_mdm_off(void)
{
    const char *const none[] = {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL,
                                "mdm.apple_scep_cert", NULL, "mdm.apple_scep_key", NULL, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(none, NULL, CHECK, &out, &err), 0);
    g_autofree char *all = g_strconcat(out, err, NULL);
    const char *first = strstr(all, "MDM is off");
    CU_ASSERT_PTR_NOT_NULL(first);
    CU_ASSERT(first && !strstr(first + 1, "MDM is off")); /* once */
    CU_ASSERT(contains(out, "orchard generate mdm-apple"));

    orchard_mdm_config *cfg = NULL;
    g_autofree char *msg = NULL;
    CU_ASSERT_EQUAL_FATAL(load_in_process(none, 0, &cfg, &msg), 0);
    CU_ASSERT(!cfg->mdm_enabled);
    CU_ASSERT(contains(cfg->mdm_off_reason, "MDM is off"));
    orchard_mdm_config_free(cfg);
}

static void test_usage_errors(void)
{
    const char *const bad_check[] = {"config", "check", "--bogus", NULL};
    const char *const bad_get[] = {"get", "mdm-apple", "--bogus", NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(NULL, NULL, bad_check, &out, &err), 2);
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(NULL, NULL, bad_get, &out, &err), 2);
    CU_ASSERT(contains(err, "usage: orchard get mdm-apple"));
}

/* --- get mdm-apple */

static gint64 cert_not_after(const char *name)
{
    g_autofree char *pem = mdmfx_read(name);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    struct tm tm = {0};
    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
    X509_free(x);
    BIO_free(bio);
    return (gint64)timegm(&tm);
}

static void test_get_mdm_apple(void)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *renew = mdmfx_renew_date(cert_not_after("apns.crt"));
    g_autofree char *expected = g_strdup_printf(
        "Common name (CN): APSP:%s\nSerial number: " MDMFX_SERIAL_DEC "\nIssuer: "
        MDMFX_ISSUER_CN "\nRenew date: %s\nTopic: %s\n", mdmfx_state.uuid, renew,
        mdmfx_state.topic);
    CU_ASSERT_EQUAL(run_with(NULL, NULL, GET_APNS, &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, expected);
    CU_ASSERT(!strstr(err, "WARNING") && !strstr(err, "ERROR"));
}

static void test_get_mdm_apple_json(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(NULL, NULL, GET_APNS_JSON, &out, &err), 0);
    json_t *o = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(json_is_object(o));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "serial_number")),
                           MDMFX_SERIAL_DEC);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "topic")), mdmfx_state.topic);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "issuer")), MDMFX_ISSUER_CN);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "status")), "ok");
    json_int_t days = json_integer_value(json_object_get(o, "days_left"));
    CU_ASSERT(days == 364 || days == 365);
    /* RFC 3339, the same instant as not_after (2026: it was Fleet's text). */
    g_autofree char *na = orchard_mdm_format_utc(cert_not_after("apns.crt"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "renew_date")), na);
    json_decref(o);
}

static void test_get_mdm_apple_warning(void)
{
    const char *const kv[] = {"mdm.apple_apns_cert", "fx:apns_soon.crt", NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(kv, NULL, GET_APNS, &out, &err), 0);
    CU_ASSERT(contains(out, "Renew date: "));
    CU_ASSERT(contains(err, "WARNING: Your Apple Push Notification service (APNs) certificate "
                            "expires in 9 days"));
    CU_ASSERT(contains(err, "MDM features will be turned off"));
}

static void test_get_mdm_apple_expired(void)
{
    const char *const kv[] = {"mdm.apple_apns_cert", "fx:apns_expired.crt", NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(kv, NULL, GET_APNS, &out, &err), 1);
    CU_ASSERT(contains(out, "Serial number: 4242\n"));
    CU_ASSERT(contains(err, "ERROR: Your Apple Push Notification service (APNs) certificate "
                            "expired on"));
    CU_ASSERT(contains(err, "MDM features are turned off"));
}

static void test_get_mdm_apple_not_configured(void)
{
    const char *const none[] = {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL,
                                "mdm.apple_scep_cert", NULL, "mdm.apple_scep_key", NULL, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(none, NULL, GET_APNS, &out, &err), 1);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT(contains(err, "MDM is not configured"));
    CU_ASSERT(contains(err, "un `orchard generate mdm-apple`"));
    /* A broken configuration is an error too, with its message. */
    const char *const broken[] = {"mdm.apple_scep_challenge", NULL, NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(broken, NULL, GET_APNS, &out, &err), 1);
    CU_ASSERT(contains(err, "mdm.apple_scep_challenge is required"));
}

/* --- get mdm-apple-bm */

static void test_get_mdm_apple_bm(void)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.token_expiry);
    g_autofree char *line = g_strdup_printf("Renew date: %s\n", renew);
    CU_ASSERT_EQUAL(run_with(NULL, NULL, GET_BM, &out, &err), 0);
    CU_ASSERT(contains(out, "MDM server URL: https://mdm.example.com/mdm/apple/mdm\n"));
    CU_ASSERT(contains(out, line));
    CU_ASSERT(contains(out, "not synced yet"));
    CU_ASSERT(!strstr(err, "WARNING") && !strstr(err, "ERROR"));

    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(NULL, NULL, GET_BM_JSON, &out, &err), 0);
    json_t *o = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(json_is_object(o));
    g_autofree char *at = orchard_mdm_format_utc(mdmfx_state.token_expiry);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "renew_date")), at);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "status")), "ok");
    json_decref(o);
}

static void test_get_mdm_apple_bm_states(void)
{
    const char *const soon[] = {"mdm.apple_bm_server_token", "fx:token_soon.p7m", NULL};
    const char *const expired[] = {"mdm.apple_bm_server_token", "fx:token_expired.p7m", NULL};
    const char *const none[] = {"mdm.apple_bm_server_token", NULL, "mdm.apple_bm_cert", NULL,
                                "mdm.apple_bm_key", NULL, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_with(soon, NULL, GET_BM, &out, &err), 0);
    CU_ASSERT(contains(err, "WARNING: Your Apple Business Manager (ABM) server token expires in 9 "
                            "days"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(expired, NULL, GET_BM, &out, &err), 1);
    CU_ASSERT(contains(out, "Renew date: "));
    CU_ASSERT(contains(err, "ERROR: Your Apple Business Manager (ABM) server token expired on"));
    CU_ASSERT(contains(err, "are turned off"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_with(none, NULL, GET_BM, &out, &err), 1);
    CU_ASSERT(contains(err, "`orchard generate mdm-apple-bm`"));
}

/* --- tables */

static json_t *query(const char *const *kv, const char *sql, int *rc, char **err)
{
    const char *const cmd[] = {"query", "--json", sql, NULL};
    g_autofree char *out = NULL;
    *rc = run_with(kv, NULL, cmd, &out, err);
    return out ? json_loads(out, 0, NULL) : NULL;
}

static void test_tables(void)
{
    int rc;
    g_autofree char *err = NULL;
    json_t *rows = query(NULL, "select * from apns_certificate", &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_FATAL(json_is_array(rows) && json_array_size(rows) == 1);
    json_t *r = json_array_get(rows, 0);
    g_autofree char *na = orchard_mdm_format_utc(cert_not_after("apns.crt"));
    g_autofree char *cn = g_strdup_printf("APSP:%s", mdmfx_state.uuid);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "common_name")), cn);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "serial_number")),
                           MDMFX_SERIAL_DEC);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "issuer")), MDMFX_ISSUER_CN);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "topic")), mdmfx_state.topic);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "not_after")), na);
    CU_ASSERT(json_is_integer(json_object_get(r, "days_left")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "status")), "ok");
    json_decref(rows);

    const char *const expired[] = {"mdm.apple_apns_cert", "fx:apns_expired.crt", NULL};
    g_free(err);
    rows = query(expired, "select status, days_left from apns_certificate", &rc, &err);
    CU_ASSERT_FATAL(json_is_array(rows) && json_array_size(rows) == 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(rows, 0), "status")),
                           "expired");
    CU_ASSERT(json_integer_value(json_object_get(json_array_get(rows, 0), "days_left")) < 0);
    json_decref(rows);

    g_autofree char *at = orchard_mdm_format_utc(mdmfx_state.token_expiry);
    g_free(err);
    rows = query(NULL, "select * from abm_token", &rc, &err);
    CU_ASSERT_FATAL(json_is_array(rows) && json_array_size(rows) == 1);
    r = json_array_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "expires_at")), at);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "status")), "ok");
    CU_ASSERT_EQUAL(json_object_size(r), 3);
    json_decref(rows);
}

static void test_tables_unconfigured_and_broken(void)
{
    const char *const none[] = {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL,
                                "mdm.apple_scep_cert", NULL, "mdm.apple_scep_key", NULL,
                                "mdm.apple_bm_server_token", NULL, "mdm.apple_bm_cert", NULL,
                                "mdm.apple_bm_key", NULL, NULL};
    int rc;
    g_autofree char *err = NULL;
    json_t *rows = query(none, "select * from apns_certificate", &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(json_is_array(rows) && json_array_size(rows) == 0);
    json_decref(rows);
    g_free(err);
    rows = query(none, "select * from abm_token", &rc, &err);
    CU_ASSERT(json_is_array(rows) && json_array_size(rows) == 0);
    json_decref(rows);

    const char *const broken[] = {"mdm.apple_bm_server_token", "fx:token_other.p7m", NULL};
    g_free(err);
    rows = query(broken, "select * from apns_certificate", &rc, &err);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT(contains(err, "mdm.apple_bm_server_token does not decrypt with mdm.apple_bm_key"));
    json_decref(rows);
}

/* One load per settings generation: the tables' queries share it and never
 * re-read the PEM files (2026: each query re-read every file). */
static void test_cached_per_generation(void)
{
    g_autofree char *text = mdmfx_read("apns.crt");
    g_autofree char *copy = mdmfx_path("cached-apns.crt");
    CU_ASSERT_FATAL(g_file_set_contents(copy, text, -1, NULL));
    const char *const kv[] = {"mdm.apple_apns_cert", copy, NULL};
    orchard_mdm_config *a = NULL, *b = NULL, *c = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(load_in_process(kv, 0, &a, &err), 0);
    g_unlink(copy); /* the cached load does not read it again */
    CU_ASSERT_EQUAL(orchard_mdm_config_load(orchard_host_api_get(), &b, &err), 0);
    CU_ASSERT_PTR_EQUAL(a, b);
    /* A new generation (any setting changed) loads again: the file is gone. */
    orchard_config_set(orchard_config_global(), "org_info.org_name", "Other");
    CU_ASSERT_EQUAL(orchard_mdm_config_load(orchard_host_api_get(), &c, &err), ORCHARD_ENOTFOUND);
    CU_ASSERT(err && strstr(err, "cached-apns.crt"));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_STRING_EQUAL(a->org_name, "orchard"); /* held references stay valid */
    orchard_mdm_config_free(a);
    orchard_mdm_config_free(b);
    orchard_config_set(orchard_config_global(), "org_info.org_name", NULL);
    mdmfx_apply_config(NULL);
}

static void test_no_secret_in_any_output(void) { CU_ASSERT_EQUAL(mdmfx_leaks(), 0); }

void server_config_suite(void)
{
    ORCHARD_ADD_SUITE("server_config", suite_init, suite_cleanup,
                      {"invalid_in_process", test_invalid_in_process},
                      {"invalid_through_binary", test_invalid_through_binary},
                      {"valid_in_process", test_valid_in_process},
                      {"durations", test_durations},
                      {"bytes_variants", test_bytes_variants},
                      {"env_overrides", test_env_overrides},
                      {"config_check_output", test_config_check_output},
                      {"mdm_off", test_mdm_off},
                      {"usage_errors", test_usage_errors},
                      {"get_mdm_apple", test_get_mdm_apple},
                      {"get_mdm_apple_json", test_get_mdm_apple_json},
                      {"get_mdm_apple_warning", test_get_mdm_apple_warning},
                      {"get_mdm_apple_expired", test_get_mdm_apple_expired},
                      {"get_mdm_apple_not_configured", test_get_mdm_apple_not_configured},
                      {"get_mdm_apple_bm", test_get_mdm_apple_bm},
                      {"get_mdm_apple_bm_states", test_get_mdm_apple_bm_states},
                      {"tables", test_tables},
                      {"tables_unconfigured_and_broken", test_tables_unconfigured_and_broken},
                      {"cached_per_generation", test_cached_per_generation},
                      {"no_secret_in_any_output", test_no_secret_in_any_output});
}

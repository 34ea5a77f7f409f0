/* The MDM settings fingerprint (mdm_fingerprint.h): digests of what the
 * loaded configuration holds, so two instances compare their certificates,
 * keys, challenge and behaviour settings without either showing a secret;
 * and the instances' comparison as `get mdm-apple` and the API show it. */
#include "server_plugin/config/mdm_fingerprint.h"

#include "server_plugin/dep/dep_client.h"
#include "server_plugin/server.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define APNS_URL_DEFAULT "https://api.push.apple.com"
#define APNS_EXPIRATION_DEFAULT "168h"

static void hex_of(const unsigned char *md, unsigned len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * len] = '\0';
}

/* SHA-256 of the parts, each followed by a NUL so ("ab","c") != ("a","bc"). */
static int digest(const void *const *parts, const size_t *lens, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);

    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i], lens[i]) && (n == 1 || EVP_DigestUpdate(c, "", 1));
    ok = ok && EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    if (!ok)
        return ORCHARD_ENOMEM;
    hex_of(md, len, out);
    return 0;
}

/* key: the digest of `len` bytes of DER that i2d_* made (freed here). */
static int add_der(json_t *o, const char *key, unsigned char *der, int len)
{
    char hex[65];
    if (len <= 0)
        return ORCHARD_ENOMEM;
    const void *parts[] = {der};
    const size_t lens[] = {(size_t)len};
    int rc = digest(parts, lens, 1, hex);
    OPENSSL_free(der);
    return rc ? rc : json_object_set_new(o, key, json_string(hex)) ? ORCHARD_ENOMEM : 0;
}

/* The DER digest of a certificate: what `openssl x509 -fingerprint -sha256` shows. */
static int add_cert(json_t *o, const char *key, X509 *cert)
{
    unsigned char *der = NULL;
    if (!cert)
        return 0;
    int len = i2d_X509(cert, &der); /* sets der: call it before add_der reads der */
    return add_der(o, key, der, len);
}

/* A private key by its public half: the digest says which key, and
 * nothing about the secret half. */
static int add_key(json_t *o, const char *key, EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    if (!pkey)
        return 0;
    int len = i2d_PUBKEY(pkey, &der);
    return add_der(o, key, der, len);
}

/* A value, salted with its key's name: equal values of two keys do not
 * show as equal digests. */
static int add_value(json_t *o, const char *key, const char *value)
{
    char hex[65];

    if (!value)
        return 0;
    const void *parts[] = {key, value};
    const size_t lens[] = {strlen(key), strlen(value)};
    int rc = digest(parts, lens, 2, hex);
    return rc ? rc : json_object_set_new(o, key, json_string(hex)) ? ORCHARD_ENOMEM : 0;
}

static int add_number(json_t *o, const char *key, gint64 value)
{
    char text[32];
    g_snprintf(text, sizeof text, "%" G_GINT64_FORMAT, value);
    return add_value(o, key, text);
}

/* The ABM token's content: its four credentials and expiry, digested together. */
static int add_token(json_t *o, const orchard_abm_token *t)
{
    char hex[65];

    if (!t)
        return 0;
    const char *f[] = {t->consumer_key, t->consumer_secret, t->access_token, t->access_secret,
                       t->access_token_expiry};
    const void *parts[G_N_ELEMENTS(f)];
    size_t lens[G_N_ELEMENTS(f)];
    for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
        parts[i] = f[i] ? f[i] : "";
        lens[i] = f[i] ? strlen(f[i]) : 0;
    }
    int rc = digest(parts, lens, G_N_ELEMENTS(f), hex);
    return rc ? rc
              : json_object_set_new(o, "mdm.apple_bm_server_token", json_string(hex))
                    ? ORCHARD_ENOMEM
                    : 0;
}

static const char *config_or(const orchard_host_api *host, const char *key, const char *dflt)
{
    const char *v = host && host->config_get ? host->config_get(key) : NULL;
    return v && *v ? v : dflt;
}

/* A duration as seconds when it reads as one ("168h" and "7d"... agree by value). */
static int add_duration(json_t *o, const orchard_host_api *host, const char *key,
                        const char *dflt)
{
    const char *text = config_or(host, key, dflt);
    gint64 s = orchard_mdm_parse_duration(text);
    return s > 0 ? add_number(o, key, s) : add_value(o, key, text);
}

char *orchard_mdm_fingerprint(const orchard_host_api *host, const orchard_mdm_config *cfg)
{
    json_t *o = json_object();
    char *text = NULL, *out = NULL;
    int rc = o ? 0 : ORCHARD_ENOMEM;

    if (rc == 0 && (rc = add_cert(o, "mdm.apple_apns_cert", cfg->apns_cert)) == 0 &&
        (rc = add_key(o, "mdm.apple_apns_key", cfg->apns_key)) == 0 &&
        (rc = add_value(o, "mdm.apple_apns_topic", cfg->apns_topic)) == 0 &&
        (rc = add_cert(o, "mdm.apple_scep_cert", cfg->scep_cert)) == 0 &&
        (rc = add_key(o, "mdm.apple_scep_key", cfg->scep_key)) == 0 &&
        (rc = add_value(o, "mdm.apple_scep_challenge", cfg->scep_challenge)) == 0 &&
        (rc = add_cert(o, "mdm.apple_bm_cert", cfg->bm_cert)) == 0 &&
        (rc = add_key(o, "mdm.apple_bm_key", cfg->bm_key)) == 0 &&
        (rc = add_token(o, cfg->bm_token)) == 0 &&
        (rc = add_cert(o, "server.profile_signing_cert", cfg->profile_signing_cert)) == 0 &&
        (rc = add_value(o, "server.url", cfg->url)) == 0 &&
        (rc = add_value(o, "org_info.org_name", cfg->org_name)) == 0 &&
        (rc = add_number(o, "mdm.apple_scep_challenge_ttl", cfg->scep_challenge_ttl)) == 0 &&
        (rc = add_number(o, "mdm.apple_scep_signer_validity_days",
                         cfg->scep_signer_validity_days)) == 0 &&
        (rc = add_number(o, "mdm.apple_scep_signer_allow_renewal_days",
                         cfg->scep_signer_allow_renewal_days)) == 0 &&
        (rc = add_number(o, "mdm.apple_dep_sync_periodicity", cfg->dep_sync_periodicity)) == 0 &&
        (rc = add_value(o, "mdm.apple_apns_url",
                        config_or(host, "mdm.apple_apns_url", APNS_URL_DEFAULT))) == 0 &&
        /* Every instance must sync with the same Apple service. */
        (rc = add_value(o, "mdm.apple_dep_url",
                        config_or(host, "mdm.apple_dep_url", ORCHARD_DEP_DEFAULT_URL))) == 0)
        rc = add_duration(o, host, "mdm.apple_apns_push_expiration", APNS_EXPIRATION_DEFAULT);
    if (rc == 0 && (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)))
        out = g_strdup(text);
    free(text);
    json_decref(o);
    return out;
}

int orchard_mdm_allow_mixed(const orchard_host_api *host)
{
    int on = 0;

    if (host && ORCHARD_HAS_FIELD(host, orchard_host_api, setting_bool) && host->setting_bool &&
        host->setting_bool(NULL, ORCHARD_MDM_ALLOW_MIXED_KEY, &on) == 0)
        return on != 0;
    /* A host that did not declare the key (tests without the plugin's settings). */
    const char *v = config_or(host, ORCHARD_MDM_ALLOW_MIXED_KEY, "false");
    return g_ascii_strcasecmp(v, "true") == 0 || g_ascii_strcasecmp(v, "yes") == 0 ||
           g_ascii_strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0;
}

static int has_instances(const orchard_host_api *h)
{
    return h && ORCHARD_HAS_FIELD(h, orchard_host_api, instances_view) && h->instance_settings &&
           h->instances_view;
}

int orchard_mdm_fingerprint_publish(orchard_ctx *ctx, const orchard_mdm_config *cfg)
{
    const orchard_host_api *h = orchard_server_host;

    if (!has_instances(h))
        return ORCHARD_EABI;
    g_autofree char *fp = orchard_mdm_fingerprint(h, cfg);
    if (!fp)
        return ORCHARD_ENOMEM;
    return h->instance_settings(ctx, ORCHARD_MDM_GATE, fp,
                                orchard_mdm_allow_mixed(h) ? ORCHARD_INSTANCE_ALLOW_MIXED : 0);
}

json_t *orchard_mdm_instances_json(orchard_ctx *ctx, const char *fingerprint)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_instances_view v = {.abi_version = ORCHARD_ABI_VERSION, .struct_size = sizeof v};

    if (!has_instances(h) || h->instances_view(ctx, ORCHARD_MDM_GATE, fingerprint, &v) != 0)
        return NULL;
    json_t *keys = json_array();
    g_auto(GStrv) parts = v.differing_keys[0] ? g_strsplit(v.differing_keys, ",", -1) : NULL;
    for (size_t i = 0; parts && parts[i]; i++)
        json_array_append_new(keys, json_string(parts[i]));
    return json_pack("{s:I, s:b, s:o, s:s}", "count", (json_int_t)v.live, "settings_agree",
                     v.agree, "differing_keys", keys, "reference", v.reference_id);
}

char *orchard_mdm_instances_line(json_t *instances)
{
    json_int_t n = json_integer_value(json_object_get(instances, "count"));
    const char *ref = json_string_value(json_object_get(instances, "reference"));
    json_t *keys = json_object_get(instances, "differing_keys");
    GString *s = g_string_new(NULL);
    size_t i;
    json_t *k;

    g_string_printf(s, "Instances: %" JSON_INTEGER_FORMAT " live, ", n);
    if (json_is_true(json_object_get(instances, "settings_agree"))) {
        g_string_append(s, "MDM settings agree");
        return g_string_free(s, FALSE);
    }
    g_string_append_printf(s, "MDM settings differ from %s in: ", ref && *ref ? ref : "the "
                           "reference instance");
    json_array_foreach(keys, i, k) {
        const char *key = json_string_value(k);
        g_string_append_printf(s, "%s%s", i ? ", " : "", key ? key : "?");
    }
    return g_string_free(s, FALSE);
}

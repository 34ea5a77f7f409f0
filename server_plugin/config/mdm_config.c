/* Loading and checking the server plugin's configuration (see mdm_config.h).
 * Keys are read in the order of the documented layout, so the first broken
 * item is reported; each message names the key as it is spelled in YAML. */
#include "server_plugin/config/mdm_config.h"

#include "server_plugin/crypto/x509_util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOPIC_PREFIX "com.apple.mgmt"
#define DEFAULT_ORG_NAME "orchard"
/* The profile asks devices for CN "<org> Identity", and X.520 caps a CN at
 * 64 characters: a longer name gets CSRs that strict parsers refuse. */
#define ORG_NAME_MAX_CHARS 55


/* One load: the host to read from and where the first error goes. */
typedef struct {
    const orchard_host_api *host;
    char **error_msg;
    char name[64]; /* set_name()'s answer */
} loader;

/* A value, with "" treated as unset (an empty env override clears a key). */
static const char *get(const loader *l, const char *key)
{
    const char *v = l->host->config_get(key);
    return v && *v ? v : NULL;
}

static int fail(const loader *l, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(const loader *l, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *l->error_msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return code;
}

/* --- scalar values */

static int check_store(const loader *l, orchard_mdm_config *cfg)
{
    const char *sqlite = get(l, "store.sqlite");
    const char *postgres = get(l, "store.postgres");
    if (sqlite && postgres)
        return fail(l, ORCHARD_EINVAL, "store.sqlite and store.postgres are both set: keep "
                    "exactly one (SQLite for one machine, PostgreSQL for several instances)");
    if (sqlite)
        cfg->store = g_strdup(sqlite);
    else if (postgres)
        cfg->store = g_strdup("the PostgreSQL database of store.postgres");
    return 0;
}

static int check_url(const loader *l, orchard_mdm_config *cfg)
{
    const char *v = get(l, "server.url");
    if (!v)
        return 0;
    GUri *uri = g_uri_parse(v, G_URI_FLAGS_NONE, NULL);
    int ok = uri && g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") == 0 &&
             g_uri_get_host(uri) && *g_uri_get_host(uri) && !g_uri_get_userinfo(uri) &&
             !g_uri_get_query(uri) && !g_uri_get_fragment(uri) && !strpbrk(v, " \t\r\n");
    if (uri)
        g_uri_unref(uri);
    if (!ok)
        return fail(l, ORCHARD_EINVAL,
                    "server.url must be an https URL such as https://mdm.example.com, "
                    "got \"%.200s\"", v);
    /* Paths are appended to it ("/mdm/apple/mdm"): no trailing slash. */
    cfg->url = g_strdup(v);
    while (g_str_has_suffix(cfg->url, "/"))
        cfg->url[strlen(cfg->url) - 1] = '\0';
    return 0;
}

gint64 orchard_mdm_parse_duration(const char *text)
{
    gint64 total = 0;
    const char *p = text;
    if (!p || !*p)
        return -1;
    while (*p) {
        gint64 n = 0;
        const char *start = p;
        while (g_ascii_isdigit(*p) && n < G_GINT64_CONSTANT(1000000000))
            n = n * 10 + (*p++ - '0');
        if (p == start || g_ascii_isdigit(*p))
            return -1;
        switch (*p++) {
        case 'h': n *= 3600; break;
        case 'm': n *= 60; break;
        case 's': break;
        default: return -1;
        }
        total += n;
    }
    return total > 0 ? total : -1;
}

static int check_duration(const loader *l, const char *key, const char *dflt, gint64 *out)
{
    const char *v = get(l, key);
    *out = orchard_mdm_parse_duration(v ? v : dflt);
    if (*out > 0)
        return 0;
    return fail(l, ORCHARD_EINVAL,
                "%s must be a duration such as 1h, 30m or 90s, got \"%.64s\"", key, v);
}

static int check_count(const loader *l, const char *key, long dflt, long *out)
{
    const char *v = get(l, key);
    *out = dflt;
    if (!v)
        return 0;
    size_t n = strlen(v);
    if (n == 0 || n > 9 || strspn(v, "0123456789") != n || (*out = atol(v)) <= 0)
        return fail(l, ORCHARD_EINVAL, "%s must be a positive integer, got \"%.64s\"", key, v);
    return 0;
}

/* The organization name goes into enrollment profiles and certificate
 * subjects: refuse what would break either (control characters can't be
 * written in XML 1.0; see enroll/profile.c) rather than serve a bad profile. */
static int check_org_name(const loader *l, orchard_mdm_config *cfg)
{
    const char *v = get(l, "org_info.org_name");
    const char *why = NULL;
    if (!v) {
        cfg->org_name = g_strdup(DEFAULT_ORG_NAME);
        return 0;
    }
    if (!g_utf8_validate(v, -1, NULL))
        why = "is not UTF-8";
    for (const char *p = v; !why && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            why = "holds a control character (tab, newline, ...)";
    if (!why && g_utf8_strlen(v, -1) > ORG_NAME_MAX_CHARS)
        why = "is longer than 55 characters (devices get the certificate subject "
              "CN \"<name> Identity\", at most 64)";
    if (!why) {
        g_autofree char *trimmed = g_strstrip(g_strdup(v));
        if (!*trimmed)
            why = "is blank";
    }
    if (why)
        return fail(l, ORCHARD_EINVAL, "org_info.org_name %s", why);
    cfg->org_name = g_strdup(v);
    return 0;
}

/* --- certificate and key pairs */

/* Can `path` be opened? An unreadable file says why ("Permission denied",
 * "Not a directory"), not only that it could not be read. */
static int readable(const loader *l, const char *key, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    int e = errno;
    return fail(l, e == ENOENT ? ORCHARD_ENOTFOUND : ORCHARD_EIO, "%s: %s: %s", key, path,
                g_strerror(e));
}

/* Which of `key` / `key`_bytes is set: the value, and the name it is set
 * under in *used; exclusive. */
static int path_or_bytes(const loader *l, const char *key, int has_bytes, const char **path,
                         const char **bytes, const char **used, char *bytes_key, size_t cap)
{
    g_snprintf(bytes_key, cap, "%s_bytes", key);
    *path = get(l, key);
    *bytes = has_bytes ? get(l, bytes_key) : NULL;
    if (*path && *bytes)
        return fail(l, ORCHARD_EINVAL, "%s and %s are both set: use one or the other", key,
                    bytes_key);
    *used = *bytes ? bytes_key : key;
    return 0;
}

/* A certificate and its key: both or neither, loadable, and matching. */
static int load_pair(const loader *l, const char *cert_key, const char *key_key, int has_bytes,
                     X509 **cert, EVP_PKEY **key)
{
    char cert_bytes_key[64], key_bytes_key[64];
    const char *cp, *cb, *cused, *kp, *kb, *kused;
    int rc;

    if ((rc = path_or_bytes(l, cert_key, has_bytes, &cp, &cb, &cused, cert_bytes_key,
                            sizeof cert_bytes_key)) ||
        (rc = path_or_bytes(l, key_key, has_bytes, &kp, &kb, &kused, key_bytes_key,
                            sizeof key_bytes_key)))
        return rc;
    if (!cp && !cb && !kp && !kb)
        return 0;
    if (!kp && !kb)
        return fail(l, ORCHARD_EINVAL, "%s is set without %s: set both or neither", cused,
                    key_key);
    if (!cp && !cb)
        return fail(l, ORCHARD_EINVAL, "%s is set without %s: set both or neither", kused,
                    cert_key);
    if ((cp && (rc = readable(l, cused, cp))) || (kp && (rc = readable(l, kused, kp))) ||
        (rc = orchard_x509_load_cert(cp, cb, cused, cert, l->error_msg)) ||
        (rc = orchard_x509_load_key(kp, kb, kused, key, l->error_msg)))
        return rc;
    if (!orchard_x509_key_matches(*cert, *key))
        return fail(l, ORCHARD_EINVAL, "%s does not match the certificate in %s", kused, cused);
    return 0;
}

/* The name `key` is set under, `key` or `key`_bytes (for messages; one
 * answer at a time). */
static const char *set_name(loader *l, const char *key)
{
    if (get(l, key))
        return key;
    g_snprintf(l->name, sizeof l->name, "%s_bytes", key);
    return get(l, l->name) ? l->name : key;
}

static int check_apns_scep(loader *l, orchard_mdm_config *cfg)
{
    int rc;
    if ((rc = load_pair(l, "mdm.apple_apns_cert", "mdm.apple_apns_key", 1, &cfg->apns_cert,
                        &cfg->apns_key)))
        return rc;
    if (cfg->apns_cert) {
        const char *name = set_name(l, "mdm.apple_apns_cert");
        cfg->apns_topic = orchard_x509_topic(cfg->apns_cert);
        if (!cfg->apns_topic)
            return fail(l, ORCHARD_EINVAL,
                        "%s has no APNs topic (subject UID, OID 0.9.2342.19200300.100.1.1): "
                        "is it the MDM push certificate from Apple?", name);
        if (!g_str_has_prefix(cfg->apns_topic, TOPIC_PREFIX))
            return fail(l, ORCHARD_EINVAL,
                        "%s: APNs topic \"%.200s\" does not start with " TOPIC_PREFIX
                        ": is it the MDM push certificate from Apple?", name, cfg->apns_topic);
    }
    if ((rc = load_pair(l, "mdm.apple_scep_cert", "mdm.apple_scep_key", 1, &cfg->scep_cert,
                        &cfg->scep_key)))
        return rc;
    if (cfg->apns_cert && !cfg->scep_cert)
        return fail(l, ORCHARD_EINVAL,
                    "%s is set without mdm.apple_scep_cert: APNs and SCEP are configured "
                    "together (`orchard generate mdm-apple` makes the SCEP CA)",
                    set_name(l, "mdm.apple_apns_cert"));
    if (cfg->scep_cert && !cfg->apns_cert)
        return fail(l, ORCHARD_EINVAL,
                    "%s is set without mdm.apple_apns_cert: APNs and SCEP are configured "
                    "together (get the APNs certificate from Apple first)",
                    set_name(l, "mdm.apple_scep_cert"));
    if (cfg->scep_cert) {
        const char *challenge = get(l, "mdm.apple_scep_challenge");
        if (!challenge)
            return fail(l, ORCHARD_EINVAL,
                        "mdm.apple_scep_challenge is required when SCEP is configured (%s): "
                        "devices present it to get their identity certificate",
                        set_name(l, "mdm.apple_scep_cert"));
        cfg->scep_challenge = g_strdup(challenge);
    }
    cfg->mdm_enabled = cfg->apns_cert && cfg->scep_cert;
    if (!cfg->mdm_enabled) {
        cfg->mdm_off_reason = g_strdup(
            "MDM is off: mdm.apple_apns_cert and mdm.apple_scep_cert are not set "
            "(run `orchard generate mdm-apple`, then get the APNs certificate from Apple)");
    } else if (orchard_x509_not_after(cfg->apns_cert) <= g_get_real_time() / G_USEC_PER_SEC) {
        /* Apple refuses pushes with it: devices would never hear from us. */
        g_autofree char *date = orchard_format_renew_date(orchard_x509_not_after(cfg->apns_cert));
        cfg->mdm_enabled = 0;
        cfg->mdm_off_reason = g_strdup_printf(
            "MDM is off: the APNs certificate (%s) expired on %s; renew it in the Apple Push "
            "Certificates Portal with the same Apple ID (`orchard get mdm-apple` shows it)",
            set_name(l, "mdm.apple_apns_cert"), date);
    }
    return 0;
}

/* --- Apple Business Manager */

static int read_token(const loader *l, const char *path, char **data, gsize *len)
{
    GStatBuf sb;
    g_autoptr(GError) err = NULL;
    int rc = readable(l, "mdm.apple_bm_server_token", path);
    if (rc)
        return rc;
    if (g_stat(path, &sb) != 0)
        return fail(l, errno == ENOENT ? ORCHARD_ENOTFOUND : ORCHARD_EIO,
                    "mdm.apple_bm_server_token: %s: %s", path, g_strerror(errno));
    if (!S_ISREG(sb.st_mode) || sb.st_size > (goffset)ORCHARD_ABM_TOKEN_MAX_BYTES)
        return fail(l, S_ISREG(sb.st_mode) ? ORCHARD_ETOOBIG : ORCHARD_EINVAL,
                    "mdm.apple_bm_server_token: %s: %s", path,
                    S_ISREG(sb.st_mode) ? "too large for an ABM token" : "not a file");
    if (!g_file_get_contents(path, data, len, &err))
        return fail(l, ORCHARD_EIO, "mdm.apple_bm_server_token: %s", err->message);
    return 0;
}

static int check_bm(loader *l, orchard_mdm_config *cfg, unsigned flags)
{
    char bytes_key[64];
    const char *tp, *tb, *tused;
    char *data = NULL;
    gsize len = 0;
    int rc;

    if ((rc = load_pair(l, "mdm.apple_bm_cert", "mdm.apple_bm_key", 1, &cfg->bm_cert,
                        &cfg->bm_key)) ||
        (rc = path_or_bytes(l, "mdm.apple_bm_server_token", 1, &tp, &tb, &tused, bytes_key,
                            sizeof bytes_key)))
        return rc;
    if ((tp || tb) && !cfg->bm_cert)
        return fail(l, ORCHARD_EINVAL,
                    "%s is set without mdm.apple_bm_cert and mdm.apple_bm_key: the token "
                    "opens only with the ABM key pair (`orchard generate mdm-apple-bm`)", tused);
    if (!tp && !tb) {
        if (cfg->bm_cert)
            return fail(l, ORCHARD_EINVAL,
                        "mdm.apple_bm_cert and mdm.apple_bm_key are set without "
                        "mdm.apple_bm_server_token: download the token from Apple Business "
                        "Manager (upload the public key first)");
        return 0;
    }
    if (tp && (rc = read_token(l, tp, &data, &len)))
        return rc;
    rc = orchard_abm_token_decrypt(tp ? data : tb, tp ? len : strlen(tb), cfg->bm_cert,
                                   cfg->bm_key, tused, set_name(l, "mdm.apple_bm_key"),
                                   &cfg->bm_token, l->error_msg);
    if (data) {
        OPENSSL_cleanse(data, len);
        g_free(data);
    }
    if (rc)
        return rc;
    if (cfg->bm_token->expiry <= g_get_real_time() / G_USEC_PER_SEC &&
        !(flags & ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN)) {
        g_autofree char *date = orchard_format_renew_date(cfg->bm_token->expiry);
        return fail(l, ORCHARD_EINVAL,
                    "%s expired on %s: download a new token from Apple Business Manager "
                    "(Preferences > your MDM server > Download Token)", tused, date);
    }
    return 0;
}

/* --- the whole configuration */

static int load_fresh(const orchard_host_api *host, unsigned flags, orchard_mdm_config **out,
                      char **error_msg)
{
    loader l = {host, error_msg, {0}};
    orchard_mdm_config *cfg = g_new0(orchard_mdm_config, 1);
    int rc;

    cfg->refs = 1;
    *out = NULL;
    /* server.address and the TLS files belong to the host's HTTP service,
     * which parses them (host/http/http_settings.c); the TLS pair is read
     * here only to check, with OpenSSL, which the host doesn't link, that
     * the key matches its certificate before serve hands both over. */
    if ((rc = check_url(&l, cfg)) ||
        (rc = load_pair(&l, "server.tls_cert", "server.tls_key", 0, &cfg->tls_cert,
                        &cfg->tls_key)) ||
        (rc = load_pair(&l, "server.profile_signing_cert", "server.profile_signing_key", 0,
                        &cfg->profile_signing_cert, &cfg->profile_signing_key)))
        goto fail;
    if ((rc = check_store(&l, cfg)))
        goto fail;
    if ((rc = check_apns_scep(&l, cfg)) ||
        (rc = check_duration(&l, "mdm.apple_scep_challenge_ttl", "1h",
                             &cfg->scep_challenge_ttl)) ||
        (rc = check_count(&l, "mdm.apple_scep_signer_validity_days", 365,
                          &cfg->scep_signer_validity_days)) ||
        (rc = check_count(&l, "mdm.apple_scep_signer_allow_renewal_days", 14,
                          &cfg->scep_signer_allow_renewal_days)) ||
        (rc = check_bm(&l, cfg, flags)) ||
        (rc = check_duration(&l, "mdm.apple_dep_sync_periodicity", "1m",
                             &cfg->dep_sync_periodicity)) ||
        (rc = check_org_name(&l, cfg)))
        goto fail;
    *out = cfg;
    return 0;
fail:
    orchard_mdm_config_free(cfg);
    return rc;
}

/* --- the cache: one configuration per flags value, kept until the
 * settings generation moves. Each caller gets a reference. */

static GMutex cache_lock;
static struct {
    const orchard_host_api *host;
    uint64_t generation;
    orchard_mdm_config *cfg;
} cache[2];

/* This host's settings_generation ignores its context, and the loader has
 * none to give; 0 (no caching) before ABI 1.2. */
static uint64_t generation_of(const orchard_host_api *host)
{
    if (ORCHARD_HOST_MINOR(host) < 2 || !host->settings_generation)
        return 0;
    return host->settings_generation(NULL);
}

int orchard_mdm_config_load_ex(const orchard_host_api *host, unsigned flags,
                               orchard_mdm_config **out, char **error_msg)
{
    size_t slot = (flags & ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN) ? 1 : 0;
    uint64_t gen = generation_of(host);
    g_mutex_lock(&cache_lock);
    if (gen && cache[slot].cfg && cache[slot].host == host && cache[slot].generation == gen) {
        *out = cache[slot].cfg;
        g_atomic_int_inc(&(*out)->refs);
        g_mutex_unlock(&cache_lock);
        return 0;
    }
    g_mutex_unlock(&cache_lock);
    int rc = load_fresh(host, flags, out, error_msg);
    if (rc || !gen)
        return rc;
    g_mutex_lock(&cache_lock);
    orchard_mdm_config *old = cache[slot].cfg;
    cache[slot].host = host;
    cache[slot].generation = gen;
    cache[slot].cfg = *out;
    g_atomic_int_inc(&(*out)->refs);
    g_mutex_unlock(&cache_lock);
    orchard_mdm_config_free(old);
    return 0;
}

int orchard_mdm_config_load(const orchard_host_api *host, orchard_mdm_config **out,
                            char **error_msg)
{
    return orchard_mdm_config_load_ex(host, 0, out, error_msg);
}

void orchard_mdm_config_cache_clear(void)
{
    orchard_mdm_config *old[G_N_ELEMENTS(cache)];
    g_mutex_lock(&cache_lock);
    for (size_t i = 0; i < G_N_ELEMENTS(cache); i++) {
        old[i] = cache[i].cfg;
        cache[i].cfg = NULL;
        cache[i].host = NULL;
    }
    g_mutex_unlock(&cache_lock);
    for (size_t i = 0; i < G_N_ELEMENTS(cache); i++)
        orchard_mdm_config_free(old[i]);
}

void orchard_mdm_config_free(orchard_mdm_config *cfg)
{
    if (!cfg)
        return;
    /* One made by hand (g_new0, as tests do) holds its one reference too. */
    g_atomic_int_compare_and_exchange(&cfg->refs, 0, 1);
    if (!g_atomic_int_dec_and_test(&cfg->refs))
        return;
    g_free(cfg->url);
    X509_free(cfg->tls_cert);
    EVP_PKEY_free(cfg->tls_key);
    X509_free(cfg->profile_signing_cert);
    EVP_PKEY_free(cfg->profile_signing_key);
    g_free(cfg->store);
    X509_free(cfg->apns_cert);
    EVP_PKEY_free(cfg->apns_key);
    g_free(cfg->apns_topic);
    X509_free(cfg->scep_cert);
    EVP_PKEY_free(cfg->scep_key);
    if (cfg->scep_challenge) {
        OPENSSL_cleanse(cfg->scep_challenge, strlen(cfg->scep_challenge));
        g_free(cfg->scep_challenge);
    }
    X509_free(cfg->bm_cert);
    EVP_PKEY_free(cfg->bm_key);
    orchard_abm_token_free(cfg->bm_token);
    g_free(cfg->mdm_off_reason);
    g_free(cfg->org_name);
    g_free(cfg);
}

const char *orchard_mdm_expiry_status(gint64 not_after, gint64 now, gint64 *days_left)
{
    gint64 secs = not_after - now;
    /* Floor, so a certificate that ran out an hour ago has -1 days left. */
    *days_left = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    if (secs <= 0)
        return "expired";
    return *days_left < ORCHARD_MDM_EXPIRY_WARN_DAYS ? "expiring" : "ok";
}

char *orchard_mdm_format_utc(gint64 unix_seconds)
{
    GDateTime *dt = g_date_time_new_from_unix_utc(unix_seconds);
    if (!dt)
        return g_strdup("");
    char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(dt);
    return s;
}

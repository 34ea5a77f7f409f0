/* OAuth 1.0a HMAC-SHA1 signing for the DEP session (dep_oauth.h): the
 * encoding, base string and signature OAuth Core 1.0a §9 and RFC 5849 §3.4
 * define, and the Authorization header Apple's GET /session reads. */
#include "server_plugin/dep/dep_oauth.h"

#include <orchard/plugin.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define METHOD_MAX 16
/* A query has a handful of parameters; thousands is not one we make. */
#define QUERY_PARAMS_MAX 256

static int unreserved(unsigned char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

char *orchard_oauth_encode(const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (len > ORCHARD_OAUTH_INPUT_MAX || (!s && len))
        return NULL;
    GString *out = g_string_sized_new(len * 3 + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            g_string_append_c(out, (char)c);
        } else {
            g_string_append_c(out, '%');
            g_string_append_c(out, hex[c >> 4]);
            g_string_append_c(out, hex[c & 15]);
        }
    }
    return g_string_free(out, FALSE);
}

/* enc() of a NUL-terminated string (NULL is empty). */
static char *enc(const char *s)
{
    return orchard_oauth_encode(s ? s : "", s ? strlen(s) : 0);
}

int orchard_oauth_base_uri(const char *url, char **out)
{
    *out = NULL;
    if (!url || strlen(url) > ORCHARD_OAUTH_INPUT_MAX)
        return ORCHARD_EINVAL;
    const char *scheme;
    const char *p;
    if (g_ascii_strncasecmp(url, "https://", 8) == 0) {
        scheme = "https";
        p = url + 8;
    } else if (g_ascii_strncasecmp(url, "http://", 7) == 0) {
        scheme = "http";
        p = url + 7;
    } else {
        return ORCHARD_EINVAL;
    }
    size_t alen = strcspn(p, "/?#");
    const char *path = p + alen;
    /* user:password@ has no place in a URL we sign. */
    if (alen == 0 || memchr(p, '@', alen))
        return ORCHARD_EINVAL;

    /* host[:port], or [v6]:port. */
    size_t hlen = alen;
    const char *port = NULL;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', alen);
        if (!close)
            return ORCHARD_EINVAL;
        hlen = (size_t)(close - p) + 1;
        if (hlen < alen) {
            if (p[hlen] != ':')
                return ORCHARD_EINVAL;
            port = p + hlen + 1;
        }
    } else {
        const char *colon = memchr(p, ':', alen);
        if (colon) {
            hlen = (size_t)(colon - p);
            port = colon + 1;
        }
    }
    if (hlen == 0)
        return ORCHARD_EINVAL;
    for (size_t i = 0; i < hlen; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return ORCHARD_EINVAL;
    long portnum = 0;
    if (port) {
        size_t plen = (size_t)(p + alen - port);
        if (plen == 0 || plen > 5)
            return ORCHARD_EINVAL;
        for (size_t i = 0; i < plen; i++) {
            if (!g_ascii_isdigit(port[i]))
                return ORCHARD_EINVAL;
            portnum = portnum * 10 + (port[i] - '0');
        }
        if (portnum < 1 || portnum > 65535)
            return ORCHARD_EINVAL;
    }
    size_t plen = strcspn(path, "?#");
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f)
            return ORCHARD_EINVAL;
    int default_port = strcmp(scheme, "https") == 0 ? 443 : 80;

    GString *s = g_string_new(scheme);
    g_string_append(s, "://");
    for (size_t i = 0; i < hlen; i++)
        g_string_append_c(s, g_ascii_tolower(p[i]));
    if (port && portnum != default_port)
        g_string_append_printf(s, ":%ld", portnum);
    if (plen == 0)
        g_string_append_c(s, '/');
    else
        g_string_append_len(s, path, (gssize)plen);
    *out = g_string_free(s, FALSE);
    return 0;
}

static int hexval(char c)
{
    return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

/* Decode one query component (form encoding: '+' is a space), then
 * encode it the OAuth way. NULL on a bad %XX. */
static char *requote(const char *s, size_t len)
{
    GString *raw = g_string_sized_new(len + 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                g_string_free(raw, TRUE);
                return NULL;
            }
            g_string_append_c(raw, (char)(hi << 4 | lo));
            i += 2;
            continue;
        }
        g_string_append_c(raw, s[i] == '+' ? ' ' : s[i]);
    }
    char *out = orchard_oauth_encode(raw->str, raw->len);
    g_string_free(raw, TRUE);
    return out;
}

typedef struct {
    char *name; /* encoded */
    char *value;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* The URL's query as encoded pairs appended to ps; 0 or ORCHARD_EINVAL. */
static int query_pairs(const char *url, GArray *ps)
{
    const char *q = strchr(url, '?');
    if (!q)
        return 0;
    q++;
    size_t qlen = strcspn(q, "#");
    const char *end = q + qlen;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if (stop > q) { /* "a=1&&b=2": an empty piece is no parameter */
            if (ps->len >= QUERY_PARAMS_MAX)
                return ORCHARD_EINVAL;
            const char *eq = memchr(q, '=', (size_t)(stop - q));
            pair pr = {
                .name = requote(q, (size_t)((eq ? eq : stop) - q)),
                .value = eq ? requote(eq + 1, (size_t)(stop - eq - 1)) : g_strdup(""),
            };
            g_array_append_val(ps, pr);
            if (!pr.name || !pr.value)
                return ORCHARD_EINVAL;
        }
        q = stop + 1;
    }
    return 0;
}

static void pair_clear(gpointer p)
{
    pair *pr = p;
    g_free(pr->name);
    g_free(pr->value);
}

int orchard_oauth_base_string(const char *method, const char *url,
                              const orchard_oauth_param *params, size_t n, char **out)
{
    *out = NULL;
    size_t mlen = method ? strlen(method) : 0;
    if (mlen == 0 || mlen > METHOD_MAX || n > QUERY_PARAMS_MAX)
        return ORCHARD_EINVAL;
    for (size_t i = 0; i < mlen; i++)
        if (method[i] < 'A' || method[i] > 'Z')
            return ORCHARD_EINVAL;
    g_autofree char *uri = NULL;
    int rc = orchard_oauth_base_uri(url, &uri);
    if (rc)
        return rc;

    GArray *ps = g_array_new(FALSE, TRUE, sizeof(pair));
    g_array_set_clear_func(ps, pair_clear);
    rc = query_pairs(url, ps);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!params[i].name || strlen(params[i].name) > ORCHARD_OAUTH_INPUT_MAX ||
            (params[i].value && strlen(params[i].value) > ORCHARD_OAUTH_INPUT_MAX)) {
            rc = ORCHARD_EINVAL;
            break;
        }
        pair pr = {.name = enc(params[i].name), .value = enc(params[i].value)};
        g_array_append_val(ps, pr);
    }
    if (rc == 0) {
        qsort(ps->data, ps->len, sizeof(pair), pair_cmp);
        GString *norm = g_string_new(NULL);
        for (guint i = 0; i < ps->len; i++) {
            const pair *pr = &g_array_index(ps, pair, i);
            g_string_append_printf(norm, "%s%s=%s", i ? "&" : "", pr->name, pr->value);
        }
        g_autofree char *enc_uri = enc(uri);
        char *enc_norm = orchard_oauth_encode(norm->str, norm->len);
        g_string_free(norm, TRUE);
        if (!enc_uri || !enc_norm)
            rc = ORCHARD_EINVAL;
        else
            *out = g_strdup_printf("%s&%s&%s", method, enc_uri, enc_norm);
        g_free(enc_norm);
    }
    g_array_free(ps, TRUE);
    return rc;
}

/* Free a string that held a secret, wiping it first. */
static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        g_free(s);
    }
}

int orchard_oauth_signature(const char *base, const char *consumer_secret,
                            const char *token_secret, char **out)
{
    *out = NULL;
    if (!base || strlen(base) > 4 * ORCHARD_OAUTH_INPUT_MAX)
        return ORCHARD_EINVAL;
    char *cs = enc(consumer_secret), *ts = enc(token_secret);
    char *key = cs && ts ? g_strdup_printf("%s&%s", cs, ts) : NULL;
    free_secret(cs);
    free_secret(ts);
    if (!key)
        return ORCHARD_EINVAL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char *r = HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)base,
                            strlen(base), md, &mdlen);
    free_secret(key);
    if (!r || mdlen != 20)
        return ORCHARD_EIO;
    *out = g_base64_encode(md, mdlen);
    return 0;
}

int orchard_oauth_nonce(char out[33])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return ORCHARD_EIO;
    for (size_t i = 0; i < sizeof b; i++)
        g_snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

int orchard_oauth_header(const orchard_oauth_creds *creds, const char *method,
                         const char *url, gint64 timestamp, const char *nonce, char **out)
{
    *out = NULL;
    if (!creds || !creds->consumer_key || !*creds->consumer_key || !creds->token ||
        !*creds->token)
        return ORCHARD_EINVAL;
    char fresh[33];
    if (!nonce) {
        if (orchard_oauth_nonce(fresh))
            return ORCHARD_EIO;
        nonce = fresh;
    }
    if (timestamp <= 0)
        timestamp = g_get_real_time() / G_USEC_PER_SEC;
    char ts[24];
    g_snprintf(ts, sizeof ts, "%" G_GINT64_FORMAT, timestamp);
    const orchard_oauth_param ps[] = {
        {"oauth_consumer_key", creds->consumer_key},
        {"oauth_nonce", nonce},
        {"oauth_signature_method", "HMAC-SHA1"},
        {"oauth_timestamp", ts},
        {"oauth_token", creds->token},
        {"oauth_version", "1.0"},
    };
    char *base = NULL, *sig = NULL;
    int rc = orchard_oauth_base_string(method, url, ps, G_N_ELEMENTS(ps), &base);
    if (rc == 0)
        rc = orchard_oauth_signature(base, creds->consumer_secret, creds->token_secret, &sig);
    free_secret(base); /* it holds the consumer key and the token */
    if (rc)
        return rc;
    char *ck = enc(creds->consumer_key), *tok = enc(creds->token), *esig = enc(sig),
         *enonce = enc(nonce);
    if (ck && tok && esig && enonce)
        *out = g_strdup_printf("OAuth realm=\"ADM\", oauth_consumer_key=\"%s\", "
                               "oauth_token=\"%s\", oauth_signature_method=\"HMAC-SHA1\", "
                               "oauth_signature=\"%s\", oauth_timestamp=\"%s\", "
                               "oauth_nonce=\"%s\", oauth_version=\"1.0\"",
                               ck, tok, esig, ts, enonce);
    else
        rc = ORCHARD_EINVAL;
    free_secret(ck);
    free_secret(tok);
    g_free(esig);
    g_free(sig);
    g_free(enonce);
    return rc;
}

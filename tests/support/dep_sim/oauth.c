/* OAuth 1.0a (RFC 5849) as Apple checks it on GET /session: the
 * Authorization header is parsed, the signature base string rebuilt from the
 * request and signed with our consumer and access secrets (HMAC-SHA1), the
 * timestamp must be near the simulator's clock and the nonce new. */
#include "dep_sim.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define HEADER_MAX 4096
#define TIMESTAMP_SKEW 300 /* seconds either way, as OAuth servers commonly allow */
#define PARAMS_MAX 16 /* header parameters */
#define QUERY_MAX 16

char *depsim_oauth_encode(const char *s)
{
    GString *o = g_string_new(NULL);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (g_ascii_isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            g_string_append_c(o, (char)*p);
        else
            g_string_append_printf(o, "%%%02X", *p);
    }
    return g_string_free(o, FALSE);
}

/* %XX-decode; NULL on a broken escape. */
static char *decode(const char *s, size_t n)
{
    GString *o = g_string_sized_new(n);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            g_string_append_c(o, s[i]);
            continue;
        }
        if (i + 2 >= n || !g_ascii_isxdigit(s[i + 1]) || !g_ascii_isxdigit(s[i + 2])) {
            g_string_free(o, TRUE);
            return NULL;
        }
        g_string_append_c(o, (char)(g_ascii_xdigit_value(s[i + 1]) * 16 +
                                    g_ascii_xdigit_value(s[i + 2])));
        i += 2;
    }
    if (memchr(o->str, '\0', o->len)) {
        g_string_free(o, TRUE);
        return NULL;
    }
    return g_string_free(o, FALSE);
}

typedef struct param {
    char *name, *value; /* decoded */
} param;

static int param_cmp(const void *a, const void *b)
{
    const param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* `OAuth k="v", k="v"` -> params (decoded); the number, or -1 if malformed. */
static int parse_header(const char *h, param *out)
{
    if (g_ascii_strncasecmp(h, "OAuth ", 6) != 0)
        return -1;
    const char *p = h + 6;
    int n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            return n;
        const char *eq = strchr(p, '=');
        if (!eq || eq == p || eq[1] != '"' || n == PARAMS_MAX)
            return -1;
        const char *v = eq + 2, *end = strchr(v, '"');
        if (!end)
            return -1;
        out[n].name = decode(p, (size_t)(eq - p));
        out[n].value = decode(v, (size_t)(end - v));
        n++;
        if (!out[n - 1].name || !out[n - 1].value)
            return -1;
        p = end + 1;
        if (*p && *p != ',' && *p != ' ')
            return -1;
    }
}

static const char *get(const param *ps, int n, const char *name)
{
    const char *found = NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(ps[i].name, name) == 0) {
            if (found)
                return NULL; /* a repeated oauth_ parameter is refused */
            found = ps[i].value;
        }
    return found;
}

/* base64(HMAC-SHA1(key, base)) */
static char *sign(const char *key, const char *base)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)base, strlen(base), mac,
              &len))
        return NULL;
    return g_base64_encode(mac, len);
}

static void prune_nonces(gint64 now)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, sim->nonces);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (*(gint64 *)v < now - 2 * TIMESTAMP_SKEW)
            g_hash_table_iter_remove(&it);
}

static int check(param *ps, int n, const char *url, GPtrArray *query, const char **why)
{
    const char *ck = get(ps, n, "oauth_consumer_key"), *tok = get(ps, n, "oauth_token");
    const char *method = get(ps, n, "oauth_signature_method");
    const char *sig = get(ps, n, "oauth_signature"), *ts = get(ps, n, "oauth_timestamp");
    const char *nonce = get(ps, n, "oauth_nonce"), *ver = get(ps, n, "oauth_version");
    if (!ck || !tok || !method || !sig || !ts || !nonce || !*nonce) {
        *why = "an OAuth parameter is missing or repeated";
        return -1;
    }
    if (strcmp(method, "HMAC-SHA1") != 0 || (ver && strcmp(ver, "1.0") != 0)) {
        *why = "not HMAC-SHA1 / version 1.0";
        return -1;
    }
    if (strcmp(ck, sim->opt.consumer_key) != 0 || strcmp(tok, sim->opt.access_token) != 0) {
        *why = "unknown consumer key or access token";
        return -1;
    }
    char *end;
    gint64 t = g_ascii_strtoll(ts, &end, 10), now = depsim_now();
    if (!*ts || *end || t < now - TIMESTAMP_SKEW || t > now + TIMESTAMP_SKEW) {
        *why = "oauth_timestamp is not a time near now";
        return -1;
    }
    /* The base string: every parameter but the signature (and realm), sorted. */
    param sorted[PARAMS_MAX + QUERY_MAX];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(ps[i].name, "oauth_signature") != 0 && strcmp(ps[i].name, "realm") != 0)
            sorted[m++] = ps[i];
    if (query && query->len / 2 > QUERY_MAX) {
        *why = "too many query parameters";
        return -1;
    }
    for (guint i = 0; query && i + 1 < query->len; i += 2)
        sorted[m++] = (param){.name = query->pdata[i], .value = query->pdata[i + 1]};
    qsort(sorted, (size_t)m, sizeof *sorted, param_cmp);
    GString *norm = g_string_new(NULL);
    for (int i = 0; i < m; i++) {
        g_autofree char *k = depsim_oauth_encode(sorted[i].name);
        g_autofree char *v = depsim_oauth_encode(sorted[i].value);
        g_string_append_printf(norm, "%s%s=%s", i ? "&" : "", k, v);
    }
    g_autofree char *eurl = depsim_oauth_encode(url);
    g_autofree char *enorm = depsim_oauth_encode(norm->str);
    g_string_free(norm, TRUE);
    g_autofree char *base = g_strdup_printf("GET&%s&%s", eurl, enorm);
    g_autofree char *cs = depsim_oauth_encode(sim->opt.consumer_secret);
    g_autofree char *as = depsim_oauth_encode(sim->opt.access_secret);
    g_autofree char *key = g_strdup_printf("%s&%s", cs, as);
    g_autofree char *want = sign(key, base);
    if (!want || strlen(want) != strlen(sig) || CRYPTO_memcmp(want, sig, strlen(sig)) != 0) {
        *why = "the signature does not match";
        return -1;
    }
    prune_nonces(now);
    if (g_hash_table_contains(sim->nonces, nonce)) {
        *why = "oauth_nonce was used before";
        return -1;
    }
    gint64 *stamp = g_new(gint64, 1);
    *stamp = t;
    g_hash_table_insert(sim->nonces, g_strdup(nonce), stamp);
    return 0;
}

int depsim_oauth_check(const char *authorization, const char *url, GPtrArray *query,
                       const char **why)
{
    param ps[PARAMS_MAX] = {{0}};
    int rc = -1;
    *why = "no Authorization header";
    if (!authorization)
        return -1;
    *why = "a malformed Authorization header";
    if (strlen(authorization) > HEADER_MAX)
        return -1;
    int n = parse_header(authorization, ps);
    if (n >= 0)
        rc = check(ps, n, url, query, why);
    for (int i = 0; i < PARAMS_MAX; i++) {
        g_free(ps[i].name);
        g_free(ps[i].value);
    }
    return rc;
}

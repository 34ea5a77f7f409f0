/* Route guards (http_guard.h): dispatch asks orchard_http_guard_check
 * before a handler runs. Gates and the authenticator are process-wide and
 * locked; what the guard learns about one request (its principal, its
 * client certificate) lives in a thread-local slot keyed by the request,
 * because a request is dispatched, guarded and handled on one thread. */
#include "host/http/http_guard.h"

#include "host/http/http_api.h"
#include "host/http/http_module.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"
#include "host/settings.h"

#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_CERT_HEADER_KEY "server.client_cert_header"
#define GATE_NAME_MAX 64

const orchard_setting orchard_setting_server_client_cert_header = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = CLIENT_CERT_HEADER_KEY,
    .type = ORCHARD_SETTING_STRING,
    .default_value = NULL,
    .description = "request header in which a TLS-terminating proxy passes the client "
                   "certificate (RFC 9440 Client-Cert, or nginx's $ssl_client_escaped_cert); "
                   "only set it when every request comes through that proxy",
    .flags = 0,
    .aliases = NULL,
};

typedef struct {
    int open;
    char *reason;
    char *hold; /* while open and set: its routes answer 503 with this (instances.c) */
} gate;

static struct {
    GMutex lock;
    GHashTable *gates; /* name -> gate* */
    orchard_auth_fn auth;
    void *auth_payload;
    orchard_ctx *auth_ctx;
} G;

/* What the guard learnt about the request this thread is dispatching. */
static _Thread_local struct {
    const orchard_http_request *req;
    int role; /* > 0: who holds the principal */
    char who[ORCHARD_PRINCIPAL_MAX];
    int cert_looked_up;
    const unsigned char *cert;
    size_t cert_len;
    unsigned char *cert_owned; /* decoded from a proxy's header */
} cur;

static void request_begin(const orchard_http_request *req)
{
    g_free(cur.cert_owned);
    memset(&cur, 0, sizeof cur);
    cur.req = req;
}

void orchard_http_guard_end(void) { request_begin(NULL); }

/* ------------------------------------------------------------------------ */
/* JSON errors */

int orchard_http_error(orchard_http_response *resp, int status, const char *message,
                       const char *field, const char *reason)
{
    char *body;
    json_t *doc;
    int rc;

    if (!resp || !message || status < 400 || status > 599)
        return ORCHARD_EINVAL;
    /* jansson refuses invalid UTF-8, and a message may quote a client's bytes. */
    g_autofree char *m = g_utf8_make_valid(message, -1);
    g_autofree char *r = reason ? g_utf8_make_valid(reason, -1) : NULL;
    g_autofree char *f = field && *field ? g_utf8_make_valid(field, -1) : NULL;
    doc = json_pack("{s:s, s:[{s:s, s:s}]}", "message", m, "errors", "name", f ? f : "base",
                    "reason", r ? r : m);
    if (!doc)
        return ORCHARD_ENOMEM;
    body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!body)
        return ORCHARD_ENOMEM;
    rc = orchard_http_respond(resp, status, "application/json", body, strlen(body));
    free(body);
    return rc;
}

/* A guard's refusal. 401s carry no WWW-Authenticate challenge, as Fleet's
 * API answers: the scheme is the authenticator's (or a certificate's), and
 * a Basic challenge would make browsers prompt. */
static int refuse(orchard_http_response *resp, int status, const char *message,
                  const char *reason)
{
    orchard_http_error(resp, status, message, NULL, reason);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Gates */

static int gate_name_valid(const char *name)
{
    size_t len = name ? strnlen(name, GATE_NAME_MAX + 1) : 0;
    if (len == 0 || len > GATE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_islower(name[i]) && !g_ascii_isdigit(name[i]) && !strchr("_.-", name[i]))
            return 0;
    return 1;
}

static void gate_free(gpointer p)
{
    gate *g = p;
    g_free(g->reason);
    g_free(g->hold);
    g_free(g);
}

int orchard_http_gate_set(orchard_ctx *ctx, const char *name, int open, const char *reason)
{
    int changed;
    gate *g;

    if (!gate_name_valid(name))
        return ORCHARD_EINVAL;
    if (!reason || !*reason)
        reason = open ? "open" : "closed";
    g_mutex_lock(&G.lock);
    if (!G.gates)
        G.gates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, gate_free);
    g = g_hash_table_lookup(G.gates, name);
    if (!g) {
        g = g_new0(gate, 1);
        g_hash_table_insert(G.gates, g_strdup(name), g);
        changed = 1;
    } else {
        changed = !g->open != !open || strcmp(g->reason, reason) != 0;
        g_free(g->reason);
    }
    g->open = open != 0;
    g->reason = g_strdup(reason);
    g_mutex_unlock(&G.lock);
    if (changed)
        orchard_info(orchard_ctx_name(ctx), "gate %s %s%s%s", name, open ? "open" : "closed",
                     open ? "" : ": ", open ? "" : reason);
    return 0;
}

/* A hold is independent of open/closed: the plugin opens the gate, the
 * instances' comparison holds it. A gate nobody set yet is made closed
 * ("not configured", as a missing one reads) so the hold has a home. */
int orchard_http_gate_hold(const char *name, const char *message)
{
    gate *g;

    if (!gate_name_valid(name))
        return ORCHARD_EINVAL;
    g_mutex_lock(&G.lock);
    if (!G.gates)
        G.gates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, gate_free);
    g = g_hash_table_lookup(G.gates, name);
    if (!g && message) {
        g = g_new0(gate, 1);
        g->reason = g_strdup("not configured");
        g_hash_table_insert(G.gates, g_strdup(name), g);
    }
    if (g) {
        g_free(g->hold);
        g->hold = message && *message ? g_strdup(message) : NULL;
    }
    g_mutex_unlock(&G.lock);
    return 0;
}

/* 0 when `name` is open and not held; else 404 (closed) or 503 (held) and
 * *why (g_free), the reason. */
static int gate_open(const char *name, char **why)
{
    gate *g;
    int status = 0;

    g_mutex_lock(&G.lock);
    g = G.gates ? g_hash_table_lookup(G.gates, name) : NULL;
    if (!g || !g->open) {
        status = 404;
        *why = g_strdup(g ? g->reason : "not configured");
    } else if (g->hold) {
        status = 503;
        *why = g_strdup(g->hold);
    }
    g_mutex_unlock(&G.lock);
    return status;
}

/* ------------------------------------------------------------------------ */
/* The authenticator and principals */

int orchard_http_auth_register(orchard_ctx *ctx, orchard_auth_fn fn, void *payload)
{
    const char *holder = NULL;
    int rc = 0;

    if (!fn)
        return ORCHARD_EINVAL;
    g_mutex_lock(&G.lock);
    if (G.auth) {
        rc = ORCHARD_EEXIST;
        holder = orchard_ctx_name(G.auth_ctx);
    } else {
        G.auth = fn;
        G.auth_payload = payload;
        G.auth_ctx = ctx ? ctx : orchard_ctx_host();
    }
    g_mutex_unlock(&G.lock);
    if (rc)
        orchard_warn(orchard_ctx_name(ctx), "an authenticator is already registered (by %s)",
                     holder);
    return rc;
}

void orchard_http_guard_forget(orchard_ctx *ctx)
{
    g_mutex_lock(&G.lock);
    if (G.auth && G.auth_ctx == (ctx ? ctx : orchard_ctx_host())) {
        G.auth = NULL;
        G.auth_payload = NULL;
        G.auth_ctx = NULL;
    }
    g_mutex_unlock(&G.lock);
}

void orchard_http_guard_reset(void)
{
    g_mutex_lock(&G.lock);
    G.auth = NULL;
    G.auth_payload = NULL;
    G.auth_ctx = NULL;
    g_clear_pointer(&G.gates, g_hash_table_destroy);
    g_mutex_unlock(&G.lock);
}

const char *orchard_http_principal(const orchard_http_request *req, int *role)
{
    int known = req && cur.req == req && cur.role > 0;
    if (role)
        *role = known ? cur.role : ORCHARD_ROLE_NONE;
    return known ? cur.who : NULL;
}

static const char *role_name(int role)
{
    switch (role) {
    case ORCHARD_ROLE_OBSERVER:
        return "observer";
    case ORCHARD_ROLE_MAINTAINER:
        return "maintainer";
    default:
        return "admin";
    }
}

/* Ask the authenticator; on success the request's principal is set. */
static int check_role(const orchard_http_request *req, orchard_http_response *resp, int need)
{
    char who[ORCHARD_PRINCIPAL_MAX] = "";
    orchard_auth_fn fn;
    orchard_ctx *ctx;
    void *payload;
    int rc;

    g_mutex_lock(&G.lock);
    fn = G.auth;
    payload = G.auth_payload;
    ctx = G.auth_ctx;
    g_mutex_unlock(&G.lock);
    if (!fn)
        return refuse(resp, 401, "Authentication required: no user store is configured", NULL);

    orchard_ctx_clear_failure();
    rc = fn(ctx, req, who, sizeof who, payload);
    who[sizeof who - 1] = '\0';
    if (rc < 0) {
        const char *why = orchard_ctx_failure();
        orchard_warn(orchard_ctx_name(ctx), "%s %s: the authenticator failed: %s", req->method,
                     req->path, why ? why : orchard_strerror(rc));
        return refuse(resp, 503, "cannot check credentials now; try again later", NULL);
    }
    if (rc == ORCHARD_ROLE_NONE)
        return refuse(resp, 401, "Authentication required", NULL);
    if (rc > ORCHARD_ROLE_ADMIN || !who[0]) {
        /* A broken authenticator must not let anyone in. */
        orchard_error(orchard_ctx_name(ctx), "the authenticator returned role %d for '%s'", rc,
                      who);
        return refuse(resp, 503, "cannot check credentials now; try again later", NULL);
    }
    if (rc < need) {
        g_autofree char *why = g_strdup_printf("this needs the %s role", role_name(need));
        return refuse(resp, 403, "forbidden", why);
    }
    cur.role = rc;
    memcpy(cur.who, who, sizeof who);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Client certificates */

/* One DER tag and definite length at p[0..n). Returns the header's size and
 * *clen, the content's, or 0 when it is not `tag` or does not fit. */
static size_t der_header(const unsigned char *p, size_t n, unsigned char tag, size_t *clen)
{
    size_t hl, k, v = 0;

    if (n < 2 || p[0] != tag)
        return 0;
    if (p[1] < 0x80) {
        v = p[1];
        hl = 2;
    } else {
        /* 0x80 is BER's indefinite length; over 3 bytes is past any cap. */
        k = p[1] & 0x7f;
        if (k == 0 || k > 3 || n < 2 + k || p[2] == 0)
            return 0;
        for (size_t i = 0; i < k; i++)
            v = v << 8 | p[2 + i];
        if (v < 0x80) /* DER uses the short form for these */
            return 0;
        hl = 2 + k;
    }
    if (v > n - hl)
        return 0;
    *clen = v;
    return hl;
}

int orchard_der_is_certificate(const unsigned char *der, size_t len)
{
    static const unsigned char parts[] = {0x30, 0x30, 0x03}; /* tbs, algorithm, signature */
    size_t clen = 0, hl = der ? der_header(der, len, 0x30, &clen) : 0;
    const unsigned char *p;
    size_t n;

    if (!hl || hl + clen != len)
        return 0;
    p = der + hl;
    n = clen;
    for (size_t i = 0; i < sizeof parts; i++) {
        size_t c = 0, h = der_header(p, n, parts[i], &c);
        if (!h)
            return 0;
        p += h + c;
        n -= h + c;
    }
    return n == 0;
}

/* Base64 with padding and nothing else (g_base64_decode skips junk). */
static unsigned char *base64_strict(const char *s, size_t n, size_t *out_len)
{
    if (n == 0 || n % 4 != 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            if (i < n - 2 || (i == n - 2 && s[n - 1] != '='))
                return NULL;
        } else if (!g_ascii_isalnum(c) && c != '+' && c != '/') {
            return NULL;
        }
    }
    g_autofree char *copy = g_strndup(s, n);
    return g_base64_decode(copy, out_len);
}

/* RFC 9440: an sf-binary, ":" base64 ":", with no parameters. */
static unsigned char *decode_rfc9440(const char *s, size_t n, size_t *len, const char **why)
{
    unsigned char *der;

    if (n < 2 || s[n - 1] != ':') {
        *why = "a byte sequence without its closing colon";
        return NULL;
    }
    if (!(der = base64_strict(s + 1, n - 2, len)))
        *why = "not base64 between the colons";
    return der;
}

static int hex_value(char c)
{
    return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

/* nginx's $ssl_client_escaped_cert: one PEM certificate, URL-escaped. */
static unsigned char *decode_escaped_pem(const char *s, size_t n, size_t *len, const char **why)
{
    g_autoptr(GString) pem = g_string_sized_new(n);
    g_autoptr(GString) b64 = g_string_sized_new(n);
    const char *body, *end;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] != '%') {
            g_string_append_c(pem, s[i]);
            continue;
        }
        if (i + 2 >= n || (hi = hex_value(s[i + 1])) < 0 || (lo = hex_value(s[i + 2])) < 0 ||
            (hi == 0 && lo == 0)) {
            *why = "a broken %-escape";
            return NULL;
        }
        g_string_append_c(pem, (char)(hi << 4 | lo));
        i += 2;
    }
    if (!g_str_has_prefix(pem->str, PEM_BEGIN) || !(end = strstr(pem->str, PEM_END))) {
        *why = "not one PEM certificate (truncated?)";
        return NULL;
    }
    for (const char *t = end + strlen(PEM_END); *t; t++)
        if (!strchr("\r\n", *t)) {
            *why = "something after the PEM certificate";
            return NULL;
        }
    for (body = pem->str + strlen(PEM_BEGIN); body < end; body++)
        if (!strchr(" \t\r\n", *body))
            g_string_append_c(b64, *body);
    unsigned char *der = base64_strict(b64->str, b64->len, len);
    if (!der)
        *why = "not base64 inside the PEM armour";
    return der;
}

int orchard_client_cert_decode(const char *value, unsigned char **der, size_t *len,
                               const char **why)
{
    size_t n = value ? strnlen(value, ORCHARD_CLIENT_CERT_HEADER_MAX + 1) : 0;
    const char *s = value;
    unsigned char *out = NULL;

    *der = NULL;
    *len = 0;
    *why = "empty";
    if (n > ORCHARD_CLIENT_CERT_HEADER_MAX) {
        *why = "over the size cap";
        return ORCHARD_ETOOBIG;
    }
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return ORCHARD_EINVAL;
    if (s[0] == ':')
        out = decode_rfc9440(s, n, len, why);
    else if (n >= 10 && strncmp(s, "-----BEGIN", 10) == 0)
        out = decode_escaped_pem(s, n, len, why);
    else
        *why = "neither an RFC 9440 byte sequence nor an escaped PEM";
    if (out && !orchard_der_is_certificate(out, *len)) {
        *why = "not a certificate's DER";
        g_clear_pointer(&out, g_free);
    }
    if (!out) {
        *len = 0;
        return ORCHARD_EINVAL;
    }
    *der = out;
    return 0;
}

/* The one value of header `name` in req; NULL when absent or repeated (a
 * client's own copy beside the proxy's must not be picked by chance). */
static const char *single_header(const orchard_http_request *req, const char *name, int *repeated)
{
    const char *value = NULL;
    *repeated = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (g_ascii_strcasecmp(req->headers[i].name, name) != 0)
            continue;
        if (value) {
            *repeated = 1;
            return NULL;
        }
        value = req->headers[i].value;
    }
    return value;
}

/* Where the certificate comes from is the operator's choice: with the
 * header setting set, a proxy terminates TLS and the TLS peer (if any) is
 * that proxy, so only the header counts; without it, only the handshake. */
static void lookup_cert(void)
{
    const orchard_http_request *req = cur.req;
    const char *header = orchard_settings_string(NULL, CLIENT_CERT_HEADER_KEY);
    const char *value, *why = NULL;
    int repeated;

    cur.cert_looked_up = 1;
    if (!header || !*header) {
        cur.cert = req->client_cert_der;
        cur.cert_len = req->client_cert_der ? req->client_cert_len : 0;
        return;
    }
    if (!(value = single_header(req, header, &repeated))) {
        if (repeated)
            orchard_debug("http", "%s %s: %s appears more than once: no client certificate",
                          req->method, req->path, header);
        return;
    }
    if (orchard_client_cert_decode(value, &cur.cert_owned, &cur.cert_len, &why) != 0) {
        orchard_debug("http", "%s %s: %s (%zu bytes) ignored: %s", req->method, req->path,
                      header, strnlen(value, ORCHARD_CLIENT_CERT_HEADER_MAX + 1), why);
        return;
    }
    cur.cert = cur.cert_owned;
}

const unsigned char *orchard_http_client_cert(const orchard_http_request *req, size_t *len)
{
    if (len)
        *len = 0;
    if (!req)
        return NULL;
    if (cur.req != req)
        request_begin(req);
    if (!cur.cert_looked_up)
        lookup_cert();
    if (len)
        *len = cur.cert_len;
    return cur.cert;
}

/* ------------------------------------------------------------------------ */
/* The check */

int orchard_http_guard_check(const orchard_route *route, const orchard_http_request *req,
                             orchard_http_response *resp)
{
    const char *gate_name = orchard_route_gate_of(route);
    uint32_t guard = orchard_route_guard_of(route);

    request_begin(req);
    if (gate_name) {
        g_autofree char *why = NULL;
        int status = gate_open(gate_name, &why);
        if (status)
            return refuse(resp, status, why, NULL);
    }
    switch (guard) {
    case ORCHARD_GUARD_NONE:
        return 0;
    case ORCHARD_GUARD_DEVICE:
        if (!orchard_http_client_cert(req, NULL))
            return refuse(resp, 401, "a client certificate is required", NULL);
        return 0;
    case ORCHARD_GUARD_OBSERVER:
    case ORCHARD_GUARD_MAINTAINER:
    case ORCHARD_GUARD_ADMIN:
        /* Each guard above NONE and DEVICE is one role: OBSERVER (2) needs role 1. */
        return check_role(req, resp, (int)guard - 1);
    default:
        orchard_error("http", "route %s %s declares guard %u, which this host does not know",
                      route->method, route->path_prefix, guard);
        return refuse(resp, 500, "this route's guard is unknown to the server", NULL);
    }
}

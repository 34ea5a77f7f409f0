/* The server.* settings of `orchard serve`: declared here, once (their
 * types, defaults and Fleet's spellings; the core plugin lists them), and
 * read and checked before the transport module is loaded so that a typo is
 * reported by key name. Values come from the process configuration, parsed
 * as the settings snapshot parses them; a key's default is the one in its
 * declaration, so the two cannot disagree. */
#include "host/http/http_settings.h"

#include "host/config.h"
#include "host/http/http_internal.h"
#include "host/settings_parse.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netdb.h>
#include <string.h>

#define MAX_THREADS 1024u
#define MAX_CONNECTIONS 1000000u
#define MAX_DURATION_MS (24ull * 3600 * 1000)
#define PEM_CAP (1024 * 1024)

#define SETTING(k, t, def, alias, desc)                                         \
    {ORCHARD_STRUCT_HEADER(orchard_setting), .key = k, .type = ORCHARD_SETTING_##t,  \
     .default_value = def, .description = desc, .flags = ORCHARD_SETTING_RESTART,  \
     .aliases = alias}

/* Every one needs a restart: the listener, its TLS and its limits are set
 * up once when serve starts. */
static const orchard_setting s_address =
    SETTING("server.address", STRING, "127.0.0.1:8080", NULL,
            "where orchard serve listens: host:port, [ipv6]:port or :port (port 0: any free one)");
static const orchard_setting s_tls_cert =
    SETTING("server.tls_cert", PATH, NULL, "server.cert",
            "PEM certificate (chain) for HTTPS; with server.tls_key");
static const orchard_setting s_tls_key =
    SETTING("server.tls_key", PATH, NULL, "server.key", "PEM private key of server.tls_cert");
static const orchard_setting s_tls_client_ca =
    SETTING("server.tls_client_ca", PATH, NULL, NULL,
            "PEM CA certificate(s): ask TLS clients for a certificate issued by them");
static const orchard_setting s_threads =
    SETTING("server.threads", INT, NULL, NULL, "HTTP worker threads (default: twice the CPUs)");
static const orchard_setting s_connection_timeout =
    SETTING("server.connection_timeout", DURATION, "30s", NULL,
            "how long an idle connection is kept (whole seconds)");
static const orchard_setting s_request_timeout =
    SETTING("server.request_timeout", DURATION, "30s", NULL,
            "deadline for a request's headers and body to arrive, however slowly they trickle");
static const orchard_setting s_max_connections =
    SETTING("server.max_connections", INT, "1000", NULL,
            "connections served at once, in total");
static const orchard_setting s_max_per_address =
    SETTING("server.max_connections_per_address", INT, "64", NULL,
            "connections served at once from one client address (0: no limit, e.g. behind a proxy)");
static const orchard_setting s_max_buffered =
    SETTING("server.max_buffered_bytes", BYTES, "64MiB", NULL,
            "request bodies buffered at once across all requests; past it, 503 with Retry-After");

static const orchard_setting *const decls[] = {
    &s_address,         &s_tls_cert,           &s_tls_key,       &s_tls_client_ca,
    &s_threads,         &s_connection_timeout, &s_request_timeout, &s_max_connections,
    &s_max_per_address, &s_max_buffered,
};

const orchard_setting *const *orchard_http_settings_decl(size_t *n)
{
    *n = G_N_ELEMENTS(decls);
    return decls;
}

/* The configured value of `s` (or of one of its aliases); "" counts as
 * unset (an empty environment variable clears a key); else the default. */
static const char *value(const orchard_setting *s)
{
    orchard_config *c = orchard_config_global();
    const char *v = orchard_config_get(c, s->key);

    if ((!v || !*v) && s->aliases) {
        g_auto(GStrv) names = g_strsplit(s->aliases, "|", -1);
        for (size_t i = 0; names[i] && (!v || !*v); i++)
            v = orchard_config_get(c, names[i]);
    }
    return v && *v ? v : s->default_value;
}

/* ---- the value types (the forms host/settings_parse.c reads, so that
 * `config check` and serve agree) */

/* A whole decimal number in [lo, hi]. */
static int parse_uint(const char *s, guint64 lo, guint64 hi, guint64 *out)
{
    int64_t v;

    if (!s || !g_ascii_isdigit(*s) || orchard_parse_int(s, &v) != 0 || (guint64)v < lo ||
        (guint64)v > hi)
        return 0;
    *out = (guint64)v;
    return 1;
}

/* A duration in [lo_ms, 24 h]. */
static int parse_duration(const char *s, guint64 lo_ms, guint64 *ms)
{
    int64_t v;

    if (!s || orchard_parse_duration_ms(s, &v) != 0 || v < 0 || (guint64)v < lo_ms ||
        (guint64)v > MAX_DURATION_MS)
        return 0;
    *ms = (guint64)v;
    return 1;
}

/* ---- server.address */

/* Split "host:port", "[v6]:port" or ":port"; the host comes back g_malloc'd. */
static int split_address(const char *text, char **host, unsigned *port)
{
    const char *colon;
    guint64 p;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return 0;
        colon = close + 1;
        *host = g_strndup(text + 1, (gsize)(close - text - 1));
    } else {
        colon = strrchr(text, ':');
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return 0; /* no port, or a bare IPv6 address without brackets */
        *host = colon == text ? g_strdup("0.0.0.0") : g_strndup(text, (gsize)(colon - text));
    }
    if (!**host || !parse_uint(colon + 1, 0, 65535, &p)) {
        g_clear_pointer(host, g_free);
        return 0;
    }
    *port = (unsigned)p;
    return 1;
}

static int load_address(orchard_http_settings *st, char **error_msg)
{
    const char *text = value(&s_address);
    g_autofree char *host = NULL;
    struct addrinfo hints = {0}, *res = NULL;
    unsigned port;
    char num[INET6_ADDRSTRLEN];
    int gai;

    if (!split_address(text, &host, &port)) {
        *error_msg = g_strdup_printf("server.address '%s' is not host:port, [ipv6]:port or "
                                     ":port", text);
        return ORCHARD_EINVAL;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if ((gai = getaddrinfo(host, NULL, &hints, &res)) != 0 || !res) {
        *error_msg = g_strdup_printf("server.address '%s': cannot resolve %s: %s", text, host,
                                     gai_strerror(gai));
        return ORCHARD_EINVAL;
    }
    st->address = g_strdup(text);
    memcpy(&st->addr, res->ai_addr, res->ai_addrlen);
    st->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    if (st->addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&st->addr;
        a->sin6_port = htons((uint16_t)port);
        inet_ntop(AF_INET6, &a->sin6_addr, num, sizeof num);
        g_snprintf(st->url_host, sizeof st->url_host, "[%s]", num);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&st->addr;
        a->sin_port = htons((uint16_t)port);
        inet_ntop(AF_INET, &a->sin_addr, num, sizeof num);
        g_strlcpy(st->url_host, num, sizeof st->url_host);
    }
    return 0;
}

/* ---- TLS */

static int read_pem(const orchard_setting *s, char **out, char **error_msg)
{
    const char *path = value(s);
    g_autoptr(GError) err = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, out, &len, &err)) {
        *error_msg = g_strdup_printf("%s: cannot read %s: %s", s->key, path, err->message);
        return ORCHARD_ENOTFOUND;
    }
    if (len > PEM_CAP || !strstr(*out, "-----BEGIN ")) {
        *error_msg = g_strdup_printf("%s: %s is not a PEM file", s->key, path);
        g_clear_pointer(out, g_free);
        return ORCHARD_EINVAL;
    }
    return 0;
}

static int load_tls(orchard_http_settings *st, char **error_msg)
{
    int has_cert = value(&s_tls_cert) != NULL;
    int has_key = value(&s_tls_key) != NULL;
    int has_ca = value(&s_tls_client_ca) != NULL;
    int rc;

    if (has_cert != has_key) {
        *error_msg = g_strdup("server.tls_cert and server.tls_key go together: set both "
                              "for HTTPS, or neither");
        return ORCHARD_EINVAL;
    }
    if (has_ca && !has_cert) {
        *error_msg = g_strdup("server.tls_client_ca asks clients for certificates over TLS: "
                              "it needs server.tls_cert and server.tls_key");
        return ORCHARD_EINVAL;
    }
    if (!has_cert)
        return 0;
    if ((rc = read_pem(&s_tls_cert, &st->tls_cert_pem, error_msg)) ||
        (rc = read_pem(&s_tls_key, &st->tls_key_pem, error_msg)))
        return rc;
    return has_ca ? read_pem(&s_tls_client_ca, &st->tls_client_ca_pem, error_msg) : 0;
}

/* ---- numbers */

static int bad(char **error_msg, const orchard_setting *s, const char *want)
{
    *error_msg = g_strdup_printf("%s '%s' is not %s", s->key, value(s), want);
    return ORCHARD_EINVAL;
}

static int load_limits(orchard_http_settings *st, char **error_msg)
{
    guint64 n = 0, ms = 0;
    uint64_t bytes = 0;

    st->threads = 2 * (unsigned)g_get_num_processors();
    if (value(&s_threads)) {
        if (!parse_uint(value(&s_threads), 1, MAX_THREADS, &n))
            return bad(error_msg, &s_threads, "a number from 1 to 1024");
        st->threads = (unsigned)n;
    }
    if (!parse_duration(value(&s_connection_timeout), 1000, &ms))
        return bad(error_msg, &s_connection_timeout, "a duration from 1s to 24h");
    st->timeout_seconds = (unsigned)((ms + 999) / 1000); /* libmicrohttpd counts seconds */
    if (!parse_duration(value(&s_request_timeout), 100, &ms))
        return bad(error_msg, &s_request_timeout, "a duration from 100ms to 24h");
    st->request_timeout_ms = (unsigned)ms;
    /* Each worker thread takes its share of the total: at least one each. */
    if (!parse_uint(value(&s_max_connections), st->threads, MAX_CONNECTIONS, &n))
        return bad(error_msg, &s_max_connections,
                   "a number from server.threads (one per worker thread) to 1000000");
    st->max_connections = (unsigned)n;
    if (!parse_uint(value(&s_max_per_address), 0, MAX_CONNECTIONS, &n))
        return bad(error_msg, &s_max_per_address, "a number (0: no limit)");
    st->max_per_address = (unsigned)n;
    /* Below the body cap, the largest body allowed could never be taken. */
    if (orchard_parse_bytes(value(&s_max_buffered), &bytes) != 0 ||
        bytes < ORCHARD_HTTP_BODY_CAP || bytes > G_MAXSIZE / 2)
        return bad(error_msg, &s_max_buffered, "a size of at least 2MiB (the largest body)");
    st->max_buffered = (size_t)bytes;
    return 0;
}

int orchard_http_settings_load(orchard_http_settings *st, char **error_msg)
{
    int rc;

    memset(st, 0, sizeof *st);
    if ((rc = load_address(st, error_msg)) || (rc = load_limits(st, error_msg)) ||
        (rc = load_tls(st, error_msg))) {
        orchard_http_settings_clear(st);
        return rc;
    }
    return 0;
}

void orchard_http_settings_clear(orchard_http_settings *st)
{
    /* The key is secret: leave no copy of it in freed memory. */
    if (st->tls_key_pem)
        explicit_bzero(st->tls_key_pem, strlen(st->tls_key_pem));
    g_clear_pointer(&st->tls_key_pem, g_free);
    g_clear_pointer(&st->tls_cert_pem, g_free);
    g_clear_pointer(&st->tls_client_ca_pem, g_free);
    g_clear_pointer(&st->address, g_free);
}

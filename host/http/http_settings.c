/* The server.* configuration of `orchard serve`, read and checked before the
 * transport module is loaded so that a typo is reported by key name:
 *   server.address             host:port, [v6]:port or :port (all IPv4
 *                              interfaces); default 127.0.0.1:8080; port 0
 *                              picks a free one
 *   server.tls_cert/tls_key    PEM files, both or neither
 *   server.threads             worker threads, default 2 x CPUs
 *   server.connection_timeout  seconds an idle connection is kept, default 30 */
#include "host/config.h"
#include "host/http/http_internal.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netdb.h>
#include <string.h>

#define DEFAULT_ADDRESS "127.0.0.1:8080"
#define DEFAULT_TIMEOUT 30u
#define MAX_THREADS 1024u
#define PEM_CAP (1024 * 1024)

static const char *cfg(const char *key)
{
    return orchard_config_get(orchard_config_global(), key);
}

/* A whole decimal number in [lo, hi]. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end = NULL;
    guint64 v;

    if (!s || !g_ascii_isdigit(*s))
        return 0;
    v = g_ascii_strtoull(s, &end, 10);
    if (*end || v < lo || v > hi)
        return 0;
    *out = (unsigned)v;
    return 1;
}

/* Split "host:port", "[v6]:port" or ":port"; the host comes back g_malloc'd. */
static int split_address(const char *text, char **host, unsigned *port)
{
    const char *colon;

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
    if (!**host || !parse_uint(colon + 1, 0, 65535, port)) {
        g_clear_pointer(host, g_free);
        return 0;
    }
    return 1;
}

static int load_address(orchard_http_settings *st, char **error_msg)
{
    const char *text = cfg("server.address") ? cfg("server.address") : DEFAULT_ADDRESS;
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

static int read_pem(const char *key, char **out, char **error_msg)
{
    const char *path = cfg(key);
    g_autoptr(GError) err = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, out, &len, &err)) {
        *error_msg = g_strdup_printf("%s: cannot read %s: %s", key, path, err->message);
        return ORCHARD_ENOTFOUND;
    }
    if (len > PEM_CAP || !strstr(*out, "-----BEGIN ")) {
        *error_msg = g_strdup_printf("%s: %s is not a PEM file", key, path);
        g_clear_pointer(out, g_free);
        return ORCHARD_EINVAL;
    }
    return 0;
}

static int load_tls(orchard_http_settings *st, char **error_msg)
{
    int has_cert = cfg("server.tls_cert") && *cfg("server.tls_cert");
    int has_key = cfg("server.tls_key") && *cfg("server.tls_key");
    int rc;

    if (has_cert != has_key) {
        *error_msg = g_strdup("server.tls_cert and server.tls_key go together: set both "
                              "for HTTPS, or neither");
        return ORCHARD_EINVAL;
    }
    if (!has_cert)
        return 0;
    if ((rc = read_pem("server.tls_cert", &st->tls_cert_pem, error_msg)))
        return rc;
    return read_pem("server.tls_key", &st->tls_key_pem, error_msg);
}

static int load_numbers(orchard_http_settings *st, char **error_msg)
{
    const char *threads = cfg("server.threads");
    const char *timeout = cfg("server.connection_timeout");

    st->threads = 2 * (unsigned)g_get_num_processors();
    if (threads && !parse_uint(threads, 1, MAX_THREADS, &st->threads)) {
        *error_msg = g_strdup_printf("server.threads '%s' is not a number from 1 to %u",
                                     threads, MAX_THREADS);
        return ORCHARD_EINVAL;
    }
    st->timeout_seconds = DEFAULT_TIMEOUT;
    if (timeout && !parse_uint(timeout, 1, 86400, &st->timeout_seconds)) {
        *error_msg = g_strdup_printf("server.connection_timeout '%s' is not a number of "
                                     "seconds from 1 to 86400", timeout);
        return ORCHARD_EINVAL;
    }
    return 0;
}

int orchard_http_settings_load(orchard_http_settings *st, char **error_msg)
{
    int rc;

    memset(st, 0, sizeof *st);
    if ((rc = load_address(st, error_msg)) || (rc = load_numbers(st, error_msg)) ||
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
    g_clear_pointer(&st->address, g_free);
}

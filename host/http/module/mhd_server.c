/* orchard_http.so: the HTTP transport the host loads when `orchard serve`
 * starts (host/http/http_serve.c). It owns the libmicrohttpd daemon: a
 * pool of worker threads on poll(2), TLS from PEM bytes (and client
 * certificates), connection limits, and the quiesce/stop steps of a
 * graceful shutdown. It is a module so that libmicrohttpd and
 * GnuTLS stay out of orchard.ext's memory; it calls no host symbol, only the
 * callbacks in its config (http_module.h). */
#include "host/http/module/mhd_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ORCHARD_EXPORT int orchard_http_module_entry(uint32_t version, const orchard_http_module **out);

/* MHD's diagnostics. While MHD_start_daemon runs, the first one is the reason
 * it failed ("Failed to bind to port ..."), so keep it for start's error.
 * Later ones are nearly all about one client's connection (a TLS handshake
 * gone wrong, a timeout), which a public server sees all day: INFO, not
 * WARNING. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    orchard_http_server *srv = cls;
    char msg[512];
    size_t len;

    vsnprintf(msg, sizeof msg, fmt, ap);
    len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    if (atomic_load(&srv->starting)) {
        if (!srv->start_err[0])
            snprintf(srv->start_err, sizeof srv->start_err, "%s", msg);
        return;
    }
    char line[540];
    snprintf(line, sizeof line, "libmicrohttpd: %s", msg);
    srv->cfg->log(ORCHARD_LOG_INFO, line, srv->cfg->ud);
}

static int check_config(const orchard_http_module_config *cfg, char *err, size_t err_len)
{
    if (!cfg || cfg->version != ORCHARD_HTTP_MODULE_VERSION ||
        cfg->struct_size != sizeof *cfg) {
        snprintf(err, err_len, "the host speaks another version of the HTTP module interface");
        return ORCHARD_EABI;
    }
    if (!cfg->addr || !cfg->dispatch || !cfg->release || !cfg->log || cfg->threads == 0 ||
        (cfg->addr->sa_family != AF_INET && cfg->addr->sa_family != AF_INET6)) {
        snprintf(err, err_len, "incomplete HTTP module configuration");
        return ORCHARD_EINVAL;
    }
    if (!cfg->tls_cert_pem != !cfg->tls_key_pem) {
        snprintf(err, err_len, "TLS needs both a certificate and a key");
        return ORCHARD_EINVAL;
    }
    if (cfg->request_timeout_ms == 0 || cfg->max_connections < cfg->threads ||
        cfg->max_buffered < cfg->body_cap) {
        snprintf(err, err_len, "HTTP limits out of range (request timeout, connections or "
                               "buffered bytes)");
        return ORCHARD_EINVAL;
    }
    if (cfg->tls_client_ca_pem && !cfg->tls_cert_pem) {
        snprintf(err, err_len, "client certificates need TLS");
        return ORCHARD_EINVAL;
    }
    if (cfg->tls_cert_pem && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, err_len, "this libmicrohttpd is built without TLS");
        return ORCHARD_EINVAL;
    }
    return 0;
}

static unsigned start_flags(const orchard_http_module_config *cfg)
{
    /* ITC lets MHD_quiesce_daemon wake the workers; the pool threads poll on
     * their own, so a slow handler holds one worker, not the server. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    /* poll(2), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll loop
     * takes a short read to mean "drained", so it misses a client's close
     * that arrives with the last bytes of a body, and the connection (with
     * its buffered body) lingers until a timeout. Level-triggered poll sees
     * the close at once. Its cost per wake-up grows with a worker's
     * connections, which server.max_connections bounds. */
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL;
    if (cfg->addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cfg->tls_cert_pem)
        flags |= MHD_USE_TLS;
    return flags;
}

static uint16_t addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
    return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
}

static int start(const orchard_http_module_config *cfg, orchard_http_server **out,
                 unsigned *port, char *err, size_t err_len)
{
    struct MHD_OptionItem opts[16];
    size_t n = 0;
    orchard_http_server *srv;
    const union MHD_DaemonInfo *info;
    int rc = check_config(cfg, err, err_len);

    if (rc)
        return rc;
    if (!(srv = calloc(1, sizeof *srv))) {
        snprintf(err, err_len, "out of memory");
        return ORCHARD_ENOMEM;
    }
    srv->cfg = cfg;
    srv->quiesced_fd = MHD_INVALID_SOCKET;
    atomic_init(&srv->in_flight, 0);
    atomic_init(&srv->starting, 1);
    /* Before the daemon: the first connection starts its clock. */
    if (orchard_mhd_clock_start(srv) != 0) {
        snprintf(err, err_len, "cannot start the request clock thread");
        free(srv);
        return ORCHARD_EIO;
    }
    /* The logger first, so that a refused option is reported too. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, srv};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)cfg->addr};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK,
                                        (intptr_t)orchard_mhd_unescape, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                        (intptr_t)orchard_mhd_on_completed, srv};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        (intptr_t)cfg->timeout_seconds, NULL};
    /* At the total, MHD stops accepting until a connection closes (the rest
     * wait in the listen backlog); past the per-address limit it accepts
     * and closes at once, so one address cannot take every slot. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                        (intptr_t)cfg->max_connections, NULL};
    if (cfg->max_per_address)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                            (intptr_t)cfg->max_per_address, NULL};
    if (cfg->threads > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                            (intptr_t)cfg->threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                        (intptr_t)orchard_mhd_on_connection, srv};
    if (cfg->tls_cert_pem) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                            (void *)cfg->tls_key_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                            (void *)cfg->tls_cert_pem};
    }
    /* A trust list makes MHD ask every client for a certificate (optional
     * for the client); mhd_conn.c verifies what comes. */
    if (cfg->tls_client_ca_pem)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                            (void *)cfg->tls_client_ca_pem};
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    /* MHD binds SOCK_ADDR and ignores the port argument except in its
     * messages ("Failed to bind to port N"), so give it the real one. */
    srv->daemon = MHD_start_daemon(start_flags(cfg), addr_port(cfg->addr), NULL, NULL,
                                   orchard_mhd_on_request, srv, MHD_OPTION_ARRAY, opts,
                                   MHD_OPTION_END);
    atomic_store(&srv->starting, 0);
    if (!srv->daemon) {
        snprintf(err, err_len, "%s",
                 srv->start_err[0] ? srv->start_err : "libmicrohttpd refused to start");
        orchard_mhd_clock_stop(srv);
        free(srv);
        return ORCHARD_EIO;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    *out = srv;
    return 0;
}

static void quiesce(orchard_http_server *srv)
{
    if (srv->quiesced_fd == MHD_INVALID_SOCKET)
        srv->quiesced_fd = MHD_quiesce_daemon(srv->daemon);
}

static unsigned in_flight(orchard_http_server *srv) { return atomic_load(&srv->in_flight); }

static void stop(orchard_http_server *srv)
{
    if (!srv)
        return;
    MHD_stop_daemon(srv->daemon);
    /* Only now: stopping the daemon closes its connections, which takes
     * them off the clock. */
    orchard_mhd_clock_stop(srv);
    /* A quiesced daemon leaves its listening socket to us. */
    if (srv->quiesced_fd != MHD_INVALID_SOCKET)
        close(srv->quiesced_fd);
    free(srv);
}

static const orchard_http_module module = {
    /* version */ ORCHARD_HTTP_MODULE_VERSION,
    /* struct_size */ (uint32_t)sizeof(orchard_http_module),
    /* start */ start,
    /* quiesce */ quiesce,
    /* in_flight */ in_flight,
    /* stop */ stop,
};

int orchard_http_module_entry(uint32_t version, const orchard_http_module **out)
{
    if (version != ORCHARD_HTTP_MODULE_VERSION)
        return ORCHARD_EABI;
    *out = &module;
    return 0;
}

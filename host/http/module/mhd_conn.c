/* Per-connection state of orchard_http.so, kept in MHD's socket context
 * from the moment a connection is accepted until it closes: the client's
 * TLS certificate (verified once, handed to every request on the
 * connection), and the request clock. libmicrohttpd's own timeout is an idle
 * timeout that every byte resets, so a client trickling a header byte at a
 * time could hold a connection forever; the clock gives each request a
 * deadline from the moment the connection is ready for it, and a thread of
 * ours shuts the socket of a connection that misses it. */
#include "host/http/module/mhd_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The clock thread wakes at least this often, to give memory back after a
 * burst (orchard_mhd_budget_trim). */
#define CLOCK_TICK_US 1000000u

void orchard_mhd_remote_text(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, len, "-");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
}

/* ---- the client certificate */

/* The first certificate the client presented, when it verifies against the
 * trust list MHD loaded from tls_client_ca_pem. MHD only asks for a
 * certificate (GNUTLS_CERT_REQUEST) and GnuTLS does not verify it on its
 * own: an unverified certificate must never pass for a device's identity,
 * so it is dropped here and the request goes on without one. */
static void take_client_cert(orchard_http_server *srv, struct MHD_Connection *conn,
                             mhd_conn *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
    const gnutls_datum_t *peers;
    unsigned n = 0, status = 0;
    gnutls_datum_t why = {NULL, 0};
    char msg[512];

    if (!session || gnutls_certificate_type_get(session) != GNUTLS_CRT_X509)
        return;
    if (!(peers = gnutls_certificate_get_peers(session, &n)) || n == 0)
        return;
    if (gnutls_certificate_verify_peers2(session, &status) < 0 || status != 0) {
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why,
                                                         0) < 0)
            why.data = NULL;
        snprintf(msg, sizeof msg, "%s: a client certificate was ignored: %s", c->remote,
                 why.data ? (const char *)why.data : "it does not verify");
        gnutls_free(why.data);
        srv->cfg->log(ORCHARD_LOG_INFO, msg, srv->cfg->ud);
        return;
    }
    if (!(c->cert_der = malloc(peers[0].size)))
        return; /* no identity rather than a wrong one */
    memcpy(c->cert_der, peers[0].data, peers[0].size);
    c->cert_len = peers[0].size;
}

mhd_conn *orchard_mhd_conn_of(orchard_http_server *srv, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    mhd_conn *c = ci ? ci->socket_context : NULL;

    if (c && !c->cert_checked) {
        c->cert_checked = 1;
        if (srv->cfg->tls_client_ca_pem)
            take_client_cert(srv, conn, c);
    }
    return c;
}

/* ---- the request clock */

/* Under clock_lock. */
static void clock_unlink(orchard_http_server *srv, mhd_conn *c)
{
    if (!c->on_clock)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clock_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        srv->clock_tail = c->prev;
    c->prev = c->next = NULL;
    c->on_clock = 0;
}

/* Every deadline is now + the same timeout, so appending keeps the list in
 * deadline order and the thread only ever looks at its head. */
static void clock_arm(orchard_http_server *srv, mhd_conn *c)
{
    pthread_mutex_lock(&srv->clock_lock);
    clock_unlink(srv, c);
    c->deadline_us = orchard_mhd_now_us() + (uint64_t)srv->cfg->request_timeout_ms * 1000u;
    c->prev = srv->clock_tail;
    if (srv->clock_tail)
        srv->clock_tail->next = c;
    else
        srv->clock_head = c;
    srv->clock_tail = c;
    c->on_clock = 1;
    if (srv->clock_head == c)
        pthread_cond_signal(&srv->clock_cond);
    pthread_mutex_unlock(&srv->clock_lock);
}

static void clock_disarm(orchard_http_server *srv, mhd_conn *c)
{
    pthread_mutex_lock(&srv->clock_lock);
    clock_unlink(srv, c);
    pthread_mutex_unlock(&srv->clock_lock);
}

void orchard_mhd_clock_arm(orchard_http_server *srv, struct MHD_Connection *conn)
{
    mhd_conn *c = orchard_mhd_conn_of(srv, conn);
    if (c)
        clock_arm(srv, c);
}

void orchard_mhd_clock_disarm(orchard_http_server *srv, struct MHD_Connection *conn)
{
    mhd_conn *c = orchard_mhd_conn_of(srv, conn);
    if (c)
        clock_disarm(srv, c);
}

/* Shut down the socket of the connection at the head, which is past its
 * deadline; MHD sees the end of the stream and closes the connection. This
 * runs under clock_lock, and MHD tells us a connection closed (which takes
 * the lock) before it closes the descriptor, so fd is still this
 * connection's. The message is built here and logged once unlocked. */
static void cut_head(orchard_http_server *srv, char *msg, size_t len)
{
    mhd_conn *c = srv->clock_head;

    clock_unlink(srv, c);
    if (shutdown(c->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
        snprintf(msg, len, "%s: cannot close a connection past its request deadline: %s",
                 c->remote, strerror(errno));
    else
        snprintf(msg, len, "%s: closed the connection: no complete request within %u ms",
                 c->remote, srv->cfg->request_timeout_ms);
}

static void *clock_main(void *arg)
{
    orchard_http_server *srv = arg;
    char msg[256];

    pthread_mutex_lock(&srv->clock_lock);
    while (!srv->clock_stop) {
        uint64_t now = orchard_mhd_now_us(), wake = now + CLOCK_TICK_US;
        if (srv->clock_head && srv->clock_head->deadline_us <= now) {
            cut_head(srv, msg, sizeof msg);
            pthread_mutex_unlock(&srv->clock_lock);
            srv->cfg->log(ORCHARD_LOG_INFO, msg, srv->cfg->ud);
            pthread_mutex_lock(&srv->clock_lock);
            continue;
        }
        if (srv->clock_head && srv->clock_head->deadline_us < wake)
            wake = srv->clock_head->deadline_us;
        struct timespec ts = {(time_t)(wake / 1000000u), (long)(wake % 1000000u) * 1000};
        pthread_cond_timedwait(&srv->clock_cond, &srv->clock_lock, &ts);
        pthread_mutex_unlock(&srv->clock_lock);
        orchard_mhd_budget_trim(srv);
        pthread_mutex_lock(&srv->clock_lock);
    }
    pthread_mutex_unlock(&srv->clock_lock);
    return NULL;
}

int orchard_mhd_clock_start(orchard_http_server *srv)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&srv->clock_lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the deadlines' clock */
    pthread_cond_init(&srv->clock_cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&srv->clock_thread, NULL, clock_main, srv) != 0) {
        pthread_cond_destroy(&srv->clock_cond);
        pthread_mutex_destroy(&srv->clock_lock);
        return ORCHARD_EIO;
    }
    srv->clock_running = 1;
    return 0;
}

/* After the daemon stopped: no connection is left on the clock. */
void orchard_mhd_clock_stop(orchard_http_server *srv)
{
    if (!srv->clock_running)
        return;
    pthread_mutex_lock(&srv->clock_lock);
    srv->clock_stop = 1;
    pthread_cond_signal(&srv->clock_cond);
    pthread_mutex_unlock(&srv->clock_lock);
    pthread_join(srv->clock_thread, NULL);
    pthread_cond_destroy(&srv->clock_cond);
    pthread_mutex_destroy(&srv->clock_lock);
    srv->clock_running = 0;
}

/* ---- the connection's life */

static void conn_started(orchard_http_server *srv, struct MHD_Connection *conn,
                         void **socket_context)
{
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    mhd_conn *c = calloc(1, sizeof *c);
    unsigned open = atomic_fetch_add(&srv->conns, 1) + 1;
    unsigned peak = atomic_load(&srv->conns_peak);

    while (open > peak && !atomic_compare_exchange_weak(&srv->conns_peak, &peak, open))
        ;
    if (!c || !fd) {
        /* Without its state a connection would have no deadline: refuse it. */
        free(c);
        if (fd)
            shutdown(fd->connect_fd, SHUT_RDWR);
        return;
    }
    c->fd = fd->connect_fd;
    orchard_mhd_remote_text(conn, c->remote, sizeof c->remote);
    *socket_context = c;
    clock_arm(srv, c);
}

void orchard_mhd_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
    orchard_http_server *srv = cls;
    mhd_conn *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_started(srv, conn, socket_context);
        return;
    }
    atomic_fetch_sub(&srv->conns, 1);
    if (!c)
        return;
    *socket_context = NULL;
    clock_disarm(srv, c);
    free(c->cert_der);
    free(c);
}

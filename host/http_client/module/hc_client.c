/* orchard_http_client.so: the outbound HTTP/2 client the host loads on the
 * first http_client_open (host/http_client/). A client is a few workers, each
 * a libcurl multi handle with one connection per origin that persists
 * between runs (APNs takes rapid reconnects for an attack) and a free list
 * of easy handles that keep their fixed options (TLS, timeouts, callbacks)
 * from call to call. */
#include "host/http_client/module/hc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

ORCHARD_EXPORT int orchard_http_client_module_entry(uint32_t version,
                                                    const orchard_http_client_module **out);

/* An idle connection is reused for up to an hour (libcurl's default is
 * 118 s, which would reconnect a pusher that wakes every few minutes); TCP
 * keepalives hold NAT mappings open meanwhile. */
#define HC_MAX_IDLE_SECONDS 3600L
#define HC_KEEPALIVE_SECONDS 60L
#define HC_UPLOAD_BUFFER 16384L

static int set_blob(struct curl_blob *blob, char **copy, const char *pem)
{
    if (!pem)
        return 0;
    if (!(*copy = strdup(pem)))
        return ORCHARD_ENOMEM;
    /* The client owns the copy for its whole life: no per-handle copies. */
    *blob = (struct curl_blob){.data = *copy, .len = strlen(*copy), .flags = CURL_BLOB_NOCOPY};
    return 0;
}

static void worker_clear(hc_worker *w)
{
    /* Every easy handle left the multi when its call finished. */
    if (w->multi)
        curl_multi_cleanup(w->multi);
    for (size_t i = 0; i < w->n_slots; i++) {
        curl_easy_cleanup(w->slots[i]->easy);
        free(w->slots[i]->nodes);
        free(w->slots[i]);
    }
    free(w->slots);
}

static void hc_close(orchard_http_client *c)
{
    if (!c)
        return;
    for (unsigned i = 0; c->workers && i < c->n_workers; i++)
        worker_clear(&c->workers[i]);
    free(c->workers);
    free(c->cert_pem);
    free(c->key_pem);
    free(c->ca_pem);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* A multi handle that multiplexes on one connection per origin and keeps
 * it between runs (it lives as long as the client). */
static int worker_init(orchard_http_client *c, hc_worker *w)
{
    w->client = c;
    w->window = HC_WINDOW_START;
    if (!(w->multi = curl_multi_init()))
        return ORCHARD_ENOMEM;
    if (curl_multi_setopt(w->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
        curl_multi_setopt(w->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L) != CURLM_OK ||
        curl_multi_setopt(w->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
                          (long)HC_STREAMS_PER_CONNECTION) != CURLM_OK)
        return ORCHARD_EIO;
    return 0;
}

static int hc_open(const orchard_http_client_config *cfg, orchard_http_client **out, char *err,
                   size_t err_len)
{
    orchard_http_client *c = NULL;
    int rc;

    *out = NULL;
    if (!cfg || cfg->struct_size < sizeof *cfg || cfg->connections == 0 ||
        cfg->connections > HC_MAX_WORKERS) {
        snprintf(err, err_len, "the host speaks another version of the client module interface");
        return ORCHARD_EINVAL;
    }
    if ((rc = hc_tls_check(cfg->cert_pem, cfg->key_pem, cfg->ca_pem, err, err_len)) != 0)
        return rc;
    if (!(c = calloc(1, sizeof *c)))
        goto nomem;
    pthread_mutex_init(&c->lock, NULL);
    if (set_blob(&c->cert, &c->cert_pem, cfg->cert_pem) ||
        set_blob(&c->key, &c->key_pem, cfg->key_pem) ||
        set_blob(&c->ca, &c->ca_pem, cfg->ca_pem))
        goto nomem;
    c->timeout_ms = (long)cfg->timeout_ms;
    c->connect_timeout_ms = (long)cfg->connect_timeout_ms;
    c->n_workers = cfg->connections;
    if (!(c->workers = calloc(c->n_workers, sizeof *c->workers)))
        goto nomem;
    for (unsigned i = 0; i < c->n_workers; i++) {
        if ((rc = worker_init(c, &c->workers[i])) != 0) {
            snprintf(err, err_len, rc == ORCHARD_ENOMEM ? "out of memory"
                                   : "libcurl refuses HTTP/2 multiplexing (built without "
                                     "nghttp2?)");
            hc_close(c);
            return rc;
        }
    }
    *out = c;
    return 0;
nomem:
    snprintf(err, err_len, "out of memory");
    hc_close(c);
    return ORCHARD_ENOMEM;
}

static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *worker)
{
    (void)curl;
    hc_wbuf_ssl_ctx(worker, ssl_ctx);
    return CURLE_OK;
}

/* The worker counts its sockets: a write buffer goes only on a connection
 * whose socket is certain (hc_wbuf.c). libcurl keeps these callbacks with
 * the connection, so its closing is seen whichever handle closes it. */
static curl_socket_t on_open_socket(void *worker, curlsocktype purpose,
                                    struct curl_sockaddr *a)
{
    hc_worker *w = worker;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    (void)purpose;
    if (fd != CURL_SOCKET_BAD) {
        if (w->open_sockets < HC_TRACKED_FDS)
            w->fds[w->open_sockets] = fd;
        else
            w->tracking_lost = 1;
        w->open_sockets++;
    }
    return fd;
}

static int on_close_socket(void *worker, curl_socket_t fd)
{
    hc_worker *w = worker;
    int n = w->open_sockets < HC_TRACKED_FDS ? w->open_sockets : HC_TRACKED_FDS;
    for (int i = 0; i < n; i++)
        if (w->fds[i] == fd) {
            w->fds[i] = w->fds[n - 1];
            break;
        }
    /* Once more were open than the list holds, it is trusted again only
     * when every socket has closed. */
    if (--w->open_sockets == 0)
        w->tracking_lost = 0;
    hc_wbuf_socket_closed(w, fd);
    return close(fd);
}

/* The options every call on the worker shares, set once per handle. */
static int slot_setup(hc_worker *w, hc_slot *s)
{
    orchard_http_client *c = w->client;
    CURL *e = s->easy;
    int bad = 0;

    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, s) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
    /* Wait for a stream on a connection that is coming up rather than
     * open another: a burst's first calls would each open one otherwise. */
    bad |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, HC_MAX_IDLE_SECONDS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, HC_KEEPALIVE_SECONDS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, HC_KEEPALIVE_SECONDS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http") != CURLE_OK;
    /* libcurl 7.88 mallocs and frees its upload buffer on every transfer:
     * at the default 64 KiB each free makes glibc consolidate its heap, a
     * fifth of a push's CPU. The smallest size avoids that (an APNs payload
     * is at most 4 KiB, larger bodies just take more writes). */
    bad |= curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, HC_UPLOAD_BUFFER) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hc_on_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, hc_on_header) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, w) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, w) != CURLE_OK;
    if (c->cert_pem) {
        bad |= curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &c->cert) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &c->key) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK;
    }
    if (c->ca_pem) {
        /* Replace the trust store: Debian's libcurl also has a default
         * CA file and directory, which would otherwise still be trusted. */
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &c->ca) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, NULL) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK;
    }
    return bad ? ORCHARD_EIO : 0;
}

hc_slot *hc_slot_take(hc_worker *w)
{
    hc_slot *s = w->free_slots;

    if (s) {
        w->free_slots = s->next_free;
        s->next_free = NULL;
        return s;
    }
    if (w->n_slots == w->cap_slots) {
        size_t cap = w->cap_slots ? w->cap_slots * 2 : 64;
        hc_slot **grown = realloc(w->slots, cap * sizeof *grown);
        if (!grown)
            return NULL;
        w->slots = grown;
        w->cap_slots = cap;
    }
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    if (!(s->easy = curl_easy_init()) || slot_setup(w, s) != 0) {
        curl_easy_cleanup(s->easy);
        free(s);
        return NULL;
    }
    w->slots[w->n_slots++] = s;
    return s;
}

void hc_slot_give(hc_worker *w, hc_slot *s)
{
    s->call = NULL;
    s->next_free = w->free_slots;
    w->free_slots = s;
}

static int run_locked(orchard_http_client *c, orchard_http_call *calls, size_t n, size_t stride)
{
    int rc;

    pthread_mutex_lock(&c->lock);
    rc = hc_run(c, calls, n, stride);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static const orchard_http_client_module module = {
    .version = ORCHARD_HTTP_CLIENT_MODULE_VERSION,
    .struct_size = sizeof(orchard_http_client_module),
    .open = hc_open,
    .run = run_locked,
    .close = hc_close,
};

int orchard_http_client_module_entry(uint32_t version, const orchard_http_client_module **out)
{
    if (version != ORCHARD_HTTP_CLIENT_MODULE_VERSION || !out)
        return ORCHARD_EABI;
    /* Thread-safe in libcurl >= 7.84 (Debian 12 has 7.88); the host calls
     * this once, under its load lock, and never unloads the module. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ORCHARD_EIO;
    *out = &module;
    return 0;
}

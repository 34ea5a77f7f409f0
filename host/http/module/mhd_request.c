/* One request's life inside libmicrohttpd: the access handler gathers the
 * body up to the host's cap (an over-long Content-Length is refused before a
 * byte of the body is read, so it is never buffered), hands the complete
 * request to the host's dispatch, and copies the host's answer into an MHD
 * response. The completion callback reports the request to the access log. */
#include "host/http/module/mhd_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A chunked upload that outgrows the cap is read and thrown away so that the
 * client gets its 413 (MHD can only answer once the upload is over); one that
 * goes on past this many more bytes is cut off instead. */
#define DRAIN_LIMIT ((size_t)8 * 1024 * 1024)
#define FIRST_CHUNK ((size_t)16 * 1024)

static const char too_big_text[] = "request body too large\n";
static const char failed_text[] = "internal server error\n";

typedef struct {
    uint64_t start_us;
    char *method;
    char *path;
    char remote[INET6_ADDRSTRLEN];
    unsigned char *body;
    size_t len;
    size_t cap;
    int too_big;
    size_t drained;
    unsigned status;
    uint64_t bytes;
} mhd_request;

typedef struct {
    orchard_http_pair *v;
    size_t n;
    size_t cap;
} pair_list;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void remote_text(struct MHD_Connection *conn, char *out, size_t len)
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

static void request_free(mhd_request *r)
{
    free(r->method);
    free(r->path);
    free(r->body);
    free(r);
}

/* MHD's url and method live in the connection's pool, which is recycled when
 * the request ends; the access log runs at that moment, so keep copies. */
static mhd_request *request_new(struct MHD_Connection *conn, const char *url,
                                const char *method)
{
    mhd_request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->start_us = now_us();
    r->method = strdup(method ? method : "");
    r->path = strdup(url ? url : "");
    if (!r->method || !r->path) {
        request_free(r);
        return NULL;
    }
    remote_text(conn, r->remote, sizeof r->remote);
    return r;
}

/* The declared Content-Length when it is over the cap (1), else 0 with
 * *declared set. A chunked body declares nothing and is measured as it comes;
 * a malformed length never gets here (MHD answers 400 itself). */
static int declared_too_big(struct MHD_Connection *conn, size_t cap, size_t *declared)
{
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    unsigned long long v;

    *declared = 0;
    if (te || !cl)
        return 0;
    v = strtoull(cl, &end, 10);
    if (end == cl)
        return 0;
    if (v > cap)
        return 1;
    *declared = (size_t)v;
    return 0;
}

static enum MHD_Result queue(orchard_http_server *srv, struct MHD_Connection *conn,
                             mhd_request *r, unsigned status, const char *content_type,
                             const void *body, size_t len, const orchard_http_pair *headers,
                             size_t n_headers)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    for (size_t i = 0; i < n_headers; i++)
        if (MHD_add_response_header(resp, headers[i].name, headers[i].value) != MHD_YES)
            srv->cfg->log(ORCHARD_LOG_WARNING, "libmicrohttpd refused a response header",
                          srv->cfg->ud);
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        r->status = status;
        r->bytes = len;
    }
    return ret;
}

static enum MHD_Result queue_text(orchard_http_server *srv, struct MHD_Connection *conn,
                                  mhd_request *r, unsigned status, const char *text)
{
    return queue(srv, conn, r, status, "text/plain; charset=utf-8", text, strlen(text), NULL,
                 0);
}

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    pair_list *l = cls;
    (void)kind;
    if (key && l->n < l->cap) {
        l->v[l->n].name = key;
        l->v[l->n].value = value ? value : "";
        l->n++;
    }
    return MHD_YES;
}

static int collect_all(struct MHD_Connection *conn, enum MHD_ValueKind kind, pair_list *l)
{
    int n = MHD_get_connection_values(conn, kind, NULL, NULL);
    l->cap = n > 0 ? (size_t)n : 0;
    if (l->cap && !(l->v = calloc(l->cap, sizeof *l->v)))
        return -1;
    MHD_get_connection_values(conn, kind, collect, l);
    return 0;
}

static enum MHD_Result dispatch(orchard_http_server *srv, struct MHD_Connection *conn,
                                mhd_request *r)
{
    const orchard_http_module_config *cfg = srv->cfg;
    pair_list query = {0}, headers = {0};
    orchard_http_response *resp;
    enum MHD_Result ret;

    if (collect_all(conn, MHD_GET_ARGUMENT_KIND, &query) ||
        collect_all(conn, MHD_HEADER_KIND, &headers)) {
        ret = queue_text(srv, conn, r, 500, failed_text);
        goto out;
    }
    const orchard_http_request req = {
        r->method, r->path, query.v, query.n, headers.v, headers.n,
        r->body ? r->body : (const unsigned char *)"", r->len, r->remote,
    };
    resp = cfg->dispatch(&req, cfg->ud);
    if (!resp) {
        ret = queue_text(srv, conn, r, 500, failed_text);
        goto out;
    }
    ret = queue(srv, conn, r, (unsigned)resp->status, resp->content_type, resp->body,
                resp->body_len, resp->headers, resp->n_headers);
    cfg->release(resp, cfg->ud);
out:
    free(query.v);
    free(headers.v);
    /* The answer is built: the body need not live while it is sent. */
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    return ret;
}

static enum MHD_Result begin(orchard_http_server *srv, struct MHD_Connection *conn,
                             const char *url, const char *method, void **con_cls)
{
    mhd_request *r = request_new(conn, url, method);
    size_t declared;

    if (!r)
        return MHD_NO;
    *con_cls = r;
    atomic_fetch_add(&srv->in_flight, 1);
    /* Answering now, before MHD sends "100 Continue" or reads the body, is
     * what keeps an oversized upload off the wire and out of memory. */
    if (declared_too_big(conn, srv->cfg->body_cap, &declared))
        return queue_text(srv, conn, r, 413, too_big_text);
    if (declared) {
        if (!(r->body = malloc(declared)))
            return queue_text(srv, conn, r, 500, failed_text);
        r->cap = declared;
    }
    return MHD_YES;
}

/* Take one piece of the upload. Returns 0 when the connection should close. */
static int take_body(orchard_http_server *srv, mhd_request *r, const char *data, size_t n)
{
    size_t cap = srv->cfg->body_cap;

    if (!r->too_big && n > cap - r->len) {
        r->too_big = 1;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
    }
    if (r->too_big) {
        r->drained += n;
        return r->drained <= DRAIN_LIMIT;
    }
    if (n > r->cap - r->len) {
        size_t want = r->cap ? r->cap * 2 : FIRST_CHUNK;
        if (want < r->len + n)
            want = r->len + n;
        if (want > cap)
            want = cap;
        unsigned char *grown = realloc(r->body, want);
        if (!grown)
            return 0;
        r->body = grown;
        r->cap = want;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return 1;
}

enum MHD_Result orchard_mhd_on_request(void *cls, struct MHD_Connection *conn,
                                       const char *url, const char *method,
                                       const char *version, const char *upload_data,
                                       size_t *upload_data_size, void **con_cls)
{
    orchard_http_server *srv = cls;
    mhd_request *r = *con_cls;

    (void)version;
    if (!r)
        return begin(srv, conn, url, method, con_cls);
    if (*upload_data_size) {
        int keep = take_body(srv, r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    if (r->status)
        return MHD_YES; /* answered early (413 on the headers); MHD finishes it */
    if (r->too_big)
        return queue_text(srv, conn, r, 413, too_big_text);
    return dispatch(srv, conn, r);
}

void orchard_mhd_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    orchard_http_server *srv = cls;
    mhd_request *r = *con_cls;

    (void)conn;
    if (!r)
        return;
    *con_cls = NULL;
    if (srv->cfg->access) {
        const orchard_http_access rec = {
            r->remote, r->method, r->path, r->status, r->bytes, now_us() - r->start_us,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK,
        };
        srv->cfg->access(&rec, srv->cfg->ud);
    }
    request_free(r);
    /* Last: once this reaches 0 the host may stop the daemon and unload us. */
    atomic_fetch_sub(&srv->in_flight, 1);
}

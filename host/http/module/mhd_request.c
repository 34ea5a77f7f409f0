/* One request's life inside libmicrohttpd: the access handler checks the
 * request's framing and its declared body against its route's cap and the
 * budget for buffered bodies (all before a byte of the body is read, so a
 * refused body is never buffered), gathers the body, hands the complete
 * request to the host's dispatch, and copies the host's answer into an MHD
 * response. The completion callback reports the request to the access log. */
#include "host/http/module/mhd_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An upload over its cap (or a chunked one over the budget) that the client
 * is sending anyway is read and thrown away so that the client gets its 413
 * or 503: MHD can only answer once the upload is over, and closing on unread
 * bytes resets the connection before the client reads the answer. One more
 * than this many bytes over is cut off instead. */
#define DRAIN_LIMIT ((size_t)8 * 1024 * 1024)
#define FIRST_CHUNK ((size_t)16 * 1024)

static const char too_big_text[] = "request body too large\n";
static const char busy_text[] = "server busy: too many request bodies in flight, retry later\n";
static const char failed_text[] = "internal server error\n";

/* Bodies in flight drain within seconds: ask a refused client to come back then. */
static const orchard_http_pair retry_after[] = {{"Retry-After", "5"}};
/* A request whose framing is in doubt leaves the connection unusable. */
static const orchard_http_pair close_conn[] = {{"Connection", "close"}};

typedef struct {
    uint64_t start_us;
    char *method;
    char *path;
    char remote[INET6_ADDRSTRLEN];
    unsigned char *body;
    size_t len;
    size_t cap;
    size_t body_cap; /* this request's: its route's, within the budget */
    size_t declared; /* Content-Length; 0 for chunked or none */
    size_t charged;  /* bytes reserved in the budget */
    int too_big;     /* over the cap: draining for a 413 */
    int over_budget; /* a chunked body outgrew the budget: draining for a 503 */
    size_t drained;
    size_t drain_max; /* cut the connection past this many drained bytes */
    unsigned status;
    uint64_t bytes;
} mhd_request;

typedef struct {
    orchard_http_pair *v;
    size_t n;
    size_t cap;
} pair_list;

/* The buffered body goes, and its bytes go back to the budget. */
static void drop_body(orchard_http_server *srv, mhd_request *r)
{
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    orchard_mhd_budget_give(srv, r->charged);
    r->charged = 0;
}

static void request_free(orchard_http_server *srv, mhd_request *r)
{
    drop_body(srv, r);
    free(r->method);
    free(r->path);
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
    r->start_us = orchard_mhd_now_us();
    r->method = strdup(method ? method : "");
    r->path = strdup(url ? url : "");
    if (!r->method || !r->path) {
        free(r->method);
        free(r->path);
        free(r);
        return NULL;
    }
    orchard_mhd_remote_text(conn, r->remote, sizeof r->remote);
    return r;
}

/* ---- the request's framing */

typedef struct {
    unsigned n_length, n_encoding;
    const char *encoding;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    framing *f = cls;
    (void)kind;
    if (key && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->n_length++;
    if (key && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_encoding++;
        f->encoding = value ? value : "";
    }
    return MHD_YES;
}

/* Why the body's length is ambiguous, or NULL when it is not. libmicrohttpd
 * 0.9.75 reads the first Content-Length of several, and ignores
 * Content-Length beside Transfer-Encoding; a proxy in front may have read
 * the other one, and then the rest of "our" body is the next request it
 * thinks it sent (request smuggling). So exactly one framing is accepted:
 * even identical duplicate Content-Lengths are refused, which RFC 9110
 * allows and no client we serve sends. An encoding other than plain
 * "chunked" is refused too: libmicrohttpd would read such a body until the
 * connection closes. */
static const char *framing_error(struct MHD_Connection *conn)
{
    framing f = {0, 0, NULL};

    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.n_length && f.n_encoding)
        return "bad request: Content-Length and Transfer-Encoding together\n";
    if (f.n_length > 1)
        return "bad request: more than one Content-Length\n";
    if (f.n_encoding > 1 || (f.n_encoding && strcasecmp(f.encoding, "chunked") != 0))
        return "bad request: a Transfer-Encoding other than chunked\n";
    return NULL;
}

/* Did the client send "Expect: 100-continue" (then it waits for an answer
 * before it sends the body)? */
static int expects_continue(struct MHD_Connection *conn)
{
    const char *e = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return e && strcasecmp(e, "100-continue") == 0;
}

/* 1 when the declared Content-Length is over the cap, else 0; *declared is
 * the length either way (clamped to SIZE_MAX), 0 without one. A chunked body
 * declares nothing and is measured as it comes; a malformed length never
 * gets here (MHD answers 400 itself). */
static int declared_too_big(struct MHD_Connection *conn, size_t cap, size_t *declared)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    unsigned long long v;

    *declared = 0;
    if (!cl)
        return 0;
    v = strtoull(cl, &end, 10);
    if (end == cl)
        return 0;
    *declared = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
    return v > cap;
}

/* ---- answers */

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
                                  mhd_request *r, unsigned status, const char *text,
                                  const orchard_http_pair *headers, size_t n_headers)
{
    return queue(srv, conn, r, status, "text/plain; charset=utf-8", text, strlen(text),
                 headers, n_headers);
}

static enum MHD_Result queue_busy(orchard_http_server *srv, struct MHD_Connection *conn,
                                  mhd_request *r)
{
    return queue_text(srv, conn, r, 503, busy_text, retry_after, 1);
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
        ret = queue_text(srv, conn, r, 500, failed_text, NULL, 0);
        goto out;
    }
    mhd_conn *c = orchard_mhd_conn_of(srv, conn);
    const orchard_http_request req = {
        .method = r->method,
        .path = r->path,
        .query = query.v,
        .n_query = query.n,
        .headers = headers.v,
        .n_headers = headers.n,
        .body = r->body ? r->body : (const unsigned char *)"",
        .body_len = r->len,
        .remote_addr = r->remote,
        .client_cert_der = c ? c->cert_der : NULL,
        .client_cert_len = c ? c->cert_len : 0,
    };
    resp = cfg->dispatch(&req, cfg->ud);
    if (!resp) {
        ret = queue_text(srv, conn, r, 500, failed_text, NULL, 0);
        goto out;
    }
    ret = queue(srv, conn, r, (unsigned)resp->status, resp->content_type, resp->body,
                resp->body_len, resp->headers, resp->n_headers);
    cfg->release(resp, cfg->ud);
out:
    free(query.v);
    free(headers.v);
    /* The answer is built: the body need not live while it is sent. */
    drop_body(srv, r);
    return ret;
}

/* ---- the access handler */

/* The route decides how large a body it takes (a command report may be
 * megabytes, most requests are small), but never more than the budget
 * holds: a body the budget could never take is too big, not "busy". */
static size_t body_cap_of(const orchard_http_module_config *cfg, const mhd_request *r)
{
    size_t cap = cfg->body_cap_for ? cfg->body_cap_for(r->method, r->path, cfg->ud)
                                   : cfg->body_cap;
    return cap > cfg->max_buffered ? cfg->max_buffered : cap;
}

/* 1 when the decoded path holds a control byte (a "%00" decodes to DEL,
 * see orchard_mhd_unescape): no route has one, and a path that a NUL would
 * cut short must not reach a route as its shorter prefix. */
static int path_has_control(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

static size_t hex_value(char c)
{
    return c <= '9' ? (size_t)(c - '0') : (size_t)((c | 0x20) - 'a' + 10);
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

size_t orchard_mhd_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *w = s;
    (void)cls, (void)conn;
    for (const char *r = s; *r;) {
        if (r[0] == '%' && is_hex(r[1]) && is_hex(r[2])) {
            size_t v = hex_value(r[1]) << 4 | hex_value(r[2]);
            /* MHD's own unescaping writes the NUL, which ends the path early
             * ("/x/manifest.plist%00.png" served as "/x/manifest.plist") */
            *w++ = v ? (char)v : (char)0x7f;
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* The answer to a body refused (too_big or over_budget set): 413 over its
 * cap, 503 with Retry-After over the budget. */
static enum MHD_Result queue_refusal(orchard_http_server *srv, struct MHD_Connection *conn,
                                     mhd_request *r)
{
    return r->too_big ? queue_text(srv, conn, r, 413, too_big_text, NULL, 0)
                      : queue_busy(srv, conn, r);
}

/* A declared body refused on its headers. A client that waits for "100
 * Continue" has not sent it: answered now. One that did not is sending it
 * already, and answered now the close would reset its connection, often
 * before it reads the answer: its body is read and thrown away first (no
 * memory, no budget), unless `cut` (too much to read). */
static enum MHD_Result refuse_declared(orchard_http_server *srv, struct MHD_Connection *conn,
                                       mhd_request *r, int cut)
{
    if (cut || expects_continue(conn))
        return queue_refusal(srv, conn, r);
    r->drain_max = r->declared;
    r->declared = 0;
    return MHD_YES;
}

/* The headers are in. Answering now, before MHD sends "100 Continue" or
 * reads the body, keeps a refused upload off the wire and out of memory
 * (refuse_declared says when a body is drained instead); MHD closes a
 * connection answered this early once the answer is out. */
static enum MHD_Result begin(orchard_http_server *srv, struct MHD_Connection *conn,
                             const char *url, const char *method, void **con_cls)
{
    mhd_request *r = request_new(conn, url, method);
    const char *bad;

    if (!r)
        return MHD_NO;
    *con_cls = r;
    atomic_fetch_add(&srv->in_flight, 1);
    if ((bad = framing_error(conn)))
        return queue_text(srv, conn, r, 400, bad, close_conn, 1);
    if (path_has_control(r->path))
        return queue_text(srv, conn, r, 400, "bad request: a control character in the path\n",
                          close_conn, 1);
    r->body_cap = body_cap_of(srv->cfg, r);
    if (declared_too_big(conn, r->body_cap, &r->declared)) {
        r->too_big = 1;
        return refuse_declared(srv, conn, r, r->declared - r->body_cap > DRAIN_LIMIT);
    }
    if (r->declared) {
        if (!orchard_mhd_budget_take(srv, r->declared)) {
            r->over_budget = 1; /* it fits the cap: never too much to drain */
            return refuse_declared(srv, conn, r, 0);
        }
        r->charged = r->declared;
    }
    return MHD_YES;
}

/* Room for n more bytes: a declared body's whole length (reserved on the
 * headers), a chunked one's by doubling, reserved as it grows. Returns 1,
 * 0 (out of memory) or -1 (the budget has no room). */
static int grow(orchard_http_server *srv, mhd_request *r, size_t n)
{
    size_t want = r->declared ? r->declared : r->cap ? r->cap * 2 : FIRST_CHUNK;
    unsigned char *grown;

    if (want < r->len + n)
        want = r->len + n;
    if (want > r->body_cap)
        want = r->body_cap;
    if (want > r->charged) {
        if (!orchard_mhd_budget_take(srv, want - r->charged))
            return -1;
        r->charged = want;
    }
    if (!(grown = realloc(r->body, want)))
        return 0;
    r->body = grown;
    r->cap = want;
    return 1;
}

/* Take one piece of the upload. Returns 0 when the connection should close. */
static int take_body(orchard_http_server *srv, mhd_request *r, const char *data, size_t n)
{
    if (!r->too_big && !r->over_budget && n > r->body_cap - r->len) {
        r->too_big = 1;
        drop_body(srv, r);
    }
    if (!r->too_big && !r->over_budget && n > r->cap - r->len) {
        int rc = grow(srv, r, n);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            r->over_budget = 1;
            drop_body(srv, r);
        }
    }
    if (r->too_big || r->over_budget) {
        r->drained += n;
        return r->drained <= (r->drain_max ? r->drain_max : DRAIN_LIMIT);
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
    /* The whole request is in: its deadline is met, the handler's time is not
     * the client's. */
    orchard_mhd_clock_disarm(srv, conn);
    if (r->status)
        return MHD_YES; /* answered early (on the headers); MHD finishes it */
    if (r->too_big || r->over_budget)
        return queue_refusal(srv, conn, r);
    return dispatch(srv, conn, r);
}

void orchard_mhd_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    orchard_http_server *srv = cls;
    mhd_request *r = *con_cls;

    if (!r)
        return;
    *con_cls = NULL;
    /* On a kept-alive connection the next request's clock starts now. */
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        orchard_mhd_clock_arm(srv, conn);
    if (srv->cfg->access) {
        const orchard_http_access rec = {
            r->remote, r->method, r->path, r->status, r->bytes,
            orchard_mhd_now_us() - r->start_us, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK,
        };
        srv->cfg->access(&rec, srv->cfg->ud);
    }
    request_free(srv, r);
    /* Last: once this reaches 0 the host may stop the daemon and unload us. */
    atomic_fetch_sub(&srv->in_flight, 1);
}

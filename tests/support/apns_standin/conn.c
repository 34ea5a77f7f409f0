/* One APNs stand-in connection: a non-blocking TLS socket carrying an
 * nghttp2 server session. Bytes move through nghttp2's mem_recv/mem_send so
 * the event loop (main.c) alone decides when the socket is read or written;
 * each finished request stream is judged (check.c) and answered. */
#include "standin.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>

/* Output is gathered up to this much before a TLS write, so one record
 * carries many small responses. */
#define OUT_FLUSH (64 * 1024)

struct standin_conn {
    int fd;
    SSL *ssl;
    nghttp2_session *h2;        /* NULL until the handshake is done */
    const standin_server_options *opts;
    unsigned long number;       /* 1-based, in handshake order */
    unsigned long resets;       /* RST_STREAMs the client sent */
    double accepted;            /* standin_now() at accept */
    unsigned char *out;         /* TLS plaintext waiting to be written */
    size_t out_len, out_off, out_cap;
};

typedef struct stream {
    standin_request req;
    char answer[160];           /* the JSON error body */
    size_t answer_len, answer_off;
} stream;

static const char *const HEADER_NAMES[STANDIN_H_COUNT] = {
    [STANDIN_H_METHOD] = ":method",
    [STANDIN_H_PATH] = ":path",
    [STANDIN_H_TOPIC] = "apns-topic",
    [STANDIN_H_PUSH_TYPE] = "apns-push-type",
    [STANDIN_H_EXPIRATION] = "apns-expiration",
    [STANDIN_H_PRIORITY] = "apns-priority",
    [STANDIN_H_ID] = "apns-id",
    [STANDIN_H_COLLAPSE_ID] = "apns-collapse-id",
};

static void stream_free(stream *s)
{
    if (!s)
        return;
    for (int i = 0; i < STANDIN_H_COUNT; i++)
        free(s->req.header[i]);
    free(s);
}

/* ---- nghttp2 callbacks */

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    stream *s = calloc(1, sizeof *s);
    if (!s)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(h2, frame->hd.stream_id, s);
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)flags;
    (void)user;
    stream *s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (!s || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    for (int i = 0; i < STANDIN_H_COUNT; i++) {
        if (strlen(HEADER_NAMES[i]) != namelen || memcmp(HEADER_NAMES[i], name, namelen) != 0)
            continue;
        if (s->req.seen[i]++ == 0) {
            s->req.header[i] = strndup((const char *)value, valuelen);
            if (!s->req.header[i])
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user)
{
    (void)flags;
    (void)user;
    stream *s = nghttp2_session_get_stream_user_data(h2, stream_id);
    if (!s)
        return 0;
    /* Keep one byte past the limit (enough to know it is too large) and
     * count the rest: a hostile client cannot make us buffer more. */
    size_t room = sizeof s->req.body - s->req.body_len;
    size_t take = len < room ? len : room;
    memcpy(s->req.body + s->req.body_len, data, take);
    s->req.body_len += take;
    s->req.body_total += len;
    return 0;
}

static ssize_t read_answer(nghttp2_session *h2, int32_t stream_id, uint8_t *buf, size_t length,
                           uint32_t *data_flags, nghttp2_data_source *source, void *user)
{
    (void)h2;
    (void)stream_id;
    (void)user;
    stream *s = source->ptr;
    size_t n = s->answer_len - s->answer_off;
    if (n > length)
        n = length;
    memcpy(buf, s->answer + s->answer_off, n);
    s->answer_off += n;
    if (s->answer_off == s->answer_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

#define NV(n, v) \
    { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

static int respond(nghttp2_session *h2, int32_t stream_id, stream *s, standin_conn *c)
{
    standin_verdict v;
    standin_check(&s->req, c->opts->topic, &v);
    standin_rules_apply(&v);
    standin_pushes++;
    standin_record(&s->req, &v, c->number);

    char status[4];
    snprintf(status, sizeof status, "%d", v.status);
    if (v.status == 200) {
        nghttp2_nv ok[] = {NV(":status", status), NV("apns-id", v.apns_id)};
        return nghttp2_submit_response(h2, stream_id, ok, 2, NULL);
    }
    int n;
    if (v.status == 410) /* Apple adds when it learnt the token was dead, in ms */
        n = snprintf(s->answer, sizeof s->answer, "{\"reason\":\"%s\",\"timestamp\":%lld}",
                     v.reason, (long long)time(NULL) * 1000);
    else
        n = snprintf(s->answer, sizeof s->answer, "{\"reason\":\"%s\"}", v.reason);
    s->answer_len = n > 0 && (size_t)n < sizeof s->answer ? (size_t)n : 0;
    nghttp2_nv err[] = {NV(":status", status), NV("apns-id", v.apns_id),
                        NV("content-type", "application/json")};
    nghttp2_data_provider body = {.source.ptr = s, .read_callback = read_answer};
    return nghttp2_submit_response(h2, stream_id, err, 3, &body);
}

/* GOAWAY either way ends a connection: say so, with the error code, since a
 * test or a benchmark looking at a dropped connection needs to know who quit. */
static void log_goaway(const standin_conn *c, const nghttp2_frame *frame, const char *who)
{
    fprintf(stderr, "apns_standin: connection %lu: %s GOAWAY (%s, last stream %d)\n", c->number,
            who, nghttp2_http2_strerror(frame->goaway.error_code), frame->goaway.last_stream_id);
}

static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
    (void)h2;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        log_goaway(user, frame, "sent");
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
    if (frame->hd.type == NGHTTP2_GOAWAY)
        log_goaway(user, frame, "the client sent");
    if (frame->hd.type == NGHTTP2_RST_STREAM)
        ((standin_conn *)user)->resets++;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    stream *s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (!s)
        return 0;
    if (respond(h2, frame->hd.stream_id, s, user) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code, void *user)
{
    (void)error_code;
    (void)user;
    stream_free(nghttp2_session_get_stream_user_data(h2, stream_id));
    nghttp2_session_set_stream_user_data(h2, stream_id, NULL);
    return 0;
}

static int start_session(standin_conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return -1;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    /* nghttp2 answers a burst of client RST_STREAMs (1000, then 33/s) with
     * GOAWAY, against "rapid reset" floods. A pusher that resets each stream
     * it is done with is wasteful, not hostile, and APNs is not known to drop
     * it: allow it here, and count the resets (logged when the connection ends). */
    nghttp2_option *opt = NULL;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        return -1;
    }
    nghttp2_option_set_stream_reset_rate_limit(opt, UINT64_MAX / 2, UINT64_MAX / 2);
    int rv = nghttp2_session_server_new2(&c->h2, cb, c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->opts->max_streams},
    };
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1) != 0)
        return -1;
    /* A wide connection window: many streams' small bodies arrive at once. */
    return nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 16 << 20);
}

/* ---- the connection */

standin_conn *standin_conn_new(int fd, SSL_CTX *ctx, const standin_server_options *opts)
{
    standin_conn *c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    c->fd = fd;
    c->opts = opts;
    c->accepted = standin_now();
    c->ssl = SSL_new(ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1)
        goto fail;
    SSL_set_accept_state(c->ssl);
    return c;
fail:
    if (c && c->ssl)
        SSL_free(c->ssl);
    free(c);
    close(fd);
    return NULL;
}

int standin_conn_fd(const standin_conn *c)
{
    return c->fd;
}

double standin_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int standin_conn_stalled(const standin_conn *c, double now, double seconds)
{
    return !c->h2 && now - c->accepted > seconds;
}

void standin_conn_free(standin_conn *c)
{
    if (!c)
        return;
    if (c->resets)
        fprintf(stderr, "apns_standin: connection %lu: the client reset %lu streams\n", c->number,
                c->resets);
    nghttp2_session_del(c->h2); /* closes its streams, freeing their data */
    SSL_free(c->ssl);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Log why a connection ends, once, briefly: hostile clients are expected. */
static int drop(standin_conn *c, const char *why)
{
    char buf[160] = "";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    if (c->number)
        fprintf(stderr, "apns_standin: connection %lu closed: %s%s%s\n", c->number, why,
                *buf ? ": " : "", buf);
    else
        fprintf(stderr, "apns_standin: a client closed: %s%s%s\n", why, *buf ? ": " : "", buf);
    ERR_clear_error();
    return 0;
}

/* 1: done or would block (*want_write says which way), 0: failed. */
static int handshake(standin_conn *c, int *want_write)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r != 1) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            *want_write = e == SSL_ERROR_WANT_WRITE;
            return 1;
        }
        return drop(c, "TLS handshake failed");
    }
    c->number = ++standin_connections;
    if (start_session(c) != 0)
        return drop(c, "cannot start an HTTP/2 session");
    return 1;
}

/* Read what TLS has; 1 to go on, 0 when the connection is over. */
static int pull(standin_conn *c, int *want_write)
{
    unsigned char buf[16384];
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(c->ssl, buf, sizeof buf);
        if (n > 0) {
            ssize_t rv = nghttp2_session_mem_recv(c->h2, buf, (size_t)n);
            if (rv < 0)
                return drop(c, nghttp2_strerror((int)rv));
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            return 1;
        if (e == SSL_ERROR_WANT_WRITE) {
            *want_write = 1;
            return 1;
        }
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0; /* the client said goodbye */
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
            return 0; /* it just left, maybe mid-frame */
        return drop(c, "TLS read failed");
    }
}

/* Write pending output, refilling from nghttp2; 1 to go on, 0 on failure. */
static int push(standin_conn *c, int *want_write)
{
    for (;;) {
        while (c->out_off < c->out_len) {
            ERR_clear_error();
            int n = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
            if (n > 0) {
                c->out_off += (size_t)n;
                continue;
            }
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                *want_write = e == SSL_ERROR_WANT_WRITE;
                return 1;
            }
            return e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 ? 0 : drop(c, "TLS write failed");
        }
        c->out_off = c->out_len = 0;
        while (c->out_len < OUT_FLUSH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->h2, &data);
            if (n < 0)
                return drop(c, nghttp2_strerror((int)n));
            if (n == 0)
                break;
            if (c->out_len + (size_t)n > c->out_cap) {
                size_t cap = c->out_cap ? c->out_cap : OUT_FLUSH;
                while (cap < c->out_len + (size_t)n)
                    cap *= 2;
                unsigned char *p = realloc(c->out, cap);
                if (!p)
                    return drop(c, "out of memory");
                c->out = p;
                c->out_cap = cap;
            }
            memcpy(c->out + c->out_len, data, (size_t)n);
            c->out_len += (size_t)n;
        }
        if (c->out_len == 0)
            return 1;
    }
}

int standin_conn_io(standin_conn *c, int *want_write)
{
    *want_write = 0;
    if (!c->h2) {
        if (!handshake(c, want_write))
            return 0;
        if (!c->h2)
            return 1;
    }
    int alive = pull(c, want_write);
    int wrote_blocked = 0;
    if (!push(c, &wrote_blocked))
        return 0;
    *want_write |= wrote_blocked;
    if (!alive)
        return 0;
    /* nghttp2 is done after a GOAWAY both ways, or a fatal protocol error. */
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2) &&
        c->out_off == c->out_len)
        return 0;
    return 1;
}

/* Gathering a connection's TLS writes into one send(2) per pass of the run
 * loop. libcurl 7.88 hands every HTTP/2 frame to OpenSSL as nghttp2 makes
 * it, so each push cost three sends (HEADERS, DATA, RST_STREAM) and the
 * peer three reads: most of both sides' CPU (bench/apns/README.md). Once a
 * connection's handshake is done its write BIO becomes a buffer that the
 * worker flushes straight to the socket after each pass; reads still go
 * through libcurl's own BIO. */
#include "host/http_client/module/hc_internal.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WBUF_CAP 65536

struct hc_wbuf {
    hc_worker *w;
    int fd;                    /* -1 once the socket failed or closed */
    size_t len;
    struct hc_wbuf *next, **prev;
    unsigned char buf[WBUF_CAP];
};

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *method;
static int method_type = -1; /* BIO_method_type() of ours */
static int ctx_index = -1;

/* 1 all sent, 0 some left (the socket is full), -1 the socket failed. */
static int wbuf_send(hc_wbuf *b)
{
    while (b->len) {
        ssize_t r = send(b->fd, b->buf, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            b->len -= (size_t)r;
            memmove(b->buf, b->buf + r, b->len);
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            /* libcurl learns of it from the next write and ends the connection. */
            b->fd = -1;
            b->len = 0;
            return -1;
        }
    }
    return 1;
}

static int bio_write(BIO *bio, const char *data, int n)
{
    hc_wbuf *b = BIO_get_data(bio);
    size_t room;

    BIO_clear_retry_flags(bio);
    if (!b || b->fd < 0 || n < 0)
        return -1;
    if (b->len + (size_t)n > WBUF_CAP && wbuf_send(b) < 0)
        return -1;
    if (!(room = WBUF_CAP - b->len)) {
        BIO_set_retry_write(bio);
        return -1;
    }
    /* OpenSSL writes the rest of a record again when told only part went. */
    if ((size_t)n > room)
        n = (int)room;
    memcpy(b->buf + b->len, data, (size_t)n);
    b->len += (size_t)n;
    return n;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    hc_wbuf *b = BIO_get_data(bio);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: {
        int r = b && b->fd >= 0 ? wbuf_send(b) : -1;
        if (r == 0)
            BIO_set_retry_write(bio);
        return r > 0 ? 1 : -1;
    }
    case BIO_CTRL_WPENDING:
        return b ? (long)b->len : 0;
    case BIO_CTRL_GET_CLOSE:
    case BIO_CTRL_SET_CLOSE:
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;
    }
}

static void unlink_wbuf(hc_wbuf *b)
{
    if (b->prev) {
        *b->prev = b->next;
        if (b->next)
            b->next->prev = b->prev;
        b->prev = NULL;
        b->next = NULL;
    }
}

/* SSL_free frees the BIO before libcurl closes the socket: whatever is
 * left (a close_notify, a GOAWAY) is dropped, never sent to a socket
 * number that may since belong to someone else. */
static int bio_destroy(BIO *bio)
{
    hc_wbuf *b = BIO_get_data(bio);
    if (b) {
        unlink_wbuf(b);
        free(b);
        BIO_set_data(bio, NULL);
    }
    return 1;
}

static void setup(void)
{
    int type = BIO_get_new_index();
    ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (type < 0 || ctx_index < 0 ||
        !(method = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "orchard gathered writes")))
        return;
    method_type = type | BIO_TYPE_SOURCE_SINK;
    if (!BIO_meth_set_write(method, bio_write) || !BIO_meth_set_ctrl(method, bio_ctrl) ||
        !BIO_meth_set_destroy(method, bio_destroy)) {
        BIO_meth_free(method);
        method = NULL;
    }
}

/* When a handshake is done (also after post-handshake messages), swap the
 * write side for a buffer, if the socket under this SSL is known for sure:
 * the worker has exactly one socket open. */
static void on_info(const SSL *ssl, int where, int ret)
{
    SSL *s = (SSL *)ssl;
    hc_worker *w;
    hc_wbuf *b;
    BIO *bio;

    if (!(where & SSL_CB_HANDSHAKE_DONE) || ret <= 0 || !method)
        return;
    w = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
    if (!w || w->open_sockets != 1 || w->tracking_lost ||
        BIO_method_type(SSL_get_wbio(ssl)) == method_type)
        return;
    if (!(b = calloc(1, sizeof *b)))
        return;
    if (!(bio = BIO_new(method))) {
        free(b);
        return;
    }
    b->w = w;
    b->fd = w->fds[0];
    b->next = w->wbufs;
    if (b->next)
        b->next->prev = &b->next;
    b->prev = &w->wbufs;
    w->wbufs = b;
    BIO_set_data(bio, b);
    BIO_set_init(bio, 1);
    SSL_set0_wbio(s, bio); /* drops libcurl's write reference; its read one stays */
}

int hc_wbuf_ssl_ctx(hc_worker *w, void *ssl_ctx)
{
    pthread_once(&setup_once, setup);
    if (method && ctx_index >= 0) {
        SSL_CTX_set_ex_data(ssl_ctx, ctx_index, w);
        SSL_CTX_set_info_callback(ssl_ctx, on_info);
    }
    return 0;
}

int hc_wbuf_flush(hc_worker *w)
{
    int pending = 0;
    for (hc_wbuf *b = w->wbufs; b; b = b->next)
        if (b->fd >= 0 && b->len)
            pending |= wbuf_send(b) == 0;
    return pending;
}

void hc_wbuf_socket_closed(hc_worker *w, int fd)
{
    for (hc_wbuf *b = w->wbufs; b; b = b->next)
        if (b->fd == fd) {
            b->fd = -1;
            b->len = 0;
        }
}

/* Private to orchard_http_client.so: the client (one libcurl multi handle
 * whose connections persist between runs), its pool of reusable easy
 * handles ("slots"), the run loop (hc_run.c) and the TLS checks (hc_tls.c). */
#ifndef ORCHARD_HC_INTERNAL_H
#define ORCHARD_HC_INTERNAL_H

#include "host/http_client/http_client_module.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/* One easy handle and what a call needs beside it, reused from run to run
 * so a burst of 100,000 calls sets up only a window's worth of handles. */
typedef struct hc_slot {
    CURL *easy;
    struct hc_slot *next_free;
    orchard_http_call *call;    /* the call running on it; NULL when idle */
    struct curl_slist *nodes;   /* the call's headers as list nodes (borrowed strings) */
    size_t n_nodes;             /* capacity of nodes */
    size_t headers_len, headers_cap; /* call->response_headers */
    size_t body_cap;            /* call->response_body */
    size_t max_response;
    int too_big;
} hc_slot;

/* One connection's worth of the client: a multi handle of its own, held to
 * one connection per origin, and the slots it runs calls on. A run puts
 * several workers on threads of their own (libcurl spends some 50 us of
 * CPU per HTTP/2 request, so one thread alone tops out well below what two
 * cores can push); each pulls the next call from the run's shared index. */
typedef struct hc_wbuf hc_wbuf;

/* Sockets a worker names (happy eyeballs opens two, one connection each
 * for a few origins); past that it only counts. */
#define HC_TRACKED_FDS 8

typedef struct hc_worker {
    orchard_http_client *client;
    CURLM *multi;
    size_t window;              /* calls in flight at most; grows when the peer is slow */
    hc_slot *free_slots;
    hc_slot **slots;            /* every slot made, for close */
    size_t n_slots, cap_slots;
    pthread_t thread;
    int open_sockets;           /* libcurl's sockets of this worker, open now */
    int fds[HC_TRACKED_FDS];    /* which ones, unless tracking_lost */
    int tracking_lost;          /* more were open at once; until none are */
    hc_wbuf *wbufs;             /* its TLS connections' write buffers */
} hc_worker;

struct orchard_http_client {
    pthread_mutex_t lock;       /* one run at a time */
    char *cert_pem, *key_pem, *ca_pem;
    struct curl_blob cert, key, ca;
    long timeout_ms, connect_timeout_ms;
    hc_worker *workers;         /* one per connection */
    unsigned n_workers;
    /* the run in progress (set under lock, read by its workers) */
    orchard_http_call *calls;
    size_t n_calls, stride;
    atomic_size_t next;         /* the next call a worker takes */
};

/** Streams per connection the client asks for (the server may allow fewer). */
#define HC_STREAMS_PER_CONNECTION 1000
/** Connections (so workers) per client at most, as the host allows. */
#define HC_MAX_WORKERS 64
/** A worker's first window; it doubles up to the streams of a connection
 *  while the peer keeps it waiting with calls left to start. */
#define HC_WINDOW_START 32

/* ---- slots (hc_client.c) */

/** An idle slot: from the worker's free list, else a new handle with the
 *  client's fixed options. NULL when out of memory. */
hc_slot *hc_slot_take(hc_worker *w);
void hc_slot_give(hc_worker *w, hc_slot *s);

/* ---- the run (hc_run.c) */

/** Run the calls on as many workers as they fill; the caller's thread is
 *  worker 0. Called under the client's lock. Returns 0. */
int hc_run(orchard_http_client *c, orchard_http_call *calls, size_t n, size_t stride);
/** libcurl's callbacks, set once per handle. */
size_t hc_on_header(char *data, size_t size, size_t n, void *slot);
size_t hc_on_body(char *data, size_t size, size_t n, void *slot);

/* ---- gathered TLS writes (hc_wbuf.c) */

/** CURLOPT_SSL_CTX_FUNCTION's work: connections made with this context get
 *  a write buffer once their handshake is done. Returns 0. */
int hc_wbuf_ssl_ctx(hc_worker *w, void *ssl_ctx);
/** Send what the worker's connections buffered; 1 when a socket was full
 *  and bytes wait (poll again soon), else 0. */
int hc_wbuf_flush(hc_worker *w);
/** libcurl closed socket fd: its buffer must never write there again. */
void hc_wbuf_socket_closed(hc_worker *w, int fd);

/* ---- TLS material (hc_tls.c) */

/**
 * 0 when cert_pem holds a certificate, key_pem an unencrypted private key
 * that matches it, and ca_pem (when not NULL) at least one certificate;
 * else ORCHARD_EINVAL with the reason in err. NULLs skip their check.
 */
int hc_tls_check(const char *cert_pem, const char *key_pem, const char *ca_pem, char *err,
                 size_t err_len);

#endif

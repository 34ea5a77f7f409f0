/* One run of a client: each worker takes calls from the run's shared index
 * into its multi handle, a window at a time (as one finishes the next starts,
 * on the same reused easy handle); libcurl multiplexes them as HTTP/2
 * streams on the worker's connection, and curl_multi_poll sleeps between
 * events. Answers are collected straight into the caller's call structs. */
#include "host/http_client/module/hc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_RESPONSE ((size_t)1 << 20)

_Static_assert(CURL_ERROR_SIZE <= sizeof(((orchard_http_call *)0)->error),
               "libcurl writes its error buffer straight into call->error");

/* ---- libcurl's callbacks */

/* Make room for `more` bytes and a NUL in *buf (of *cap bytes). */
static int reserve(char **buf, size_t *cap, size_t len, size_t more, size_t hint)
{
    size_t need = len + more + 1;
    size_t cap2;
    char *grown;

    if (need <= *cap)
        return 0;
    cap2 = *cap ? *cap * 2 : hint;
    if (cap2 < need)
        cap2 = need;
    if (!(grown = realloc(*buf, cap2)))
        return ORCHARD_ENOMEM;
    *buf = grown;
    *cap = cap2;
    return 0;
}

/* One header line as libcurl hands it over ("Name: value\r\n"), kept as
 * "name: value\n". A status line starts a new block (after a 100 Continue,
 * only the final answer's headers remain). */
size_t hc_on_header(char *data, size_t size, size_t n, void *slot)
{
    hc_slot *s = slot;
    orchard_http_call *call = s->call;
    size_t len = size * n, name_len, value_len;
    const char *colon, *value;

    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        s->headers_len = 0;
        if (reserve(&call->response_headers, &s->headers_cap, 0, 0, 128) != 0)
            return 0;
        call->response_headers[0] = '\0';
        return size * n;
    }
    if (!len || !call->response_headers || !(colon = memchr(data, ':', len)) || colon == data)
        return size * n;
    name_len = (size_t)(colon - data);
    value = colon + 1;
    value_len = len - name_len - 1;
    while (value_len && (*value == ' ' || *value == '\t')) {
        value++;
        value_len--;
    }
    while (value_len && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;
    if (reserve(&call->response_headers, &s->headers_cap, s->headers_len,
                name_len + value_len + 3, 128) != 0)
        return 0;
    char *out = call->response_headers + s->headers_len;
    for (size_t i = 0; i < name_len; i++) {
        char ch = data[i];
        out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    out[name_len] = ':';
    out[name_len + 1] = ' ';
    memcpy(out + name_len + 2, value, value_len);
    out[name_len + 2 + value_len] = '\n';
    s->headers_len += name_len + value_len + 3;
    call->response_headers[s->headers_len] = '\0';
    return size * n;
}

size_t hc_on_body(char *data, size_t size, size_t n, void *slot)
{
    hc_slot *s = slot;
    orchard_http_call *call = s->call;
    size_t len = size * n;
    size_t hint = 256;

    if (len > s->max_response - call->response_len) {
        s->too_big = 1;
        return 0; /* CURLE_WRITE_ERROR ends the transfer */
    }
    if (!s->body_cap) {
        /* Size the buffer once when the answer says how long it is. */
        curl_off_t declared = -1;
        if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared) ==
                CURLE_OK &&
            declared > 0 && (curl_off_t)s->max_response >= declared)
            hint = (size_t)declared + 1;
    }
    if (reserve((char **)&call->response_body, &s->body_cap, call->response_len, len, hint) != 0)
        return 0;
    memcpy(call->response_body + call->response_len, data, len);
    call->response_len += len;
    call->response_body[call->response_len] = '\0';
    return len;
}

/* ---- starting and finishing one call */

static void drop_answer(orchard_http_call *call)
{
    free(call->response_headers);
    free(call->response_body);
    call->response_headers = NULL;
    call->response_body = NULL;
    call->response_len = 0;
}

/* The caller's "Name: value" strings become list nodes that point at them:
 * libcurl only reads the list, so nothing is copied. */
static int set_headers(hc_slot *s, const orchard_http_call *call)
{
    if (!call->n_headers)
        return curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, NULL) == CURLE_OK ? 0 : ORCHARD_EIO;
    if (call->n_headers > s->n_nodes) {
        struct curl_slist *grown = realloc(s->nodes, call->n_headers * sizeof *grown);
        if (!grown)
            return ORCHARD_ENOMEM;
        s->nodes = grown;
        s->n_nodes = call->n_headers;
    }
    for (size_t i = 0; i < call->n_headers; i++) {
        s->nodes[i].data = (char *)call->headers[i];
        s->nodes[i].next = i + 1 < call->n_headers ? &s->nodes[i + 1] : NULL;
    }
    return curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->nodes) == CURLE_OK ? 0 : ORCHARD_EIO;
}

/* Method and body. A handle remembers the last call's mode, so each is set
 * whole: HEAD, a body (POST's mode, under another verb for PUT or PATCH),
 * or GET's mode (under another verb for DELETE). */
static int set_method(CURL *e, const orchard_http_call *call)
{
    int is_head = strcmp(call->method, "HEAD") == 0;
    int is_std = is_head || strcmp(call->method, "GET") == 0 || strcmp(call->method, "POST") == 0;
    int bad = 0;

    bad |= curl_easy_setopt(e, CURLOPT_NOBODY, (long)is_head) != CURLE_OK;
    if (!is_head && (call->body_len || strcmp(call->method, "POST") == 0)) {
        bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len) !=
               CURLE_OK;
        /* Never NULL: a NULL POSTFIELDS would make libcurl read stdin. */
        bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ? call->body : "") != CURLE_OK;
    } else if (!is_head) {
        bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    }
    bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, is_std ? NULL : call->method) != CURLE_OK;
    return bad ? ORCHARD_EIO : 0;
}

static void fail_call(orchard_http_call *call, int result, const char *why)
{
    drop_answer(call);
    call->result = result;
    call->status = 0;
    snprintf(call->error, sizeof call->error, "%s", why);
}

/* Put `call` on a slot and into the multi handle; 0, or the call fails at once. */
static int start(hc_worker *w, orchard_http_call *call)
{
    hc_slot *s = hc_slot_take(w);
    CURL *e;

    call->result = 0;
    call->status = 0;
    call->response_len = 0;
    call->error[0] = '\0';
    if (!s) {
        fail_call(call, ORCHARD_EIO, "out of memory for a transfer");
        return ORCHARD_ENOMEM;
    }
    e = s->easy;
    s->call = call;
    s->headers_len = s->headers_cap = s->body_cap = 0;
    s->too_big = 0;
    s->max_response = call->max_response ? call->max_response : DEFAULT_MAX_RESPONSE;
    if (curl_easy_setopt(e, CURLOPT_URL, call->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->error) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max_response) !=
            CURLE_OK ||
        set_headers(s, call) != 0 || set_method(e, call) != 0 ||
        curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
        fail_call(call, ORCHARD_EIO, "libcurl refused the request (a malformed url?)");
        hc_slot_give(w, s);
        return ORCHARD_EIO;
    }
    return 0;
}

static void finish(hc_slot *s, CURLcode code)
{
    orchard_http_call *call = s->call;
    long status = 0;

    /* The error buffer is the caller's only for this call. */
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK) {
        call->result = 0;
        call->status = (int)status;
        if (!call->response_headers)
            call->response_headers = calloc(1, 1); /* an answer has a (maybe empty) block */
        if (!call->response_len) {
            free(call->response_body);
            call->response_body = NULL;
        }
        return;
    }
    if (s->too_big || code == CURLE_FILESIZE_EXCEEDED) {
        /* The status and headers arrived; the body is dropped. */
        free(call->response_body);
        call->response_body = NULL;
        call->response_len = 0;
        call->result = ORCHARD_ETOOBIG;
        call->status = (int)status;
        snprintf(call->error, sizeof call->error, "the answer's body is over %zu bytes",
                 s->max_response);
        return;
    }
    drop_answer(call);
    call->status = 0;
    call->result = code == CURLE_OPERATION_TIMEDOUT ? ORCHARD_ETIMEOUT : ORCHARD_EIO;
    if (!call->error[0])
        snprintf(call->error, sizeof call->error, "%s", curl_easy_strerror(code));
}

/* Finished transfers back to the free list; how many there were. */
static size_t reap(hc_worker *w)
{
    CURLMsg *msg;
    int left;
    size_t done = 0;

    while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
        hc_slot *s = NULL;
        CURL *e = msg->easy_handle;
        CURLcode code = msg->data.result;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
        finish(s, code);
        curl_multi_remove_handle(w->multi, e);
        hc_slot_give(w, s);
        done++;
    }
    return done;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The next call of the run, or NULL when all are taken. */
static orchard_http_call *next_call(orchard_http_client *c)
{
    size_t i = atomic_fetch_add(&c->next, 1);
    return i < c->n_calls ? (orchard_http_call *)((char *)c->calls + i * c->stride) : NULL;
}

/* A small window keeps libcurl's per-event work small (multi_perform walks
 * every transfer it holds), which is what a nearby, fast peer needs; a
 * distant one keeps the window full and the loop asleep, so the window
 * doubles (up to a connection's streams) whenever a poll slept over 2 ms
 * with calls still waiting to start. */
static void worker_loop(hc_worker *w)
{
    orchard_http_client *c = w->client;
    size_t in_flight = 0;
    int taken_all = 0, running = 0;

    for (;;) {
        while (!taken_all && in_flight < w->window) {
            orchard_http_call *call = next_call(c);
            if (!call)
                taken_all = 1;
            else if (start(w, call) == 0)
                in_flight++;
        }
        if (!in_flight) {
            if (taken_all)
                break;
            continue;
        }
        curl_multi_perform(w->multi, &running);
        size_t done = reap(w);
        in_flight -= done;
        /* What the pass (and the reaping) wrote leaves in one send. */
        int pending = hc_wbuf_flush(w);
        /* Sleep only when nothing finished: otherwise start the next calls. */
        if (!done && in_flight) {
            int64_t t0 = now_us();
            curl_multi_poll(w->multi, NULL, 0, pending ? 1 : 1000, NULL);
            if (!taken_all && in_flight >= w->window && now_us() - t0 > 2000 &&
                w->window < HC_STREAMS_PER_CONNECTION)
                w->window = w->window * 2 < HC_STREAMS_PER_CONNECTION
                                ? w->window * 2 : HC_STREAMS_PER_CONNECTION;
        }
    }
}

static void *worker_main(void *arg)
{
    worker_loop(arg);
    return NULL;
}

int hc_run(orchard_http_client *c, orchard_http_call *calls, size_t n, size_t stride)
{
    unsigned want;
    int started[HC_MAX_WORKERS] = {0};

    c->calls = calls;
    c->n_calls = n;
    c->stride = stride;
    atomic_store(&c->next, 0);
    /* Another worker (and its connection) only for calls the first one's
     * window cannot hold. */
    want = (unsigned)((n + c->workers[0].window - 1) / c->workers[0].window);
    if (want > c->n_workers)
        want = c->n_workers;
    for (unsigned i = 1; i < want; i++) {
        /* A thread that does not start leaves its share to the others. */
        started[i] = pthread_create(&c->workers[i].thread, NULL, worker_main,
                                    &c->workers[i]) == 0;
    }
    worker_loop(&c->workers[0]);
    for (unsigned i = 1; i < want; i++)
        if (started[i])
            pthread_join(c->workers[i].thread, NULL);
    c->calls = NULL;
    return 0;
}

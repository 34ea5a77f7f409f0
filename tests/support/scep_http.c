/* The HTTP half of the SCEP requester: GetCACert, GetCACaps and PKIOperation
 * (POST, or GET with the message in the query) on one libcurl easy handle,
 * which keeps its connection alive from one request to the next. */
#include "tests/support/scep_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "tests/support/scep_client_priv.h"

#define FAIL(...) orchard_scepc_fail(error_msg, __VA_ARGS__)

#define REPLY_MAX (8u << 20)

struct orchard_scepc_http {
    CURL *curl;
    char *url;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int too_big;
} buffer;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    buffer *b = userdata;
    size_t add = size * n;
    if (b->len + add > REPLY_MAX) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + add + 1)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (p == NULL)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0'; /* so a text body reads as a string */
    return add;
}

int orchard_scepc_http_new(orchard_scepc_http **out, const char *url, const char *cafile,
                           int insecure, char **error_msg)
{
    if (url == NULL || *url == '\0')
        return FAIL(ORCHARD_EINVAL, "no SCEP URL");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return FAIL(ORCHARD_EIO, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
    orchard_scepc_http *h = calloc(1, sizeof *h);
    if (h == NULL || (h->url = strdup(url)) == NULL || (h->curl = curl_easy_init()) == NULL) {
        orchard_scepc_http_free(h);
        return FAIL(ORCHARD_ENOMEM, "out of memory");
    }
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    if (cafile != NULL)
        curl_easy_setopt(h->curl, CURLOPT_CAINFO, cafile);
    if (insecure) {
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    *out = h;
    return 0;
}

void orchard_scepc_http_free(orchard_scepc_http *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    free(h->url);
    free(h);
}

void orchard_scepc_response_clear(orchard_scepc_response *r)
{
    if (r == NULL)
        return;
    free(r->content_type);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Method and body options, reset each time: the handle is reused. */
static void set_method(CURL *c, const char *method, const void *body, size_t len)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, get || post ? NULL : method);
    if (post || body != NULL) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    } else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
}

int orchard_scepc_http_request(orchard_scepc_http *h, const char *method, const char *query,
                               const void *body, size_t len, const char *content_type,
                               orchard_scepc_response *out, char **error_msg)
{
    buffer b = {0};
    struct curl_slist *headers = NULL, *tmp;
    char *url = NULL, ct[256];
    int rc = 0;
    if (h == NULL || method == NULL || out == NULL)
        return FAIL(ORCHARD_EINVAL, "no handle, method or response");
    if (query != NULL && asprintf(&url, "%s%c%s", h->url, strchr(h->url, '?') ? '&' : '?', query) < 0)
        return FAIL(ORCHARD_ENOMEM, "out of memory");
    /* No "Expect: 100-continue" round trip before a body; no invented Content-Type. */
    snprintf(ct, sizeof ct, "Content-Type:%s%s", content_type ? " " : "", content_type ? content_type : "");
    if ((tmp = curl_slist_append(headers, "Expect:")) == NULL || (headers = tmp,
        (tmp = curl_slist_append(headers, ct)) == NULL)) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    headers = tmp;
    h->errbuf[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, url != NULL ? url : h->url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &b);
    set_method(h->curl, method, body, len);
    CURLcode cc = curl_easy_perform(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    if (cc != CURLE_OK) {
        rc = b.too_big ? FAIL(ORCHARD_ETOOBIG, "reply over %u bytes", REPLY_MAX)
                       : FAIL(ORCHARD_EIO, "%s %s: %s", method, url != NULL ? url : h->url,
                              h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
        goto out;
    }
    char *type = NULL;
    memset(out, 0, sizeof *out);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != NULL && (out->content_type = strdup(type)) == NULL) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    out->body = b.data;
    out->len = b.len;
    b.data = NULL;
out:
    free(b.data);
    free(url);
    curl_slist_free_all(headers);
    return rc;
}

/* True when the Content-Type is `want`, parameters aside. */
static int type_is(const char *type, const char *want)
{
    size_t n = strlen(want);
    return type != NULL && strncasecmp(type, want, n) == 0 && (type[n] == '\0' || type[n] == ';');
}

/* The CA certificate of a degenerate PKCS#7: the first self-issued CA, else the first CA. */
static X509 *ca_of_chain(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    X509 *best = NULL;
    if (p7 != NULL && p == der + len && PKCS7_type_is_signed(p7) && p7->d.sign->cert != NULL) {
        for (int i = 0; i < sk_X509_num(p7->d.sign->cert); i++) {
            X509 *c = sk_X509_value(p7->d.sign->cert, i);
            if (X509_check_ca(c) == 0)
                continue;
            if (best == NULL || X509_check_issued(c, c) == X509_V_OK)
                best = c;
        }
    }
    if (best != NULL)
        X509_up_ref(best);
    PKCS7_free(p7);
    return best;
}

int orchard_scepc_get_ca_cert(orchard_scepc_http *h, X509 **out, char **error_msg)
{
    orchard_scepc_response r;
    int rc = orchard_scepc_http_request(h, "GET", "operation=GetCACert", NULL, 0, NULL, &r, error_msg);
    if (rc != 0)
        return rc;
    X509 *ca = NULL;
    if (r.status != 200)
        rc = FAIL(ORCHARD_EPROTO, "GetCACert: HTTP %ld", r.status);
    else if (type_is(r.content_type, "application/x-x509-ca-ra-cert"))
        ca = ca_of_chain(r.body, r.len);
    else {
        const unsigned char *p = r.body;
        ca = d2i_X509(NULL, &p, (long)r.len);
        if (ca != NULL && p != r.body + r.len) {
            X509_free(ca);
            ca = NULL;
        }
    }
    if (rc == 0 && ca == NULL)
        rc = FAIL(ORCHARD_EPROTO, "GetCACert: %zu bytes of %s hold no CA certificate", r.len,
                  r.content_type ? r.content_type : "untyped data");
    if (rc == 0)
        *out = ca;
    orchard_scepc_response_clear(&r);
    return rc;
}

int orchard_scepc_get_ca_caps(orchard_scepc_http *h, char **out, char **error_msg)
{
    orchard_scepc_response r;
    int rc = orchard_scepc_http_request(h, "GET", "operation=GetCACaps", NULL, 0, NULL, &r, error_msg);
    if (rc != 0)
        return rc;
    if (r.status != 200)
        rc = FAIL(ORCHARD_EPROTO, "GetCACaps: HTTP %ld", r.status);
    else if (r.body == NULL && (r.body = calloc(1, 1)) == NULL)
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
    if (rc == 0) {
        *out = (char *)r.body;
        r.body = NULL;
    }
    orchard_scepc_response_clear(&r);
    return rc;
}

int orchard_scepc_pki_operation(orchard_scepc_http *h, int use_get, const unsigned char *der,
                                size_t len, orchard_scepc_response *out, char **error_msg)
{
    if (!use_get)
        return orchard_scepc_http_request(h, "POST", "operation=PKIOperation", der, len,
                                          "application/x-pki-message", out, error_msg);
    if (len > (1u << 24))
        return FAIL(ORCHARD_ETOOBIG, "message too long for a GET");
    char *b64 = malloc(4 * ((len + 2) / 3) + 1), *esc = NULL, *query = NULL;
    int rc;
    if (b64 == NULL) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
    if ((esc = curl_easy_escape(h->curl, b64, 0)) == NULL ||
        asprintf(&query, "operation=PKIOperation&message=%s", esc) < 0) {
        query = NULL;
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    rc = orchard_scepc_http_request(h, "GET", query, NULL, 0, NULL, out, error_msg);
out:
    curl_free(esc);
    free(b64);
    free(query);
    return rc;
}

int orchard_scepc_enroll(orchard_scepc_http *h, const orchard_scepc_request_opts *opts, int use_get,
                         orchard_scepc_reply *out, char **error_msg)
{
    orchard_scepc_request req = {0};
    orchard_scepc_response r = {0};
    int rc = orchard_scepc_request_build(&req, opts, error_msg);
    if (rc == 0)
        rc = orchard_scepc_pki_operation(h, use_get, req.der, req.der_len, &r, error_msg);
    if (rc == 0 && r.status != 200)
        rc = FAIL(ORCHARD_EPROTO, "PKIOperation: HTTP %ld", r.status);
    else if (rc == 0 && !type_is(r.content_type, "application/x-pki-message"))
        rc = FAIL(ORCHARD_EPROTO, "PKIOperation: Content-Type %s, not application/x-pki-message",
                  r.content_type ? r.content_type : "missing");
    if (rc == 0)
        rc = orchard_scepc_reply_parse(out, r.body, r.len, opts->ca, &req, 0, error_msg);
    orchard_scepc_response_clear(&r);
    orchard_scepc_request_clear(&req);
    return rc;
}

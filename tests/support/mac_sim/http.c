/* The simulated Mac's HTTP on libcurl: one keep-alive handle per thread,
 * requests with an optional Mdm-Signature header, replies kept whole (capped,
 * so a hostile server cannot make the simulator swallow memory). */
#include "tests/support/mac_sim/mac_sim.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

#define MAX_REPLY (32u << 20)

struct orchard_macsim_http {
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
    char *cafile;
    int insecure;
};

const char *macsim_http_cafile(const orchard_macsim_http *h)
{
    return h->cafile;
}

int macsim_http_insecure(const orchard_macsim_http *h)
{
    return h->insecure;
}

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    int too_big;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sink *s = userdata;
    size_t n = size * nmemb;
    if (s->len + n > MAX_REPLY) {
        s->too_big = 1;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        unsigned char *g = realloc(s->buf, cap);
        if (!g)
            return 0;
        s->buf = g;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, ptr, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

int orchard_macsim_http_new(orchard_macsim_http **out, const char *cafile, int insecure,
                            char **error_msg)
{
    orchard_macsim_http *h = calloc(1, sizeof *h);
    if (!h || !(h->curl = curl_easy_init())) {
        free(h);
        return macsim_fail(error_msg, ORCHARD_ENOMEM, "curl_easy_init failed");
    }
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
    h->insecure = insecure;
    if (cafile && !(h->cafile = strdup(cafile))) {
        orchard_macsim_http_free(h);
        return macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
    }
    if (cafile)
        curl_easy_setopt(h->curl, CURLOPT_CAINFO, cafile);
    if (insecure) {
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    *out = h;
    return 0;
}

void orchard_macsim_http_free(orchard_macsim_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h->cafile);
    free(h);
}

void orchard_macsim_response_clear(orchard_macsim_response *r)
{
    if (!r)
        return;
    free(r->content_type);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int orchard_macsim_http_do(orchard_macsim_http *h, const char *method, const char *url,
                           const void *body, size_t len, const char *content_type,
                           const char *signature, orchard_macsim_response *out, char **error_msg)
{
    sink s = {0};
    struct curl_slist *hdrs = NULL;
    char *ct = NULL, *sig = NULL;
    int rc = 0;
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    /* No "Expect: 100-continue": a Mac does not wait for it, and it would
     * add a round trip to every signed check-in. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (content_type && (ct = macsim_strdupf("Content-Type: %s", content_type)))
        hdrs = curl_slist_append(hdrs, ct);
    if (signature && (sig = macsim_strdupf("Mdm-Signature: %s", signature)))
        hdrs = curl_slist_append(hdrs, sig);
    if (!hdrs || (content_type && !ct) || (signature && !sig)) {
        rc = macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory building a request");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = s.too_big ? macsim_fail(error_msg, ORCHARD_ETOOBIG, "%s %s: reply over %u bytes",
                                     method, url, MAX_REPLY)
                       : macsim_fail(error_msg, ORCHARD_EIO, "%s %s: %s", method, url,
                                     h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
        goto out;
    }
    memset(out, 0, sizeof *out);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    char *got_ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &got_ct);
    out->content_type = got_ct ? strdup(got_ct) : NULL;
    out->body = s.buf;
    out->len = s.len;
    s.buf = NULL;
out:
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    free(ct);
    free(sig);
    free(s.buf);
    h->errbuf[0] = '\0';
    return rc;
}

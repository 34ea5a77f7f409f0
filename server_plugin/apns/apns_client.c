/* The pusher: the host's outbound HTTP/2 client (ABI 1.3) opened with the
 * APNs certificate as its TLS identity and the mdm.apple_apns_* settings,
 * and one POST /3/device/<token> per device, all multiplexed in one run. */
#include "server_plugin/apns/apns.h"

#include "server_plugin/server.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* A CA bundle is a few certificates; anything bigger is not one. */
#define CA_FILE_MAX (1024 * 1024)
/* APNs error bodies are one small JSON object. */
#define ANSWER_MAX 4096
/* Apple's tokens are 32 bytes today; leave room, refuse absurd ones. */
#define TOKEN_HEX_MAX 512
#define TOPIC_MAX 255

struct orchard_apns_pusher {
    const orchard_host_api *host;
    orchard_http_client *client;
    char *base_url;      /* without a trailing '/' */
    char *default_topic; /* the certificate's */
    gint64 expiration_s; /* apns-expiration is now + this */
    char *cert_pem;
    char *key_pem;       /* wiped on close */
    char *ca_pem;
};

/* PEM text of a certificate or private key (g_free), NULL on failure. */
static char *to_pem(X509 *cert, EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL, *data = NULL;
    if (!bio)
        return NULL;
    int ok = cert ? PEM_write_bio_X509(bio, cert)
                  : PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    long len = ok ? BIO_get_mem_data(bio, &data) : 0;
    if (len > 0)
        out = g_strndup(data, (gsize)len);
    /* The memory BIO held the key too. */
    if (data && len > 0)
        OPENSSL_cleanse(data, (size_t)len);
    BIO_free(bio);
    return out;
}

void orchard_apns_pusher_close(orchard_apns_pusher *p)
{
    if (!p)
        return;
    if (p->client)
        p->host->http_client_close(p->client);
    if (p->key_pem) {
        OPENSSL_cleanse(p->key_pem, strlen(p->key_pem));
        g_free(p->key_pem);
    }
    g_free(p->cert_pem);
    g_free(p->ca_pem);
    g_free(p->base_url);
    g_free(p->default_topic);
    g_free(p);
}

/* host->fail, and the same message into *why when asked. */
static int fail_why(orchard_ctx *ctx, char **why, int code, const char *fmt, ...)
    ORCHARD_PRINTF(4, 5);
static int fail_why(orchard_ctx *ctx, char **why, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    orchard_server_host->fail(ctx, code, "%s", msg);
    if (why && !*why)
        *why = msg;
    else
        g_free(msg);
    return code;
}

/* Read the settings into p; host->fail says what is wrong. */
static int read_settings(orchard_ctx *ctx, orchard_apns_pusher *p, int64_t *connections,
                         char **why)
{
    const orchard_host_api *h = p->host;
    const char *url = h->setting_string(ctx, "mdm.apple_apns_url");
    int64_t exp_ms = 0;
    int rc;

    if (!url || !(g_str_has_prefix(url, "https://") || g_str_has_prefix(url, "http://")) ||
        strpbrk(url, " \r\n\t"))
        return fail_why(ctx, why, ORCHARD_EINVAL,
                        "mdm.apple_apns_url must be an https:// URL, not \"%s\"", url ? url : "");
    p->base_url = g_strdup(url);
    while (g_str_has_suffix(p->base_url, "/"))
        p->base_url[strlen(p->base_url) - 1] = '\0';
    if ((rc = h->setting_duration(ctx, "mdm.apple_apns_push_expiration", &exp_ms)) ||
        exp_ms < 0)
        return fail_why(ctx, why, ORCHARD_EINVAL,
                        "mdm.apple_apns_push_expiration must be a duration such as 168h");
    p->expiration_s = exp_ms / 1000;
    if ((rc = h->setting_int(ctx, "mdm.apple_apns_connections", connections)) ||
        *connections < 1 || *connections > 64)
        return fail_why(ctx, why, ORCHARD_EINVAL, "mdm.apple_apns_connections must be 1 to 64");

    const char *ca = h->setting_path(ctx, "mdm.apple_apns_ca");
    if (ca && *ca) {
        g_autoptr(GError) err = NULL;
        gsize len = 0;
        GStatBuf sb;
        /* Checked before reading: a path at a huge file (or a device) is a mistake. */
        if (g_stat(ca, &sb) == 0 && (!S_ISREG(sb.st_mode) || sb.st_size > CA_FILE_MAX))
            return fail_why(ctx, why, ORCHARD_EINVAL,
                            "mdm.apple_apns_ca: %s is not a file under 1 MiB", ca);
        if (!g_file_get_contents(ca, &p->ca_pem, &len, &err))
            return fail_why(ctx, why, ORCHARD_EINVAL, "mdm.apple_apns_ca: %s", err->message);
        if (len == 0 || len > CA_FILE_MAX || !strstr(p->ca_pem, "-----BEGIN CERTIFICATE-----"))
            return fail_why(ctx, why, ORCHARD_EINVAL,
                            "mdm.apple_apns_ca: %s is not a PEM bundle of certificates under "
                            "1 MiB", ca);
    }
    return 0;
}

int orchard_apns_pusher_open(orchard_ctx *ctx, const orchard_mdm_config *cfg,
                             orchard_apns_pusher **out, char **why)
{
    const orchard_host_api *h = orchard_server_host;
    int64_t connections = 2;
    int rc;

    *out = NULL;
    if (!ORCHARD_HAS_FIELD(h, orchard_host_api, http_client_close) || !h->http_client_open)
        return fail_why(ctx, why, ORCHARD_ENOTCONFIGURED, "this orchard has no outbound HTTP/2 "
                        "client (plugin ABI 1.3): APNs pushes cannot be sent");
    if (!cfg || !cfg->apns_cert || !cfg->apns_key)
        return fail_why(ctx, why, ORCHARD_ENOTCONFIGURED, "APNs is not configured "
                        "(mdm.apple_apns_cert and mdm.apple_apns_key)");
    /* MDM off with a certificate still set means it expired: Apple refuses
     * it, and a refusal must not read as every device's token dying. */
    if (!cfg->mdm_enabled)
        return fail_why(ctx, why, ORCHARD_ENOTCONFIGURED, "MDM is off: %s",
                        cfg->mdm_off_reason ? cfg->mdm_off_reason : "see `orchard config check`");
    orchard_apns_pusher *p = g_new0(orchard_apns_pusher, 1);
    p->host = h;
    p->default_topic = g_strdup(cfg->apns_topic);
    if ((rc = read_settings(ctx, p, &connections, why)))
        goto fail;
    p->cert_pem = to_pem(cfg->apns_cert, NULL);
    p->key_pem = to_pem(NULL, cfg->apns_key);
    if (!p->cert_pem || !p->key_pem) {
        rc = fail_why(ctx, why, ORCHARD_EINVAL, "the APNs certificate or key cannot be "
                      "PEM-encoded");
        goto fail;
    }
    orchard_http_client_config cc = {
        ORCHARD_STRUCT_HEADER(orchard_http_client_config),
        .cert_pem = p->cert_pem,
        .key_pem = p->key_pem,
        .ca_pem = p->ca_pem,
        .connections = (uint32_t)connections,
        .timeout_ms = 30000,
        .connect_timeout_ms = 10000,
    };
    if ((rc = h->http_client_open(ctx, &cc, &p->client))) {
        if (why && !*why)
            *why = g_strdup_printf("the HTTP client refused the APNs certificate, key or "
                                   "mdm.apple_apns_ca (%s)", h->strerror(rc));
        goto fail;
    }
    *out = p;
    return 0;
fail:
    orchard_apns_pusher_close(p);
    return rc;
}

/* A token is what the store wrote: lower-case hex of whole bytes. */
static int token_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n == 0 || n % 2 || n > TOKEN_HEX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isxdigit(t[i]))
            return 0;
    return 1;
}

/* The topic comes from the device's Authenticate: it goes into a header,
 * so only visible ASCII without spaces passes. */
static int topic_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n == 0 || n > TOPIC_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] <= 0x20 || t[i] >= 0x7f)
            return 0;
    return 1;
}

/* One call's strings: the URL, the header lines and the body. */
typedef struct {
    char *url;
    char *headers[5];
    char *body;
} call_text;

static void call_text_clear(call_text *c)
{
    g_free(c->url);
    for (size_t i = 0; i < G_N_ELEMENTS(c->headers); i++)
        g_free(c->headers[i]);
    g_free(c->body);
}

/* Fill the call for t, or say in r why it cannot be made (refused). */
static int prepare(const orchard_apns_pusher *p, const orchard_apns_target *t, gint64 now_s,
                   call_text *ct, orchard_http_call *call, orchard_apns_result *r)
{
    const char *topic = t->topic && *t->topic ? t->topic : p->default_topic;
    const char *why = !token_ok(t->token_hex)  ? "the push token is not hex"
                      : !t->push_magic || !*t->push_magic ? "the enrollment has no PushMagic"
                      : !topic_ok(topic)        ? "the topic is not a valid header value"
                                                : NULL;
    if (why) {
        r->verdict = ORCHARD_APNS_REFUSED;
        g_strlcpy(r->reason, why, sizeof r->reason);
        return ORCHARD_EINVAL;
    }
    json_t *body = json_pack("{s:s}", "mdm", t->push_magic);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        r->verdict = ORCHARD_APNS_REFUSED;
        g_strlcpy(r->reason, "the PushMagic is not UTF-8", sizeof r->reason);
        return ORCHARD_EINVAL;
    }
    ct->body = g_strdup(text);
    free(text);
    ct->url = g_strdup_printf("%s/3/device/%s", p->base_url, t->token_hex);
    ct->headers[0] = g_strdup_printf("apns-topic: %s", topic);
    ct->headers[1] = g_strdup("apns-push-type: mdm");
    ct->headers[2] = g_strdup("apns-priority: 10");
    ct->headers[3] = g_strdup_printf("apns-expiration: %" G_GINT64_FORMAT, now_s + p->expiration_s);
    ct->headers[4] = g_strdup("content-type: application/json");
    *call = (orchard_http_call){
        ORCHARD_STRUCT_HEADER(orchard_http_call),
        .method = "POST",
        .url = ct->url,
        .headers = (const char *const *)ct->headers,
        .n_headers = G_N_ELEMENTS(ct->headers),
        .body = ct->body,
        .body_len = strlen(ct->body),
        .max_response = ANSWER_MAX,
    };
    return 0;
}

/* Read a finished call into r. */
static void take_answer(const orchard_apns_pusher *p, const orchard_http_call *call,
                        orchard_apns_result *r)
{
    r->status = call->result == 0 ? call->status : 0;
    if (r->status == 0) {
        g_strlcpy(r->reason, call->error[0] ? call->error : p->host->strerror(call->result),
                  sizeof r->reason);
        r->verdict = ORCHARD_APNS_RETRY;
        return;
    }
    if (p->host->http_call_header(call, "apns-id", r->apns_id, sizeof r->apns_id) != 0)
        r->apns_id[0] = '\0';
    if (r->status != 200 &&
        orchard_apns_reason(call->response_body, call->response_len, r->reason,
                            sizeof r->reason) != 0)
        g_snprintf(r->reason, sizeof r->reason, "HTTP %d", r->status);
    r->verdict = orchard_apns_classify(0, r->status, r->status == 200 ? NULL : r->reason);
}

int orchard_apns_send(orchard_apns_pusher *p, const orchard_apns_target *t, size_t n,
                      orchard_apns_result *results)
{
    gint64 now_ms = g_get_real_time() / 1000;
    call_text *texts = g_new0(call_text, n);
    orchard_http_call *calls = g_new0(orchard_http_call, n);
    size_t *index = g_new0(size_t, n); /* calls[k] pushes to t[index[k]] */
    size_t k = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        results[i] = (orchard_apns_result){.sent_ms = now_ms};
        if (prepare(p, &t[i], now_ms / 1000, &texts[k], &calls[k], &results[i]) == 0)
            index[k++] = i;
    }
    if (k > 0)
        rc = p->host->http_client_run(p->client, calls, k);
    for (size_t j = 0; j < k; j++) {
        orchard_apns_result *r = &results[index[j]];
        if (rc == 0) {
            take_answer(p, &calls[j], r);
        } else { /* nothing was sent: the same as no answer */
            r->verdict = ORCHARD_APNS_RETRY;
            g_snprintf(r->reason, sizeof r->reason, "the HTTP client refused the pushes: %s",
                       p->host->strerror(rc));
        }
        p->host->http_call_reset(&calls[j]);
    }
    for (size_t j = 0; j < n; j++)
        call_text_clear(&texts[j]);
    g_free(index);
    g_free(calls);
    g_free(texts);
    return rc;
}

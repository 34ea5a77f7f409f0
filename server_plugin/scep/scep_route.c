/* /mdm/apple/scep: SCEP over HTTP (docs/protocols.md §6). GetCACert, GetCACaps and
 * PKIOperation by GET (base64 `message`) or POST (DER body). Each refusal is
 * logged with its reason; the body cap is the host's (413 before reading). */
#include "server_plugin/scep/scep_service.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/scep/scep_message.h"
#include "server_plugin/server.h"

#include <openssl/x509.h>
#include <pthread.h>
#include <string.h>

#define PLUGIN "orchard-server"

static void respond_text(orchard_http_response *resp, int status, const char *text)
{
    orchard_server_host->http_respond(resp, status, "text/plain; charset=utf-8", text,
                                      strlen(text));
}

static int get_ca_cert(const orchard_mdm_config *cfg, orchard_http_response *resp)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cfg->scep_cert, &der);
    if (n <= 0)
        return ORCHARD_EIO;
    /* One CA, no RA: the DER certificate itself. */
    orchard_server_host->http_respond(resp, 200, "application/x-x509-ca-cert", der, (size_t)n);
    OPENSSL_free(der);
    return 0;
}

/*
 * The GET form's base64. Some clients leave '+' unescaped, which a URL
 * decoder turns into ' '; put it back. Anything else outside the base64
 * alphabet makes the message unreadable.
 */
static guchar *decode_get_message(const char *text, gsize *len)
{
    g_autofree char *fixed = g_strdup(text);
    for (char *p = fixed; *p; p++) {
        if (*p == ' ')
            *p = '+';
        else if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=' && *p != '\n' &&
                 *p != '\r')
            return NULL;
    }
    guchar *out = g_base64_decode(fixed, len);
    if (out && *len == 0) {
        g_free(out);
        return NULL;
    }
    return out;
}

/*
 * The CA key, one copy per HTTP worker thread. OpenSSL blinds RSA private
 * operations; a key shared by threads uses its shared blinding under a lock
 * and recomputes the unblinding factor per operation, three times per
 * enrollment. A thread's own copy keeps its own blinding. The copies live as
 * long as the threads (libmicrohttpd's pool, for the life of the server).
 */
typedef struct {
    EVP_PKEY *shared; /* the configured key this is a copy of */
    EVP_PKEY *copy;
} thread_key_copy;

/* Runs as a worker thread that served PKIOperations ends. */
static void thread_key_free(void *p)
{
    thread_key_copy *t = p;
    EVP_PKEY_free(t->copy);
    g_free(t);
    orchard_scep_message_thread_stop();
}

/* This thread's copy, if any (a thread that served requests and lives on). */
static pthread_key_t thread_key;

static void thread_key_free_current(void)
{
    thread_key_copy *t = pthread_getspecific(thread_key);
    if (t) {
        pthread_setspecific(thread_key, NULL);
        thread_key_free(t);
    }
}

/* A pthread key rather than a GPrivate: GLib allocates a GPrivate's key and
 * never frees it, which LeakSanitizer reports at exit. */
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static int thread_key_made;

static void thread_key_init(void)
{
    thread_key_made = pthread_key_create(&thread_key, thread_key_free) == 0;
}

/* The plugin's deinit: the HTTP server has stopped and its threads are gone
 * (their copies freed on the way out); the key's destructor must not outlive
 * the plugin's code. */
void orchard_scep_route_cleanup(void)
{
    if (thread_key_made) {
        thread_key_free_current();
        pthread_key_delete(thread_key);
        thread_key_made = 0;
        thread_key_once = (pthread_once_t)PTHREAD_ONCE_INIT;
    }
    orchard_scep_message_cleanup();
}

static EVP_PKEY *thread_ca_key(EVP_PKEY *shared)
{
    pthread_once(&thread_key_once, thread_key_init);
    if (!thread_key_made)
        return shared;
    thread_key_copy *t = pthread_getspecific(thread_key);
    if (t && t->shared == shared)
        return t->copy;
    EVP_PKEY *copy = EVP_PKEY_dup(shared);
    if (!copy)
        return shared;
    if (t) {
        EVP_PKEY_free(t->copy);
    } else {
        t = g_new0(thread_key_copy, 1);
        if (pthread_setspecific(thread_key, t) != 0) {
            g_free(t);
            EVP_PKEY_free(copy);
            return shared;
        }
    }
    t->shared = shared;
    t->copy = copy;
    return copy;
}

static int pki_operation(const orchard_http_request *req, const orchard_mdm_config *cfg,
                         orchard_http_response *resp)
{
    const orchard_host_api *h = orchard_server_host;
    g_autofree guchar *decoded = NULL;
    const unsigned char *msg;
    size_t len = 0;
    if (strcmp(h->http_method(req), "POST") == 0) {
        msg = h->http_body(req, &len);
    } else {
        const char *b64 = h->http_query(req, "message");
        gsize n = 0;
        msg = decoded = b64 && *b64 ? decode_get_message(b64, &n) : NULL;
        len = n;
        if (b64 && *b64 && !msg) {
            h->log(ORCHARD_LOG_WARNING, PLUGIN, "scep: GET from %s refused: message is not base64",
                   h->http_remote_addr(req));
            respond_text(resp, 400, "bad SCEP message: the message parameter is not base64\n");
            return 0;
        }
    }
    if (!msg || len == 0) {
        h->log(ORCHARD_LOG_WARNING, PLUGIN, "scep: %s from %s refused: empty message",
               h->http_method(req), h->http_remote_addr(req));
        respond_text(resp, 400, "SCEP PKIOperation needs a message: a DER PKCS#7 body (POST) "
                                "or a base64 `message` parameter (GET)\n");
        return 0;
    }
    orchard_scep_service svc = {
        .ca = cfg->scep_cert,
        .ca_key = thread_ca_key(cfg->scep_key),
        .static_challenge = cfg->scep_challenge,
        .validity_days = cfg->scep_signer_validity_days,
        .allow_renewal_days = cfg->scep_signer_allow_renewal_days,
    };
    orchard_scep_result res;
    orchard_scep_pki_operation(&svc, msg, len, g_get_real_time() / G_USEC_PER_SEC, &res);
    if (res.issued)
        h->log(ORCHARD_LOG_INFO, PLUGIN, "scep: issued certificate %s to %s", res.serial,
               h->http_remote_addr(req));
    else
        h->log(ORCHARD_LOG_WARNING, PLUGIN, "scep: request from %s refused: %s",
               h->http_remote_addr(req), res.reason ? res.reason : "unknown");
    if (res.http_status == 200) {
        h->http_respond(resp, 200, "application/x-pki-message", res.body, res.body_len);
    } else if (res.http_status == 400) {
        g_autofree char *text = g_strdup_printf("bad SCEP message: %s\n", res.reason);
        respond_text(resp, 400, text);
    } else {
        respond_text(resp, res.http_status, "the SCEP server could not answer; try again\n");
    }
    orchard_scep_result_clear(&res);
    return 0;
}

static int scep_handle(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    (void)payload;
    const orchard_mdm_config *cfg = orchard_serve_config(ctx);
    const char *op = h->http_query(req, "operation");
    const char *method = h->http_method(req);
    int is_get = strcmp(method, "GET") == 0;
    if (strcmp(h->http_path(req), "/mdm/apple/scep") != 0) {
        respond_text(resp, 404, "not found\n");
        return 0;
    }
    if (op && is_get && strcmp(op, "GetCACert") == 0)
        return get_ca_cert(cfg, resp);
    if (op && is_get && strcmp(op, "GetCACaps") == 0) {
        h->http_respond(resp, 200, "text/plain", orchard_scep_ca_caps,
                        strlen(orchard_scep_ca_caps));
        return 0;
    }
    if (op && strcmp(op, "PKIOperation") == 0 && (is_get || strcmp(method, "POST") == 0))
        return pki_operation(req, cfg, resp);
    respond_text(resp, 400, "unknown SCEP operation: use GetCACert, GetCACaps or PKIOperation "
                            "(GET, or POST for PKIOperation)\n");
    return 0;
}

const orchard_route orchard_route_scep = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "*",
    .path_prefix = "/mdm/apple/scep",
    .handle2 = scep_handle,
    .gate = "mdm",
};

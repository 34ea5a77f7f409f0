/* The APNs stand-in's TLS: the server certificate, ALPN "h2" only (APNs
 * speaks nothing else), and the client certificate a pusher must present,
 * checked against --client-ca as Apple checks the provider certificate. */
#include "standin.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

static void tls_error(const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    fprintf(stderr, "apns_standin: %s %s: %s\n", what, file ? file : "", buf);
    ERR_clear_error();
}

/* Pick "h2" from the client's ALPN list, or refuse the handshake: a client
 * that cannot speak HTTP/2 gets a no_application_protocol alert. */
static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen)
            break;
        if (n == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
            *out = in + i + 1;
            *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* --client-cert-optional without --client-ca: ask, take whatever comes. */
static int accept_any(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1;
}

static int client_auth(SSL_CTX *ctx, const standin_tls_options *o)
{
    if (!o->client_ca) {
        if (o->client_cert_optional)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
        return 0;
    }
    if (SSL_CTX_load_verify_locations(ctx, o->client_ca, NULL) != 1) {
        tls_error("cannot read --client-ca", o->client_ca);
        return -1;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->client_ca);
    if (names)
        SSL_CTX_set_client_CA_list(ctx, names);
    /* A self-signed client certificate given as its own CA must verify. */
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    int mode = SSL_VERIFY_PEER | (o->client_cert_optional ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    SSL_CTX_set_verify(ctx, mode, NULL);
    return 0;
}

SSL_CTX *standin_tls_ctx(const standin_tls_options *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_error("SSL_CTX_new", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Read whatever the socket has, not a record header then its body: a
     * client that sends each frame as its own small record (libcurl does)
     * otherwise costs two read(2)s per frame. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
        tls_error("cannot read --cert", o->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        tls_error("cannot use --key", o->key);
        goto fail;
    }
    if (client_auth(ctx, o) != 0)
        goto fail;
    SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

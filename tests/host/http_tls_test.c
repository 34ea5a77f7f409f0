/* The http_tls suite: client certificates on `orchard serve`'s TLS
 * listener. With server.tls_client_ca the handshake asks for a certificate
 * and one issued by that CA reaches the handler (the fixture's /cert echoes
 * its length and SHA-256); one from elsewhere, or none, leaves the request
 * without. Without the setting, no certificate is asked for: an OpenSSL
 * cert callback on the client side counts the server's CertificateRequests.
 * The CA, server and client certificates are made per run with openssl. */
#include "tests/suites.h"

#include "tests/host/http_fixture.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <string.h>

#define MODULE_PATH BUILD_DIR "/modules/orchard_http.so"

static char *dir;
static char *server_cert, *server_key, *ca_cert, *client_cert, *client_key;
static char *rogue_cert, *rogue_key;
static char *client_der_sha; /* SHA-256 hex of client_cert's DER */
static size_t client_der_len;

static char *in_dir(const char *name) { return g_build_filename(dir, name, NULL); }

/* A self-signed certificate (a CA, unless `leaf`) for `cn`. */
static int self_signed(const char *cert, const char *key, const char *cn, int leaf)
{
    g_autofree char *subj = g_strdup_printf("/CN=%s", cn);
    const char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                          cert, "-days", "1", "-subj", subj, "-addext",
                          leaf ? "subjectAltName=IP:127.0.0.1" : "keyUsage=keyCertSign",
                          NULL};
    return http_openssl(argv);
}

/* client.pem: CN device-1, issued by ca.pem; its DER's length and hash. */
static int issue_client_cert(void)
{
    g_autofree char *csr = in_dir("client.csr");
    g_autofree char *ext = in_dir("client.ext");
    g_autofree char *der = in_dir("client.der");
    g_autofree char *ca_key = in_dir("ca.key");
    g_autofree gchar *bytes = NULL;
    gsize len = 0;
    const char *req[] = {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", client_key,
                         "-out", csr, "-subj", "/CN=device-1", NULL};
    const char *sign[] = {"openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey",
                          ca_key, "-out", client_cert, "-days", "1", "-extfile", ext, NULL};
    const char *to_der[] = {"openssl", "x509", "-in", client_cert, "-outform", "DER", "-out",
                            der, NULL};

    if (!g_file_set_contents(ext, "extendedKeyUsage=clientAuth\n", -1, NULL) ||
        !http_openssl(req) || !http_openssl(sign) || !http_openssl(to_der) ||
        !g_file_get_contents(der, &bytes, &len, NULL))
        return 0;
    client_der_len = len;
    client_der_sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)bytes, len);
    return 1;
}

static int suite_init(void)
{
    if (http_fixture_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(dir = g_dir_make_tmp("orchard-http-tls-XXXXXX", NULL)))
        return 1;
    server_cert = in_dir("server.pem");
    server_key = in_dir("server.key");
    ca_cert = in_dir("ca.pem");
    client_cert = in_dir("client.pem");
    client_key = in_dir("client.key");
    rogue_cert = in_dir("rogue.pem");
    rogue_key = in_dir("rogue.key");
    g_autofree char *ca_key = in_dir("ca.key");
    if (!self_signed(server_cert, server_key, "127.0.0.1", 1) ||
        !self_signed(ca_cert, ca_key, "orchard test CA", 0) || !issue_client_cert() ||
        !self_signed(rogue_cert, rogue_key, "device-1", 1))
        return 1;
    http_config("http_module", MODULE_PATH);
    http_config("server.address", "127.0.0.1:0");
    http_config("server.threads", "2");
    http_config("server.tls_cert", server_cert);
    http_config("server.tls_key", server_key);
    return 0;
}

static int suite_cleanup(void)
{
    const char *keys[] = {"http_module", "server.address", "server.threads", "server.tls_cert",
                          "server.tls_key", "server.tls_client_ca"};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        http_config(keys[i], NULL);
    if (dir) {
        const char *files[] = {"server.pem", "server.key", "ca.pem", "ca.key", "client.pem",
                               "client.key", "client.csr", "client.ext", "client.der",
                               "rogue.pem", "rogue.key"};
        for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
            g_autofree char *f = in_dir(files[i]);
            g_unlink(f);
        }
        g_rmdir(dir);
    }
    g_clear_pointer(&dir, g_free);
    g_clear_pointer(&server_cert, g_free);
    g_clear_pointer(&server_key, g_free);
    g_clear_pointer(&ca_cert, g_free);
    g_clear_pointer(&client_cert, g_free);
    g_clear_pointer(&client_key, g_free);
    g_clear_pointer(&rogue_cert, g_free);
    g_clear_pointer(&rogue_key, g_free);
    g_clear_pointer(&client_der_sha, g_free);
    http_fixture_cleanup();
    curl_global_cleanup();
    return 0;
}

/* ---- a client that counts the server's requests for a certificate */

/* OpenSSL calls a client's cert callback only when the server sent a
 * CertificateRequest; returning 1 sends the configured certificate. */
static int count_request(SSL *ssl, void *arg)
{
    (void)ssl;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 1;
}

static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
    (void)curl;
    SSL_CTX_set_cert_cb(ssl_ctx, count_request, arg);
    return CURLE_OK;
}

/* GET /cert presenting `cert` (NULL: none); *asked counts the requests. */
static void get_cert(const http_server *s, const char *cert, const char *key,
                     http_response *r, atomic_int *asked)
{
    g_autofree char *url = g_strconcat(s->url, "/cert", NULL);
    http_ca_file = server_cert;
    CURL *c = http_client(url, r, NULL);
    http_ca_file = NULL;
    atomic_store(asked, 0);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, asked);
    if (cert) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    }
    http_perform(c, r);
}

#define EXPECT_BODY(r, text)                                                \
    do {                                                                   \
        CU_ASSERT_EQUAL((r).code, CURLE_OK);                               \
        CU_ASSERT_EQUAL((r).status, 200);                                  \
        CU_ASSERT_STRING_EQUAL((r).body->str, text);                       \
    } while (0)

/* ---- tests */

static void test_http_tls__client_cert_reaches_handler(void)
{
    g_autofree char *want = g_strdup_printf("cert %zu %s", client_der_len, client_der_sha);
    atomic_int asked;
    http_response r;

    http_config("server.tls_client_ca", ca_cert);
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL(s->url);
    if (s->url) {
        get_cert(s, client_cert, client_key, &r, &asked);
        EXPECT_BODY(r, want);
        CU_ASSERT_EQUAL(atomic_load(&asked), 1);
        http_response_clear(&r);
        get_cert(s, NULL, NULL, &r, &asked); /* asked, but optional */
        EXPECT_BODY(r, "cert 0 -");
        CU_ASSERT_EQUAL(atomic_load(&asked), 1);
        http_response_clear(&r);
        get_cert(s, rogue_cert, rogue_key, &r, &asked); /* same CN, another issuer */
        EXPECT_BODY(r, "cert 0 -");
        http_response_clear(&r);
    }
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.tls_client_ca", NULL);
}

static void test_http_tls__no_ca_asks_no_cert(void)
{
    atomic_int asked;
    http_response r;

    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL(s->url);
    if (s->url) {
        get_cert(s, client_cert, client_key, &r, &asked);
        EXPECT_BODY(r, "cert 0 -");
        CU_ASSERT_EQUAL(atomic_load(&asked), 0);
        http_response_clear(&r);
    }
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

/* Fleet's configs spell the pair server.cert and server.key. */
static void test_http_tls__fleet_spellings(void)
{
    atomic_int asked;
    http_response r;

    http_config("server.tls_cert", NULL);
    http_config("server.tls_key", NULL);
    http_config("server.cert", server_cert);
    http_config("server.key", server_key);
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL(s->url);
    if (s->url) {
        CU_ASSERT_TRUE(g_str_has_prefix(s->url, "https://127.0.0.1:"));
        get_cert(s, NULL, NULL, &r, &asked);
        EXPECT_BODY(r, "cert 0 -");
        http_response_clear(&r);
    }
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.cert", NULL);
    http_config("server.key", NULL);
    http_config("server.tls_cert", server_cert);
    http_config("server.tls_key", server_key);
}

static void test_http_tls__ca_needs_tls(void)
{
    g_autofree char *cert = g_strdup(server_cert);
    g_autofree char *key = g_strdup(server_key);

    http_config("server.tls_client_ca", ca_cert);
    http_config("server.tls_cert", NULL);
    http_config("server.tls_key", NULL);
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NULL(s->url);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), ORCHARD_EINVAL);
    http_config("server.tls_cert", cert);
    http_config("server.tls_key", key);
    http_config("server.tls_client_ca", "/nonexistent/ca.pem");
    s = http_server_start();
    CU_ASSERT_PTR_NULL(s->url);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), ORCHARD_ENOTFOUND);
    http_config("server.tls_client_ca", NULL);
}

void http_tls_suite(void)
{
    ORCHARD_ADD_SUITE("http_tls", suite_init, suite_cleanup,
                      {"client_cert_reaches_handler", test_http_tls__client_cert_reaches_handler},
                      {"no_ca_asks_no_cert", test_http_tls__no_ca_asks_no_cert},
                      {"fleet_spellings", test_http_tls__fleet_spellings},
                      {"ca_needs_tls", test_http_tls__ca_needs_tls});
}

/* The http_client suites' shared pieces (http_client_fixture.h). */
#include "tests/host/http_client_fixture.h"

#include "host/http_client/http_client.h"
#include "host/plugins/plugin_ctx.h"
#include "tests/host/http_fixture.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

char *hcfx_server_pem, *hcfx_server_key_pem, *hcfx_client_pem, *hcfx_client_key_pem,
    *hcfx_stranger_pem;
static char *dir;

char *hcfx_path(const char *name) { return g_build_filename(dir, name, NULL); }
#define in_dir hcfx_path

static char *read_text(const char *name)
{
    g_autofree char *path = in_dir(name);
    char *text = NULL;
    return g_file_get_contents(path, &text, NULL, NULL) ? text : NULL;
}

/* server.pem (self-signed, 127.0.0.1) doubles as the CA clients trust;
 * ca.pem signs client.pem (UID = the topic, as Apple's push certificates
 * carry it); stranger.pem is a CA nobody used. */
static int make_pki(void)
{
    g_autofree char *sk = in_dir("server.key"), *sc = in_dir("server.pem");
    g_autofree char *ck = in_dir("ca.key"), *cc = in_dir("ca.pem");
    g_autofree char *lk = in_dir("client.key"), *lc = in_dir("client.pem");
    g_autofree char *csr = in_dir("client.csr"), *ext = in_dir("client.ext");
    g_autofree char *xk = in_dir("stranger.key"), *xc = in_dir("stranger.pem");
    const char *server[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", sk, "-out", sc,
                            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1", NULL};
    const char *ca[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ck, "-out", cc,
                        "-days", "1", "-subj", "/CN=push client CA", NULL};
    const char *req[] = {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", lk, "-out", csr,
                         "-subj", "/UID=" HCFX_TOPIC "/CN=APSP:http_client test", NULL};
    const char *sign[] = {"openssl", "x509", "-req", "-in", csr, "-CA", cc, "-CAkey", ck,
                          "-set_serial", "7", "-out", lc, "-days", "1", "-extfile", ext, NULL};
    const char *stranger[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", xk, "-out",
                              xc, "-days", "1", "-subj", "/CN=stranger CA", NULL};

    return g_file_set_contents(ext, "extendedKeyUsage=clientAuth\n", -1, NULL) &&
           http_openssl(server) && http_openssl(ca) && http_openssl(req) &&
           http_openssl(sign) && http_openssl(stranger);
}

int hcfx_init(void)
{
    if (!(dir = g_dir_make_tmp("orchard-http-client-XXXXXX", NULL)) || !make_pki())
        return 1;
    hcfx_server_pem = read_text("server.pem");
    hcfx_server_key_pem = read_text("server.key");
    hcfx_client_pem = read_text("client.pem");
    hcfx_client_key_pem = read_text("client.key");
    hcfx_stranger_pem = read_text("stranger.pem");
    if (!hcfx_server_pem || !hcfx_server_key_pem || !hcfx_client_pem || !hcfx_client_key_pem ||
        !hcfx_stranger_pem) {
        fprintf(stderr, "http_client: openssl made no certificates in %s\n", dir);
        return 1;
    }
    http_config("http_client_module", HCFX_MODULE_PATH);
    return 0;
}

void hcfx_cleanup(void)
{
    http_config("http_client_module", NULL);
    if (dir) {
        const char *files[] = {"server.pem", "server.key", "ca.pem", "ca.key", "client.pem",
                               "client.key", "client.csr", "client.ext", "stranger.pem",
                               "stranger.key"};
        for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
            g_autofree char *f = in_dir(files[i]);
            g_unlink(f);
        }
        g_rmdir(dir);
    }
    g_clear_pointer(&dir, g_free);
    g_clear_pointer(&hcfx_server_pem, g_free);
    g_clear_pointer(&hcfx_server_key_pem, g_free);
    g_clear_pointer(&hcfx_client_pem, g_free);
    g_clear_pointer(&hcfx_client_key_pem, g_free);
    g_clear_pointer(&hcfx_stranger_pem, g_free);
}

orchard_http_client *hcfx_client(const char *cert, const char *key, const char *ca,
                                 uint32_t timeout_ms)
{
    orchard_http_client_config cfg = {
        ORCHARD_STRUCT_HEADER(orchard_http_client_config),
        .cert_pem = cert,
        .key_pem = key,
        .ca_pem = ca,
        .connections = 2,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = timeout_ms,
    };
    orchard_http_client *c = NULL;
    int rc = orchard_http_client_open(NULL, &cfg, &c);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "http_client_open: %s\n", orchard_ctx_failure());
    return c;
}

/* A port nothing listens on (bound, then closed). */
unsigned hcfx_port(int keep_listening, int *fd_out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
        (keep_listening && listen(fd, 8) != 0)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    if (keep_listening)
        *fd_out = fd;
    else
        close(fd);
    return ntohs(a.sin_port);
}

/* The http_client suites' shared pieces (http_client_test.c against the
 * APNs stand-in, http_client_peers_test.c against hostile and absent
 * peers): throwaway certificates made with openssl, a client with the
 * usual test settings, and free ports. */
#ifndef ORCHARD_TEST_HTTP_CLIENT_FIXTURE_H
#define ORCHARD_TEST_HTTP_CLIENT_FIXTURE_H

#include <orchard/plugin.h>

#include <stdint.h>

#define HCFX_MODULE_PATH BUILD_DIR "/modules/orchard_http_client.so"
/* The topic client.pem carries (UID), as Apple's push certificates do. */
#define HCFX_TOPIC "com.apple.mgmt.External.5d1c6b4e-2a3f-4e8b-9c7d-0e1f2a3b4c5d"

/* PEM text, from hcfx_init to hcfx_cleanup: server.pem (self-signed for
 * 127.0.0.1; also the CA clients trust) and its key, client.pem (issued by
 * ca.pem, clientAuth) and its key, stranger.pem (a CA nobody used). */
extern char *hcfx_server_pem, *hcfx_server_key_pem, *hcfx_client_pem, *hcfx_client_key_pem,
    *hcfx_stranger_pem;

/* Make the certificates in a temporary directory and point
 * http_client_module at the built module. 0, or 1 (said on stderr). */
int hcfx_init(void);
void hcfx_cleanup(void);
/* A file of that directory ("ca.pem"); g_free. */
char *hcfx_path(const char *name);

/* http_client_open with 2 connections and timeout_ms for both timeouts;
 * a CUnit failure (and NULL) when it fails. */
orchard_http_client *hcfx_client(const char *cert, const char *key, const char *ca,
                                 uint32_t timeout_ms);

/* A loopback port: bound then closed (nothing listens), or with
 * keep_listening, listening on *fd_out and never accepting. 0 on failure. */
unsigned hcfx_port(int keep_listening, int *fd_out);

#endif

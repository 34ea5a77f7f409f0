/* The check-in suites' fixture (checkin_test.c, checkin_identity_test.c):
 * /mdm/apple/mdm driven through its route handler on a fake host (our
 * request, response, log and events; the real store), devices with
 * certificates from the fixtures' SCEP CA, recorded as the SCEP server
 * records them, bodies signed with detached CMS as Macs sign them, and the
 * messages Macs send. */
#ifndef ORCHARD_TESTS_CHECKIN_FIXTURE_H
#define ORCHARD_TESTS_CHECKIN_FIXTURE_H

#include <orchard/plugin.h>

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define CHECKIN_CT "application/x-apple-aspen-mdm-checkin"

/** A request as the fake host hands it to the route. */
typedef struct {
    const char *method;
    const char *content_type;
    const char *signature;
    const unsigned char *body;
    size_t len;
    const unsigned char *cert; /* what http_client_cert gives (the proxy path) */
    size_t cert_len;
} fake_req;

/** The route's answer, as the fake host records it. */
typedef struct {
    int status;
    GByteArray *body;
    char *content_type;
} fake_resp;

/** A simulated device: its key, its certificate, the certificate's DER. */
typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    unsigned char *der;
    int der_len;
} device;

extern orchard_ctx *ckfx_ctx;           /* the server plugin's context */
extern X509 *ckfx_ca;                   /* the SCEP CA in force */
extern EVP_PKEY *ckfx_ca_key;
extern GPtrArray *ckfx_log_lines, *ckfx_events; /* what the fake host saw */

/** Suite init and cleanup: the fake host, a fresh store, the configuration. */
int ckfx_init(void);
int ckfx_cleanup(void);

void ckfx_device_make_at(device *d, const char *cn, X509 *ca, EVP_PKEY *ca_key, int record,
                         gint64 signed_at);
void ckfx_device_make(device *d, const char *cn, X509 *ca, EVP_PKEY *ca_key, int record);
void ckfx_device_free(device *d);
char *ckfx_sign(const device *d, const char *body, size_t len);
void ckfx_resp_clear(fake_resp *r);
int ckfx_send_full(const char *method, const char *ct, const char *body, size_t len,
                   const device *signer, const device *proxy, fake_resp *r);
int ckfx_send(const char *ct, const char *body, const device *signer);
char *ckfx_plist_doc(const char *inner);
char *ckfx_msg_authenticate(const char *udid, const char *topic);
char *ckfx_msg_simple(const char *type, const char *udid, const char *extra);
char *ckfx_msg_token_update(const char *udid);
char *ckfx_report(const char *udid, const char *status, const char *uuid, const char *extra);
const char *ckfx_topic(void);
void ckfx_enroll(const char *udid, const device *d);
void ckfx_queue_cmd(const char *uuid, const char *udid, gint64 at_us);
int ckfx_report_at(const device *d, const char *body, gint64 now_us, char **uuid_out);
int ckfx_logged(const char *needle);
int ckfx_enrollments(void);
int ckfx_has_event(const char *prefix);

#endif

/* PKIOperation, step by step: read the message (or 400), refuse with a
 * signed CertRep FAILURE when the request is well formed but not acceptable
 * (badMessageCheck for signatures and envelopes, badRequest for policy),
 * else sign, record (spending a one-time challenge in the same
 * transaction) and answer SUCCESS. */
#include "server_plugin/scep/scep_service.h"

#include "server_plugin/scep/scep_csr.h"
#include "server_plugin/scep/scep_message.h"
#include "server_plugin/store/server_store.h"

#include <orchard/plugin.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <string.h>

/* POSTPKIOperation is always advertised: macOS's GET path mis-escapes base64. */
const char orchard_scep_ca_caps[] = "Renewal\nSHA-1\nSHA-256\nAES\nDES3\nSCEPStandard\n"
                                    "POSTPKIOperation\n";

void orchard_scep_result_clear(orchard_scep_result *res)
{
    g_free(res->body);
    g_free(res->serial);
    g_free(res->reason);
    memset(res, 0, sizeof *res);
}

/* Equal in constant time for equal lengths; hashing first makes the
 * lengths equal, so neither the secret's length nor a prefix leaks. */
static int challenge_equal(const char *a, const char *b)
{
    unsigned char ha[32], hb[32];
    unsigned int na = 0, nb = 0;
    if (!EVP_Digest(a, strlen(a), ha, &na, EVP_sha256(), NULL) ||
        !EVP_Digest(b, strlen(b), hb, &nb, EVP_sha256(), NULL))
        return 0;
    return CRYPTO_memcmp(ha, hb, sizeof ha) == 0;
}

static void refuse(const orchard_scep_service *svc, const orchard_scep_request *req,
                   orchard_scep_fail_info fail, char *reason, orchard_scep_result *res)
{
    res->reason = g_strdup_printf("%s (%s)", reason, orchard_scep_fail_name(fail));
    g_free(reason);
    if (orchard_scep_certrep(req, svc->ca, svc->ca_key, NULL, fail, &res->body,
                             &res->body_len) == 0) {
        res->http_status = 200;
    } else {
        res->http_status = 500;
        res->body = NULL;
    }
}

/* PKCSReq: the challenge decides, and says which kind it was. */
static int check_challenge(const orchard_scep_service *svc, X509_REQ *csr, gint64 now,
                           orchard_challenge_kind *kind, char **challenge, char **reason)
{
    int rc = orchard_scep_csr_challenge(csr, challenge);
    if (rc == ORCHARD_ENOTFOUND) {
        *reason = g_strdup("the CSR has no challengePassword");
        return rc;
    }
    if (rc) {
        *reason = g_strdup("the CSR's challengePassword is malformed");
        return rc;
    }
    if (svc->static_challenge && challenge_equal(*challenge, svc->static_challenge)) {
        *kind = ORCHARD_CHALLENGE_STATIC;
        return 0;
    }
    rc = orchard_server_store_challenge_check(*challenge, now);
    if (rc == 0) {
        *kind = ORCHARD_CHALLENGE_ONE_TIME;
        return 0;
    }
    *reason = g_strdup(rc == ORCHARD_ENOTFOUND ? "wrong, used or expired challenge"
                                               : "the challenge could not be checked");
    return rc;
}

/* RenewalReq: signed by a certificate we issued that is still valid, not
 * revoked, and inside the renewal window before its expiry. */
static int check_renewal(const orchard_scep_service *svc, const orchard_scep_request *req,
                         gint64 now, char **renewed_serial, char **reason)
{
    EVP_PKEY *ca_pub = X509_get0_pubkey(svc->ca);
    if (X509_check_issued(svc->ca, req->signer) != X509_V_OK || !ca_pub ||
        X509_verify(req->signer, ca_pub) != 1) {
        ERR_clear_error();
        *reason = g_strdup("renewal signed by a certificate this CA did not issue");
        return ORCHARD_EINVAL;
    }
    g_autofree char *serial = orchard_scep_serial_hex(req->signer);
    int revoked = 0;
    gint64 not_after = 0;
    int rc = orchard_server_store_cert_lookup(serial, &revoked, &not_after);
    if (rc) {
        *reason = g_strdup_printf("renewal of certificate %s: %s", serial,
                                  rc == ORCHARD_ENOTFOUND ? "not on record" : "store failed");
        return rc;
    }
    if (revoked || now >= not_after) {
        *reason = g_strdup_printf("renewal of certificate %s: %s", serial,
                                  revoked ? "revoked" : "expired");
        return ORCHARD_EINVAL;
    }
    if (now < not_after - (gint64)svc->allow_renewal_days * 86400) {
        *reason = g_strdup_printf("renewal of certificate %s: only in the last %ld days before "
                                  "it expires",
                                  serial, svc->allow_renewal_days);
        return ORCHARD_EINVAL;
    }
    *renewed_serial = g_steal_pointer(&serial);
    return 0;
}

/* Sign, record, reply. A store failure issues nothing: 503, the device retries. */
static void issue(const orchard_scep_service *svc, const orchard_scep_request *req,
                  X509_REQ *csr, orchard_challenge_kind kind, const char *challenge,
                  const char *renewed_serial, gint64 now, orchard_scep_result *res)
{
    g_autofree char *err = NULL;
    X509 *cert = NULL;
    if (orchard_scep_sign(csr, svc->ca, svc->ca_key, svc->validity_days, now, &cert, &err)) {
        res->http_status = 500;
        res->reason = g_steal_pointer(&err);
        return;
    }
    unsigned char *der = NULL;
    int der_len = i2d_X509(cert, &der);
    g_autofree char *serial = orchard_scep_serial_hex(cert);
    g_autofree char *sha = orchard_scep_cert_sha256(cert);
    char *subject = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        const char *d = NULL;
        long n = BIO_get_mem_data(b, &d);
        subject = g_strndup(d, n > 0 ? (gsize)n : 0);
    }
    BIO_free(b);
    orchard_issued_cert rec = {
        .serial = serial,
        .subject = subject ? subject : "",
        .not_before = now - 600,
        .not_after = now + (gint64)svc->validity_days * 86400,
        .challenge_kind = kind,
        .sha256 = sha,
        .der = der,
        .der_len = der_len > 0 ? (size_t)der_len : 0,
        .renewed_serial = renewed_serial,
    };
    int rc = der_len > 0 ? orchard_server_store_cert_record(&rec, challenge, now) : ORCHARD_EIO;
    g_free(subject);
    OPENSSL_free(der);
    if (rc == ORCHARD_ENOTFOUND) {
        /* Another request spent the one-time challenge first. */
        refuse(svc, req, ORCHARD_SCEP_BAD_REQUEST, g_strdup("wrong, used or expired challenge"),
               res);
    } else if (rc) {
        res->http_status = 503;
        res->reason = g_strdup("the store could not record the certificate; nothing issued");
    } else if (orchard_scep_certrep(req, svc->ca, svc->ca_key, cert, 0, &res->body,
                                    &res->body_len) == 0) {
        res->http_status = 200;
        res->issued = 1;
        res->serial = g_steal_pointer(&serial);
    } else {
        res->http_status = 500;
        res->reason = g_strdup("building the CertRep failed");
    }
    X509_free(cert);
}

void orchard_scep_pki_operation(const orchard_scep_service *svc, const unsigned char *msg,
                                size_t len, gint64 now, orchard_scep_result *res)
{
    orchard_scep_request *req = NULL;
    X509_REQ *csr = NULL;
    char *reason = NULL;
    memset(res, 0, sizeof *res);
    if (orchard_scep_request_parse(msg, len, &req, &reason)) {
        res->http_status = 400;
        res->reason = reason;
        return;
    }
    g_autofree char *challenge = NULL;
    g_autofree char *renewed = NULL;
    orchard_challenge_kind kind = ORCHARD_CHALLENGE_STATIC;
    if (!req->signature_ok) {
        refuse(svc, req, ORCHARD_SCEP_BAD_MESSAGE_CHECK, g_strdup(req->signature_error), res);
    } else if (req->message_type != ORCHARD_SCEP_PKCS_REQ &&
               req->message_type != ORCHARD_SCEP_RENEWAL_REQ) {
        refuse(svc, req, ORCHARD_SCEP_BAD_REQUEST,
               g_strdup_printf("unsupported messageType %d", req->message_type), res);
    } else if (orchard_scep_request_open(req, svc->ca, svc->ca_key, &csr, &reason)) {
        refuse(svc, req, ORCHARD_SCEP_BAD_MESSAGE_CHECK, reason, res);
    } else if (!orchard_scep_csr_has_subject(csr)) {
        refuse(svc, req, ORCHARD_SCEP_BAD_REQUEST, g_strdup("the CSR has an empty subject"), res);
    } else if (req->message_type == ORCHARD_SCEP_PKCS_REQ &&
               check_challenge(svc, csr, now, &kind, &challenge, &reason)) {
        refuse(svc, req, ORCHARD_SCEP_BAD_REQUEST, reason, res);
    } else if (req->message_type == ORCHARD_SCEP_RENEWAL_REQ &&
               check_renewal(svc, req, now, &renewed, &reason)) {
        refuse(svc, req, ORCHARD_SCEP_BAD_REQUEST, reason, res);
    } else {
        if (req->message_type == ORCHARD_SCEP_RENEWAL_REQ)
            kind = ORCHARD_CHALLENGE_RENEWAL;
        issue(svc, req, csr, kind, challenge, renewed, now, res);
    }
    if (challenge)
        OPENSSL_cleanse(challenge, strlen(challenge));
    X509_REQ_free(csr);
    orchard_scep_request_free(req);
}

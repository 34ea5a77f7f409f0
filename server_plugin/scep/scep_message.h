/* SCEP's PKI messages (RFC 8894) on OpenSSL CMS: reading a request
 * (SignedData around an EnvelopedData around a CSR) and writing the CertRep
 * reply. No policy here: scep_service.c decides what to issue. */
#ifndef ORCHARD_SCEP_MESSAGE_H
#define ORCHARD_SCEP_MESSAGE_H

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

/* messageType values (PrintableString on the wire). */
enum {
    ORCHARD_SCEP_CERT_REP = 3,
    ORCHARD_SCEP_RENEWAL_REQ = 17,
    ORCHARD_SCEP_PKCS_REQ = 19,
    ORCHARD_SCEP_CERT_POLL = 20
};

/* failInfo values. */
typedef enum {
    ORCHARD_SCEP_BAD_ALG = 0,
    ORCHARD_SCEP_BAD_MESSAGE_CHECK = 1,
    ORCHARD_SCEP_BAD_REQUEST = 2,
    ORCHARD_SCEP_BAD_TIME = 3,
    ORCHARD_SCEP_BAD_CERT_ID = 4
} orchard_scep_fail_info;

/** "badRequest", ... */
const char *orchard_scep_fail_name(orchard_scep_fail_info fail);

#define ORCHARD_SCEP_NONCE_MAX 64

/** A request whose envelope is still sealed. */
typedef struct orchard_scep_request {
    int message_type;
    char *transaction_id;
    unsigned char sender_nonce[ORCHARD_SCEP_NONCE_MAX];
    size_t sender_nonce_len;
    X509 *signer;            /* the requester's certificate (self-signed or ours) */
    int signature_ok;        /* the SignedData signature verified with `signer` */
    char *signature_error;   /* why not, when !signature_ok */
    unsigned char *envelope; /* the EnvelopedData, DER */
    size_t envelope_len;
} orchard_scep_request;

/**
 * Read a PKIOperation message. A request that is not even a SignedData with
 * a signer, a messageType, a transactionID and a senderNonce can't be
 * answered with a CertRep: ORCHARD_EINVAL with *reason (g_free). A bad
 * signature is NOT an error here (signature_ok 0): the caller answers it
 * with badMessageCheck. *out: orchard_scep_request_free.
 */
int orchard_scep_request_parse(const unsigned char *der, size_t len,
                               orchard_scep_request **out, char **reason);
void orchard_scep_request_free(orchard_scep_request *req);

/**
 * Open the envelope with the CA's key and read the CSR inside (its own
 * signature checked). ORCHARD_EINVAL with *reason: not for us (wrong
 * recipient), undecryptable, not a CSR, or a CSR whose signature fails.
 */
int orchard_scep_request_open(const orchard_scep_request *req, X509 *ca, EVP_PKEY *ca_key,
                              X509_REQ **csr, char **reason);

/**
 * The CertRep for `req`: SUCCESS with `issued` enveloped to the requester's
 * certificate (issued != NULL), else FAILURE with `fail`. Signed by the CA.
 * Returns 0 and *out (g_free) / *out_len, or ORCHARD_ENOMEM / ORCHARD_EIO.
 */
int orchard_scep_certrep(const orchard_scep_request *req, X509 *ca, EVP_PKEY *ca_key,
                         X509 *issued, orchard_scep_fail_info fail, unsigned char **out,
                         size_t *out_len);

/**
 * Free the library context kept for single-DES envelopes (OpenSSL's legacy
 * provider). Call when no request is in flight: the plugin's deinit does,
 * before the host unloads it.
 */
void orchard_scep_message_cleanup(void);

/** Drop this thread's OpenSSL state in that context; call as a thread ends. */
void orchard_scep_message_thread_stop(void);

#endif

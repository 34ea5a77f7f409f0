/* A SCEP requester (RFC 8894) for the tests and the benchmark: it plays the
 * device against orchard's /mdm/apple/scep. It builds PKCSReq and RenewalReq
 * one layer at a time (CSR -> EnvelopedData -> SignedData) so a test can break
 * any layer, checks and opens CertRep, and speaks SCEP's HTTP on libcurl.
 * Proved against micromdm's scepserver (bench/scep/run.sh does it again).
 *
 * Functions that can fail return 0 or a negative ORCHARD_E... code and, when
 * error_msg is not NULL, set *error_msg to a message (free()) and leave the
 * out-parameters untouched. Buffers returned through out-parameters are
 * malloc'd (free()); OpenSSL objects are the caller's (X509_free and so on).
 * The only global state is made once and then read: the SCEP attribute OIDs
 * (as objects, never registered as NIDs) and a private OpenSSL library
 * context with the legacy provider, for CertReps encrypted with single DES
 * (micromdm's scepserver sends those). So any thread may build and parse; an
 * HTTP handle belongs to one thread at a time. */
#ifndef ORCHARD_SCEP_CLIENT_H
#define ORCHARD_SCEP_CLIENT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "orchard/plugin.h" /* ORCHARD_E... codes */

/* messageType (PrintableString of the decimal number on the wire). */
enum {
    ORCHARD_SCEPC_CERTREP = 3,
    ORCHARD_SCEPC_RENEWALREQ = 17,
    ORCHARD_SCEPC_PKCSREQ = 19,
    ORCHARD_SCEPC_GETCERTINITIAL = 20,
};

/* pkiStatus. */
enum { ORCHARD_SCEPC_SUCCESS = 0, ORCHARD_SCEPC_FAILURE = 2, ORCHARD_SCEPC_PENDING = 3 };

/* failInfo. */
enum {
    ORCHARD_SCEPC_BAD_ALG = 0,
    ORCHARD_SCEPC_BAD_MESSAGE_CHECK = 1,
    ORCHARD_SCEPC_BAD_REQUEST = 2,
    ORCHARD_SCEPC_BAD_TIME = 3,
    ORCHARD_SCEPC_BAD_CERT_ID = 4,
};

/* Content-encryption algorithm of the EnvelopedData (SCEP caps AES / DES3). */
typedef enum {
    ORCHARD_SCEPC_AES256_CBC = 0, /* the default */
    ORCHARD_SCEPC_AES128_CBC,
    ORCHARD_SCEPC_DES3_CBC,
} orchard_scepc_cipher;

#define ORCHARD_SCEPC_NONCE_LEN 16
#define ORCHARD_SCEPC_TXID_MAX 129 /* 128 characters and the NUL */

/* ---- keys and certificates ---------------------------------------------- */

/** A fresh RSA key of `bits` bits. ORCHARD_ENOMEM / ORCHARD_EINVAL. */
int orchard_scepc_rsa_key(EVP_PKEY **out, int bits, char **error_msg);

/**
 * A self-signed certificate for `key`, as a device makes to sign its PKCSReq:
 * subject = issuer = `subject` (see orchard_scepc_csr_der; empty gives
 * "/CN=orchard-scep-requester"), random serial, valid from an hour ago for
 * 30 days, SHA-256. ORCHARD_EINVAL (bad subject), ORCHARD_ENOMEM.
 */
int orchard_scepc_self_signed(X509 **out, EVP_PKEY *key, const char *subject, char **error_msg);

/**
 * 1 when `cert` chains to `ca` (an X509_STORE holding only `ca`, purpose
 * SSL client, so the EKU clientAuth is checked too) and `cert`'s public key is
 * `key` (when `key` is not NULL); else 0 with *error_msg saying why.
 */
int orchard_scepc_verify_issued(X509 *cert, X509 *ca, EVP_PKEY *key, char **error_msg);

/* ---- the layers of a request, as DER ------------------------------------- */

/**
 * A PKCS#10 CSR for `key`. `subject` is "/CN=dev/O=Acme" ('\' escapes a '/');
 * NULL or "" is an empty subject. `challenge` becomes the challengePassword
 * attribute (PrintableString, or UTF8String when it needs it); NULL leaves it
 * out. `md` NULL is SHA-256. ORCHARD_EINVAL (bad subject or key), ORCHARD_ENOMEM.
 */
int orchard_scepc_csr_der(unsigned char **out, size_t *out_len, EVP_PKEY *key,
                          const char *subject, const char *challenge, const EVP_MD *md,
                          char **error_msg);

/**
 * PKCS#7 EnvelopedData of `content` for `recipient` (RSA key transport,
 * PKCS#1 v1.5), content encrypted with `cipher`. ORCHARD_EINVAL, ORCHARD_ENOMEM.
 */
int orchard_scepc_envelope_der(unsigned char **out, size_t *out_len, const unsigned char *content,
                               size_t len, X509 *recipient, orchard_scepc_cipher cipher,
                               char **error_msg);

/* SCEP authenticated attributes of a SignedData. A NULL field is left out. */
typedef struct {
    const char *message_type;   /* "19", "17", ... (PrintableString) */
    const char *transaction_id; /* PrintableString */
    const unsigned char *sender_nonce; /* OCTET STRING of sender_nonce_len bytes */
    size_t sender_nonce_len;
    const char *pki_status;     /* only servers send these three; here for */
    const char *fail_info;      /* tests that forge a CertRep */
    const unsigned char *recipient_nonce;
    size_t recipient_nonce_len;
} orchard_scepc_attrs;

/**
 * PKCS#7 SignedData carrying `content` (as id-data), `cert` in its
 * certificates, one SignerInfo naming `cert` and signed by `key` with `md`
 * (NULL: SHA-256), with contentType, messageDigest, signingTime and `attrs`.
 * `key` need not be `cert`'s key: that is how a test makes a bad signature.
 * ORCHARD_EINVAL, ORCHARD_ENOMEM.
 */
int orchard_scepc_signed_der(unsigned char **out, size_t *out_len, const unsigned char *content,
                             size_t len, X509 *cert, EVP_PKEY *key, const EVP_MD *md,
                             const orchard_scepc_attrs *attrs, char **error_msg);

/* ---- a whole request ----------------------------------------------------- */

/* Attributes to leave out of a request (bits of orchard_scepc_request_opts.omit). */
#define ORCHARD_SCEPC_OMIT_MESSAGE_TYPE 0x1u
#define ORCHARD_SCEPC_OMIT_TRANSACTION_ID 0x2u
#define ORCHARD_SCEPC_OMIT_SENDER_NONCE 0x4u

/* What to put in a PKCSReq or RenewalReq. Zero everything but key and ca for a
 * plain PKCSReq without challenge. Every pointer is borrowed. */
typedef struct {
    int message_type;        /* ORCHARD_SCEPC_PKCSREQ (also 0) or ORCHARD_SCEPC_RENEWALREQ */
    EVP_PKEY *key;           /* the RSA key the certificate is for; required */
    const char *subject;     /* CSR subject, "/CN=dev"; NULL or "" = empty */
    const char *challenge;   /* challengePassword; NULL = none */
    X509 *ca;                /* the CA; required */
    X509 *recipient;         /* encrypt the CSR to this instead of ca; NULL = ca */
    X509 *signer_cert;       /* NULL: a self-signed cert made from key (PKCSReq);
                                RenewalReq: the CA-issued certificate */
    EVP_PKEY *signer_key;    /* signer_cert's key; NULL = key */
    EVP_PKEY *forge_key;     /* sign with this key, not signer_key: a bad signature */
    orchard_scepc_cipher cipher;
    const EVP_MD *digest;    /* CSR and SignedData digest; NULL = SHA-256 */
    const char *transaction_id; /* NULL: hex SHA-256 of key's SubjectPublicKeyInfo */
    const char *message_type_text; /* put this on the wire instead (hostile); NULL = number */
    unsigned omit;           /* ORCHARD_SCEPC_OMIT_* */
} orchard_scepc_request_opts;

/* A built request; what it holds is needed again to check and open the reply. */
typedef struct {
    unsigned char *der;   /* the PKIOperation message */
    size_t der_len;
    char transaction_id[ORCHARD_SCEPC_TXID_MAX];
    unsigned char sender_nonce[ORCHARD_SCEPC_NONCE_LEN];
    X509 *signer_cert;    /* the reply's envelope is for this certificate... */
    EVP_PKEY *signer_key; /* ...and opened with this key */
    EVP_PKEY *key;        /* the issued certificate must carry this public key */
} orchard_scepc_request;

/**
 * Build a request: CSR, envelope for the CA, SignedData with messageType,
 * transactionID and a fresh random senderNonce. ORCHARD_EINVAL (missing key or
 * ca, bad subject), ORCHARD_ENOMEM. Release *out with orchard_scepc_request_clear.
 */
int orchard_scepc_request_build(orchard_scepc_request *out, const orchard_scepc_request_opts *opts,
                                char **error_msg);

/** Free what a request holds and zero it. NULL and a zeroed struct are fine. */
void orchard_scepc_request_clear(orchard_scepc_request *req);

/* ---- the reply ----------------------------------------------------------- */

/* Parse flags. */
#define ORCHARD_SCEPC_SKIP_DECRYPT 0x1u /* check everything but don't open the envelope */

typedef struct {
    int message_type; /* ORCHARD_SCEPC_CERTREP; -1 absent */
    int pki_status;   /* ORCHARD_SCEPC_SUCCESS / FAILURE / PENDING */
    int fail_info;    /* ORCHARD_SCEPC_BAD_*; -1 absent */
    char transaction_id[ORCHARD_SCEPC_TXID_MAX];
    unsigned char recipient_nonce[ORCHARD_SCEPC_NONCE_LEN];
    X509 *signer;     /* who signed the CertRep: the CA, or an RA the CA issued */
    X509 *cert;       /* SUCCESS (and not SKIP_DECRYPT): the issued certificate */
    int n_certs;      /* certificates in the degenerate SignedData */
    int content_cipher; /* NID of the envelope's cipher (NID_aes_256_cbc, NID_des_cbc...);
                           0 when not opened */
} orchard_scepc_reply;

/**
 * Check and read a CertRep. The SignedData must verify with its signer, and the
 * signer must be `ca` or issued by it; messageType must be "3" and pkiStatus
 * present; when `req` is given, recipientNonce must equal its senderNonce and
 * transactionID its transactionID. On SUCCESS (with req, without
 * ORCHARD_SCEPC_SKIP_DECRYPT) the envelope is opened with req's signer key and
 * the certificate for req's key taken from the degenerate SignedData.
 * Returns 0 for every well-formed CertRep, whatever its pkiStatus: look at
 * out->pki_status. ORCHARD_EINVAL (not DER PKCS#7 SignedData, an attribute
 * missing or of the wrong type), ORCHARD_EPROTO (bad signature, unknown
 * signer, nonce or transactionID mismatch, envelope not for us, no
 * certificate for our key), ORCHARD_ENOMEM. Release with orchard_scepc_reply_clear.
 */
int orchard_scepc_reply_parse(orchard_scepc_reply *out, const unsigned char *der, size_t len,
                              X509 *ca, const orchard_scepc_request *req, unsigned flags,
                              char **error_msg);

/** Free what a reply holds and zero it. */
void orchard_scepc_reply_clear(orchard_scepc_reply *rep);

/** "SUCCESS", "FAILURE", "PENDING" or "?"; "badAlg"... for fail_info, "-" for -1. */
const char *orchard_scepc_status_name(int pki_status);
const char *orchard_scepc_fail_info_name(int fail_info);

/* ---- HTTP ---------------------------------------------------------------- */

typedef struct orchard_scepc_http orchard_scepc_http;

typedef struct {
    long status;        /* HTTP status */
    char *content_type; /* NULL when the server sent none */
    unsigned char *body;
    size_t len;
} orchard_scepc_response;

/**
 * A handle on a SCEP endpoint, e.g. "http://127.0.0.1:8080/mdm/apple/scep"
 * (queries are appended with '?' or '&'). It keeps its connection alive
 * between requests; use one handle per thread. `cafile` (PEM) trusts a
 * server certificate for https; `insecure` skips the check. Timeout 30 s.
 * ORCHARD_EINVAL, ORCHARD_ENOMEM. orchard_scepc_http_free releases it.
 */
int orchard_scepc_http_new(orchard_scepc_http **out, const char *url, const char *cafile,
                           int insecure, char **error_msg);
void orchard_scepc_http_free(orchard_scepc_http *h);

/**
 * One request: `method` "GET", "POST" or anything else (sent as is, with the
 * body if any); `query` appended to the URL (NULL: none); `body` sent with
 * `content_type` (NULL: none; a POST with len 0 sends an empty body).
 * Any HTTP status is a success here. ORCHARD_EIO (connection, timeout),
 * ORCHARD_ETOOBIG (reply over 8 MiB). Release *out with orchard_scepc_response_clear.
 */
int orchard_scepc_http_request(orchard_scepc_http *h, const char *method, const char *query,
                               const void *body, size_t len, const char *content_type,
                               orchard_scepc_response *out, char **error_msg);
void orchard_scepc_response_clear(orchard_scepc_response *r);

/**
 * GET ?operation=GetCACert. A DER certificate (application/x-x509-ca-cert) or
 * a degenerate PKCS#7 (application/x-x509-ca-ra-cert), of which the CA
 * certificate is returned. ORCHARD_EIO, ORCHARD_EPROTO (status not 200,
 * body not a certificate).
 */
int orchard_scepc_get_ca_cert(orchard_scepc_http *h, X509 **out, char **error_msg);

/** GET ?operation=GetCACaps: the body as a NUL-terminated string (free()). */
int orchard_scepc_get_ca_caps(orchard_scepc_http *h, char **out, char **error_msg);

/**
 * PKIOperation: POST of the DER as application/x-pki-message, or with
 * `use_get` GET ?operation=PKIOperation&message=<base64, URL-escaped>.
 * *out is the raw response (any status). ORCHARD_EIO, ORCHARD_ENOMEM.
 */
int orchard_scepc_pki_operation(orchard_scepc_http *h, int use_get, const unsigned char *der,
                                size_t len, orchard_scepc_response *out, char **error_msg);

/**
 * Build a request from `opts`, send it, check the reply: orchard_scepc_request_build,
 * orchard_scepc_pki_operation and orchard_scepc_reply_parse in one. A status
 * other than 200 is ORCHARD_EPROTO. 0 with out->pki_status telling the outcome
 * (on SUCCESS out->cert is the certificate).
 */
int orchard_scepc_enroll(orchard_scepc_http *h, const orchard_scepc_request_opts *opts, int use_get,
                         orchard_scepc_reply *out, char **error_msg);

#endif

/* The SCEP server's policy: which requests get a certificate. The CSR
 * signer is wrapped by a challenge check (static or one-time) for PKCSReq
 * and by a renewal check for RenewalReq; every certificate issued is
 * recorded in the store before the reply leaves. No HTTP here (scep_route.c). */
#ifndef ORCHARD_SCEP_SERVICE_H
#define ORCHARD_SCEP_SERVICE_H

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

typedef struct orchard_scep_service {
    X509 *ca;
    EVP_PKEY *ca_key;
    const char *static_challenge;   /* mdm.apple_scep_challenge; NULL: none */
    long validity_days;             /* mdm.apple_scep_signer_validity_days */
    long allow_renewal_days;        /* mdm.apple_scep_signer_allow_renewal_days */
} orchard_scep_service;

/** The outcome of one PKIOperation. */
typedef struct orchard_scep_result {
    int http_status;      /* 200 with a CertRep, 400 unreadable, 500/503 server-side */
    unsigned char *body;  /* the CertRep (g_free), NULL unless 200 */
    size_t body_len;
    int issued;           /* 1 when a certificate was issued and recorded */
    char *serial;         /* its serial (hex) when issued */
    char *reason;         /* why it was refused, for the log; NULL when issued */
} orchard_scep_result;

void orchard_scep_result_clear(orchard_scep_result *res);

/**
 * Handle one PKIOperation message (the DER PKCS#7 from the body or the GET
 * `message` parameter). Always fills *res; never issues without recording.
 */
void orchard_scep_pki_operation(const orchard_scep_service *svc, const unsigned char *msg,
                                size_t len, gint64 now, orchard_scep_result *res);

/** The CA capabilities we advertise (GetCACaps body, one per line). */
extern const char orchard_scep_ca_caps[];

#endif

/* Machine info as a Mac in Setup Assistant posts it to the DEP enrollment
 * URL, and its malformed variants, for machine_info_test.c and
 * dep_enroll_test.c: a throwaway device identity (self-signed, P-256) and
 * CMS SignedData built with OpenSSL as Apple's devices build it. */
#ifndef ORCHARD_TEST_MACHINE_INFO_FIXTURE_H
#define ORCHARD_TEST_MACHINE_INFO_FIXTURE_H

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} mifx_identity;

/* A fresh key and self-signed "device identity" certificate; 0 or -1. */
int mifx_identity_make(mifx_identity *id, const char *cn);
void mifx_identity_clear(mifx_identity *id);

/* The MachineInfo plist (XML) with UDID, SERIAL, PRODUCT, VERSION, LANGUAGE,
 * OS_VERSION, SOFTWARE_UPDATE_DEVICE_ID, SUPPLEMENTAL_BUILD_VERSION. g_free. */
char *mifx_plist(const char *udid, const char *serial);

/* How to build the CMS (flags may be combined). */
enum {
    MIFX_DETACHED = 1 << 0,   /* content not attached */
    MIFX_NO_CERTS = 1 << 1,   /* the signer's certificate left out */
    MIFX_NO_SIGNER = 1 << 2,  /* SignedData without a SignerInfo */
    MIFX_TWO_SIGNERS = 1 << 3, /* `other` signs too */
    MIFX_OTHER_TYPE = 1 << 4, /* eContentType is not id-data */
};

/* CMS SignedData (DER) over `content` by `id` as `flags` say. NULL on an
 * OpenSSL failure (reported on stderr). g_bytes_unref. */
GBytes *mifx_sign(const mifx_identity *id, const mifx_identity *other, const void *content,
                  size_t len, unsigned flags);

/* The machine info of a good device: mifx_sign(mifx_plist(udid, serial)). */
GBytes *mifx_machine_info(const mifx_identity *id, const char *udid, const char *serial);

#endif

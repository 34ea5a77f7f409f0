/* The profile suites' fixtures (profile_fixture.h): profiles as text, and
 * CMS around them with OpenSSL, the way an admin's signing tool makes them. */
#include "tests/server/profile_fixture.h"

#include <openssl/bio.h>
#include <openssl/pem.h> /* before cms.h, which declares PEM_write_bio_CMS only after it */
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

char *pfx_top(const char *identifier, const char *name, const char *uuid)
{
    return g_strdup_printf(PFX_STR("PayloadType", "Configuration")
                           "<key>PayloadIdentifier</key><string>%s</string>"
                           "<key>PayloadDisplayName</key><string>%s</string>"
                           "<key>PayloadUUID</key><string>%s</string>"
                           "<key>PayloadVersion</key><integer>1</integer>",
                           identifier, name, uuid);
}

char *pfx_profile_xml(const char *top, const char *payloads)
{
    if (!payloads)
        return g_strconcat(PFX_HEAD "<dict>", top, "</dict>" PFX_TAIL, NULL);
    return g_strconcat(PFX_HEAD "<dict>", top, "<key>PayloadContent</key><array>", payloads,
                       "</array></dict>" PFX_TAIL, NULL);
}

char *pfx_profile_full(const char *id, const char *name, const char *uuid, const char *salt)
{
    g_autofree char *top = pfx_top(id, name, uuid);
    g_autofree char *payload = g_strdup_printf(
        PFX_PAYLOAD("com.apple.wifi.managed", PFX_STR("SSID_STR", "Orchard %s")
                    "<key>AutoJoin</key><true/>"), salt ? salt : "");
    return pfx_profile_xml(top, payload);
}

char *pfx_profile(const char *id)
{
    g_autofree char *name = g_strconcat("Name of ", id, NULL);
    return pfx_profile_full(id, name, PFX_UUID, NULL);
}

/* A throwaway P-256 key and a self-signed certificate for it. */
static int signer(EVP_PKEY **key, X509 **cert)
{
    *key = EVP_EC_gen("P-256");
    *cert = X509_new();
    if (!*key || !*cert)
        return -1;
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"orchard test",
                               -1, -1, 0);
    X509_set_version(*cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
    X509_set_subject_name(*cert, name);
    X509_set_issuer_name(*cert, name);
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notBefore(*cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(*cert), 3600);
    X509_set_pubkey(*cert, *key);
    return X509_sign(*cert, *key, EVP_sha256()) > 0 ? 0 : -1;
}

static GBytes *bio_bytes(BIO *out)
{
    char *p = NULL;
    long n = BIO_get_mem_data(out, &p);
    return n > 0 ? g_bytes_new(p, (gsize)n) : NULL;
}

GBytes *pfx_sign(const void *data, size_t len, int detached, int pem)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    CMS_ContentInfo *cms = NULL;
    BIO *in = BIO_new_mem_buf(data, (int)len), *out = BIO_new(BIO_s_mem());
    GBytes *result = NULL;
    if (signer(&key, &cert) == 0)
        cms = CMS_sign(cert, key, NULL, in, CMS_BINARY | (detached ? CMS_DETACHED : 0));
    if (cms && (pem ? PEM_write_bio_CMS(out, cms) : i2d_CMS_bio(out, cms)) > 0)
        result = bio_bytes(out);
    if (!result)
        fprintf(stderr, "profile fixture: signing failed\n");
    CMS_ContentInfo_free(cms);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(in);
    BIO_free(out);
    return result;
}

GBytes *pfx_cms_data(const void *data, size_t len)
{
    BIO *in = BIO_new_mem_buf(data, (int)len), *out = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms = CMS_data_create(in, CMS_BINARY);
    GBytes *result = cms && i2d_CMS_bio(out, cms) > 0 ? bio_bytes(out) : NULL;
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    BIO_free(out);
    return result;
}

/* Machine info builders for the DEP enrollment tests (machine_info_fixture.h). */
#include "tests/server/machine_info_fixture.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>

int mifx_identity_make(mifx_identity *id, const char *cn)
{
    id->key = EVP_EC_gen("P-256");
    id->cert = X509_new();
    if (!id->key || !id->cert)
        return -1;
    X509_NAME *name = X509_get_subject_name(id->cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(id->cert, name);
    ASN1_INTEGER_set(X509_get_serialNumber(id->cert), 7);
    X509_gmtime_adj(X509_getm_notBefore(id->cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(id->cert), 86400);
    X509_set_pubkey(id->cert, id->key);
    return X509_sign(id->cert, id->key, EVP_sha256()) > 0 ? 0 : -1;
}

void mifx_identity_clear(mifx_identity *id)
{
    EVP_PKEY_free(id->key);
    X509_free(id->cert);
    id->key = NULL;
    id->cert = NULL;
}

char *mifx_plist(const char *udid, const char *serial)
{
    return g_strdup_printf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
        "<plist version=\"1.0\">\n<dict>\n"
        "\t<key>LANGUAGE</key>\n\t<string>en-US</string>\n"
        "\t<key>OS_VERSION</key>\n\t<string>14.4.1</string>\n"
        "\t<key>PRODUCT</key>\n\t<string>MacBookPro18,3</string>\n"
        "\t<key>SERIAL</key>\n\t<string>%s</string>\n"
        "\t<key>SOFTWARE_UPDATE_DEVICE_ID</key>\n\t<string>J316sAP</string>\n"
        "\t<key>SUPPLEMENTAL_BUILD_VERSION</key>\n\t<string>23E224</string>\n"
        "\t<key>UDID</key>\n\t<string>%s</string>\n"
        "\t<key>VERSION</key>\n\t<string>23E224</string>\n"
        "</dict>\n</plist>\n",
        serial, udid);
}

static GBytes *fail(const char *what)
{
    fprintf(stderr, "\n  mifx_sign: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    return NULL;
}

GBytes *mifx_sign(const mifx_identity *id, const mifx_identity *other, const void *content,
                  size_t len, unsigned flags)
{
    unsigned cms_flags = CMS_BINARY | CMS_PARTIAL;
    if (flags & MIFX_DETACHED)
        cms_flags |= CMS_DETACHED;
    BIO *in = BIO_new_mem_buf(content, (int)len);
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, cms_flags);
    GBytes *out = NULL;
    if (!in || !cms) {
        out = fail("CMS_sign");
        goto done;
    }
    if (flags & MIFX_OTHER_TYPE)
        CMS_set1_eContentType(cms, OBJ_nid2obj(NID_id_smime_ct_TSTInfo));
    unsigned signer_flags = (flags & MIFX_NO_CERTS) ? CMS_NOCERTS : 0;
    if (!CMS_add1_signer(cms, id->cert, id->key, EVP_sha256(), signer_flags)) {
        out = fail("CMS_add1_signer");
        goto done;
    }
    if ((flags & MIFX_TWO_SIGNERS) &&
        !CMS_add1_signer(cms, other->cert, other->key, EVP_sha256(), signer_flags)) {
        out = fail("CMS_add1_signer (second)");
        goto done;
    }
    if (!CMS_final(cms, in, NULL, cms_flags)) {
        out = fail("CMS_final");
        goto done;
    }
    /* OpenSSL will not finish a SignedData without a signer: take it out
     * for the encoding, and back in so that it is freed with the rest. */
    CMS_SignerInfo *si = NULL;
    if (flags & MIFX_NO_SIGNER)
        si = sk_CMS_SignerInfo_delete(CMS_get0_SignerInfos(cms), 0);
    unsigned char *der = NULL;
    int n = i2d_CMS_ContentInfo(cms, &der);
    if (si)
        sk_CMS_SignerInfo_push(CMS_get0_SignerInfos(cms), si);
    if (n <= 0) {
        out = fail("i2d_CMS_ContentInfo");
        goto done;
    }
    out = g_bytes_new(der, (gsize)n);
    OPENSSL_free(der);
done:
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return out;
}

GBytes *mifx_machine_info(const mifx_identity *id, const char *udid, const char *serial)
{
    g_autofree char *xml = mifx_plist(udid, serial);
    return mifx_sign(id, NULL, xml, strlen(xml), 0);
}

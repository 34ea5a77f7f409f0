/* Fuzz target: the machine info a Mac in Setup Assistant posts to the DEP
 * enrollment URL (server_plugin/enroll/machine_info.c), which anyone who can
 * reach the server can send.
 *
 * Two modes, so the fuzzer reaches the plist behind the signature too:
 *   - an input is fed as it is (DER, as on the wire);
 *   - an input starting with PLAINTEXT_MAGIC is the signed content: the
 *     rest is signed with the process's own device key (P-256, made once,
 *     never from a file) and that CMS is fed. Random bytes never carry a
 *     good signature, so without this the plist and field checks would be
 *     out of the fuzzer's reach. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/enroll/machine_info.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <string.h>

#define PLAINTEXT_MAGIC "ORCHARD-FUZZ-PLAINTEXT\n"

static EVP_PKEY *key;
static X509 *cert;

static void make_identity(void)
{
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    if (!key || !cert)
        abort();
    X509_NAME *name = X509_get_subject_name(cert);
    if (!ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), 3600) || !X509_set_pubkey(cert, key) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"orchard fuzz device", -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || !X509_sign(cert, key, EVP_sha256()))
        abort();
}

/* `content` signed as a Mac signs its machine info; NULL if OpenSSL refuses. */
static unsigned char *sign(const uint8_t *content, size_t len, size_t *out_len)
{
    BIO *in = BIO_new_mem_buf(content, (int)len);
    CMS_ContentInfo *cms = in ? CMS_sign(cert, key, NULL, in, CMS_BINARY) : NULL;
    unsigned char *der = NULL;
    int n = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
    unsigned char *out = n > 0 ? g_memdup2(der, (gsize)n) : NULL;
    *out_len = n > 0 ? (size_t)n : 0;
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    ERR_clear_error();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t magic = strlen(PLAINTEXT_MAGIC);
    orchard_machine_info *mi = NULL;
    const char *why = NULL;
    unsigned char *signed_der = NULL;
    const unsigned char *input = data;
    size_t len = size;

    if (!key)
        make_identity();
    if (size >= magic && memcmp(data, PLAINTEXT_MAGIC, magic) == 0) {
        if (size - magic > ORCHARD_MACHINE_INFO_MAX)
            return 0; /* refused unread once signed */
        signed_der = sign(data + magic, size - magic, &len);
        if (!signed_der)
            return 0;
        input = signed_der;
    }
    if (orchard_machine_info_parse(input, len, &mi, &why) == 0) {
        /* Success must give the two fields the route relies on, fit for a log line. */
        if (!mi || !mi->udid || !mi->serial || !*mi->serial ||
            strlen(mi->serial) > ORCHARD_MACHINE_INFO_ID_MAX || !mi->signer_sha256)
            abort();
        for (const char *p = mi->serial; *p; p++)
            if (*p <= ' ' || *p > '~')
                abort();
    } else if (mi || !why) {
        abort(); /* failure: *out NULL and a reason */
    }
    orchard_machine_info_free(mi);
    g_free(signed_der);
    return 0;
}

/* See fuzz_cms.h. */
#include "tests/fuzz/fuzz_cms.h"

#include <glib.h>
#include <openssl/cms.h>
#include <openssl/err.h>

unsigned char *fuzz_cms_encrypt(const void *plain, size_t len, X509 *to,
                                const EVP_CIPHER *cipher, int smime, size_t *out_len)
{
    BIO *in = BIO_new_mem_buf(plain, (int)len);
    BIO *out = BIO_new(BIO_s_mem());
    STACK_OF(X509) *recipients = sk_X509_new_null();
    CMS_ContentInfo *cms = NULL;
    unsigned char *result = NULL;
    char *mem;
    long n;

    if (!in || !out || !recipients || !sk_X509_push(recipients, to))
        goto cleanup;
    cms = CMS_encrypt(recipients, in, cipher, CMS_BINARY);
    if (!cms || !(smime ? SMIME_write_CMS(out, cms, NULL, CMS_BINARY) : i2d_CMS_bio(out, cms)))
        goto cleanup;
    n = BIO_get_mem_data(out, &mem);
    if (n > 0) {
        result = g_memdup2(mem, (gsize)n);
        *out_len = (size_t)n;
    }
cleanup:
    CMS_ContentInfo_free(cms);
    sk_X509_free(recipients);
    BIO_free(in);
    BIO_free(out);
    ERR_clear_error();
    return result;
}

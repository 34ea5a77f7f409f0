/* Fuzz target: the DER walk that takes the signer's certificate out of an
 * Mdm-Signature (orchard_cms_strip_certs in server_plugin/checkin/
 * signer_cache.c) before OpenSSL sees it. Whatever it accepts must point
 * inside the input, be shorter than it, and (for good measure) be handed
 * to OpenSSL's parsers as identity.c would; a refusal leaves nothing. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/checkin/signer_cache.h"

#include <glib.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *stripped = NULL;
    const unsigned char *cert = NULL;
    size_t slen = 0, clen = 0;
    int rc = orchard_cms_strip_certs(data, size, &stripped, &slen, &cert, &clen);
    if (rc != 0) {
        if (stripped || cert || slen || clen)
            abort();
        return 0;
    }
    if (!stripped || !cert || cert < data || clen == 0 || clen > size ||
        cert + clen > data + size || slen == 0 || slen + clen > size)
        abort();
    const unsigned char *p = stripped;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)slen);
    CMS_ContentInfo_free(cms);
    p = cert;
    X509 *x = d2i_X509(NULL, &p, (long)clen);
    X509_free(x);
    ERR_clear_error();
    g_free(stripped);
    return 0;
}

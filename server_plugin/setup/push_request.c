/* The push certificate request (push_request.h): sign the CSR with the vendor
 * key, then let libplist write the plist, as enroll/profile.c does for the
 * enrollment profile, so no value is pasted into markup by hand. */
#include "server_plugin/setup/push_request.h"

#include "server_plugin/crypto/x509_util.h"
#include "server_plugin/setup/cert_build.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <plist/plist.h>

int orchard_push_request_encode(const char *csr_b64, const char *chain_pem, const char *sig_b64,
                                char **out, char **error_msg)
{
    const char *const keys[] = {"PushCertRequestCSR", "PushCertCertificateChain",
                                "PushCertSignature"};
    const char *const values[] = {csr_b64, chain_pem, sig_b64};
    char *xml = NULL;
    uint32_t len = 0;

    *out = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        if (!values[i] || !g_utf8_validate(values[i], -1, NULL)) {
            *error_msg = g_strdup_printf("push request: %s is %s", keys[i],
                                         values[i] ? "not UTF-8" : "missing");
            return ORCHARD_EINVAL;
        }
    }
    plist_t dict = plist_new_dict();
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        plist_dict_set_item(dict, keys[i], plist_new_string(values[i]));
    plist_to_xml(dict, &xml, &len);
    plist_free(dict);
    if (!xml || len == 0) {
        *error_msg = g_strdup("push request: libplist wrote no XML");
        if (xml)
            plist_to_xml_free(xml);
        return ORCHARD_ENOMEM;
    }
    *out = g_base64_encode((const guchar *)xml, len);
    plist_to_xml_free(xml);
    return 0;
}

/* The certificate chain as PEM, one after the other (64-column lines, as Apple asks). */
static char *chain_pem(STACK_OF(X509) *chain)
{
    GString *out = g_string_new(NULL);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        g_autofree char *pem = orchard_x509_cert_pem(sk_X509_value(chain, i));
        if (!pem) {
            g_string_free(out, TRUE);
            return NULL;
        }
        g_string_append(out, pem);
    }
    return g_string_free(out, FALSE);
}

int orchard_push_request_make(X509_REQ *csr, STACK_OF(X509) *chain, EVP_PKEY *vendor_key,
                              char **out, char **error_msg)
{
    g_autoptr(GBytes) der = orchard_cert_csr_der(csr);
    g_autoptr(GBytes) sig = NULL;
    g_autofree char *chain_text = chain_pem(chain);
    gsize der_len = 0, sig_len = 0;
    int rc;

    *out = NULL;
    if (!der || !chain_text) {
        *error_msg = g_strdup("cannot encode the CSR or the vendor chain");
        return ORCHARD_EIO;
    }
    const guchar *der_data = g_bytes_get_data(der, &der_len);
    if ((rc = orchard_cert_sign_sha256(vendor_key, der_data, der_len, &sig, error_msg)) != 0)
        return rc;
    const guchar *sig_data = g_bytes_get_data(sig, &sig_len);
    g_autofree char *csr_b64 = g_base64_encode(der_data, der_len);
    g_autofree char *sig_b64 = g_base64_encode(sig_data, sig_len);
    return orchard_push_request_encode(csr_b64, chain_text, sig_b64, out, error_msg);
}

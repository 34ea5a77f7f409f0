/* Automatic enrollment as a Mac in Setup Assistant does it: make the signed
 * machine info (a CMS SignedData, content attached, over the MachineInfo
 * plist), POST it to the DEP profile's url, then enroll with the profile the
 * server answers exactly as `enroll` does with a downloaded one. A real Mac
 * signs with an identity Apple attests; the simulator's is self-signed. */
#include "tests/support/mac_sim/mac_sim.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/x509.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

#define CT_MACHINE_INFO "application/pkcs7-signature"

int orchard_macsim_device_identity(EVP_PKEY **key, X509 **cert, const orchard_macsim_mac *mac,
                                   char **error_msg)
{
    *key = EVP_EC_gen("P-256");
    *cert = X509_new();
    char cn[64];
    snprintf(cn, sizeof cn, "%s device identity", mac->serial);
    X509_NAME *name = *cert ? X509_get_subject_name(*cert) : NULL;
    int ok = *key && name &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                        -1, 0) &&
             X509_set_issuer_name(*cert, name) &&
             ASN1_INTEGER_set(X509_get_serialNumber(*cert), (long)mac->index + 1) &&
             X509_gmtime_adj(X509_getm_notBefore(*cert), -300) &&
             X509_gmtime_adj(X509_getm_notAfter(*cert), 3600) && X509_set_pubkey(*cert, *key) &&
             X509_sign(*cert, *key, EVP_sha256()) > 0;
    if (ok)
        return 0;
    EVP_PKEY_free(*key);
    X509_free(*cert);
    *key = NULL;
    *cert = NULL;
    return macsim_fail(error_msg, ORCHARD_ENOMEM, "making a device identity");
}

/* The MachineInfo plist (XML), malloc'd. */
static int machine_info_plist(char **xml, size_t *len, const orchard_macsim_mac *mac)
{
    plist_t facts = plist_new_dict();
    macsim_device_facts(facts, mac);
    char *product = macsim_plist_string(facts, "ProductName");
    plist_free(facts);
    plist_t d = plist_new_dict();
    plist_dict_set_item(d, "UDID", plist_new_string(mac->udid));
    plist_dict_set_item(d, "SERIAL", plist_new_string(mac->serial));
    plist_dict_set_item(d, "PRODUCT", plist_new_string(product ? product : ""));
    plist_dict_set_item(d, "VERSION", plist_new_string(orchard_macsim_build_version(mac)));
    plist_dict_set_item(d, "LANGUAGE", plist_new_string("en-US"));
    plist_dict_set_item(d, "OS_VERSION", plist_new_string(orchard_macsim_os_version(mac)));
    plist_dict_set_item(d, "SOFTWARE_UPDATE_DEVICE_ID", plist_new_string("J316sAP"));
    plist_dict_set_item(d, "SUPPLEMENTAL_BUILD_VERSION",
                        plist_new_string(orchard_macsim_build_version(mac)));
    int rc = macsim_plist_xml(xml, len, d);
    plist_free(d);
    free(product);
    return rc;
}

int orchard_macsim_machine_info(unsigned char **der, size_t *len, const orchard_macsim_mac *mac,
                                X509 *cert, EVP_PKEY *key, char **error_msg)
{
    char *xml = NULL;
    size_t xml_len = 0;
    *der = NULL;
    *len = 0;
    if (machine_info_plist(&xml, &xml_len, mac))
        return macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
    BIO *in = BIO_new_mem_buf(xml, (int)xml_len);
    /* Content attached, the signer's certificate included, bytes as they are. */
    CMS_ContentInfo *cms = in ? CMS_sign(cert, key, NULL, in, CMS_BINARY) : NULL;
    unsigned char *out = NULL;
    int n = cms ? i2d_CMS_ContentInfo(cms, &out) : -1;
    int rc = 0;
    if (n <= 0) {
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "signing the machine info");
    } else if (!(*der = malloc((size_t)n))) {
        rc = macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
    } else {
        memcpy(*der, out, (size_t)n);
        *len = (size_t)n;
    }
    OPENSSL_free(out);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    free(xml);
    return rc;
}

int orchard_macsim_dep_enroll(orchard_macsim_mac *mac, orchard_macsim_http *h,
                              const char *server_url, long *status, char **error_msg)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    orchard_macsim_response r = {0};
    size_t n = strlen(server_url);
    while (n > 0 && server_url[n - 1] == '/')
        n--;
    char *url = macsim_strdupf("%.*s%s", (int)n, server_url, ORCHARD_MACSIM_DEP_PATH);
    int rc = url ? 0 : macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
    if (!rc)
        rc = orchard_macsim_device_identity(&key, &cert, mac, error_msg);
    if (!rc)
        rc = orchard_macsim_machine_info(&der, &len, mac, cert, key, error_msg);
    if (!rc)
        rc = orchard_macsim_http_do(h, "POST", url, der, len, CT_MACHINE_INFO, NULL, &r,
                                    error_msg);
    if (!rc && status)
        *status = r.status;
    if (!rc && r.status != 200) {
        orchard_macsim_event("refused", mac, "message=s", "machine info", "status=l", r.status,
                             NULL);
        rc = macsim_fail(error_msg, ORCHARD_EPROTO, "the DEP enrollment URL answered HTTP %ld",
                         r.status);
    }
    if (!rc)
        rc = orchard_macsim_enroll_profile(mac, h, r.body, r.len, status, error_msg);
    orchard_macsim_response_clear(&r);
    free(der);
    free(url);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

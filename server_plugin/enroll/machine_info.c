/* Reading the machine info a Mac posts to the DEP enrollment URL
 * (machine_info.h): the CMS envelope is checked for its shape and its
 * signature over the content with OpenSSL, then the plist inside goes
 * through the plist guard before libplist sees it. Every refusal names its
 * reason, which the route answers as a 400. */
#include "server_plugin/enroll/machine_info.h"
#include "server_plugin/plist/plist_guard.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <plist/plist.h>
#include <string.h>

void orchard_machine_info_free(orchard_machine_info *mi)
{
    if (!mi)
        return;
    g_free(mi->udid);
    g_free(mi->serial);
    g_free(mi->product);
    g_free(mi->version);
    g_free(mi->imei);
    g_free(mi->meid);
    g_free(mi->language);
    g_free(mi->os_version);
    g_free(mi->software_update_device_id);
    g_free(mi->supplemental_build_version);
    g_free(mi->signer_sha256);
    g_free(mi);
}

static int refuse(const char **why, const char *reason, int rc)
{
    *why = reason;
    ERR_clear_error(); /* OpenSSL's queue is per thread: leave none behind */
    return rc;
}

/* ---- the CMS envelope ------------------------------------------------------ */

/* The shape before any cryptography: SignedData of data, content attached,
 * exactly one signer. A device's message never has more, and a second
 * signer would let a forged certificate ride along a real one. */
static int check_shape(CMS_ContentInfo *cms, const char **why)
{
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
        return refuse(why, "the machine info is not a CMS SignedData", ORCHARD_EINVAL);
    const ASN1_OBJECT *ect = CMS_get0_eContentType(cms);
    if (!ect || OBJ_obj2nid(ect) != NID_pkcs7_data)
        return refuse(why, "the signed content of the machine info is not data (wrong content "
                           "type)", ORCHARD_EINVAL);
    ASN1_OCTET_STRING **content = CMS_get0_content(cms);
    if (!content || !*content)
        return refuse(why, "the machine info is a detached signature without its content",
                      ORCHARD_EINVAL);
    STACK_OF(CMS_SignerInfo) *signers = CMS_get0_SignerInfos(cms);
    int n = signers ? sk_CMS_SignerInfo_num(signers) : 0;
    if (n == 0)
        return refuse(why, "the machine info is not signed", ORCHARD_EINVAL);
    if (n > 1)
        return refuse(why, "the machine info has several signers; a device signs it once",
                      ORCHARD_EINVAL);
    return 0;
}

/* SHA-256 of the one signer's certificate, lower-case hex (g_free). */
static char *signer_sha256(CMS_ContentInfo *cms)
{
    STACK_OF(X509) *certs = CMS_get0_signers(cms);
    X509 *cert = certs && sk_X509_num(certs) == 1 ? sk_X509_value(certs, 0) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char *hex = NULL;
    if (cert && X509_digest(cert, EVP_sha256(), md, &n)) {
        hex = g_malloc(2 * n + 1);
        for (unsigned i = 0; i < n; i++)
            g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    sk_X509_free(certs);
    return hex;
}

/*
 * The signature must be good over the content, by the certificate the
 * message carries. CMS_NO_SIGNER_CERT_VERIFY: Apple's device attestation CA,
 * to which a real Mac's identity chains, is not available offline (nor is
 * its revocation), so the chain cannot be judged here; what is proved is
 * that the content was not changed after the holder of that key signed it.
 * CMS_BINARY: the plist is bytes, never canonicalised as MIME text.
 */
static int verify(CMS_ContentInfo *cms, GByteArray *content, char **sha, const char **why)
{
    BIO *out = BIO_new(BIO_s_mem());
    if (!out)
        return refuse(why, "out of memory", ORCHARD_ENOMEM);
    int ok = CMS_verify(cms, NULL, NULL, NULL, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY);
    int rc = 0;
    if (ok != 1) {
        rc = refuse(why, "the machine info's signature does not verify over its content (or "
                         "the signer's certificate is not in the message)", ORCHARD_EINVAL);
    } else {
        char *data = NULL;
        long n = BIO_get_mem_data(out, &data);
        if (n > 0)
            g_byte_array_append(content, (const guint8 *)data, (guint)n);
        *sha = signer_sha256(cms);
        ERR_clear_error();
    }
    BIO_free(out);
    return rc;
}

/* ---- the plist inside ---------------------------------------------------- */

/* UDID and SERIAL: printable ASCII without spaces, bounded. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ORCHARD_MACHINE_INFO_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isgraph(s[i]))
            return 0;
    return 1;
}

/* Any other field: UTF-8 without control characters, bounded. */
static int field_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > ORCHARD_MACHINE_INFO_FIELD_MAX || !g_utf8_validate(s, (gssize)n, NULL))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* dict[key] into *out (NULL when absent). A present key that is not a fit
 * string refuses the whole machine info: nothing half-read is kept. */
static int take(plist_t dict, const char *key, int required, int is_id, char **out,
                const char **why, const char *missing, const char *bad)
{
    plist_t v = plist_dict_get_item(dict, key);
    *out = NULL;
    if (!v)
        return required ? refuse(why, missing, ORCHARD_EINVAL) : 0;
    if (plist_get_node_type(v) != PLIST_STRING)
        return refuse(why, bad, ORCHARD_EINVAL);
    uint64_t n = 0;
    const char *s = plist_get_string_ptr(v, &n);
    /* A NUL inside would cut the string short of what was signed. */
    int ok = s && strlen(s) == n && (is_id ? id_ok(s) : field_ok(s));
    if (ok)
        *out = g_strdup(s);
    return ok ? 0 : refuse(why, bad, ORCHARD_EINVAL);
}

/* Macs send XML; a binary plist is read too (through the guard's binary
 * walk, which bounds libplist's copying), so a device that sends one is not
 * turned away for its encoding. */
static int read_plist(const GByteArray *content, orchard_machine_info *mi, const char **why)
{
    static const orchard_plist_limits limits = {
        .max_depth = ORCHARD_MACHINE_INFO_MAX_DEPTH,
        .max_nodes = ORCHARD_MACHINE_INFO_MAX_NODES,
        .allow_binary = 1,
    };
    const char *s = (const char *)content->data;
    size_t len = content->len;
    int binary = len >= 8 && memcmp(s, "bplist00", 8) == 0;
    size_t off = len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    while (off < len && strchr(" \t\r\n", s[off]))
        off++;
    if (!binary && (len == 0 || off == len || s[off] != '<' || memchr(s, '\0', len)))
        return refuse(why, "the signed content of the machine info is not a plist",
                      ORCHARD_EINVAL);
    const char *guard_why = NULL;
    int rc = orchard_plist_guard(s, len, &limits, &guard_why);
    /* A bomb is a malformed machine info (400), not a large one (413). */
    if (rc)
        return refuse(why, rc == ORCHARD_ETOOBIG ? "the machine info's plist nests too deep or "
                                                   "has too many elements"
                                                 : "the signed content of the machine info is "
                                                   "not a valid plist",
                      ORCHARD_EINVAL);
    plist_t root = NULL;
    if (binary)
        plist_from_bin(s, (uint32_t)len, &root);
    else
        plist_from_xml(s, (uint32_t)len, &root);
    if (!root || plist_get_node_type(root) != PLIST_DICT) {
        plist_free(root);
        return refuse(why, "the signed content of the machine info is not a valid plist "
                           "dictionary", ORCHARD_EINVAL);
    }
    rc = take(root, "UDID", 1, 1, &mi->udid, why, "the machine info has no UDID",
              "the machine info's UDID is not printable ASCII of at most 64 characters");
    if (!rc)
        rc = take(root, "SERIAL", 1, 1, &mi->serial, why, "the machine info has no SERIAL",
                  "the machine info's SERIAL is not printable ASCII of at most 64 characters");
    static const char bad[] = "a field of the machine info is not text of at most 256 "
                              "characters without control characters";
    struct {
        const char *key;
        char **out;
    } optional[] = {
        {"PRODUCT", &mi->product},
        {"VERSION", &mi->version},
        {"IMEI", &mi->imei},
        {"MEID", &mi->meid},
        {"LANGUAGE", &mi->language},
        {"OS_VERSION", &mi->os_version},
        {"SOFTWARE_UPDATE_DEVICE_ID", &mi->software_update_device_id},
        {"SUPPLEMENTAL_BUILD_VERSION", &mi->supplemental_build_version},
    };
    for (size_t i = 0; !rc && i < G_N_ELEMENTS(optional); i++)
        rc = take(root, optional[i].key, 0, 0, optional[i].out, why, NULL, bad);
    plist_free(root);
    return rc;
}

int orchard_machine_info_parse(const unsigned char *der, size_t len, orchard_machine_info **out,
                               const char **why)
{
    *out = NULL;
    *why = NULL;
    if (!der || len == 0)
        return refuse(why, "the request has no machine info (an empty body)", ORCHARD_EINVAL);
    if (len > ORCHARD_MACHINE_INFO_MAX)
        return refuse(why, "the machine info is larger than 64 KiB", ORCHARD_ETOOBIG);

    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (!cms)
        return refuse(why, "the machine info is not a CMS message in DER (garbage or "
                           "truncated)", ORCHARD_EINVAL);
    orchard_machine_info *mi = g_new0(orchard_machine_info, 1);
    GByteArray *content = g_byte_array_new();
    int rc = 0;
    /* Bytes after the message would be data no signature covers. */
    if (p != der + len)
        rc = refuse(why, "the machine info has bytes after its CMS message", ORCHARD_EINVAL);
    if (!rc)
        rc = check_shape(cms, why);
    if (!rc)
        rc = verify(cms, content, &mi->signer_sha256, why);
    if (!rc)
        rc = read_plist(content, mi, why);
    g_byte_array_unref(content);
    CMS_ContentInfo_free(cms);
    if (rc) {
        orchard_machine_info_free(mi);
        return rc;
    }
    *out = mi;
    return 0;
}

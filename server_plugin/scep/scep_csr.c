/* From a device's CSR to a signed client certificate. The CSR is hostile
 * input: only its subject and public key are carried over, never its
 * requested extensions, so a device can't ask for a CA certificate. */
#include "server_plugin/scep/scep_csr.h"

#include "server_plugin/setup/cert_build.h"

#include <orchard/plugin.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

/* Clocks of devices enrolling right after boot lag; docs/protocols.md §6. */
#define BACKDATE_SECONDS 600

int orchard_scep_csr_challenge(X509_REQ *csr, char **challenge)
{
    *challenge = NULL;
    int idx = X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, -1);
    if (idx < 0)
        return ORCHARD_ENOTFOUND;
    if (X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, idx) >= 0)
        return ORCHARD_EINVAL;
    X509_ATTRIBUTE *attr = X509_REQ_get_attr(csr, idx);
    if (!attr || X509_ATTRIBUTE_count(attr) != 1)
        return ORCHARD_EINVAL;
    ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, 0);
    int type = t ? ASN1_TYPE_get(t) : -1;
    if (type != V_ASN1_PRINTABLESTRING && type != V_ASN1_UTF8STRING &&
        type != V_ASN1_IA5STRING && type != V_ASN1_T61STRING)
        return ORCHARD_EINVAL;
    const ASN1_STRING *s = t->value.asn1_string;
    int len = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (len < 1 || len > ORCHARD_SCEP_CHALLENGE_MAX || memchr(d, '\0', (size_t)len))
        return ORCHARD_EINVAL;
    *challenge = g_strndup((const char *)d, (gsize)len);
    return 0;
}

int orchard_scep_csr_has_subject(X509_REQ *csr)
{
    X509_NAME *name = X509_REQ_get_subject_name(csr);
    return name && X509_NAME_entry_count(name) > 0;
}

static int set_validity(X509 *cert, gint64 now, long days)
{
    return ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)(now - BACKDATE_SECONDS)) &&
           ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)(now + (gint64)days * 86400));
}

/*
 * Put the CSR's SubjectPublicKeyInfo into the certificate as it is.
 * X509_set_pubkey would re-encode the key through OpenSSL 3.0's encoder
 * lookup, 8% of an enrollment's instructions (bench/RESULTS.md); copying
 * the algorithm and the key bits needs no encoder. Algorithms with
 * parameters other than NULL or an OID (curve names) take the slow path.
 */
static int copy_pubkey(X509 *cert, X509_REQ *csr, EVP_PKEY *pub)
{
    X509_PUBKEY *from = X509_REQ_get_X509_PUBKEY(csr);
    X509_PUBKEY *to = X509_get_X509_PUBKEY(cert);
    ASN1_OBJECT *alg = NULL;
    const unsigned char *bits = NULL;
    int nbits = 0, ptype = V_ASN1_UNDEF;
    X509_ALGOR *algor = NULL;
    const void *pval = NULL;
    const ASN1_OBJECT *aobj = NULL;
    if (!from || !to || !X509_PUBKEY_get0_param(NULL, &bits, &nbits, &algor, from) ||
        nbits <= 0)
        return X509_set_pubkey(cert, pub);
    X509_ALGOR_get0(&aobj, &ptype, &pval, algor);
    void *param = NULL;
    if (ptype == V_ASN1_OBJECT)
        param = OBJ_dup(pval);
    else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
        return X509_set_pubkey(cert, pub);
    unsigned char *copy = OPENSSL_memdup(bits, (size_t)nbits);
    alg = OBJ_dup(aobj);
    if (!copy || !alg || (ptype == V_ASN1_OBJECT && !param) ||
        !X509_PUBKEY_set0_param(to, alg, ptype, param, copy, nbits)) {
        OPENSSL_free(copy);
        ASN1_OBJECT_free(alg);
        ASN1_OBJECT_free(param);
        return 0;
    }
    return 1;
}

int orchard_scep_sign(X509_REQ *csr, X509 *ca, EVP_PKEY *ca_key, long validity_days,
                      gint64 now, X509 **out, char **error_msg)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
    X509 *cert = X509_new();
    *out = NULL;
    if (!pub || validity_days < 1) {
        X509_free(cert);
        *error_msg = g_strdup("the CSR has no usable public key");
        return ORCHARD_EINVAL;
    }
    if (!cert || !X509_set_version(cert, 2) || !orchard_cert_random_serial(cert) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(ca)) ||
        !X509_set_subject_name(cert, X509_REQ_get_subject_name(csr)) ||
        !copy_pubkey(cert, csr, pub) || !set_validity(cert, now, validity_days) ||
        !orchard_cert_add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") ||
        !orchard_cert_add_ext(cert, ca, NID_key_usage, "critical,digitalSignature") ||
        !orchard_cert_add_ext(cert, ca, NID_ext_key_usage, "clientAuth") ||
        !orchard_cert_add_ext(cert, ca, NID_subject_key_identifier, "hash") ||
        !orchard_cert_add_ext(cert, ca, NID_authority_key_identifier, "keyid:always") ||
        !X509_sign(cert, ca_key, EVP_sha256())) {
        X509_free(cert);
        *error_msg = orchard_ssl_error("signing the certificate failed");
        return ORCHARD_EIO;
    }
    *out = cert;
    return 0;
}

char *orchard_scep_serial_hex(X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    char *out = g_strdup(hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

char *orchard_scep_cert_sha256(X509 *cert)
{
    unsigned char md[32];
    unsigned int n = sizeof md;
    if (!X509_digest(cert, EVP_sha256(), md, &n))
        return g_strdup("");
    char *hex = g_malloc(2 * n + 1);
    for (unsigned int i = 0; i < n; i++)
        g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

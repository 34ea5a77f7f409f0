/* Writes the seed corpus of the scep_message fuzz target (README.md) into
 * the directory named on the command line, with tests/support's SCEP
 * requester: whole PKCSReq / RenewalReq messages, and inputs of the
 * harness's two marker forms ('E' + an EnvelopedData, 'C' + a CSR). Every
 * key is made here and thrown away; what is written holds public material
 * only (certificates, CSRs, signatures, envelopes). Built only with
 * ORCHARD_FUZZ, run by hand:
 *
 *   build-fuzz/tests/fuzz/make_scep_seeds tests/fuzz/corpus/scep_message
 *
 * The envelopes are for a CA made here too, so the harness's own CA can't
 * open them: the 'C' seeds are how the fuzzer gets past decryption. */
#include "server_plugin/setup/cert_build.h"
#include "tests/support/scep_client.h"
#include "server_plugin/scep/scep_csr.h"

#include <glib.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *out_dir;

G_GNUC_NORETURN static void die(const char *what, char *err)
{
    fprintf(stderr, "make_scep_seeds: %s: %s\n", what, err ? err : "failed");
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* `marker` (0: none) then `len` bytes of `data`, as out_dir/name. */
static void write_seed(const char *name, char marker, const unsigned char *data, size_t len)
{
    char *path = g_build_filename(out_dir, name, NULL);
    FILE *f = fopen(path, "wb");
    if (!f || (marker && fputc(marker, f) == EOF) || fwrite(data, 1, len, f) != len ||
        fclose(f) != 0)
        die(path, NULL);
    printf("%s (%zu bytes)\n", path, len + (marker ? 1 : 0));
    g_free(path);
}

static void write_request(const char *name, const orchard_scepc_request_opts *opts)
{
    orchard_scepc_request req = {0};
    char *err = NULL;
    if (orchard_scepc_request_build(&req, opts, &err))
        die(name, err);
    write_seed(name, 0, req.der, req.der_len);
    orchard_scepc_request_clear(&req);
}

static unsigned char *csr_der(EVP_PKEY *key, const char *subject, const char *challenge,
                              const EVP_MD *md, size_t *len)
{
    unsigned char *der = NULL;
    char *err = NULL;
    if (orchard_scepc_csr_der(&der, len, key, subject, challenge, md, &err))
        die("CSR", err);
    return der;
}

/* A CSR whose challengePassword attribute is made by hand: `n` values of
 * ASN.1 type `type` in one attribute. value_len -1: strlen (OpenSSL would
 * take `value` for an ASN1_STRING). With `twice`, a second attribute with
 * the same value, which OpenSSL refuses to add: it goes in as
 * unstructuredName (1.2.840.113549.1.9.2), its OID is patched to
 * challengePassword (...9.7) in the DER, and the result signed again. */
static void write_odd_challenge(const char *name, EVP_PKEY *key, int type, const char *value,
                                int value_len, int n, int twice)
{
    static const unsigned char unstructured_name[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                      0xf7, 0x0d, 0x01, 0x09, 0x02};
    X509_REQ *req = X509_REQ_new();
    X509_NAME *subject = X509_NAME_new();
    X509_ATTRIBUTE *attr = NULL;
    unsigned char *der = NULL;
    int len;

    if (value_len < 0)
        value_len = (int)strlen(value);
    if (!req || !subject ||
        !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"odd challenge", -1, -1, 0) ||
        !X509_REQ_set_subject_name(req, subject) || !X509_REQ_set_pubkey(req, key) ||
        !(attr = X509_ATTRIBUTE_create_by_NID(NULL, NID_pkcs9_challengePassword, type, value,
                                              value_len)))
        die(name, NULL);
    for (int i = 1; i < n; i++)
        if (!X509_ATTRIBUTE_set1_data(attr, type, value, value_len))
            die(name, NULL);
    if (!X509_REQ_add1_attr(req, attr) ||
        (twice && !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_unstructuredName, type,
                                             (const unsigned char *)value, value_len)) ||
        !X509_REQ_sign(req, key, EVP_sha256()) || (len = i2d_X509_REQ(req, &der)) <= 0)
        die(name, NULL);
    if (twice) {
        unsigned char *oid = NULL;
        for (int i = 0; !oid && i + (int)sizeof unstructured_name <= len; i++)
            if (memcmp(der + i, unstructured_name, sizeof unstructured_name) == 0)
                oid = der + i;
        if (!oid)
            die(name, NULL);
        oid[sizeof unstructured_name - 1] = 0x07;
        const unsigned char *p = der;
        X509_REQ *patched = d2i_X509_REQ(NULL, &p, len);
        OPENSSL_free(der);
        der = NULL;
        if (!patched || !X509_REQ_sign(patched, key, EVP_sha256()) ||
            (len = i2d_X509_REQ(patched, &der)) <= 0)
            die(name, NULL);
        X509_REQ_free(patched);
    }
    write_seed(name, 'C', der, (size_t)len);
    OPENSSL_free(der);
    X509_ATTRIBUTE_free(attr);
    X509_NAME_free(subject);
    X509_REQ_free(req);
}

int main(int argc, char **argv)
{
    const orchard_cert_spec ca_spec = {
        .subject = {.o = "scep-ca", .ou = "SCEP CA", .cn = "orchard seed generator"},
        .days = 30,
        .basic_constraints = "critical,CA:TRUE,pathlen:0",
        .key_usage = "critical,digitalSignature,keyCertSign,cRLSign",
        .subject_key_id = 1,
    };
    EVP_PKEY *ca_key = NULL, *key = NULL, *other = NULL;
    X509 *ca = NULL, *issued = NULL;
    char *err = NULL;
    unsigned char *csr, *env;
    size_t csr_len, env_len;

    if (argc != 2) {
        fprintf(stderr, "usage: make_scep_seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (orchard_cert_rsa_key(2048, &ca_key, &err) ||
        orchard_cert_self_signed(ca_key, &ca_spec, &ca, &err))
        die("generator CA", err);
    if (orchard_scepc_rsa_key(&key, 2048, &err) || orchard_scepc_rsa_key(&other, 2048, &err))
        die("device keys", err);

    /* Whole messages. */
    orchard_scepc_request_opts o = {.key = key, .ca = ca, .subject = "/CN=device/O=Acme",
                                    .challenge = "aB3-seed-challenge-not-a-secret"};
    write_request("pkcsreq_aes256_sha256_challenge.der", &o);
    o = (orchard_scepc_request_opts){.key = key, .ca = ca, .subject = "/CN=no challenge",
                                     .cipher = ORCHARD_SCEPC_AES128_CBC,
                                     .digest = EVP_sha1()};
    write_request("pkcsreq_aes128_sha1_no_challenge.der", &o);
    o = (orchard_scepc_request_opts){.key = key, .ca = ca, .subject = NULL,
                                     .challenge = "d\xc3\xa9" "fi-utf8",
                                     .cipher = ORCHARD_SCEPC_DES3_CBC, .digest = EVP_sha512()};
    write_request("pkcsreq_des3_sha512_empty_subject.der", &o);
    o = (orchard_scepc_request_opts){.key = key, .ca = ca, .subject = "/CN=forged",
                                     .challenge = "x", .forge_key = other};
    write_request("pkcsreq_bad_signature.der", &o);
    o = (orchard_scepc_request_opts){.key = key, .ca = ca, .subject = "/CN=poll",
                                     .message_type_text = "20", .transaction_id = "T"};
    write_request("certpoll_type_20.der", &o);
    {
        /* Broken framing: a byte after the message, the message cut short. */
        orchard_scepc_request req = {0};
        o = (orchard_scepc_request_opts){.key = key, .ca = ca, .subject = "/CN=framing"};
        if (orchard_scepc_request_build(&req, &o, &err))
            die("request", err);
        unsigned char *longer = g_malloc(req.der_len + 1);
        memcpy(longer, req.der, req.der_len);
        longer[req.der_len] = 0;
        write_seed("trailing_byte.der", 0, longer, req.der_len + 1);
        write_seed("truncated.der", 0, req.der, req.der_len / 2);
        g_free(longer);
        orchard_scepc_request_clear(&req);
    }
    write_seed("empty", 0, (const unsigned char *)"", 0);
    {
        /* A certs-only SignedData (no signer), as a GetCACert reply. */
        STACK_OF(X509) *certs = sk_X509_new_null();
        CMS_ContentInfo *cms = NULL;
        unsigned char *der = NULL;
        int len = 0;
        if (!certs || !sk_X509_push(certs, ca) ||
            !(cms = CMS_sign(NULL, NULL, certs, NULL, CMS_PARTIAL | CMS_BINARY)) ||
            (len = i2d_CMS_ContentInfo(cms, &der)) <= 0)
            die("certs-only SignedData", NULL);
        write_seed("certs_only_no_signer.der", 0, der, (size_t)len);
        OPENSSL_free(der);
        CMS_ContentInfo_free(cms);
        sk_X509_free(certs);
    }
    o = (orchard_scepc_request_opts){.key = key, .ca = ca, .subject = "/CN=no nonce",
                                     .omit = ORCHARD_SCEPC_OMIT_SENDER_NONCE};
    write_request("pkcsreq_no_nonce.der", &o);

    /* RenewalReq: signed by a certificate the generator CA issued. */
    csr = csr_der(key, "/CN=renew me", NULL, NULL, &csr_len);
    {
        const unsigned char *p = csr;
        X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)csr_len);
        char *msg = NULL;
        if (!r || orchard_scep_sign(r, ca, ca_key, 365, g_get_real_time() / G_USEC_PER_SEC,
                                    &issued, &msg))
            die("issuing the renewal signer", msg);
        X509_REQ_free(r);
    }
    o = (orchard_scepc_request_opts){.message_type = ORCHARD_SCEPC_RENEWALREQ, .key = other,
                                     .ca = ca, .subject = "/CN=renew me",
                                     .signer_cert = issued, .signer_key = key};
    write_request("renewalreq_aes256_sha256.der", &o);

    /* 'E': an EnvelopedData alone (for the generator CA: "no matching recipient"). */
    if (orchard_scepc_envelope_der(&env, &env_len, csr, csr_len, ca, ORCHARD_SCEPC_AES256_CBC,
                                   &err))
        die("envelope", err);
    write_seed("env_aes256.bin", 'E', env, env_len);
    free(env);
    if (orchard_scepc_envelope_der(&env, &env_len, csr, csr_len, ca, ORCHARD_SCEPC_DES3_CBC,
                                   &err))
        die("envelope", err);
    write_seed("env_des3.bin", 'E', env, env_len);
    write_seed("env_without_signed_data.der", 0, env, env_len); /* not a SignedData */
    free(env);
    write_seed("env_empty.bin", 'E', (const unsigned char *)"", 0);
    free(csr);

    /* 'C': the envelope's plaintext, which the harness encrypts to its CA. */
    csr = csr_der(key, "/CN=device/O=Acme", "aB3-seed-challenge-not-a-secret", NULL, &csr_len);
    write_seed("csr_challenge.bin", 'C', csr, csr_len);
    csr[csr_len - 1] ^= 0x01; /* the last byte of the signature */
    write_seed("csr_bad_signature.bin", 'C', csr, csr_len);
    free(csr);
    csr = csr_der(key, NULL, "d\xc3\xa9" "fi-utf8", EVP_sha1(), &csr_len);
    write_seed("csr_empty_subject_utf8_challenge_sha1.bin", 'C', csr, csr_len);
    free(csr);
    csr = csr_der(key, "/CN=no challenge", NULL, NULL, &csr_len);
    write_seed("csr_no_challenge.bin", 'C', csr, csr_len);
    free(csr);
    write_seed("csr_not_a_csr.bin", 'C', (const unsigned char *)"not DER", 7);

    char long_value[ORCHARD_SCEP_CHALLENGE_MAX + 1];
    memset(long_value, 'a', sizeof long_value);
    write_odd_challenge("csr_challenge_ia5.bin", key, V_ASN1_IA5STRING, "ia5-challenge", -1, 1,
                        0);
    write_odd_challenge("csr_challenge_bmp.bin", key, V_ASN1_BMPSTRING, "\0b\0m\0p", 6, 1, 0);
    write_odd_challenge("csr_challenge_nul.bin", key, V_ASN1_PRINTABLESTRING, "ab\0cd", 5, 1, 0);
    write_odd_challenge("csr_challenge_too_long.bin", key, V_ASN1_PRINTABLESTRING, long_value,
                        (int)sizeof long_value, 1, 0);
    write_odd_challenge("csr_challenge_two_values.bin", key, V_ASN1_PRINTABLESTRING, "twice", -1,
                        2, 0);
    write_odd_challenge("csr_challenge_two_attributes.bin", key, V_ASN1_PRINTABLESTRING, "twice",
                        -1, 1, 1);

    X509_free(issued);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return 0;
}

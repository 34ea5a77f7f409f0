/* Fuzz target: the SCEP server's readers of a PKIOperation message, the body
 * of an unauthenticated POST to /mdm/apple/scep (server_plugin/scep/). Once
 * per process the harness makes a throwaway CA (RSA 2048, self-signed, from
 * orchard_cert_*, never from a file), the CA the server would hold.
 *
 * Three input forms, told apart by the first byte (a DER message starts 0x30):
 *   - anything else: the message as it comes off the wire.
 *     orchard_scep_request_parse; when it parses, orchard_scep_request_open
 *     with the CA and the CertRep FAILURE every parsed request gets (it
 *     echoes the request's transactionID and senderNonce);
 *   - ENVELOPE_MARKER, then an EnvelopedData: handed to
 *     orchard_scep_request_open in a request made up here, as if it had come
 *     out of a SignedData;
 *   - CSR_MARKER, then the envelope's plaintext (a PKCS#10 CSR, or anything):
 *     the harness encrypts it to its CA and opens that. Envelopes in the
 *     corpus are for another CA (the seeds' generator) and random bytes never
 *     decrypt, so this is how the fuzzer reaches the code after decryption:
 *     the CSR's own checks, orchard_scep_csr_challenge and
 *     orchard_scep_csr_has_subject.
 * Whenever a CSR comes out, both CSR readers run on it and the CertRep
 * FAILURE is built. orchard_scep_pki_operation is left out: it needs the store. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_cms.h"

#include "server_plugin/setup/cert_build.h"
#include "server_plugin/scep/scep_csr.h"
#include "server_plugin/scep/scep_message.h"

#include <orchard/plugin.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#define ENVELOPE_MARKER 'E'
#define CSR_MARKER 'C'

/* Cap on the CSR form's plaintext (a CSR is about 1 KiB). */
#define CSR_MAX_BYTES 16384

static X509 *ca;
static EVP_PKEY *ca_key;

static void make_ca(void)
{
    const orchard_cert_spec spec = {
        .subject = {.o = "scep-ca", .ou = "SCEP CA", .cn = "orchard fuzz"},
        .days = 30,
        .basic_constraints = "critical,CA:TRUE,pathlen:0",
        .key_usage = "critical,digitalSignature,keyCertSign,cRLSign",
        .subject_key_id = 1,
    };
    char *err = NULL;

    if (orchard_cert_rsa_key(2048, &ca_key, &err) ||
        orchard_cert_self_signed(ca_key, &spec, &ca, &err))
        abort();
}

/* `plain` encrypted to the CA as a DER EnvelopedData; NULL if OpenSSL refuses. */
static unsigned char *envelope_for_ca(const uint8_t *plain, size_t len, size_t *out_len)
{
    return fuzz_cms_encrypt(plain, len, ca, EVP_aes_128_cbc(), 0, out_len);
}

/* What the server does with a request it could read, short of the store. */
static void answer(const orchard_scep_request *req)
{
    X509_REQ *csr = NULL;
    char *reason = NULL, *challenge = NULL;
    unsigned char *reply = NULL;
    size_t reply_len = 0;
    int rc;

    rc = orchard_scep_request_open(req, ca, ca_key, &csr, &reason);
    if (rc == 0) {
        if (!csr || reason)
            abort(); /* success: a CSR and no reason */
        rc = orchard_scep_csr_challenge(csr, &challenge);
        if ((rc == 0) != (challenge != NULL) ||
            (rc != 0 && rc != ORCHARD_ENOTFOUND && rc != ORCHARD_EINVAL))
            abort();
        if (challenge && (strlen(challenge) < 1 || strlen(challenge) > ORCHARD_SCEP_CHALLENGE_MAX))
            abort();
        (void)orchard_scep_csr_has_subject(csr);
    } else if (csr || !reason) {
        abort(); /* failure: no CSR and a reason */
    }
    if (orchard_scep_certrep(req, ca, ca_key, NULL, ORCHARD_SCEP_BAD_REQUEST, &reply,
                             &reply_len) == 0 &&
        (!reply || reply_len == 0))
        abort();
    g_free(reply);
    g_free(challenge);
    g_free(reason);
    X509_REQ_free(csr);
}

/* A request around an envelope that did not come out of a SignedData. */
static void answer_envelope(const uint8_t *env, size_t len)
{
    orchard_scep_request req = {
        .message_type = ORCHARD_SCEP_PKCS_REQ,
        .transaction_id = g_strdup("orchard-fuzz"),
        .sender_nonce = "0123456789abcdef",
        .sender_nonce_len = 16,
        /* A copy, not `data`: the field is not const, and the copy is
         * exactly `len` bytes, so ASan still sees reads past the end. */
        .envelope = g_memdup2(env, len),
        .envelope_len = len,
    };

    answer(&req);
    g_free(req.transaction_id);
    g_free(req.envelope);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orchard_scep_request *req = NULL;
    char *reason = NULL;

    if (!ca)
        make_ca();
    if (size >= 1 && data[0] == ENVELOPE_MARKER) {
        answer_envelope(data + 1, size - 1);
        return 0;
    }
    if (size >= 1 && data[0] == CSR_MARKER) {
        size_t env_len = 0;
        unsigned char *env;

        if (size - 1 > CSR_MAX_BYTES)
            return 0;
        env = envelope_for_ca(data + 1, size - 1, &env_len);
        if (env)
            answer_envelope(env, env_len);
        g_free(env);
        return 0;
    }
    if (orchard_scep_request_parse(data, size, &req, &reason) == 0) {
        if (!req || reason || !req->signer || !req->transaction_id || !req->envelope ||
            req->envelope_len == 0 || req->sender_nonce_len < 8 ||
            req->sender_nonce_len > ORCHARD_SCEP_NONCE_MAX ||
            req->signature_ok == (req->signature_error != NULL))
            abort(); /* success must fill the documented fields */
        answer(req);
    } else if (req || !reason) {
        abort(); /* failure: *out NULL and a reason */
    }
    orchard_scep_request_free(req);
    g_free(reason);
    return 0;
}

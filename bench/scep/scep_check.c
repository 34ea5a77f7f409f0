/* A SCEP server's behaviour, checked with the requester the tests use
 * (tests/support/scep_client.c): bench/scep/run.sh runs it on each server
 * before timing it, so a fast server that answers wrongly fails the run.
 *
 *   scep_check --url URL --challenge C [--renewal] [--cacert PEM] [--insecure]
 *
 * Good requests must come back SUCCESS with a certificate that chains to the
 * CA, for the requested subject and key; hostile ones must not come back
 * SUCCESS (a FAILURE CertRep or an HTTP error are both refusals). --renewal
 * also expects a RenewalReq signed by an issued certificate to succeed.
 * Prints a line per check; exits 1 when one fails. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include <openssl/rand.h>

#include "tests/support/scep_client.h"

static const char *url, *challenge, *cacert;
static int insecure, renewal, failures;
static X509 *ca;
static orchard_scepc_http *http;
static char tag[9]; /* per run: a depot like scepserver's refuses a second live certificate for a DN */

/* "/CN=scep-check-<what>-<tag>/O=orchard" into buf. */
static const char *subject_for(char *buf, size_t n, const char *what)
{
    snprintf(buf, n, "/CN=scep-check-%s-%s/O=orchard", what, tag);
    return buf;
}

static void result(int ok, const char *name, const char *detail)
{
    printf("%-4s %-44s %s\n", ok ? "ok" : "FAIL", name, detail);
    failures += !ok;
}

/* Enroll with `o`; the outcome in words into `detail`. 1 SUCCESS, 0 refused, -1 broken reply. */
static int try_enroll(orchard_scepc_request_opts *o, int use_get, X509 **cert, char *detail, size_t n)
{
    orchard_scepc_request req = {0};
    orchard_scepc_response resp = {0};
    orchard_scepc_reply rep = {0};
    char *err = NULL;
    int rc = -1;
    if (orchard_scepc_request_build(&req, o, &err) != 0) {
        snprintf(detail, n, "cannot build: %s", err);
        goto out;
    }
    if (orchard_scepc_pki_operation(http, use_get, req.der, req.der_len, &resp, &err) != 0) {
        snprintf(detail, n, "%s", err);
        goto out;
    }
    if (resp.status != 200) {
        snprintf(detail, n, "HTTP %ld", resp.status);
        rc = 0;
        goto out;
    }
    if (orchard_scepc_reply_parse(&rep, resp.body, resp.len, ca, &req, 0, &err) != 0) {
        snprintf(detail, n, "bad CertRep: %s", err);
        goto out;
    }
    snprintf(detail, n, "%s%s%s (%s)", orchard_scepc_status_name(rep.pki_status),
             rep.fail_info >= 0 ? " " : "", rep.fail_info >= 0 ? orchard_scepc_fail_info_name(rep.fail_info) : "",
             resp.content_type ? resp.content_type : "no Content-Type");
    rc = rep.pki_status == ORCHARD_SCEPC_SUCCESS;
    if (rc == 1 && cert != NULL) {
        *cert = rep.cert;
        rep.cert = NULL;
    }
out:
    free(err);
    orchard_scepc_reply_clear(&rep);
    orchard_scepc_response_clear(&resp);
    orchard_scepc_request_clear(&req);
    return rc;
}

/* A good request must succeed and its certificate be right. */
static X509 *expect_success(const char *name, orchard_scepc_request_opts *o, int use_get)
{
    char detail[512], *err = NULL, cn[128] = "";
    X509 *cert = NULL;
    if (try_enroll(o, use_get, &cert, detail, sizeof detail) != 1) {
        result(0, name, detail);
        return NULL;
    }
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    const char *want = strstr(o->subject, "/CN=");
    if (!orchard_scepc_verify_issued(cert, ca, o->key, &err))
        result(0, name, err);
    else if (want == NULL || cn[0] == '\0' || strncmp(want + 4, cn, strlen(cn)) != 0 ||
             (want[4 + strlen(cn)] != '/' && want[4 + strlen(cn)] != '\0'))
        result(0, name, "issued certificate has another CN");
    else {
        char d[1024];
        snprintf(d, sizeof d, "%s; certificate CN=%s verifies against the CA", detail, cn);
        result(1, name, d);
    }
    free(err);
    return cert;
}

static void expect_refusal(const char *name, orchard_scepc_request_opts *o)
{
    char detail[512];
    int rc = try_enroll(o, 0, NULL, detail, sizeof detail);
    result(rc == 0, name, detail);
}

static void usage(void)
{
    fprintf(stderr, "usage: scep_check --url URL --challenge C [--renewal] [--cacert PEM] [--insecure]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"url", required_argument, 0, 'u'}, {"challenge", required_argument, 0, 'c'},
        {"renewal", no_argument, 0, 'r'},   {"cacert", required_argument, 0, 'a'},
        {"insecure", no_argument, 0, 'i'},  {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'c': challenge = optarg; break;
        case 'r': renewal = 1; break;
        case 'a': cacert = optarg; break;
        case 'i': insecure = 1; break;
        default: usage();
        }
    }
    if (url == NULL || challenge == NULL || optind != argc)
        usage();

    char *err = NULL, *caps = NULL;
    EVP_PKEY *key = NULL, *key2 = NULL, *other = NULL;
    X509 *other_cert = NULL;
    if (orchard_scepc_http_new(&http, url, cacert, insecure, &err) != 0 ||
        orchard_scepc_get_ca_cert(http, &ca, &err) != 0 || orchard_scepc_get_ca_caps(http, &caps, &err) != 0 ||
        orchard_scepc_rsa_key(&key, 2048, &err) != 0 || orchard_scepc_rsa_key(&key2, 2048, &err) != 0 ||
        orchard_scepc_rsa_key(&other, 2048, &err) != 0 ||
        orchard_scepc_self_signed(&other_cert, other, "/CN=not-the-ca", &err) != 0) {
        fprintf(stderr, "scep_check: %s: %s\n", url, err ? err : "?");
        return 1;
    }
    unsigned char rnd[4];
    RAND_bytes(rnd, sizeof rnd);
    snprintf(tag, sizeof tag, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    char s1[96], s2[96], s3[96], s4[96], s5[96];
    result(strstr(caps, "POSTPKIOperation") != NULL, "GetCACaps advertises POSTPKIOperation", "");
    result(X509_check_ca(ca) != 0, "GetCACert returns a CA certificate", "");

    orchard_scepc_request_opts good = {
        .key = key, .ca = ca, .subject = subject_for(s1, sizeof s1, "post"), .challenge = challenge,
    };
    X509 *issued = expect_success("PKCSReq, POST, AES-256", &good, 0);
    good.subject = subject_for(s2, sizeof s2, "get");
    X509_free(expect_success("PKCSReq, GET (base64 in the query)", &good, 1));
    good.subject = subject_for(s3, sizeof s3, "des3");
    good.cipher = ORCHARD_SCEPC_DES3_CBC;
    X509_free(expect_success("PKCSReq, POST, DES3", &good, 0));
    good.cipher = ORCHARD_SCEPC_AES256_CBC;

    orchard_scepc_request_opts bad = good;
    bad.subject = subject_for(s4, sizeof s4, "refused");
    bad.challenge = "wrong-challenge";
    expect_refusal("wrong challenge is refused", &bad);
    bad.challenge = NULL;
    expect_refusal("missing challenge is refused", &bad);
    bad = good;
    bad.forge_key = other;
    expect_refusal("bad signature is refused", &bad);
    bad = good;
    bad.recipient = other_cert;
    expect_refusal("envelope for another recipient is refused", &bad);

    if (renewal && issued != NULL) {
        orchard_scepc_request_opts ren = {
            .message_type = ORCHARD_SCEPC_RENEWALREQ, .key = key2, .ca = ca,
            .subject = subject_for(s5, sizeof s5, "renewed"), .challenge = challenge,
            .signer_cert = issued, .signer_key = key,
        };
        X509_free(expect_success("RenewalReq signed by the issued certificate", &ren, 0));
    }
    X509_free(issued);
    X509_free(other_cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key2);
    EVP_PKEY_free(other);
    free(caps);
    orchard_scepc_http_free(http);
    printf("%s: %d check(s) failed\n", url, failures);
    return failures ? 1 : 0;
}

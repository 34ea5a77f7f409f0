/* `dep_sim token`: the server token (.p7m) Apple Business Manager hands out
 * for an MDM server: S/MIME around a CMS EnvelopedData to the ABM
 * certificate, around a text part holding the OAuth values as JSON between
 * MESSAGE markers. Also reads the credentials file `serve` shares. */
#include "dep_sim.h"

#include <getopt.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#define CREDENTIALS_MAX (64 * 1024)
#define FIELD_MAX 4096 /* orchard's abm_token caps a field at 4 KiB too */

int depsim_read_credentials(const char *path, depsim_options *o)
{
    static const char *const names[] = {"consumer_key", "consumer_secret", "access_token",
                                        "access_secret"};
    char **fields[] = {&o->consumer_key, &o->consumer_secret, &o->access_token, &o->access_secret};
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL) || len > CREDENTIALS_MAX) {
        fprintf(stderr, "dep_sim: cannot read --credentials %s (or over 64 KiB)\n", path);
        return -1;
    }
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = json_is_object(j) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(names); i++) {
        const char *v = json_string_value(json_object_get(j, names[i]));
        if (!v || !*v || strlen(v) > FIELD_MAX)
            rc = -1;
        else
            *fields[i] = g_strdup(v);
    }
    if (rc != 0)
        fprintf(stderr, "dep_sim: --credentials %s must be a JSON object with the strings "
                        "consumer_key, consumer_secret, access_token, access_secret\n", path);
    json_decref(j);
    return rc;
}

/* Apple's decrypted content: a text MIME part with the MESSAGE block. */
static char *message(const depsim_options *o, const char *expiry)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "consumer_key", o->consumer_key,
                          "consumer_secret", o->consumer_secret, "access_token", o->access_token,
                          "access_secret", o->access_secret, "access_token_expiry", expiry);
    char *json = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *msg = g_strdup_printf("Content-Type: text/plain;charset=UTF-8\r\n"
                                "Content-Transfer-Encoding: 7bit\r\n\r\n"
                                "-----BEGIN MESSAGE-----\r\n%s\r\n-----END MESSAGE-----\r\n",
                                json);
    OPENSSL_cleanse(json, strlen(json));
    free(json);
    return msg;
}

static X509 *read_cert(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

static int encrypt_to(X509 *cert, const char *msg, const char *out_path)
{
    int rc = -1;
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(msg, -1), *out = NULL;
    CMS_ContentInfo *cms = NULL;
    if (!certs || !in || !sk_X509_push(certs, cert))
        goto cleanup;
    cms = CMS_encrypt(certs, in, EVP_aes_256_cbc(), CMS_BINARY);
    out = BIO_new_file(out_path, "w");
    if (!cms || !out || !SMIME_write_CMS(out, cms, NULL, CMS_BINARY))
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0) {
        fprintf(stderr, "dep_sim: cannot write the token to %s\n", out_path);
        ERR_print_errors_fp(stderr);
    }
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    sk_X509_free(certs); /* the certificate stays the caller's */
    return rc;
}

int depsim_token_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"cert", required_argument, NULL, 'c'},   {"credentials", required_argument, NULL, 'k'},
        {"out", required_argument, NULL, 'o'},    {"expiry", required_argument, NULL, 'e'},
        {0},
    };
    const char *cert_path = NULL, *cred = NULL, *out = NULL, *expiry = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'c': cert_path = optarg; break;
        case 'k': cred = optarg; break;
        case 'o': out = optarg; break;
        case 'e': expiry = optarg; break;
        default: return 2;
        }
    }
    if (optind != argc || !cert_path || !cred || !out) {
        fprintf(stderr, "usage: dep_sim token --cert ABM_CERT.pem --credentials FILE.json "
                        "--out token.p7m [--expiry RFC3339]\n");
        return 2;
    }
    g_autofree char *default_expiry = NULL;
    if (!expiry) {
        /* A year, as Apple's tokens last. */
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autoptr(GDateTime) t = g_date_time_add_days(now, 365);
        default_expiry = g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
        expiry = default_expiry;
    } else {
        GDateTime *t = g_date_time_new_from_iso8601(expiry, NULL);
        if (!t) {
            fprintf(stderr, "dep_sim: --expiry %s is not an RFC 3339 time\n", expiry);
            return 2;
        }
        g_date_time_unref(t);
    }
    depsim_options o = {0};
    X509 *cert = NULL;
    char *msg = NULL;
    int rc = 1;
    if (depsim_read_credentials(cred, &o) != 0)
        goto cleanup;
    if (!(cert = read_cert(cert_path))) {
        fprintf(stderr, "dep_sim: --cert %s is not a PEM certificate\n", cert_path);
        goto cleanup;
    }
    msg = message(&o, expiry);
    rc = encrypt_to(cert, msg, out) == 0 ? 0 : 1;
cleanup:
    if (msg) {
        OPENSSL_cleanse(msg, strlen(msg));
        g_free(msg);
    }
    X509_free(cert);
    g_free(o.consumer_key);
    g_free(o.consumer_secret);
    g_free(o.access_token);
    g_free(o.access_secret);
    return rc;
}

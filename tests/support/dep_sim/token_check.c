/* dep_sim_token_check: decrypts a .p7m with orchard's own ABM token code
 * (server_plugin/dep/abm_token.c, compiled in) and prints the values as
 * JSON, so the dep_sim ctest proves `dep_sim token` makes what orchard reads.
 *
 *   dep_sim_token_check TOKEN.p7m ABM_CERT.pem ABM_KEY.pem
 *
 * Exit 0 and {"consumer_key", ..., "access_token_expiry", "expiry"} on
 * stdout, or 1 and orchard's message on stderr. A test tool: it prints the
 * secrets it decrypts. */
#include "server_plugin/dep/abm_token.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dep_sim_token_check TOKEN.p7m ABM_CERT.pem ABM_KEY.pem\n");
        return 2;
    }
    g_autofree char *data = NULL;
    gsize len = 0;
    BIO *cb = BIO_new_file(argv[2], "r"), *kb = BIO_new_file(argv[3], "r");
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    BIO_free(cb);
    BIO_free(kb);
    int rc = 1;
    orchard_abm_token *t = NULL;
    char *err = NULL;
    if (!g_file_get_contents(argv[1], &data, &len, NULL) || !cert || !key) {
        fprintf(stderr, "dep_sim_token_check: cannot read the token, certificate or key\n");
        goto cleanup;
    }
    if (orchard_abm_token_decrypt(data, len, cert, key, "token", "key", &t, &err) != 0) {
        fprintf(stderr, "%s\n", err ? err : "failed");
        goto cleanup;
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "consumer_key", t->consumer_key,
                          "consumer_secret", t->consumer_secret, "access_token", t->access_token,
                          "access_secret", t->access_secret, "access_token_expiry",
                          t->access_token_expiry, "expiry", (json_int_t)t->expiry);
    json_dumpf(j, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(j);
    rc = 0;
cleanup:
    g_free(err);
    orchard_abm_token_free(t);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* `orchard generate mdm-apple-bm`: the key pair Apple Business Manager
 * encrypts the MDM server token to. The certificate is uploaded to ABM; the
 * key later decrypts the downloaded .p7m (dep/). As Fleet's (docs/protocols.md §4). */
#include "server_plugin/server.h"

#include "server_plugin/setup/cert_build.h"
#include "server_plugin/setup/setup_io.h"
#include "server_plugin/crypto/x509_util.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define USAGE                                                                                  \
    "orchard generate mdm-apple-bm [--public-key F] [--private-key F] [--force]\n"             \
    "  --public-key F    certificate to upload to Apple Business Manager\n"                    \
    "                    (fleet-apple-mdm-bm-public-key.crt)\n"                                \
    "  --private-key F   its private key (fleet-apple-mdm-bm-private.key, mode 0600)\n"        \
    "  --force           replace files that exist\n"                                           \
    "Options take their value as `--opt V` or `--opt=V`.\n"                                    \
    "Exit status: 0 files written; 2 argument error (unknown option, missing or empty\n"       \
    "value, both outputs on one path); 1 a file exists (without --force) or cannot be\n"      \
    "written, or key generation failed. On any error nothing is written."

#define CMD "generate mdm-apple-bm"

/* Apple does not check the validity; Fleet uses 30 days and CN "Fleet". */
static int make_pair(char **cert_pem, char **key_pem)
{
    const orchard_cert_spec spec = {
        .subject = {.cn = "orchard"},
        .days = 30,
        .serial = 1,
        .key_usage = "critical,digitalSignature,keyEncipherment",
    };
    g_autofree char *err = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = orchard_cert_rsa_key(2048, &key, &err);
    if (!rc)
        rc = orchard_cert_self_signed(key, &spec, &cert, &err);
    if (!rc) {
        *cert_pem = orchard_x509_cert_pem(cert);
        *key_pem = orchard_x509_key_pem_pkcs1(key);
        if (!*cert_pem || !*key_pem) {
            rc = -1;
            err = g_strdup("PEM encoding failed");
        }
    }
    if (rc)
        fprintf(stderr, "orchard " CMD ": %s; nothing was written\n", err ? err : "failed");
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc ? 1 : 0;
}

static void print_next_steps(const char *public_key, const char *private_key)
{
    printf("\nNext steps:\n"
           "  1. In Apple Business Manager (https://business.apple.com), Preferences > Your MDM\n"
           "     Servers > Add (or Edit an existing server), upload %s.\n"
           "  2. Download the server token (.p7m) for that MDM server.\n"
           "  3. Configure:\n"
           "       mdm.apple_bm_server_token: the downloaded .p7m\n"
           "       mdm.apple_bm_cert: %s\n"
           "       mdm.apple_bm_key: %s\n"
           "  4. Check with `orchard get mdm-apple-bm --config F`. The token expires yearly:\n"
           "     download a new one from the same MDM server with the same key pair.\n",
           public_key, public_key, private_key);
}

static int run(int argc, char **argv, void *payload)
{
    (void)payload;
    const char *public_key = NULL, *private_key = NULL;
    int force = 0;
    const orchard_setup_opt opts[] = {
        {"public-key", &public_key, NULL},
        {"private-key", &private_key, NULL},
        {"force", NULL, &force},
    };
    int rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), USAGE);
    if (rc)
        return rc < 0 ? 0 : rc;
    public_key = public_key ? public_key : "fleet-apple-mdm-bm-public-key.crt";
    private_key = private_key ? private_key : "fleet-apple-mdm-bm-private.key";

    g_autofree char *cert_pem = NULL;
    g_autofree char *key_pem = NULL;
    orchard_setup_file files[] = {
        {.path = public_key, .what = "Apple Business Manager public key certificate",
         .mode = 0644},
        {.path = private_key, .what = "Apple Business Manager private key", .mode = 0600},
    };
    rc = orchard_setup_check(CMD, files, G_N_ELEMENTS(files), NULL, 0, force);
    if (!rc)
        rc = make_pair(&cert_pem, &key_pem);
    if (rc)
        return rc;
    files[0].data = cert_pem;
    files[0].len = strlen(cert_pem);
    files[1].data = key_pem;
    files[1].len = strlen(key_pem);
    rc = orchard_setup_write(CMD, files, G_N_ELEMENTS(files), force);
    if (!rc)
        print_next_steps(public_key, private_key);
    return rc;
}

const orchard_command orchard_cmd_generate_mdm_apple_bm = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = CMD,
    .summary = "Generate the key pair for the Apple Business Manager server token",
    .usage = USAGE,
    .run = run,
    .payload = NULL,
    .aliases = "generate mdm_apple_bm",
};

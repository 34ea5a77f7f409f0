/* `orchard enroll-token create`: makes the secret that opens
 * GET /api/mdm/apple/enroll. The store keeps only its hash, so this is the
 * one time the token is shown; it is printed alone on the last line so a
 * script can take it with `tail -n 1`. */
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/setup/setup_io.h"

#include <glib.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define CMD "enroll-token create"
/* Names appear in log lines and in the store: short, one line. */
#define NAME_MAX_CHARS 64

#define USAGE                                                                                  \
    "orchard enroll-token create [--config F] [--name N]\n"                                   \
    "  --name N   what the token is for (\"Sales laptops\"), kept with it in the store;\n"     \
    "             at most 64 characters, no control characters\n"                             \
    "Creates an enrollment token in the store (store.sqlite or store.postgres) and prints\n"  \
    "it alone on the last line; Macs download their enrollment profile from\n"               \
    "<server.url>/api/mdm/apple/enroll?token=<token>. The token is shown only once.\n"        \
    "Exit status: 0 created; 1 invalid configuration, store not configured or failing;\n"    \
    "2 argument error."

static int name_ok(const char *name)
{
    if (!g_utf8_validate(name, -1, NULL) || g_utf8_strlen(name, -1) > NAME_MAX_CHARS)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static void print_created(const orchard_mdm_config *cfg, const char *name, const char *token)
{
    if (name)
        printf("Created enrollment token \"%s\". ", name);
    else
        printf("Created an enrollment token. ");
    if (cfg->url)
        printf("Macs enroll by opening\n  %s/api/mdm/apple/enroll?token=%s\n", cfg->url, token);
    else
        printf("Macs enroll by opening <server.url>/api/mdm/apple/enroll?token=<token>\n"
               "(server.url is not set: set it to the https URL devices reach the server at).\n");
    printf("It is shown only this once; the token:\n%s\n", token);
}

static int enroll_token_create(int argc, char **argv, void *payload)
{
    const char *name = NULL;
    const orchard_setup_opt opts[] = {{"name", &name, NULL}};
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    char *token = NULL;
    int rc;
    (void)payload;

    if ((rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), USAGE)))
        return rc < 0 ? 0 : rc;
    if (name && !name_ok(name)) {
        fprintf(stderr, "orchard " CMD ": --name must be UTF-8, at most %d characters, without "
                "control characters\nusage: " USAGE "\n", NAME_MAX_CHARS);
        return 2;
    }
    if (orchard_mdm_config_load(orchard_server_host, &cfg, &err) != 0) {
        fprintf(stderr, "orchard " CMD ": %s\n", err ? err : "invalid configuration");
        return 1;
    }
    rc = 1;
    if (!cfg->store) {
        fprintf(stderr, "orchard " CMD ": the store is not configured: set store.sqlite or "
                "store.postgres as `orchard serve` has it (tokens live there)\n");
        goto done;
    }
    if ((rc = orchard_server_store_migrate()) || (rc = orchard_server_store_token_create(name,
                                                                                       &token))) {
        fprintf(stderr, "orchard " CMD ": cannot create the token in the store %s: %s\n",
                cfg->store, orchard_server_host->strerror(rc));
        rc = 1;
        goto done;
    }
    print_created(cfg, name, token);
    fflush(stdout);
    rc = 0;
done:
    if (token) {
        OPENSSL_cleanse(token, strlen(token));
        g_free(token);
    }
    orchard_mdm_config_free(cfg);
    return rc;
}

const orchard_command orchard_cmd_enroll_token_create = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "enroll-token create",
    .summary = "Create an enrollment token: the key to a Mac's enrollment profile download",
    .usage = USAGE,
    .run = enroll_token_create,
    .payload = NULL,
};

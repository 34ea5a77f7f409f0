/* `get mdm-apple`, `get mdm-apple-bm` and the server's part of `config
 * check`: what an admin runs to see the configured APNs certificate, ABM
 * token and configuration. They read everything through mdm_config and never
 * print a secret. (The host prints the effective settings and the verdict of
 * `config check` around this part: host/config_check.c.) */
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/config/mdm_fingerprint.h"
#include "server_plugin/api/mdm_apple.h"
#include "server_plugin/api/mdm_apple_bm.h"
#include "server_plugin/store/store_open_cmd.h"
#include "server_plugin/server.h"
#include "server_plugin/crypto/x509_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENEW_APNS "Renew it in the Apple Push Certificates Portal " \
    "(https://identity.apple.com) with the same Apple ID, using Renew: a new certificate " \
    "has another topic and every device would have to enroll again."
#define RENEW_ABM "Download a new token for the same MDM server in Apple Business Manager " \
    "(Preferences > Your MDM Servers > the server > Download Token) and replace the file " \
    "mdm.apple_bm_server_token names; the same key pair keeps working."

static gint64 now_seconds(void) { return g_get_real_time() / G_USEC_PER_SEC; }

static void print_json(json_t *obj)
{
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(obj);
}

static orchard_mdm_config *load_or_complain(const char *cmd, unsigned flags)
{
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    if (orchard_mdm_config_load_ex(orchard_server_host, flags, &cfg, &err) != 0) {
        fprintf(stderr, "orchard %s: %s\n", cmd, err ? err : "invalid configuration");
        return NULL;
    }
    return cfg;
}

/* --- get mdm-apple (local, or --server: through the admin API) */

/* Options: --json, --server URL, --ca FILE (PEM that --server trusts). 0, or
 * 2 after a usage error. */
static int parse_mdm_apple_args(int argc, char **argv, int *as_json, const char **server,
                                const char **ca)
{
    *as_json = 0;
    *server = *ca = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--json") == 0 || strcmp(a, "-json") == 0 || strcmp(a, "--json=true") == 0) {
            *as_json = 1;
            continue;
        }
        if (strcmp(a, "--server") == 0 || strcmp(a, "--ca") == 0) {
            slot = a[2] == 's' ? server : ca;
            if (++i == argc)
                goto usage;
            *slot = argv[i];
            continue;
        }
        if (g_str_has_prefix(a, "--server=") || g_str_has_prefix(a, "--ca=")) {
            slot = a[2] == 's' ? server : ca;
            *slot = strchr(a, '=') + 1;
            continue;
        }
        fprintf(stderr, "orchard %s: unknown argument %s\n", argv[0], a);
        goto usage;
    }
    if (*ca && !*server) {
        fprintf(stderr, "orchard %s: --ca goes with --server\n", argv[0]);
        goto usage;
    }
    return 0;
usage:
    fprintf(stderr, "usage: orchard %s [--config F] [--json] [--server URL [--ca PEM]]\n",
            argv[0]);
    return 2;
}

/* Print the certificate's description (orchard_mdm_apple_json's shape,
 * local or from the API) and warn as it nears its end: 1 once expired. */
static int print_mdm_apple(const char *cmd, json_t *o, int as_json)
{
    const char *cn = json_string_value(json_object_get(o, "common_name"));
    const char *serial = json_string_value(json_object_get(o, "serial_number"));
    const char *issuer = json_string_value(json_object_get(o, "issuer"));
    const char *topic = json_string_value(json_object_get(o, "topic"));
    const char *na = json_string_value(json_object_get(o, "not_after"));
    const char *status = json_string_value(json_object_get(o, "status"));
    gint64 days = json_integer_value(json_object_get(o, "days_left"));
    g_autoptr(GDateTime) end = na ? g_date_time_new_from_iso8601(na, NULL) : NULL;
    g_autofree char *renew = end ? orchard_format_renew_date(g_date_time_to_unix(end))
                                 : g_strdup(na ? na : "");
    (void)cmd;

    if (as_json)
        print_json(json_incref(o));
    else
        printf("Common name (CN): %s\nSerial number: %s\nIssuer: %s\nRenew date: %s\n"
               "Topic: %s\n", cn ? cn : "", serial ? serial : "", issuer ? issuer : "", renew,
               topic ? topic : "");
    /* The instances on the store, when the host or the server could tell. */
    json_t *instances = json_object_get(o, "instances");
    if (!as_json && json_is_object(instances)) {
        g_autofree char *line = orchard_mdm_instances_line(instances);
        printf("%s\n", line);
    }
    if (status && g_str_equal(status, "expired")) {
        fprintf(stderr, "\nERROR: Your Apple Push Notification service (APNs) certificate "
                "expired on %s. MDM is off: MDM features are turned off. " RENEW_APNS "\n",
                renew);
        return 1;
    }
    if (status && g_str_equal(status, "expiring"))
        fprintf(stderr, "\nWARNING: Your Apple Push Notification service (APNs) certificate "
                "expires in %" G_GINT64_FORMAT " days (%s). If it expires, MDM features will "
                "be turned off. " RENEW_APNS "\n", days, renew);
    return 0;
}

static int get_mdm_apple(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    int as_json, rc;
    const char *server, *ca;
    (void)payload;

    if ((rc = parse_mdm_apple_args(argc, argv, &as_json, &server, &ca)))
        return rc;
    if (server) {
        json_t *o = NULL;
        g_autofree char *err = NULL;
        if (orchard_mdm_apple_fetch(ctx, server, ca, getenv("ORCHARD_API_TOKEN"), &o, &err)) {
            fprintf(stderr, "orchard %s: %s\n", argv[0], err ? err : "the request failed");
            return 1;
        }
        rc = print_mdm_apple(argv[0], o, as_json);
        json_decref(o);
        return rc;
    }
    orchard_mdm_config *cfg = load_or_complain(argv[0], 0);
    if (!cfg)
        return 1;
    if (!cfg->apns_cert) {
        fprintf(stderr, "orchard %s: MDM is not configured: mdm.apple_apns_cert is not set. "
                "Run `orchard generate mdm-apple` to make the APNs key, CSR and SCEP CA, get "
                "the APNs certificate from Apple, then set mdm.apple_apns_cert, "
                "mdm.apple_apns_key, mdm.apple_scep_cert, mdm.apple_scep_key and "
                "mdm.apple_scep_challenge. (Or read a server's: --server URL.)\n", argv[0]);
        orchard_mdm_config_free(cfg);
        return 1;
    }
    json_t *o = orchard_mdm_apple_json(cfg, now_seconds());
    json_t *instances = orchard_mdm_instances_json(ctx, NULL);
    if (instances)
        json_object_set_new(o, "instances", instances);
    rc = print_mdm_apple(argv[0], o, as_json);
    json_decref(o);
    orchard_mdm_config_free(cfg);
    return rc;
}

/* --- get mdm-apple-bm (local: the configuration and the store; or --server) */

#define NOT_SYNCED "(not synced yet: run `orchard dep sync` or start `orchard serve`)"

/* Apple's strings (and a server's answer) may hold anything: control bytes,
 * DEL and the C1 controls are written as \xNN or \u00NN, so a value cannot
 * move the cursor or rewrite the terminal. g_free. */
static char *printable(const char *s)
{
    GString *out = g_string_new(NULL);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf(out, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            g_string_append_printf(out, "\\u%04x", *++p);
        else
            g_string_append_c(out, (char)*p);
    }
    return g_string_free(out, FALSE);
}

/* A string field of the description, escaped for the terminal (g_free). */
static char *field(json_t *o, const char *key)
{
    return printable(json_string_value(json_object_get(o, key)));
}

static gint64 count_of(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* "Last sync:" for the description's last_sync (null: never). g_free. */
static char *last_sync_line(json_t *run)
{
    if (!json_is_object(run))
        return g_strdup("never (run `orchard dep sync` or start `orchard serve`)");
    g_autofree char *at = field(run, "finished_at"), *kind = field(run, "kind");
    g_autofree char *code = field(run, "error_code"), *err = field(run, "error");
    g_autofree char *counts = g_strdup_printf(
        "%" G_GINT64_FORMAT " fetched, %" G_GINT64_FORMAT " added, %" G_GINT64_FORMAT
        " modified, %" G_GINT64_FORMAT " deleted, %" G_GINT64_FORMAT " assigned",
        count_of(run, "fetched"), count_of(run, "added"), count_of(run, "modified"),
        count_of(run, "deleted"), count_of(run, "assigned"));
    const char *when = *at ? at : "(time unknown)";
    if (!*code && !*err)
        return g_strdup_printf("%s (%s): ok, %s", when, kind, counts);
    return g_strdup_printf("%s (%s): failed: %s%s%s; %s", when, kind, code,
                           *code && *err ? ": " : "", err, counts);
}

/* Print the description (orchard_mdm_apple_bm_json's shape, local or from
 * the API) and warn: terms to accept, a token near its end; 1 once expired. */
static int print_mdm_apple_bm(json_t *o, int as_json)
{
    const char *status = json_string_value(json_object_get(o, "status"));
    const char *expires = json_string_value(json_object_get(o, "expires_at"));
    if (!expires)
        expires = json_string_value(json_object_get(o, "renew_date"));
    gint64 days = count_of(o, "days_left");
    g_autoptr(GDateTime) end = expires ? g_date_time_new_from_iso8601(expires, NULL) : NULL;
    g_autofree char *renew = end ? orchard_format_renew_date(g_date_time_to_unix(end))
                                 : printable(expires);

    if (as_json) {
        print_json(json_incref(o));
    } else {
        int synced = json_is_true(json_object_get(o, "synced"));
        g_autofree char *apple_id = field(o, "apple_id"), *org = field(o, "org_name");
        g_autofree char *url = field(o, "mdm_server_url"), *team = field(o, "default_team");
        g_autofree char *last = last_sync_line(json_object_get(o, "last_sync"));
        printf("Apple ID: %s\nOrganization name: %s\n", synced ? apple_id : NOT_SYNCED,
               synced ? org : NOT_SYNCED);
        printf("MDM server URL: %s\n", *url ? url : "(server.url is not set)");
        printf("Renew date: %s\n", renew);
        /* Fleet's name for hosts outside every team. */
        printf("Default team: %s\n", *team ? team : "No team");
        printf("Last sync: %s\n", last);
        json_t *run = json_object_get(o, "last_sync");
        g_autofree char *ok_at = field(o, "last_success_at");
        if (json_is_object(run) && json_string_length(json_object_get(run, "error_code")) &&
            *ok_at)
            printf("Last successful sync: %s\n", ok_at);
        printf("Devices: %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " with the enrollment "
               "profile, %" G_GINT64_FORMAT " enrolled)\n",
               count_of(o, "devices"), count_of(o, "assigned"), count_of(o, "enrolled"));
    }
    if (json_is_true(json_object_get(o, "terms_not_signed")))
        fprintf(stderr, "\nWARNING: %s.\n", ORCHARD_BM_TERMS_MESSAGE);
    if (status && g_str_equal(status, "expired")) {
        fprintf(stderr, "\nERROR: Your Apple Business Manager (ABM) server token expired on "
                "%s. MDM features that use Apple Business Manager (automatic enrollment) are "
                "turned off. " RENEW_ABM "\n", renew);
        return 1;
    }
    if (status && g_str_equal(status, "expiring"))
        fprintf(stderr, "\nWARNING: Your Apple Business Manager (ABM) server token expires in "
                "%" G_GINT64_FORMAT " days (%s). If it expires, automatic enrollment stops. "
                RENEW_ABM "\n", days, renew);
    return 0;
}

/* The local description: the configuration, and the store when one is
 * configured (without one, nothing synced can be known, which is said).
 * 0 and *out, or 1 after saying why. */
static int describe_local(const char *cmd, const orchard_mdm_config *cfg, json_t **out)
{
    const orchard_host_api *h = orchard_server_host;
    const char *sqlite = h->config_get("store.sqlite"), *pg = h->config_get("store.postgres");
    *out = NULL;
    if ((!sqlite || !*sqlite) && (!pg || !*pg)) {
        fprintf(stderr, "orchard %s: no store is configured (store.sqlite or store.postgres), "
                "so what the DEP sync saw cannot be shown\n", cmd);
        *out = orchard_mdm_apple_bm_json(cfg, h->config_get("mdm.apple_bm_default_team"), NULL,
                                         now_seconds());
        return 0;
    }
    if (orchard_sstore_open_cmd(cmd, "the DEP sync's state"))
        return 1;
    int rc = orchard_mdm_apple_bm_describe(h, cfg, now_seconds(), out);
    if (rc) {
        fprintf(stderr, "orchard %s: cannot read the DEP sync's state from the store: %s\n", cmd,
                h->strerror(rc));
        return 1;
    }
    return 0;
}

static int get_mdm_apple_bm(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    int as_json, rc;
    const char *server, *ca;
    json_t *o = NULL;
    (void)payload;

    if ((rc = parse_mdm_apple_args(argc, argv, &as_json, &server, &ca)))
        return rc;
    if (server) {
        g_autofree char *err = NULL;
        if (orchard_mdm_apple_bm_fetch(ctx, server, ca, getenv("ORCHARD_API_TOKEN"), &o, &err)) {
            /* The message may quote the server's words. */
            g_autofree char *safe = printable(err ? err : "the request failed");
            fprintf(stderr, "orchard %s: %s\n", argv[0], safe);
            return 1;
        }
        rc = print_mdm_apple_bm(o, as_json);
        json_decref(o);
        return rc;
    }
    orchard_mdm_config *cfg = load_or_complain(argv[0], ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN);
    if (!cfg)
        return 1;
    if (!cfg->bm_token) {
        fprintf(stderr, "orchard %s: Apple Business Manager is not configured: "
                "mdm.apple_bm_server_token is not set. Run `orchard generate mdm-apple-bm`, "
                "upload the public key to Apple Business Manager, download the server token, "
                "then set mdm.apple_bm_server_token, mdm.apple_bm_cert and mdm.apple_bm_key. "
                "(Or read a server's: --server URL.)\n", argv[0]);
        orchard_mdm_config_free(cfg);
        return 1;
    }
    rc = describe_local(argv[0], cfg, &o);
    if (rc == 0)
        rc = print_mdm_apple_bm(o, as_json);
    json_decref(o);
    orchard_mdm_config_free(cfg);
    return rc;
}

/* --- config check (the server's part; stdout lines are YAML comments) */

static void print_state(const orchard_mdm_config *cfg)
{
    gint64 days;
    if (cfg->mdm_enabled) {
        gint64 na = orchard_x509_not_after(cfg->apns_cert);
        g_autofree char *renew = orchard_format_renew_date(na);
        const char *st = orchard_mdm_expiry_status(na, now_seconds(), &days);
        printf("# MDM is on: APNs topic %s, certificate renew date %s.\n", cfg->apns_topic,
               renew);
        if (g_str_equal(st, "expiring"))
            fprintf(stderr, "orchard config check: warning: the APNs certificate "
                    "(mdm.apple_apns_cert) expires on %s: MDM features will be turned off "
                    "then. Run `orchard get mdm-apple`.\n", renew);
    } else if (!cfg->apns_cert) {
        printf("# %s.\n", cfg->mdm_off_reason);
    }
    if (cfg->bm_token) {
        g_autofree char *renew = orchard_format_renew_date(cfg->bm_token->expiry);
        const char *st = orchard_mdm_expiry_status(cfg->bm_token->expiry, now_seconds(), &days);
        printf("# Apple Business Manager: token renew date %s.\n", renew);
        if (g_str_equal(st, "expiring"))
            fprintf(stderr, "orchard config check: warning: the ABM token "
                    "(mdm.apple_bm_server_token) expires in %" G_GINT64_FORMAT " days.\n", days);
    } else {
        printf("# Apple Business Manager: not configured.\n");
    }
}

/* Compare the file's MDM settings with the live instances' on the store:
 * 1 when they differ and mixed settings are not allowed. No store, or one
 * that cannot be read, is said and does not fail the check. */
static int check_instances(const char *cmd, const orchard_mdm_config *cfg)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_instances_view v = {.abi_version = ORCHARD_ABI_VERSION, .struct_size = sizeof v};

    if (!cfg->mdm_enabled || !ORCHARD_HAS_FIELD(h, orchard_host_api, instances_view) ||
        !h->instances_view)
        return 0;
    g_autofree char *fp = orchard_mdm_fingerprint(h, cfg);
    int rc = fp ? h->instances_view(NULL, ORCHARD_MDM_GATE, fp, &v) : ORCHARD_ENOMEM;
    if (rc == ORCHARD_ENOTCONFIGURED) {
        printf("# Instances: no store to compare these MDM settings with.\n");
        return 0;
    }
    if (rc) {
        printf("# Instances: could not compare these MDM settings with the live instances' "
               "(%s).\n", h->strerror(rc));
        return 0;
    }
    if (v.published == 0) {
        printf("# Instances: %u live on the store, none with MDM settings to compare with.\n",
               v.live);
        return 0;
    }
    if (v.agree) {
        printf("# Instances: %u live; these MDM settings agree with theirs (reference instance "
               "%s).\n", v.live, v.reference_id);
        return 0;
    }
    if (!v.held) { /* the reference's settings: another instance is the odd one */
        printf("# Instances: %u live; these MDM settings agree with the reference instance %s's; "
               "another instance differs from it in: %s.\n", v.live, v.reference_id,
               v.differing_keys);
        return 0;
    }
    printf("# Instances: %u live; these MDM settings differ from theirs in: %s (reference "
           "instance %s).\n", v.live, v.differing_keys, v.reference_id);
    if (orchard_mdm_allow_mixed(h)) {
        fprintf(stderr, "orchard %s: warning: these MDM settings differ from the live instances' "
                "in: %s; mdm.allow_mixed_settings is true, so an instance started with them "
                "would serve MDM routes anyway.\n", cmd, v.differing_keys);
        return 0;
    }
    fprintf(stderr, "orchard %s: these MDM settings differ from the live instances' in: %s; an "
            "instance started with them answers 503 on MDM routes. Use the same settings on "
            "every instance (or set mdm.allow_mixed_settings: true).\n", cmd, v.differing_keys);
    return 1;
}

static int config_check(int argc, char **argv, void *payload)
{
    (void)payload;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--show-secrets") == 0)
            continue; /* the host shows the settings; this part prints no values */
        fprintf(stderr, "orchard %s: unknown argument %s\nusage: orchard %s [--config F] "
                "[--show-secrets]\n", argv[0], argv[i], argv[0]);
        return 2;
    }
    g_autoptr(GPtrArray) warnings = orchard_mdm_config_warnings(orchard_server_host, NULL);
    for (guint i = 0; i < warnings->len; i++)
        fprintf(stderr, "orchard %s: warning: %s\n", argv[0],
                (const char *)g_ptr_array_index(warnings, i));
    orchard_mdm_config *cfg = load_or_complain(argv[0], 0);
    if (!cfg)
        return 1;
    print_state(cfg);
    /* An APNs certificate that expired turns MDM off: as `get mdm-apple`
     * says, that is an error to fix, not a state to accept. */
    int rc = cfg->apns_cert && !cfg->mdm_enabled ? 1 : 0;
    if (rc)
        fprintf(stderr, "orchard %s: %s\n", argv[0], cfg->mdm_off_reason);
    if (check_instances(argv[0], cfg))
        rc = 1;
    orchard_mdm_config_free(cfg);
    return rc;
}

const orchard_command orchard_cmd_get_mdm_apple = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "get mdm-apple",
    .summary = "Show the APNs certificate: CN, serial, issuer, renew date, topic",
    .usage = "orchard get mdm-apple [--config F] [--json] [--server URL [--ca PEM]]\n"
                "  --server URL  read the certificate from a running server's API\n"
                "                (GET /api/latest/fleet/mdm/apple) with the token in\n"
                "                ORCHARD_API_TOKEN; --ca: a PEM bundle to trust for it.\n"
                "  Exit 1 when MDM is not configured, the configuration is invalid, the "
                "server refuses, or the certificate expired.",
    .run2 = get_mdm_apple,
    .payload = NULL,
    .aliases = "get mdm_apple",
};

const orchard_command orchard_cmd_get_mdm_apple_bm = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "get mdm-apple-bm",
    .summary = "Show Apple Business Manager: Apple ID, organization, renew date, last sync",
    .usage = "orchard get mdm-apple-bm [--config F] [--json] [--server URL [--ca PEM]]\n"
                "  Reads the ABM token from the configuration and what the DEP sync saw\n"
                "  from the store; --server URL reads a running server's API instead\n"
                "  (GET /api/latest/fleet/mdm/apple_bm) with the token in\n"
                "  ORCHARD_API_TOKEN; --ca: a PEM bundle to trust for it.\n"
                "  Exit 1 when ABM is not configured, the configuration is invalid, the "
                "store or the server cannot be read, or the token expired.",
    .run2 = get_mdm_apple_bm,
    .payload = NULL,
    .aliases = "get mdm_apple_bm",
};

const orchard_command orchard_cmd_config_check = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "config check",
    .summary = "Validate the configuration and print the settings in force (secrets redacted)",
    .usage = "orchard config check [--config F] [--show-secrets]\n"
             "  Names unknown keys (with the closest known one), Fleet keys orchard ignores,\n"
             "  values that don't read as their type, risky file modes and short challenges,\n"
             "  then prints every effective setting as YAML (--show-secrets: with secrets).\n"
             "  Exit 1 when anything is invalid or the APNs certificate expired.",
    .run = config_check,
    .payload = NULL,
};

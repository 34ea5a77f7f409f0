/* `orchard serve`: check the configuration and the store, refuse an APNs
 * certificate whose topic differs from the one devices enrolled under, then
 * hand over to the host's HTTP server, which serves every plugin's routes
 * until SIGTERM. MDM routes answer 404 "not configured" while MDM is off. */
#include "server_plugin/config/mdm_fingerprint.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"

#include <stdio.h>
#include <string.h>

#define USAGE "usage: orchard serve [--config F] [--accept-new-apns-topic]\n"

static int parse_args(int argc, char **argv, int *accept_new_topic)
{
    *accept_new_topic = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--accept-new-apns-topic") == 0) {
            *accept_new_topic = 1;
            continue;
        }
        fprintf(stderr, "orchard serve: unknown argument %s\n" USAGE, argv[i]);
        return 2;
    }
    return 0;
}

static void on_ready(const char *base_url, void *payload)
{
    orchard_ctx *ctx = payload;
    orchard_serve_set_listen_url(ctx, base_url);
    const orchard_mdm_config *cfg = orchard_serve_config(ctx);
    printf("orchard serve: listening on %s\n", base_url);
    if (cfg->mdm_enabled) {
        printf("orchard serve: MDM is on (APNs topic %s); SCEP at %s/mdm/apple/scep\n",
               cfg->apns_topic, orchard_serve_base_url(ctx));
        printf("orchard serve: enrollment profile at %s/api/mdm/apple/enroll?token=TOKEN "
               "(make a token with `orchard enroll-token create`)\n",
               orchard_serve_base_url(ctx));
    } else {
        printf("orchard serve: MDM is off: %s\n", cfg->mdm_off_reason);
    }
    fflush(stdout);
}

/* APNs topic continuity (docs/protocols.md §4): devices enrolled under one topic
 * never hear pushes sent under another. */
static int check_topic(const orchard_mdm_config *cfg, int accept_new)
{
    g_autofree char *recorded = NULL;
    int rc = orchard_server_store_topic_check(cfg->apns_topic, accept_new, &recorded);
    if (rc == ORCHARD_EEXIST) {
        fprintf(stderr,
                "orchard serve: the APNs certificate's topic is %s, but this server's devices "
                "enrolled under %s. A renewed certificate must keep the topic: in the Apple "
                "Push Certificates Portal use Renew on the existing certificate with the same "
                "Apple ID, not Create. If you really moved to a new certificate, every device "
                "has to enroll again; start once with --accept-new-apns-topic to record it.\n",
                cfg->apns_topic, recorded);
        return 1;
    }
    if (rc) {
        fprintf(stderr, "orchard serve: cannot check the APNs topic in the store: %s\n",
                orchard_server_host->strerror(rc));
        return 1;
    }
    return 0;
}

/* What is risky but allowed is warned about (private keys others can read,
 * a short static challenge); a private key every user can overwrite is
 * refused: whoever replaces it holds the CA or the push certificate. */
static int check_risks(const orchard_host_api *h)
{
    int refuse = 0;
    g_autoptr(GPtrArray) risks = orchard_mdm_config_warnings(h, &refuse);
    for (guint i = 0; i < risks->len; i++)
        fprintf(stderr, "orchard serve: warning: %s\n", (const char *)g_ptr_array_index(risks, i));
    if (refuse)
        fprintf(stderr, "orchard serve: refusing to start while a private key file is writable "
                        "by every user (see above)\n");
    return refuse;
}

/* Publish the MDM settings fingerprint (the instances on one store compare
 * it, and hold MDM routes with a 503 where it differs). Only with MDM on:
 * an instance with MDM off serves no MDM route, and must not become the
 * reference the others are held to. */
static void publish_fingerprint(orchard_ctx *ctx)
{
    const orchard_mdm_config *cfg = orchard_serve_config(ctx);
    if (!cfg || !cfg->mdm_enabled)
        return;
    int rc = orchard_mdm_fingerprint_publish(ctx, cfg);
    if (rc && rc != ORCHARD_EABI)
        orchard_server_host->ctx_log(ctx, ORCHARD_LOG_WARNING, "cannot publish the MDM settings "
                                     "fingerprint: %s", orchard_server_host->strerror(rc));
}

/* A reload may change mdm.allow_mixed_settings or the APNs push settings,
 * which apply without a restart: publish again. */
static void on_settings_changed(orchard_ctx *ctx, const char *name, const char *json,
                                void *payload)
{
    (void)name;
    (void)json;
    (void)payload;
    publish_fingerprint(ctx);
}

static int serve_run(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    static int subscribed; /* once per process: events have no unsubscribe */
    const orchard_host_api *h = orchard_server_host;
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    int accept_new, rc;
    (void)payload;
    if ((rc = parse_args(argc, argv, &accept_new)))
        return rc;
    if (!ORCHARD_HAS_FIELD(h, orchard_host_api, stmt_finish)) {
        fprintf(stderr, "orchard serve: this host has no HTTP server or store (ABI 1.0)\n");
        return 1;
    }
    if (orchard_mdm_config_load(h, &cfg, &err)) {
        fprintf(stderr, "orchard serve: %s\n", err ? err : "invalid configuration");
        return 1;
    }
    if (check_risks(h)) {
        orchard_mdm_config_free(cfg);
        return 1;
    }
    if (!cfg->store) {
        fprintf(stderr, "orchard serve: no store: set store.sqlite to the SQLite file that "
                        "keeps enrollments and issued certificates, or store.postgres to a "
                        "PostgreSQL database that several instances share\n");
        orchard_mdm_config_free(cfg);
        return 1;
    }
    if ((rc = orchard_server_store_migrate())) {
        fprintf(stderr, "orchard serve: preparing the store %s failed: %s (see the log)\n",
                cfg->store, h->strerror(rc));
        orchard_mdm_config_free(cfg);
        return 1;
    }
    if (cfg->mdm_enabled && check_topic(cfg, accept_new)) {
        orchard_mdm_config_free(cfg);
        return 1;
    }
    orchard_serve_state_set(ctx, cfg);
    /* Before listening: an instance whose settings differ is held from its
     * first request. */
    publish_fingerprint(ctx);
    if (!subscribed && ORCHARD_HAS_FIELD(h, orchard_host_api, instances_view) &&
        h->event_subscribe(ctx, "settings.changed", on_settings_changed, NULL) == 0)
        subscribed = 1;
    rc = h->http_serve(on_ready, ctx);
    orchard_serve_state_set(ctx, NULL);
    if (rc) {
        fprintf(stderr, "orchard serve: the HTTP server could not start: %s (see the log)\n",
                h->strerror(rc));
        return 1;
    }
    printf("orchard serve: stopped\n");
    return 0;
}

const orchard_command orchard_cmd_serve = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "serve",
    .summary = "Run the MDM server: SCEP, enrollment profiles, every plugin's routes",
    .usage = "[--config F] [--accept-new-apns-topic]\n"
                "  Serves on server.address (default 127.0.0.1:8080), TLS when server.tls_cert\n"
                "  and server.tls_key are set; state in store.sqlite or store.postgres. Stops on SIGTERM.\n"
                "  --accept-new-apns-topic  start with an APNs certificate whose topic differs\n"
                "                           from the recorded one (devices must re-enroll)",
    .run2 = serve_run,
};

/* Everything under /mdm/apple that no other route took: behind the "mdm"
 * gate, so while MDM is off the host says why; once on, the flows of later
 * releases live here. */
static int mdm_apple_handle(orchard_ctx *ctx, const orchard_http_request *req,
                            orchard_http_response *resp, void *payload)
{
    (void)ctx;
    (void)req;
    (void)payload;
    static const char body[] = "not found\n";
    orchard_server_host->http_respond(resp, 404, "text/plain; charset=utf-8", body,
                                      sizeof body - 1);
    return 0;
}

const orchard_route orchard_route_mdm_apple = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "*",
    .path_prefix = "/mdm/apple",
    .handle2 = mdm_apple_handle,
    .gate = "mdm",
};

/* The http_guard suite's test plugin, authenticator, server and client
 * (see guard_fixture.h). The plugin is a 1.2 one with a context; one of its
 * routes is written as a 1.1 plugin would have written it. */
#include "tests/host/guard_fixture.h"
#include "tests/host/http_fixture.h"

#include "host/config.h"
#include "host/http/http_api.h"
#include "host/log.h"
#include "host/plugins/registry.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const orchard_host_api *guard_host;
orchard_ctx *guard_ctx;
atomic_int guard_auth_calls;
const char *const guard_failing_message = "the store is gone: \"devices\" \xff unreadable";

/* ---- handlers */

static int reply(orchard_http_response *resp, const char *text)
{
    return guard_host->http_respond(resp, 200, "text/plain", text, strlen(text));
}

static int h_text(orchard_ctx *ctx, const orchard_http_request *req,
                  orchard_http_response *resp, void *payload)
{
    (void)ctx;
    (void)req;
    return reply(resp, payload);
}

static int h_device(orchard_ctx *ctx, const orchard_http_request *req,
                    orchard_http_response *resp, void *payload)
{
    size_t len = 0;
    const unsigned char *der = guard_host->http_client_cert(req, &len);
    (void)ctx;
    (void)payload;
    g_autofree char *sum = der ? g_compute_checksum_for_data(G_CHECKSUM_SHA256, der, len) : NULL;
    g_autofree char *t = g_strdup_printf("device %zu %s", len, sum ? sum : "(none)");
    return reply(resp, t);
}

static int h_role(orchard_ctx *ctx, const orchard_http_request *req,
                  orchard_http_response *resp, void *payload)
{
    int role = -1;
    const char *who = guard_host->http_principal(req, &role);
    (void)ctx;
    (void)payload;
    g_autofree char *t = g_strdup_printf("who=%s role=%d", who ? who : "(none)", role);
    return reply(resp, t);
}

static int h_open(orchard_ctx *ctx, const orchard_http_request *req,
                  orchard_http_response *resp, void *payload)
{
    int role = -1;
    size_t len = 99;
    const char *who = guard_host->http_principal(req, &role);
    (void)ctx;
    (void)payload;
    guard_host->http_client_cert(req, &len);
    g_autofree char *t =
        g_strdup_printf("principal=%s role=%d cert=%zu", who ? who : "(none)", role, len);
    return reply(resp, t);
}

static int h_old(const orchard_http_request *req, orchard_http_response *resp, void *payload)
{
    const char *who = guard_host->http_principal(req, NULL);
    (void)payload;
    g_autofree char *t = g_strdup_printf("old ok principal=%s", who ? who : "(none)");
    return reply(resp, t);
}

static int h_failing(orchard_ctx *ctx, const orchard_http_request *req,
                     orchard_http_response *resp, void *payload)
{
    (void)req;
    (void)payload;
    guard_host->http_set_header(resp, "X-Partial", "1");
    return guard_host->fail(ctx, ORCHARD_EIO, "%s", guard_failing_message);
}

/* ---- the authenticator */

int guard_authenticate(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                       size_t who_size, void *payload)
{
    static const char *const roles[] = {"", "observer", "maintainer", "admin"};
    const char *auth = guard_host->http_header(req, "Authorization");
    (void)payload;

    atomic_fetch_add(&guard_auth_calls, 1);
    if (!auth || !g_str_has_prefix(auth, "Bearer "))
        return 0;
    g_auto(GStrv) parts = g_strsplit(auth + 7, ":", 2);
    if (!parts[0] || !parts[1])
        return 0;
    if (strcmp(parts[0], "fail") == 0)
        return guard_host->fail(ctx, ORCHARD_EIO, "the user store is unreachable");
    if (strcmp(parts[0], "bogus") == 0) {
        g_strlcpy(who, parts[1], who_size);
        return 7;
    }
    if (strcmp(parts[0], "anonymous") == 0)
        return ORCHARD_ROLE_OBSERVER; /* and no id */
    for (int role = ORCHARD_ROLE_OBSERVER; role <= ORCHARD_ROLE_ADMIN; role++) {
        if (strcmp(parts[0], roles[role]) == 0) {
            g_strlcpy(who, parts[1], who_size);
            return role;
        }
    }
    return 0;
}

/* ---- the plugin */

#define ROUTE2(prefix, fn, pl, guard_, gate_)                                              \
    {ORCHARD_STRUCT_HEADER(orchard_route), .method = "GET", .path_prefix = prefix,          \
     .handle2 = fn, .payload = (void *)(pl), .guard = guard_, .gate = gate_}

static const orchard_route r_gated = ROUTE2("/gated", h_text, "gated ok", ORCHARD_GUARD_NONE,
                                            "mdm");
static const orchard_route r_device = ROUTE2("/device", h_device, NULL, ORCHARD_GUARD_DEVICE,
                                             NULL);
static const orchard_route r_observer = ROUTE2("/observer", h_role, NULL,
                                               ORCHARD_GUARD_OBSERVER, NULL);
static const orchard_route r_maintainer = ROUTE2("/maintainer", h_role, NULL,
                                                 ORCHARD_GUARD_MAINTAINER, NULL);
static const orchard_route r_admin = ROUTE2("/admin", h_role, NULL, ORCHARD_GUARD_ADMIN, NULL);
static const orchard_route r_gated_admin = ROUTE2("/gated-admin", h_text, "gated admin ok",
                                                  ORCHARD_GUARD_ADMIN, "mdm");
static const orchard_route r_open = ROUTE2("/open", h_open, NULL, ORCHARD_GUARD_NONE, NULL);
static const orchard_route r_failing = ROUTE2("/failing", h_failing, NULL, ORCHARD_GUARD_NONE,
                                              NULL);
/* As a 1.1 plugin wrote it: its struct_size ends before handle2. What lies
 * beyond is set here to what would lock the route, were it read. */
static const orchard_route r_old = {
    .abi_version = ORCHARD_ABI_VERSION,
    .struct_size = (uint32_t)offsetof(orchard_route, handle2),
    .method = "GET",
    .path_prefix = "/old",
    .handle = h_old,
    .guard = ORCHARD_GUARD_ADMIN,
    .gate = "mdm",
};

static const orchard_route *const route_ptrs[] = {
    &r_gated, &r_device, &r_observer, &r_maintainer, &r_admin,
    &r_gated_admin, &r_open, &r_failing, &r_old,
};

static int plugin_init(orchard_ctx *ctx)
{
    guard_ctx = ctx;
    return 0;
}

static const orchard_plugin guard_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "guard-test",
    .version = "1.0",
    .description = "routes behind gates and guards",
    .routes = route_ptrs,
    .n_routes = G_N_ELEMENTS(route_ptrs),
    .init = plugin_init,
};

static int guard_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    guard_host = host;
    *out = &guard_plugin;
    return 0;
}

/* ---- suite state */

static orchard_registry *guard_reg, *saved_reg;
static int saved_level;

static void config(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

int guard_fixture_init(void)
{
    g_autofree char *err = NULL;
    saved_reg = orchard_registry_global();
    guard_reg = orchard_registry_new();
    if (orchard_registry_add_builtin(guard_reg, guard_plugin_entry, &err) != 0) {
        fprintf(stderr, "http_guard: %s\n", err);
        orchard_registry_free(guard_reg);
        return 1;
    }
    orchard_registry_set_global(guard_reg);
    saved_level = orchard_log_get_level();
    orchard_log_set_level(ORCHARD_LOG_ERROR);
    config("http_module", BUILD_DIR "/modules/orchard_http.so");
    config("server.address", "127.0.0.1:0");
    config("server.threads", "4");
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : 1;
}

int guard_fixture_cleanup(void)
{
    config("http_module", NULL);
    config("server.address", NULL);
    config("server.threads", NULL);
    orchard_registry_free(guard_reg);
    guard_reg = NULL;
    orchard_registry_set_global(saved_reg);
    orchard_log_set_level(saved_level);
    curl_global_cleanup();
    return 0;
}

/* ---- the server, in a thread */

/* The server is http_fixture's: orchard_http_serve in a thread. */
guard_server *guard_server_start(void)
{
    http_server *s = http_server_start();
    if (!s->url) {
        fprintf(stderr, "http_guard: the server did not start\n");
        http_server_finish(s, NULL);
        return NULL;
    }
    return s;
}

const char *guard_server_url(const guard_server *s) { return s->url; }

int guard_server_stop(guard_server *s) { return http_server_finish(s, NULL); }

/* ---- the client */

void guard_get(const char *base, const char *path, const char *const *headers,
               guard_response *r)
{
    g_autofree char *url = g_strconcat(base, path, NULL);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    r->status = 0;
    http_perform(http_client(url, r, list), r);
    curl_slist_free_all(list);
}

void guard_response_clear(guard_response *r) { http_response_clear(r); }

/* POST /api/mdm/apple/dep/enroll: the DEP enrollment URL, the `url` of the
 * DEP profile Apple hands a Mac in Setup Assistant (docs/dep-enrollment.md).
 * The Mac posts its signed machine info (machine_info.c); a serial Apple
 * assigned us (dep_devices, store_dep_enroll.c) gets the same enrollment
 * profile the token URL gives (profile_send.c), anything else a 403. */
#include "server_plugin/enroll/machine_info.h"
#include "server_plugin/enroll/profile_send.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_dep.h"

#include <glib.h>
#include <string.h>

#define TEXT_TYPE "text/plain; charset=utf-8"
#define NOT_ASSIGNED "this device is not assigned to this MDM server in Apple Business Manager\n"

static const orchard_host_api *host(void) { return orchard_server_host; }

static int respond_text(orchard_http_response *resp, int status, const char *text)
{
    return host()->http_respond(resp, status, TEXT_TYPE, text, strlen(text));
}

static int refused(const orchard_http_request *req, orchard_http_response *resp, int rc,
                   const char *why)
{
    host()->log(ORCHARD_LOG_WARNING, "orchard-server", "dep enroll: machine info from %s "
                "refused: %s", host()->http_remote_addr(req), why);
    g_autofree char *text = g_strconcat(why, "\n", NULL);
    return respond_text(resp, rc == ORCHARD_ETOOBIG ? 413 : 400, text);
}

/* The token URL's per-minute limit (mdm.enroll_downloads_per_minute), keyed
 * by serial: each answer stores a one-time challenge, and one Mac has no
 * reason to ask many times a minute. A refusal answers 429. */
static int allowed(const orchard_http_request *req, orchard_http_response *resp,
                   const char *serial)
{
    /* A prefix keeps serials and enrollment tokens apart in the one table. */
    g_autofree char *key = g_strconcat("dep-serial:", serial, NULL);
    g_autofree char *who = g_strdup_printf("DEP serial %s", serial);
    return orchard_enroll_limit_pass(req, resp, key, who,
                                     "too many enrollment profile requests for this device; "
                                     "try again later\n");
}

static int handle_dep_enroll(orchard_ctx *ctx, const orchard_http_request *req,
                             orchard_http_response *resp, void *payload)
{
    (void)payload;
    /* The host also routes ".../dep/enroll/..." here. */
    if (strcmp(host()->http_path(req), ORCHARD_DEP_ENROLL_PATH) != 0)
        return respond_text(resp, 404, "not found\n");

    size_t len = 0;
    const unsigned char *body = host()->http_body(req, &len);
    g_autoptr(orchard_machine_info) mi = NULL;
    const char *why = NULL;
    int rc = orchard_machine_info_parse(body, len, &mi, &why);
    if (rc)
        return refused(req, resp, rc, why);
    if (!allowed(req, resp, mi->serial))
        return 0;

    rc = orchard_store_dep_enroll_served(mi->serial, g_get_real_time() / G_USEC_PER_SEC);
    if (rc == ORCHARD_ENOTFOUND) {
        host()->log(ORCHARD_LOG_WARNING, "orchard-server",
                    "dep enroll: serial %s (UDID %s, from %s) is not a device Apple Business "
                    "Manager assigned to this server: no profile", mi->serial, mi->udid,
                    host()->http_remote_addr(req));
        return respond_text(resp, 403, NOT_ASSIGNED);
    }
    if (rc) {
        host()->log(ORCHARD_LOG_ERROR, "orchard-server", "dep enroll: looking up serial %s "
                    "failed (%s): no profile served", mi->serial, host()->strerror(rc));
        return respond_text(resp, 503, "the enrollment store is unavailable; try again later\n");
    }
    g_autofree char *who = g_strdup_printf("DEP, serial %s, UDID %s", mi->serial, mi->udid);
    return orchard_enroll_profile_serve(ctx, req, resp, orchard_serve_config(ctx), who);
}

const orchard_route orchard_route_dep_enroll = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "POST",
    .path_prefix = ORCHARD_DEP_ENROLL_PATH,
    .handle2 = handle_dep_enroll,
    .gate = "mdm",
    /* The host answers 413 past it before reading the body. */
    .max_body = ORCHARD_MACHINE_INFO_MAX,
};

/* The enrollment profile as both enrollment routes serve it
 * (profile_send.h): a fresh one-time challenge stored, the profile built
 * around it (profile.c), the headers, the log line. */
#include "server_plugin/enroll/profile_send.h"
#include "server_plugin/enroll/download_limit.h"
#include "server_plugin/enroll/profile.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"

#include <glib.h>
#include <openssl/crypto.h>
#include <string.h>

#define PROFILE_TYPE "application/x-apple-aspen-config"
#define TEXT_TYPE "text/plain; charset=utf-8"

static const orchard_host_api *host(void) { return orchard_server_host; }

static int respond_text(orchard_http_response *resp, int status, const char *text)
{
    return host()->http_respond(resp, status, TEXT_TYPE, text, strlen(text));
}

/* Devices refuse an MDM server over plain http: say so once. */
static void warn_plain_http(const char *base_url)
{
    static gint warned;
    if (!g_str_has_prefix(base_url, "https://") && g_atomic_int_compare_and_exchange(&warned, 0, 1))
        host()->log(ORCHARD_LOG_WARNING, "orchard-server",
                    "enroll: serving profiles that point at %s; Macs only enroll over https: "
                    "set server.url", base_url);
}

static int send_profile(orchard_ctx *ctx, const orchard_http_request *req,
                        orchard_http_response *resp, const orchard_mdm_config *cfg,
                        const char *who, const char *challenge)
{
    const char *base = orchard_serve_base_url(ctx);
    g_autofree char *err = NULL;
    unsigned char *body = NULL;
    size_t len = 0;
    int is_signed = 0;

    int rc = orchard_enroll_profile_build(cfg, base, challenge, &body, &len, &is_signed, &err);
    if (rc) {
        host()->log(ORCHARD_LOG_ERROR, "orchard-server", "enroll: %s", err);
        return respond_text(resp, 500, "the enrollment profile could not be built; "
                                       "the server log says why\n");
    }
    g_autofree char *filename = orchard_enroll_profile_filename(cfg->org_name);
    g_autofree char *disposition = g_strdup_printf("attachment; filename=\"%s\"", filename);
    warn_plain_http(base);
    host()->http_set_header(resp, "Content-Disposition", disposition);
    /* The profile carries a one-time secret: no cache may keep a copy. */
    host()->http_set_header(resp, "Cache-Control", "no-store");
    rc = host()->http_respond(resp, 200, PROFILE_TYPE, body, len);
    host()->log(ORCHARD_LOG_INFO, "orchard-server", "enroll: %s profile served to %s (%s)",
                is_signed ? "signed" : "unsigned", host()->http_remote_addr(req), who);
    OPENSSL_cleanse(body, len);
    g_free(body);
    return rc;
}

int orchard_enroll_profile_serve(orchard_ctx *ctx, const orchard_http_request *req,
                                 orchard_http_response *resp, const orchard_mdm_config *cfg,
                                 const char *who)
{
    char *challenge = NULL;
    int rc = orchard_server_store_challenge_create(cfg->scep_challenge_ttl, &challenge);
    if (rc) {
        host()->log(ORCHARD_LOG_ERROR, "orchard-server",
                    "enroll: storing a one-time SCEP challenge failed (%s): no profile served "
                    "(%s)", host()->strerror(rc), who);
        return respond_text(resp, 503, "the enrollment store is unavailable; try again later\n");
    }
    rc = send_profile(ctx, req, resp, cfg, who, challenge);
    OPENSSL_cleanse(challenge, strlen(challenge));
    g_free(challenge);
    return rc;
}

int orchard_enroll_limit_pass(const orchard_http_request *req, orchard_http_response *resp,
                              const char *key, const char *who, const char *refusal)
{
    gint64 limit = ORCHARD_ENROLL_DOWNLOADS_DEFAULT;
    int retry_after = 0;
    const char *v = host()->config_get(orchard_setting_enroll_downloads.key);
    if (v)
        limit = g_ascii_strtoll(v, NULL, 10);
    if (limit <= 0 || orchard_enroll_download_allowed(key, (unsigned)MIN(limit, G_MAXUINT),
                                                      g_get_real_time() / G_USEC_PER_SEC,
                                                      &retry_after))
        return 1;
    char secs[16];
    g_snprintf(secs, sizeof secs, "%d", retry_after > 0 ? retry_after : 1);
    host()->log(ORCHARD_LOG_WARNING, "orchard-server",
                "enroll: %s is over %" G_GINT64_FORMAT " profile downloads a minute; %s refused",
                who, limit, host()->http_remote_addr(req));
    host()->http_set_header(resp, "Retry-After", secs);
    respond_text(resp, 429, refusal);
    return 0;
}

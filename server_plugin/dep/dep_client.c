/* The DEP client (dep_client.h): a session taken with OAuth (dep_oauth.h)
 * and kept, one request at a time through the host's HTTP client, Apple's
 * session rotation, one re-authentication on 401 / 403 FORBIDDEN, capped
 * backoff for 5xx and network failures; replies read by dep_errors.c. */
#include "server_plugin/dep/dep_client.h"

#include "server_plugin/dep/dep_oauth.h"
#include "server_plugin/server.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN "orchard-server"
#define DEFAULT_TIMEOUT_MS 60000
#define CONNECT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES 3
#define DEFAULT_BACKOFF_MS 500
/* A token's session header, as Apple sends it, is ~50 characters. */
#define SESSION_HEADER_MAX 4097
#define SERIAL_ARG_MAX 128

struct orchard_dep_client {
    const orchard_host_api *host;
    orchard_ctx *ctx; /* for job_expired: a stopping host ends the retries */
    orchard_http_client *http;
    const orchard_abm_token *token;
    char *base_url;   /* without a trailing '/' */
    char *user_agent; /* a whole header line */
    char *session;    /* X-ADM-Auth-Session: a credential, never logged */
    int max_retries;
    guint32 backoff_ms;
};

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        g_free(s);
    }
}

void orchard_dep_client_free(orchard_dep_client *c)
{
    if (!c)
        return;
    if (c->http)
        c->host->http_client_close(c->http);
    wipe_free(c->session);
    g_free(c->base_url);
    g_free(c->user_agent);
    g_free(c);
}

static int token_ok(const orchard_abm_token *t)
{
    return t && t->consumer_key && *t->consumer_key && t->consumer_secret &&
           *t->consumer_secret && t->access_token && *t->access_token && t->access_secret &&
           *t->access_secret;
}

int orchard_dep_client_new(orchard_ctx *ctx, const orchard_dep_client_config *cfg,
                           orchard_dep_client **out)
{
    const orchard_host_api *h = orchard_server_host;
    *out = NULL;
    if (!h || !ORCHARD_HAS_FIELD(h, orchard_host_api, http_client_close) || !h->http_client_open)
        return h ? h->fail(ctx, ORCHARD_ENOTCONFIGURED, "this orchard has no outbound HTTP "
                           "client (plugin ABI 1.3): Apple Business Manager cannot be reached")
                 : ORCHARD_ENOTCONFIGURED;
    if (!cfg || !token_ok(cfg->token))
        return h->fail(ctx, ORCHARD_EINVAL, "the DEP client needs the ABM server token's four "
                       "OAuth values (mdm.apple_bm_server_token)");
    const char *url = cfg->base_url && *cfg->base_url ? cfg->base_url : ORCHARD_DEP_DEFAULT_URL;
    g_autofree char *norm = NULL;
    /* The URL is signed and joined with paths: no query, fragment or spaces. */
    if (strpbrk(url, "?# \t\r\n") || orchard_oauth_base_uri(url, &norm) != 0)
        return h->fail(ctx, ORCHARD_EINVAL, "mdm.apple_dep_url must be an https:// URL such as "
                       "%s, not \"%s\"", ORCHARD_DEP_DEFAULT_URL, url);

    orchard_dep_client *c = g_new0(orchard_dep_client, 1);
    c->host = h;
    c->ctx = ctx;
    c->token = cfg->token;
    c->base_url = g_strdup(url);
    while (g_str_has_suffix(c->base_url, "/"))
        c->base_url[strlen(c->base_url) - 1] = '\0';
    c->user_agent = g_strdup_printf("User-Agent: orchard/%s",
                                    h->host_version ? h->host_version : "dev");
    c->max_retries = cfg->max_retries < 0 ? 0 : cfg->max_retries ? cfg->max_retries
                                                                 : DEFAULT_RETRIES;
    c->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : DEFAULT_BACKOFF_MS;
    orchard_http_client_config hc = {
        ORCHARD_STRUCT_HEADER(orchard_http_client_config),
        .ca_pem = cfg->ca_pem,
        .connections = 1, /* one call at a time */
        .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
    };
    int rc = h->http_client_open(ctx, &hc, &c->http);
    if (rc) {
        orchard_dep_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- one exchange -------------------------------------------------------- */

/* 1 once the job running this client is past its deadline or the host is
 * stopping: `orchard serve` must not wait out a backoff to shut down. */
static int stopping(const orchard_dep_client *c)
{
    const orchard_host_api *h = c->host;
    return c->ctx && ORCHARD_HAS_FIELD(h, orchard_host_api, job_expired) && h->job_expired &&
           h->job_expired(c->ctx);
}

/* Wait before retry number `attempt` (0-based): backoff, 2x, 4x, 4x, ...,
 * in slices so a stopping host is noticed. Returns 0 when the retry should
 * not happen (stopping). */
static int backoff(const orchard_dep_client *c, int attempt)
{
    guint64 ms = (guint64)c->backoff_ms << MIN(attempt, 2);
    while (ms > 0) {
        if (stopping(c))
            return 0;
        guint64 step = MIN(ms, 100);
        g_usleep(step * 1000);
        ms -= step;
    }
    return !stopping(c);
}

/* Run one request; the answer is in *call (the caller resets it). */
static void send_once(orchard_dep_client *c, const char *method, const char *url,
                      const char *auth_header, const char *body, orchard_http_call *call)
{
    char *session = auth_header ? NULL : g_strdup_printf("X-ADM-Auth-Session: %s", c->session);
    const char *headers[] = {
        auth_header ? auth_header : session,
        "X-Server-Protocol-Version: " ORCHARD_DEP_PROTOCOL_VERSION,
        "Content-Type: application/json;charset=UTF8",
        "Accept: application/json",
        c->user_agent,
    };
    *call = (orchard_http_call){
        ORCHARD_STRUCT_HEADER(orchard_http_call),
        .method = method,
        .url = url,
        .headers = headers,
        .n_headers = G_N_ELEMENTS(headers),
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .max_response = ORCHARD_DEP_REPLY_MAX,
    };
    int rc = c->host->http_client_run(c->http, call, 1);
    if (rc && call->result == 0) { /* refused before sending: the same as no answer */
        call->result = rc;
        g_strlcpy(call->error, c->host->strerror(rc), sizeof call->error);
    }
    wipe_free(session);
}

/* Apple hands out a new session in a reply header now and then: keep it. */
static void take_session(orchard_dep_client *c, const orchard_http_call *call)
{
    char buf[SESSION_HEADER_MAX];
    if (c->host->http_call_header(call, "x-adm-auth-session", buf, sizeof buf) != 0)
        return;
    size_t n = strlen(buf);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
            n = 0; /* not fit for a header: keep the one we have */
    if (n && g_strcmp0(buf, c->session) != 0) {
        wipe_free(c->session);
        c->session = g_strdup(buf);
    }
    OPENSSL_cleanse(buf, sizeof buf);
}

/* What came of a call without a usable answer: 1 to retry, else res filled. */
static int failed_exchange(orchard_dep_client *c, const orchard_http_call *call,
                           const char *what, int *attempt, orchard_dep_result *res, int *rc)
{
    if (call->result == ORCHARD_ETOOBIG) {
        res->status = ORCHARD_DEP_BAD_REPLY;
        res->http_status = call->status;
        res->message = g_strdup_printf("Apple's reply to %s is over %zu MiB", what,
                                       ORCHARD_DEP_REPLY_MAX >> 20);
        *rc = ORCHARD_ETOOBIG;
        return 0;
    }
    if (call->result != 0) {
        if (*attempt < c->max_retries) {
            c->host->log(ORCHARD_LOG_INFO, PLUGIN, "dep: %s: no answer (%s); retry %d of %d",
                         what, call->error, *attempt + 1, c->max_retries);
            if (backoff(c, (*attempt)++))
                return 1;
        }
        res->status = ORCHARD_DEP_NETWORK;
        res->message = g_strdup_printf("Apple Business Manager did not answer %s (%s)", what,
                                       call->error[0] ? call->error
                                                      : c->host->strerror(call->result));
        *rc = ORCHARD_EIO;
        return 0;
    }
    /* An answer: a 5xx is retried, anything else is Apple's word. */
    if (call->status >= 500 && call->status < 600 && *attempt < c->max_retries) {
        c->host->log(ORCHARD_LOG_INFO, PLUGIN, "dep: %s: HTTP %d; retry %d of %d", what,
                     call->status, *attempt + 1, c->max_retries);
        if (backoff(c, (*attempt)++))
            return 1;
    }
    char ra[64];
    int have_ra = c->host->http_call_header(call, "retry-after", ra, sizeof ra) == 0;
    orchard_dep_parse_error(call->status, call->response_body, call->response_len,
                            have_ra ? ra : NULL, g_get_real_time() / G_USEC_PER_SEC, res);
    *rc = ORCHARD_EPROTO;
    return 0;
}

/* GET /session signed with the token: c->session, or res says why not. */
static int authenticate(orchard_dep_client *c, orchard_dep_result *res)
{
    g_autofree char *url = g_strconcat(c->base_url, "/session", NULL);
    const orchard_abm_token *t = c->token;
    const orchard_oauth_creds creds = {
        .consumer_key = t->consumer_key,
        .consumer_secret = t->consumer_secret,
        .token = t->access_token,
        .token_secret = t->access_secret,
    };
    int attempt = 0, rc = 0;
    wipe_free(c->session);
    c->session = NULL;
    for (;;) {
        char *oauth = NULL, *auth = NULL;
        /* A fresh nonce and timestamp per attempt: Apple refuses a used one. */
        if ((rc = orchard_oauth_header(&creds, "GET", url, 0, NULL, &oauth)) != 0) {
            res->status = ORCHARD_DEP_REFUSED;
            res->message = g_strdup_printf("the OAuth header for %s cannot be made (%s)", url,
                                           c->host->strerror(rc));
            return rc;
        }
        auth = g_strconcat("Authorization: ", oauth, NULL);
        wipe_free(oauth);
        orchard_http_call call;
        send_once(c, "GET", url, auth, NULL, &call);
        wipe_free(auth);
        int again = 0;
        if (call.result == 0 && call.status >= 200 && call.status < 300) {
            json_t *j = NULL;
            rc = orchard_dep_parse_reply(ORCHARD_DEP_REPLY_SESSION, call.response_body,
                                         call.response_len, &j, res);
            res->http_status = call.status;
            if (rc == 0)
                c->session = g_strdup(json_string_value(json_object_get(j, "auth_session_token")));
            json_decref(j);
        } else {
            again = failed_exchange(c, &call, "GET /session", &attempt, res, &rc);
        }
        if (call.response_body && call.response_len)
            OPENSSL_cleanse(call.response_body, call.response_len); /* the session */
        c->host->http_call_reset(&call);
        if (!again)
            break;
    }
    if (rc == ORCHARD_EPROTO && res->status == ORCHARD_DEP_UNAUTHORIZED) {
        /* Say it in the admin's terms: this is the token, not the session. */
        char *m = g_strdup_printf("Apple refused the ABM server token at GET /session (HTTP "
                                  "%d%s%s): the token was revoked or replaced in ABM, or "
                                  "orchard has the wrong one", res->http_status,
                                  res->apple_code ? " " : "",
                                  res->apple_code ? res->apple_code : "");
        g_free(res->message);
        res->message = m;
    }
    return rc;
}

/* The token's expiry passed: say so without calling Apple. */
static int token_expired(const orchard_dep_client *c, orchard_dep_result *res)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    if (c->token->expiry <= 0 || now < c->token->expiry)
        return 0;
    res->status = ORCHARD_DEP_TOKEN_EXPIRED;
    res->message = g_strdup_printf("the ABM server token expired on %s: download a new one "
                                   "from Apple Business Manager (mdm.apple_bm_server_token)",
                                   c->token->access_token_expiry ? c->token->access_token_expiry
                                                                 : "its expiry date");
    return 1;
}

/* One API call: `method path` with `body`, the answer read as `kind`. */
static int call_api(orchard_dep_client *c, const char *method, const char *path,
                    const char *body, orchard_dep_reply_kind kind, json_t **out,
                    orchard_dep_result *res)
{
    *out = NULL;
    orchard_dep_result_clear(res);
    if (token_expired(c, res))
        return ORCHARD_EPROTO;
    int rc = 0, fresh = 0, attempt = 0;
    if (!c->session) {
        if ((rc = authenticate(c, res)) != 0)
            return rc;
        fresh = 1;
    }
    g_autofree char *url = g_strconcat(c->base_url, path, NULL);
    g_autofree char *what = g_strdup_printf("%s %s", method, path);
    for (;;) {
        orchard_http_call call;
        send_once(c, method, url, NULL, body, &call);
        int again = 0;
        if (call.result == 0)
            take_session(c, &call);
        if (call.result == 0 && call.status >= 200 && call.status < 300) {
            rc = orchard_dep_parse_reply(kind, call.response_body, call.response_len, out, res);
            res->http_status = call.status;
        } else {
            again = failed_exchange(c, &call, what, &attempt, res, &rc);
            int stale = rc == ORCHARD_EPROTO &&
                        (res->http_status == 401 ||
                         (res->http_status == 403 && !g_strcmp0(res->apple_code, "FORBIDDEN")));
            if (stale && !fresh) {
                /* The session expired (or Apple forgot it): one new one, one retry. */
                c->host->log(ORCHARD_LOG_INFO, PLUGIN, "dep: %s: HTTP %d; taking a new session",
                             what, res->http_status);
                orchard_dep_result_clear(res);
                fresh = 1;
                if ((rc = authenticate(c, res)) == 0)
                    again = 1;
            }
        }
        c->host->http_call_reset(&call);
        if (!again)
            return rc;
        orchard_dep_result_clear(res);
    }
}

/* Arguments the client refuses before sending anything. */
static int refuse(orchard_dep_result *res, const char *why)
{
    orchard_dep_result_clear(res);
    res->status = ORCHARD_DEP_REFUSED;
    res->message = g_strdup_printf("not sent to Apple: %s", why);
    return ORCHARD_EINVAL;
}

/* A JSON array of serials, or NULL when one is not a plain serial. */
static json_t *serial_array(const char *const *serials, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *s = serials[i];
        size_t len = s ? strlen(s) : 0;
        int ok = len > 0 && len <= SERIAL_ARG_MAX;
        for (size_t k = 0; ok && k < len; k++)
            ok = (unsigned char)s[k] > 0x20 && (unsigned char)s[k] < 0x7f;
        if (!ok || json_array_append_new(a, json_string(s))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* json_dumps into a g_free'd string. */
static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    char *out = s ? g_strdup(s) : NULL;
    free(s);
    return out;
}

int orchard_dep_account(orchard_dep_client *c, json_t **account, orchard_dep_result *res)
{
    return call_api(c, "GET", "/account", NULL, ORCHARD_DEP_REPLY_ACCOUNT, account, res);
}

int orchard_dep_devices_page(orchard_dep_client *c, int sync, const char *cursor, int limit,
                             json_t **page, orchard_dep_result *res)
{
    *page = NULL;
    if (limit < 1 || limit > ORCHARD_DEP_PAGE_MAX)
        return refuse(res, "a page's limit is 1 to 1000");
    json_t *req = json_pack("{s:i}", "limit", limit);
    if (cursor && *cursor && json_object_set_new(req, "cursor", json_string(cursor))) {
        json_decref(req);
        return refuse(res, "the cursor is not UTF-8 text");
    }
    g_autofree char *body = dump(req);
    json_decref(req);
    return call_api(c, "POST", sync ? "/devices/sync" : "/server/devices", body,
                    ORCHARD_DEP_REPLY_PAGE, page, res);
}

int orchard_dep_profile_define(orchard_dep_client *c, const json_t *profile,
                               char **profile_uuid, orchard_dep_result *res)
{
    *profile_uuid = NULL;
    if (!json_is_object(profile))
        return refuse(res, "a DEP profile is a JSON object");
    g_autofree char *body = dump(profile);
    json_t *reply = NULL;
    int rc = call_api(c, "POST", "/profile", body, ORCHARD_DEP_REPLY_DEFINE, &reply, res);
    if (rc == 0)
        *profile_uuid = g_strdup(json_string_value(json_object_get(reply, "profile_uuid")));
    json_decref(reply);
    return rc;
}

int orchard_dep_profile_assign(orchard_dep_client *c, const char *profile_uuid,
                               const char *const *serials, size_t n, json_t **devices,
                               orchard_dep_result *res)
{
    *devices = NULL;
    if (!profile_uuid || !*profile_uuid || !g_utf8_validate(profile_uuid, -1, NULL))
        return refuse(res, "no profile UUID to assign");
    if (n == 0 || n > ORCHARD_DEP_PAGE_MAX)
        return refuse(res, "an assignment takes 1 to 1000 serials");
    json_t *list = serial_array(serials, n);
    if (!list)
        return refuse(res, "a serial number is empty, too long or not printable ASCII");
    json_t *req = json_pack("{s:s, s:o}", "profile_uuid", profile_uuid, "devices", list);
    g_autofree char *body = dump(req);
    json_decref(req);
    json_t *reply = NULL;
    int rc = call_api(c, "PUT", "/profile/devices", body, ORCHARD_DEP_REPLY_ASSIGN, &reply, res);
    if (rc == 0)
        *devices = json_incref(json_object_get(reply, "devices"));
    json_decref(reply);
    return rc;
}

int orchard_dep_device_details(orchard_dep_client *c, const char *const *serials, size_t n,
                               json_t **devices, orchard_dep_result *res)
{
    *devices = NULL;
    if (n == 0 || n > ORCHARD_DEP_PAGE_MAX)
        return refuse(res, "device details take 1 to 1000 serials");
    json_t *list = serial_array(serials, n);
    if (!list)
        return refuse(res, "a serial number is empty, too long or not printable ASCII");
    json_t *req = json_pack("{s:o}", "devices", list);
    g_autofree char *body = dump(req);
    json_decref(req);
    return call_api(c, "POST", "/devices", body, ORCHARD_DEP_REPLY_DETAILS, devices, res);
}

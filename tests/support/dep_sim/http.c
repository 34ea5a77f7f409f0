/* dep_sim's HTTP side on libmicrohttpd: read a request (body capped), hand
 * it to the service (service.c) or the controls (control.c), and send the
 * reply with Apple's headers. One log line per request with --log. */
#include "dep_sim.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

typedef struct upload {
    GString *body;
    int too_big;
} upload;

void depsim_reply_json(depsim_reply *r, unsigned status, json_t *j)
{
    r->status = status;
    r->body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    r->ctype = "application/json;charset=UTF8";
    json_decref(j);
}

/* Apple answers most errors with the bare code as the body (EXPIRED_CURSOR). */
void depsim_reply_text(depsim_reply *r, unsigned status, const char *code)
{
    r->status = status;
    r->body = strdup(code);
    r->ctype = "text/plain;charset=UTF8";
}

static depsim_ep endpoint_of(const char *method, const char *url)
{
    static const struct {
        const char *method, *path;
        depsim_ep ep;
    } routes[] = {
        {"GET", "/session", EP_SESSION},        {"GET", "/account", EP_ACCOUNT},
        {"POST", "/server/devices", EP_FETCH},   {"POST", "/devices/sync", EP_SYNC},
        {"POST", "/profile", EP_PROFILE},        {"PUT", "/profile/devices", EP_ASSIGN},
        {"POST", "/devices", EP_DETAILS},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(routes); i++)
        if (strcmp(url, routes[i].path) == 0 && strcmp(method, routes[i].method) == 0)
            return routes[i].ep;
    return EP_OTHER;
}

/* The URL the client signed: http://HOST[:PORT]/session, host lower-cased
 * and port 80 left out (RFC 5849 section 3.4.1.2). */
static char *signed_url(struct MHD_Connection *c, const char *path)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    g_autofree char *h = g_ascii_strdown(host ? host : "", -1);
    if (g_str_has_suffix(h, ":80"))
        h[strlen(h) - 3] = '\0';
    return g_strdup_printf("http://%s%s", h, path);
}

/* Query parameters, part of what OAuth signs (RFC 5849 section 3.4.1.3.1). */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    g_ptr_array_add(cls, g_strdup(key));
    g_ptr_array_add(cls, g_strdup(value ? value : ""));
    return MHD_YES;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, depsim_reply *r)
{
    size_t len = r->body ? strlen(r->body) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, r->body ? r->body : (char *)"",
                                        r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        g_free(r->new_session);
        return MHD_NO;
    }
    if (r->ctype)
        MHD_add_response_header(resp, "Content-Type", r->ctype);
    if (r->new_session)
        MHD_add_response_header(resp, "X-ADM-Auth-Session", r->new_session);
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result ok = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    g_free(r->new_session);
    return ok;
}

static void log_line(const char *method, const char *url, size_t in, const depsim_reply *r)
{
    if (!sim->log)
        return;
    fprintf(sim->log, "%s %s %zu -> %u %zu\n", method, url, in, r->status,
            r->body ? strlen(r->body) : 0);
    fflush(sim->log);
}

enum MHD_Result depsim_access(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls)
{
    (void)cls;
    (void)version;
    upload *u = *con_cls;
    if (!u) {
        u = g_new0(upload, 1);
        u->body = g_string_new(NULL);
        *con_cls = u;
        return MHD_YES;
    }
    if (*size) {
        if (u->body->len + *size > DEPSIM_BODY_MAX)
            u->too_big = 1;
        else
            g_string_append_len(u->body, data, (gssize)*size);
        *size = 0;
        return MHD_YES;
    }
    depsim_reply r = {0};
    if (u->too_big) {
        depsim_reply_text(&r, 413, "REQUEST_ENTITY_TOO_LARGE");
    } else if (g_str_has_prefix(url, "/_sim/")) {
        depsim_control(method, url + 6, u->body->str, u->body->len, &r);
    } else {
        depsim_ep ep = endpoint_of(method, url);
        const char *session = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-ADM-Auth-Session");
        const char *proto =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Server-Protocol-Version");
        if (ep == EP_SESSION) {
            g_autofree char *surl = signed_url(c, url);
            GPtrArray *query = g_ptr_array_new_with_free_func(g_free);
            MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, query);
            session = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
            depsim_serve(ep, surl, session, query, u->body->str, u->body->len, &r);
            g_ptr_array_free(query, TRUE);
        } else if (ep != EP_OTHER && !proto) {
            sim->calls[ep]++;
            depsim_reply_text(&r, 400, "X_SERVER_PROTOCOL_VERSION_REQUIRED");
        } else {
            depsim_serve(ep, url, session, NULL, u->body->str, u->body->len, &r);
        }
    }
    log_line(method, url, u->body->len, &r);
    return send_reply(c, &r);
}

void depsim_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload *u = *con_cls;
    if (u) {
        g_string_free(u->body, TRUE);
        g_free(u);
        *con_cls = NULL;
    }
}

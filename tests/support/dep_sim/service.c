/* Apple's Device Assignment calls: count the call, apply a failure a test
 * injected, take or check the session, rotate it on demand, then hand the
 * call to devices.c or profiles.c. GET /session and GET /account live here. */
#include "dep_sim.h"

#include <stdlib.h>
#include <string.h>

/* The next injected failure for `ep`, consumed; NULL when none. */
static depsim_rule *take_rule(depsim_ep ep)
{
    for (guint i = 0; i < sim->rules->len; i++) {
        depsim_rule *rule = g_ptr_array_index(sim->rules, i);
        if ((rule->ep == -1 || rule->ep == (int)ep) && rule->count > 0) {
            rule->count--;
            return rule;
        }
    }
    return NULL;
}

static void drop_spent_rules(void)
{
    for (guint i = sim->rules->len; i-- > 0;)
        if (((depsim_rule *)g_ptr_array_index(sim->rules, i))->count <= 0)
            g_ptr_array_remove_index(sim->rules, i);
}

static void throttled(depsim_reply *r, const depsim_rule *rule)
{
    json_t *j = json_pack("{s:s, s:s, s:i}", "code", "THROTTLED", "message",
                          "Too many requests: retry later", "retry_after_seconds",
                          rule->retry_after);
    if (rule->throttle_400) {
        depsim_reply_json(r, 400, j);
        return;
    }
    depsim_reply_json(r, 429, j);
    r->retry_after = rule->retry_after;
}

static void fail_as(depsim_reply *r, const depsim_rule *rule)
{
    const char *e = rule->error;
    if (strcmp(e, "THROTTLED") == 0)
        throttled(r, rule);
    else if (strcmp(e, "T_C_NOT_SIGNED") == 0)
        depsim_reply_text(r, 403, "T_C_NOT_SIGNED");
    else if (strcmp(e, "401") == 0 || strcmp(e, "UNAUTHORIZED") == 0)
        depsim_reply_text(r, 401, "UNAUTHORIZED");
    else if (strcmp(e, "403") == 0 || strcmp(e, "FORBIDDEN") == 0)
        depsim_reply_text(r, 403, "FORBIDDEN");
    else if (g_ascii_isdigit(e[0]) && atoi(e) >= 500 && atoi(e) <= 599)
        depsim_reply_text(r, (unsigned)atoi(e), "INTERNAL_SERVER_ERROR");
    else
        depsim_reply_text(r, 400, e); /* EXPIRED_CURSOR, INVALID_CURSOR, EXHAUSTED_CURSOR */
    if (strcmp(e, "THROTTLED") == 0 || rule->shape == 0)
        return;
    /* The same code in the JSON shapes clients meet too. */
    json_t *j = rule->shape == 1 ? json_string(r->body)
                                 : json_pack("{s:s, s:s}", "code", r->body, "message",
                                             "injected by dep_sim");
    unsigned status = r->status;
    free(r->body);
    depsim_reply_json(r, status, j);
}

static char *new_session(void)
{
    char hex[65];
    depsim_random_hex(hex, 32);
    char *token = g_strdup_printf("AAAA%s", hex);
    gint64 *expiry = g_new(gint64, 1);
    *expiry = depsim_now() + sim->opt.session_ttl;
    g_hash_table_insert(sim->sessions, g_strdup(token), expiry);
    sim->sessions_made++;
    return token;
}

static void session(const char *url, const char *auth, GPtrArray *query, depsim_reply *r)
{
    const char *why = NULL;
    if (depsim_oauth_check(auth, url, query, &why) != 0) {
        if (sim->log) {
            fprintf(sim->log, "GET /session refused: %s\n", why);
            fflush(sim->log);
        }
        depsim_reply_text(r, 401, "UNAUTHORIZED");
        return;
    }
    g_autofree char *token = new_session();
    depsim_reply_json(r, 200, json_pack("{s:s}", "auth_session_token", token));
}

/* 1 when `token` is a live session. */
static int session_live(const char *token)
{
    const gint64 *expiry = token ? g_hash_table_lookup(sim->sessions, token) : NULL;
    return expiry && *expiry > depsim_now();
}

static void account(depsim_reply *r)
{
    char uuid[33];
    GRand *g = g_rand_new_with_seed(sim->opt.seed ^ 0xACC0u); /* the same account per seed */
    for (int i = 0; i < 16; i++)
        snprintf(uuid + 2 * i, 3, "%02X", g_rand_int(g) & 0xFF);
    g_rand_free(g);
    char server_uuid[40];
    snprintf(server_uuid, sizeof server_uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", uuid, uuid + 8,
             uuid + 12, uuid + 16, uuid + 20);
    json_t *urls = json_array();
    static const char *const paths[][2] = {
        {"/account", "GET"},         {"/server/devices", "POST"}, {"/devices/sync", "POST"},
        {"/devices", "POST"},        {"/profile", "POST"},        {"/profile/devices", "PUT"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
        json_array_append_new(urls, json_pack("{s:s, s:[s], s:{s:i, s:i}}", "uri", paths[i][0],
                                              "http_method", paths[i][1], "limit", "default",
                                              DEPSIM_PAGE_DEFAULT, "maximum", DEPSIM_PAGE_MAX));
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
                          "server_name", "Orchard DEP simulator", "server_uuid", server_uuid,
                          "admin_id", "admin@example.com", "facilitator_id", "admin@example.com",
                          "org_name", "Example Inc", "org_email", "it@example.com", "org_phone",
                          "+1 555 0100", "org_address", "1 Example Way, Cupertino CA",
                          "org_type", "org", "org_version", "v2", "org_id", "1234567", "urls",
                          urls);
    depsim_reply_json(r, 200, j);
}

/* The body as a JSON object; an empty body is {}. NULL after a 400. */
static json_t *body_object(const char *body, size_t len, depsim_reply *r)
{
    if (len == 0)
        return json_object();
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        depsim_reply_text(r, 400, "MALFORMED_REQUEST_BODY");
        return NULL;
    }
    return j;
}

void depsim_serve(depsim_ep ep, const char *url, const char *auth, GPtrArray *query,
                  const char *body, size_t body_len, depsim_reply *r)
{
    sim->calls[ep]++;
    /* A slow Apple, on demand: a client killed mid-page, progress lines. The
     * one serving thread waits, as a busy service would keep it waiting. */
    if (sim->delay_ms[ep])
        g_usleep((gulong)sim->delay_ms[ep] * 1000);
    if (ep == EP_OTHER) {
        depsim_reply_text(r, 404, "NOT_FOUND");
        return;
    }
    depsim_rule *rule = take_rule(ep);
    if (rule) {
        fail_as(r, rule);
        drop_spent_rules();
        return;
    }
    if (ep == EP_SESSION) {
        session(url, auth, query, r);
        return;
    }
    if (!session_live(auth)) {
        depsim_reply_text(r, 401, "UNAUTHORIZED");
        return;
    }
    if (sim->rotate_left > 0) {
        /* Apple may hand out a new session on any reply; the old one ends. */
        sim->rotate_left--;
        g_hash_table_remove(sim->sessions, auth);
        r->new_session = new_session();
    }
    if (ep == EP_ACCOUNT) {
        account(r);
        return;
    }
    json_t *req = body_object(body, body_len, r);
    if (!req)
        return;
    switch (ep) {
    case EP_FETCH: depsim_devices_page(0, req, r); break;
    case EP_SYNC: depsim_devices_page(1, req, r); break;
    case EP_PROFILE: depsim_profile_define(req, r); break;
    case EP_ASSIGN: depsim_profile_assign(req, r); break;
    case EP_DETAILS: depsim_details(req, r); break;
    default: depsim_reply_text(r, 404, "NOT_FOUND"); break;
    }
    json_decref(req);
}

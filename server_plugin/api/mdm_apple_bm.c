/* The Apple Business Manager description (mdm_apple_bm.h): the token's
 * renew date from the configuration, Apple's account and the last sync from
 * the store, in one JSON object that the API answers and `get mdm-apple-bm`
 * prints. Apple's strings are kept as Apple sent them, only cut to length;
 * the text printer escapes control bytes. */
#include "server_plugin/api/mdm_apple_bm.h"

#include <string.h>

/* s as a JSON string of at most max bytes, cut where a UTF-8 character
 * starts (jansson hands us valid UTF-8); NULL is "". */
static json_t *cut(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n <= max)
        return json_string(s ? s : "");
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return json_stringn(s, n);
}

/* A string of Apple's (ORCHARD_BM_FIELD_MAX). */
static json_t *capped(const char *s) { return cut(s, ORCHARD_BM_FIELD_MAX); }

/* An account field that is a non-empty string, else NULL. */
static const char *account_str(json_t *account, const char *key)
{
    const char *v = json_string_value(json_object_get(account, key));
    return v && *v ? v : NULL;
}

/* RFC 3339 of a time in milliseconds, or null for 0 (unknown). */
static json_t *time_ms(gint64 ms)
{
    if (ms <= 0)
        return json_null();
    g_autofree char *s = orchard_mdm_format_utc(ms / 1000);
    return json_string(s);
}

static json_t *last_sync_json(const orchard_dep_run *r)
{
    if (r->id == 0)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "started_at", time_ms(r->started_at));
    json_object_set_new(o, "finished_at", time_ms(r->finished_at));
    json_object_set_new(o, "kind", capped(r->kind));
    json_object_set_new(o, "fetched", json_integer(r->fetched));
    json_object_set_new(o, "added", json_integer(r->added));
    json_object_set_new(o, "modified", json_integer(r->modified));
    json_object_set_new(o, "deleted", json_integer(r->deleted));
    json_object_set_new(o, "assigned", json_integer(r->assigned));
    json_object_set_new(o, "error_code", capped(r->error_code));
    /* The error is orchard's sentence around Apple's words: room for both. */
    json_object_set_new(o, "error", cut(r->error, 4 * ORCHARD_BM_FIELD_MAX));
    return o;
}

json_t *orchard_mdm_apple_bm_json(const orchard_mdm_config *cfg, const char *default_team,
                                  const orchard_dep_overview *st, gint64 now)
{
    gint64 days;
    gint64 expiry = cfg->bm_token->expiry;
    g_autofree char *at = orchard_mdm_format_utc(expiry);
    g_autofree char *url = cfg->url ? g_strconcat(cfg->url, "/mdm/apple/mdm", NULL) : NULL;
    const char *status = orchard_mdm_expiry_status(expiry, now, &days);
    json_t *account = st ? st->account : NULL;
    /* Fleet shows the account's administrator, or its facilitator (an
     * Apple partner that set the organization up) when there is none. */
    const char *apple_id = account_str(account, "admin_id");
    if (!apple_id)
        apple_id = account_str(account, "facilitator_id");
    int terms = st && st->last.id && g_strcmp0(st->last.error_code, "T_C_NOT_SIGNED") == 0;

    json_t *o = json_object();
    json_object_set_new(o, "apple_id", capped(apple_id));
    json_object_set_new(o, "org_name", capped(account_str(account, "org_name")));
    json_object_set_new(o, "mdm_server_url", json_string(url ? url : ""));
    /* RFC 3339, as Fleet's JSON has it; the text keeps "January 2, 2006". */
    json_object_set_new(o, "renew_date", json_string(at));
    json_object_set_new(o, "default_team", capped(default_team));
    json_object_set_new(o, "expires_at", json_string(at));
    json_object_set_new(o, "days_left", json_integer(days));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "synced", json_boolean(account != NULL));
    json_object_set_new(o, "account_at", time_ms(st ? st->account_at * 1000 : 0));
    json_object_set_new(o, "last_sync", st ? last_sync_json(&st->last) : json_null());
    json_object_set_new(o, "last_success_at", time_ms(st ? st->last_success_at : 0));
    json_object_set_new(o, "devices", json_integer(st ? st->devices : 0));
    json_object_set_new(o, "assigned", json_integer(st ? st->assigned : 0));
    json_object_set_new(o, "enrolled", json_integer(st ? st->enrolled : 0));
    json_object_set_new(o, "terms_not_signed", json_boolean(terms));
    if (terms)
        json_object_set_new(o, "terms_message", json_string(ORCHARD_BM_TERMS_MESSAGE));
    return o;
}

int orchard_mdm_apple_bm_describe(const orchard_host_api *host, const orchard_mdm_config *cfg,
                                  gint64 now, json_t **out)
{
    orchard_dep_overview st;
    *out = NULL;
    int rc = orchard_store_dep_overview(&st);
    if (rc)
        return rc;
    /* Read on each use: the setting needs no restart. */
    const char *team = host->config_get("mdm.apple_bm_default_team");
    *out = orchard_mdm_apple_bm_json(cfg, team, &st, now);
    orchard_dep_overview_clear(&st);
    return 0;
}

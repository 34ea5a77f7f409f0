/* The MDM settings page's data (mdm_settings_view.h): the admin API's
 * descriptions kept as they are, with the words and flags the template
 * needs beside them. No markup here: templates/mdm_settings*.html choose it. */
#include "server_plugin/web/mdm_settings_view.h"

#include "server_plugin/crypto/x509_util.h"

#include <string.h>

char *orchard_mdm_shell_word(const char *word)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789@%+=:,./_-";
    if (word && *word && strspn(word, plain) == strlen(word))
        return g_strdup(word);
    GString *s = g_string_new("'");
    for (const char *p = word ? word : ""; *p; p++) {
        if (*p == '\'')
            g_string_append(s, "'\\''");
        else
            g_string_append_c(s, *p);
    }
    g_string_append_c(s, '\'');
    return g_string_free(s, FALSE);
}

char *orchard_mdm_days_text(gint64 not_after, gint64 now)
{
    gint64 secs = not_after - now;
    if (secs <= 0) {
        gint64 ago = -secs / 86400;
        if (ago == 0)
            return g_strdup("expired less than a day ago");
        return g_strdup_printf("expired %" G_GINT64_FORMAT " day%s ago", ago, ago == 1 ? "" : "s");
    }
    gint64 left = secs / 86400; /* whole days, as orchard_mdm_expiry_status counts them */
    if (left == 0)
        return g_strdup("less than a day left");
    return g_strdup_printf("%" G_GINT64_FORMAT " day%s left", left, left == 1 ? "" : "s");
}

/* Unix seconds of an RFC 3339 member, or 0 when it is missing or malformed. */
static gint64 time_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    g_autoptr(GDateTime) dt = s ? g_date_time_new_from_iso8601(s, NULL) : NULL;
    return dt ? g_date_time_to_unix(dt) : 0;
}

/* "January 2, 2027" for an RFC 3339 member; "" when unknown. */
static json_t *date_text(json_t *o, const char *key)
{
    gint64 t = time_of(o, key);
    g_autofree char *s = t ? orchard_format_renew_date(t) : NULL;
    return json_string(s ? s : "");
}

/* "January 2, 2027 at 13:05 UTC" for an RFC 3339 member; "" when unknown. */
static json_t *moment_text(json_t *o, const char *key)
{
    gint64 t = time_of(o, key);
    g_autofree char *day = t ? orchard_format_renew_date(t) : NULL;
    g_autoptr(GDateTime) dt = t ? g_date_time_new_from_unix_utc(t) : NULL;
    if (!day || !dt)
        return json_string("");
    g_autofree char *s = g_strdup_printf("%s at %02d:%02d UTC", day, g_date_time_get_hour(dt),
                                         g_date_time_get_minute(dt));
    return json_string(s);
}

/* The expiry flags and words of a certificate's or token's description. */
static void add_expiry(json_t *to, json_t *desc, const char *end_key, gint64 now)
{
    const char *status = json_string_value(json_object_get(desc, "status"));
    g_autofree char *days = orchard_mdm_days_text(time_of(desc, end_key), now);
    json_object_set_new(to, "renew_date_text", date_text(desc, end_key));
    json_object_set_new(to, "days_text", json_string(days));
    json_object_set_new(to, "expiring", json_boolean(g_strcmp0(status, "expiring") == 0));
    json_object_set_new(to, "expired", json_boolean(g_strcmp0(status, "expired") == 0));
}

/* "--flag value" on a line of its own when value is set: the command is
 * long (paths), and one option a line reads on a phone too. */
static void add_option(GString *cmd, const char *flag, const char *value)
{
    if (!value)
        return;
    g_autofree char *w = orchard_mdm_shell_word(value);
    g_string_append_printf(cmd, " \\\n    %s %s", flag, w);
}

/* The renewal: the exact command, where its email and organization came
 * from, and which setting names the certificate to replace. */
static json_t *renewal(const orchard_mdm_settings_input *in)
{
    const orchard_mdm_renewal_who *who = in->who;
    const char *email = who && who->email ? who->email : NULL;
    const char *org = who && who->org ? who->org : NULL;
    GString *cmd = g_string_new("orchard generate mdm-apple --renew");
    /* --renew keeps the APNs key (the renewed certificate must match it)
     * and the SCEP CA every enrolled Mac's identity hangs off; naming the
     * configured files keeps exactly those, wherever the command runs. */
    add_option(cmd, "--email", email ? email : "<the email you used>");
    add_option(cmd, "--org", org ? org : "<the organization you used>");
    add_option(cmd, "--apns-key", in->apns_key_path);
    if (in->apns_key_path) {
        /* Beside the key, where the first one is looked for next time. */
        const char *key = in->apns_key_path;
        g_autofree char *dir = g_path_get_dirname(key);
        g_autofree char *stem = g_str_has_suffix(key, ".key")
                                    ? g_strndup(key, strlen(key) - 4) : NULL;
        g_autofree char *csr = stem ? g_strconcat(stem, ".csr", NULL)
                                    : g_build_filename(dir, "fleet-mdm-apple-apns.csr", NULL);
        add_option(cmd, "--apns-csr", csr);
    }
    if (in->scep_cert_path && in->scep_key_path) {
        add_option(cmd, "--scep-cert", in->scep_cert_path);
        add_option(cmd, "--scep-key", in->scep_key_path);
    }
    json_t *r = json_object();
    json_object_set_new(r, "command", json_string(cmd->str));
    g_string_free(cmd, TRUE);
    json_object_set_new(r, "known", json_boolean(email && org));
    if (who && who->source && (email || org))
        json_object_set_new(r, "source", json_string(who->source));
    json_object_set_new(r, "cert_setting", json_string(in->apns_cert_path ? "mdm.apple_apns_cert"
                                                       : "mdm.apple_apns_cert_bytes"));
    if (in->apns_cert_path)
        json_object_set_new(r, "cert_path", json_string(in->apns_cert_path));
    json_object_set_new(r, "key_inline", json_boolean(!in->apns_key_path));
    return r;
}

static json_t *apns_view(const orchard_mdm_settings_input *in)
{
    json_t *a = json_object();
    json_object_set_new(a, "configured", json_boolean(in->apns != NULL));
    json_object_set_new(a, "on", json_boolean(in->mdm_enabled && !in->config_error));
    if (!in->apns)
        return a;
    json_object_set_new(a, "cert", json_incref(in->apns));
    add_expiry(a, in->apns, "not_after", in->now);
    if (!in->mdm_enabled && in->mdm_off_reason)
        json_object_set_new(a, "off_reason", json_string(in->mdm_off_reason));
    json_object_set_new(a, "renew", renewal(in));
    return a;
}

/* The last sync with its outcome: ok, failed (Apple's words) or running. */
static json_t *last_sync_view(json_t *last)
{
    json_t *s = json_deep_copy(last);
    const char *code = json_string_value(json_object_get(last, "error_code"));
    const char *error = json_string_value(json_object_get(last, "error"));
    int finished = time_of(last, "finished_at") != 0;
    int failed = (code && *code) || (error && *error);
    json_object_set_new(s, "failed", json_boolean(failed));
    json_object_set_new(s, "ok", json_boolean(finished && !failed));
    /* A run without an end is running now, or was cut short. */
    json_object_set_new(s, "running", json_boolean(!finished && !failed));
    json_object_set_new(s, "when_text", finished ? moment_text(last, "finished_at")
                                                 : moment_text(last, "started_at"));
    return s;
}

static json_t *abm_view(const orchard_mdm_settings_input *in)
{
    json_t *b = in->bm ? json_deep_copy(in->bm) : json_object();
    json_object_set_new(b, "configured", json_boolean(in->bm_configured));
    json_object_set_new(b, "token_setting", json_string(in->bm_token_path
                                                            ? "mdm.apple_bm_server_token"
                                                            : "mdm.apple_bm_server_token_bytes"));
    if (in->bm_token_path)
        json_object_set_new(b, "token_path", json_string(in->bm_token_path));
    if (in->bm_error)
        json_object_set_new(b, "store_error", json_string(in->bm_error));
    if (!in->bm)
        return b;
    add_expiry(b, in->bm, "expires_at", in->now);
    json_t *last = json_object_get(in->bm, "last_sync");
    if (json_is_object(last))
        json_object_set_new(b, "last_sync", last_sync_view(last));
    json_object_set_new(b, "last_success_text", moment_text(in->bm, "last_success_at"));
    return b;
}

static json_t *instances_view(json_t *instances)
{
    json_t *i = json_deep_copy(instances);
    json_int_t n = json_integer_value(json_object_get(instances, "count"));
    json_object_set_new(i, "none", json_boolean(n == 0));
    json_object_set_new(i, "several", json_boolean(n > 1));
    return i;
}

json_t *orchard_mdm_settings_view(const orchard_mdm_settings_input *in)
{
    json_t *d = json_object();
    if (!d)
        return NULL;
    if (in->config_error)
        json_object_set_new(d, "config_error", json_string(in->config_error));
    json_object_set_new(d, "apns", apns_view(in));
    json_object_set_new(d, "abm", abm_view(in));
    if (json_is_object(in->instances))
        json_object_set_new(d, "instances", instances_view(in->instances));
    return d;
}

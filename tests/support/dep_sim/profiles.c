/* POST /profile (define an enrollment profile: Apple's JSON shape checked,
 * a profile_uuid handed out) and PUT /profile/devices (assign it to at most
 * 1000 serials, each answered SUCCESS, NOT_ACCESSIBLE or FAILED). */
#include "dep_sim.h"

#include <string.h>

/* Apple's profile keys and the JSON type each must have. Keys Apple does
 * not list are accepted (Apple adds keys over time). */
static const struct {
    const char *key;
    json_type type;
} KEYS[] = {
    {"profile_name", JSON_STRING},        {"url", JSON_STRING},
    {"allow_pairing", JSON_TRUE},         {"is_supervised", JSON_TRUE},
    {"is_multi_user", JSON_TRUE},         {"is_mandatory", JSON_TRUE},
    {"await_device_configured", JSON_TRUE}, {"is_mdm_removable", JSON_TRUE},
    {"auto_advance_setup", JSON_TRUE},    {"support_phone_number", JSON_STRING},
    {"support_email_address", JSON_STRING}, {"org_magic", JSON_STRING},
    {"department", JSON_STRING},          {"language", JSON_STRING},
    {"region", JSON_STRING},              {"configuration_web_url", JSON_STRING},
    {"anchor_certs", JSON_ARRAY},         {"supervising_host_certs", JSON_ARRAY},
    {"skip_setup_items", JSON_ARRAY},     {"devices", JSON_ARRAY},
};

/* NULL when `p` has Apple's shape; else what is wrong (for the log). */
static const char *profile_problem(json_t *p)
{
    for (size_t i = 0; i < G_N_ELEMENTS(KEYS); i++) {
        json_t *v = json_object_get(p, KEYS[i].key);
        if (!v)
            continue;
        int ok = KEYS[i].type == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == KEYS[i].type;
        if (!ok)
            return KEYS[i].key;
        if (KEYS[i].type == JSON_ARRAY) {
            size_t j;
            json_t *e;
            json_array_foreach(v, j, e) if (!json_is_string(e)) return KEYS[i].key;
        }
    }
    const char *name = json_string_value(json_object_get(p, "profile_name"));
    const char *url = json_string_value(json_object_get(p, "url"));
    if (!name || !*name)
        return "profile_name";
    if (!url || !(g_str_has_prefix(url, "https://") || g_str_has_prefix(url, "http://")))
        return "url";
    if (json_array_size(json_object_get(p, "devices")) > DEPSIM_PAGE_MAX)
        return "devices";
    return NULL;
}

/* Assign `uuid` to each serial: the per-serial results object. An
 * assignment is a change Apple reports as a "modified" op. */
static json_t *assign(const char *uuid, const char *const *serials, size_t n)
{
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        depsim_device *d = depsim_find(serials[i]);
        const char *res = "SUCCESS";
        if (!d || d->deleted) {
            res = "NOT_ACCESSIBLE";
        } else if (g_hash_table_contains(sim->assign_fail, serials[i])) {
            res = "FAILED";
        } else {
            g_free(d->profile_uuid);
            d->profile_uuid = g_strdup(uuid);
            g_free(d->profile_status);
            d->profile_status = g_strdup("assigned");
            d->profile_assign_time = depsim_now();
            guint idx = GPOINTER_TO_UINT(g_hash_table_lookup(sim->by_serial, d->serial)) - 1;
            depsim_op_add(idx, "modified");
        }
        json_object_set_new(out, serials[i], json_string(res));
    }
    return out;
}

static void log_refusal(const char *what, const char *field)
{
    if (sim->log) {
        fprintf(sim->log, "%s refused: bad or missing %s\n", what, field);
        fflush(sim->log);
    }
}

void depsim_profile_define(json_t *req, depsim_reply *r)
{
    const char *bad = profile_problem(req);
    if (bad) {
        log_refusal("POST /profile", bad);
        depsim_reply_text(r, 400, "MALFORMED_REQUEST_BODY");
        return;
    }
    char hex[33];
    depsim_random_hex(hex, 16);
    g_autofree char *uuid = g_ascii_strup(hex, -1); /* Apple's: 32 upper-case hex digits */
    json_t *devs = json_object_get(req, "devices");
    size_t n = json_array_size(devs);
    g_autofree const char **serials = n ? depsim_serials(req, &n) : NULL;
    json_t *results = assign(uuid, serials, serials ? n : 0);
    g_hash_table_replace(sim->profiles, g_strdup(uuid), json_incref(req));
    depsim_reply_json(r, 200, json_pack("{s:s, s:o}", "profile_uuid", uuid, "devices", results));
}

void depsim_profile_assign(json_t *req, depsim_reply *r)
{
    const char *uuid = json_string_value(json_object_get(req, "profile_uuid"));
    size_t n;
    g_autofree const char **serials = depsim_serials(req, &n);
    if (!uuid || !serials) {
        log_refusal("PUT /profile/devices", uuid ? "devices (1-1000 serials)" : "profile_uuid");
        depsim_reply_text(r, 400, "MALFORMED_REQUEST_BODY");
        return;
    }
    if (!g_hash_table_contains(sim->profiles, uuid)) {
        depsim_reply_text(r, 400, "PROFILE_NOT_FOUND");
        return;
    }
    json_t *results = assign(uuid, serials, n);
    depsim_reply_json(r, 200, json_pack("{s:s, s:o}", "profile_uuid", uuid, "devices", results));
}

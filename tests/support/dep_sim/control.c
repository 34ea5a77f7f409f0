/* The test controls under /_sim/ (no OAuth): change the account's devices
 * as ABM would over time, inject Apple's errors, expire cursors and
 * sessions, move the clock, read the state, reset. README.md lists them. */
#include "dep_sim.h"

#include <stddef.h>
#include <string.h>

static void ok(depsim_reply *r, json_t *extra)
{
    json_t *j = extra ? extra : json_object();
    json_object_set_new(j, "ok", json_true());
    depsim_reply_json(r, 200, j);
}

static void refuse(depsim_reply *r, const char *why)
{
    depsim_reply_json(r, 400, json_pack("{s:s}", "error", why));
}

static int ep_named(const char *name)
{
    if (!name || strcmp(name, "*") == 0)
        return -1;
    for (int i = 0; i < EP_OTHER; i++)
        if (strcmp(name, depsim_ep_names[i]) == 0)
            return i;
    return -2;
}

static void add(json_t *req, depsim_reply *r)
{
    json_t *added = json_array(), *devs = json_object_get(req, "devices");
    json_int_t count = json_integer_value(json_object_get(req, "count"));
    if (devs) {
        size_t i;
        json_t *d;
        if (!json_is_array(devs) || json_array_size(devs) > 100000)
            goto bad;
        json_array_foreach(devs, i, d) {
            const char *serial = json_string_value(json_object_get(d, "serial_number"));
            const char *model = json_string_value(json_object_get(d, "model"));
            if (!serial || !*serial || strlen(serial) >= DEPSIM_SERIAL_MAX)
                goto bad;
            if (depsim_add(serial, model))
                json_array_append_new(added, json_string(serial));
        }
    } else {
        if (count < 1 || count > 1000000)
            goto bad;
        for (json_int_t i = 0; i < count; i++) {
            depsim_device *d = depsim_add(NULL, NULL);
            if (d)
                json_array_append_new(added, json_string(d->serial));
        }
    }
    ok(r, json_pack("{s:o}", "added", added));
    return;
bad:
    json_decref(added);
    refuse(r, "devices/add takes {\"count\": N} or {\"devices\": [{\"serial_number\", \"model\"}]}");
}

/* Each known, live serial of req's "serials" gets `fn`; answers the ones done. */
static void each_serial(json_t *req, depsim_reply *r, void (*fn)(guint, depsim_device *, json_t *))
{
    json_t *serials = json_object_get(req, "serials"), *s;
    size_t i;
    if (!json_is_array(serials)) {
        refuse(r, "takes {\"serials\": [...]}");
        return;
    }
    json_t *done = json_array();
    json_array_foreach(serials, i, s) {
        depsim_device *d = json_is_string(s) ? depsim_find(json_string_value(s)) : NULL;
        if (!d || d->deleted)
            continue;
        fn(GPOINTER_TO_UINT(g_hash_table_lookup(sim->by_serial, d->serial)) - 1, d, req);
        json_array_append(done, s);
    }
    ok(r, json_pack("{s:o}", "changed", done));
}

static void modify_one(guint idx, depsim_device *d, json_t *req)
{
    static const size_t offsets[] = {
        offsetof(depsim_device, model),       offsetof(depsim_device, description),
        offsetof(depsim_device, color),       offsetof(depsim_device, os),
        offsetof(depsim_device, device_family), offsetof(depsim_device, profile_status),
        offsetof(depsim_device, device_assigned_by),
    };
    static const char *const names[] = {"model", "description", "color", "os", "device_family",
                                        "profile_status", "device_assigned_by"};
    json_t *set = json_object_get(req, "set");
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        const char *v = json_string_value(json_object_get(set, names[i]));
        if (v) {
            char **field = (char **)((char *)d + offsets[i]);
            g_free(*field);
            *field = g_strdup(v);
        }
    }
    depsim_op_add(idx, "modified");
}

static void delete_one(guint idx, depsim_device *d, json_t *req)
{
    (void)req;
    d->deleted = 1;
    depsim_op_add(idx, "deleted");
}

static void fail(json_t *req, depsim_reply *r)
{
    const char *err = json_string_value(json_object_get(req, "error"));
    int ep = ep_named(json_string_value(json_object_get(req, "endpoint")));
    json_t *jc = json_object_get(req, "count"), *jr = json_object_get(req, "retry_after");
    json_int_t count = jc ? json_integer_value(jc) : 1;
    json_int_t retry = jr ? json_integer_value(jr) : 1;
    json_int_t status = json_integer_value(json_object_get(req, "status"));
    const char *shape = json_string_value(json_object_get(req, "body"));
    int shape_n = !shape || !strcmp(shape, "text") ? 0 : !strcmp(shape, "string") ? 1
                : !strcmp(shape, "object") ? 2 : -1;
    static const char *const known[] = {"T_C_NOT_SIGNED", "THROTTLED",       "EXPIRED_CURSOR",
                                        "INVALID_CURSOR", "EXHAUSTED_CURSOR", "UNAUTHORIZED",
                                        "FORBIDDEN",      "401",             "403",
                                        "500",            "502",             "503"};
    int is_known = 0;
    for (size_t i = 0; err && i < G_N_ELEMENTS(known); i++)
        is_known |= strcmp(err, known[i]) == 0;
    if (!is_known || ep == -2 || count < 1 || count > 1000000 || retry < 0 || retry > 86400 ||
        (status && status != 400 && status != 429) || shape_n < 0 ||
        (json_object_get(req, "body") && !shape)) {
        refuse(r, "fail takes {\"endpoint\": session|account|fetch|sync|profile|assign|details|*, "
                  "\"error\": T_C_NOT_SIGNED|THROTTLED|EXPIRED_CURSOR|INVALID_CURSOR|"
                  "EXHAUSTED_CURSOR|401|403|500|502|503, \"count\": K, \"retry_after\": S, "
                  "\"status\": 429|400, \"body\": text|string|object}");
        return;
    }
    depsim_rule *rule = g_new0(depsim_rule, 1);
    *rule = (depsim_rule){.ep = ep, .error = g_strdup(err), .count = (int)count,
                          .retry_after = (int)retry, .throttle_400 = status == 400,
                          .shape = shape_n};
    g_ptr_array_add(sim->rules, rule);
    ok(r, NULL);
}

static void delay(json_t *req, depsim_reply *r)
{
    int ep = ep_named(json_string_value(json_object_get(req, "endpoint")));
    json_t *ms = json_object_get(req, "ms");
    if (ep == -2 || !json_is_integer(ms) || json_integer_value(ms) < 0 ||
        json_integer_value(ms) > DEPSIM_DELAY_MAX_MS) {
        refuse(r, "delay takes {\"endpoint\": session|account|fetch|sync|profile|assign|"
                  "details|*, \"ms\": 0-10000}");
        return;
    }
    for (int i = 0; i < EP_COUNT; i++)
        if (ep == -1 || ep == i)
            sim->delay_ms[i] = (guint)json_integer_value(ms);
    ok(r, NULL);
}

static json_t *page_calls(void)
{
    json_t *a = json_array();
    for (guint i = 0; i < sim->page_calls->len; i++)
        json_array_append(a, g_ptr_array_index(sim->page_calls, i));
    return json_pack("{s:o}", "calls", a);
}

static void fail_assign(json_t *req, depsim_reply *r)
{
    json_t *serials = json_object_get(req, "serials"), *s;
    size_t i;
    if (!json_is_array(serials)) {
        refuse(r, "fail_assign takes {\"serials\": [...]}");
        return;
    }
    json_array_foreach(serials, i, s) if (json_is_string(s))
        g_hash_table_add(sim->assign_fail, g_strdup(json_string_value(s)));
    ok(r, NULL);
}

static void clock_set(json_t *req, depsim_reply *r)
{
    json_t *off = json_object_get(req, "offset"), *adv = json_object_get(req, "advance");
    if ((!off == !adv) || !json_is_integer(off ? off : adv)) {
        refuse(r, "clock takes {\"offset\": seconds} or {\"advance\": seconds}");
        return;
    }
    sim->clock_offset = off ? json_integer_value(off) : sim->clock_offset + json_integer_value(adv);
    ok(r, json_pack("{s:I}", "clock_offset", (json_int_t)sim->clock_offset));
}

static json_t *state(int with_devices)
{
    char iso[32];
    depsim_iso(depsim_now(), iso);
    json_t *calls = json_object(), *j = json_object();
    for (int i = 0; i < EP_COUNT; i++)
        json_object_set_new(calls, depsim_ep_names[i], json_integer((json_int_t)sim->calls[i]));
    guint live = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, sim->sessions);
    while (g_hash_table_iter_next(&it, &k, &v))
        live += *(gint64 *)v > depsim_now();
    json_t *profiles = json_object();
    g_hash_table_iter_init(&it, sim->profiles);
    while (g_hash_table_iter_next(&it, &k, &v))
        json_object_set(profiles, k, v);
    json_object_set_new(j, "now", json_string(iso));
    json_object_set_new(j, "clock_offset", json_integer(sim->clock_offset));
    json_object_set_new(j, "calls", calls);
    json_object_set_new(j, "sessions_made", json_integer((json_int_t)sim->sessions_made));
    json_object_set_new(j, "sessions_live", json_integer(live));
    json_object_set_new(j, "ops", json_integer(sim->ops->len));
    json_object_set_new(j, "device_count", json_integer(sim->devices->len));
    json_object_set_new(j, "profiles", profiles);
    json_object_set_new(j, "rules_pending", json_integer(sim->rules->len));
    if (with_devices) {
        json_t *devs = json_array();
        for (guint i = 0; i < sim->devices->len; i++) {
            depsim_device *d = g_ptr_array_index(sim->devices, i);
            json_t *o = depsim_device_json(d, d->last_op_type, d->last_op_date);
            json_object_set_new(o, "deleted", json_boolean(d->deleted));
            json_array_append_new(devs, o);
        }
        json_object_set_new(j, "devices", devs);
    }
    return j;
}

void depsim_control(const char *method, const char *path, const char *body, size_t len,
                    depsim_reply *r)
{
    if (strcmp(method, "GET") == 0) {
        if (strcmp(path, "state") == 0 || strcmp(path, "stats") == 0)
            depsim_reply_json(r, 200, state(strcmp(path, "state") == 0));
        else if (strcmp(path, "calls") == 0)
            depsim_reply_json(r, 200, page_calls());
        else
            depsim_reply_json(r, 404, json_pack("{s:s}", "error", "no such control"));
        return;
    }
    json_t *req = len ? json_loadb(body, len, 0, NULL) : json_object();
    if (strcmp(method, "POST") != 0 || !json_is_object(req)) {
        json_decref(req);
        refuse(r, "controls are POST with a JSON object body (or GET state / stats / calls)");
        return;
    }
    if (strcmp(path, "devices/add") == 0)
        add(req, r);
    else if (strcmp(path, "devices/modify") == 0)
        each_serial(req, r, modify_one);
    else if (strcmp(path, "devices/delete") == 0)
        each_serial(req, r, delete_one);
    else if (strcmp(path, "fail") == 0)
        fail(req, r);
    else if (strcmp(path, "fail_assign") == 0)
        fail_assign(req, r);
    else if (strcmp(path, "delay") == 0)
        delay(req, r);
    else if (strcmp(path, "clear") == 0) {
        g_ptr_array_set_size(sim->rules, 0);
        g_hash_table_remove_all(sim->assign_fail);
        sim->rotate_left = 0;
        memset(sim->delay_ms, 0, sizeof sim->delay_ms);
        ok(r, NULL);
    } else if (strcmp(path, "expire_cursors") == 0) {
        sim->cursor_epoch++;
        ok(r, NULL);
    } else if (strcmp(path, "expire_sessions") == 0) {
        g_hash_table_remove_all(sim->sessions);
        ok(r, NULL);
    } else if (strcmp(path, "rotate_session") == 0) {
        json_t *c = json_object_get(req, "count");
        sim->rotate_left = c ? (int)CLAMP(json_integer_value(c), 0, 1000000) : 1;
        ok(r, NULL);
    } else if (strcmp(path, "clock") == 0)
        clock_set(req, r);
    else if (strcmp(path, "reset") == 0) {
        depsim_reset();
        ok(r, NULL);
    } else
        depsim_reply_json(r, 404, json_pack("{s:s}", "error", "no such control"));
    json_decref(req);
}

/* dep_sim's account: the devices assigned to the MDM server, the log of
 * changes /devices/sync pages through, the clock (real time plus an offset
 * tests set) and reset to the state --devices/--seed describe. */
#include "dep_sim.h"

#include <string.h>
#include <time.h>

depsim *sim;

const char *const depsim_ep_names[EP_COUNT] = {
    [EP_SESSION] = "session", [EP_ACCOUNT] = "account", [EP_FETCH] = "fetch",
    [EP_SYNC] = "sync",       [EP_PROFILE] = "profile", [EP_ASSIGN] = "assign",
    [EP_DETAILS] = "details", [EP_OTHER] = "other",
};

/* Models a Mac in ABM shows, cycled by index so a seed gives the same fleet. */
static const struct {
    const char *model, *description, *color;
} MODELS[] = {
    {"MacBook Pro 14\"", "MBP 14 SPB/12C CPU/18C GPU/18GB/512GB", "SPACE BLACK"},
    {"MacBook Air 13\"", "MBA 13 MDN/8C CPU/10C GPU/16GB/256GB", "MIDNIGHT"},
    {"Mac mini", "MAC MINI M4/10C CPU/10C GPU/16GB/512GB", "SILVER"},
    {"iMac 24\"", "IMAC 24 BLU/8C CPU/8C GPU/16GB/256GB", "BLUE"},
    {"Mac Studio", "MAC STUDIO M2 MAX/12C CPU/30C GPU/32GB/512GB", "SILVER"},
};

gint64 depsim_now(void)
{
    return (gint64)time(NULL) + sim->clock_offset;
}

/* Apple writes dates as "2013-12-31T20:40:31Z". */
void depsim_iso(gint64 t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void depsim_random_hex(char *out, size_t bytes)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < bytes; i++) {
        guint32 v = g_rand_int(sim->rng);
        out[2 * i] = hex[(v >> 4) & 15];
        out[2 * i + 1] = hex[v & 15];
    }
    out[2 * bytes] = '\0';
}

static void device_free(gpointer p)
{
    depsim_device *d = p;
    g_free(d->serial);
    g_free(d->model);
    g_free(d->description);
    g_free(d->color);
    g_free(d->os);
    g_free(d->device_family);
    g_free(d->profile_status);
    g_free(d->profile_uuid);
    g_free(d->device_assigned_by);
    g_free(d);
}

static void rule_free(gpointer p)
{
    depsim_rule *r = p;
    g_free(r->error);
    g_free(r);
}

depsim_device *depsim_find(const char *serial)
{
    guint i = GPOINTER_TO_UINT(g_hash_table_lookup(sim->by_serial, serial));
    return i ? g_ptr_array_index(sim->devices, i - 1) : NULL;
}

/* An op's date: never before the previous op, and strictly after the
 * device's own last op, so serial + op_type + op_date stays unique as Apple
 * promises and the log stays in op_date order. */
void depsim_op_add(guint device, const char *op_type)
{
    depsim_device *d = g_ptr_array_index(sim->devices, device);
    gint64 t = MAX(depsim_now(), sim->last_op_date);
    if (d->last_op_date && t <= d->last_op_date)
        t = d->last_op_date + 1;
    sim->last_op_date = t;
    d->last_op_type = (char *)op_type;
    d->last_op_date = t;
    depsim_op op = {.device = device, .op_type = op_type, .op_date = t};
    g_array_append_val(sim->ops, op);
}

depsim_device *depsim_add(const char *serial, const char *model)
{
    char gen[DEPSIM_SERIAL_MAX];
    unsigned index = sim->next_index;
    if (!serial) {
        /* mac_sim's serial (tests/support/mac_sim/mac_sim.h, orchard_macsim_serial),
         * so `mac_sim --seed S --first I` plays device I of this account. */
        snprintf(gen, sizeof gen, "SIM%03X%06u", sim->opt.seed & 0xFFFu, index % 1000000u);
        serial = gen;
        sim->next_index++;
    }
    if (depsim_find(serial))
        return NULL;
    unsigned m = index % G_N_ELEMENTS(MODELS);
    depsim_device *d = g_new0(depsim_device, 1);
    *d = (depsim_device){
        .serial = g_strdup(serial),
        .model = g_strdup(model ? model : MODELS[m].model),
        .description = g_strdup(MODELS[m].description),
        .color = g_strdup(MODELS[m].color),
        .os = g_strdup("OSX"),
        .device_family = g_strdup("Mac"),
        .profile_status = g_strdup("empty"),
        .device_assigned_date = depsim_now(),
        .device_assigned_by = g_strdup("purchasing@example.com"),
    };
    g_ptr_array_add(sim->devices, d);
    g_hash_table_insert(sim->by_serial, d->serial, GUINT_TO_POINTER(sim->devices->len));
    depsim_op_add(sim->devices->len - 1, "added");
    return d;
}

static void put_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new_nocheck(o, k, v ? json_string(v) : json_null());
}

static void put_date(json_t *o, const char *k, gint64 t)
{
    char iso[32];
    if (!t) {
        json_object_set_new_nocheck(o, k, json_null());
        return;
    }
    depsim_iso(t, iso);
    json_object_set_new_nocheck(o, k, json_string(iso));
}

json_t *depsim_device_json(const depsim_device *d, const char *op_type, gint64 op_date)
{
    json_t *o = json_object();
    put_str(o, "serial_number", d->serial);
    put_str(o, "model", d->model);
    put_str(o, "description", d->description);
    put_str(o, "color", d->color);
    put_str(o, "os", d->os);
    put_str(o, "device_family", d->device_family);
    put_str(o, "profile_status", d->profile_status);
    if (d->profile_uuid) {
        put_str(o, "profile_uuid", d->profile_uuid);
        put_date(o, "profile_assign_time", d->profile_assign_time);
    }
    put_date(o, "device_assigned_date", d->device_assigned_date);
    put_str(o, "device_assigned_by", d->device_assigned_by);
    put_str(o, "op_type", op_type);
    put_date(o, "op_date", op_date);
    return o;
}

void depsim_reset(void)
{
    if (sim->devices) {
        g_ptr_array_free(sim->devices, TRUE);
        g_hash_table_destroy(sim->by_serial);
        g_array_free(sim->ops, TRUE);
        g_hash_table_destroy(sim->sessions);
        g_hash_table_destroy(sim->nonces);
        g_hash_table_destroy(sim->profiles);
        g_ptr_array_free(sim->rules, TRUE);
        g_hash_table_destroy(sim->assign_fail);
        g_ptr_array_free(sim->page_calls, TRUE);
        g_rand_free(sim->rng);
    }
    sim->page_calls = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    memset(sim->delay_ms, 0, sizeof sim->delay_ms);
    sim->rng = g_rand_new_with_seed(sim->opt.seed);
    sim->clock_offset = 0;
    sim->devices = g_ptr_array_new_with_free_func(device_free);
    sim->by_serial = g_hash_table_new(g_str_hash, g_str_equal);
    sim->ops = g_array_new(FALSE, FALSE, sizeof(depsim_op));
    sim->last_op_date = 0;
    sim->next_index = 0;
    sim->sessions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    sim->nonces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    sim->profiles = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)json_decref);
    sim->rules = g_ptr_array_new_with_free_func(rule_free);
    sim->assign_fail = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (size_t i = 0; i < sizeof sim->cursor_key; i++)
        sim->cursor_key[i] = (unsigned char)g_rand_int(sim->rng);
    /* Cursors from before a reset must not read the new log: they expire. */
    sim->cursor_epoch++;
    sim->rotate_left = 0;
    memset(sim->calls, 0, sizeof sim->calls);
    sim->sessions_made = 0;
    /* The starting fleet was assigned a day ago, so a sync cursor taken now
     * sees none of it again. */
    sim->clock_offset = -86400;
    for (unsigned i = 0; i < sim->opt.devices; i++)
        depsim_add(NULL, NULL);
    sim->clock_offset = 0;
}

void depsim_free(void)
{
    if (!sim)
        return;
    if (sim->devices) {
        g_ptr_array_free(sim->devices, TRUE);
        g_hash_table_destroy(sim->by_serial);
        g_array_free(sim->ops, TRUE);
        g_hash_table_destroy(sim->sessions);
        g_hash_table_destroy(sim->nonces);
        g_hash_table_destroy(sim->profiles);
        g_ptr_array_free(sim->rules, TRUE);
        g_hash_table_destroy(sim->assign_fail);
        g_ptr_array_free(sim->page_calls, TRUE);
        g_rand_free(sim->rng);
    }
    if (sim->log)
        fclose(sim->log);
    g_free(sim->opt.consumer_key);
    g_free(sim->opt.consumer_secret);
    g_free(sim->opt.access_token);
    g_free(sim->opt.access_secret);
    g_free(sim);
    sim = NULL;
}

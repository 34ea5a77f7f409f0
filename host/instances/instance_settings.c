/* Settings fingerprints across instances (instances.h, ABI 1.4
 * instance_settings and instances_view): what this process published per
 * gate, its comparison with the reference instance's (the oldest live one
 * that published for the gate), the gate held with a 503 while they differ,
 * and the view `get mdm-apple` and `config check` read. */
#include "host/instances/instances.h"

#include "host/config.h"
#include "host/http/http_guard.h"
#include "host/instances/fingerprint.h"
#include "host/instances/instances_store.h"
#include "host/log.h"
#include "host/store/store.h"

#include <glib.h>
#include <string.h>

#define COMPONENT "instances"
#define GATE_MAX 64

typedef struct {
    char *json;     /* canonical */
    GHashTable *fp;
    uint32_t flags;
    int held;
    char *report;   /* the comparison last logged, to log only changes */
} publication;

static struct {
    GMutex lock;        /* pubs */
    GMutex refresh;     /* one comparison at a time: holds and logs follow their order */
    GHashTable *pubs;   /* gate -> publication* */
} P;

static void publication_free(gpointer p)
{
    publication *pub = p;
    g_free(pub->json);
    if (pub->fp)
        g_hash_table_unref(pub->fp);
    g_free(pub->report);
    g_free(pub);
}

static int gate_ok(const char *gate)
{
    size_t len = gate ? strnlen(gate, GATE_MAX + 1) : 0;
    if (len == 0 || len > GATE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_islower(gate[i]) && !g_ascii_isdigit(gate[i]) && !strchr("_.-", gate[i]))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Reading the store */

typedef struct {
    guint live;
    GPtrArray *entries; /* orchard_fingerprint_entry*, reference first */
} snapshot;

static void snapshot_clear(snapshot *s) { g_clear_pointer(&s->entries, g_ptr_array_unref); }

/* The live instances and their fingerprints for gate. A store where no
 * instance ever registered has no tables yet: that is no instance, not a
 * failure. */
static int read_snapshot(const char *gate, snapshot *s)
{
    orchard_store_tx *tx = NULL;
    g_autoptr(GPtrArray) live = NULL;
    int64_t since = orchard_instances_now_ms() - 2 * orchard_instances_lease_ms();
    int rc = orchard_store_begin(&tx, 0);

    *s = (snapshot){0};
    if (rc != 0)
        return rc;
    rc = orchard_instances_read_live(tx, since, &live);
    if (rc == 0)
        rc = orchard_instances_read_fingerprints(tx, gate, since, &s->entries);
    if (rc == ORCHARD_EINVAL) {
        orchard_debug(COMPONENT, "no instances in the store: %s", orchard_store_errmsg(tx));
        rc = 0;
    }
    orchard_store_rollback(tx);
    if (rc != 0) {
        snapshot_clear(s);
        return rc;
    }
    s->live = live ? live->len : 0;
    if (!s->entries)
        s->entries = g_ptr_array_new_with_free_func(orchard_fingerprint_entry_free);
    return 0;
}

/* Before serve registers this instance (the plugin publishes first), it
 * counts as the youngest: the instances already serving are the reference. */
static void add_self_if_missing(snapshot *s, const char *id, GHashTable *fp)
{
    for (guint i = 0; i < s->entries->len; i++)
        if (strcmp(((orchard_fingerprint_entry *)s->entries->pdata[i])->id, id) == 0)
            return;
    g_ptr_array_add(s->entries, orchard_fingerprint_entry_new(id, g_hash_table_ref(fp)));
}

/* ------------------------------------------------------------------------ */
/* Comparing and holding */

static char *hold_message(const char *gate, const char *keys, const char *ref)
{
    g_autofree char *upper = g_ascii_strup(gate, -1);
    return g_strdup_printf("this instance's %s settings differ from the other instances' (%s): "
                           "it does not serve these routes until they agree (the reference "
                           "instance is %s)", upper, keys, ref);
}

/* Log the comparison when it changed since the last one logged. */
static void report(publication *pub, const char *gate, const orchard_instances_view *v,
                   const char *ref_keys, int held)
{
    g_autofree char *now = g_strdup_printf("%d|%s|%s|%s", held, ref_keys, v->differing_keys,
                                           v->reference_id);
    if (pub->report && strcmp(pub->report, now) == 0)
        return;
    int first = pub->report == NULL;
    g_free(pub->report);
    pub->report = g_steal_pointer(&now);
    if (held)
        orchard_warn(COMPONENT, "gate %s: this instance's settings differ from the reference "
                     "instance %s's in: %s; its routes answer 503 until they agree", gate,
                     v->reference_id, ref_keys);
    else if (*ref_keys)
        orchard_warn(COMPONENT, "gate %s: this instance's settings differ from the reference "
                     "instance %s's in: %s; serving anyway (mixed settings allowed)", gate,
                     v->reference_id, ref_keys);
    else if (!v->agree)
        orchard_warn(COMPONENT, "gate %s: other live instances' settings differ from this "
                     "one's (the reference) in: %s; they answer 503 there", gate,
                     v->differing_keys);
    else if (!first)
        orchard_info(COMPONENT, "gate %s: the live instances' settings agree%s%s", gate,
                     v->reference_id[0] ? "; reference instance " : "", v->reference_id);
}

/* Compare gate's publication with the store's and hold or release the gate. */
static void refresh_gate(const char *gate)
{
    const char *id = orchard_instances_id();
    orchard_instances_view v = {.abi_version = ORCHARD_ABI_VERSION,
                                .struct_size = (uint32_t)sizeof v};
    char ref_keys[sizeof v.differing_keys] = "";
    snapshot s = {0};
    GHashTable *fp = NULL;
    uint32_t flags = 0;

    g_mutex_lock(&P.lock);
    publication *pub = P.pubs ? g_hash_table_lookup(P.pubs, gate) : NULL;
    if (pub) {
        fp = g_hash_table_ref(pub->fp);
        flags = pub->flags;
    }
    g_mutex_unlock(&P.lock);
    if (!fp)
        return;
    int rc = orchard_instances_store_configured() ? read_snapshot(gate, &s)
                                                  : ORCHARD_ENOTCONFIGURED;
    if (rc == 0) {
        add_self_if_missing(&s, id, fp);
        orchard_fingerprint_compare(s.entries, id, fp, &v, ref_keys, sizeof ref_keys);
    }
    snapshot_clear(&s);
    g_hash_table_unref(fp);
    if (rc != 0) { /* keep the hold as it is: the store will answer again */
        if (rc != ORCHARD_ENOTCONFIGURED)
            orchard_debug(COMPONENT, "gate %s: cannot compare settings now: %s", gate,
                          orchard_strerror(rc));
        return;
    }
    int held = ref_keys[0] && !(flags & ORCHARD_INSTANCE_ALLOW_MIXED);
    g_autofree char *msg = held ? hold_message(gate, ref_keys, v.reference_id) : NULL;
    orchard_http_gate_hold(gate, msg);
    g_mutex_lock(&P.lock);
    pub = P.pubs ? g_hash_table_lookup(P.pubs, gate) : NULL;
    if (pub) {
        pub->held = held;
        report(pub, gate, &v, ref_keys, held);
    }
    g_mutex_unlock(&P.lock);
}

void orchard_instance_settings_refresh(void)
{
    g_autoptr(GPtrArray) gates = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer k;

    g_mutex_lock(&P.lock);
    if (P.pubs) {
        g_hash_table_iter_init(&it, P.pubs);
        while (g_hash_table_iter_next(&it, &k, NULL))
            g_ptr_array_add(gates, g_strdup(k));
    }
    g_mutex_unlock(&P.lock);
    g_mutex_lock(&P.refresh);
    for (guint i = 0; i < gates->len; i++)
        refresh_gate(g_ptr_array_index(gates, i));
    g_mutex_unlock(&P.refresh);
}

/* ------------------------------------------------------------------------ */
/* Publishing */

int orchard_instance_settings_store(orchard_store_tx *tx, const char *id, int64_t now_ms)
{
    GHashTableIter it;
    gpointer k, v;
    int rc = 0;

    g_mutex_lock(&P.lock);
    if (P.pubs) {
        g_hash_table_iter_init(&it, P.pubs);
        while (rc == 0 && g_hash_table_iter_next(&it, &k, &v))
            rc = orchard_instance_fingerprint_put(tx, id, k, ((publication *)v)->json, now_ms);
    }
    g_mutex_unlock(&P.lock);
    return rc;
}

static int store_one(const char *gate, const char *json)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_instances_migrate();

    if (rc == 0)
        rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    rc = orchard_instance_fingerprint_put(tx, orchard_instances_id(), gate, json,
                                          orchard_instances_now_ms());
    if (rc != 0) {
        orchard_warn(COMPONENT, "cannot store the fingerprint for gate %s: %s", gate,
                     orchard_store_errmsg(tx));
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

int orchard_instance_settings(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                              uint32_t flags)
{
    GHashTable *fp = NULL;
    char *canonical = NULL;
    const char *why = NULL;
    int rc;

    (void)ctx;
    if (!gate_ok(gate))
        return ORCHARD_EINVAL;
    if ((rc = orchard_fingerprint_parse(fingerprint_json, &fp, &canonical, &why)) != 0) {
        orchard_warn(COMPONENT, "gate %s: a fingerprint was refused: %s", gate, why);
        return ORCHARD_EINVAL;
    }
    publication *pub = g_new0(publication, 1);
    pub->json = canonical;
    pub->fp = fp;
    pub->flags = flags;
    g_mutex_lock(&P.lock);
    if (!P.pubs)
        P.pubs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, publication_free);
    publication *old = g_hash_table_lookup(P.pubs, gate);
    if (old) /* the last comparison logged still stands until this one differs */
        pub->report = g_steal_pointer(&old->report);
    g_hash_table_insert(P.pubs, g_strdup(gate), pub);
    g_mutex_unlock(&P.lock);
    /* Outside serve nothing is stored; the comparison still runs, so a
     * plugin that publishes before serve listens is held from the start. */
    rc = orchard_instances_registered() ? store_one(gate, canonical) : 0;
    g_mutex_lock(&P.refresh);
    refresh_gate(gate);
    g_mutex_unlock(&P.refresh);
    return rc;
}

int orchard_instance_settings_held(void)
{
    GHashTableIter it;
    gpointer v;
    int held = 0;

    g_mutex_lock(&P.lock);
    if (P.pubs) {
        g_hash_table_iter_init(&it, P.pubs);
        while (!held && g_hash_table_iter_next(&it, NULL, &v))
            held = ((publication *)v)->held;
    }
    g_mutex_unlock(&P.lock);
    return held;
}

void orchard_instance_settings_forget(void)
{
    GHashTableIter it;
    gpointer k;

    g_mutex_lock(&P.refresh);
    g_mutex_lock(&P.lock);
    if (P.pubs) {
        g_hash_table_iter_init(&it, P.pubs);
        while (g_hash_table_iter_next(&it, &k, NULL))
            orchard_http_gate_hold(k, NULL);
    }
    g_clear_pointer(&P.pubs, g_hash_table_destroy);
    g_mutex_unlock(&P.lock);
    g_mutex_unlock(&P.refresh);
}

/* ------------------------------------------------------------------------ */
/* The view */

int orchard_instances_get(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                          orchard_instances_view *out)
{
    g_autoptr(GHashTable) given = NULL;
    snapshot s = {0};
    const char *why = NULL;
    int rc, registered = orchard_instances_registered();

    (void)ctx;
    if (!out || out->struct_size < sizeof *out || !gate_ok(gate))
        return ORCHARD_EINVAL;
    if (fingerprint_json && orchard_fingerprint_parse(fingerprint_json, &given, NULL, &why))
        return ORCHARD_EINVAL;
    if (!orchard_store_readable())
        return ORCHARD_ENOTCONFIGURED;
    if ((rc = read_snapshot(gate, &s)) != 0)
        return rc;
    uint32_t abi = out->abi_version, size = out->struct_size;
    *out = (orchard_instances_view){.abi_version = abi, .struct_size = size};
    char ref_keys[sizeof out->differing_keys];
    out->live = s.live;
    orchard_fingerprint_compare(s.entries, registered ? orchard_instances_id() : NULL, given, out,
                                ref_keys, sizeof ref_keys);
    snapshot_clear(&s);
    /* A given fingerprint (`config check`): would an instance with it be held? */
    if (given) {
        out->held = ref_keys[0] != '\0';
        return 0;
    }
    if (registered) {
        g_strlcpy(out->instance_id, orchard_instances_id(), sizeof out->instance_id);
        g_mutex_lock(&P.lock);
        publication *pub = P.pubs ? g_hash_table_lookup(P.pubs, gate) : NULL;
        out->held = pub ? pub->held : 0;
        g_mutex_unlock(&P.lock);
    }
    return 0;
}

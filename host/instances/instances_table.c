/* The instances table: the live `orchard serve` instances of the store,
 * the leases each holds and whether its settings agree with the reference
 * instance's, read in one snapshot. Reads only, like the jobs table.
 *
 *   select id, address, leases, settings_agree from instances;
 */
#include "instances.gen.h"

#include "host/config.h"
#include "host/instances/fingerprint.h"
#include "host/instances/instances.h"
#include "host/instances/instances_store.h"
#include "host/instances/leases.h"
#include "host/log.h"
#include "host/query/rows.h"
#include "host/store/store.h"

#include <glib.h>
#include <string.h>

#define COMPONENT "instances"

/* What one instance's row shows about settings, over every gate. */
typedef struct {
    int published; /* it published for some gate */
    int differs;
    GHashTable *keys; /* differing keys, a set */
} agreement;

static void agreement_free(gpointer p)
{
    agreement *a = p;
    g_hash_table_unref(a->keys);
    g_free(a);
}

static agreement *agreement_of(GHashTable *by_id, const char *id)
{
    agreement *a = g_hash_table_lookup(by_id, id);
    if (!a) {
        a = g_new0(agreement, 1);
        a->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert(by_id, g_strdup(id), a);
    }
    return a;
}

/* Each instance against each gate's reference (entries[0]). */
static int compare_gates(orchard_store_tx *tx, int64_t since, GHashTable *by_id)
{
    g_autoptr(GPtrArray) gates = NULL;
    int rc = orchard_instances_read_gates(tx, since, &gates);

    for (guint g = 0; rc == 0 && g < gates->len; g++) {
        g_autoptr(GPtrArray) entries = NULL;
        rc = orchard_instances_read_fingerprints(tx, gates->pdata[g], since, &entries);
        for (guint i = 0; rc == 0 && i < entries->len; i++) {
            const orchard_fingerprint_entry *e = entries->pdata[i], *ref = entries->pdata[0];
            agreement *a = agreement_of(by_id, e->id);
            a->published = 1;
            if (orchard_fingerprint_diff(e->fp, ref->fp, a->keys))
                a->differs = 1;
        }
    }
    return rc;
}

static int add_row(orchard_rows *rows, const orchard_instance_row *r, const char *leases,
                   const agreement *a)
{
    char keys[512] = "";
    g_autofree char *started = g_strdup_printf("%" G_GINT64_FORMAT, r->started_at / 1000);
    g_autofree char *beat = g_strdup_printf("%" G_GINT64_FORMAT, r->last_heartbeat / 1000);
    int self = orchard_instances_registered() && strcmp(r->id, orchard_instances_id()) == 0;

    if (a)
        orchard_fingerprint_join(a->keys, keys, sizeof keys);
    const char *values[INSTANCES_N_COLUMNS] = {
        [INSTANCES_COL_ID] = r->id,
        [INSTANCES_COL_ADDRESS] = r->address,
        [INSTANCES_COL_VERSION] = r->version,
        [INSTANCES_COL_STARTED_AT] = started,
        [INSTANCES_COL_LAST_HEARTBEAT] = beat,
        [INSTANCES_COL_LEASES] = leases ? leases : "",
        [INSTANCES_COL_SETTINGS_AGREE] = !a || !a->published ? NULL : a->differs ? "0" : "1",
        [INSTANCES_COL_DIFFERING_KEYS] = keys,
        [INSTANCES_COL_THIS_INSTANCE] = self ? "1" : "0",
    };
    return orchard_rows_add(rows, values, INSTANCES_N_COLUMNS);
}

int instances_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                       void *payload)
{
    g_autoptr(GPtrArray) live = NULL;
    g_autoptr(GHashTable) by_id =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, agreement_free);
    orchard_store_tx *tx = NULL;
    int64_t now = orchard_instances_now_ms();
    int64_t since = now - 2 * orchard_instances_lease_ms();
    int rc;

    (void)ctx;
    (void)query;
    (void)payload;
    if (!orchard_store_readable() || orchard_store_begin(&tx, 0) != 0)
        return 0; /* no store: no instances */
    rc = orchard_instances_read_live(tx, since, &live);
    if (rc == 0)
        rc = compare_gates(tx, since, by_id);
    for (guint i = 0; rc == 0 && i < live->len; i++) {
        const orchard_instance_row *r = live->pdata[i];
        g_autofree char *leases = NULL;
        if ((rc = orchard_lease_names(tx, r->id, now, &leases)) == 0)
            rc = add_row(rows, r, leases, g_hash_table_lookup(by_id, r->id));
    }
    /* No tables yet is the common case (no instance ever served here). */
    if (rc < 0 && rc != ORCHARD_ENOMEM)
        orchard_debug(COMPONENT, "no instances from the store: %s", orchard_store_errmsg(tx));
    orchard_store_rollback(tx);
    return rc == ORCHARD_ENOMEM ? rc : 0;
}

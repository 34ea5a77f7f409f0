/* The instances' rows in the store (owner "orchard-instances"): one row
 * per live `orchard serve` with its heartbeat, the fingerprints each
 * published per gate, and the leases table leases.c uses. Times are Unix
 * milliseconds by each writer's own clock. Internal to host/instances/. */
#ifndef ORCHARD_HOST_INSTANCES_STORE_H
#define ORCHARD_HOST_INSTANCES_STORE_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stdint.h>

/** 1 when a store is configured or open (store calls would not fail with ENOTCONFIGURED). */
int orchard_instances_store_configured(void);

/**
 * Create or update the three tables (orchard_store_migrate2). Returns 0,
 * ORCHARD_ENOTCONFIGURED (no store: nothing done), or a store code.
 */
int orchard_instances_migrate(void);

/** Insert or replace instance `id`'s row, in write transaction tx. */
int orchard_instance_row_put(orchard_store_tx *tx, const char *id, const char *address,
                             const char *version, int64_t started_at, int64_t now_ms);
/** Refresh id's heartbeat; 1 when its row was there, 0 when it was gone, or a store code. */
int orchard_instance_row_beat(orchard_store_tx *tx, const char *id, int64_t now_ms);
/** Delete id's row and fingerprints. */
int orchard_instance_row_delete(orchard_store_tx *tx, const char *id);
/** Delete the rows (and fingerprints) whose heartbeat is older than before_ms. */
int orchard_instances_reap(orchard_store_tx *tx, int64_t before_ms);
/** Store id's fingerprint (canonical JSON) for gate, replacing the last one. */
int orchard_instance_fingerprint_put(orchard_store_tx *tx, const char *id, const char *gate,
                                     const char *json, int64_t now_ms);

typedef struct orchard_instance_row {
    char *id;
    char *address;
    char *version;
    int64_t started_at;
    int64_t last_heartbeat;
} orchard_instance_row;

void orchard_instance_row_free(orchard_instance_row *row);

/**
 * The live instances (heartbeat at or after since_ms), oldest start first,
 * ties by id, in read transaction tx: a GPtrArray of orchard_instance_row*
 * that frees them, in *out (NULL on failure).
 */
int orchard_instances_read_live(orchard_store_tx *tx, int64_t since_ms, GPtrArray **out);

/**
 * The fingerprints the live instances published for gate, in the same
 * order: a GPtrArray of orchard_fingerprint_entry* (fingerprint.h) that
 * frees them, in *out. A row that does not parse is left out (logged at
 * debug level): a hostile or broken row must not hold every instance.
 */
int orchard_instances_read_fingerprints(orchard_store_tx *tx, const char *gate, int64_t since_ms,
                                        GPtrArray **out);

/** Every gate any live instance published for (g_free'd strings), in *out. */
int orchard_instances_read_gates(orchard_store_tx *tx, int64_t since_ms, GPtrArray **out);

#endif

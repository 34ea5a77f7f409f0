/* Job leases in the store (table orchard_leases): of several instances on
 * one store, the holder of a job's lease is the one that runs it. A lease
 * is sticky: its holder renews every lease it holds on each heartbeat
 * (instances.c), so it keeps the job while it lives, and another instance
 * takes it once it has not been renewed for the lease time. Every function
 * takes the holder and the clock from its caller, so tests play several
 * instances with a clock of their own on one store. */
#ifndef ORCHARD_HOST_LEASES_H
#define ORCHARD_HOST_LEASES_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stdint.h>

/**
 * Take lease `name` for `holder` until now_ms + ttl_ms when it is free,
 * expired (expires_at < now_ms) or already holder's. A read answers
 * without writing when it can: another holder's live lease (0), or
 * holder's own with at least half of ttl_ms to go (1, not extended: the
 * heartbeat renews it). Returns 1 (held), 0
 * (another holder has it), or a negative store code (ORCHARD_EBUSY,
 * ORCHARD_EIO...). The schema must exist (orchard_instances_migrate).
 */
int orchard_lease_acquire(const char *name, const char *holder, int64_t now_ms, int64_t ttl_ms);

/**
 * Push every lease `holder` still holds to now_ms + ttl_ms (the heartbeat),
 * in the caller's write transaction. Returns how many, or a store code.
 */
int orchard_lease_renew_all(orchard_store_tx *tx, const char *holder, int64_t now_ms,
                            int64_t ttl_ms);

/** Give back every lease of `holder` (a clean stop), in `tx`. Returns 0 or a store code. */
int orchard_lease_release_all(orchard_store_tx *tx, const char *holder);

/**
 * The names of the leases `holder` holds at now_ms, sorted and
 * comma-separated, in read transaction `tx`. Returns 0 with *names
 * (g_free; "" when none) or a store code with *names NULL.
 */
int orchard_lease_names(orchard_store_tx *tx, const char *holder, int64_t now_ms, char **names);

/** The holder of lease `name` at now_ms (g_free), or NULL when none or on error. */
char *orchard_lease_holder(const char *name, int64_t now_ms);

#endif

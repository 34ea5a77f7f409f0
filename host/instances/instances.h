/* Instances: several `orchard serve` processes on one store acting as one
 * server (ABI 1.4, include/orchard/plugin.h). Each serving instance has a
 * row in the store with a heartbeat; ORCHARD_JOB_ONE_INSTANCE jobs run only
 * on the holder of their lease; plugins publish settings fingerprints per
 * gate, and an instance whose fingerprint differs from the reference
 * instance's answers 503 on that gate's routes. */
#ifndef ORCHARD_HOST_INSTANCES_H
#define ORCHARD_HOST_INSTANCES_H

#include <orchard/plugin.h>

#include <stddef.h>
#include <stdint.h>

/** host_api.instance_settings */
int orchard_instance_settings(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                              uint32_t flags);
/**
 * host_api.instances_view. With a fingerprint (`config check`), held says
 * whether an instance publishing it would be held (it differs from the
 * reference's; mixed settings are the caller's to weigh), and
 * differing_keys are the keys in which it differs from the reference's.
 */
int orchard_instances_get(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                           orchard_instances_view *out);

/* ---- the registry (instances.c), driven by `orchard serve` (http_serve.c) ---- */

/**
 * server.lease_duration (declared by the core plugin): how long a job lease
 * lasts without renewal, and so how soon another instance takes over from
 * one that died; heartbeats come every third of it, and an instance
 * silent for twice it is dropped. 3s..10m, default 15s.
 */
extern const orchard_setting orchard_setting_server_lease_duration;
#define ORCHARD_LEASE_DEFAULT_MS 15000
#define ORCHARD_LEASE_MIN_MS 3000
#define ORCHARD_LEASE_MAX_MS 600000

/**
 * Register this process as an instance listening at `address` (the URL
 * serve listens on), start its heartbeat thread and install the jobs' lease
 * hook. Returns 0; ORCHARD_ENOTCONFIGURED when no store is configured
 * (nothing done: one instance, jobs run as before); ORCHARD_EEXIST when
 * started already. A store that fails now is retried on each heartbeat
 * (logged); meanwhile one-instance jobs do not run here.
 */
int orchard_instances_start(const char *address);

/**
 * Stop the heartbeat, give back this instance's leases and delete its row
 * and fingerprints (another instance takes the jobs at once), remove the
 * lease hook and release the gates held. Safe when not started.
 */
void orchard_instances_stop(void);

/** This process's instance id ("<host>-<pid>-<4 hex>", at most 63 chars), made on first use. */
const char *orchard_instances_id(void);

/** 1 between a successful orchard_instances_start and its stop. */
int orchard_instances_registered(void);

/** The lease time in milliseconds (server.lease_duration, checked; the default when bad). */
int64_t orchard_instances_lease_ms(void);

/** One heartbeat now, on this thread (the thread's work; tests call it). */
void orchard_instances_heartbeat(void);

/** Now, in Unix milliseconds: the clock every row of the instances' tables uses. */
int64_t orchard_instances_now_ms(void);

/* ---- the published fingerprints (instance_settings.c) ---- */

/**
 * Write every fingerprint published in this process to the store as
 * instance `id`'s, in write transaction tx (at registration, and when the
 * row had to be made again). Returns 0 or a store code.
 */
int orchard_instance_settings_store(orchard_store_tx *tx, const char *id, int64_t now_ms);

/** Compare every published fingerprint again and hold or release its gate (each heartbeat). */
void orchard_instance_settings_refresh(void);

/** Release every gate held and forget what was published (serve stopped). */
void orchard_instance_settings_forget(void);

/**
 * 1 while a gate of this instance is held: it then takes no job lease and
 * renews none (its settings may be wrong for the jobs too: another APNs
 * certificate), so the instances that agree run them.
 */
int orchard_instance_settings_held(void);

#endif

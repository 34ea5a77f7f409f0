/* Instances: several `orchard serve` processes on one store acting as one
 * server (ABI 1.4, include/orchard/plugin.h). Each serving instance has a
 * row in the store with a heartbeat; ORCHARD_JOB_ONE_INSTANCE jobs run only
 * on the holder of their lease; plugins publish settings fingerprints per
 * gate, and an instance whose fingerprint differs from the reference
 * instance's answers 503 on that gate's routes. */
#ifndef ORCHARD_HOST_INSTANCES_H
#define ORCHARD_HOST_INSTANCES_H

#include <orchard/plugin.h>

/** host_api.instance_settings */
int orchard_instance_settings(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                              uint32_t flags);
/** host_api.instances_view */
int orchard_instances_get(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                           orchard_instances_view *out);

#endif

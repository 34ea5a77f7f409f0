/* Placeholder until the instances registry lands (issue 11, in progress):
 * nothing is published or compared yet. */
#include "host/instances/instances.h"

int orchard_instance_settings(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                              uint32_t flags)
{
    (void)ctx, (void)gate, (void)fingerprint_json, (void)flags;
    return ORCHARD_ENOTCONFIGURED;
}

int orchard_instances_get(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                           orchard_instances_view *out)
{
    (void)ctx, (void)gate, (void)fingerprint_json, (void)out;
    return ORCHARD_ENOTCONFIGURED;
}

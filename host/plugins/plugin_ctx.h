/* Each loaded plugin's context (orchard_ctx, ABI 1.2): its name for log
 * lines, the state it hangs off the context, and the failure message a
 * callback leaves with host->fail, which the host shows where the caller
 * looks. Also the one place that calls a plugin's callbacks, in the 1.2
 * form when the plugin set it and the v1 form otherwise. */
#ifndef ORCHARD_PLUGIN_CTX_H
#define ORCHARD_PLUGIN_CTX_H

#include <orchard/plugin.h>

#include <stdarg.h>

struct orchard_ctx {
    const orchard_plugin *plugin; /* NULL for the host's own context */
    const char *name;             /* borrowed from the plugin, or "orchard" */
    void *data;
};

/** A context for `plugin` (orchard_ctx_free when the plugin is gone). */
orchard_ctx *orchard_ctx_new(const orchard_plugin *plugin);

/**
 * Forget what the host keeps on behalf of `ctx` (its event subscriptions,
 * the authenticator it registered, the settings it declared) and free it,
 * so nothing in the host points at a freed context. NULL is fine.
 */
void orchard_ctx_free(orchard_ctx *ctx);

/** The host's own context, for what the host publishes or runs itself. */
orchard_ctx *orchard_ctx_host(void);

/* The host API's context functions (orchard_host_api.ctx_*, fail). */
const char *orchard_ctx_name(const orchard_ctx *ctx);
void orchard_ctx_set_data(orchard_ctx *ctx, void *data);
void *orchard_ctx_data(const orchard_ctx *ctx);
void orchard_ctx_log(orchard_ctx *ctx, int level, const char *fmt, ...) ORCHARD_PRINTF(3, 4);
int orchard_ctx_fail(orchard_ctx *ctx, int code, const char *fmt, ...) ORCHARD_PRINTF(3, 4);

/**
 * The message the last host->fail on this thread left (borrowed until the
 * next fail or clear on this thread), or NULL. The callers below clear it
 * before each callback.
 */
const char *orchard_ctx_failure(void);
void orchard_ctx_clear_failure(void);

/* Calling a plugin: each clears the thread's failure message first, then
 * calls the 1.2 form with `ctx` when the struct has it, else the v1 form. */
int orchard_call_generate(orchard_ctx *ctx, const orchard_table *t, const orchard_query_ctx *q,
                          orchard_rows *rows);
int orchard_call_command(orchard_ctx *ctx, const orchard_command *c, int argc, char **argv);
int orchard_call_route(orchard_ctx *ctx, const orchard_route *r, const orchard_http_request *req,
                       orchard_http_response *resp);
int orchard_call_job(orchard_ctx *ctx, const orchard_job *j);

/* Fields appended in 1.2, read safely from a struct of any 1.x writer. */
uint32_t orchard_route_guard_of(const orchard_route *r);
/** The route's flags (1.5; 0 for an older route). */
uint32_t orchard_route_flags_of(const orchard_route *r);
const char *orchard_route_gate_of(const orchard_route *r);
uint32_t orchard_job_first_run_of(const orchard_job *j);
uint32_t orchard_job_jitter_of(const orchard_job *j);
uint32_t orchard_job_deadline_of(const orchard_job *j); /* 300 when unset */
uint32_t orchard_job_flags_of(const orchard_job *j);

#endif

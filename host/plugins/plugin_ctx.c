/* Plugin contexts and the calls into plugins (plugin_ctx.h). The failure
 * message of host->fail is per thread: a callback runs on one thread from
 * start to return, and several run at once on different threads. */
#include "host/plugins/plugin_ctx.h"

#include "host/events/events.h"
#include "host/http/http_guard.h"
#include "host/log.h"
#include "host/query/rows.h"
#include "host/settings.h"

#include <glib.h>
#include <stdio.h>

#define V(type, field) ORCHARD_HAS_FIELD(x, type, field)

static orchard_ctx host_ctx = {.plugin = NULL, .name = "orchard", .data = NULL};

/* The thread's last failure message; freed by the GPrivate's destructor. */
static GPrivate failure = G_PRIVATE_INIT(g_free);

orchard_ctx *orchard_ctx_new(const orchard_plugin *plugin)
{
    orchard_ctx *ctx = g_new0(orchard_ctx, 1);
    ctx->plugin = plugin;
    ctx->name = plugin && plugin->name ? plugin->name : "(unnamed)";
    return ctx;
}

void orchard_ctx_free(orchard_ctx *ctx)
{
    if (!ctx || ctx == &host_ctx)
        return;
    orchard_events_forget(ctx);
    orchard_http_guard_forget(ctx);
    orchard_settings_forget_owner(ctx);
    g_free(ctx);
}

orchard_ctx *orchard_ctx_host(void) { return &host_ctx; }

const char *orchard_ctx_name(const orchard_ctx *ctx) { return ctx ? ctx->name : "orchard"; }

void orchard_ctx_set_data(orchard_ctx *ctx, void *data)
{
    if (ctx)
        ctx->data = data;
}

void *orchard_ctx_data(const orchard_ctx *ctx) { return ctx ? ctx->data : NULL; }

void orchard_ctx_log(orchard_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orchard_logv(level, orchard_ctx_name(ctx), fmt, ap);
    va_end(ap);
}

int orchard_ctx_fail(orchard_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    (void)ctx;
    va_start(ap, fmt);
    g_private_replace(&failure, g_strdup_vprintf(fmt, ap));
    va_end(ap);
    return code;
}

const char *orchard_ctx_failure(void) { return g_private_get(&failure); }

void orchard_ctx_clear_failure(void) { g_private_replace(&failure, NULL); }

/* ------------------------------------------------------------------------ */
/* Calls */

int orchard_call_generate(orchard_ctx *ctx, const orchard_table *t, const orchard_query_ctx *q,
                          orchard_rows *rows)
{
    const orchard_table *x = t;
    int rc;

    orchard_ctx_clear_failure();
    if (V(orchard_table, generate2) && t->generate2)
        rc = t->generate2(ctx ? ctx : &host_ctx, q, rows, t->payload);
    else
        rc = t->generate(q, rows, t->payload);
    if (rc < 0 && !orchard_rows_error(rows) && orchard_ctx_failure())
        orchard_rows_fail(rows, "%s", orchard_ctx_failure());
    return rc;
}

int orchard_call_command(orchard_ctx *ctx, const orchard_command *c, int argc, char **argv)
{
    const orchard_command *x = c;
    int rc;

    orchard_ctx_clear_failure();
    if (V(orchard_command, run2) && c->run2)
        rc = c->run2(ctx ? ctx : &host_ctx, argc, argv, c->payload);
    else
        rc = c->run(argc, argv, c->payload);
    if (rc != 0 && orchard_ctx_failure()) {
        fprintf(stderr, "orchard %s: %s\n", c->name, orchard_ctx_failure());
        orchard_ctx_clear_failure();
    }
    return rc;
}

int orchard_call_route(orchard_ctx *ctx, const orchard_route *r, const orchard_http_request *req,
                       orchard_http_response *resp)
{
    const orchard_route *x = r;

    orchard_ctx_clear_failure();
    if (V(orchard_route, handle2) && r->handle2)
        return r->handle2(ctx ? ctx : &host_ctx, req, resp, r->payload);
    return r->handle(req, resp, r->payload);
}

int orchard_call_job(orchard_ctx *ctx, const orchard_job *j)
{
    const orchard_job *x = j;

    orchard_ctx_clear_failure();
    if (V(orchard_job, run2) && j->run2)
        return j->run2(ctx ? ctx : &host_ctx, j->payload);
    return j->run(j->payload);
}

/* ------------------------------------------------------------------------ */
/* 1.2 fields of structs from any 1.x writer */

uint32_t orchard_route_guard_of(const orchard_route *x)
{
    return V(orchard_route, guard) ? x->guard : ORCHARD_GUARD_NONE;
}

uint32_t orchard_route_flags_of(const orchard_route *x)
{
    return V(orchard_route, flags) ? x->flags : 0;
}

const char *orchard_route_gate_of(const orchard_route *x)
{
    return V(orchard_route, gate) ? x->gate : NULL;
}

uint32_t orchard_job_first_run_of(const orchard_job *x)
{
    return V(orchard_job, first_run_seconds) ? x->first_run_seconds : 0;
}

uint32_t orchard_job_jitter_of(const orchard_job *x)
{
    return V(orchard_job, jitter_seconds) ? x->jitter_seconds : 0;
}

uint32_t orchard_job_deadline_of(const orchard_job *x)
{
    return V(orchard_job, deadline_seconds) && x->deadline_seconds ? x->deadline_seconds : 300;
}

uint32_t orchard_job_flags_of(const orchard_job *x)
{
    return V(orchard_job, flags) ? x->flags : 0;
}

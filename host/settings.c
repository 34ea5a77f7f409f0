/* STUB until the settings snapshot lands: declarations are kept, values
 * come straight from the process configuration. */
#include "host/settings.h"

#include "host/config.h"
#include "host/plugins/plugin_ctx.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    orchard_ctx *ctx;
    const orchard_setting *setting;
} owned;

static GPtrArray *decls;

int orchard_settings_add_owner(orchard_ctx *ctx, const orchard_setting *const *settings,
                               size_t n, char **error_msg)
{
    if (!decls)
        decls = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < n; i++) {
        const char *owner = NULL;
        if (orchard_settings_find(settings[i]->key, &owner)) {
            *error_msg = g_strdup_printf("setting %s is already declared by %s",
                                         settings[i]->key, owner);
            return ORCHARD_EEXIST;
        }
    }
    for (size_t i = 0; i < n; i++) {
        owned *o = g_new0(owned, 1);
        o->ctx = ctx;
        o->setting = settings[i];
        g_ptr_array_add(decls, o);
    }
    return 0;
}

void orchard_settings_forget_owner(orchard_ctx *ctx)
{
    for (guint i = decls ? decls->len : 0; i > 0; i--)
        if (((owned *)g_ptr_array_index(decls, i - 1))->ctx == ctx)
            g_ptr_array_remove_index(decls, i - 1);
}

const orchard_setting *orchard_settings_find(const char *key, const char **owner)
{
    for (guint i = 0; decls && i < decls->len; i++) {
        owned *o = g_ptr_array_index(decls, i);
        if (strcmp(o->setting->key, key) == 0) {
            if (owner)
                *owner = orchard_ctx_name(o->ctx);
            return o->setting;
        }
    }
    return NULL;
}

int orchard_settings_reload(char **error_msg)
{
    *error_msg = g_strdup("reload is not implemented yet");
    return ORCHARD_EIO;
}

const char *orchard_settings_string(orchard_ctx *ctx, const char *key)
{
    (void)ctx;
    const char *v = orchard_config_get(orchard_config_global(), key);
    const orchard_setting *s = orchard_settings_find(key, NULL);
    return v ? v : s ? s->default_value : NULL;
}

int orchard_settings_bool(orchard_ctx *ctx, const char *key, int *out)
{
    const char *v = orchard_settings_string(ctx, key);
    if (!v)
        return ORCHARD_ENOTCONFIGURED;
    *out = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    return 0;
}

int orchard_settings_int(orchard_ctx *ctx, const char *key, int64_t *out)
{
    const char *v = orchard_settings_string(ctx, key);
    if (!v)
        return ORCHARD_ENOTCONFIGURED;
    *out = g_ascii_strtoll(v, NULL, 10);
    return 0;
}

int orchard_settings_duration(orchard_ctx *ctx, const char *key, int64_t *out_ms)
{
    int rc = orchard_settings_int(ctx, key, out_ms);
    if (rc == 0)
        *out_ms *= 1000;
    return rc;
}

const char *orchard_settings_path(orchard_ctx *ctx, const char *key)
{
    return orchard_settings_string(ctx, key);
}

int orchard_settings_bytes(orchard_ctx *ctx, const char *key, uint64_t *out)
{
    int64_t v = 0;
    int rc = orchard_settings_int(ctx, key, &v);
    *out = (uint64_t)v;
    return rc;
}

int orchard_settings_override(orchard_ctx *ctx, const char *key, const char *value)
{
    (void)ctx;
    orchard_config_set(orchard_config_global(), key, value);
    return 0;
}

uint64_t orchard_settings_generation(orchard_ctx *ctx)
{
    (void)ctx;
    return 1;
}

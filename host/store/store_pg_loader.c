/* Finding and opening orchard_store_postgres.so, the libpq module behind
 * store.postgres. It is loaded when a PostgreSQL store opens and never at
 * start-up, so orchard.ext and a SQLite-only serve never map libpq. */
#include "host/module_path.h"
#include "host/store/store_backend.h"

#include <glib.h>
#include <gmodule.h>
#include <orchard/plugin.h>
#include <string.h>

#ifndef ORCHARD_STORE_POSTGRES_MODULE_DEFAULT
#define ORCHARD_STORE_POSTGRES_MODULE_DEFAULT \
    "/usr/local/lib/orchard/modules/orchard_store_postgres.so"
#endif

#define MODULE_FILE "orchard_store_postgres.so"

static GMutex load_lock;
static const orchard_store_module *loaded; /* set once, never cleared */

static int load(const orchard_store_module **api, char **error_msg)
{
    g_autofree char *path = orchard_module_path("store.postgres_module", MODULE_FILE,
                                                ORCHARD_STORE_POSTGRES_MODULE_DEFAULT);
    gpointer sym = NULL;
    const orchard_store_module *m;
    GModule *mod;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        *error_msg = g_strdup_printf("the PostgreSQL store module %s is missing (set "
                                     "store.postgres_module to its path, or install orchard's "
                                     "modules; a build without libpq has none)", path);
        return ORCHARD_EIO;
    }
    /* Local binding: the module's libpq symbols stay its own. */
    if (!(mod = g_module_open(path, G_MODULE_BIND_LOCAL))) {
        *error_msg = g_strdup_printf("cannot load the PostgreSQL store module %s: %s", path,
                                     g_module_error());
        return ORCHARD_EIO;
    }
    if (!g_module_symbol(mod, ORCHARD_STORE_MODULE_SYMBOL, &sym) || !sym) {
        *error_msg = g_strdup_printf("%s is not orchard's PostgreSQL store module: no %s "
                                     "symbol", path, ORCHARD_STORE_MODULE_SYMBOL);
        g_module_close(mod);
        return ORCHARD_EIO;
    }
    m = sym;
    if (m->version != ORCHARD_STORE_BACKEND_VERSION || !m->open || !m->dialect ||
        strcmp(m->dialect, "postgres") != 0) {
        *error_msg = g_strdup_printf("the PostgreSQL store module %s comes from another "
                                     "orchard version (this one speaks store backend "
                                     "interface %u): install the module built with this "
                                     "binary", path, ORCHARD_STORE_BACKEND_VERSION);
        g_module_close(mod);
        return ORCHARD_EIO;
    }
    /* Never closed: a store may be opened again, and libpq keeps global state. */
    g_module_make_resident(mod);
    *api = m;
    return 0;
}

int orchard_store_postgres_open(const char *target, const orchard_store_options *opts,
                                orchard_store_backend **out, char **error_msg)
{
    int rc = 0;

    *out = NULL;
    g_mutex_lock(&load_lock);
    if (!loaded)
        rc = load(&loaded, error_msg);
    g_mutex_unlock(&load_lock);
    return rc != 0 ? rc : loaded->open(target, opts, out, error_msg);
}

/* Past a key=value value at p: a quoted one ('...' with \ escapes) or up to
 * white space; `amp`: & ends it too (a URL's query). */
static const char *value_end(const char *p, int amp)
{
    if (*p == '\'') {
        for (p++; *p && *p != '\''; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : p;
    }
    while (*p && !g_ascii_isspace(*p) && !(amp && *p == '&'))
        p++;
    return p;
}

char *orchard_store_postgres_redact(const char *target)
{
    int url = g_str_has_prefix(target, "postgres://") || g_str_has_prefix(target, "postgresql://");
    GString *o = g_string_new(NULL);
    const char *p = target;

    if (url) {
        /* postgresql://user:secret@host/...: the secret goes. */
        const char *auth = strstr(p, "://") + 3;
        const char *end = auth + strcspn(auth, "/?");
        /* The last @: an unencoded @ in a password hides more, not less. */
        const char *at = g_strrstr_len(auth, end - auth, "@");
        const char *colon = at ? g_strstr_len(auth, at - auth, ":") : NULL;
        if (colon) {
            g_string_append_len(o, p, colon + 1 - p);
            g_string_append(o, "***");
            p = at;
        }
    }
    while (*p) {
        /* password=... as a URL parameter or a key=value pair. */
        int boundary = p == target || g_ascii_isspace(p[-1]) || p[-1] == '?' || p[-1] == '&';
        if (boundary && strncmp(p, "password", 8) == 0) {
            const char *q = p + 8;
            while (!url && g_ascii_isspace(*q))
                q++;
            if (*q == '=') {
                q++;
                while (!url && g_ascii_isspace(*q))
                    q++;
                g_string_append(o, "password=***");
                p = value_end(q, url);
                continue;
            }
        }
        g_string_append_c(o, *p++);
    }
    return g_string_free(o, FALSE);
}

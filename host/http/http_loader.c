/* Finding and opening orchard_http.so, the libmicrohttpd transport. It is
 * loaded only inside orchard_http_serve, so that extension mode (orchard.ext
 * under osqueryd) never maps libmicrohttpd and GnuTLS: 2.9 MiB of resident
 * memory against a 4 MiB budget (bench/RESULTS.md). */
#include "host/config.h"
#include "host/module_path.h"
#include "host/http/http_internal.h"

#include <glib.h>

#ifndef ORCHARD_HTTP_MODULE_DEFAULT
#define ORCHARD_HTTP_MODULE_DEFAULT "/usr/local/lib/orchard/modules/orchard_http.so"
#endif

#define MODULE_FILE "orchard_http.so"

static char *module_path(void)
{
    return orchard_module_path("http_module", MODULE_FILE, ORCHARD_HTTP_MODULE_DEFAULT);
}

int orchard_http_module_open(GModule **module, const orchard_http_module **api,
                             char **error_msg)
{
    g_autofree char *path = module_path();
    gpointer sym = NULL;
    const orchard_http_module *m = NULL;
    GModule *mod;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        *error_msg = g_strdup_printf("the HTTP module %s is missing (set http_module to its "
                                     "path, or install orchard's modules)", path);
        return ORCHARD_ENOTFOUND;
    }
    /* Local binding: the module's libmicrohttpd symbols stay its own. */
    if (!(mod = g_module_open(path, G_MODULE_BIND_LOCAL))) {
        *error_msg = g_strdup_printf("cannot load the HTTP module %s: %s", path,
                                     g_module_error());
        return ORCHARD_ENOTFOUND;
    }
    if (!g_module_symbol(mod, ORCHARD_HTTP_MODULE_SYMBOL, &sym) || !sym) {
        *error_msg = g_strdup_printf("%s is not orchard's HTTP module: no %s symbol", path,
                                     ORCHARD_HTTP_MODULE_SYMBOL);
        g_module_close(mod);
        return ORCHARD_ENOTFOUND;
    }
    if (((orchard_http_module_entry_fn)sym)(ORCHARD_HTTP_MODULE_VERSION, &m) != 0 || !m ||
        m->version != ORCHARD_HTTP_MODULE_VERSION || m->struct_size != sizeof *m) {
        *error_msg = g_strdup_printf("the HTTP module %s comes from another orchard version "
                                     "(this one speaks module interface %u): install the "
                                     "module built with this binary", path,
                                     ORCHARD_HTTP_MODULE_VERSION);
        g_module_close(mod);
        return ORCHARD_EABI;
    }
    *module = mod;
    *api = m;
    return 0;
}

/* Finding and opening orchard_http_client.so, the libcurl module behind the
 * outbound HTTP service. It is loaded on the first http_client_open and
 * never at start-up, so orchard.ext (and every command that sends nothing)
 * never maps libcurl, OpenSSL's TLS half and nghttp2. */
#include "host/module_path.h"
#include "host/http_client/http_client.h"
#include "host/http_client/http_client_module.h"

#include <glib.h>
#include <gmodule.h>

#ifndef ORCHARD_HTTP_CLIENT_MODULE_DEFAULT
#define ORCHARD_HTTP_CLIENT_MODULE_DEFAULT \
    "/usr/local/lib/orchard/modules/orchard_http_client.so"
#endif

#define MODULE_FILE "orchard_http_client.so"

static GMutex load_lock;
static const orchard_http_client_module *loaded; /* set once, never cleared */

static char *module_path(void)
{
    return orchard_module_path("http_client_module", MODULE_FILE,
                               ORCHARD_HTTP_CLIENT_MODULE_DEFAULT);
}

static int load(const orchard_http_client_module **api, char **error_msg)
{
    g_autofree char *path = module_path();
    gpointer sym = NULL;
    const orchard_http_client_module *m = NULL;
    GModule *mod;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        *error_msg = g_strdup_printf("the HTTP client module %s is missing (set "
                                     "http_client_module to its path, or install orchard's "
                                     "modules)", path);
        return ORCHARD_EIO;
    }
    /* Local binding: the module's libcurl symbols stay its own. */
    if (!(mod = g_module_open(path, G_MODULE_BIND_LOCAL))) {
        *error_msg = g_strdup_printf("cannot load the HTTP client module %s: %s", path,
                                     g_module_error());
        return ORCHARD_EIO;
    }
    if (!g_module_symbol(mod, ORCHARD_HTTP_CLIENT_MODULE_SYMBOL, &sym) || !sym) {
        *error_msg = g_strdup_printf("%s is not orchard's HTTP client module: no %s symbol",
                                     path, ORCHARD_HTTP_CLIENT_MODULE_SYMBOL);
        g_module_close(mod);
        return ORCHARD_EIO;
    }
    if (((orchard_http_client_module_entry_fn)sym)(ORCHARD_HTTP_CLIENT_MODULE_VERSION, &m) != 0 ||
        !m || m->version != ORCHARD_HTTP_CLIENT_MODULE_VERSION || m->struct_size != sizeof *m) {
        *error_msg = g_strdup_printf("the HTTP client module %s comes from another orchard "
                                     "version (this one speaks module interface %u): install "
                                     "the module built with this binary", path,
                                     ORCHARD_HTTP_CLIENT_MODULE_VERSION);
        g_module_close(mod);
        return ORCHARD_EIO;
    }
    /* Never closed: clients and libcurl's global state live until exit. */
    g_module_make_resident(mod);
    *api = m;
    return 0;
}

int orchard_http_client_module_get(const orchard_http_client_module **api, char **error_msg)
{
    int rc = 0;

    g_mutex_lock(&load_lock);
    if (!loaded)
        rc = load(&loaded, error_msg);
    *api = loaded;
    g_mutex_unlock(&load_lock);
    return rc;
}

int orchard_http_client_module_loaded(void)
{
    int yes;
    g_mutex_lock(&load_lock);
    yes = loaded != NULL;
    g_mutex_unlock(&load_lock);
    return yes;
}

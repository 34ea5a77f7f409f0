/* Finding a module the host loads on demand (module_path.h): one rule for
 * every module, so a build tree, the test runner and an installation all
 * find the same files. */
#include "host/module_path.h"

#include "host/config.h"

#include <glib.h>

char *orchard_module_path(const char *setting, const char *file, const char *installed)
{
    const char *configured = orchard_config_get(orchard_config_global(), setting);
    g_autofree char *exe = NULL;

    if (configured && *configured)
        return g_strdup(configured);
    exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe) {
        g_autofree char *dir = g_path_get_dirname(exe);
        g_autofree char *parent = g_path_get_dirname(dir);
        const char *dirs[] = {dir, parent};
        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
            char *p = g_build_filename(dirs[i], "modules", file, NULL);
            if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
                return p;
            g_free(p);
        }
    }
    return g_strdup(installed);
}

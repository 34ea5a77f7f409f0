/* Fuzz target: a Mac's report on DeviceInformation (what check-ins hand to
 * orchard_updates_report) through the plist guard, libplist and
 * orchard_updates_device_facts. What it accepts is stored on the host and
 * shown by the API and tables, so every fact must be short printable UTF-8
 * and OSVersion a version nudge_version_compare reads. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/plist/plist_guard.h"
#include "server_plugin/store/store_updates.h"
#include "server_plugin/updates/updates_priv.h"
#include "tables/nudge_logic.h"

#include <glib.h>
#include <plist/plist.h>
#include <stdlib.h>
#include <string.h>

static void check_fact(const char *s)
{
    if (!s)
        return;
    if (strlen(s) > 256 || !g_utf8_validate(s, -1, NULL))
        abort();
    for (const char *p = s; *p; p = g_utf8_next_char(p))
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const orchard_plist_limits lim = {.max_depth = 32, .max_nodes = 20000,
                                             .allow_binary = 1};
    const char *why = NULL;
    plist_t root = NULL;
    if (size > 1024 * 1024 || orchard_plist_guard(data, size, &lim, &why) != 0)
        return 0;
    plist_from_memory((const char *)data, (uint32_t)size, &root);
    orchard_device_facts f;
    if (orchard_updates_device_facts(root, &f, &why) == 0) {
        const char *all[] = {f.os_version,    f.build_version, f.product_name,
                             f.serial_number, f.device_name,   f.model};
        int any = 0, cmp = 0;
        for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
            check_fact(all[i]);
            any |= all[i] != NULL;
        }
        if (!any || (f.os_version && nudge_version_compare(f.os_version, "14.4", &cmp) != 0))
            abort();
    } else if (!why || !*why) {
        abort(); /* a refusal says why (it is logged) */
    }
    plist_free(root);
    return 0;
}

/* Fuzz target: the YAML configuration (orchard_config_load_string) loaded
 * into a fresh config, then read back the way the host reads it. */
#include "tests/fuzz/fuzz.h"

#include "host/config.h"

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orchard_config *cfg = orchard_config_new();
    char *err = NULL;

    if (orchard_config_load_string(cfg, (const char *)data, size, "fuzz.yml", &err) == 0) {
        (void)orchard_config_get(cfg, "agent.root");
        (void)orchard_config_get(cfg, "mdm.apple_scep_challenge");
        (void)orchard_config_get_list(cfg, "plugins");
    }
    g_free(err);
    orchard_config_free(cfg);
    return 0;
}

/* Opening the store for a shell command (store_open_cmd.h): the same
 * configuration keys and migrations as `orchard serve`, so a command run
 * beside a server works on the server's state. */
#include "server_plugin/store/store_open_cmd.h"

#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"

#include <stdio.h>

int orchard_sstore_open_cmd(const char *cmd, const char *lives)
{
    const orchard_host_api *h = orchard_server_host;
    const char *sqlite = h->config_get("store.sqlite");
    const char *postgres = h->config_get("store.postgres");
    if ((!sqlite || !*sqlite) && (!postgres || !*postgres)) {
        fprintf(stderr, "orchard %s: the store is not configured: set store.sqlite or "
                "store.postgres as `orchard serve` has it (%s live there)\n", cmd, lives);
        return 1;
    }
    int rc = orchard_server_store_migrate();
    if (rc) {
        fprintf(stderr, "orchard %s: cannot open the store %s: %s\n", cmd,
                sqlite && *sqlite ? sqlite : "of store.postgres", h->strerror(rc));
        return 1;
    }
    return 0;
}

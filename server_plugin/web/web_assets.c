/* Lookup in the embedded files' table (web_assets.h); the table itself is
 * generated at build time from server_plugin/web/ (scripts/embed_assets.py). */
#include "server_plugin/web/web_assets.h"

#include <stdlib.h>
#include <string.h>

static int by_name(const void *key, const void *entry)
{
    return strcmp(key, ((const orchard_web_asset_entry *)entry)->name);
}

const orchard_web_asset_entry *orchard_web_asset_find(const char *name)
{
    if (!name || orchard_web_assets_count == 0)
        return NULL;
    /* The generator sorts by bytes, as strcmp compares. */
    return bsearch(name, orchard_web_assets, orchard_web_assets_count,
                   sizeof *orchard_web_assets, by_name);
}

const unsigned char *orchard_web_asset(const char *name, size_t *len)
{
    const orchard_web_asset_entry *e = orchard_web_asset_find(name);

    if (len)
        *len = e ? e->len : 0;
    return e ? e->data : NULL;
}

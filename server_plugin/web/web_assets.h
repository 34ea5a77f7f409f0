/* The admin pages' files (templates/NAME.html, static/NAME.css) as the build
 * embedded them into the plugin (scripts/embed_assets.py writes the table),
 * so `orchard serve` reads them from memory and needs no install path. */
#ifndef ORCHARD_SERVER_WEB_ASSETS_H
#define ORCHARD_SERVER_WEB_ASSETS_H

#include <stddef.h>

/** One embedded file. Every field is static data of the plugin. */
typedef struct orchard_web_asset_entry {
    const char *name;                /* relative to server_plugin/web: "templates/login.html" */
    const unsigned char *data;       /* len bytes, then a NUL not counted in len */
    size_t len;
    const char *content_type;        /* "text/html; charset=utf-8", "text/css; charset=utf-8" */
    const char *etag;                /* quoted strong ETag from the content's SHA-256 */
} orchard_web_asset_entry;

/* The generated table: sorted by name (bytewise), then one entry whose name
 * is NULL, which orchard_web_assets_count does not count. */
extern const orchard_web_asset_entry orchard_web_assets[];
extern const size_t orchard_web_assets_count;

/**
 * The bytes of the embedded file `name` ("static/orchard.css"), and its
 * length in *len (when len is not NULL); NULL when there is none. The bytes
 * are followed by a NUL, so a template can be read as a string.
 */
const unsigned char *orchard_web_asset(const char *name, size_t *len);

/** The whole entry of `name` (ETag, Content-Type), or NULL. */
const orchard_web_asset_entry *orchard_web_asset_find(const char *name);

#endif

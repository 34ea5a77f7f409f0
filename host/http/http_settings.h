/* The server.* settings `orchard serve`'s HTTP service owns, declared once
 * (ABI 1.2 settings) for the host's core plugin to list; http_settings.c
 * reads and checks their values for the serve loop. */
#ifndef ORCHARD_HTTP_SETTINGS_H
#define ORCHARD_HTTP_SETTINGS_H

#include <orchard/plugin.h>
#include <stddef.h>

/**
 * The declarations of every server.* key the HTTP service reads: a static
 * array of *n pointers, valid for the life of the process.
 */
const orchard_setting *const *orchard_http_settings_decl(size_t *n);

#endif

/* Private to host/settings*.c: a declaration as the host keeps it, a
 * resolved value, and what validation looks at. settings.c builds and swaps
 * snapshots; settings_check.c says what is wrong with one. */
#ifndef ORCHARD_SETTINGS_INTERNAL_H
#define ORCHARD_SETTINGS_INTERNAL_H

#include "host/config.h"
#include "host/settings.h"

typedef struct {
    const orchard_setting *s;
    orchard_ctx *owner;
    char **names; /* the key, then its aliases (NULL-terminated) */
} orchard_decl;

/* One key's value in a snapshot. Both strings are interned: they live until
 * orchard_settings_shutdown(). A NULL value with an origin was unset there
 * (an empty value). */
typedef struct {
    const char *value;
    const char *origin;
} orchard_resolved;

/* What validation reads: the inputs of one snapshot. */
typedef struct {
    const orchard_config *file; /* NULL: no file */
    const char *path;
    const GPtrArray *decls;     /* orchard_decl* */
    GHashTable *by_name;        /* key or alias -> orchard_decl* */
    GHashTable *values;         /* key -> orchard_resolved* */
} orchard_settings_view;

/** Every problem of a snapshot-to-be (orchard_settings_problem*, file order first). */
GPtrArray *orchard_settings_validate(const orchard_settings_view *view);

/** Free one orchard_settings_problem (a GDestroyNotify). */
void orchard_settings_problem_free(gpointer p);

#endif

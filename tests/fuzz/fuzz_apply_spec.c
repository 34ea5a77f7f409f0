/* Fuzz target: a spec file as `orchard apply` reads it
 * (server_plugin/apply/apply_yaml.c). What the reader accepts must be
 * documents of a known kind, a team with a name, paths under the caps and
 * resolved under the base folder; every refusal names the file in UTF-8 and
 * appends nothing. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/apply/apply_spec.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The text in a buffer of its own size, so ASan sees any read past it. */
    char *copy = g_memdup2(data, size ? size : 1);
    GPtrArray *docs = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_apply_doc_free);
    char *reason = NULL;
    if (orchard_apply_parse("fuzz.yml", "/base", copy, size, docs, &reason) == 0) {
        if (reason || docs->len > ORCHARD_APPLY_DOCS_MAX)
            abort();
        for (guint i = 0; i < docs->len; i++) {
            const orchard_apply_doc *d = docs->pdata[i];
            if (d->kind != ORCHARD_APPLY_CONFIG && d->kind != ORCHARD_APPLY_TEAM)
                abort();
            if (d->kind == ORCHARD_APPLY_TEAM && (!d->team_name || !*d->team_name))
                abort();
            if (d->paths->len > ORCHARD_APPLY_PROFILES_MAX || d->paths->len != d->path_lines->len ||
                (d->paths->len && !d->has_profiles))
                abort();
            for (guint k = 0; k < d->paths->len; k++) {
                const char *p = d->paths->pdata[k];
                if (!*p || (p[0] != '/'))
                    abort();
            }
        }
    } else if (!reason || strncmp(reason, "fuzz.yml", 8) != 0 ||
               !g_utf8_validate(reason, -1, NULL) || docs->len != 0) {
        abort();
    }
    g_free(reason);
    g_ptr_array_unref(docs);
    g_free(copy);
    return 0;
}

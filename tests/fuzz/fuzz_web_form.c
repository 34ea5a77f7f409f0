/* Fuzz target: the admin pages' form parser (server_plugin/web/web_form.c),
 * the first thing a browser's POST meets; then the cookie reader and the
 * sign-in redirect check over the same bytes. What the parser accepts must
 * be UTF-8 without NUL or control characters other than tab and line
 * breaks, with at most ORCHARD_WEB_FORM_FIELDS fields; a refusal says why. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/web/web_pages.h"

#include <stdlib.h>
#include <string.h>

static void check_text(const char *s)
{
    if (!g_utf8_validate(s, -1, NULL))
        abort();
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if ((*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') || *c == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GHashTable *form = NULL;
    const char *why = NULL;
    int rc = orchard_web_form_parse((const char *)data, size, &form, &why);
    if (rc == 0) {
        if (!form || why || g_hash_table_size(form) > ORCHARD_WEB_FORM_FIELDS)
            abort();
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, form);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            check_text(k);
            check_text(v);
        }
        g_hash_table_unref(form);
    } else if (form || !why) {
        abort();
    }

    /* The same bytes as a Cookie header and as a path to return to. */
    char *text = g_strndup((const char *)data, size);
    char value[64];
    if (orchard_web_cookie_value(text, ORCHARD_WEB_COOKIE, value, sizeof value)) {
        size_t n = strlen(value);
        if (n == 0 || n >= sizeof value || !strstr(text, value))
            abort();
    }
    if (orchard_web_local_path(text) &&
        (text[0] != '/' || text[1] == '/' || text[1] == '\\' || strchr(text, '\\')))
        abort();
    g_free(text);
    return 0;
}

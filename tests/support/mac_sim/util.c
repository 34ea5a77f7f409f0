/* The Mac simulator's small shared helpers (mac_sim_priv.h): error messages
 * and plist reading/writing, kept in one place so every file reports the
 * same way. */
#include "tests/support/mac_sim/mac_sim_priv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "orchard/plugin.h"

int macsim_fail(char **error_msg, int code, const char *fmt, ...)
{
    unsigned long e = ERR_peek_last_error();
    if (error_msg) {
        char msg[768], ssl[256] = "";
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (e)
            ERR_error_string_n(e, ssl, sizeof ssl);
        *error_msg = macsim_strdupf("%s%s%s", msg, e ? ": " : "", ssl);
    }
    ERR_clear_error();
    return code;
}

char *macsim_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *macsim_plist_string(plist_t dict, const char *key)
{
    if (!dict || plist_get_node_type(dict) != PLIST_DICT)
        return NULL;
    plist_t v = plist_dict_get_item(dict, key);
    if (!v || plist_get_node_type(v) != PLIST_STRING)
        return NULL;
    char *lib = NULL;
    plist_get_string_val(v, &lib);
    char *s = lib ? strdup(lib) : NULL;
    free(lib);
    return s;
}

plist_t macsim_plist_parse(const void *data, size_t len)
{
    if (!data || len == 0 || len > UINT32_MAX / 2)
        return NULL;
    plist_t p = NULL;
    plist_from_memory(data, (uint32_t)len, &p);
    return p;
}

int macsim_plist_xml(char **xml, size_t *len, plist_t p)
{
    char *lib = NULL;
    uint32_t n = 0;
    plist_to_xml(p, &lib, &n);
    if (!lib)
        return ORCHARD_ENOMEM;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, lib, n);
        s[n] = '\0';
    }
    plist_to_xml_free(lib);
    if (!s)
        return ORCHARD_ENOMEM;
    *xml = s;
    *len = n;
    return 0;
}

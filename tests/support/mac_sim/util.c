/* The Mac simulator's small shared helpers (mac_sim_priv.h): error messages
 * and plist reading/writing, kept in one place so every file reports the
 * same way. */
#include "tests/support/mac_sim/mac_sim_priv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "orchard/plugin.h"
#include "server_plugin/plist/plist_guard.h"

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

int macsim_plist_parse_guarded(plist_t *out, const void *data, size_t len, char **error_msg)
{
    static const orchard_plist_limits lim = {
        .max_depth = 64, .max_nodes = 200000, .allow_binary = 1};
    const char *why = NULL;
    *out = NULL;
    if (!data || len == 0)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the plist is empty");
    int rc = orchard_plist_guard(data, len, &lim, &why);
    if (rc)
        return macsim_fail(error_msg, rc, "the plist is refused: %s", why ? why : "malformed");
    if (!(*out = macsim_plist_parse(data, len)))
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the data is not a plist");
    return 0;
}

unsigned char *macsim_cms_content(const void *data, size_t len, size_t *out_len)
{
    const unsigned char *p = data;
    if (len > 0x7FFFFFFF)
        return NULL;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    unsigned char *out = NULL;
    if (!cms) {
        ERR_clear_error();
        return NULL;
    }
    ASN1_OCTET_STRING **os = NULL;
    if (OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed && (os = CMS_get0_content(cms)) &&
        *os && ASN1_STRING_length(*os) > 0) {
        *out_len = (size_t)ASN1_STRING_length(*os);
        if ((out = malloc(*out_len)))
            memcpy(out, ASN1_STRING_get0_data(*os), *out_len);
    }
    CMS_ContentInfo_free(cms);
    return out;
}

int macsim_read_file(const char *path, size_t max, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ORCHARD_ENOTFOUND;
    /* The size first: a file read for every ProfileList costs what it holds. */
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return ORCHARD_EIO;
    }
    if ((unsigned long)size > max) {
        fclose(f);
        return ORCHARD_ETOOBIG;
    }
    unsigned char *buf = malloc((size_t)size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)size + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!buf || err || n > (size_t)size) { /* grew while read: not what install wrote */
        free(buf);
        return buf ? ORCHARD_EIO : ORCHARD_ENOMEM;
    }
    *out = buf;
    *len = n;
    return 0;
}

plist_t macsim_error_chain(const char *domain, unsigned code, const char *message)
{
    plist_t e = plist_new_dict();
    plist_dict_set_item(e, "ErrorCode", plist_new_uint(code));
    plist_dict_set_item(e, "ErrorDomain", plist_new_string(domain));
    plist_dict_set_item(e, "LocalizedDescription", plist_new_string(message));
    plist_dict_set_item(e, "USEnglishDescription", plist_new_string(message));
    plist_t chain = plist_new_array();
    plist_array_append_item(chain, e);
    return chain;
}

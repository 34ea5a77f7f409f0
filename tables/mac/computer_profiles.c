/* Device-wide profiles from `profiles -C -o stdout-xml` (see computer_profiles.h). */
#include "tables/mac/computer_profiles.h"

#include "tables/agent.h"

#include <string.h>

int agent_computer_profiles(orchard_mac_source *src, plist_t *root, plist_t *profiles)
{
    GBytes *out = NULL;
    g_autofree char *err = NULL;
    gsize len = 0;

    *root = NULL;
    *profiles = NULL;
    int rc = orchard_mac_profiles(src, ORCHARD_PROFILES_COMPUTER_XML, &out, &err);
    if (rc) {
        agent_warn("%s", err);
        return rc;
    }
    const char *text = g_bytes_get_data(out, &len);
    /* With nothing installed, profiles prints a sentence instead of a plist. */
    if (len == 0 || (text[0] != '<' && strncmp(text, "bplist", 6) != 0 &&
                     g_strstr_len(text, (gssize)len, "no configuration profiles"))) {
        g_bytes_unref(out);
        return 0;
    }
    rc = orchard_mac_parse_plist(text, len, "profiles -C -o stdout-xml", root, &err);
    g_bytes_unref(out);
    if (rc) {
        agent_warn("%s", err);
        return rc;
    }
    plist_t arr = plist_get_node_type(*root) == PLIST_DICT
                      ? plist_dict_get_item(*root, "_computerlevel") : NULL;
    if (arr && plist_get_node_type(arr) == PLIST_ARRAY)
        *profiles = arr;
    else if (plist_get_node_type(*root) != PLIST_DICT || plist_dict_get_size(*root) > 0)
        agent_warn("profiles -C -o stdout-xml: no _computerlevel array in its output");
    return 0;
}

/* What macOS makes of installed profiles' preference payloads: for each
 * payload whose PayloadType is a preference domain (not com.apple.*, e.g.
 * com.github.macadmins.Nudge), /Library/Managed Preferences/<domain>.plist
 * holds the payload's keys without the Payload* ones (and the same from the
 * older com.apple.ManagedClient.preferences form). Written under a test
 * root so the agent's tables (`orchard query --root ROOT`) read them as on a
 * Mac; SystemVersion.plist there says which macOS the Mac runs. */
#include "tests/support/mac_sim/mac_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

#define PREFS_DIR "Library/Managed Preferences"
#define SYSTEM_VERSION "System/Library/CoreServices/SystemVersion.plist"
/* The domains written last time, one a line, in the Mac's folder: only
 * those files are ever removed from the root. */
#define WRITTEN_FILE "managed_domains"

/* A domain usable as a file name (no '/', no leading '.', printable). */
static int domain_ok(const char *d)
{
    if (!d || !*d || d[0] == '.' || strlen(d) > 255)
        return 0;
    for (const unsigned char *c = (const unsigned char *)d; *c; c++)
        if (*c == '/' || *c < 0x20 || *c == 0x7F)
            return 0;
    return 1;
}

static int is_pref_domain(const char *type)
{
    return domain_ok(type) && strncmp(type, "com.apple.", 10) != 0;
}

/* The dictionary of `domain` in `domains`, made when missing. */
static plist_t domain_dict(plist_t domains, const char *domain)
{
    plist_t merged = plist_dict_get_item(domains, domain);
    if (!merged) {
        plist_dict_set_item(domains, domain, plist_new_dict());
        merged = plist_dict_get_item(domains, domain);
    }
    return merged;
}

/* Copy `from`'s keys into `into` (a later one wins), the Payload* ones
 * left out when `skip_payload_keys`. */
static void merge_keys(plist_t into, plist_t from, int skip_payload_keys)
{
    plist_dict_iter it = NULL;
    if (!from || plist_get_node_type(from) != PLIST_DICT)
        return;
    plist_dict_new_iter(from, &it);
    for (;;) {
        char *key = NULL;
        plist_t v = NULL;
        plist_dict_next_item(from, it, &key, &v);
        if (!key)
            break;
        if (!skip_payload_keys || strncmp(key, "Payload", 7) != 0)
            plist_dict_set_item(into, key, plist_copy(v));
        free(key);
    }
    free(it);
}

/* The older form of managed preferences, com.apple.ManagedClient.preferences:
 * PayloadContent {domain: {Forced: [{mcx_preference_settings: {...}}]}}. */
static void merge_mcx(plist_t domains, plist_t payload)
{
    plist_t content = plist_dict_get_item(payload, "PayloadContent");
    plist_dict_iter it = NULL;
    if (!content || plist_get_node_type(content) != PLIST_DICT)
        return;
    plist_dict_new_iter(content, &it);
    for (;;) {
        char *domain = NULL;
        plist_t v = NULL;
        plist_dict_next_item(content, it, &domain, &v);
        if (!domain)
            break;
        plist_t forced = plist_get_node_type(v) == PLIST_DICT ? plist_dict_get_item(v, "Forced")
                                                               : NULL;
        if (domain_ok(domain) && forced && plist_get_node_type(forced) == PLIST_ARRAY)
            for (uint32_t i = 0; i < plist_array_get_size(forced); i++) {
                plist_t f = plist_array_get_item(forced, i);
                if (plist_get_node_type(f) == PLIST_DICT)
                    merge_keys(domain_dict(domains, domain),
                               plist_dict_get_item(f, "mcx_preference_settings"), 0);
            }
        free(domain);
    }
    free(it);
}

/* {domain: merged keys} from every installed profile, in identifier order
 * (a later profile's key wins, as one order has to). */
static plist_t collect(const orchard_macsim_mac *mac)
{
    plist_t domains = plist_new_dict();
    plist_t installed = macsim_installed_profiles(mac);
    for (uint32_t i = 0; i < plist_array_get_size(installed); i++) {
        plist_t list = plist_dict_get_item(plist_array_get_item(installed, i), "PayloadContent");
        for (uint32_t j = 0; list && j < plist_array_get_size(list); j++) {
            plist_t payload = plist_array_get_item(list, j);
            char *type = macsim_plist_string(payload, "PayloadType");
            if (type && strcmp(type, "com.apple.ManagedClient.preferences") == 0)
                merge_mcx(domains, payload);
            else if (is_pref_domain(type))
                merge_keys(domain_dict(domains, type), payload, 1);
            free(type);
        }
    }
    plist_free(installed);
    return domains;
}

/* mkdir -p for the folders of `path` under nothing else. */
static int make_parents(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return ORCHARD_ENOMEM;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return ORCHARD_EIO;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

/* Write `p` as a binary plist (what macOS writes there), through a rename;
 * the temporary file is the Mac's own, so Macs sharing a root never write
 * one file at once (the last rename wins, as the last profile would). */
static int write_plist(const orchard_macsim_mac *mac, const char *path, plist_t p)
{
    char *bin = NULL, *tmp = macsim_strdupf("%s.%u.tmp", path, mac->index);
    uint32_t n = 0;
    int rc = tmp ? make_parents(path) : ORCHARD_ENOMEM;
    if (!rc) {
        plist_to_bin(p, &bin, &n);
        FILE *f = bin ? fopen(tmp, "wb") : NULL;
        int ok = f && fwrite(bin, 1, n, f) == n;
        ok = (f && fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            unlink(tmp);
            rc = ORCHARD_EIO;
        }
    }
    free(bin);
    free(tmp);
    return rc;
}

static int write_system_version(const orchard_macsim_mac *mac, const char *root)
{
    plist_t v = plist_new_dict();
    plist_dict_set_item(v, "ProductName", plist_new_string("macOS"));
    plist_dict_set_item(v, "ProductVersion", plist_new_string(orchard_macsim_os_version(mac)));
    plist_dict_set_item(v, "ProductBuildVersion",
                        plist_new_string(orchard_macsim_build_version(mac)));
    char *path = macsim_strdupf("%s/" SYSTEM_VERSION, root);
    int rc = path ? write_plist(mac, path, v) : ORCHARD_ENOMEM;
    free(path);
    plist_free(v);
    return rc;
}

/* Remove the files of the domains written last time that are no longer set. */
static void remove_stale(const orchard_macsim_mac *mac, const char *root, plist_t now)
{
    char *list = macsim_strdupf("%s/" WRITTEN_FILE, mac->dir);
    FILE *f = list ? fopen(list, "r") : NULL;
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!domain_ok(line) || plist_dict_get_item(now, line))
            continue;
        char *path = macsim_strdupf("%s/" PREFS_DIR "/%s.plist", root, line);
        if (path)
            unlink(path);
        free(path);
    }
    if (f)
        fclose(f);
    free(list);
}

int orchard_macsim_managed_prefs_sync(const orchard_macsim_mac *mac, const char *root,
                                      char **error_msg)
{
    if (!root || !*root)
        return 0;
    plist_t domains = collect(mac);
    int rc = write_system_version(mac, root);
    remove_stale(mac, root, domains);
    char *list = macsim_strdupf("%s/" WRITTEN_FILE, mac->dir);
    FILE *written = list ? fopen(list, "w") : NULL;
    if (!written)
        rc = ORCHARD_EIO;
    plist_dict_iter it = NULL;
    plist_dict_new_iter(domains, &it);
    for (;;) {
        char *domain = NULL;
        plist_t keys = NULL;
        plist_dict_next_item(domains, it, &domain, &keys);
        if (!domain)
            break;
        char *path = macsim_strdupf("%s/" PREFS_DIR "/%s.plist", root, domain);
        int w = path ? write_plist(mac, path, keys) : ORCHARD_ENOMEM;
        rc = rc ? rc : w;
        if (written)
            fprintf(written, "%s\n", domain);
        free(path);
        free(domain);
    }
    free(it);
    if (written && fclose(written) != 0)
        rc = ORCHARD_EIO;
    free(list);
    plist_free(domains);
    return rc ? macsim_fail(error_msg, rc, "writing managed preferences under %s failed", root)
              : 0;
}

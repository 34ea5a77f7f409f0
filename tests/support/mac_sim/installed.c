/* The profiles a simulated Mac has installed, kept in its folder
 * (profiles/<identifier>.mobileconfig, the plist as received, CMS unwrapped):
 * InstallProfile and RemoveProfile change them, ProfileList reads them back
 * and managed_prefs.c turns their preference payloads into what macOS writes
 * under /Library/Managed Preferences. */
#include "tests/support/mac_sim/mac_sim.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

#define SUFFIX ".mobileconfig"

/* An identifier as a file name: letters, digits, '-', '_' and '.' kept
 * (not a leading '.'), anything else %XX, so "../x" or "a/b" never leave the
 * folder and two identifiers never share a file. */
static char *file_name(const char *identifier)
{
    size_t n = strlen(identifier);
    char *out = malloc(3 * n + sizeof SUFFIX);
    if (!out)
        return NULL;
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)identifier[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || (c == '.' && i > 0);
        if (keep)
            *o++ = (char)c;
        else
            o += sprintf(o, "%%%02X", c);
    }
    strcpy(o, SUFFIX);
    return out;
}

static char *profiles_dir(const orchard_macsim_mac *mac)
{
    return macsim_strdupf("%s/profiles", mac->dir);
}

static char *profile_path(const orchard_macsim_mac *mac, const char *identifier)
{
    char *name = file_name(identifier);
    char *path = name ? macsim_strdupf("%s/profiles/%s", mac->dir, name) : NULL;
    free(name);
    return path;
}

/* Every payload in PayloadContent is a dictionary with a string PayloadType,
 * as macOS requires before it installs anything. */
static int payloads_ok(plist_t root, char **error_msg)
{
    plist_t list = plist_dict_get_item(root, "PayloadContent");
    if (!list)
        return 0; /* a profile with no payloads installs (and does nothing) */
    if (plist_get_node_type(list) != PLIST_ARRAY)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "PayloadContent is not an array");
    for (uint32_t i = 0; i < plist_array_get_size(list); i++) {
        plist_t p = plist_array_get_item(list, i);
        char *type = macsim_plist_string(p, "PayloadType");
        int ok = type && *type;
        free(type);
        if (!ok)
            return macsim_fail(error_msg, ORCHARD_EINVAL,
                               "payload %u is not a dictionary with a PayloadType", i);
    }
    return 0;
}

int orchard_macsim_profile_install(const orchard_macsim_mac *mac, const void *data, size_t len,
                                   char **identifier, char **error_msg)
{
    unsigned char *inner = NULL;
    plist_t root = NULL;
    char *id = NULL, *type = NULL, *dir = NULL, *path = NULL, *tmp = NULL;
    int rc = 0;
    if (identifier)
        *identifier = NULL;
    if (!data || len == 0)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the profile is empty");
    if (len > ORCHARD_MACSIM_PROFILE_MAX)
        return macsim_fail(error_msg, ORCHARD_ETOOBIG, "the profile is %zu bytes (over %zu)",
                           len, ORCHARD_MACSIM_PROFILE_MAX);
    if (((const unsigned char *)data)[0] == 0x30) { /* DER: CMS SignedData around the plist */
        size_t inner_len = 0;
        if (!(inner = macsim_cms_content(data, len, &inner_len))) {
            rc = macsim_fail(error_msg, ORCHARD_EINVAL,
                             "the profile is neither a plist nor CMS SignedData with content");
            goto out;
        }
        data = inner;
        len = inner_len;
    }
    if ((rc = macsim_plist_parse_guarded(&root, data, len, error_msg)))
        goto out;
    if (plist_get_node_type(root) != PLIST_DICT) {
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "the profile is not a plist dictionary");
        goto out;
    }
    type = macsim_plist_string(root, "PayloadType");
    id = macsim_plist_string(root, "PayloadIdentifier");
    if (!type || strcmp(type, "Configuration") != 0) {
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "PayloadType is not Configuration");
        goto out;
    }
    if (!id || !*id || strlen(id) > 1024) {
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "the profile has no usable PayloadIdentifier");
        goto out;
    }
    if ((rc = payloads_ok(root, error_msg)))
        goto out;
    /* Written beside and renamed: a reader never sees half a profile. */
    if (!(dir = profiles_dir(mac)) || !(path = profile_path(mac, id)) ||
        !(tmp = macsim_strdupf("%s.tmp", path))) {
        rc = macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = macsim_fail(error_msg, ORCHARD_EIO, "mkdir %s: %s", dir, strerror(errno));
        goto out;
    }
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    ok = (f && fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        rc = macsim_fail(error_msg, ORCHARD_EIO, "writing %s failed", path);
        goto out;
    }
    if (identifier) {
        *identifier = id;
        id = NULL;
    }
out:
    plist_free(root);
    free(inner);
    free(id);
    free(type);
    free(dir);
    free(path);
    free(tmp);
    return rc;
}

int orchard_macsim_profile_remove(const orchard_macsim_mac *mac, const char *identifier,
                                  char **error_msg)
{
    char *path = identifier && *identifier ? profile_path(mac, identifier) : NULL;
    int rc = 0;
    if (!path)
        return macsim_fail(error_msg, ORCHARD_ENOTFOUND, "no profile named");
    if (unlink(path) != 0)
        rc = errno == ENOENT
                 ? macsim_fail(error_msg, ORCHARD_ENOTFOUND,
                               "The profile \"%s\" is not installed.", identifier)
                 : macsim_fail(error_msg, ORCHARD_EIO, "unlink %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

plist_t macsim_installed_profiles(const orchard_macsim_mac *mac)
{
    plist_t out = plist_new_array();
    char *dir = profiles_dir(mac);
    DIR *d = dir ? opendir(dir) : NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= strlen(SUFFIX) ||
            strcmp(e->d_name + l - strlen(SUFFIX), SUFFIX) != 0)
            continue;
        if (n == cap) {
            char **g = realloc(names, (cap = cap ? 2 * cap : 8) * sizeof *names);
            if (!g)
                break;
            names = g;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char *path = macsim_strdupf("%s/%s", dir, names[i]);
        unsigned char *buf = NULL;
        size_t len = 0;
        plist_t p = NULL;
        /* Only what install wrote is here, so a file that does not read
         * back (edited by hand) is skipped, as a damaged profile would be. */
        if (path && macsim_read_file(path, ORCHARD_MACSIM_PROFILE_MAX, &buf, &len) == 0 &&
            macsim_plist_parse_guarded(&p, buf, len, NULL) == 0 &&
            plist_get_node_type(p) == PLIST_DICT)
            plist_array_append_item(out, p);
        else
            plist_free(p);
        free(buf);
        free(path);
        free(names[i]);
    }
    free(names);
    free(dir);
    return out;
}

/* One payload as ProfileList summarises it. */
static plist_t payload_summary(plist_t payload)
{
    static const char *const keys[] = {"PayloadIdentifier", "PayloadType", "PayloadUUID",
                                       "PayloadDisplayName", "PayloadDescription",
                                       "PayloadOrganization", "PayloadVersion"};
    plist_t s = plist_new_dict();
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        plist_t v = plist_dict_get_item(payload, keys[k]);
        if (v)
            plist_dict_set_item(s, keys[k], plist_copy(v));
    }
    return s;
}

static plist_t profile_summary(plist_t profile)
{
    static const char *const keys[] = {"PayloadIdentifier", "PayloadUUID", "PayloadDisplayName",
                                       "PayloadDescription", "PayloadOrganization",
                                       "PayloadVersion", "PayloadRemovalDisallowed"};
    plist_t s = plist_new_dict();
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        plist_t v = plist_dict_get_item(profile, keys[k]);
        if (v)
            plist_dict_set_item(s, keys[k], plist_copy(v));
    }
    if (!plist_dict_get_item(s, "PayloadVersion"))
        plist_dict_set_item(s, "PayloadVersion", plist_new_uint(1));
    plist_dict_set_item(s, "IsManaged", plist_new_bool(1));
    plist_dict_set_item(s, "IsEncrypted", plist_new_bool(0));
    plist_dict_set_item(s, "HasRemovalPasscode", plist_new_bool(0));
    plist_t content = plist_new_array(), list = plist_dict_get_item(profile, "PayloadContent");
    for (uint32_t i = 0; list && i < plist_array_get_size(list); i++)
        plist_array_append_item(content, payload_summary(plist_array_get_item(list, i)));
    plist_dict_set_item(s, "PayloadContent", content);
    return s;
}

/* The enrollment profile as ProfileList reports it. */
static plist_t enrollment_profile(const orchard_macsim_mac *mac)
{
    plist_t item = plist_new_dict();
    plist_dict_set_item(item, "PayloadType", plist_new_string("com.apple.mdm"));
    plist_dict_set_item(item, "PayloadIdentifier", plist_new_string("com.orchard.mdm.enroll.mdm"));
    plist_dict_set_item(item, "PayloadDisplayName", plist_new_string("MDM"));
    plist_t content = plist_new_array();
    plist_array_append_item(content, item);
    plist_t p = plist_new_dict();
    plist_dict_set_item(p, "PayloadIdentifier", plist_new_string("com.orchard.mdm.enroll"));
    plist_dict_set_item(p, "PayloadUUID", plist_new_string(mac->push_magic));
    plist_dict_set_item(p, "PayloadDisplayName", plist_new_string("MDM enrollment"));
    plist_dict_set_item(p, "PayloadVersion", plist_new_uint(1));
    plist_dict_set_item(p, "PayloadRemovalDisallowed", plist_new_bool(0));
    plist_dict_set_item(p, "IsManaged", plist_new_bool(1));
    plist_dict_set_item(p, "PayloadContent", content);
    return p;
}

plist_t orchard_macsim_profile_list(const orchard_macsim_mac *mac)
{
    plist_t list = plist_new_array();
    plist_array_append_item(list, enrollment_profile(mac));
    plist_t installed = macsim_installed_profiles(mac);
    for (uint32_t i = 0; i < plist_array_get_size(installed); i++)
        plist_array_append_item(list, profile_summary(plist_array_get_item(installed, i)));
    plist_free(installed);
    return list;
}

char *orchard_macsim_profile_ids(const orchard_macsim_mac *mac)
{
    plist_t installed = macsim_installed_profiles(mac);
    char *out = strdup("");
    for (uint32_t i = 0; out && i < plist_array_get_size(installed); i++) {
        char *id = macsim_plist_string(plist_array_get_item(installed, i), "PayloadIdentifier");
        char *grown = macsim_strdupf("%s%s%s", out, *out ? "," : "", id ? id : "");
        free(id);
        free(out);
        out = grown;
    }
    plist_free(installed);
    return out;
}

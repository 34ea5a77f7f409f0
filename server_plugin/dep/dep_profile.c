/* The DEP profile (dep_sync.h): what Apple shows a Mac in Setup Assistant
 * and where it enrolls. Read from mdm.apple_dep_profile (Apple's profile
 * JSON) or a default, with orchard's enrollment URL and its defaults; the
 * hash of its canonical form tells the sync when to define it again. */
#include "server_plugin/dep/dep_sync.h"

#include "server_plugin/server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Apple's profile keys and the JSON type each must have. Keys not listed
 * are passed to Apple as they are (Apple adds keys over time). */
static const char *const bool_keys[] = {
    "is_supervised", "allow_pairing", "is_mandatory", "await_device_configured",
    "is_mdm_removable", "is_multi_user", "auto_advance_setup"};
static const char *const string_keys[] = {
    "profile_name", "url", "department", "support_phone_number", "support_email_address",
    "org_magic", "language", "region", "configuration_web_url"};
static const char *const string_array_keys[] = {"skip_setup_items", "anchor_certs",
                                                "supervising_host_certs"};

static int fail(char **error_msg, int rc, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(char **error_msg, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error_msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return rc;
}

/* The file, at most ORCHARD_DEP_PROFILE_MAX bytes. */
static int read_capped(const char *path, GString **out, char **error_msg)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(error_msg, errno == ENOENT ? ORCHARD_ENOTFOUND : ORCHARD_EIO,
                    "mdm.apple_dep_profile: cannot read %s: %s", path, g_strerror(errno));
    GString *s = g_string_sized_new(4096);
    char buf[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        g_string_append_len(s, buf, (gssize)n);
        if (s->len > ORCHARD_DEP_PROFILE_MAX) {
            rc = fail(error_msg, ORCHARD_ETOOBIG, "mdm.apple_dep_profile: %s is over %zu KiB; "
                      "a DEP profile is a few hundred bytes", path,
                      ORCHARD_DEP_PROFILE_MAX / 1024);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = fail(error_msg, ORCHARD_EIO, "mdm.apple_dep_profile: cannot read %s", path);
    fclose(f);
    if (rc) {
        g_string_free(s, TRUE);
        return rc;
    }
    *out = s;
    return 0;
}

/* NULL when every known key has Apple's type, else what is wrong (g_free). */
static char *type_problem(const json_t *p)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bool_keys); i++) {
        const json_t *v = json_object_get(p, bool_keys[i]);
        if (v && !json_is_boolean(v))
            return g_strdup_printf("\"%s\" must be true or false", bool_keys[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(string_keys); i++) {
        const json_t *v = json_object_get(p, string_keys[i]);
        if (v && !json_is_string(v))
            return g_strdup_printf("\"%s\" must be a string", string_keys[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(string_array_keys); i++) {
        const json_t *v = json_object_get(p, string_array_keys[i]);
        size_t k;
        const json_t *e;
        if (v && !json_is_array(v))
            return g_strdup_printf("\"%s\" must be an array of strings", string_array_keys[i]);
        json_array_foreach(v, k, e) {
            if (!json_is_string(e))
                return g_strdup_printf("\"%s\" must be an array of strings (item %zu is not)",
                                       string_array_keys[i], k);
        }
    }
    const json_t *name = json_object_get(p, "profile_name");
    if (name && !*json_string_value(name))
        return g_strdup("\"profile_name\" must not be empty");
    /* Apple assigns a profile's "devices" when it is defined; orchard
     * assigns to the synced devices itself and records each result. */
    if (json_object_get(p, "devices"))
        return g_strdup("\"devices\" is not taken: orchard assigns the profile to every "
                        "device Apple Business Manager gives this server");
    return NULL;
}

/* The file's object, or the default when there is no file. */
static int load_object(const char *path, const char *org_name, json_t **out, char **error_msg)
{
    if (!path || !*path) {
        g_autofree char *name =
            g_strdup_printf("%s enrollment", org_name && *org_name ? org_name : "orchard");
        *out = json_pack("{s:s}", "profile_name", name);
        return *out ? 0 : ORCHARD_ENOMEM;
    }
    GString *text = NULL;
    int rc = read_capped(path, &text, error_msg);
    if (rc)
        return rc;
    json_error_t err;
    json_t *j = json_loadb(text->str, text->len, JSON_REJECT_DUPLICATES, &err);
    g_string_free(text, TRUE);
    if (!j)
        return fail(error_msg, ORCHARD_EINVAL,
                    "mdm.apple_dep_profile: %s is not JSON (line %d: %s)", path, err.line,
                    err.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(error_msg, ORCHARD_EINVAL,
                    "mdm.apple_dep_profile: %s must hold a JSON object (Apple's profile "
                    "format: {\"profile_name\": ..., ...})", path);
    }
    g_autofree char *why = type_problem(j);
    if (why) {
        json_decref(j);
        return fail(error_msg, ORCHARD_EINVAL, "mdm.apple_dep_profile: %s: %s", path, why);
    }
    if (!json_object_get(j, "profile_name")) {
        g_autofree char *name =
            g_strdup_printf("%s enrollment", org_name && *org_name ? org_name : "orchard");
        json_object_set_new(j, "profile_name", json_string(name));
    }
    *out = j;
    return 0;
}

int orchard_dep_profile_build(const char *path, const char *server_url, const char *org_name,
                              json_t **profile, char **sha256, int *url_replaced,
                              char **error_msg)
{
    *profile = NULL;
    *sha256 = NULL;
    *error_msg = NULL;
    if (url_replaced)
        *url_replaced = 0;
    if (!server_url || !*server_url)
        return fail(error_msg, ORCHARD_EINVAL, "server.url is not set: the DEP profile sends "
                    "Macs in Setup Assistant to orchard's enrollment URL under it");
    json_t *p = NULL;
    int rc = load_object(path, org_name, &p, error_msg);
    if (rc)
        return rc;
    g_autofree char *base = g_strdup(server_url);
    while (g_str_has_suffix(base, "/"))
        base[strlen(base) - 1] = '\0';
    g_autofree char *url = g_strconcat(base, ORCHARD_DEP_ENROLL_PATH, NULL);
    const char *had = json_string_value(json_object_get(p, "url"));
    if (url_replaced && had && strcmp(had, url) != 0)
        *url_replaced = 1;
    /* Macs must enroll here, whatever the file says: the file is for how
     * Setup Assistant looks, the URL is orchard's. */
    json_object_set_new(p, "url", json_string(url));
    if (!json_object_get(p, "is_mdm_removable"))
        json_object_set_new(p, "is_mdm_removable", json_false());
    if (!json_object_get(p, "await_device_configured"))
        json_object_set_new(p, "await_device_configured", json_true());
    char *canon = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    if (!canon) {
        json_decref(p);
        return ORCHARD_ENOMEM;
    }
    *sha256 = g_compute_checksum_for_string(G_CHECKSUM_SHA256, canon, -1);
    free(canon);
    *profile = p;
    return 0;
}

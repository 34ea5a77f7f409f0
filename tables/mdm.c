/*
 * mdm: this Mac's MDM enrollment, one row.
 *
 *   select enrolled, server_url, installed_from_dep, payload_identifier from mdm;
 *
 * The enrollment profile is the device-wide profile with a com.apple.mdm
 * payload (`profiles -C`); DEP and user approval come from `profiles status
 * -type enrollment`; dep_capable from the cloud-config record files, else
 * from `profiles show -type enrollment` (cached for a day).
 */
#include "mdm.gen.h"

#include "tables/agent.h"
#include "tables/mac/computer_profiles.h"
#include "tables/mac/plist_util.h"

#include <string.h>

#define SETTINGS "private/var/db/ConfigurationProfiles/Settings/"

static const char *bool_text(int b)
{
    return b < 0 ? NULL : b ? "true" : "false";
}

/* The profile's item of PayloadType `type`, or NULL. */
static plist_t find_item(plist_t profile, const char *type)
{
    plist_t items = plist_dict_get_item(profile, "ProfileItems");
    if (!items || plist_get_node_type(items) != PLIST_ARRAY)
        return NULL;
    for (uint32_t i = 0; i < plist_array_get_size(items); i++) {
        plist_t it = plist_array_get_item(items, i);
        const char *t = orchard_plist_string(it, "PayloadType");
        if (t && strcmp(t, type) == 0)
            return it;
    }
    return NULL;
}

/* Fill the enrollment columns from `profiles -C`; enrolled stays NULL when
 * the command failed. */
static void fill_enrollment(const char **v, char **owned, plist_t profiles)
{
    v[MDM_COL_ENROLLED] = "false";
    for (uint32_t i = 0; profiles && i < plist_array_get_size(profiles); i++) {
        plist_t p = plist_array_get_item(profiles, i);
        plist_t mdm = plist_get_node_type(p) == PLIST_DICT ? find_item(p, "com.apple.mdm") : NULL;
        if (!mdm)
            continue;
        plist_t c = plist_dict_get_item(mdm, "PayloadContent");
        gint64 rights;
        v[MDM_COL_ENROLLED] = "true";
        v[MDM_COL_SERVER_URL] = orchard_plist_string(c, "ServerURL");
        v[MDM_COL_CHECKIN_URL] = orchard_plist_string(c, "CheckInURL");
        if (orchard_plist_int(c, "AccessRights", &rights) == 0)
            v[MDM_COL_ACCESS_RIGHTS] = owned[0] = g_strdup_printf("%" G_GINT64_FORMAT, rights);
        v[MDM_COL_INSTALL_DATE] = orchard_plist_string(p, "ProfileInstallDate");
        v[MDM_COL_PAYLOAD_IDENTIFIER] = orchard_plist_string(p, "ProfileIdentifier");
        v[MDM_COL_TOPIC] = orchard_plist_string(c, "Topic");
        v[MDM_COL_SIGN_MESSAGE] = bool_text(orchard_plist_bool(c, "SignMessage"));
        v[MDM_COL_IDENTITY_CERTIFICATE_UUID] = orchard_plist_string(c, "IdentityCertificateUUID");
        v[MDM_COL_HAS_SCEP_PAYLOAD] = bool_text(find_item(p, "com.apple.security.scep") != NULL);
        return;
    }
}

/* The value after "<label>:" on its line of `text`, trimmed, or NULL. g_free. */
static char *status_value(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    if (!p)
        return NULL;
    p += strlen(label);
    const char *end = strchr(p, '\n');
    return g_strstrip(g_strndup(p, end ? (size_t)(end - p) : strlen(p)));
}

/* installed_from_dep and user_approved from `profiles status -type enrollment`. */
static void fill_status(const char **v, orchard_mac_source *src)
{
    GBytes *out = NULL;
    g_autofree char *err = NULL;
    v[MDM_COL_USER_APPROVED] = "unknown";
    if (orchard_mac_profiles(src, ORCHARD_PROFILES_STATUS, &out, &err) != 0) {
        agent_warn("%s", err);
        return;
    }
    const char *text = g_bytes_get_data(out, NULL);
    g_autofree char *dep = status_value(text, "Enrolled via DEP:");
    g_autofree char *mdm = status_value(text, "MDM enrollment:");
    if (!dep && !mdm)
        agent_warn("profiles status -type enrollment: unexpected output (no \"MDM enrollment:\" line)");
    if (dep)
        v[MDM_COL_INSTALLED_FROM_DEP] = g_str_has_prefix(dep, "Yes") ? "true" : "false";
    if (mdm)
        v[MDM_COL_USER_APPROVED] = strstr(mdm, "User Approved") ? "true" : "false";
    g_bytes_unref(out);
}

/* `profiles show -type enrollment`: does Apple hold a DEP record for us? */
static const char *dep_from_show(orchard_mac_source *src)
{
    GBytes *out = NULL;
    g_autofree char *err = NULL;
    if (orchard_mac_profiles(src, ORCHARD_PROFILES_SHOW_ENROLLMENT, &out, &err) != 0) {
        agent_warn("%s", err);
        return "unknown";
    }
    const char *text = g_bytes_get_data(out, NULL);
    const char *answer = "unknown";
    if (strstr(text, "Error fetching Device Enrollment configuration") ||
        strstr(text, "No Device Enrollment configuration"))
        answer = "false";
    else if (strstr(text, "Device Enrollment configuration:") &&
             (strstr(text, "ConfigurationURL") || strstr(text, "OrganizationName")))
        answer = "true";
    g_bytes_unref(out);
    return answer;
}

static const char *dep_capable(orchard_mac_source *src)
{
    if (orchard_mac_exists(src, SETTINGS ".cloudConfigRecordNotFound"))
        return "false";
    if (orchard_mac_exists(src, SETTINGS ".cloudConfigRecordFound")) {
        plist_t rec = NULL;
        g_autofree char *err = NULL;
        int rc = orchard_mac_read_plist(src, SETTINGS ".cloudConfigRecordFound", &rec, &err);
        if (rc == 0) {
            int fetch_error = plist_get_node_type(rec) == PLIST_DICT &&
                              plist_dict_get_item(rec, "CloudConfigFetchError") != NULL;
            plist_free(rec);
            if (!fetch_error)
                return "true";
        } else {
            agent_warn("%s", err);
        }
    }
    return dep_from_show(src);
}

int mdm_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                 void *payload)
{
    (void)ctx;
    (void)query;
    (void)payload;
    orchard_mac_source *src = orchard_mac_source_get(orchard_agent_host);
    const char *v[MDM_N_COLUMNS] = {0};
    char *owned[1] = {NULL};
    plist_t root = NULL, profiles = NULL;

    if (agent_computer_profiles(src, &root, &profiles) == 0)
        fill_enrollment(v, owned, profiles);
    fill_status(v, src);
    v[MDM_COL_DEP_CAPABLE] = dep_capable(src);
    int rc = orchard_agent_host->row_add(rows, v, MDM_N_COLUMNS);
    g_free(owned[0]);
    if (root)
        plist_free(root);
    return rc;
}

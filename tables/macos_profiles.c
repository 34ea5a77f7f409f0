/*
 * macos_profiles: one row per device-wide configuration profile.
 *
 *   select display_name, identifier, install_date from macos_profiles
 *     where type = 'Configuration';
 *
 * Rows come from `profiles -C -o stdout-xml` (computer_profiles.c); an EQ
 * constraint on identifier skips the other profiles' checksums.
 */
#include "macos_profiles.gen.h"

#include "tables/agent.h"
#include "tables/mac/computer_profiles.h"
#include "tables/mac/plist_util.h"

#include <string.h>

/* Is identifier `id` allowed by the query's EQ constraints? */
static int identifier_wanted(const orchard_query_ctx *query, const char *id)
{
    const orchard_host_api *host = orchard_agent_host;
    int constrained = 0;
    for (size_t i = 0; i < host->ctx_count(query); i++) {
        const char *col, *expr;
        int op;
        host->ctx_get(query, i, &col, &op, &expr);
        if (op != ORCHARD_OP_EQ || strcmp(col, "identifier") != 0)
            continue;
        constrained = 1;
        if (expr && id && strcmp(expr, id) == 0)
            return 1;
    }
    return !constrained;
}

/* ProfileInstallDate is a string in profiles' output; format a date if not. */
static char *install_date(plist_t profile)
{
    gint64 t;
    const char *s = orchard_plist_string(profile, "ProfileInstallDate");
    if (s)
        return g_strdup(s);
    if (orchard_plist_date(profile, "ProfileInstallDate", &t) == 0) {
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
        return dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S +0000") : NULL;
    }
    return NULL;
}

static int add_profile(orchard_rows *rows, plist_t p)
{
    plist_t items = plist_get_node_type(p) == PLIST_DICT ? plist_dict_get_item(p, "ProfileItems")
                                                         : NULL;
    g_autofree char *date = install_date(p);
    g_autofree char *sum = items ? orchard_plist_canonical_sha256(items) : NULL;
    const char *values[MACOS_PROFILES_N_COLUMNS] = {
        [MACOS_PROFILES_COL_IDENTIFIER] = orchard_plist_string(p, "ProfileIdentifier"),
        [MACOS_PROFILES_COL_INSTALL_DATE] = date,
        [MACOS_PROFILES_COL_DISPLAY_NAME] = orchard_plist_string(p, "ProfileDisplayName"),
        [MACOS_PROFILES_COL_DESCRIPTION] = orchard_plist_string(p, "ProfileDescription"),
        [MACOS_PROFILES_COL_VERIFICATION_STATE] =
            orchard_plist_string(p, "ProfileVerificationState"),
        [MACOS_PROFILES_COL_UUID] = orchard_plist_string(p, "ProfileUUID"),
        [MACOS_PROFILES_COL_ORGANIZATION] = orchard_plist_string(p, "ProfileOrganization"),
        [MACOS_PROFILES_COL_TYPE] = orchard_plist_string(p, "ProfileType"),
        [MACOS_PROFILES_COL_PAYLOAD_CHECKSUM] = sum,
    };
    return orchard_agent_host->row_add(rows, values, MACOS_PROFILES_N_COLUMNS);
}

int macos_profiles_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                            void *payload)
{
    (void)ctx;
    (void)payload;
    plist_t root = NULL, profiles = NULL;
    int rc = 0;

    /* A failing `profiles` has been logged; the table is then empty. */
    if (agent_computer_profiles(orchard_mac_source_get(orchard_agent_host), &root,
                                &profiles) != 0 || !profiles)
        goto out;
    for (uint32_t i = 0; i < plist_array_get_size(profiles) && rc == 0; i++) {
        plist_t p = plist_array_get_item(profiles, i);
        if (plist_get_node_type(p) != PLIST_DICT ||
            !identifier_wanted(query, orchard_plist_string(p, "ProfileIdentifier")))
            continue;
        rc = add_profile(rows, p);
    }
out:
    if (root)
        plist_free(root);
    return rc;
}

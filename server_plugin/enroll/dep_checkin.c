/* What an Authenticate means for automatic enrollment (dep_checkin.h): the
 * DEP mark on the enrollment, then the default team. The team is looked up
 * by name on every call, so renaming or creating it takes effect at once,
 * as the setting's other readers do. */
#include "server_plugin/enroll/dep_checkin.h"
#include "server_plugin/commands/command.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_dep.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_teams.h"

#include <glib.h>
#include <string.h>

#define PLUGIN "orchard-server"
#define DEFAULT_TEAM_KEY "mdm.apple_bm_default_team"

static GMutex warned_lock;
static GHashTable *warned; /* team names already reported missing */

static const orchard_host_api *host(void) { return orchard_server_host; }

/* A missing team would otherwise be logged at every DEP enrollment. */
static void warn_missing(const char *name, const char *udid)
{
    g_mutex_lock(&warned_lock);
    if (!warned)
        warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int first = !g_hash_table_contains(warned, name);
    if (first)
        g_hash_table_add(warned, g_strdup(name));
    g_mutex_unlock(&warned_lock);
    if (first)
        host()->log(ORCHARD_LOG_WARNING, PLUGIN,
                    "dep: %s is \"%s\", which is no team: %s (and every Mac that enrolls "
                    "automatically until the team is created) stays in no team",
                    DEFAULT_TEAM_KEY, name, udid);
}

void orchard_dep_checkin_reset(void)
{
    g_mutex_lock(&warned_lock);
    g_clear_pointer(&warned, g_hash_table_destroy);
    g_mutex_unlock(&warned_lock);
}

static void default_team(const char *udid)
{
    const char *name = host()->config_get(DEFAULT_TEAM_KEY);
    gint64 team = 0;
    int moved = 0;
    if (!name || !*name)
        return;
    int rc = orchard_store_team_find(name, &team);
    if (rc == ORCHARD_ENOTFOUND) {
        warn_missing(name, udid);
        return;
    }
    if (rc == 0)
        rc = orchard_store_dep_default_team(udid, team, &moved);
    if (rc)
        host()->log(ORCHARD_LOG_ERROR, PLUGIN, "dep: putting %s in the default team \"%s\" "
                    "failed (%s)", udid, name, host()->strerror(rc));
    else if (moved)
        host()->log(ORCHARD_LOG_INFO, PLUGIN, "dep: %s joined the default team \"%s\"", udid,
                    name);
}

int orchard_dep_checkin_authenticated(const char *udid, const char *serial, int *is_dep)
{
    int dep = 0;
    if (is_dep)
        *is_dep = 0;
    int rc = orchard_store_dep_mark_enrolled(udid, serial, &dep);
    if (rc)
        return rc;
    if (dep) {
        host()->log(ORCHARD_LOG_INFO, PLUGIN, "dep: %s (serial %s) enrolled automatically "
                    "(through Apple Business Manager)", udid, serial);
        default_team(udid);
    }
    if (is_dep)
        *is_dep = dep;
    return 0;
}

int orchard_dep_checkin_configure(const char *udid, int awaiting_configuration)
{
    if (!awaiting_configuration)
        return 0;
    /* Nothing else holds setup back today (no bootstrap package or setup
     * software), so the Mac is released at once; the team's profiles reach
     * it through the reconciler as for any host. */
    g_autofree char *rnd = g_uuid_string_random();
    g_autofree char *uuid = g_strconcat(ORCHARD_DEP_CONFIGURED_UUID_PREFIX, rnd, NULL);
    g_autoptr(GBytes) plist = orchard_command_xml(uuid, "DeviceConfigured", plist_new_dict());
    if (!plist)
        return ORCHARD_ENOMEM;
    gsize len = 0;
    const void *data = g_bytes_get_data(plist, &len);
    g_autofree char *bad = NULL;
    const char *udids[] = {udid};
    int rc = orchard_store_command_enqueue(uuid, "DeviceConfigured", data, len, "orchard", udids,
                                           1, g_get_real_time(), &bad);
    if (rc)
        host()->log(ORCHARD_LOG_ERROR, PLUGIN, "dep: queueing DeviceConfigured for %s failed "
                    "(%s): it stays in Setup Assistant until it enrolls again", udid,
                    host()->strerror(rc));
    else
        host()->log(ORCHARD_LOG_INFO, PLUGIN, "dep: %s awaits configuration: DeviceConfigured "
                    "queued (%s)", udid, uuid);
    return rc;
}

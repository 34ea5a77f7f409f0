/* The commands the reconciler queues (InstallProfile, RemoveProfile,
 * ProfileList) as the XML plists the queue hands to devices, each under a
 * CommandUUID that names orchard's profiles flow and the command's kind,
 * so check-in routes its report back here without a store read. */
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/profiles/reconcile.h"
#include "server_plugin/commands/command.h"

#include <plist/plist.h>
#include <stdlib.h>

char *orchard_profiles_command_uuid(const char *tag)
{
    g_autofree char *u = g_uuid_string_random();
    g_autofree char *up = g_ascii_strup(u, -1);
    return g_strconcat(ORCHARD_PROFILES_UUID_PREFIX, tag, up, NULL);
}

GBytes *orchard_profiles_install_plist(const char *uuid, GBytes *content)
{
    gsize len = 0;
    const char *data = g_bytes_get_data(content, &len);
    plist_t body = plist_new_dict();
    plist_dict_set_item(body, "Payload", plist_new_data(data, len));
    return orchard_command_xml(uuid, "InstallProfile", body);
}

GBytes *orchard_profiles_remove_plist(const char *uuid, const char *identifier)
{
    plist_t body = plist_new_dict();
    plist_dict_set_item(body, "Identifier", plist_new_string(identifier));
    return orchard_command_xml(uuid, "RemoveProfile", body);
}

GBytes *orchard_profiles_list_plist(const char *uuid)
{
    return orchard_command_xml(uuid, "ProfileList", plist_new_dict());
}

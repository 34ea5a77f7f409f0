/* Commands that change the simulated Mac (InstallProfile, RemoveProfile),
 * carried out before the Mac reports on them, as macOS does: the report is
 * Acknowledged when the change was made, Error with an ErrorChain when it was
 * refused (a hostile payload, an unknown identifier, a test's --fail-profile). */
#include "tests/support/mac_sim/mac_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

/* The domains and codes the simulator reports; the texts say what happened. */
#define PROFILE_DOMAIN "MCProfileErrorDomain"
#define INSTALL_DOMAIN "MCInstallationErrorDomain"
#define MDM_DOMAIN "MCMDMErrorDomain"

static orchard_macsim_answer fail(orchard_macsim_command *cmd, const char *domain, unsigned code,
                                  const char *message)
{
    plist_free(cmd->error_chain);
    cmd->error_chain = macsim_error_chain(domain, code, message);
    return ORCHARD_MACSIM_ERROR;
}

static int told_to_fail(const orchard_macsim_mac *mac, const char *id, const char *const *fail,
                        size_t n_fail)
{
    for (size_t i = 0; i < n_fail; i++)
        if (fail[i] && strcmp(fail[i], id) == 0)
            return 1;
    for (size_t i = 0; i < mac->n_fail_profiles; i++)
        if (strcmp(mac->fail_profiles[i], id) == 0)
            return 1;
    return 0;
}

/* The PayloadIdentifier a payload would install as, without installing it
 * (to decide a --fail-profile before touching the Mac). NULL when unreadable. */
static char *identifier_of(const char *data, size_t len)
{
    unsigned char *inner = NULL;
    size_t inner_len = 0;
    if (len && (unsigned char)data[0] == 0x30) {
        if (!(inner = macsim_cms_content(data, len, &inner_len)))
            return NULL;
        data = (const char *)inner;
        len = inner_len;
    }
    plist_t root = NULL;
    char *id = NULL;
    if (macsim_plist_parse_guarded(&root, data, len, NULL) == 0)
        id = macsim_plist_string(root, "PayloadIdentifier");
    plist_free(root);
    free(inner);
    return id;
}

static orchard_macsim_answer install(const orchard_macsim_mac *mac, orchard_macsim_command *cmd,
                                     const char *const *fail_ids, size_t n_fail)
{
    plist_t payload = plist_dict_get_item(cmd->command, "Payload");
    char *data = NULL, *err = NULL, msg[1400];
    uint64_t len = 0;
    if (!payload || plist_get_node_type(payload) != PLIST_DATA)
        return fail(cmd, MDM_DOMAIN, 12001, "The InstallProfile command has no Payload data.");
    plist_get_data_val(payload, &data, &len);
    char *id = identifier_of(data, (size_t)len);
    orchard_macsim_answer a = ORCHARD_MACSIM_ACK;
    if (id && told_to_fail(mac, id, fail_ids, n_fail)) {
        snprintf(msg, sizeof msg,
                 "The simulated Mac was told to fail installing the profile \"%.1024s\".", id);
        a = fail(cmd, INSTALL_DOMAIN, 4001, msg);
    } else if (orchard_macsim_profile_install(mac, data, (size_t)len, NULL, &err)) {
        snprintf(msg, sizeof msg, "The profile could not be installed: %.1024s",
                 err ? err : "malformed");
        a = fail(cmd, PROFILE_DOMAIN, 1000, msg);
    }
    free(err);
    free(id);
    free(data);
    return a;
}

static orchard_macsim_answer remove_one(const orchard_macsim_mac *mac, orchard_macsim_command *cmd)
{
    char *id = macsim_plist_string(cmd->command, "Identifier"), *err = NULL, msg[1400];
    orchard_macsim_answer a = ORCHARD_MACSIM_ACK;
    if (!id || !*id) {
        a = fail(cmd, MDM_DOMAIN, 12001, "The RemoveProfile command has no Identifier.");
    } else if (orchard_macsim_profile_remove(mac, id, &err)) {
        snprintf(msg, sizeof msg, "The profile \"%.1024s\" could not be removed: %.256s", id,
                 err ? err : "failed");
        a = fail(cmd, PROFILE_DOMAIN, 1009, msg);
    }
    free(err);
    free(id);
    return a;
}

orchard_macsim_answer orchard_macsim_execute(const orchard_macsim_mac *mac,
                                             orchard_macsim_command *cmd,
                                             const char *const *fail, size_t n_fail,
                                             const char *managed_prefs)
{
    if (!cmd || !cmd->command || !cmd->request_type)
        return ORCHARD_MACSIM_ACK;
    orchard_macsim_answer a;
    if (strcmp(cmd->request_type, "InstallProfile") == 0)
        a = install(mac, cmd, fail, n_fail);
    else if (strcmp(cmd->request_type, "RemoveProfile") == 0)
        a = remove_one(mac, cmd);
    else
        return ORCHARD_MACSIM_ACK;
    if (a == ORCHARD_MACSIM_ACK && managed_prefs) {
        char *err = NULL;
        if (orchard_macsim_managed_prefs_sync(mac, managed_prefs, &err)) {
            orchard_macsim_event("error", mac, "during=s", "managed preferences", "message=s",
                                 err ? err : "failed", NULL);
            free(err);
        }
    }
    return a;
}

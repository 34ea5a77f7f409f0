/* The Mac's command loop (docs/protocols.md §8): Idle, then answer each command
 * the server hands out (Acknowledged, Error or NotNow as the test says) until
 * the server answers with an empty 200. InstallProfile and RemoveProfile
 * change the Mac first (execute.c); answers to DeviceInformation, ProfileList
 * and SecurityInfo carry what the Mac has. */
#include "tests/support/mac_sim/mac_sim.h"

#include <stdlib.h>
#include <string.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

int orchard_macsim_answer_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "ack") == 0)
        return ORCHARD_MACSIM_ACK;
    if (strcmp(s, "error") == 0)
        return ORCHARD_MACSIM_ERROR;
    if (strcmp(s, "notnow") == 0)
        return ORCHARD_MACSIM_NOTNOW;
    return -1;
}

void orchard_macsim_command_clear(orchard_macsim_command *c)
{
    if (!c)
        return;
    free(c->command_uuid);
    free(c->request_type);
    plist_free(c->command);
    plist_free(c->error_chain);
    memset(c, 0, sizeof *c);
}

int orchard_macsim_command_parse(orchard_macsim_command *out, const void *data, size_t len,
                                 char **error_msg)
{
    plist_t root = NULL;
    orchard_macsim_command c = {0};
    int rc = 0;
    if (macsim_plist_parse_guarded(&root, data, len, NULL) ||
        plist_get_node_type(root) != PLIST_DICT) {
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "the command is not a plist dictionary");
        goto out;
    }
    c.command_uuid = macsim_plist_string(root, "CommandUUID");
    c.request_type = macsim_plist_string(plist_dict_get_item(root, "Command"), "RequestType");
    if (!c.command_uuid || !*c.command_uuid || !c.request_type || !*c.request_type) {
        rc = macsim_fail(error_msg, ORCHARD_EINVAL,
                         "the command lacks CommandUUID or Command.RequestType");
        orchard_macsim_command_clear(&c);
        goto out;
    }
    c.command = plist_copy(plist_dict_get_item(root, "Command"));
    *out = c;
out:
    plist_free(root);
    return rc;
}

/* Every fact the Mac knows; a DeviceInformation answer carries the ones asked
 * for in Queries (a Mac leaves out what it was not asked and what it does not
 * know), or all of them when Queries is missing. */
static plist_t query_responses(const orchard_macsim_mac *mac, plist_t command)
{
    plist_t all = plist_new_dict();
    macsim_device_facts(all, mac);
    plist_dict_set_item(all, "UDID", plist_new_string(mac->udid));
    plist_dict_set_item(all, "IsSupervised", plist_new_bool(0));
    plist_dict_set_item(all, "DeviceCapacity", plist_new_real(460.4));
    plist_dict_set_item(all, "AvailableDeviceCapacity", plist_new_real(212.9));
    plist_t queries = command ? plist_dict_get_item(command, "Queries") : NULL;
    if (!queries || plist_get_node_type(queries) != PLIST_ARRAY)
        return all;
    plist_t asked = plist_new_dict();
    for (uint32_t i = 0; i < plist_array_get_size(queries); i++) {
        plist_t q = plist_array_get_item(queries, i);
        char *key = NULL;
        if (plist_get_node_type(q) == PLIST_STRING)
            plist_get_string_val(q, &key);
        plist_t v = key ? plist_dict_get_item(all, key) : NULL;
        if (v)
            plist_dict_set_item(asked, key, plist_copy(v));
        free(key);
    }
    plist_free(all);
    return asked;
}

static plist_t security_info(void)
{
    plist_t fw = plist_new_dict();
    plist_dict_set_item(fw, "FirewallEnabled", plist_new_bool(1));
    plist_dict_set_item(fw, "BlockAllIncoming", plist_new_bool(0));
    plist_dict_set_item(fw, "StealthMode", plist_new_bool(0));
    plist_t s = plist_new_dict();
    plist_dict_set_item(s, "FDE_Enabled", plist_new_bool(1));
    plist_dict_set_item(s, "FDE_HasPersonalRecoveryKey", plist_new_bool(1));
    plist_dict_set_item(s, "SystemIntegrityProtectionEnabled", plist_new_bool(1));
    plist_dict_set_item(s, "AuthenticatedRootVolumeEnabled", plist_new_bool(1));
    plist_dict_set_item(s, "IsRecoveryLockEnabled", plist_new_bool(0));
    plist_dict_set_item(s, "FirewallSettings", fw);
    return s;
}

static plist_t error_chain(const orchard_macsim_command *cmd)
{
    if (cmd->error_chain)
        return plist_copy(cmd->error_chain);
    char msg[256];
    snprintf(msg, sizeof msg, "The simulated Mac was told to fail %.200s.", cmd->request_type);
    return macsim_error_chain("MCMDMErrorDomain", 12021, msg);
}

int orchard_macsim_report_body(char **xml, size_t *len, const orchard_macsim_mac *mac,
                               const orchard_macsim_command *cmd, orchard_macsim_answer answer,
                               char **error_msg)
{
    static const char *const status[] = {"Acknowledged", "Error", "NotNow"};
    plist_t d = plist_new_dict();
    plist_dict_set_item(d, "UDID", plist_new_string(mac->udid));
    if (!cmd) {
        plist_dict_set_item(d, "Status", plist_new_string("Idle"));
    } else {
        plist_dict_set_item(d, "Status", plist_new_string(status[answer]));
        plist_dict_set_item(d, "CommandUUID", plist_new_string(cmd->command_uuid));
        const char *rt = cmd->request_type;
        if (answer == ORCHARD_MACSIM_ERROR)
            plist_dict_set_item(d, "ErrorChain", error_chain(cmd));
        else if (answer == ORCHARD_MACSIM_ACK && strcmp(rt, "DeviceInformation") == 0)
            plist_dict_set_item(d, "QueryResponses", query_responses(mac, cmd->command));
        else if (answer == ORCHARD_MACSIM_ACK && strcmp(rt, "ProfileList") == 0)
            plist_dict_set_item(d, "ProfileList", orchard_macsim_profile_list(mac));
        else if (answer == ORCHARD_MACSIM_ACK && strcmp(rt, "SecurityInfo") == 0)
            plist_dict_set_item(d, "SecurityInfo", security_info());
    }
    int rc = macsim_plist_xml(xml, len, d);
    plist_free(d);
    return rc ? macsim_fail(error_msg, rc, "libplist could not write a report") : 0;
}

static orchard_macsim_answer answer_for(const orchard_macsim_poll_opts *o, const char *rt)
{
    for (size_t i = 0; i < o->n_overrides; i++)
        if (strcmp(o->overrides[i].request_type, rt) == 0)
            return o->overrides[i].answer;
    return o->answer;
}

int orchard_macsim_poll(orchard_macsim_mac *mac, orchard_macsim_http *h,
                        const orchard_macsim_poll_opts *opts, orchard_macsim_poll_result *res,
                        char **error_msg)
{
    static const char *const status_name[] = {"Acknowledged", "Error", "NotNow"};
    int max = opts->max_commands > 0 ? opts->max_commands : 1000;
    orchard_macsim_command cmd = {0};
    orchard_macsim_response r = {0};
    char *xml = NULL;
    size_t len = 0;
    int rc = orchard_macsim_report_body(&xml, &len, mac, NULL, 0, error_msg);
    memset(res, 0, sizeof *res);
    const char *prefs = opts->managed_prefs ? opts->managed_prefs : mac->managed_prefs;
    char *perr = NULL;
    /* The root shows the Mac's OS version from the start (Nudge's compliance). */
    if (!rc && prefs && orchard_macsim_managed_prefs_sync(mac, prefs, &perr)) {
        orchard_macsim_event("error", mac, "during=s", "managed preferences", "message=s", perr,
                             NULL);
        free(perr);
    }
    const char *sent = "Idle";
    while (!rc) {
        rc = orchard_macsim_send(h, mac, ORCHARD_MACSIM_CT_REPORT, xml, len, NULL, &r, error_msg);
        free(xml);
        xml = NULL;
        if (rc)
            break;
        res->status = r.status;
        if (r.status != 200) {
            orchard_macsim_event("refused", mac, "message=s", sent, "status=l", r.status, NULL);
            rc = macsim_fail(error_msg, ORCHARD_EPROTO, "%s: %s answered HTTP %ld", mac->udid,
                             sent, r.status);
            break;
        }
        if (r.len == 0)
            break; /* nothing more to do: the session ends */
        if (res->commands >= max) {
            rc = macsim_fail(error_msg, ORCHARD_EPROTO, "%s: more than %d commands in a session",
                             mac->udid, max);
            break;
        }
        if ((rc = orchard_macsim_command_parse(&cmd, r.body, r.len, error_msg)))
            break;
        res->commands++;
        orchard_macsim_event("command", mac, "command_uuid=s", cmd.command_uuid,
                             "request_type=s", cmd.request_type, NULL);
        orchard_macsim_answer a = answer_for(opts, cmd.request_type);
        if (a == ORCHARD_MACSIM_ACK)
            a = orchard_macsim_execute(mac, &cmd, opts->fail_profiles, opts->n_fail_profiles,
                                       prefs);
        res->acked += a == ORCHARD_MACSIM_ACK;
        res->errored += a == ORCHARD_MACSIM_ERROR;
        res->notnow += a == ORCHARD_MACSIM_NOTNOW;
        rc = orchard_macsim_report_body(&xml, &len, mac, &cmd, a, error_msg);
        if (!rc)
            orchard_macsim_event("answered", mac, "command_uuid=s", cmd.command_uuid,
                                 "request_type=s", cmd.request_type, "status=s", status_name[a],
                                 NULL);
        sent = status_name[a];
        orchard_macsim_command_clear(&cmd);
        orchard_macsim_response_clear(&r);
    }
    orchard_macsim_command_clear(&cmd);
    orchard_macsim_response_clear(&r);
    free(xml);
    return rc;
}

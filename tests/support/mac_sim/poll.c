/* The Mac's command loop (docs/protocols.md §8): Idle, then answer each command
 * the server hands out (Acknowledged, Error or NotNow as the test says) until
 * the server answers with an empty 200. Acknowledged answers to
 * DeviceInformation, ProfileList and SecurityInfo carry plausible data. */
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
    memset(c, 0, sizeof *c);
}

int orchard_macsim_command_parse(orchard_macsim_command *out, const void *data, size_t len,
                                 char **error_msg)
{
    plist_t root = macsim_plist_parse(data, len);
    orchard_macsim_command c = {0};
    int rc = 0;
    if (!root || plist_get_node_type(root) != PLIST_DICT) {
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
    *out = c;
out:
    plist_free(root);
    return rc;
}

static plist_t query_responses(const orchard_macsim_mac *mac)
{
    plist_t q = plist_new_dict();
    macsim_device_facts(q, mac);
    plist_dict_set_item(q, "UDID", plist_new_string(mac->udid));
    plist_dict_set_item(q, "IsSupervised", plist_new_bool(0));
    plist_dict_set_item(q, "DeviceCapacity", plist_new_real(460.4));
    plist_dict_set_item(q, "AvailableDeviceCapacity", plist_new_real(212.9));
    return q;
}

/* The enrollment profile as ProfileList reports it. */
static plist_t profile_list(const orchard_macsim_mac *mac)
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
    plist_t list = plist_new_array();
    plist_array_append_item(list, p);
    return list;
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

static plist_t error_chain(const char *request_type)
{
    char msg[256];
    snprintf(msg, sizeof msg, "The simulated Mac was told to fail %s.", request_type);
    plist_t e = plist_new_dict();
    plist_dict_set_item(e, "ErrorCode", plist_new_uint(12021));
    plist_dict_set_item(e, "ErrorDomain", plist_new_string("MCMDMErrorDomain"));
    plist_dict_set_item(e, "LocalizedDescription", plist_new_string(msg));
    plist_dict_set_item(e, "USEnglishDescription", plist_new_string(msg));
    plist_t chain = plist_new_array();
    plist_array_append_item(chain, e);
    return chain;
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
            plist_dict_set_item(d, "ErrorChain", error_chain(rt));
        else if (answer == ORCHARD_MACSIM_ACK && strcmp(rt, "DeviceInformation") == 0)
            plist_dict_set_item(d, "QueryResponses", query_responses(mac));
        else if (answer == ORCHARD_MACSIM_ACK && strcmp(rt, "ProfileList") == 0)
            plist_dict_set_item(d, "ProfileList", profile_list(mac));
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

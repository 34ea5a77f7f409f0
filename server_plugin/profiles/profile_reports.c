/* Devices' reports on the reconciler's commands (routed here by check-in,
 * checkin_report.c, after the queue recorded them): InstallProfile and
 * RemoveProfile move the host's row on (verifying, deleted, retried once,
 * failed with the ErrorChain's words), and a ProfileList answer verifies
 * what the Mac really has. A report on a command that no longer carries
 * the row (a newer one replaced it) changes nothing. */
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/profiles/reconcile.h"

#include "server_plugin/server.h"
#include "server_plugin/store/store_queue.h"

#include <string.h>

static const char *const WHAT = "recording a report on a profile command";

/* ---- the ErrorChain in words */

static const char *dict_string(plist_t dict, const char *key)
{
    plist_t n = plist_dict_get_item(dict, key);
    const char *v = NULL;
    if (n && plist_get_node_type(n) == PLIST_STRING)
        v = plist_get_string_ptr(n, NULL);
    return v && *v ? v : NULL;
}

static void append_entry(GString *out, plist_t e)
{
    const char *desc = dict_string(e, "LocalizedDescription");
    const char *domain = dict_string(e, "ErrorDomain");
    plist_t code = plist_dict_get_item(e, "ErrorCode");
    if (!desc)
        desc = dict_string(e, "USEnglishDescription");
    if (!desc && !domain && !code)
        return;
    if (out->len)
        g_string_append(out, "; ");
    g_string_append(out, desc ? desc : "(no description)");
    int has_code = code && plist_get_node_type(code) == PLIST_UINT;
    if (domain || has_code) {
        g_string_append(out, " (");
        if (domain)
            g_string_append(out, domain);
        if (has_code) {
            /* libplist keeps every integer as 64 bits; a negative code reads back as such. */
            uint64_t v = 0;
            plist_get_uint_val(code, &v);
            g_string_append_printf(out, "%s%" G_GINT64_FORMAT, domain ? " " : "code ", (gint64)v);
        }
        g_string_append_c(out, ')');
    }
}

/* Readable text of the report's ErrorChain: "description (domain code); ...",
 * valid UTF-8 without control characters, at most
 * ORCHARD_PROFILES_DETAIL_MAX bytes. g_free. */
static char *error_text(plist_t root, const char *status)
{
    g_autoptr(GString) out = g_string_new(NULL);
    plist_t chain = root ? plist_dict_get_item(root, "ErrorChain") : NULL;
    if (chain && plist_get_node_type(chain) == PLIST_ARRAY) {
        uint32_t n = plist_array_get_size(chain);
        for (uint32_t i = 0; i < n && out->len < ORCHARD_PROFILES_DETAIL_MAX; i++) {
            plist_t e = plist_array_get_item(chain, i);
            if (e && plist_get_node_type(e) == PLIST_DICT)
                append_entry(out, e);
        }
    }
    if (!out->len)
        g_string_printf(out, "the device answered %s without an ErrorChain", status);
    char *text = g_utf8_make_valid(out->str, -1);
    for (char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    if (strlen(text) > ORCHARD_PROFILES_DETAIL_MAX) {
        const char *end = text + ORCHARD_PROFILES_DETAIL_MAX;
        /* Cut at a character boundary. */
        while (end > text && ((unsigned char)*end & 0xc0) == 0x80)
            end--;
        text[end - text] = '\0';
    }
    return text;
}

/* ---- a retry: the same profile once more, as a new command for this host */

static int reinstall(orchard_store_tx *tx, const orchard_hp_state *s, gint64 now)
{
    g_autoptr(GBytes) content = NULL;
    int rc = s->profile_id ? orchard_store_hp_content(tx, s->profile_id, s->checksum, &content)
                           : ORCHARD_ENOTFOUND;
    if (rc)
        return rc;
    g_autofree char *uuid = orchard_profiles_command_uuid(ORCHARD_PROFILES_INSTALL_TAG);
    g_autoptr(GBytes) plist = orchard_profiles_install_plist(uuid, content);
    gsize len = 0;
    const void *data = g_bytes_get_data(plist, &len);
    const char *udid = s->udid;
    /* No push: the host is checking in right now and is handed the new
     * command in this very answer (check-in replies with what is next). */
    rc = orchard_store_hp_enqueue(tx, uuid, "InstallProfile", data, len, &udid, 1,
                                  g_get_real_time());
    if (rc == 0)
        rc = orchard_store_hp_update(tx, s->udid, s->identifier, ORCHARD_PROFILE_PENDING, "",
                                     s->retries + 1, uuid, now);
    return rc;
}

/* Retry once (Fleet does), then failed with `detail`. */
static int retry_or_fail(orchard_store_tx *tx, const orchard_hp_state *s, const char *detail,
                         gint64 now)
{
    if (s->retries == 0) {
        int rc = reinstall(tx, s, now);
        if (rc != ORCHARD_ENOTFOUND)
            return rc;
        /* The profile changed or went meanwhile: the reconciler's next
         * pass installs the new one or removes the row. */
    }
    return orchard_store_hp_update(tx, s->udid, s->identifier, ORCHARD_PROFILE_FAILED, detail,
                                   s->retries, s->command_uuid, now);
}

/* ---- InstallProfile and RemoveProfile */

static int command_report(const char *udid, const char *uuid, const char *status, plist_t root,
                          gint64 now)
{
    int ok = strcmp(status, ORCHARD_CMD_ACKNOWLEDGED) == 0;
    int err = strcmp(status, ORCHARD_CMD_ERROR) == 0 ||
              strcmp(status, ORCHARD_CMD_FORMAT_ERROR) == 0;
    if (!ok && !err) /* NotNow: it stays queued and comes back */
        return 0;
    g_autofree char *detail = err ? error_text(root, status) : NULL;
    orchard_store_tx *tx = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    int rc = orchard_store_hp_begin(1, WHAT, &tx);
    if (rc)
        return rc;
    rc = orchard_store_hp_by_command(tx, udid, uuid, &rows);
    for (guint i = 0; rc == 0 && i < rows->len; i++) {
        const orchard_hp_state *s = rows->pdata[i];
        int install = strcmp(s->operation, "install") == 0;
        if (strcmp(s->status, ORCHARD_PROFILE_PENDING) != 0)
            continue; /* a repeated report: the first one counted */
        if (install && ok)
            rc = orchard_store_hp_update(tx, udid, s->identifier, ORCHARD_PROFILE_VERIFYING, "",
                                         s->retries, uuid, now);
        else if (install)
            rc = retry_or_fail(tx, s, detail, now);
        else if (ok)
            rc = orchard_store_hp_delete(tx, udid, s->identifier);
        else
            rc = orchard_store_hp_update(tx, udid, s->identifier, ORCHARD_PROFILE_FAILED, detail,
                                         s->retries, uuid, now);
    }
    return orchard_store_hp_end(tx, rc, WHAT);
}

/* ---- ProfileList */

/* "identifier" + PayloadUUID as one unambiguous key (the length first). */
static char *pair_key(const char *identifier, const char *payload_uuid)
{
    return g_strdup_printf("%zu:%s%s", strlen(identifier), identifier, payload_uuid);
}

/* The answer's (PayloadIdentifier, PayloadUUID) pairs; NULL when the answer
 * has no ProfileList array (nothing is judged on a malformed answer).
 * Entries that are not dicts with both strings are skipped. */
static GHashTable *listed_pairs(plist_t root)
{
    plist_t list = root ? plist_dict_get_item(root, "ProfileList") : NULL;
    if (!list || plist_get_node_type(list) != PLIST_ARRAY)
        return NULL;
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    uint32_t n = plist_array_get_size(list);
    for (uint32_t i = 0; i < n; i++) {
        plist_t e = plist_array_get_item(list, i);
        if (!e || plist_get_node_type(e) != PLIST_DICT)
            continue;
        const char *id = dict_string(e, "PayloadIdentifier");
        const char *uuid = dict_string(e, "PayloadUUID");
        if (id && uuid)
            g_hash_table_add(set, pair_key(id, uuid));
    }
    return set;
}

static int list_report(orchard_ctx *ctx, const char *udid, const char *status, plist_t root,
                       gint64 now)
{
    const orchard_host_api *h = orchard_server_host;
    if (strcmp(status, ORCHARD_CMD_ACKNOWLEDGED) != 0) {
        /* Asked again once the answer is a day late (reconcile_plan.c). */
        if (strcmp(status, ORCHARD_CMD_NOT_NOW) != 0)
            h->ctx_log(ctx, ORCHARD_LOG_WARNING, "profiles: %s answered ProfileList with %s",
                       udid, status);
        return 0;
    }
    g_autoptr(GHashTable) listed = listed_pairs(root);
    if (!listed) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "profiles: %s answered ProfileList without a "
                   "ProfileList array: ignored", udid);
        return 0;
    }
    orchard_store_tx *tx = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    int rc = orchard_store_hp_begin(1, WHAT, &tx);
    if (rc)
        return rc;
    rc = orchard_store_hp_list_answered(tx, udid, now, NULL);
    if (rc == 0)
        rc = orchard_store_hp_installed(tx, udid, &rows);
    for (guint i = 0; rc == 0 && i < rows->len; i++) {
        const orchard_hp_state *s = rows->pdata[i];
        g_autofree char *key = pair_key(s->identifier, s->payload_uuid);
        if (g_hash_table_contains(listed, key)) {
            if (strcmp(s->status, ORCHARD_PROFILE_VERIFYING) == 0)
                rc = orchard_store_hp_update(tx, udid, s->identifier, ORCHARD_PROFILE_VERIFIED,
                                             "", s->retries, s->command_uuid, now);
        } else {
            /* A Mac runs its commands one at a time and reports each before
             * it is handed the next, so an install acknowledged before this
             * answer arrived ran before the ProfileList: it is not there. */
            rc = retry_or_fail(tx, s, "profile not found on the host", now);
        }
    }
    return orchard_store_hp_end(tx, rc, WHAT);
}

int orchard_profiles_report(orchard_ctx *ctx, const char *udid, const char *command_uuid,
                            const char *status, plist_t root, const char *error_chain_json,
                            gint64 now)
{
    (void)error_chain_json; /* the plist itself is read: it has the descriptions */
    if (!udid || !command_uuid || !status ||
        !g_str_has_prefix(command_uuid, ORCHARD_PROFILES_UUID_PREFIX))
        return ORCHARD_EINVAL;
    const char *kind = command_uuid + strlen(ORCHARD_PROFILES_UUID_PREFIX);
    int rc;
    if (g_str_has_prefix(kind, ORCHARD_PROFILES_LIST_TAG))
        rc = list_report(ctx, udid, status, root, now);
    else if (g_str_has_prefix(kind, ORCHARD_PROFILES_INSTALL_TAG) ||
             g_str_has_prefix(kind, ORCHARD_PROFILES_REMOVE_TAG)) {
        rc = command_report(udid, command_uuid, status, root, now);
        /* An acknowledged install wants its ProfileList, a failed one its
         * retry: ask for a pass now rather than at the next interval
         * (requests coalesce, so a burst of reports costs one pass per
         * tick of the job). */
        if (rc == 0 && ctx && strcmp(status, ORCHARD_CMD_NOT_NOW) != 0)
            orchard_profiles_request_pass(ctx);
    } else
        return 0; /* not one of ours in shape: nothing carries it */
    if (rc)
        orchard_server_host->ctx_log(ctx, ORCHARD_LOG_WARNING, "profiles: the %s report from %s "
                                     "on %s was not applied (%s); the reconciler repairs it",
                                     status, udid, command_uuid,
                                     orchard_server_host->strerror(rc));
    return rc;
}

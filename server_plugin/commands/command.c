/* Checking an admin's MDM command (command.h): caps first, then libplist,
 * then the two things a device needs (Command.RequestType, CommandUUID),
 * then the XML the queue keeps. Every refusal names what is wrong, since an
 * admin reads it in the API's 400. */
#include "server_plugin/commands/command.h"
#include "server_plugin/plist/plist_guard.h"

#include <orchard/plugin.h>

#include <plist/plist.h>
#include <stdlib.h>
#include <string.h>

void orchard_command_parsed_clear(orchard_command_parsed *c)
{
    if (!c)
        return;
    g_free(c->uuid);
    g_free(c->request_type);
    g_free(c->xml);
    memset(c, 0, sizeof *c);
}

/* Letters, digits and "-_." only: the UUID travels in URLs, logs and JSON. */
static int uuid_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!g_ascii_isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            return 0;
    }
    return 1;
}

/* A string value at `key` of dict `d`: 0 and *s (borrowed) with *n; else
 * ORCHARD_EINVAL with the reason (`name` is the key as an admin writes it). */
static int string_at(plist_t d, const char *key, const char *name, int required,
                     const char **s, uint64_t *n, char **reason)
{
    plist_t node = plist_dict_get_item(d, key);
    *s = NULL;
    *n = 0;
    if (!node) {
        if (required)
            *reason = g_strdup_printf("%s is missing", name);
        return required ? ORCHARD_EINVAL : 0;
    }
    if (plist_get_node_type(node) != PLIST_STRING) {
        *reason = g_strdup_printf("%s must be a string", name);
        return ORCHARD_EINVAL;
    }
    *s = plist_get_string_ptr(node, n);
    if (!*s || *n == 0) {
        *reason = g_strdup_printf("%s is empty", name);
        return ORCHARD_EINVAL;
    }
    if (memchr(*s, '\0', (size_t)*n)) {
        *reason = g_strdup_printf("%s holds a NUL character", name);
        return ORCHARD_EINVAL;
    }
    return 0;
}

/* Text XML can carry: UTF-8 without NUL or control characters other than
 * tab and line breaks. A binary plist can hold anything; written as XML, it
 * would reach the device as a plist that does not parse. */
static int text_ok(const char *s, uint64_t n)
{
    if (!g_utf8_validate_len(s, (gsize)n, NULL))
        return 0;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f)
            return 0;
    }
    return 1;
}

#define NOT_TEXT "the command holds a key or string that is not UTF-8 text (control " \
    "characters and NUL cannot travel in an XML plist)"

/* Every key and string of the tree is text_ok, and no dictionary repeats a
 * key (libplist keeps keys as C strings, so a binary plist's "Command\0x"
 * becomes a second "Command": the XML would then say something else). The
 * precheck bounded the depth, so recursion is safe here. 0, or EINVAL with
 * the reason. */
static int tree_ok(plist_t node, char **reason)
{
    plist_type type = plist_get_node_type(node);
    plist_t child = NULL;
    int rc = 0;
    if (type == PLIST_STRING) {
        uint64_t n = 0;
        const char *s = plist_get_string_ptr(node, &n);
        if (!s || !text_ok(s, n))
            goto not_text;
        return 0;
    }
    if (type == PLIST_ARRAY) {
        plist_array_iter it = NULL;
        plist_array_new_iter(node, &it);
        for (plist_array_next_item(node, it, &child); !rc && child;
             plist_array_next_item(node, it, &child))
            rc = tree_ok(child, reason);
        free(it);
    } else if (type == PLIST_DICT) {
        plist_dict_iter it = NULL;
        char *key = NULL;
        GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        plist_dict_new_iter(node, &it);
        for (plist_dict_next_item(node, it, &key, &child); !rc && child && key;
             plist_dict_next_item(node, it, &key, &child)) {
            if (!text_ok(key, strlen(key))) {
                free(key);
                *reason = g_strdup(NOT_TEXT);
                rc = ORCHARD_EINVAL;
            } else if (!g_hash_table_add(seen, key)) {
                *reason = g_strdup_printf("the command repeats the key \"%s\" in one dictionary",
                                          key);
                rc = ORCHARD_EINVAL;
            } else {
                rc = tree_ok(child, reason);
            }
            key = NULL; /* freed above, or the set's (which frees a repeat's first copy) */
        }
        free(key);
        free(it);
        g_hash_table_destroy(seen);
    }
    return rc;
not_text:
    *reason = g_strdup(NOT_TEXT);
    return ORCHARD_EINVAL;
}

/* Command.RequestType and CommandUUID, checked; the UUID made when missing. */
static int check_fields(plist_t root, orchard_command_parsed *out, char **reason)
{
    if (plist_get_node_type(root) != PLIST_DICT) {
        *reason = g_strdup("the command must be a plist dictionary");
        return ORCHARD_EINVAL;
    }
    plist_t cmd = plist_dict_get_item(root, "Command");
    if (!cmd) {
        *reason = g_strdup("Command is missing");
        return ORCHARD_EINVAL;
    }
    if (plist_get_node_type(cmd) != PLIST_DICT) {
        *reason = g_strdup("Command must be a dictionary");
        return ORCHARD_EINVAL;
    }
    const char *type, *uuid;
    uint64_t type_len, uuid_len;
    int rc = string_at(cmd, "RequestType", "Command.RequestType", 1, &type, &type_len, reason);
    if (rc)
        return rc;
    if (type_len > ORCHARD_COMMAND_TYPE_MAX || !uuid_chars_ok(type, (size_t)type_len)) {
        *reason = g_strdup_printf("Command.RequestType must be at most %d letters, digits, "
                                  "'-', '_' or '.'", ORCHARD_COMMAND_TYPE_MAX);
        return ORCHARD_EINVAL;
    }
    if ((rc = string_at(root, "CommandUUID", "CommandUUID", 0, &uuid, &uuid_len, reason)))
        return rc;
    if (uuid && (uuid_len > ORCHARD_COMMAND_UUID_MAX || !uuid_chars_ok(uuid, (size_t)uuid_len))) {
        *reason = g_strdup_printf("CommandUUID must be at most %d letters, digits, '-', '_' or "
                                  "'.'", ORCHARD_COMMAND_UUID_MAX);
        return ORCHARD_EINVAL;
    }
    out->request_type = g_strndup(type, (gsize)type_len);
    if (uuid) {
        out->uuid = g_strndup(uuid, (gsize)uuid_len);
    } else {
        /* Upper case, as Apple's own tools and NanoMDM's examples write it. */
        g_autofree char *made = g_uuid_string_random();
        out->uuid = g_ascii_strup(made, -1);
        out->generated_uuid = 1;
        plist_dict_set_item(root, "CommandUUID", plist_new_string(out->uuid));
    }
    return 0;
}

int orchard_command_parse(const void *data, size_t len, orchard_command_parsed *out,
                          char **reason)
{
    plist_t root = NULL;
    char *xml = NULL;
    uint32_t xml_len = 0;
    int rc;

    memset(out, 0, sizeof *out);
    *reason = NULL;
    if (len > ORCHARD_COMMAND_MAX_BYTES) {
        *reason = g_strdup_printf("the command is %zu bytes; the limit is %d", len,
                                  ORCHARD_COMMAND_MAX_BYTES);
        return ORCHARD_ETOOBIG;
    }
    if (!data || len == 0) {
        *reason = g_strdup("the command is empty");
        return ORCHARD_EINVAL;
    }
    static const orchard_plist_limits limits = {
        .max_depth = ORCHARD_COMMAND_MAX_DEPTH,
        .max_nodes = 1L << 20, /* objects once libplist copies shared ones */
        .allow_binary = 1,
    };
    const char *why = NULL;
    if ((rc = orchard_plist_guard(data, len, &limits, &why))) {
        *reason = rc == ORCHARD_ETOOBIG
                      ? g_strdup_printf("%s (limits: %d levels, %ld objects)", why,
                                        limits.max_depth, limits.max_nodes)
                      : g_strdup(why);
        return rc;
    }
    /* libplist gets a NUL-terminated copy: its XML parser reads to a NUL. */
    char *copy = g_malloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = '\0';
    plist_from_memory(copy, (uint32_t)len, &root);
    g_free(copy);
    if (!root) {
        *reason = g_strdup("the command is not a plist (XML or binary), or it is truncated");
        return ORCHARD_EINVAL;
    }
    if ((rc = check_fields(root, out, reason)))
        goto cleanup;
    if ((rc = tree_ok(root, reason)))
        goto cleanup;
    plist_to_xml(root, &xml, &xml_len);
    if (!xml || xml_len == 0) {
        *reason = g_strdup("the command could not be written as XML");
        rc = ORCHARD_EINVAL;
        goto cleanup;
    }
    out->xml = g_strndup(xml, xml_len);
    out->xml_len = xml_len;
    rc = 0;
cleanup:
    if (xml)
        plist_to_xml_free(xml);
    plist_free(root);
    if (rc)
        orchard_command_parsed_clear(out);
    return rc;
}

GBytes *orchard_command_xml(const char *uuid, const char *type, plist_t body)
{
    plist_t root = plist_new_dict();
    plist_dict_set_item(body, "RequestType", plist_new_string(type));
    plist_dict_set_item(root, "CommandUUID", plist_new_string(uuid));
    plist_dict_set_item(root, "Command", body);
    char *xml = NULL;
    uint32_t len = 0;
    plist_to_xml(root, &xml, &len);
    plist_free(root);
    /* libplist allocates with malloc: copy into GLib's allocator. */
    GBytes *out = xml ? g_bytes_new(xml, len) : NULL;
    free(xml);
    return out;
}

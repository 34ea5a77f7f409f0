/* Checking an admin's configuration profile (orchard_profile_validate,
 * profiles.h) before the store keeps it: the size cap, a CMS SignedData
 * opened to its content (the signature is the device's business), the
 * plist guard before libplist, then the profile's shape and the payloads
 * orchard manages itself. Reasons are sentences an admin reads in a 400;
 * the API puts "Couldn't upload." or the profile's position before them. */
#include "server_plugin/profiles/profiles.h"

#include "server_plugin/plist/plist_guard.h"
#include "server_plugin/updates/updates.h"

#include <openssl/bio.h>
#include <openssl/pem.h> /* before cms.h, which declares PEM_read_bio_CMS only after it */
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than any profile Apple documents (custom settings nest a few
 * levels under PayloadContent), far below what hurts libplist. */
#define PROFILE_MAX_DEPTH 64
/* Objects after a binary plist's shared references are copied. */
#define PROFILE_MAX_NODES (1L << 20)
/* Longest identifier, name and UUID (Fleet keeps them in 255-character columns). */
#define PROFILE_FIELD_MAX 255

void orchard_profile_info_clear(orchard_profile_info *info)
{
    if (!info)
        return;
    g_free(info->identifier);
    g_free(info->name);
    g_free(info->payload_uuid);
    memset(info, 0, sizeof *info);
}

/* ---- CMS SignedData */

/* DER starts with a SEQUENCE; PEM with its armour. 1 when `data` looks signed. */
static int looks_signed(const unsigned char *data, size_t len)
{
    static const char pem[] = "-----BEGIN ";
    size_t off = 0;
    if (data[0] == 0x30)
        return 1; /* no XML or binary plist starts with '0' */
    while (off < len && data[off] && strchr(" \t\r\n", data[off]))
        off++;
    return len - off >= sizeof pem - 1 && memcmp(data + off, pem, sizeof pem - 1) == 0;
}

/* The content a SignedData carries (g_free into *content). The signature is
 * not checked: the device judges it, and an admin may upload a profile
 * signed by a certificate this server does not know. */
static int open_signed(const unsigned char *data, size_t len, unsigned char **content,
                       size_t *content_len, char **reason)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    CMS_ContentInfo *cms = NULL;
    int rc = ORCHARD_EINVAL;
    if (!bio)
        return ORCHARD_ENOMEM;
    cms = data[0] == 0x30 ? d2i_CMS_bio(bio, NULL) : PEM_read_bio_CMS(bio, NULL, NULL, NULL);
    if (!cms) {
        *reason = g_strdup("The file looks signed, but it is not a CMS (PKCS #7) structure "
                           "that can be read. Upload the .mobileconfig as exported, signed or "
                           "not.");
        goto cleanup;
    }
    if (data[0] == 0x30 && BIO_ctrl_pending(bio) > 0) {
        /* The Mac gets the file as uploaded: bytes past the structure
         * would reach it unchecked. */
        *reason = g_strdup_printf("The signed file has %zu bytes after its end. Upload the "
                                  "signed profile as it was exported.",
                                  (size_t)BIO_ctrl_pending(bio));
        goto cleanup;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        *reason = g_strdup("The file is a CMS structure, but not a signed profile (SignedData). "
                           "Encrypted or enveloped profiles can't be checked; upload it "
                           "unencrypted.");
        goto cleanup;
    }
    ASN1_OCTET_STRING **os = CMS_get0_content(cms);
    if (!os || !*os) {
        *reason = g_strdup("The signed file does not carry the profile inside it (a detached "
                           "signature). Sign the profile with its content included.");
        goto cleanup;
    }
    int n = ASN1_STRING_length(*os);
    if (n <= 0) {
        *reason = g_strdup("The signed file's content is empty.");
        goto cleanup;
    }
    *content_len = (size_t)n;
    *content = g_memdup2(ASN1_STRING_get0_data(*os), (gsize)n);
    rc = 0;
cleanup:
    CMS_ContentInfo_free(cms);
    BIO_free(bio);
    return rc;
}

/* ---- the plist's shape */

/* Text an admin reads back and the store keeps in TEXT columns. */
static int text_ok(const char *s, uint64_t n)
{
    if (!g_utf8_validate_len(s, (gsize)n, NULL))
        return 0;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}

/* A required top-level string: copied into *out, else the reason. */
static int required_string(plist_t root, const char *key, char **out, char **reason)
{
    plist_t node = plist_dict_get_item(root, key);
    uint64_t n = 0;
    const char *s = NULL;
    if (!node) {
        *reason = g_strdup_printf("The profile has no %s. Add one at the top level.", key);
        return ORCHARD_EINVAL;
    }
    if (plist_get_node_type(node) != PLIST_STRING) {
        *reason = g_strdup_printf("The profile's %s must be a string.", key);
        return ORCHARD_EINVAL;
    }
    s = plist_get_string_ptr(node, &n);
    if (!s || n == 0) {
        *reason = g_strdup_printf("The profile's %s is empty.", key);
        return ORCHARD_EINVAL;
    }
    if (n > PROFILE_FIELD_MAX || !text_ok(s, n)) {
        *reason = g_strdup_printf("The profile's %s must be at most %d characters of UTF-8 "
                                  "text without control characters.", key, PROFILE_FIELD_MAX);
        return ORCHARD_EINVAL;
    }
    *out = g_strndup(s, (gsize)n);
    return 0;
}

/* No dictionary repeats a key. libplist keeps keys as C strings, so a
 * binary plist's "PayloadType\0x" reads here as a second "PayloadType"
 * while the Mac reads another key: which one the checks below saw would
 * be the attacker's choice. The guard bounded the depth. */
static int keys_unique(plist_t node, char **reason)
{
    plist_type type = plist_get_node_type(node);
    plist_t child = NULL;
    int rc = 0;
    if (type == PLIST_ARRAY) {
        plist_array_iter it = NULL;
        plist_array_new_iter(node, &it);
        for (plist_array_next_item(node, it, &child); !rc && child;
             plist_array_next_item(node, it, &child))
            rc = keys_unique(child, reason);
        free(it);
    } else if (type == PLIST_DICT) {
        plist_dict_iter it = NULL;
        char *key = NULL;
        GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        plist_dict_new_iter(node, &it);
        for (plist_dict_next_item(node, it, &key, &child); !rc && child && key;
             plist_dict_next_item(node, it, &key, &child)) {
            if (!g_hash_table_add(seen, key)) {
                *reason = g_strdup_printf("The profile repeats the key \"%s\" in one dictionary.",
                                          text_ok(key, strlen(key)) ? key : "(unprintable)");
                rc = ORCHARD_EINVAL;
            } else {
                rc = keys_unique(child, reason);
            }
            key = NULL; /* the set's now (it frees a repeat's first copy) */
        }
        free(key);
        free(it);
        g_hash_table_destroy(seen);
    }
    return rc;
}

/* Payload types orchard installs itself: a second copy from an admin
 * would fight orchard's own (enrollment identity, MDM, Nudge). */
static const char *const managed_types[] = {"com.apple.security.scep", "com.apple.mdm",
                                            ORCHARD_NUDGE_DOMAIN};

/* Custom settings (com.apple.ManagedClient.preferences) that carry Nudge's
 * domain are Nudge's configuration in another wrapper. */
static int carries_nudge(plist_t payload)
{
    plist_t content = plist_dict_get_item(payload, "PayloadContent");
    plist_dict_iter it = NULL;
    plist_t child = NULL;
    char *key = NULL;
    int found = 0;
    if (!content || plist_get_node_type(content) != PLIST_DICT)
        return 0;
    plist_dict_new_iter(content, &it);
    for (plist_dict_next_item(content, it, &key, &child); child && key && !found;
         plist_dict_next_item(content, it, &key, &child)) {
        found = g_ascii_strcasecmp(key, ORCHARD_NUDGE_DOMAIN) == 0;
        free(key);
        key = NULL;
    }
    free(key);
    free(it);
    return found;
}

/* One entry of PayloadContent (position i, from 1 in the reason). */
static int payload_ok(plist_t payload, uint32_t i, char **reason)
{
    if (plist_get_node_type(payload) != PLIST_DICT) {
        *reason = g_strdup_printf("PayloadContent item %u is not a dictionary: every payload "
                                  "of a profile is one.", i + 1);
        return ORCHARD_EINVAL;
    }
    plist_t t = plist_dict_get_item(payload, "PayloadType");
    uint64_t n = 0;
    const char *type = t && plist_get_node_type(t) == PLIST_STRING
                           ? plist_get_string_ptr(t, &n) : NULL;
    if (!type || n == 0 || !text_ok(type, n)) {
        *reason = g_strdup_printf("PayloadContent item %u has no PayloadType (a non-empty "
                                  "string).", i + 1);
        return ORCHARD_EINVAL;
    }
    for (size_t k = 0; k < G_N_ELEMENTS(managed_types); k++)
        if (g_ascii_strcasecmp(type, managed_types[k]) == 0) {
            *reason = g_strdup_printf("The profile can't include a %s payload: orchard manages "
                                      "it itself%s.", managed_types[k],
                                      k == 2 ? " (set macOS updates instead)" : "");
            return ORCHARD_EINVAL;
        }
    if (g_ascii_strcasecmp(type, "com.apple.ManagedClient.preferences") == 0 &&
        carries_nudge(payload)) {
        *reason = g_strdup("The profile can't include custom settings for " ORCHARD_NUDGE_DOMAIN
                           ": orchard manages Nudge itself (set macOS updates instead).");
        return ORCHARD_EINVAL;
    }
    return 0;
}

static int shape_ok(plist_t root, orchard_profile_info *out, char **reason)
{
    int rc;
    if (plist_get_node_type(root) != PLIST_DICT) {
        *reason = g_strdup("The file should be a configuration profile: a plist whose top level "
                           "is a dictionary.");
        return ORCHARD_EINVAL;
    }
    if ((rc = keys_unique(root, reason)))
        return rc;
    plist_t type = plist_dict_get_item(root, "PayloadType");
    uint64_t tn = 0;
    const char *tv = type && plist_get_node_type(type) == PLIST_STRING
                         ? plist_get_string_ptr(type, &tn) : NULL;
    if (!tv || tn != strlen("Configuration") || memcmp(tv, "Configuration", tn) != 0) {
        *reason = g_strdup("The profile's top-level PayloadType must be \"Configuration\".");
        return ORCHARD_EINVAL;
    }
    if ((rc = required_string(root, "PayloadIdentifier", &out->identifier, reason)) ||
        (rc = required_string(root, "PayloadDisplayName", &out->name, reason)) ||
        (rc = required_string(root, "PayloadUUID", &out->payload_uuid, reason)))
        return rc;
    if (strcmp(out->identifier, ORCHARD_NUDGE_PROFILE_IDENTIFIER) == 0) {
        *reason = g_strdup("The PayloadIdentifier " ORCHARD_NUDGE_PROFILE_IDENTIFIER " is "
                           "reserved for orchard's own Nudge profile. Use another identifier.");
        return ORCHARD_EINVAL;
    }
    /* The name too: (team, name) is unique across kinds, so an upload
     * holding it would make the macOS updates setting fail for the team. */
    if (strcmp(out->name, ORCHARD_NUDGE_PROFILE_NAME) == 0) {
        *reason = g_strdup("The PayloadDisplayName \"" ORCHARD_NUDGE_PROFILE_NAME "\" is "
                           "reserved for orchard's own Nudge profile. Use another name.");
        return ORCHARD_EINVAL;
    }
    if (plist_dict_get_item(root, "EncryptedPayloadContent")) {
        *reason = g_strdup("The profile's payloads are encrypted (EncryptedPayloadContent), so "
                           "they can't be checked. Upload it unencrypted.");
        return ORCHARD_EINVAL;
    }
    plist_t content = plist_dict_get_item(root, "PayloadContent");
    if (!content)
        return 0; /* a profile without payloads installs nothing, harmlessly */
    if (plist_get_node_type(content) != PLIST_ARRAY) {
        *reason = g_strdup("The profile's PayloadContent must be an array of payload "
                           "dictionaries.");
        return ORCHARD_EINVAL;
    }
    uint32_t n = plist_array_get_size(content);
    for (uint32_t i = 0; i < n; i++)
        if ((rc = payload_ok(plist_array_get_item(content, i), i, reason)))
            return rc;
    return 0;
}

/* ---- the entry point */

int orchard_profile_validate(const void *data, size_t len, orchard_profile_info *out,
                             char **reason)
{
    unsigned char *inner = NULL, *copy = NULL;
    size_t inner_len = 0;
    plist_t root = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    *reason = NULL;
    if (len > ORCHARD_PROFILE_MAX_BYTES) {
        *reason = g_strdup_printf("The file is %zu bytes; a configuration profile may be at "
                                  "most 1 MiB (%zu bytes).", len, ORCHARD_PROFILE_MAX_BYTES);
        return ORCHARD_ETOOBIG;
    }
    if (!data || len == 0) {
        *reason = g_strdup("The file is empty.");
        return ORCHARD_EINVAL;
    }
    const unsigned char *plist_bytes = data;
    size_t plist_len = len;
    if (looks_signed(data, len)) {
        if ((rc = open_signed(data, len, &inner, &inner_len, reason)))
            goto cleanup;
        out->signed_cms = 1;
        plist_bytes = inner;
        plist_len = inner_len; /* smaller than the envelope, so under the cap */
    }
    static const orchard_plist_limits limits = {
        .max_depth = PROFILE_MAX_DEPTH, .max_nodes = PROFILE_MAX_NODES, .allow_binary = 1};
    const char *why = NULL;
    if ((rc = orchard_plist_guard(plist_bytes, plist_len, &limits, &why))) {
        *reason = rc == ORCHARD_ETOOBIG
                      ? g_strdup_printf("The profile nests too deeply or holds too many "
                                        "elements (%s; limits: %d levels, %ld elements).", why,
                                        PROFILE_MAX_DEPTH, PROFILE_MAX_NODES)
                      : g_strdup_printf("The file should include valid XML or a binary plist "
                                        "(%s).", why);
        goto cleanup;
    }
    /* libplist's XML reader wants a NUL after the text. */
    copy = g_malloc(plist_len + 1);
    memcpy(copy, plist_bytes, plist_len);
    copy[plist_len] = '\0';
    plist_from_memory((const char *)copy, (uint32_t)plist_len, &root);
    if (!root) {
        *reason = g_strdup("The file should include valid XML or a binary plist: it could not "
                           "be read as a property list (or it is truncated).");
        rc = ORCHARD_EINVAL;
        goto cleanup;
    }
    rc = shape_ok(root, out, reason);
cleanup:
    plist_free(root);
    g_free(copy);
    g_free(inner);
    if (rc) {
        orchard_profile_info_clear(out);
        if (!*reason)
            *reason = g_strdup("The profile could not be checked.");
    }
    return rc;
}

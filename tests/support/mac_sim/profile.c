/* The enrollment profile as a Mac reads it (docs/protocols.md §7): unwrap a
 * CMS-signed profile, find the SCEP and MDM payloads and take what enrolling
 * needs. Hostile profiles are refused with the reason, never half-read. */
#include "tests/support/mac_sim/mac_sim.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

void orchard_macsim_profile_clear(orchard_macsim_profile *p)
{
    if (!p)
        return;
    free(p->scep_url);
    free(p->challenge);
    free(p->subject);
    free(p->server_url);
    free(p->topic);
    free(p->identity_uuid);
    free(p->scep_uuid);
    memset(p, 0, sizeof *p);
}

/* Subject [[["O", "x"]], [["CN", "y"]]] as "/O=x/CN=y" ('/' in values
 * escaped for scep_client). NULL when the shape is wrong. */
static char *subject_text(plist_t subj)
{
    if (!subj || plist_get_node_type(subj) != PLIST_ARRAY)
        return NULL;
    size_t cap = 1, used = 0;
    char *out = calloc(1, 1);
    for (uint32_t i = 0; out && i < plist_array_get_size(subj); i++) {
        plist_t rdn = plist_array_get_item(subj, i);
        if (plist_get_node_type(rdn) != PLIST_ARRAY)
            goto bad;
        for (uint32_t j = 0; j < plist_array_get_size(rdn); j++) {
            plist_t pair = plist_array_get_item(rdn, j);
            if (plist_get_node_type(pair) != PLIST_ARRAY || plist_array_get_size(pair) != 2 ||
                plist_get_node_type(plist_array_get_item(pair, 0)) != PLIST_STRING ||
                plist_get_node_type(plist_array_get_item(pair, 1)) != PLIST_STRING)
                goto bad;
            char *k = NULL, *v = NULL;
            plist_get_string_val(plist_array_get_item(pair, 0), &k);
            plist_get_string_val(plist_array_get_item(pair, 1), &v);
            size_t need = used + 2 * (strlen(k ? k : "") + strlen(v ? v : "")) + 3;
            if (need > cap) {
                char *g = realloc(out, need);
                if (!g) {
                    free(k);
                    free(v);
                    goto bad;
                }
                out = g;
                cap = need;
            }
            used += (size_t)sprintf(out + used, "/%s=", k ? k : "");
            for (const char *c = v ? v : ""; *c; c++) {
                if (*c == '/' || *c == '\\')
                    out[used++] = '\\';
                out[used++] = *c;
            }
            out[used] = '\0';
            free(k);
            free(v);
        }
    }
    return out;
bad:
    free(out);
    return NULL;
}

static int read_scep(orchard_macsim_profile *out, plist_t payload, char **error_msg)
{
    plist_t c = plist_dict_get_item(payload, "PayloadContent");
    if (!c || plist_get_node_type(c) != PLIST_DICT)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the SCEP payload has no PayloadContent");
    out->scep_url = macsim_plist_string(c, "URL");
    out->challenge = macsim_plist_string(c, "Challenge");
    if (!out->scep_url || !out->challenge)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the SCEP payload lacks URL or Challenge");
    out->keysize = 2048;
    plist_t ks = plist_dict_get_item(c, "Keysize");
    if (ks && plist_get_node_type(ks) == PLIST_UINT) {
        uint64_t v = 0;
        plist_get_uint_val(ks, &v);
        if (v < 1024 || v > 8192)
            return macsim_fail(error_msg, ORCHARD_EINVAL, "SCEP Keysize %llu is not usable",
                               (unsigned long long)v);
        out->keysize = (int)v;
    }
    plist_t subj = plist_dict_get_item(c, "Subject");
    out->subject = subj ? subject_text(subj) : strdup("");
    if (!out->subject)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the SCEP Subject is not an array of RDNs");
    out->scep_uuid = macsim_plist_string(payload, "PayloadUUID");
    return 0;
}

static int read_mdm(orchard_macsim_profile *out, plist_t payload, char **error_msg)
{
    out->server_url = macsim_plist_string(payload, "ServerURL");
    out->topic = macsim_plist_string(payload, "Topic");
    out->identity_uuid = macsim_plist_string(payload, "IdentityCertificateUUID");
    if (!out->server_url || !out->topic || !*out->topic)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the MDM payload lacks ServerURL or Topic");
    plist_t sm = plist_dict_get_item(payload, "SignMessage");
    uint8_t b = 0;
    if (sm && plist_get_node_type(sm) == PLIST_BOOLEAN)
        plist_get_bool_val(sm, &b);
    out->sign_message = b;
    return 0;
}

static int read_payloads(orchard_macsim_profile *out, plist_t root, char **error_msg)
{
    plist_t list = plist_dict_get_item(root, "PayloadContent");
    if (!list || plist_get_node_type(list) != PLIST_ARRAY)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the profile has no PayloadContent array");
    int n_scep = 0, n_mdm = 0, rc = 0;
    for (uint32_t i = 0; i < plist_array_get_size(list) && !rc; i++) {
        plist_t p = plist_array_get_item(list, i);
        char *type = macsim_plist_string(p, "PayloadType");
        if (type && strcmp(type, "com.apple.security.scep") == 0 && n_scep++ == 0)
            rc = read_scep(out, p, error_msg);
        else if (type && strcmp(type, "com.apple.mdm") == 0 && n_mdm++ == 0)
            rc = read_mdm(out, p, error_msg);
        free(type);
    }
    if (rc)
        return rc;
    if (n_scep != 1 || n_mdm != 1)
        return macsim_fail(error_msg, ORCHARD_EINVAL,
                           "the profile has %d SCEP and %d MDM payloads (one each expected)",
                           n_scep, n_mdm);
    if (!out->identity_uuid || !out->scep_uuid || strcmp(out->identity_uuid, out->scep_uuid))
        return macsim_fail(error_msg, ORCHARD_EINVAL,
                           "IdentityCertificateUUID does not name the SCEP payload");
    return 0;
}

int orchard_macsim_profile_parse(orchard_macsim_profile *out, const unsigned char *data,
                                 size_t len, char **error_msg)
{
    orchard_macsim_profile p = {0};
    unsigned char *inner = NULL;
    size_t inner_len = 0;
    if (!data || len == 0)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "the profile is empty");
    /* DER starts with a SEQUENCE tag; XML with '<' (maybe after a BOM or
     * blanks) and binary plists with "bplist". */
    if (data[0] == 0x30) {
        if (!(inner = macsim_cms_content(data, len, &inner_len)))
            return macsim_fail(error_msg, ORCHARD_EINVAL,
                               "the profile is neither a plist nor CMS SignedData with content");
        p.was_signed = 1;
        data = inner;
        len = inner_len;
    }
    plist_t root = macsim_plist_parse(data, len);
    int rc;
    if (!root || plist_get_node_type(root) != PLIST_DICT)
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "the profile is not a plist dictionary");
    else
        rc = read_payloads(&p, root, error_msg);
    plist_free(root);
    free(inner);
    if (rc) {
        orchard_macsim_profile_clear(&p);
        return rc;
    }
    *out = p;
    return 0;
}

/* What a Mac sends to its ServerURL: check-in plists (Authenticate,
 * TokenUpdate, CheckOut) and the Mdm-Signature that proves who sent them,
 * a CMS detached SignedData over the raw body made with the SCEP identity
 * (docs/protocols.md §8), plus the hostile variants the tests need. */
#include "tests/support/mac_sim/mac_sim.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

/* What the simulated Macs claim to be: a recent MacBook Air. */
#define SIM_MODEL "Mac14,2"
#define SIM_MODEL_NAME "MacBook Air"

int orchard_macsim_version_ok(const char *v)
{
    int parts = 0, digits = 0;
    if (!v || strlen(v) > 32)
        return 0;
    for (const char *c = v;; c++) {
        if (*c >= '0' && *c <= '9') {
            digits++;
        } else if (*c == '.' || *c == '\0') {
            if (!digits || ++parts > 3)
                return 0;
            digits = 0;
            if (!*c)
                return 1;
        } else {
            return 0;
        }
    }
}

const char *orchard_macsim_os_version(const orchard_macsim_mac *mac)
{
    return mac && mac->os_version && *mac->os_version ? mac->os_version
                                                       : ORCHARD_MACSIM_OS_VERSION;
}

const char *orchard_macsim_build_version(const orchard_macsim_mac *mac)
{
    /* Real builds for the versions the tests use; others get one shaped
     * like Apple's (major + 9, a letter per minor release). */
    static const char *const known[][2] = {
        {"13.6", "22G120"}, {"13.6.1", "22G313"}, {"14.4", "23E214"},
        {"14.4.1", "23E224"}, {"14.5", "23F79"},  {"15.0", "24A335"},
    };
    static __thread char made[16];
    if (mac && mac->build_version && *mac->build_version)
        return mac->build_version;
    const char *v = orchard_macsim_os_version(mac);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i][0], v) == 0)
            return known[i][1];
    unsigned major = 0, minor = 0;
    sscanf(v, "%u.%u", &major, &minor);
    snprintf(made, sizeof made, "%u%c100", (major + 9) % 100, 'A' + (char)(minor % 26));
    return made;
}

/* The keys every device-describing message carries. */
void macsim_device_facts(plist_t d, const orchard_macsim_mac *mac)
{
    char name[64];
    snprintf(name, sizeof name, "sim-mac-%05u", mac->index);
    plist_dict_set_item(d, "SerialNumber", plist_new_string(mac->serial));
    plist_dict_set_item(d, "Model", plist_new_string(SIM_MODEL));
    plist_dict_set_item(d, "ModelName", plist_new_string(SIM_MODEL_NAME));
    plist_dict_set_item(d, "ProductName", plist_new_string(SIM_MODEL));
    plist_dict_set_item(d, "OSVersion", plist_new_string(orchard_macsim_os_version(mac)));
    plist_dict_set_item(d, "BuildVersion", plist_new_string(orchard_macsim_build_version(mac)));
    plist_dict_set_item(d, "DeviceName", plist_new_string(name));
}

int orchard_macsim_checkin_body(char **xml, size_t *len, const orchard_macsim_mac *mac,
                                const char *message_type, char **error_msg)
{
    if (!mac->topic)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "%s is not enrolled (no topic)", mac->udid);
    plist_t d = plist_new_dict();
    plist_dict_set_item(d, "MessageType", plist_new_string(message_type));
    plist_dict_set_item(d, "UDID", plist_new_string(mac->udid));
    plist_dict_set_item(d, "Topic", plist_new_string(mac->topic));
    if (strcmp(message_type, "Authenticate") == 0) {
        macsim_device_facts(d, mac);
    } else if (strcmp(message_type, "TokenUpdate") == 0) {
        plist_dict_set_item(d, "PushMagic", plist_new_string(mac->push_magic));
        plist_dict_set_item(d, "Token",
                            plist_new_data((const char *)mac->token, sizeof mac->token));
        plist_dict_set_item(d, "UnlockToken", plist_new_data((const char *)mac->unlock_token,
                                                             sizeof mac->unlock_token));
        plist_dict_set_item(d, "AwaitingConfiguration",
                            plist_new_bool(mac->awaiting_configuration ? 1 : 0));
    }
    int rc = macsim_plist_xml(xml, len, d);
    plist_free(d);
    return rc ? macsim_fail(error_msg, rc, "libplist could not write a check-in") : 0;
}

int orchard_macsim_sign(char **b64, const void *body, size_t len, X509 *cert, EVP_PKEY *key,
                        char **error_msg)
{
    BIO *in = BIO_new_mem_buf(body, (int)len);
    CMS_ContentInfo *cms = NULL;
    unsigned char *der = NULL;
    char *out = NULL;
    int rc = 0, n;
    if (!in || len > 0x7FFFFFFF) {
        rc = macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory signing");
        goto out;
    }
    /* CMS_BINARY: the body is signed byte for byte (no MIME canonical line
     * endings), as the server verifies it. */
    cms = CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP);
    if (!cms || (n = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "CMS_sign failed");
        goto out;
    }
    if (!(out = malloc(4 * (((size_t)n + 2) / 3) + 1))) {
        rc = macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory signing");
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)out, der, n);
    *b64 = out;
out:
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return rc;
}

int orchard_macsim_signature(char **b64, const void *body, size_t len,
                             const orchard_macsim_mac *mac, const orchard_macsim_signing *signing,
                             char **error_msg)
{
    orchard_macsim_sign_mode mode = signing ? signing->mode : ORCHARD_MACSIM_SIGN_OWN;
    const orchard_macsim_mac *who = signing && signing->as ? signing->as : mac;
    *b64 = NULL;
    if (mode == ORCHARD_MACSIM_SIGN_NONE)
        return 0;
    if (!who->key || !who->cert)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "%s has no identity to sign with",
                           who->udid);
    if (mode == ORCHARD_MACSIM_SIGN_OWN)
        return orchard_macsim_sign(b64, body, len, who->cert, who->key, error_msg);
    /* A well-formed signature by the right identity over other bytes: only
     * a server that checks the digest against the body refuses it. */
    unsigned char *other = malloc(len + 1);
    if (!other)
        return macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
    if (len)
        memcpy(other, body, len);
    other[len] = '!';
    int rc = orchard_macsim_sign(b64, other, len + 1, who->cert, who->key, error_msg);
    free(other);
    return rc;
}

int orchard_macsim_send(orchard_macsim_http *h, const orchard_macsim_mac *mac,
                        const char *content_type, const void *body, size_t len,
                        const orchard_macsim_signing *signing, orchard_macsim_response *out,
                        char **error_msg)
{
    if (!mac->server_url || !*mac->server_url)
        return macsim_fail(error_msg, ORCHARD_EINVAL, "%s is not enrolled (no ServerURL)",
                           mac->udid);
    char *sig = NULL;
    int rc = orchard_macsim_signature(&sig, body, len, mac, signing, error_msg);
    if (!rc)
        rc = orchard_macsim_http_do(h, "PUT", mac->server_url, body, len, content_type, sig, out,
                                    error_msg);
    free(sig);
    return rc;
}

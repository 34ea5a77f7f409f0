/* Building the enrollment profile (see profile.h). The plist is built as a
 * tree and written by libplist rather than filled into a text template, so
 * an org name or challenge can't inject markup or payloads (docs/protocols.md §12).
 * libplist 2.2 escapes & < > but writes control characters and invalid
 * UTF-8 as they are, which no XML parser accepts: those are refused here. */
#include "server_plugin/enroll/profile.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <limits.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <plist/plist.h>
#include <string.h>

#define SCEP_PATH "/mdm/apple/scep"
#define MDM_PATH "/mdm/apple/mdm"
/* Every MDM right (Apple's AccessRights bits 1..4096 added up). */
#define ACCESS_RIGHTS_ALL 8191
/* Key Usage: 1 signing | 4 encryption, what MDM identities need. */
#define KEY_USAGE_SIGN_ENCRYPT 5

/* --- values */

/* Why `s` can't go into the profile, or NULL. Tab and newline are legal
 * XML; CR would be normalised to LF by the device's parser and DEL is
 * never meant, so both are refused with the other controls. */
static const char *text_problem(const char *s)
{
    if (!s || !*s)
        return "is empty";
    if (!g_utf8_validate(s, -1, NULL))
        return "is not UTF-8";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
            return "holds a control character";
    /* U+FFFE and U+FFFF are valid UTF-8 but not XML characters. */
    if (strstr(s, "\xef\xbf\xbe") || strstr(s, "\xef\xbf\xbf"))
        return "holds a character XML can't carry (U+FFFE/U+FFFF)";
    return NULL;
}

static int check_params(const orchard_enroll_profile_params *p, char **error_msg)
{
    const struct {
        const char *name, *value;
    } values[] = {
        {"the server URL", p->base_url},
        {"the organization name (org_info.org_name)", p->org_name},
        {"the APNs topic", p->topic},
        {"the SCEP challenge", p->challenge},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        const char *why = text_problem(values[i].value);
        if (why) {
            *error_msg = g_strdup_printf("cannot build the enrollment profile: %s %s",
                                         values[i].name, why);
            return ORCHARD_EINVAL;
        }
    }
    return 0;
}

/* A fresh UUID in upper case, as Apple's tools write them. g_free. */
static char *new_uuid(void)
{
    char *u = g_uuid_string_random();
    for (char *c = u; *c; c++)
        *c = g_ascii_toupper(*c);
    return u;
}

/* --- payloads */

/* The four keys every payload has. */
static plist_t payload_new(const char *type, const char *identifier, const char *uuid)
{
    plist_t d = plist_new_dict();
    plist_dict_set_item(d, "PayloadType", plist_new_string(type));
    plist_dict_set_item(d, "PayloadIdentifier", plist_new_string(identifier));
    plist_dict_set_item(d, "PayloadUUID", plist_new_string(uuid));
    plist_dict_set_item(d, "PayloadVersion", plist_new_uint(1));
    return d;
}

static plist_t string_array(const char *a, const char *b)
{
    plist_t arr = plist_new_array();
    plist_array_append_item(arr, plist_new_string(a));
    plist_array_append_item(arr, plist_new_string(b));
    return arr;
}

/* One relative distinguished name holding one attribute: [[oid, value]].
 * Devices read Subject as an array of RDNs, each an array of pairs; one
 * level less is the "wrong nesting" that fails SCEP in the field. */
static plist_t rdn(const char *oid, const char *value)
{
    plist_t r = plist_new_array();
    plist_array_append_item(r, string_array(oid, value));
    return r;
}

static plist_t scep_payload(const orchard_enroll_profile_params *p, const char *uuid)
{
    g_autofree char *url = g_strconcat(p->base_url, SCEP_PATH, NULL);
    g_autofree char *cn = g_strconcat(p->org_name, " Identity", NULL);
    plist_t content = plist_new_dict();
    plist_t subject = plist_new_array();

    plist_array_append_item(subject, rdn("O", p->org_name));
    plist_array_append_item(subject, rdn("CN", cn));
    plist_dict_set_item(content, "URL", plist_new_string(url));
    plist_dict_set_item(content, "Challenge", plist_new_string(p->challenge));
    plist_dict_set_item(content, "Keysize", plist_new_uint(2048));
    plist_dict_set_item(content, "Key Type", plist_new_string("RSA"));
    plist_dict_set_item(content, "Key Usage", plist_new_uint(KEY_USAGE_SIGN_ENCRYPT));
    plist_dict_set_item(content, "Subject", subject);

    plist_t d = payload_new("com.apple.security.scep", ORCHARD_ENROLL_PROFILE_ID ".scep", uuid);
    plist_dict_set_item(d, "PayloadContent", content);
    return d;
}

static plist_t mdm_payload(const orchard_enroll_profile_params *p, const char *uuid,
                           const char *identity_uuid)
{
    g_autofree char *url = g_strconcat(p->base_url, MDM_PATH, NULL);
    plist_t d = payload_new("com.apple.mdm", ORCHARD_ENROLL_PROFILE_ID ".mdm", uuid);

    plist_dict_set_item(d, "ServerURL", plist_new_string(url));
    plist_dict_set_item(d, "Topic", plist_new_string(p->topic));
    plist_dict_set_item(d, "AccessRights", plist_new_uint(ACCESS_RIGHTS_ALL));
    plist_dict_set_item(d, "SignMessage", plist_new_bool(1));
    plist_dict_set_item(d, "CheckOutWhenRemoved", plist_new_bool(1));
    /* The MDM identity is the certificate the SCEP payload obtains. */
    plist_dict_set_item(d, "IdentityCertificateUUID", plist_new_string(identity_uuid));
    plist_dict_set_item(d, "ServerCapabilities",
                        string_array("com.apple.mdm.per-user-connections",
                                     "com.apple.mdm.bootstraptoken"));
    return d;
}

static plist_t profile_new(const orchard_enroll_profile_params *p)
{
    g_autofree char *outer_uuid = new_uuid();
    g_autofree char *scep_uuid = new_uuid();
    g_autofree char *mdm_uuid = new_uuid();
    g_autofree char *display = g_strconcat(p->org_name, " enrollment", NULL);
    plist_t payloads = plist_new_array();

    plist_array_append_item(payloads, scep_payload(p, scep_uuid));
    plist_array_append_item(payloads, mdm_payload(p, mdm_uuid, scep_uuid));

    plist_t d = payload_new("Configuration", ORCHARD_ENROLL_PROFILE_ID, outer_uuid);
    plist_dict_set_item(d, "PayloadScope", plist_new_string("System"));
    plist_dict_set_item(d, "PayloadDisplayName", plist_new_string(display));
    plist_dict_set_item(d, "PayloadOrganization", plist_new_string(p->org_name));
    plist_dict_set_item(d, "PayloadContent", payloads);
    return d;
}

/* --- the profile */

int orchard_enroll_profile_xml(const orchard_enroll_profile_params *params, char **xml,
                               size_t *len, char **error_msg)
{
    char *text = NULL;
    uint32_t n = 0;
    int rc;

    *xml = NULL;
    *len = 0;
    if ((rc = check_params(params, error_msg)))
        return rc;
    plist_t profile = profile_new(params);
    plist_to_xml(profile, &text, &n);
    plist_free(profile);
    if (!text || n == 0) {
        *error_msg = g_strdup("cannot build the enrollment profile: libplist wrote no XML");
        if (text)
            plist_to_xml_free(text);
        return ORCHARD_ENOMEM;
    }
    /* Hand out GLib memory: callers g_free everything this module returns. */
    *xml = g_strndup(text, n);
    *len = n;
    plist_to_xml_free(text);
    return 0;
}

/* The first queued OpenSSL error as text, and the queue cleared. */
static char *openssl_error(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return g_strdup_printf("%s: %s", what, e ? buf : "unknown OpenSSL error");
}

int orchard_enroll_profile_sign(const void *data, size_t len, X509 *cert, EVP_PKEY *key,
                                unsigned char **der, size_t *der_len, char **error_msg)
{
    /* BINARY: the XML is signed byte for byte, not as S/MIME text with its
     * line endings rewritten. */
    const unsigned int flags = CMS_BINARY;
    CMS_ContentInfo *cms = NULL;
    unsigned char *buf = NULL;
    int n, rc = ORCHARD_EINVAL;
    BIO *in = NULL;

    *der = NULL;
    *der_len = 0;
    if (!cert || !key || len > INT_MAX) {
        *error_msg = g_strdup("cannot sign the enrollment profile: no signing certificate");
        return ORCHARD_EINVAL;
    }
    if (!X509_check_private_key(cert, key)) {
        ERR_clear_error();
        *error_msg = g_strdup("cannot sign the enrollment profile: "
                              "server.profile_signing_key does not match the certificate");
        return ORCHARD_EINVAL;
    }
    /* PARTIAL, then add1_signer: the only way to choose the digest. */
    if (!(in = BIO_new_mem_buf(data, (int)len)) ||
        !(cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL)) ||
        !CMS_add1_signer(cms, cert, key, EVP_sha256(), flags) ||
        !CMS_final(cms, in, NULL, flags) || (n = i2d_CMS_ContentInfo(cms, &buf)) <= 0) {
        *error_msg = openssl_error("cannot sign the enrollment profile");
        goto cleanup;
    }
    *der = g_memdup2(buf, (gsize)n);
    *der_len = (size_t)n;
    rc = 0;
cleanup:
    OPENSSL_free(buf);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return rc;
}

int orchard_enroll_profile_build(const orchard_mdm_config *cfg, const char *base_url,
                                 const char *challenge, unsigned char **out, size_t *len,
                                 int *signed_out, char **error_msg)
{
    orchard_enroll_profile_params p = {base_url, cfg->org_name, cfg->apns_topic, challenge};
    char *xml = NULL;
    size_t xml_len = 0;
    int rc;

    *out = NULL;
    *len = 0;
    if (signed_out)
        *signed_out = 0;
    if ((rc = orchard_enroll_profile_xml(&p, &xml, &xml_len, error_msg)))
        return rc;
    if (!cfg->profile_signing_cert) {
        *out = (unsigned char *)xml;
        *len = xml_len;
        return 0;
    }
    rc = orchard_enroll_profile_sign(xml, xml_len, cfg->profile_signing_cert,
                                     cfg->profile_signing_key, out, len, error_msg);
    /* The XML holds the one-time challenge: don't leave it in freed memory. */
    OPENSSL_cleanse(xml, xml_len);
    g_free(xml);
    if (rc == 0 && signed_out)
        *signed_out = 1;
    return rc;
}

char *orchard_enroll_profile_filename(const char *org_name)
{
    /* Long enough for any real name, short enough for every file system. */
    const size_t max_org = 64;
    GString *s = g_string_new(NULL);
    for (const char *c = org_name ? org_name : ""; *c && s->len < max_org; c++) {
        if (g_ascii_isalnum(*c) || *c == '.' || *c == '_' || *c == '-')
            g_string_append_c(s, *c);
        else if (s->len > 0 && s->str[s->len - 1] != '-')
            g_string_append_c(s, '-');
    }
    /* No leading dots (a hidden file) and no dangling separators. */
    while (s->len > 0 && strchr(".-", s->str[s->len - 1]))
        g_string_truncate(s, s->len - 1);
    while (s->len > 0 && strchr(".-", s->str[0]))
        g_string_erase(s, 0, 1);
    if (s->len == 0)
        g_string_assign(s, "orchard");
    g_string_append(s, "-enrollment.mobileconfig");
    return g_string_free(s, FALSE);
}

/* Who asked Apple for the APNs certificate (mdm_settings_view.h): the
 * renewal must be requested with the same email and organization, and
 * Apple's certificate does not carry them, so the settings page looks for
 * the CSR `orchard generate mdm-apple` left beside the key. */
#include "server_plugin/web/mdm_settings_view.h"

#include "server_plugin/crypto/x509_util.h"

#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>

/* generate mdm-apple's default CSR name (setup/generate_mdm_apple.c). */
#define DEFAULT_CSR "fleet-mdm-apple-apns.csr"

/* A name entry of the request's subject, or NULL when it has none or it is
 * not printable text (a CSR is a file anyone with access could edit). */
static char *req_entry(X509_REQ *req, int nid)
{
    size_t len = 0;
    g_autofree char *text = orchard_x509_name_text(X509_REQ_get_subject_name(req), nid, &len);
    if (!text || len == 0 || len > 256 || strlen(text) != len || !g_utf8_validate(text, -1, NULL))
        return NULL;
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return NULL;
    return g_steal_pointer(&text);
}

/* The CSR at `path` when it is a small PEM file holding `cert`'s public key. */
static X509_REQ *load_matching_csr(const char *path, X509 *cert)
{
    struct stat st;
    g_autofree char *text = NULL;
    gsize len = 0;
    /* stat first: a device or a huge file is never read. */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ORCHARD_MDM_CSR_MAX ||
        !g_file_get_contents(path, &text, &len, NULL) || len > ORCHARD_MDM_CSR_MAX)
        return NULL;
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    X509_REQ *req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    EVP_PKEY *want = X509_get0_pubkey(cert);
    EVP_PKEY *have = req ? X509_REQ_get0_pubkey(req) : NULL;
    if (!want || !have || EVP_PKEY_eq(want, have) != 1) {
        X509_REQ_free(req);
        return NULL;
    }
    return req;
}

/* Where generate mdm-apple would have put the CSR for the key at key_path. */
static GPtrArray *csr_candidates(const char *key_path)
{
    GPtrArray *c = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *dir = g_path_get_dirname(key_path);
    if (g_str_has_suffix(key_path, ".key")) {
        g_autofree char *stem = g_strndup(key_path, strlen(key_path) - 4);
        g_ptr_array_add(c, g_strconcat(stem, ".csr", NULL));
    }
    g_ptr_array_add(c, g_build_filename(dir, DEFAULT_CSR, NULL));
    return c;
}

void orchard_mdm_renewal_who_find(X509 *apns_cert, const char *key_path,
                                  orchard_mdm_renewal_who *out)
{
    memset(out, 0, sizeof *out);
    if (!apns_cert)
        return;
    /* A development stand-in may carry them in its own subject. */
    out->email = orchard_x509_name_entry(apns_cert, 0, NID_pkcs9_emailAddress);
    out->org = orchard_x509_name_entry(apns_cert, 0, NID_organizationName);
    if (out->email && out->org) {
        out->source = g_strdup("the certificate's subject");
        return;
    }
    g_clear_pointer(&out->email, g_free);
    g_clear_pointer(&out->org, g_free);
    if (!key_path || !*key_path)
        return;
    g_autoptr(GPtrArray) paths = csr_candidates(key_path);
    for (guint i = 0; i < paths->len; i++) {
        X509_REQ *req = load_matching_csr(paths->pdata[i], apns_cert);
        if (!req)
            continue;
        out->email = req_entry(req, NID_pkcs9_emailAddress);
        out->org = req_entry(req, NID_organizationName);
        X509_REQ_free(req);
        if (out->email || out->org) {
            out->source = g_strdup(paths->pdata[i]);
            return;
        }
    }
}

void orchard_mdm_renewal_who_clear(orchard_mdm_renewal_who *who)
{
    g_clear_pointer(&who->email, g_free);
    g_clear_pointer(&who->org, g_free);
    g_clear_pointer(&who->source, g_free);
}

/* Certificate and key helpers for the server plugin (see x509_util.h). */
#include "server_plugin/crypto/x509_util.h"

#include <orchard/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The PEM text of `path` (or `pem` itself) in a memory BIO. */
static int open_pem(const char *path, const char *pem, const char *what, BIO **out,
                    char **error_msg)
{
    if (!path) {
        if (!pem || strlen(pem) > ORCHARD_PEM_MAX_BYTES) {
            *error_msg = g_strdup_printf("%s: %s", what, pem ? "larger than 1 MiB" : "empty");
            return pem ? ORCHARD_ETOOBIG : ORCHARD_EINVAL;
        }
        *out = BIO_new_mem_buf(pem, -1);
        return *out ? 0 : ORCHARD_ENOMEM;
    }
    GStatBuf sb;
    if (g_stat(path, &sb) != 0) {
        *error_msg = g_strdup_printf("%s: %s: %s", what, path, g_strerror(errno));
        return errno == ENOENT ? ORCHARD_ENOTFOUND : ORCHARD_EIO;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > (goffset)ORCHARD_PEM_MAX_BYTES) {
        *error_msg = g_strdup_printf("%s: %s: %s", what, path,
                                     S_ISREG(sb.st_mode) ? "larger than 1 MiB" : "not a file");
        return S_ISREG(sb.st_mode) ? ORCHARD_ETOOBIG : ORCHARD_EINVAL;
    }
    *out = BIO_new_file(path, "r");
    if (!*out) {
        *error_msg = g_strdup_printf("%s: cannot read %s", what, path);
        return ORCHARD_EIO;
    }
    return 0;
}

static const char *source_of(const char *path) { return path ? path : "the configured value"; }

/* Read one PEM object of a kind from `path` or `pem`. */
typedef void *(*pem_reader)(BIO *bio);

static void *read_cert(BIO *bio) { return PEM_read_bio_X509(bio, NULL, NULL, NULL); }

/* A "" passphrase refuses encrypted keys instead of prompting for one. */
static void *read_key(BIO *bio) { return PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)""); }

static int load_pem(const char *path, const char *pem, const char *what, pem_reader reader,
                    const char *kind, void **out, char **error_msg)
{
    BIO *bio = NULL;
    int rc = open_pem(path, pem, what, &bio, error_msg);
    if (rc)
        return rc;
    *out = reader(bio);
    BIO_free(bio);
    ERR_clear_error();
    if (!*out) {
        *error_msg = g_strdup_printf("%s: %s is not %s", what, source_of(path), kind);
        return ORCHARD_EINVAL;
    }
    return 0;
}

int orchard_x509_load_cert(const char *path, const char *pem, const char *what, X509 **out,
                           char **error_msg)
{
    return load_pem(path, pem, what, read_cert, "a PEM certificate", (void **)out, error_msg);
}

int orchard_x509_load_key(const char *path, const char *pem, const char *what, EVP_PKEY **out,
                          char **error_msg)
{
    return load_pem(path, pem, what, read_key, "an unencrypted PEM private key", (void **)out,
                    error_msg);
}

int orchard_x509_key_matches(X509 *cert, EVP_PKEY *key)
{
    int ok = cert && key && X509_check_private_key(cert, key) == 1;
    ERR_clear_error();
    return ok;
}

char *orchard_x509_name_text(X509_NAME *name, int nid, size_t *len)
{
    int idx = name ? X509_NAME_get_index_by_NID(name, nid, -1) : -1;
    if (len)
        *len = 0;
    if (idx < 0)
        return NULL;
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0)
        return NULL;
    char *out = g_malloc((size_t)n + 1);
    memcpy(out, utf8, (size_t)n);
    out[n] = '\0';
    OPENSSL_free(utf8);
    if (len)
        *len = (size_t)n;
    return out;
}

char *orchard_x509_name_entry(X509 *cert, int issuer, int nid)
{
    return orchard_x509_name_text(issuer ? X509_get_issuer_name(cert)
                                         : X509_get_subject_name(cert),
                                  nid, NULL);
}

char *orchard_x509_topic(X509 *cert)
{
    return orchard_x509_name_entry(cert, 0, NID_userId);
}

char *orchard_x509_serial_decimal(X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *dec = bn ? BN_bn2dec(bn) : NULL;
    char *out = dec ? g_strdup(dec) : NULL;
    OPENSSL_free(dec);
    BN_free(bn);
    return out;
}

static gint64 asn1_time_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (gint64)timegm(&tm);
}

gint64 orchard_x509_not_before(X509 *cert) { return asn1_time_unix(X509_get0_notBefore(cert)); }
gint64 orchard_x509_not_after(X509 *cert) { return asn1_time_unix(X509_get0_notAfter(cert)); }

char *orchard_format_renew_date(gint64 unix_seconds)
{
    static const char *const months[] = {"January", "February", "March", "April",
                                         "May", "June", "July", "August",
                                         "September", "October", "November", "December"};
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(unix_seconds);
    if (!dt)
        return NULL;
    /* Spelled out here: %B follows the locale, Fleet's format does not. */
    return g_strdup_printf("%s %d, %d", months[g_date_time_get_month(dt) - 1],
                           g_date_time_get_day_of_month(dt), g_date_time_get_year(dt));
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int orchard_write_file(const char *path, const void *data, size_t len, int mode, int force,
                       char **error_msg)
{
    if (!force && g_file_test(path, G_FILE_TEST_EXISTS)) {
        *error_msg = g_strdup_printf("%s already exists (use --force to replace it)", path);
        return ORCHARD_EEXIST;
    }
    g_autofree char *tmp = g_strdup_printf("%s.tmp-XXXXXX", path);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        *error_msg = g_strdup_printf("cannot create %s: %s", path, g_strerror(errno));
        return ORCHARD_EIO;
    }
    /* mkstemp's mode is masked by the umask: set it exactly. */
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        *error_msg = g_strdup_printf("cannot write %s: %s", path, g_strerror(errno));
        close(fd);
        g_unlink(tmp);
        return ORCHARD_EIO;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        *error_msg = g_strdup_printf("cannot write %s: %s", path, g_strerror(errno));
        g_unlink(tmp);
        return ORCHARD_EIO;
    }
    return 0;
}

/* The contents of a memory BIO as a string. g_free. */
static char *bio_text(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? g_strndup(data, (gsize)len) : NULL;
}

char *orchard_x509_cert_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = bio && PEM_write_bio_X509(bio, cert) == 1 ? bio_text(bio) : NULL;
    BIO_free(bio);
    return out;
}

char *orchard_x509_key_pem_pkcs1(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;
    /* The "traditional" writer gives PKCS#1 ("BEGIN RSA PRIVATE KEY") for RSA. */
    if (bio && PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
        out = bio_text(bio);
    BIO_free(bio);
    return out;
}

/* `orchard generate mdm-apple` and `generate mdm-apple-bm`, end to end: the
 * real binary runs in a temporary folder and the `openssl` CLI (and libplist
 * for the push request) judges what it wrote; every error must leave the
 * folder exactly as it was. */
#include "server_plugin/setup/push_request.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <plist/plist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Vendor material made once for the suite (openssl req), in its own folder. */
static char *vendor_dir;
static char *vendor_chain; /* vendor certificate + its root, PEM */
static char *vendor_key;
static char *other_key;    /* a key that belongs to no vendor certificate */

/* ---- running programs ---------------------------------------------------- */

/* Run argv in `dir`; the exit status, or -1 when it did not exit normally. */
static int run_argv(const char *dir, char **out, char **err, const char *const *argv)
{
    return mdmfx_spawn(dir, out, err, argv);
}

#define ORCH(dir, out, err, ...)                                                               \
    run_argv(dir, out, err, (const char *const[]){ORCHARD_BIN, __VA_ARGS__, NULL})
#define OSSL(dir, out, ...) run_argv(dir, out, NULL, (const char *const[]){"openssl", __VA_ARGS__, NULL})
#define GEN(dir, out, err, ...) ORCH(dir, out, err, "generate", "mdm-apple", __VA_ARGS__)
#define GEN_BM(dir, out, err, ...) ORCH(dir, out, err, "generate", "mdm-apple-bm", __VA_ARGS__)

/* 1 when `needle` is in `hay`; says what was missing otherwise. */
static int contains(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

/* `openssl <args> -in path` printed text; NULL when openssl failed. g_free. */
static char *ossl_text(const char *dir, const char *kind, const char *path, const char *what)
{
    char *out = NULL;
    int rc = run_argv(dir, &out, NULL, (const char *[]){"openssl", kind, "-in", path, "-noout",
                                                        what, NULL});
    if (rc != 0) {
        g_free(out);
        return NULL;
    }
    return out;
}

/* ---- folders --------------------------------------------------------------- */

static char *make_dir(void)
{
    char *dir = g_dir_make_tmp("orchard-gen-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    return dir;
}

static void remove_dir(char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
    g_free(dir);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file of `dir`: name, mode and SHA-256 of its bytes, sorted. g_free. */
static char *snapshot(const char *dir)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(name));
    if (d)
        g_dir_close(d);
    g_ptr_array_sort(names, cmp_str);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *p = g_build_filename(dir, names->pdata[i], NULL);
        g_autofree char *data = NULL;
        gsize len = 0;
        GStatBuf sb = {0};
        g_stat(p, &sb);
        g_file_get_contents(p, &data, &len, NULL);
        g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                                           (const guchar *)data, len);
        g_string_append_printf(s, "%s %o %s\n", (char *)names->pdata[i],
                               (unsigned)sb.st_mode & 0777, sum);
    }
    return g_string_free(s, FALSE);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static int file_mode(const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    GStatBuf sb;
    return g_stat(p, &sb) == 0 ? (int)(sb.st_mode & 0777) : -1;
}

static char *read_in(const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    char *data = NULL;
    return g_file_get_contents(p, &data, NULL, NULL) ? data : NULL;
}

static void write_in(const char *dir, const char *name, const char *text)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    CU_ASSERT_FATAL(g_file_set_contents(p, text, -1, NULL));
}

/* ---- suite fixtures: a vendor certificate signed by a test root --------------- */

static int make_vendor(void)
{
    const char *d = vendor_dir;
    int rc = OSSL(d, NULL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  "root.key", "-out", "root.crt", "-subj", "/CN=Test Root CA", "-days", "30");
    rc |= OSSL(d, NULL, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "vendor.key",
               "-out", "vendor.csr", "-subj", "/CN=Test MDM Vendor");
    rc |= OSSL(d, NULL, "x509", "-req", "-in", "vendor.csr", "-CA", "root.crt", "-CAkey",
               "root.key", "-set_serial", "2", "-days", "30", "-out", "vendor.crt");
    rc |= OSSL(d, NULL, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
               "-out", "other.key");
    if (rc)
        return 1;
    g_autofree char *v = read_in(d, "vendor.crt");
    g_autofree char *r = read_in(d, "root.crt");
    g_autofree char *chain = g_strconcat(v, r, NULL);
    vendor_chain = g_build_filename(d, "chain.pem", NULL);
    vendor_key = g_build_filename(d, "vendor.key", NULL);
    other_key = g_build_filename(d, "other.key", NULL);
    return g_file_set_contents(vendor_chain, chain, -1, NULL) ? 0 : 1;
}

static int suite_init(void)
{
    vendor_dir = g_dir_make_tmp("orchard-vendor-XXXXXX", NULL);
    return vendor_dir ? make_vendor() : 1;
}

static int suite_cleanup(void)
{
    remove_dir(vendor_dir);
    g_free(vendor_chain);
    g_free(vendor_key);
    g_free(other_key);
    return 0;
}

/* ---- checks of what was written ------------------------------------------ */

/* A PKCS#1 RSA 2048 key that passes `openssl rsa -check`, mode 0600. */
static void check_rsa_key(const char *dir, const char *name)
{
    g_autofree char *pem = read_in(dir, name);
    CU_ASSERT(pem && g_str_has_prefix(pem, "-----BEGIN RSA PRIVATE KEY-----\n"));
    CU_ASSERT_EQUAL(file_mode(dir, name), 0600);
    CU_ASSERT_EQUAL(OSSL(dir, NULL, "rsa", "-check", "-noout", "-in", name), 0);
    g_autofree char *text = ossl_text(dir, "rsa", name, "-text");
    CU_ASSERT(contains(text, "Private-Key: (2048 bit"));
}

/* The key's modulus is the certificate's. */
static void check_pair(const char *dir, const char *cert, const char *key)
{
    g_autofree char *m1 = ossl_text(dir, "x509", cert, "-modulus");
    g_autofree char *m2 = ossl_text(dir, "rsa", key, "-modulus");
    CU_ASSERT(m1 && m2 && strcmp(m1, m2) == 0);
}

static void check_csr(const char *dir, const char *name, const char *subject)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_argv(dir, &out, &err, (const char *[]){"openssl", "req", "-in", name,
                                                               "-verify", "-noout", "-text", NULL}),
                    0);
    CU_ASSERT(contains(err, "verify OK") || contains(out, "verify OK"));
    CU_ASSERT(contains(out, subject));
    CU_ASSERT(strstr(out, "CN =") == NULL);
    CU_ASSERT(contains(out, "Public-Key: (2048 bit)"));
    CU_ASSERT(contains(out, "Signature Algorithm: sha256WithRSAEncryption"));
    CU_ASSERT_EQUAL(file_mode(dir, name), 0644);
}

/* Seconds from now: does the certificate outlive them? */
static int lives_past(const char *dir, const char *cert, const char *seconds)
{
    return OSSL(dir, NULL, "x509", "-in", cert, "-noout", "-checkend", seconds) == 0;
}

static char *serial_of(const char *dir, const char *cert)
{
    return ossl_text(dir, "x509", cert, "-serial");
}

static void check_scep_ca(const char *dir, const char *cert, const char *key)
{
    g_autofree char *text = ossl_text(dir, "x509", cert, "-text");
    CU_ASSERT(contains(text, "Subject: O = scep-ca, OU = SCEP CA, CN = orchard\n"));
    CU_ASSERT(contains(text, "Issuer: O = scep-ca, OU = SCEP CA, CN = orchard\n"));
    CU_ASSERT(contains(text, "Version: 3 (0x2)"));
    CU_ASSERT(contains(text, "Public-Key: (2048 bit)"));
    CU_ASSERT(contains(text, "Signature Algorithm: sha256WithRSAEncryption"));
    CU_ASSERT(contains(text, "X509v3 Basic Constraints: critical\n"
                             "                CA:TRUE, pathlen:0\n"));
    CU_ASSERT(contains(text, "X509v3 Key Usage: critical\n                Digital Signature, "
                             "Certificate Sign, CRL Sign\n"));
    CU_ASSERT(contains(text, "X509v3 Subject Key Identifier:"));
    /* 10 years: alive in 9.9 years, gone at 10.05. */
    CU_ASSERT(lives_past(dir, cert, "312000000"));
    CU_ASSERT(!lives_past(dir, cert, "317000000"));
    g_autofree char *serial = serial_of(dir, cert);
    CU_ASSERT(serial && g_str_has_prefix(serial, "serial="));
    size_t hex = serial ? strlen(g_strstrip(serial)) - strlen("serial=") : 0;
    CU_ASSERT(hex >= 17 && hex <= 32); /* 128 random bits, positive */
    CU_ASSERT(serial && !strchr(serial, '-'));
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(run_argv(dir, &out, NULL, (const char *[]){"openssl", "verify", "-CAfile",
                                                               cert, cert, NULL}),
                    0);
    CU_ASSERT(contains(out, ": OK"));
    CU_ASSERT_EQUAL(file_mode(dir, cert), 0644);
    check_rsa_key(dir, key);
    check_pair(dir, cert, key);
}

/* ---- generate mdm-apple ---------------------------------------------------- */

static void test_mdm_apple_defaults(void)
{
    char *dir = make_dir();
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(GEN(dir, &out, NULL, "--email", "admin@example.com", "--org", "Acme Inc."), 0);
    check_rsa_key(dir, "fleet-mdm-apple-apns.key");
    check_csr(dir, "fleet-mdm-apple-apns.csr",
              "Subject: O = Acme Inc., emailAddress = admin@example.com\n");
    check_scep_ca(dir, "fleet-mdm-apple-scep.crt", "fleet-mdm-apple-scep.key");
    g_autofree char *csr_mod = NULL, *key_mod = NULL;
    OSSL(dir, &csr_mod, "req", "-in", "fleet-mdm-apple-apns.csr", "-noout", "-modulus");
    OSSL(dir, &key_mod, "rsa", "-in", "fleet-mdm-apple-apns.key", "-noout", "-modulus");
    CU_ASSERT(csr_mod && key_mod && strcmp(csr_mod, key_mod) == 0);
    CU_ASSERT_EQUAL(file_mode(dir, "fleet-mdm-apple-push-request.txt"), -1);
    CU_ASSERT(contains(out, "Wrote fleet-mdm-apple-apns.key"));
    CU_ASSERT(contains(out, "Wrote fleet-mdm-apple-scep.crt"));
    CU_ASSERT(contains(out, "Next steps"));
    CU_ASSERT(contains(out, "vendor"));
    g_autofree char *files = snapshot(dir);
    CU_ASSERT_EQUAL(count_lines(files), 4);
    remove_dir(dir);
}

/* Four files exactly, and a new random serial each run. */
static void test_mdm_apple_paths(void)
{
    char *dir = make_dir();
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email=it@example.org", "--org=Example",
                        "--apns-key", "a.key", "--apns-csr=a.csr", "--scep-cert", "s.crt",
                        "--scep-key=s.key"),
                    0);
    g_autofree char *files = snapshot(dir);
    CU_ASSERT(g_str_has_prefix(files, "a.csr 644 "));
    CU_ASSERT(contains(files, "\na.key 600 "));
    CU_ASSERT(contains(files, "\ns.crt 644 "));
    CU_ASSERT(contains(files, "\ns.key 600 "));
    CU_ASSERT_EQUAL(count_lines(files), 4);
    check_csr(dir, "a.csr", "Subject: O = Example, emailAddress = it@example.org\n");
    check_scep_ca(dir, "s.crt", "s.key");

    char *dir2 = make_dir();
    CU_ASSERT_EQUAL(GEN(dir2, NULL, NULL, "--email", "first.last+tag@sub.example.co.uk",
                        "--org", "Ünïcode GmbH"),
                    0);
    g_autofree char *s1 = serial_of(dir, "s.crt");
    g_autofree char *s2 = serial_of(dir2, "fleet-mdm-apple-scep.crt");
    CU_ASSERT(s1 && s2 && strcmp(s1, s2) != 0);
    g_autofree char *subject = NULL;
    CU_ASSERT_EQUAL(OSSL(dir2, &subject, "req", "-in", "fleet-mdm-apple-apns.csr", "-noout",
                         "-subject", "-nameopt", "utf8,sep_comma_plus_space,space_eq"),
                    0);
    CU_ASSERT(contains(subject, "subject=O = \xc3\x9c" "n\xc3\xaf" "code GmbH, "
                                "emailAddress = first.last+tag@sub.example.co.uk\n"));
    remove_dir(dir2);
    remove_dir(dir);
}

/* base64(plist) -> the dict's string `key`. g_free. */
static char *plist_string(plist_t dict, const char *key)
{
    plist_t node = plist_dict_get_item(dict, key);
    char *val = NULL;
    if (!node || plist_get_node_type(node) != PLIST_STRING)
        return NULL;
    plist_get_string_val(node, &val);
    char *out = g_strdup(val);
    free(val);
    return out;
}

static plist_t read_push_request(const char *dir, const char *name)
{
    g_autofree char *b64 = read_in(dir, name);
    if (!b64)
        return NULL;
    gsize len = 0;
    g_autofree guchar *xml = g_base64_decode(b64, &len);
    plist_t p = NULL;
    plist_from_xml((const char *)xml, (uint32_t)len, &p);
    return p;
}

/* PushCertSignature verifies over the CSR's DER with the vendor's public key. */
static void check_signature(const char *dir, const char *sig_b64)
{
    gsize len = 0;
    g_autofree guchar *sig = g_base64_decode(sig_b64, &len);
    g_autofree char *sig_path = g_build_filename(dir, "sig.bin", NULL);
    CU_ASSERT(g_file_set_contents(sig_path, (const char *)sig, (gssize)len, NULL));
    CU_ASSERT_EQUAL(len, 256);
    g_autofree char *pub = NULL;
    CU_ASSERT_EQUAL(OSSL(dir, &pub, "x509", "-in", vendor_chain, "-noout", "-pubkey"), 0);
    write_in(dir, "vendor.pub", pub);
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(OSSL(dir, &out, "dgst", "-sha256", "-verify", "vendor.pub", "-signature",
                         "sig.bin", "csr.der"),
                    0);
    CU_ASSERT(contains(out, "Verified OK"));
}

static void test_mdm_apple_vendor(void)
{
    char *dir = make_dir();
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(GEN(dir, &out, NULL, "--email", "admin@example.com", "--org", "Acme",
                        "--vendor-cert", vendor_chain, "--vendor-key", vendor_key),
                    0);
    CU_ASSERT(contains(out, "Wrote fleet-mdm-apple-push-request.txt"));
    CU_ASSERT(contains(out, "Apple Push Certificates Portal"));
    CU_ASSERT_EQUAL(file_mode(dir, "fleet-mdm-apple-push-request.txt"), 0644);
    plist_t p = read_push_request(dir, "fleet-mdm-apple-push-request.txt");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(plist_dict_get_size(p), 3);
    g_autofree char *csr_b64 = plist_string(p, "PushCertRequestCSR");
    g_autofree char *chain = plist_string(p, "PushCertCertificateChain");
    g_autofree char *sig = plist_string(p, "PushCertSignature");
    plist_free(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csr_b64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sig);

    /* The CSR is base64 of the written CSR's DER. */
    CU_ASSERT_EQUAL(OSSL(dir, NULL, "req", "-in", "fleet-mdm-apple-apns.csr", "-outform", "DER",
                         "-out", "csr.der"),
                    0);
    g_autofree char *der_path = g_build_filename(dir, "csr.der", NULL);
    g_autofree char *der = NULL;
    gsize der_len = 0, csr_len = 0;
    CU_ASSERT(g_file_get_contents(der_path, &der, &der_len, NULL));
    g_autofree guchar *csr = g_base64_decode(csr_b64, &csr_len);
    CU_ASSERT(csr_len == der_len && memcmp(csr, der, der_len) == 0);

    /* The chain is every certificate of the vendor file, in order, as PEM. */
    g_autofree char *given = NULL;
    CU_ASSERT(g_file_get_contents(vendor_chain, &given, NULL, NULL));
    CU_ASSERT(chain && given && strcmp(chain, given) == 0);
    check_signature(dir, sig);

    /* A vendor file without the root still works, with a note about the chain. */
    g_autofree char *alone = g_build_filename(vendor_dir, "vendor.crt", NULL);
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err, "--email", "admin@example.com", "--org", "Acme",
                        "--vendor-cert", alone, "--vendor-key", vendor_key, "--push-request",
                        "second.txt", "--force"),
                    0);
    CU_ASSERT(contains(err, "does not end with a root certificate"));
    CU_ASSERT_EQUAL(file_mode(dir, "second.txt"), 0644);
    remove_dir(dir);
}

static void test_mdm_apple_vendor_errors(void)
{
    char *dir = make_dir();
    write_in(dir, "fleet-mdm-apple-scep.crt", "sentinel\n");
    g_autofree char *before = snapshot(dir);
    g_autofree char *err = NULL;
    /* Mismatched key: exit 2 and nothing touched, even with --force. */
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err, "--email", "a@example.com", "--org", "Acme",
                        "--vendor-cert", vendor_chain, "--vendor-key", other_key, "--force"),
                    2);
    CU_ASSERT(contains(err, "does not match"));
    g_autofree char *after = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(before, after);

    const char *const cases[][4] = {
        {"--vendor-cert", "nope.crt", "--vendor-key", "x"},      /* no such files */
        {"--vendor-cert", "fleet-mdm-apple-scep.crt", "--vendor-key", "x"}, /* not PEM */
        {"--vendor-cert", vendor_chain, "--push-request", "p.txt"}, /* key missing */
        {"--vendor-key", vendor_key, "--push-request", "p.txt"},    /* cert missing */
        {"--push-request", "p.txt", "--force", NULL},               /* no vendor */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int rc = GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", "Acme", cases[i][0],
                     cases[i][1], cases[i][2], cases[i][3]);
        CU_ASSERT_EQUAL(rc, 2);
        if (rc != 2)
            fprintf(stderr, "\n  vendor case %zu: exit %d\n", i, rc);
        g_free(after);
        after = snapshot(dir);
        CU_ASSERT_STRING_EQUAL(before, after);
    }
    /* An output on an input: refused even with --force. */
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", "Acme",
                        "--vendor-cert", vendor_chain, "--vendor-key", vendor_key, "--apns-key",
                        vendor_key, "--force"),
                    2);
    g_free(after);
    after = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(before, after);
    remove_dir(dir);
}

static void test_mdm_apple_invalid_emails(void)
{
    static const char *const bad[] = {
        "plain", "a@", "@example.com", "a@@example.com", "a@b@example.com", "a b@example.com",
        " a@example.com", "a@example.com ", "a\t@example.com", "a@example", "a@example..com",
        "a@.example.com", "a@example.com.", "a@-example.com", "a@exa_mple.com", ".a@example.com",
        "a.@example.com", "a..b@example.com", "a<b@example.com", "a\"b@example.com",
        "j\xc3\xa9@example.com", "a@ex\x7f" "ample.com",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com",
    };
    char *dir = make_dir();
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *err = NULL;
        int rc = GEN(dir, NULL, &err, "--email", bad[i], "--org", "Acme");
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT(contains(err, "invalid email address"));
        if (rc != 2)
            fprintf(stderr, "\n  accepted email '%s'\n", bad[i]);
    }
    g_autofree char *label = g_strnfill(250, 'b');
    g_autofree char *long_domain = g_strdup_printf("a@%s.com", label);
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", long_domain, "--org", "Acme"), 2);
    g_autofree char *files = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(files, "");
    remove_dir(dir);
}

/* Each argument error: exit 2, a message, nothing written. */
static void test_mdm_apple_arg_errors(void)
{
    static const struct {
        const char *args[6];
        const char *message;
    } cases[] = {
        {{"--org", "Acme"}, "--email is required"},
        {{"--email", "a@example.com"}, "--org is required"},
        {{"--email", "a@example.com", "--org", ""}, "must not be empty"},
        {{"--email", "a@example.com", "--org="}, "must not be empty"},
        {{"--email=", "--org", "Acme"}, "must not be empty"},
        {{"--email", "a@example.com", "--org", "   "}, "invalid organization"},
        {{"--email", "a@example.com", "--org", "a\nb"}, "invalid organization"},
        {{"--email", "a@example.com", "--org"}, "needs a value"},
        {{"--email", "--org", "Acme"}, "needs a value"},
        {{"--email", "a@example.com", "--org", "Acme", "--apns-key"}, "needs a value"},
        {{"--email", "a@example.com", "--org", "Acme", "--bogus"}, "unknown option --bogus"},
        {{"--email", "a@example.com", "--org", "Acme", "-x"}, "unknown option -x"},
        {{"--email", "a@example.com", "--org", "Acme", "stray"}, "unexpected argument"},
        {{"--email", "a@example.com", "--email", "b@example.com", "--org", "Acme"}, "given twice"},
        {{"--email", "a@example.com", "--org", "Acme", "--force=yes"}, "takes no value"},
        {{"--email", "a@example.com", "--org", "Acme", "--renew", "--force"}, "choose one"},
        {{"--email", "a@example.com", "--org", "Acme", "--replace-scep-ca=1"}, "takes no value"},
        {{"--email", "a@example.com", "--org", "Acme", "--scep-key=a.key", "--apns-key=a.key"},
         "both be written to a.key"},
        {{"--email", "a@example.com", "--org", "Acme", "--apns-csr",
          "fleet-mdm-apple-scep.crt"}, "both be written"},
    };
    char *dir = make_dir();
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *argv[10] = {ORCHARD_BIN, "generate", "mdm-apple"};
        for (size_t k = 0; k < 6 && cases[i].args[k]; k++)
            argv[3 + k] = cases[i].args[k];
        g_autofree char *err = NULL;
        int rc = run_argv(dir, NULL, &err, argv);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT(contains(err, cases[i].message));
        if (rc != 2)
            fprintf(stderr, "\n  arg case %zu: exit %d\n", i, rc);
    }
    g_autofree char *long_org = g_strnfill(65, 'o');
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", long_org), 2);
    g_autofree char *files = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(files, "");
    remove_dir(dir);
}

/* One file in the way: exit 1, nothing written, and the advice names --renew. */
static void test_mdm_apple_exists(void)
{
    char *dir = make_dir();
    write_in(dir, "fleet-mdm-apple-apns.csr", "sentinel\n");
    g_autofree char *before = snapshot(dir);
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err, "--email", "a@example.com", "--org", "Acme"), 1);
    CU_ASSERT(contains(err, "fleet-mdm-apple-apns.csr already exists"));
    CU_ASSERT(contains(err, "use --renew (a new CSR; the APNs key and the SCEP CA are kept)"));
    CU_ASSERT(contains(err, "--force"));
    g_autofree char *after = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(before, after);

    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(GEN(dir, &out, NULL, "--email", "a@example.com", "--org", "Acme", "--force"),
                    0);
    check_scep_ca(dir, "fleet-mdm-apple-scep.crt", "fleet-mdm-apple-scep.key");
    check_rsa_key(dir, "fleet-mdm-apple-apns.key");
    check_csr(dir, "fleet-mdm-apple-apns.csr", "Subject: O = Acme, emailAddress = a@example.com\n");
    /* And a second run without a flag leaves the first run's files alone. */
    g_free(before);
    before = snapshot(dir);
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", "Acme"), 1);
    g_free(after);
    after = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(before, after);
    remove_dir(dir);
}

/* ---- renewal: --renew, --force, --replace-scep-ca ---------------------------- */

/* SHA-256 of a file's bytes, "" when it can't be read. g_free. */
static char *file_sum(const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(p, &data, &len, NULL))
        return g_strdup("");
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

/* The bytes of the four files of a default run. */
typedef struct {
    char *apns_key, *csr, *scep_cert, *scep_key;
} gen_sums;

static void sums_take(const char *dir, gen_sums *s)
{
    s->apns_key = file_sum(dir, "fleet-mdm-apple-apns.key");
    s->csr = file_sum(dir, "fleet-mdm-apple-apns.csr");
    s->scep_cert = file_sum(dir, "fleet-mdm-apple-scep.crt");
    s->scep_key = file_sum(dir, "fleet-mdm-apple-scep.key");
}

static void sums_clear(gen_sums *s)
{
    g_free(s->apns_key);
    g_free(s->csr);
    g_free(s->scep_cert);
    g_free(s->scep_key);
}

/* A folder after a first, plain run; *sums of its files. */
static char *first_run(gen_sums *sums)
{
    char *dir = make_dir();
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", "Acme"), 0);
    sums_take(dir, sums);
    CU_ASSERT_STRING_NOT_EQUAL(sums->scep_cert, "");
    return dir;
}

/* The CSR belongs to the APNs key. */
static void check_csr_key(const char *dir)
{
    g_autofree char *csr_mod = NULL, *key_mod = NULL;
    OSSL(dir, &csr_mod, "req", "-in", "fleet-mdm-apple-apns.csr", "-noout", "-modulus");
    OSSL(dir, &key_mod, "rsa", "-in", "fleet-mdm-apple-apns.key", "-noout", "-modulus");
    CU_ASSERT(csr_mod && key_mod && strcmp(csr_mod, key_mod) == 0);
}

/* --renew: a new CSR for the same APNs key; the SCEP CA is not touched. */
static void test_mdm_apple_renew(void)
{
    gen_sums before = {0}, after = {0};
    char *dir = first_run(&before);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, &out, &err, "--email", "it@example.com", "--org", "Acme Renewed",
                        "--renew"),
                    0);
    sums_take(dir, &after);
    CU_ASSERT_STRING_EQUAL(after.scep_cert, before.scep_cert);
    CU_ASSERT_STRING_EQUAL(after.scep_key, before.scep_key);
    CU_ASSERT_STRING_EQUAL(after.apns_key, before.apns_key);
    CU_ASSERT_STRING_NOT_EQUAL(after.csr, before.csr);
    check_csr(dir, "fleet-mdm-apple-apns.csr",
              "Subject: O = Acme Renewed, emailAddress = it@example.com\n");
    check_csr_key(dir);
    CU_ASSERT(contains(out, "Kept fleet-mdm-apple-apns.key"));
    CU_ASSERT(contains(out, "Kept fleet-mdm-apple-scep.crt"));
    CU_ASSERT(contains(out, "Kept fleet-mdm-apple-scep.key"));
    CU_ASSERT(contains(out, "Wrote fleet-mdm-apple-apns.csr"));
    CU_ASSERT(contains(out, "Renew"));
    CU_ASSERT(err && !strstr(err, "WARNING"));
    sums_clear(&after);

    /* Without an APNs key in place, --renew makes one; the CA stays. */
    g_autofree char *key = g_build_filename(dir, "fleet-mdm-apple-apns.key", NULL);
    CU_ASSERT_EQUAL(g_unlink(key), 0);
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", "Acme", "--renew"),
                    0);
    sums_take(dir, &after);
    CU_ASSERT_STRING_EQUAL(after.scep_cert, before.scep_cert);
    CU_ASSERT_STRING_EQUAL(after.scep_key, before.scep_key);
    CU_ASSERT_STRING_NOT_EQUAL(after.apns_key, before.apns_key);
    check_rsa_key(dir, "fleet-mdm-apple-apns.key");
    check_csr_key(dir);
    sums_clear(&after);
    sums_clear(&before);
    remove_dir(dir);

    /* In an empty folder --renew makes everything. */
    dir = make_dir();
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", "Acme", "--renew"),
                    0);
    check_scep_ca(dir, "fleet-mdm-apple-scep.crt", "fleet-mdm-apple-scep.key");
    check_csr_key(dir);
    remove_dir(dir);
}

/* --force: a new APNs key and CSR; the SCEP CA is not touched. */
static void test_mdm_apple_force_keeps_ca(void)
{
    gen_sums before = {0}, after = {0};
    char *dir = first_run(&before);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, &out, &err, "--email", "a@example.com", "--org", "Acme", "--force"),
                    0);
    sums_take(dir, &after);
    CU_ASSERT_STRING_EQUAL(after.scep_cert, before.scep_cert);
    CU_ASSERT_STRING_EQUAL(after.scep_key, before.scep_key);
    CU_ASSERT_STRING_NOT_EQUAL(after.apns_key, before.apns_key);
    CU_ASSERT_STRING_NOT_EQUAL(after.csr, before.csr);
    check_rsa_key(dir, "fleet-mdm-apple-apns.key");
    check_csr_key(dir);
    CU_ASSERT(contains(out, "Wrote fleet-mdm-apple-apns.key"));
    CU_ASSERT(contains(out, "Kept fleet-mdm-apple-scep.crt"));
    CU_ASSERT(err && !strstr(err, "WARNING"));
    sums_clear(&after);
    sums_clear(&before);
    remove_dir(dir);
}

/* --replace-scep-ca: a new CA, and a warning that names what it costs. */
static void test_mdm_apple_replace_ca(void)
{
    gen_sums before = {0}, after = {0};
    char *dir = first_run(&before);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, &out, &err, "--email", "a@example.com", "--org", "Acme", "--renew",
                        "--replace-scep-ca"),
                    0);
    sums_take(dir, &after);
    CU_ASSERT_STRING_NOT_EQUAL(after.scep_cert, before.scep_cert);
    CU_ASSERT_STRING_NOT_EQUAL(after.scep_key, before.scep_key);
    CU_ASSERT_STRING_EQUAL(after.apns_key, before.apns_key);
    CU_ASSERT(contains(err, "WARNING: --replace-scep-ca"));
    CU_ASSERT(contains(err, "every enrolled Mac is cut off and must enroll again"));
    CU_ASSERT(contains(out, "Wrote fleet-mdm-apple-scep.crt"));
    check_scep_ca(dir, "fleet-mdm-apple-scep.crt", "fleet-mdm-apple-scep.key");
    sums_clear(&after);

    /* With --force, the APNs key is new as well. */
    g_free(err);
    err = NULL;
    gen_sums second = {0};
    sums_take(dir, &second);
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err, "--email", "a@example.com", "--org", "Acme", "--force",
                        "--replace-scep-ca"),
                    0);
    sums_take(dir, &after);
    CU_ASSERT_STRING_NOT_EQUAL(after.scep_cert, second.scep_cert);
    CU_ASSERT_STRING_NOT_EQUAL(after.apns_key, second.apns_key);
    CU_ASSERT(contains(err, "must enroll again"));
    sums_clear(&after);
    sums_clear(&second);
    sums_clear(&before);

    /* Alone, it does not replace APNs files that exist. */
    g_autofree char *snap = snapshot(dir);
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err, "--email", "a@example.com", "--org", "Acme",
                        "--replace-scep-ca"),
                    1);
    CU_ASSERT(contains(err, "fleet-mdm-apple-apns.key already exists"));
    CU_ASSERT(err && !strstr(err, "WARNING"));
    g_autofree char *snap2 = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(snap, snap2);
    remove_dir(dir);

    /* Where there is no CA yet, there is nothing to warn about. */
    dir = make_dir();
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err, "--email", "a@example.com", "--org", "Acme",
                        "--replace-scep-ca"),
                    0);
    CU_ASSERT(err && !strstr(err, "WARNING"));
    check_scep_ca(dir, "fleet-mdm-apple-scep.crt", "fleet-mdm-apple-scep.key");
    remove_dir(dir);
}

/* What --renew and --force refuse to keep: nothing written, exit 1. */
static void test_mdm_apple_keep_errors(void)
{
    static const struct {
        const char *scep_cert, *scep_key, *apns_key; /* fixture names, NULL: absent */
        const char *flag, *message;
    } cases[] = {
        {NULL, "sentinel", NULL, "--force", "half a CA"},
        {"sentinel", NULL, NULL, "--renew", "half a CA"},
        {"sentinel", "sentinel", NULL, "--force", "--scep-cert: "},
        {"ca.crt", "other.key", NULL, "--force", "does not belong to the SCEP CA"},
        {"vendor.crt", "vendor.key", NULL, "--renew", "is not a CA certificate"},
        {"ca.crt", "ca.key", "small.key", "--renew", "not an RSA 2048 key"},
        {"ca.crt", "ca.key", "sentinel", "--renew", "--apns-key: "},
    };
    /* A real CA and key from a plain run, and an RSA 1024 key. */
    gen_sums unused = {0};
    char *src = first_run(&unused);
    sums_clear(&unused);
    CU_ASSERT_EQUAL(OSSL(src, NULL, "genpkey", "-algorithm", "RSA", "-pkeyopt",
                         "rsa_keygen_bits:1024", "-out", "small.key"),
                    0);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *const names[] = {cases[i].scep_cert, cases[i].scep_key, cases[i].apns_key};
        const char *const targets[] = {"fleet-mdm-apple-scep.crt", "fleet-mdm-apple-scep.key",
                                       "fleet-mdm-apple-apns.key"};
        char *dir = make_dir();
        for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
            g_autofree char *text = NULL;
            if (!names[k])
                continue;
            if (strcmp(names[k], "sentinel") == 0)
                text = g_strdup("sentinel\n");
            else if (strcmp(names[k], "ca.crt") == 0)
                text = read_in(src, "fleet-mdm-apple-scep.crt");
            else if (strcmp(names[k], "ca.key") == 0)
                text = read_in(src, "fleet-mdm-apple-scep.key");
            else if (strcmp(names[k], "small.key") == 0)
                text = read_in(src, "small.key");
            else
                text = read_in(vendor_dir, names[k]);
            CU_ASSERT_PTR_NOT_NULL_FATAL(text);
            write_in(dir, targets[k], text);
        }
        g_autofree char *before = snapshot(dir);
        g_autofree char *err = NULL;
        int rc = GEN(dir, NULL, &err, "--email", "a@example.com", "--org", "Acme",
                     cases[i].flag);
        CU_ASSERT_EQUAL(rc, 1);
        CU_ASSERT(contains(err, cases[i].message));
        CU_ASSERT(contains(err, "nothing was written"));
        if (rc != 1)
            fprintf(stderr, "\n  keep case %zu: exit %d\n", i, rc);
        g_autofree char *after = snapshot(dir);
        CU_ASSERT_STRING_EQUAL(before, after);
        /* Half a CA goes away only when asked for by name. */
        if (i == 0) {
            g_autofree char *err2 = NULL;
            CU_ASSERT_EQUAL(GEN(dir, NULL, &err2, "--email", "a@example.com", "--org", "Acme",
                                "--force", "--replace-scep-ca"),
                            0);
            CU_ASSERT(contains(err2, "must enroll again"));
            check_scep_ca(dir, "fleet-mdm-apple-scep.crt", "fleet-mdm-apple-scep.key");
        }
        remove_dir(dir);
    }
    remove_dir(src);
}

/* A renewal with vendor material: a request for the kept key, signed anew. */
static void test_mdm_apple_renew_vendor(void)
{
    gen_sums before = {0}, after = {0};
    char *dir = first_run(&before);
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(GEN(dir, &out, NULL, "--email", "a@example.com", "--org", "Acme",
                        "--vendor-cert", vendor_chain, "--vendor-key", vendor_key, "--renew"),
                    0);
    sums_take(dir, &after);
    CU_ASSERT_STRING_EQUAL(after.scep_cert, before.scep_cert);
    CU_ASSERT_STRING_EQUAL(after.apns_key, before.apns_key);
    CU_ASSERT(contains(out, "Wrote fleet-mdm-apple-push-request.txt"));
    CU_ASSERT(contains(out, "choose \"Renew\" next"));
    /* A second renewal overwrites the request without --force. */
    CU_ASSERT_EQUAL(GEN(dir, NULL, NULL, "--email", "a@example.com", "--org", "Acme",
                        "--vendor-cert", vendor_chain, "--vendor-key", vendor_key, "--renew"),
                    0);
    sums_clear(&after);
    sums_clear(&before);
    remove_dir(dir);
}

/* The push request's plist is written by libplist: markup in a value comes
 * out escaped and reads back as it went in. */
static void test_push_request_escaping(void)
{
    const char *hostile = "<string>x</string></dict><key>Injected</key> & \"quotes\" 'é' ]]>";
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_push_request_encode("Q1NS", hostile, "U0lH", &out, &err), 0);
    gsize len = 0;
    g_autofree guchar *xml = g_base64_decode(out, &len);
    g_autofree char *text = g_strndup((const char *)xml, len);
    CU_ASSERT(contains(text, "&lt;string&gt;x&lt;/string&gt;"));
    CU_ASSERT(contains(text, "&amp;"));
    CU_ASSERT(strstr(text, "<key>Injected</key>") == NULL);
    plist_t p = NULL;
    plist_from_xml((const char *)xml, (uint32_t)len, &p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(plist_dict_get_size(p), 3);
    g_autofree char *chain = plist_string(p, "PushCertCertificateChain");
    g_autofree char *csr = plist_string(p, "PushCertRequestCSR");
    g_autofree char *sig = plist_string(p, "PushCertSignature");
    plist_free(p);
    CU_ASSERT(chain && strcmp(chain, hostile) == 0);
    CU_ASSERT(csr && strcmp(csr, "Q1NS") == 0);
    CU_ASSERT(sig && strcmp(sig, "U0lH") == 0);

    /* A missing or non-UTF-8 value is refused, with nothing returned. */
    g_autofree char *out2 = NULL, *err2 = NULL, *out3 = NULL, *err3 = NULL;
    CU_ASSERT_EQUAL(orchard_push_request_encode(NULL, "c", "s", &out2, &err2), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(out2);
    CU_ASSERT(contains(err2, "PushCertRequestCSR is missing"));
    CU_ASSERT_EQUAL(orchard_push_request_encode("a", "\xff\xfe", "s", &out3, &err3),
                    ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(out3);
    CU_ASSERT(contains(err3, "PushCertCertificateChain is not UTF-8"));
}

/* A write that fails half-way removes the files written before it. */
static void test_mdm_apple_rollback(void)
{
    if (!g_file_test("/proc/self", G_FILE_TEST_IS_DIR))
        return; /* needs a folder nobody (not even root) can create files in */
    char *dir = make_dir();
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err, "--email", "a@example.com", "--org", "Acme",
                        "--scep-key", "/proc/orchard-generate-test.key"),
                    1);
    CU_ASSERT(contains(err, "/proc/orchard-generate-test.key"));
    g_autofree char *files = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(files, "");
    remove_dir(dir);

    /* Files replaced before the failure get their old bytes and mode back:
     * the APNs key, the CSR and the SCEP CA certificate here. */
    gen_sums unused = {0};
    dir = first_run(&unused);
    sums_clear(&unused);
    g_autofree char *crt = g_build_filename(dir, "fleet-mdm-apple-scep.crt", NULL);
    CU_ASSERT_EQUAL(g_chmod(crt, 0640), 0);
    g_autofree char *before = snapshot(dir);
    g_autofree char *err2 = NULL;
    CU_ASSERT_EQUAL(GEN(dir, NULL, &err2, "--email", "a@example.com", "--org", "Acme", "--force",
                        "--replace-scep-ca", "--scep-key", "/proc/orchard-generate-test.key"),
                    1);
    CU_ASSERT(contains(err2, "every file is as it was before"));
    g_autofree char *after = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(before, after);
    remove_dir(dir);
}

static void test_help(void)
{
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(ORCH(NULL, &out, NULL, "generate", "mdm-apple", "--help"), 0);
    CU_ASSERT(contains(out, "--vendor-cert F"));
    CU_ASSERT(contains(out, "--renew"));
    CU_ASSERT(contains(out, "--replace-scep-ca"));
    CU_ASSERT(contains(out, "must enroll again"));
    CU_ASSERT(contains(out, "Exit status"));
    g_autofree char *out2 = NULL;
    CU_ASSERT_EQUAL(ORCH(NULL, &out2, NULL, "help", "generate", "mdm-apple-bm"), 0);
    CU_ASSERT(contains(out2, "--public-key F"));
}

/* ---- generate mdm-apple-bm ------------------------------------------------- */

static void check_bm(const char *dir, const char *cert, const char *key)
{
    g_autofree char *text = ossl_text(dir, "x509", cert, "-text");
    CU_ASSERT(contains(text, "Subject: CN = orchard\n"));
    CU_ASSERT(contains(text, "Issuer: CN = orchard\n"));
    CU_ASSERT(contains(text, "Public-Key: (2048 bit)"));
    CU_ASSERT(contains(text, "X509v3 Key Usage: critical\n                Digital Signature, "
                             "Key Encipherment\n"));
    CU_ASSERT(contains(text, "Signature Algorithm: sha256WithRSAEncryption"));
    g_autofree char *serial = serial_of(dir, cert);
    CU_ASSERT(contains(serial, "serial=01\n"));
    CU_ASSERT(lives_past(dir, cert, "2505600"));   /* 29 days */
    CU_ASSERT(!lives_past(dir, cert, "2678400"));  /* 31 days */
    CU_ASSERT_EQUAL(file_mode(dir, cert), 0644);
    check_rsa_key(dir, key);
    check_pair(dir, cert, key);
}

static void test_bm_defaults(void)
{
    char *dir = make_dir();
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(ORCH(dir, &out, NULL, "generate", "mdm-apple-bm"), 0);
    check_bm(dir, "fleet-apple-mdm-bm-public-key.crt", "fleet-apple-mdm-bm-private.key");
    CU_ASSERT(contains(out, "Apple Business Manager"));
    CU_ASSERT(contains(out, "mdm.apple_bm_server_token"));
    g_autofree char *files = snapshot(dir);
    CU_ASSERT_EQUAL(count_lines(files), 2);
    remove_dir(dir);
}

static void test_bm_paths_and_errors(void)
{
    char *dir = make_dir();
    CU_ASSERT_EQUAL(GEN_BM(dir, NULL, NULL, "--public-key=bm.crt", "--private-key", "bm.key"), 0);
    check_bm(dir, "bm.crt", "bm.key");
    g_autofree char *before = snapshot(dir);
    static const char *const cases[][3] = {
        {"--bogus", NULL}, {"--public-key", NULL}, {"--private-key=", NULL},
        {"--public-key=x", "--private-key=x"}, {"extra", NULL},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *argv[6] = {ORCHARD_BIN, "generate", "mdm-apple-bm", cases[i][0], cases[i][1]};
        CU_ASSERT_EQUAL(run_argv(dir, NULL, NULL, argv), 2);
    }
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(GEN_BM(dir, NULL, &err, "--public-key", "bm.crt", "--private-key=new.key"), 1);
    CU_ASSERT(contains(err, "bm.crt already exists"));
    g_autofree char *after = snapshot(dir);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(GEN_BM(dir, NULL, NULL, "--public-key", "bm.crt", "--private-key=bm.key",
                           "--force"),
                    0);
    check_bm(dir, "bm.crt", "bm.key");
    g_free(after);
    after = snapshot(dir);
    CU_ASSERT_STRING_NOT_EQUAL(before, after);
    remove_dir(dir);
}

void server_generate_suite(void)
{
    ORCHARD_ADD_SUITE("server_generate", suite_init, suite_cleanup,
                      {"mdm_apple_defaults", test_mdm_apple_defaults},
                      {"mdm_apple_paths", test_mdm_apple_paths},
                      {"mdm_apple_vendor", test_mdm_apple_vendor},
                      {"mdm_apple_vendor_errors", test_mdm_apple_vendor_errors},
                      {"mdm_apple_invalid_emails", test_mdm_apple_invalid_emails},
                      {"mdm_apple_arg_errors", test_mdm_apple_arg_errors},
                      {"mdm_apple_exists", test_mdm_apple_exists},
                      {"mdm_apple_renew", test_mdm_apple_renew},
                      {"mdm_apple_force_keeps_ca", test_mdm_apple_force_keeps_ca},
                      {"mdm_apple_replace_ca", test_mdm_apple_replace_ca},
                      {"mdm_apple_keep_errors", test_mdm_apple_keep_errors},
                      {"mdm_apple_renew_vendor", test_mdm_apple_renew_vendor},
                      {"push_request_escaping", test_push_request_escaping},
                      {"mdm_apple_rollback", test_mdm_apple_rollback},
                      {"help", test_help},
                      {"bm_defaults", test_bm_defaults},
                      {"bm_paths_and_errors", test_bm_paths_and_errors});
}

/* `orchard generate mdm-apple`: the first step of MDM setup, as in Fleet,
 * and the yearly APNs renewal. Makes the APNs key and CSR and the SCEP CA,
 * and with an MDM vendor certificate also the push request for Apple's
 * portal; checks every argument and output path before it writes anything
 * (docs/protocols.md §4). The SCEP CA is replaced only when asked by name:
 * every enrolled Mac's identity certificate hangs off it. */
#include "server_plugin/server.h"

#include "server_plugin/setup/cert_build.h"
#include "server_plugin/setup/push_request.h"
#include "server_plugin/setup/setup_io.h"
#include "server_plugin/crypto/x509_util.h"

#include <glib.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define USAGE                                                                                  \
    "orchard generate mdm-apple --email E --org O [--apns-key F] [--apns-csr F]\n"             \
    "        [--scep-cert F] [--scep-key F] [--vendor-cert F --vendor-key F [--push-request F]]\n" \
    "        [--renew | --force] [--replace-scep-ca]\n"                                        \
    "  --email E         contact email, the CSR's emailAddress\n"                              \
    "  --org O           organization name, the CSR's O\n"                                     \
    "  --apns-key F      APNs private key to write (fleet-mdm-apple-apns.key, mode 0600)\n"    \
    "  --apns-csr F      APNs CSR to write (fleet-mdm-apple-apns.csr)\n"                       \
    "  --scep-cert F     SCEP CA certificate to write (fleet-mdm-apple-scep.crt)\n"            \
    "  --scep-key F      SCEP CA private key to write (fleet-mdm-apple-scep.key, mode 0600)\n" \
    "  --vendor-cert F   your MDM vendor certificate (PEM), followed in the file by its chain\n" \
    "                    to Apple's root (Apple WWDR intermediate, Apple Inc. Root)\n"          \
    "  --vendor-key F    the vendor certificate's private key; with both, the CSR is signed\n" \
    "  --push-request F  push request to write (fleet-mdm-apple-push-request.txt)\n"           \
    "  --renew           renewal: a new CSR (and push request) for the existing APNs key (a\n" \
    "                    new key if there is none); the SCEP CA is kept\n"                     \
    "  --force           start APNs over: replace the APNs key, CSR and push request; the\n"   \
    "                    SCEP CA is kept\n"                                                    \
    "  --replace-scep-ca make a new SCEP CA over the existing one. Every enrolled Mac is\n"    \
    "                    then cut off and must enroll again.\n"                                \
    "Options take their value as `--opt V` or `--opt=V`.\n"                                    \
    "Exit status: 0 files written; 2 argument error (unknown option, missing or empty\n"       \
    "value, invalid email, missing org, --renew with --force, unreadable vendor files, a\n"   \
    "vendor key that does not match its certificate, two outputs on one path); 1 a file\n"    \
    "exists (without --renew or --force) or cannot be written, a file to keep is unusable,\n" \
    "or key generation failed. On any error nothing is written."

#define CMD "generate mdm-apple"

typedef struct {
    const char *email, *org;
    const char *apns_key, *apns_csr, *scep_cert, *scep_key;
    const char *vendor_cert, *vendor_key, *push_request;
    int renew, force, replace_scep_ca;
} mdm_args;

/* What this run keeps, decided from the flags and the files in place. */
typedef struct {
    int keep_apns_key;    /* --renew with an APNs key in place */
    int keep_scep_ca;     /* --renew or --force with a SCEP CA in place */
    int replaces_scep_ca; /* --replace-scep-ca over a CA in place: say what it costs */
    int half_scep_ca;     /* --renew or --force with one of the CA's two files: refused */
} mdm_plan;

/* Everything generated, in memory until all of it exists. */
typedef struct {
    STACK_OF(X509) *vendor_chain;
    EVP_PKEY *vendor_key;
    EVP_PKEY *apns_key;
    X509_REQ *csr;
    EVP_PKEY *scep_key;
    X509 *scep_cert;
    char *pem[4]; /* apns key, csr, scep cert, scep key */
    char *push_request;
} mdm_material;

static void material_clear(mdm_material *m)
{
    sk_X509_pop_free(m->vendor_chain, X509_free);
    EVP_PKEY_free(m->vendor_key);
    EVP_PKEY_free(m->apns_key);
    X509_REQ_free(m->csr);
    EVP_PKEY_free(m->scep_key);
    X509_free(m->scep_cert);
    for (size_t i = 0; i < G_N_ELEMENTS(m->pem); i++)
        g_free(m->pem[i]);
    g_free(m->push_request);
}

/* ---- arguments --------------------------------------------------------- */

static int domain_label_ok(const char *s, size_t len)
{
    if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

static const char *domain_problem(const char *d)
{
    if (!*d)
        return "nothing after '@'";
    if (strlen(d) > 253)
        return "the domain is longer than 253 characters";
    if (!strchr(d, '.'))
        return "the domain has no '.'";
    for (const char *p = d;;) {
        size_t len = strcspn(p, ".");
        if (!domain_label_ok(p, len))
            return "the domain is not a host name";
        if (!p[len])
            return NULL;
        p += len + 1;
    }
}

static const char *local_problem(const char *l, size_t len)
{
    if (len == 0)
        return "nothing before '@'";
    if (len > 64)
        return "the part before '@' is longer than 64 characters";
    if (l[0] == '.' || l[len - 1] == '.' || g_strstr_len(l, (gssize)len, ".."))
        return "misplaced '.' before '@'";
    for (size_t i = 0; i < len; i++)
        if (strchr("\"(),:;<>[\\]", l[i]))
            return "a character that needs quoting";
    return NULL;
}

/* Why `email` is not a plain address (a@b.c), or NULL when it is one. */
static const char *email_problem(const char *email)
{
    if (strlen(email) > 254)
        return "longer than 254 characters";
    for (const char *p = email; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return "spaces, control or non-ASCII characters";
    const char *at = strchr(email, '@');
    if (!at)
        return "no '@'";
    if (strchr(at + 1, '@'))
        return "more than one '@'";
    const char *why = local_problem(email, (size_t)(at - email));
    return why ? why : domain_problem(at + 1);
}

/* Why `org` can't be the CSR's O (X.520 caps it at 64 characters), or NULL. */
static const char *org_problem(const char *org)
{
    if (!g_utf8_validate(org, -1, NULL))
        return "not UTF-8";
    g_autofree char *trimmed = g_strstrip(g_strdup(org));
    if (!*trimmed)
        return "blank";
    if (g_utf8_strlen(org, -1) > 64)
        return "longer than 64 characters";
    for (const char *p = org; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "control characters";
    return NULL;
}

static int check_args(const mdm_args *a)
{
    const char *why;
    if (!a->email || !a->org) {
        fprintf(stderr, "orchard " CMD ": --%s is required\nusage: %s\n",
                a->email ? "org" : "email", USAGE);
        return 2;
    }
    if ((why = email_problem(a->email)) != NULL) {
        fprintf(stderr, "orchard " CMD ": invalid email address '%s': %s\n", a->email, why);
        return 2;
    }
    if ((why = org_problem(a->org)) != NULL) {
        fprintf(stderr, "orchard " CMD ": invalid organization: %s\n", why);
        return 2;
    }
    if (!a->vendor_cert != !a->vendor_key) {
        fprintf(stderr, "orchard " CMD ": --vendor-cert and --vendor-key go together\n");
        return 2;
    }
    if (a->push_request && !a->vendor_cert) {
        fprintf(stderr, "orchard " CMD ": --push-request needs --vendor-cert and --vendor-key\n");
        return 2;
    }
    if (a->renew && a->force) {
        fprintf(stderr, "orchard " CMD ": --renew and --force: choose one (--renew keeps the "
                "APNs key, --force replaces it; both keep the SCEP CA)\n");
        return 2;
    }
    return 0;
}

static int parse_args(int argc, char **argv, mdm_args *a)
{
    const orchard_setup_opt opts[] = {
        {"email", &a->email, NULL},
        {"org", &a->org, NULL},
        {"apns-key", &a->apns_key, NULL},
        {"apns-csr", &a->apns_csr, NULL},
        {"scep-cert", &a->scep_cert, NULL},
        {"scep-key", &a->scep_key, NULL},
        {"vendor-cert", &a->vendor_cert, NULL},
        {"vendor-key", &a->vendor_key, NULL},
        {"push-request", &a->push_request, NULL},
        {"renew", NULL, &a->renew},
        {"force", NULL, &a->force},
        {"replace-scep-ca", NULL, &a->replace_scep_ca},
    };
    int rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), USAGE);
    if (rc)
        return rc;
    rc = check_args(a);
    if (!a->apns_key)
        a->apns_key = "fleet-mdm-apple-apns.key";
    if (!a->apns_csr)
        a->apns_csr = "fleet-mdm-apple-apns.csr";
    if (!a->scep_cert)
        a->scep_cert = "fleet-mdm-apple-scep.crt";
    if (!a->scep_key)
        a->scep_key = "fleet-mdm-apple-scep.key";
    if (!a->push_request && a->vendor_cert)
        a->push_request = "fleet-mdm-apple-push-request.txt";
    return rc;
}

/* ---- the vendor's material --------------------------------------------- */

/* Notes, not errors: Apple's portal checks the chain, and we can't. */
static void warn_chain(const mdm_args *a, STACK_OF(X509) *chain)
{
    X509 *first = sk_X509_value(chain, 0);
    X509 *last = sk_X509_value(chain, sk_X509_num(chain) - 1);
    if (X509_cmp_current_time(X509_get0_notAfter(first)) < 0)
        fprintf(stderr, "orchard " CMD ": warning: the vendor certificate in %s has expired\n",
                a->vendor_cert);
    if (X509_check_issued(last, last) != X509_V_OK)
        fprintf(stderr,
                "orchard " CMD ": note: %s does not end with a root certificate; Apple's portal "
                "wants the whole chain (vendor certificate, Apple WWDR intermediate, Apple Inc. "
                "Root) in that order\n",
                a->vendor_cert);
}

/* Load the vendor certificate chain and key; 2 when they are unusable. */
static int load_vendor(const mdm_args *a, mdm_material *m)
{
    g_autofree char *err = NULL;
    if (!a->vendor_cert)
        return 0;
    if (orchard_cert_load_chain(a->vendor_cert, &m->vendor_chain, &err) != 0 ||
        orchard_x509_load_key(a->vendor_key, NULL, "--vendor-key", &m->vendor_key, &err) != 0) {
        fprintf(stderr, "orchard " CMD ": %s; nothing was written\n", err);
        return 2;
    }
    if (!orchard_x509_key_matches(sk_X509_value(m->vendor_chain, 0), m->vendor_key)) {
        fprintf(stderr,
                "orchard " CMD ": the key in %s does not match the vendor certificate (the "
                "first one in %s); nothing was written\n",
                a->vendor_key, a->vendor_cert);
        return 2;
    }
    if (EVP_PKEY_get_base_id(m->vendor_key) != EVP_PKEY_RSA) {
        fprintf(stderr, "orchard " CMD ": %s is not an RSA key (Apple wants SHA256withRSA); "
                "nothing was written\n", a->vendor_key);
        return 2;
    }
    warn_chain(a, m->vendor_chain);
    return 0;
}

/* ---- generating -------------------------------------------------------- */

/* ---- what to keep ------------------------------------------------------- */

static int exists(const char *path) { return g_file_test(path, G_FILE_TEST_EXISTS); }

/* Decide what stays, from the flags and the files in place. */
static void plan_run(const mdm_args *a, mdm_plan *p)
{
    int cert = exists(a->scep_cert), key = exists(a->scep_key);

    p->keep_apns_key = a->renew && exists(a->apns_key);
    if (a->replace_scep_ca)
        p->replaces_scep_ca = cert || key;
    else if (a->renew || a->force)
        p->keep_scep_ca = cert && key;
    p->half_scep_ca = !a->replace_scep_ca && (a->renew || a->force) && cert != key;
}

/* Half a SCEP CA can be neither kept nor silently replaced. Returns 1. */
static int refuse_half_ca(const mdm_args *a)
{
    int cert = exists(a->scep_cert);
    fprintf(stderr,
            "orchard " CMD ": %s exists but %s does not: %s keeps the SCEP CA, and half a CA "
            "can't be kept. Put the missing file back, or make a new CA with "
            "--replace-scep-ca (every enrolled Mac is then cut off and must enroll again); "
            "nothing was written\n",
            cert ? a->scep_cert : a->scep_key, cert ? a->scep_key : a->scep_cert,
            a->renew ? "--renew" : "--force");
    return 1;
}

/* The APNs key kept by --renew must still be one Apple takes. */
static int load_apns_key(const mdm_args *a, mdm_material *m, char **err)
{
    if (orchard_x509_load_key(a->apns_key, NULL, "--apns-key", &m->apns_key, err) != 0)
        return 1;
    if (EVP_PKEY_get_base_id(m->apns_key) != EVP_PKEY_RSA ||
        EVP_PKEY_get_bits(m->apns_key) != 2048) {
        *err = g_strdup_printf("the APNs key in %s is not an RSA 2048 key, the only kind Apple "
                               "takes (--force makes a new one)", a->apns_key);
        return 1;
    }
    return 0;
}

/* The SCEP CA kept by --renew and --force must be a CA and its key. */
static int load_scep_ca(const mdm_args *a, mdm_material *m, char **err)
{
    if (orchard_x509_load_cert(a->scep_cert, NULL, "--scep-cert", &m->scep_cert, err) != 0 ||
        orchard_x509_load_key(a->scep_key, NULL, "--scep-key", &m->scep_key, err) != 0)
        return 1;
    if (X509_check_ca(m->scep_cert) <= 0) {
        *err = g_strdup_printf("%s is not a CA certificate, so it can't be kept as the SCEP CA",
                               a->scep_cert);
        return 1;
    }
    if (!orchard_x509_key_matches(m->scep_cert, m->scep_key)) {
        *err = g_strdup_printf("the key in %s does not belong to the SCEP CA certificate %s",
                               a->scep_key, a->scep_cert);
        return 1;
    }
    return 0;
}

/* Load what this run keeps. Returns 0, or 1 after saying why. */
static int load_kept(const mdm_args *a, const mdm_plan *p, mdm_material *m)
{
    g_autofree char *err = NULL;
    if ((p->keep_apns_key && load_apns_key(a, m, &err) != 0) ||
        (p->keep_scep_ca && load_scep_ca(a, m, &err) != 0)) {
        fprintf(stderr, "orchard " CMD ": %s; nothing was written\n", err);
        return 1;
    }
    return 0;
}

/* ---- generating -------------------------------------------------------- */

static int make_scep_ca(mdm_material *m, char **err)
{
    const orchard_cert_spec spec = {
        .subject = {.o = "scep-ca", .ou = "SCEP CA", .cn = "orchard"},
        .years = 10,
        .serial = 0,
        .basic_constraints = "critical,CA:TRUE,pathlen:0",
        .key_usage = "critical,digitalSignature,keyCertSign,cRLSign",
        .subject_key_id = 1,
    };
    int rc = orchard_cert_rsa_key(2048, &m->scep_key, err);
    return rc ? rc : orchard_cert_self_signed(m->scep_key, &spec, &m->scep_cert, err);
}

/* PEM of what is written; kept material needs none. */
static int encode(const mdm_plan *p, mdm_material *m, char **err)
{
    if (!p->keep_apns_key && !(m->pem[0] = orchard_x509_key_pem_pkcs1(m->apns_key)))
        goto fail;
    if (!(m->pem[1] = orchard_cert_csr_pem(m->csr)))
        goto fail;
    if (!p->keep_scep_ca && (!(m->pem[2] = orchard_x509_cert_pem(m->scep_cert)) ||
                             !(m->pem[3] = orchard_x509_key_pem_pkcs1(m->scep_key))))
        goto fail;
    return 0;
fail:
    *err = g_strdup("PEM encoding failed");
    return -1;
}

static int generate(const mdm_args *a, const mdm_plan *p, mdm_material *m)
{
    g_autofree char *err = NULL;
    const orchard_cert_name subject = {.o = a->org, .email = a->email};
    int rc = p->keep_apns_key ? 0 : orchard_cert_rsa_key(2048, &m->apns_key, &err);
    if (!rc)
        rc = orchard_cert_csr(m->apns_key, &subject, &m->csr, &err);
    if (!rc && !p->keep_scep_ca)
        rc = make_scep_ca(m, &err);
    if (!rc)
        rc = encode(p, m, &err);
    if (!rc && m->vendor_key)
        rc = orchard_push_request_make(m->csr, m->vendor_chain, m->vendor_key, &m->push_request,
                                       &err);
    if (rc)
        fprintf(stderr, "orchard " CMD ": %s; nothing was written\n", err ? err : "failed");
    return rc ? 1 : 0;
}

/* ---- output ------------------------------------------------------------ */

#define IF_EXISTS                                                                              \
    "to renew the APNs certificate, use --renew (a new CSR; the APNs key and the SCEP CA "    \
    "are kept); --force replaces the APNs key too and keeps the SCEP CA"

static size_t plan_files(const mdm_args *a, const mdm_plan *p, const mdm_material *m,
                         orchard_setup_file *f)
{
    /* Renewing or starting over rewrites the CSR and the request; the
     * rest is new unless kept. */
    const orchard_setup_action again =
        a->renew || a->force ? ORCHARD_SETUP_REPLACE : ORCHARD_SETUP_NEW;
    const orchard_setup_action apns_key = p->keep_apns_key ? ORCHARD_SETUP_KEEP
                                          : a->force       ? ORCHARD_SETUP_REPLACE
                                                           : ORCHARD_SETUP_NEW;
    /* Half a CA: checked for collisions only; run() stops after the check. */
    const orchard_setup_action ca = p->keep_scep_ca || p->half_scep_ca ? ORCHARD_SETUP_KEEP
                                    : a->replace_scep_ca ? ORCHARD_SETUP_REPLACE
                                                         : ORCHARD_SETUP_NEW;
    const orchard_setup_file files[] = {
        {a->apns_key, "APNs private key", m->pem[0], 0, 0600, apns_key, IF_EXISTS},
        {a->apns_csr, "APNs certificate signing request", m->pem[1], 0, 0644, again, IF_EXISTS},
        {a->scep_cert, "SCEP CA certificate", m->pem[2], 0, 0644, ca, IF_EXISTS},
        {a->scep_key, "SCEP CA private key", m->pem[3], 0, 0600, ca, IF_EXISTS},
        {a->push_request, "push certificate request for Apple's portal", m->push_request, 0,
         0644, again, IF_EXISTS},
    };
    size_t n = a->vendor_cert ? 5 : 4;
    for (size_t i = 0; i < n; i++) {
        f[i] = files[i];
        f[i].len = f[i].data ? strlen(f[i].data) : 0;
    }
    return n;
}

/* Said before anything is written: this cannot be undone once served. */
static void warn_replace_ca(const mdm_args *a)
{
    fprintf(stderr,
            "orchard " CMD ": WARNING: --replace-scep-ca replaces the SCEP CA in %s and %s. "
            "Every enrolled Mac's identity certificate was issued by the old CA: once the "
            "server uses the new one, every enrolled Mac is cut off and must enroll again. "
            "(A renewal needs only --renew, which keeps the CA.)\n",
            a->scep_cert, a->scep_key);
}

static void print_portal_steps(const mdm_args *a)
{
    if (a->vendor_cert && a->renew)
        printf("  1. Sign in to the Apple Push Certificates Portal (https://identity.apple.com)\n"
               "     with the Apple Account that made the certificate, choose \"Renew\" next\n"
               "     to it (not \"Create a Certificate\": a new certificate has a new topic and\n"
               "     every device would have to enroll again) and upload %s.\n"
               "  2. Download the renewed certificate (.pem).\n",
               a->push_request);
    else if (a->vendor_cert)
        printf("  1. Sign in to the Apple Push Certificates Portal (https://identity.apple.com)\n"
               "     with your organization's Apple Account, choose \"Create a Certificate\"\n"
               "     (\"Renew\" for an existing one: renewing keeps the topic, a new certificate\n"
               "     makes every device re-enroll) and upload %s.\n"
               "  2. Download the certificate (.pem).\n",
               a->push_request);
    else
        printf("  1. Apple takes the CSR only once an MDM vendor has signed it (Fleet sends it\n"
               "     to its vendor service). Have your MDM vendor sign\n"
               "     %s, or, with your own MDM vendor certificate, run this\n"
               "     again with --vendor-cert F --vendor-key F --renew.\n"
               "  2. Upload the signed request in the Apple Push Certificates Portal\n"
               "     (https://identity.apple.com): \"Renew\" next to the existing certificate\n"
               "     to keep its topic, else \"Create a Certificate\". Download the .pem.\n",
               a->apns_csr);
}

static void print_next_steps(const mdm_args *a)
{
    printf("\nNext steps:\n");
    print_portal_steps(a);
    printf("  3. Configure:\n"
           "       mdm.apple_apns_cert: the downloaded .pem\n"
           "       mdm.apple_apns_key: %s\n"
           "       mdm.apple_scep_cert: %s\n"
           "       mdm.apple_scep_key: %s\n"
           "       mdm.apple_scep_challenge: a secret of your own\n"
           "  4. Check with `orchard config check --config F`, then\n"
           "     `orchard get mdm-apple --config F`.\n",
           a->apns_key, a->scep_cert, a->scep_key);
}

static int run(int argc, char **argv, void *payload)
{
    (void)payload;
    mdm_args a = {0};
    mdm_plan p = {0};
    mdm_material m = {0};
    orchard_setup_file files[5];
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *inputs[] = {a.vendor_cert, a.vendor_key};
    plan_run(&a, &p);
    rc = load_vendor(&a, &m);
    if (!rc) {
        size_t n = plan_files(&a, &p, &m, files);
        rc = orchard_setup_check(CMD, files, n, inputs, G_N_ELEMENTS(inputs), 0);
    }
    if (!rc && p.half_scep_ca)
        rc = refuse_half_ca(&a);
    if (!rc)
        rc = load_kept(&a, &p, &m);
    if (!rc)
        rc = generate(&a, &p, &m);
    if (!rc) {
        size_t n = plan_files(&a, &p, &m, files);
        if (p.replaces_scep_ca)
            warn_replace_ca(&a);
        rc = orchard_setup_write(CMD, files, n, 0);
    }
    if (!rc)
        print_next_steps(&a);
    material_clear(&m);
    return rc;
}

const orchard_command orchard_cmd_generate_mdm_apple = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = CMD,
    .summary = "Generate the APNs key and CSR and the SCEP CA (Fleet's first MDM setup step)",
    .usage = USAGE,
    .run = run,
    .payload = NULL,
    .aliases = "generate mdm_apple",
};

/* The web_settings_page suite: /settings/integrations/mdm served for real
 * (web_fixture: the plugin on a store of its own, three users), with
 * mdmfx's APNs stand-ins and ABM tokens configured in process and the DEP
 * rows seeded with SQL (dep_views_fixture's helpers): each section's values,
 * the banners, MDM off, the roles, hostile values shown as text. */
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/crypto/x509_util.h"
#include "server_plugin/store/store_dep.h"
#include "server_plugin/web/mdm_settings_view.h"
#include "server_plugin/web/web_template.h"
#include "tests/server/dep_views_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/web_fixture.h"
#include "tests/suites.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE "/settings/integrations/mdm"
#define EVIL "<script>alert(1)</script>"
#define EVIL_SHOWN "&lt;script&gt;alert(1)&lt;/script&gt;"
#define CSR_EMAIL "mdm-admin@example.com"
#define CSR_ORG EVIL " Orchards"
/* The same for openssl's -subj, where '/' separates the fields. */
#define CSR_ORG_SUBJ "<script>alert(1)<\\/script> Orchards"

static char *dir; /* our own files: the APNs key beside CSRs of each kind */
static char *admin, *maint, *obs;

/* ---- configuration ------------------------------------------------------ */

/* The keys a case may set; all cleared before each configuration. */
static const char *const keys[] = {
    "server.url", "mdm.apple_apns_cert", "mdm.apple_apns_cert_bytes", "mdm.apple_apns_key",
    "mdm.apple_apns_key_bytes", "mdm.apple_scep_cert", "mdm.apple_scep_key",
    "mdm.apple_scep_challenge", "mdm.apple_bm_server_token", "mdm.apple_bm_cert",
    "mdm.apple_bm_key", "mdm.apple_bm_default_team", "org_info.org_name",
};

static const char *const good[] = {
    "server.url", "https://mdm.example.com",
    "mdm.apple_apns_cert", "fx:apns.crt",
    "mdm.apple_apns_key", "fx:apns.key",
    "mdm.apple_scep_cert", "fx:scep.crt",
    "mdm.apple_scep_key", "fx:scep.key",
    "mdm.apple_scep_challenge", MDMFX_CHALLENGE,
    "mdm.apple_bm_server_token", "fx:token.p7m",
    "mdm.apple_bm_cert", "fx:bm.crt",
    "mdm.apple_bm_key", "fx:bm.key",
    NULL,
};

/* "fx:name" is an mdmfx file, "my:name" one of ours. g_free. */
static char *resolve(const char *v)
{
    if (g_str_has_prefix(v, "fx:"))
        return mdmfx_path(v + 3);
    if (g_str_has_prefix(v, "my:"))
        return g_build_filename(dir, v + 3, NULL);
    return g_strdup(v);
}

/* The good configuration with kv (pairs; a NULL value unsets) applied on
 * top; the store's keys stay the fixture's. */
static void configure(const char *const *kv)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        wfx_config(keys[i], NULL);
    for (size_t i = 0; good[i]; i += 2) {
        g_autofree char *v = resolve(good[i + 1]);
        wfx_config(good[i], v);
    }
    for (size_t i = 0; kv && kv[i]; i += 2) {
        g_autofree char *v = kv[i + 1] ? resolve(kv[i + 1]) : NULL;
        wfx_config(kv[i], v);
    }
    orchard_mdm_config_cache_clear();
}

#define NO_MDM                                                                                \
    "mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL, "mdm.apple_scep_cert", NULL,   \
        "mdm.apple_scep_key", NULL, "mdm.apple_scep_challenge", NULL
#define NO_ABM "mdm.apple_bm_server_token", NULL, "mdm.apple_bm_cert", NULL, "mdm.apple_bm_key", NULL

/* Nothing synced: every case starts here. */
static void reset(void)
{
    CU_ASSERT_EQUAL(dvfx_sql("DELETE FROM dep_sync_runs", NULL, 0), 0);
    CU_ASSERT_EQUAL(dvfx_sql("DELETE FROM server_state WHERE key LIKE 'dep.%'", NULL, 0), 0);
    configure(NULL);
}

/* ---- material ----------------------------------------------------------- */

static int sh(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *full = g_strdup_printf("cd '%s' && { %s; } >/dev/null 2>&1", dir, cmd);
    int rc = system(full);
    if (rc != 0)
        fprintf(stderr, "web_settings_page: failed: %s\n", cmd);
    return rc == 0 ? 0 : -1;
}

/* Folders each holding the APNs key as generate mdm-apple names it, beside
 * a CSR: ok/ (the key's, with an email and a hostile organization),
 * other/ (another key's), garbage/ (not PEM), big/ (the good one past the cap). */
static int make_csrs(void)
{
    g_autofree char *key = mdmfx_path("apns.key");
    g_autofree char *other = mdmfx_path("other.key");
    const char *const folders[] = {"ok", "other", "garbage", "big"};
    for (size_t i = 0; i < G_N_ELEMENTS(folders); i++)
        if (sh("mkdir %s && cp '%s' %s/fleet-mdm-apple-apns.key", folders[i], key, folders[i]))
            return -1;
    return sh("openssl req -new -key ok/fleet-mdm-apple-apns.key -subj "
              "'/O=" CSR_ORG_SUBJ "/emailAddress=" CSR_EMAIL "' -out ok/fleet-mdm-apple-apns.csr") ||
           sh("openssl req -new -key '%s' -subj '/O=Other Org/emailAddress=other@example.com' "
              "-out other/fleet-mdm-apple-apns.csr", other) ||
           sh("printf -- '-----BEGIN CERTIFICATE REQUEST-----\\nnot base64 at all\\n' > "
              "garbage/fleet-mdm-apple-apns.csr") ||
           sh("cp ok/fleet-mdm-apple-apns.csr big/ && head -c 70000 /dev/zero | tr '\\0' 'x' "
              ">> big/fleet-mdm-apple-apns.csr");
}

static int init(void)
{
    if (wfx_init() || mdmfx_setup() || !(dir = g_dir_make_tmp("orchard-webset-XXXXXX", NULL)) ||
        make_csrs())
        return 1;
    admin = wfx_signin_as("admin");
    maint = wfx_signin_as("maintainer");
    obs = wfx_signin_as("observer");
    configure(NULL);
    return admin && maint && obs ? 0 : 1;
}

static int cleanup(void)
{
    g_clear_pointer(&admin, g_free);
    g_clear_pointer(&maint, g_free);
    g_clear_pointer(&obs, g_free);
    if (dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "web_settings_page: cannot remove %s\n", dir);
        g_clear_pointer(&dir, g_free);
    }
    mdmfx_teardown();
    return wfx_cleanup();
}

/* ---- helpers ------------------------------------------------------------ */

/* The page as the admin sees it; 200 asserted. */
static void admin_page(http_response *r)
{
    wfx_get(PAGE, admin, r);
    CU_ASSERT_EQUAL(r->status, 200);
}

static int lacks(const http_response *r, const char *text)
{
    if (!r->body || !strstr(r->body->str, text))
        return 1;
    fprintf(stderr, "\n  '%s' should not be in the page (%ld)\n", text, r->status);
    return 0;
}

/* The element with id="<id>", from its start tag to its end tag (g_free):
 * one fact, one banner. Elements of the same name are not nested here. */
static char *part(const http_response *r, const char *id)
{
    g_autofree char *needle = g_strdup_printf("id=\"%s\"", id);
    const char *body = r->body ? r->body->str : "";
    const char *at = strstr(body, needle);
    if (!at) {
        fprintf(stderr, "\n  no element %s in the page\n", id);
        return g_strdup("");
    }
    const char *start = at;
    while (start > body && *start != '<')
        start--;
    g_autofree char *name = g_strndup(start + 1, strcspn(start + 1, " >"));
    g_autofree char *close = g_strdup_printf("</%s>", name);
    const char *end = strstr(at, close);
    return g_strndup(start, end ? (gsize)(end - start) : strlen(start));
}

static gint64 not_after_of(const char *fixture)
{
    g_autofree char *path = mdmfx_path(fixture);
    g_autofree char *err = NULL;
    X509 *x = NULL;
    CU_ASSERT_FATAL(orchard_x509_load_cert(path, NULL, "test", &x, &err) == 0);
    gint64 t = orchard_x509_not_after(x);
    X509_free(x);
    return t;
}

static gint64 now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

/* ---- APNs --------------------------------------------------------------- */

static void test_apns_values(void)
{
    http_response r = {0};
    reset();
    admin_page(&r);
    g_autofree char *renew = mdmfx_renew_date(not_after_of("apns.crt"));
    g_autofree char *cn = g_strdup_printf("APSP:%s", mdmfx_state.uuid);
    g_autofree char *status = part(&r, "apns-status");
    CU_ASSERT_TRUE(strstr(status, "badge on") && strstr(status, "On"));
    CU_ASSERT_TRUE(wfx_has(&r, cn));
    CU_ASSERT_TRUE(wfx_has(&r, MDMFX_SERIAL_DEC));
    CU_ASSERT_TRUE(wfx_has(&r, MDMFX_ISSUER_CN));
    CU_ASSERT_TRUE(wfx_has(&r, mdmfx_state.topic));
    g_autofree char *renew_fact = part(&r, "apns-renew");
    CU_ASSERT_TRUE(strstr(renew_fact, renew) != NULL);
    /* A year away: days left, no banner. */
    CU_ASSERT_TRUE(wfx_has(&r, "days left"));
    CU_ASSERT_TRUE(lacks(&r, "id=\"apns-expiring\""));
    CU_ASSERT_TRUE(lacks(&r, "id=\"apns-expired\""));
    /* The renewal steps: Renew, never Create, the topic, the setting and its file. */
    const char *steps = strstr(r.body->str, "id=\"apns-renew-steps\"");
    CU_ASSERT_FATAL(steps != NULL);
    CU_ASSERT_TRUE(strstr(steps, "<strong>Renew</strong>") != NULL);
    CU_ASSERT_TRUE(strstr(steps, "Never use <strong>Create a Certificate</strong>") != NULL);
    CU_ASSERT_TRUE(strstr(steps, "https://identity.apple.com") != NULL);
    g_autofree char *cert_path = mdmfx_path("apns.crt");
    CU_ASSERT_TRUE(strstr(steps, "<code>mdm.apple_apns_cert</code>") != NULL);
    CU_ASSERT_TRUE(strstr(steps, cert_path) != NULL);
    /* mdmfx's CSR has neither email nor organization: placeholders, and where to look. */
    g_autofree char *cmd = part(&r, "apns-renew-command");
    CU_ASSERT_TRUE(strstr(cmd, "orchard generate mdm-apple --renew \\\n"
                               "    --email &#39;&lt;the email you used&gt;&#39; \\\n"
                               "    --org &#39;&lt;the organization you used&gt;&#39; \\\n"
                               "    --apns-key ") != NULL);
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"apns-renew-unknown\""));
    CU_ASSERT_TRUE(wfx_has(&r, "openssl req -in fleet-mdm-apple-apns.csr -noout -subject"));
    http_response_clear(&r);
}

/* The CSR beside the key gives the email and organization; the hostile
 * organization is shown as text, quoted for the shell. */
static void test_apns_renewal_from_csr(void)
{
    http_response r = {0};
    const char *const kv[] = {"mdm.apple_apns_key", "my:ok/fleet-mdm-apple-apns.key", NULL};
    reset();
    configure(kv);
    admin_page(&r);
    g_autofree char *cmd = part(&r, "apns-renew-command");
    g_autofree char *key = g_build_filename(dir, "ok", "fleet-mdm-apple-apns.key", NULL);
    g_autofree char *scep_cert = mdmfx_path("scep.crt");
    g_autofree char *scep_key = mdmfx_path("scep.key");
    g_autofree char *want = g_strdup_printf(
        "orchard generate mdm-apple --renew \\\n    --email " CSR_EMAIL " \\\n    --org &#39;"
        EVIL_SHOWN " Orchards&#39; \\\n    --apns-key %s \\\n    --apns-csr "
        "%s/ok/fleet-mdm-apple-apns.csr \\\n    --scep-cert %s \\\n    --scep-key %s",
        key, dir, scep_cert, scep_key);
    /* The whole command, nothing after it. */
    CU_ASSERT_TRUE(g_str_has_suffix(cmd, want));
    if (!g_str_has_suffix(cmd, want))
        fprintf(stderr, "\n  want %s\n  in %s\n", want, cmd);
    g_autofree char *csr = g_build_filename(dir, "ok", "fleet-mdm-apple-apns.csr", NULL);
    g_autofree char *source = g_strdup_printf("read from %s.", csr);
    CU_ASSERT_TRUE(wfx_has(&r, source));
    CU_ASSERT_TRUE(lacks(&r, "id=\"apns-renew-unknown\""));
    CU_ASSERT_TRUE(lacks(&r, "<script"));
    http_response_clear(&r);
}

/* A CSR for another key, one that is not PEM, one past the cap: never
 * shown, placeholders instead. */
static void test_apns_renewal_bad_csrs(void)
{
    const char *const folders[] = {"other", "garbage", "big"};
    for (size_t i = 0; i < G_N_ELEMENTS(folders); i++) {
        http_response r = {0};
        g_autofree char *key = g_strdup_printf("my:%s/fleet-mdm-apple-apns.key", folders[i]);
        const char *const kv[] = {"mdm.apple_apns_key", key, NULL};
        reset();
        configure(kv);
        admin_page(&r);
        CU_ASSERT_TRUE(wfx_has(&r, "id=\"apns-renew-unknown\""));
        CU_ASSERT_TRUE(lacks(&r, "Other Org"));
        CU_ASSERT_TRUE(lacks(&r, "other@example.com"));
        CU_ASSERT_TRUE(lacks(&r, CSR_EMAIL));
        /* The page is the same page otherwise. */
        CU_ASSERT_TRUE(wfx_has(&r, mdmfx_state.topic));
        http_response_clear(&r);
    }
}

/* Ten days left: the warning banner with the days left. */
static void test_apns_expiring(void)
{
    http_response r = {0};
    const char *const kv[] = {"mdm.apple_apns_cert", "fx:apns_soon.crt", NULL};
    gint64 end = not_after_of("apns_soon.crt");
    reset();
    configure(kv);
    gint64 before = (end - now_s()) / 86400;
    admin_page(&r);
    gint64 after = (end - now_s()) / 86400;
    g_autofree char *banner = part(&r, "apns-expiring");
    g_autofree char *d1 = g_strdup_printf("%" G_GINT64_FORMAT " days left", before);
    g_autofree char *d2 = g_strdup_printf("%" G_GINT64_FORMAT " days left", after);
    g_autofree char *date = mdmfx_renew_date(end);
    CU_ASSERT_TRUE(before >= 9 && before <= 10);
    CU_ASSERT_TRUE(strstr(banner, "banner warn") != NULL);
    CU_ASSERT_TRUE(strstr(banner, d1) || strstr(banner, d2));
    CU_ASSERT_TRUE(strstr(banner, date) != NULL);
    CU_ASSERT_TRUE(lacks(&r, "id=\"apns-expired\""));
    g_autofree char *status = part(&r, "apns-status");
    CU_ASSERT_TRUE(strstr(status, "badge on") != NULL);
    http_response_clear(&r);
}

/* Expired: the danger banner, MDM off with the reason, the renewal steps. */
static void test_apns_expired(void)
{
    http_response r = {0};
    const char *const kv[] = {"mdm.apple_apns_cert", "fx:apns_expired.crt", NULL};
    reset();
    configure(kv);
    admin_page(&r);
    g_autofree char *banner = part(&r, "apns-expired");
    g_autofree char *date = mdmfx_renew_date(not_after_of("apns_expired.crt"));
    CU_ASSERT_TRUE(strstr(banner, "banner danger") != NULL);
    CU_ASSERT_TRUE(strstr(banner, date) != NULL);
    CU_ASSERT_TRUE(strstr(banner, "expired 1 day ago") != NULL);
    CU_ASSERT_TRUE(lacks(&r, "id=\"apns-expiring\""));
    g_autofree char *status = part(&r, "apns-status");
    CU_ASSERT_TRUE(strstr(status, "badge off") && strstr(status, "MDM is off"));
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"apns-renew-steps\""));
    http_response_clear(&r);
}

/* Nothing configured: Off, the first-time steps, ABM not connected, no error. */
static void test_mdm_off(void)
{
    http_response r = {0};
    const char *const kv[] = {NO_MDM, NO_ABM, NULL};
    reset();
    configure(kv);
    admin_page(&r);
    g_autofree char *status = part(&r, "apns-status");
    CU_ASSERT_TRUE(strstr(status, "badge off") && strstr(status, "Off"));
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"apns-setup-steps\""));
    CU_ASSERT_TRUE(wfx_has(&r, "orchard generate mdm-apple --email you@example.com"));
    CU_ASSERT_TRUE(wfx_has(&r, "<code>mdm.apple_scep_challenge</code>"));
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"abm-setup-steps\""));
    CU_ASSERT_TRUE(wfx_has(&r, "orchard generate mdm-apple-bm"));
    CU_ASSERT_TRUE(lacks(&r, "id=\"config-error\""));
    CU_ASSERT_TRUE(lacks(&r, "id=\"apns-renew-steps\""));
    CU_ASSERT_TRUE(lacks(&r, "banner danger"));
    http_response_clear(&r);
}

/* A configuration that does not load: the reason (it names the key), Off. */
static void test_config_error(void)
{
    http_response r = {0};
    const char *const kv[] = {"mdm.apple_apns_cert", "my:nowhere/apns.crt", NULL};
    reset();
    configure(kv);
    admin_page(&r);
    g_autofree char *banner = part(&r, "config-error");
    CU_ASSERT_TRUE(strstr(banner, "mdm.apple_apns_cert") != NULL);
    g_autofree char *status = part(&r, "apns-status");
    CU_ASSERT_TRUE(strstr(status, "badge off") != NULL);
    CU_ASSERT_TRUE(lacks(&r, MDMFX_CHALLENGE));
    http_response_clear(&r);
}

/* ---- ABM ---------------------------------------------------------------- */

static void account(const char *admin_id, const char *org)
{
    json_t *a = json_pack("{s:s, s:s, s:s}", "server_name", "orchard", "admin_id", admin_id,
                          "org_name", org);
    char *text = json_dumps(a, JSON_COMPACT);
    CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT, text), 0);
    g_autofree char *at = g_strdup_printf("%" G_GINT64_FORMAT, now_s() - 90);
    CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT_AT, at), 0);
    free(text);
    json_decref(a);
}

static void test_abm_values(void)
{
    http_response r = {0};
    const char *const kv[] = {"mdm.apple_bm_default_team", "Workstations", NULL};
    reset();
    configure(kv);
    account(ADMIN_ID, ORG);
    gint64 ms = g_get_real_time() / 1000;
    dvfx_run("sync", ms - 5000, ms - 4000, 3, NULL, NULL);
    admin_page(&r);
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.token_expiry);
    g_autofree char *id = part(&r, "abm-apple-id");
    g_autofree char *org = part(&r, "abm-org");
    g_autofree char *url = part(&r, "abm-url");
    g_autofree char *when = part(&r, "abm-renew");
    g_autofree char *team = part(&r, "abm-team");
    g_autofree char *last = part(&r, "abm-last-sync");
    CU_ASSERT_TRUE(strstr(id, ADMIN_ID) != NULL);
    CU_ASSERT_TRUE(strstr(org, ORG) != NULL);
    CU_ASSERT_TRUE(strstr(url, "https://mdm.example.com/mdm/apple/mdm") != NULL);
    CU_ASSERT_TRUE(strstr(when, renew) != NULL);
    CU_ASSERT_TRUE(strstr(team, "Workstations") != NULL);
    CU_ASSERT_TRUE(strstr(last, "badge ok") && strstr(last, "Success"));
    CU_ASSERT_TRUE(wfx_has(&r, "3 devices fetched"));
    CU_ASSERT_TRUE(lacks(&r, "id=\"abm-terms\""));
    CU_ASSERT_TRUE(lacks(&r, "id=\"abm-expiring\""));
    /* Renewal: Download Token for the same server, the setting and its file. */
    g_autofree char *token = mdmfx_path("token.p7m");
    CU_ASSERT_TRUE(wfx_has(&r, "<strong>Download Token</strong>"));
    CU_ASSERT_TRUE(wfx_has(&r, "<code>mdm.apple_bm_server_token</code>"));
    CU_ASSERT_TRUE(wfx_has(&r, token));
    CU_ASSERT_TRUE(lacks(&r, MDMFX_ACCESS_SECRET));
    CU_ASSERT_TRUE(lacks(&r, MDMFX_CONSUMER_SECRET));
    http_response_clear(&r);
}

/* Apple refused the sync for unsigned terms: the banner, the failure with
 * Apple's code. */
static void test_abm_terms_not_signed(void)
{
    http_response r = {0};
    reset();
    account(ADMIN_ID, ORG);
    gint64 ms = g_get_real_time() / 1000;
    dvfx_run("sync", ms - 5000, ms - 4000, 0, "T_C_NOT_SIGNED",
             "Apple refused the sync: T_C_NOT_SIGNED");
    admin_page(&r);
    g_autofree char *banner = part(&r, "abm-terms");
    CU_ASSERT_TRUE(strstr(banner, "banner warn") != NULL);
    CU_ASSERT_TRUE(strstr(banner, "terms and conditions changed: an administrator must sign in "
                                  "to business.apple.com") != NULL);
    g_autofree char *last = part(&r, "abm-last-sync");
    CU_ASSERT_TRUE(strstr(last, "badge failed") != NULL);
    CU_ASSERT_TRUE(wfx_has(&r, "Apple refused the sync: T_C_NOT_SIGNED"));
    CU_ASSERT_TRUE(wfx_has(&r, "(T_C_NOT_SIGNED)"));
    http_response_clear(&r);
}

static void test_abm_never_synced(void)
{
    http_response r = {0};
    reset();
    admin_page(&r);
    g_autofree char *id = part(&r, "abm-apple-id");
    CU_ASSERT_TRUE(strstr(id, "not known yet") != NULL);
    g_autofree char *last = part(&r, "abm-last-sync");
    CU_ASSERT_TRUE(strstr(last, "never") != NULL);
    g_autofree char *team = part(&r, "abm-team");
    CU_ASSERT_TRUE(strstr(team, "none") != NULL);
    http_response_clear(&r);
}

static void test_abm_expiring_and_expired(void)
{
    http_response r = {0};
    const char *const soon[] = {"mdm.apple_bm_server_token", "fx:token_soon.p7m", NULL};
    const char *const past[] = {"mdm.apple_bm_server_token", "fx:token_expired.p7m", NULL};
    reset();
    configure(soon);
    admin_page(&r);
    g_autofree char *banner = part(&r, "abm-expiring");
    g_autofree char *date = mdmfx_renew_date(mdmfx_state.soon_token_expiry);
    CU_ASSERT_TRUE(strstr(banner, "banner warn") && strstr(banner, date));
    CU_ASSERT_TRUE(strstr(banner, "days left") != NULL);
    CU_ASSERT_TRUE(lacks(&r, "id=\"abm-expired\""));
    http_response_clear(&r);
    configure(past);
    admin_page(&r);
    g_autofree char *b2 = part(&r, "abm-expired");
    CU_ASSERT_TRUE(strstr(b2, "banner danger") && strstr(b2, "expired 3 days ago"));
    CU_ASSERT_TRUE(lacks(&r, "id=\"abm-expiring\""));
    http_response_clear(&r);
}

/* Apple's strings, an admin's setting and an error with <script>: text. */
static void test_hostile_values(void)
{
    http_response r = {0};
    const char *const kv[] = {"mdm.apple_bm_default_team", EVIL, NULL};
    reset();
    configure(kv);
    account(EVIL "@example.com", EVIL " Inc.");
    gint64 ms = g_get_real_time() / 1000;
    dvfx_run("sync", ms - 5000, ms - 4000, 0, EVIL, "Apple said " EVIL);
    admin_page(&r);
    g_autofree char *id = part(&r, "abm-apple-id");
    g_autofree char *org = part(&r, "abm-org");
    g_autofree char *team = part(&r, "abm-team");
    CU_ASSERT_TRUE(strstr(id, EVIL_SHOWN "@example.com") != NULL);
    CU_ASSERT_TRUE(strstr(org, EVIL_SHOWN " Inc.") != NULL);
    CU_ASSERT_TRUE(strstr(team, EVIL_SHOWN) != NULL);
    CU_ASSERT_TRUE(wfx_has(&r, "Apple said " EVIL_SHOWN));
    CU_ASSERT_TRUE(lacks(&r, "<script"));
    http_response_clear(&r);
}

/* ---- instances ---------------------------------------------------------- */

static void test_instances_served(void)
{
    http_response r = {0};
    reset();
    admin_page(&r);
    /* The fixture serves without `orchard serve`: the host still answers
     * for the store, so the section shows a count and a verdict. */
    g_autofree char *count = part(&r, "instances-count");
    g_autofree char *agree = part(&r, "instances-agree");
    const char *value = strchr(count, '>');
    CU_ASSERT_TRUE(value && g_ascii_isdigit(value[1]));
    CU_ASSERT_TRUE(strstr(agree, "Agree") || strstr(agree, "Differ"));
    http_response_clear(&r);
}

/* Two instances that differ, rendered with the page's own templates: the
 * keys listed (a hostile one as text), the reference named. */
static void test_instances_differ(void)
{
    json_t *inst = json_pack("{s:i, s:b, s:[s, s], s:s}", "count", 2, "settings_agree", 0,
                             "differing_keys", "mdm.apple_scep_challenge", EVIL, "reference",
                             "instance-A");
    orchard_mdm_settings_input in = {.instances = inst, .now = now_s()};
    json_t *data = orchard_mdm_settings_view(&in);
    orchard_web_templates *set = orchard_web_templates_new();
    g_autofree char *reason = NULL;
    CU_ASSERT_FATAL(orchard_web_templates_add_embedded(set, &reason) == 0);
    GString *html = g_string_new(NULL);
    CU_ASSERT_EQUAL(orchard_web_templates_render(set, "mdm_settings", data, html, &reason), 0);
    CU_ASSERT_TRUE(strstr(html->str, "<li><code>mdm.apple_scep_challenge</code></li>") != NULL);
    CU_ASSERT_TRUE(strstr(html->str, "<li><code>" EVIL_SHOWN "</code></li>") != NULL);
    CU_ASSERT_TRUE(strstr(html->str, "<code>instance-A</code>") != NULL);
    CU_ASSERT_TRUE(strstr(html->str, "badge warn\">Differ") != NULL);
    CU_ASSERT_TRUE(strstr(html->str, "id=\"instances-count\">2") != NULL);
    CU_ASSERT_TRUE(strstr(html->str, "<script") == NULL);
    g_string_free(html, TRUE);
    json_decref(data);
    /* And when they agree, no list. */
    json_decref(inst);
    inst = json_pack("{s:i, s:b, s:[], s:s}", "count", 3, "settings_agree", 1,
                     "differing_keys", "reference", "instance-A");
    in.instances = inst;
    data = orchard_mdm_settings_view(&in);
    html = g_string_new(NULL);
    CU_ASSERT_EQUAL(orchard_web_templates_render(set, "mdm_settings", data, html, &reason), 0);
    CU_ASSERT_TRUE(strstr(html->str, "every instance has the same MDM settings") != NULL);
    CU_ASSERT_TRUE(strstr(html->str, "id=\"instances-differ\"") == NULL);
    g_string_free(html, TRUE);
    json_decref(data);
    json_decref(inst);
    orchard_web_templates_free(set);
}

/* ---- who may see it ------------------------------------------------------ */

static void test_refused_roles(void)
{
    const char *cookies[] = {maint, obs};
    g_autofree char *cn = g_strdup_printf("APSP:%s", mdmfx_state.uuid);
    reset();
    account(ADMIN_ID, ORG);
    for (size_t i = 0; i < G_N_ELEMENTS(cookies); i++) {
        http_response r = {0};
        wfx_get(PAGE, cookies[i], &r);
        CU_ASSERT_EQUAL(r.status, 403);
        CU_ASSERT_TRUE(wfx_has(&r, "You do not have access to this page"));
        CU_ASSERT_TRUE(lacks(&r, cn));
        CU_ASSERT_TRUE(lacks(&r, MDMFX_SERIAL_DEC));
        CU_ASSERT_TRUE(lacks(&r, mdmfx_state.uuid));
        CU_ASSERT_TRUE(lacks(&r, ADMIN_ID));
        CU_ASSERT_TRUE(lacks(&r, ORG));
        CU_ASSERT_TRUE(lacks(&r, "mdm.example.com"));
        /* Nor the menu entry that leads here. */
        CU_ASSERT_TRUE(lacks(&r, "href=\"/settings/integrations/mdm\""));
        http_response_clear(&r);
    }
}

static void test_signed_out(void)
{
    http_response r = {0};
    wfx_get(PAGE, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 303);
    g_autofree char *loc = wfx_header(&r, "Location");
    CU_ASSERT_STRING_EQUAL(loc ? loc : "", "/login?next=/settings/integrations/mdm");
    CU_ASSERT_TRUE(lacks(&r, MDMFX_SERIAL_DEC));
    http_response_clear(&r);
    /* A cookie that is no session is nobody. */
    wfx_get(PAGE, "bm90LWEtc2Vzc2lvbg", &r);
    CU_ASSERT_EQUAL(r.status, 303);
    http_response_clear(&r);
}

/* Paths under the page, hostile query values, a long path: never this
 * page's data, never reflected. */
static void test_hostile_requests(void)
{
    static const char *const paths[] = {
        PAGE "/%3Cscript%3Ealert(1)%3C/script%3E", PAGE "x", PAGE "/..%2F..%2Fetc%2Fpasswd",
        PAGE "/apns",
    };
    reset();
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        http_response r = {0};
        wfx_get(paths[i], admin, &r);
        CU_ASSERT_EQUAL(r.status, 404);
        CU_ASSERT_TRUE(lacks(&r, "<script"));
        CU_ASSERT_TRUE(lacks(&r, MDMFX_SERIAL_DEC));
        http_response_clear(&r);
    }
    http_response r = {0};
    wfx_get(PAGE "?next=%3Cscript%3Ealert(1)%3C/script%3E&x=%00%ff", admin, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(lacks(&r, "<script"));
    CU_ASSERT_TRUE(lacks(&r, "alert(1)"));
    http_response_clear(&r);
    GString *lng = g_string_new(PAGE "/");
    for (int i = 0; i < 20000; i++)
        g_string_append_c(lng, 'a');
    wfx_get(lng->str, admin, &r);
    CU_ASSERT_NOT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(lacks(&r, "aaaaaaaaaaaaaaaa"));
    http_response_clear(&r);
    g_string_free(lng, TRUE);
    /* The page takes no form: a POST is not this page. */
    wfx_post_form(PAGE, admin, WFX_SAME_ORIGIN, "x=1", &r);
    CU_ASSERT_NOT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(lacks(&r, MDMFX_SERIAL_DEC));
    http_response_clear(&r);
}

static void test_headers(void)
{
    http_response r = {0};
    reset();
    admin_page(&r);
    g_autofree char *csp = wfx_header(&r, "Content-Security-Policy");
    g_autofree char *type = wfx_header(&r, "Content-Type");
    CU_ASSERT_TRUE(csp && strstr(csp, "default-src 'none'"));
    CU_ASSERT_TRUE(type && g_str_has_prefix(type, "text/html"));
    CU_ASSERT_TRUE(wfx_has(&r, "<h1>Settings › Integrations › Mobile device management (MDM)</h1>"));
    CU_ASSERT_TRUE(lacks(&r, MDMFX_CHALLENGE));
    CU_ASSERT_TRUE(lacks(&r, "PRIVATE KEY"));
    http_response_clear(&r);
}

/* ---- the view's words ---------------------------------------------------- */

static void test_words(void)
{
    struct { const char *in, *out; } words[] = {
        {"admin@example.com", "admin@example.com"},
        {"Example Inc", "'Example Inc'"},
        {"it's", "'it'\\''s'"},
        {"$(rm -rf /)", "'$(rm -rf /)'"},
        {"a;b", "'a;b'"},
        {"", "''"},
        {"/etc/orchard/apns.key", "/etc/orchard/apns.key"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
        g_autofree char *w = orchard_mdm_shell_word(words[i].in);
        CU_ASSERT_STRING_EQUAL(w, words[i].out);
    }
    struct { gint64 secs; const char *out; } days[] = {
        {10 * 86400 + 5, "10 days left"}, {86400, "1 day left"}, {3600, "less than a day left"},
        {0, "expired less than a day ago"}, {-3600, "expired less than a day ago"},
        {-86400 - 1, "expired 1 day ago"}, {-3 * 86400 - 9, "expired 3 days ago"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(days); i++) {
        g_autofree char *t = orchard_mdm_days_text(1000000000 + days[i].secs, 1000000000);
        CU_ASSERT_STRING_EQUAL(t, days[i].out);
    }
}

void web_settings_page_suite(void)
{
    ORCHARD_ADD_SUITE("web_settings_page", init, cleanup, {"apns_values", test_apns_values},
                      {"apns_renewal_from_csr", test_apns_renewal_from_csr},
                      {"apns_renewal_bad_csrs", test_apns_renewal_bad_csrs},
                      {"apns_expiring", test_apns_expiring}, {"apns_expired", test_apns_expired},
                      {"mdm_off", test_mdm_off}, {"config_error", test_config_error},
                      {"abm_values", test_abm_values},
                      {"abm_terms_not_signed", test_abm_terms_not_signed},
                      {"abm_never_synced", test_abm_never_synced},
                      {"abm_expiring_and_expired", test_abm_expiring_and_expired},
                      {"hostile_values", test_hostile_values},
                      {"instances_served", test_instances_served},
                      {"instances_differ", test_instances_differ},
                      {"refused_roles", test_refused_roles}, {"signed_out", test_signed_out},
                      {"hostile_requests", test_hostile_requests}, {"headers", test_headers},
                      {"words", test_words});
}

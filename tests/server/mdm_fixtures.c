/* Test material for the server suites (see mdm_fixtures.h): made once per
 * suite in a temporary directory, mostly with the openssl CLI as an admin
 * would; backdated certificates with OpenSSL's API (openssl 3.0's CLI cannot). */
#include "tests/server/mdm_fixtures.h"

#include "host/config.h"
#include "server_plugin/config/mdm_config.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

mdmfx mdmfx_state;
static int refs;
static int leaks;

int mdmfx_spawn(const char *dir, char **out, char **err, const char *const *argv)
{
    char *o = NULL, *e = NULL;
    int ws = 0;
    GError *gerr = NULL;
    if (!g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &o, &e, &ws,
                      &gerr)) {
        fprintf(stderr, "spawn %s: %s\n", argv[0], gerr->message);
        g_error_free(gerr);
        return -1;
    }
    if (out)
        *out = o;
    else
        g_free(o);
    if (err)
        *err = e;
    else
        g_free(e);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

char *mdmfx_path(const char *name) { return g_build_filename(mdmfx_state.dir, name, NULL); }

char *mdmfx_read(const char *name)
{
    g_autofree char *p = mdmfx_path(name);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

/* Run a shell line in the fixture directory; 0 on success. */
static int sh(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    const char *argv[] = {"/bin/sh", "-c", line, NULL};
    g_autofree char *err = NULL;
    int status = 0;
    if (!g_spawn_sync(mdmfx_state.dir, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                      NULL, NULL, &err, &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "fixture command failed: %s\n%s\n", line, err ? err : "");
        return -1;
    }
    return 0;
}

static char *iso(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* A token message: JSON between the MESSAGE markers, `eol` line endings. */
static int write_message(const char *name, const char *json, const char *eol)
{
    g_autofree char *text = g_strdup_printf(
        "Content-Type: text/plain;charset=UTF-8%sContent-Transfer-Encoding: 7bit%s%s"
        "-----BEGIN MESSAGE-----%s%s%s-----END MESSAGE-----%s", eol, eol, eol, eol, json, eol,
        eol);
    g_autofree char *p = mdmfx_path(name);
    return g_file_set_contents(p, text, -1, NULL) ? 0 : -1;
}

static char *token_json(const char *expiry, int with_access_secret)
{
    return g_strdup_printf("{\"consumer_key\":\"" MDMFX_CONSUMER_KEY "\",\"consumer_secret\":\""
                           MDMFX_CONSUMER_SECRET "\",\"access_token\":\"" MDMFX_ACCESS_TOKEN
                           "\",%s\"access_token_expiry\":\"%s\"}",
                           with_access_secret ? "\"access_secret\":\"" MDMFX_ACCESS_SECRET "\","
                                              : "", expiry);
}

/* Encrypt msg to `cert` as Apple does (`openssl smime -encrypt`). */
static int make_token(const char *name, const char *json, const char *eol, const char *cert,
                      int binary)
{
    g_autofree char *msg = g_strdup_printf("%s.txt", name);
    if (write_message(msg, json, eol))
        return -1;
    return sh("openssl smime -encrypt -aes256 %s -in %s -out %s.p7m %s",
              binary ? "-binary" : "", msg, name, cert);
}

/* An APNs-like certificate for apns.key, issued by apple_ca, valid from
 * now+nb_days to now+na_days (either may be in the past). */
static int make_backdated(const char *out, const char *uid, long nb_days, long na_days)
{
    int rc = -1;
    g_autofree char *kp = mdmfx_path("apns.key"), *cap = mdmfx_path("apple_ca.key");
    g_autofree char *ccp = mdmfx_path("apple_ca.crt"), *op = mdmfx_path(out);
    FILE *f = NULL;
    EVP_PKEY *key = NULL, *ca_key = NULL;
    X509 *ca = NULL, *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    g_autofree char *cn = g_strdup_printf("APSP:%s", mdmfx_state.uuid);

    if (!(f = fopen(kp, "r")) || !(key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
        goto cleanup;
    fclose(f);
    if (!(f = fopen(cap, "r")) || !(ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
        goto cleanup;
    fclose(f);
    if (!(f = fopen(ccp, "r")) || !(ca = PEM_read_X509(f, NULL, NULL, NULL)))
        goto cleanup;
    fclose(f);
    f = NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_gmtime_adj(X509_getm_notBefore(x), nb_days * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), na_days * 86400L);
    X509_NAME_add_entry_by_NID(name, NID_userId, MBSTRING_UTF8, (const unsigned char *)uid, -1,
                               -1, 0);
    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn,
                               -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, X509_get_subject_name(ca));
    X509_set_pubkey(x, key);
    if (!X509_sign(x, ca_key, EVP_sha256()) || !(f = fopen(op, "w")) || !PEM_write_X509(f, x))
        goto cleanup;
    rc = 0;
cleanup:
    if (f)
        fclose(f);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    X509_free(x);
    X509_NAME_free(name);
    return rc;
}

static int make_certs(void)
{
    const char *u = mdmfx_state.uuid;
    return sh("openssl genrsa -out apple_ca.key 2048 && openssl req -x509 -new -key apple_ca.key "
              "-subj '/O=Fake Apple/CN=" MDMFX_ISSUER_CN "' -days 3650 -out apple_ca.crt") ||
           sh("openssl genrsa -out apns.key 2048 && openssl req -new -key apns.key "
              "-subj '/UID=com.apple.mgmt.External.%s/CN=APSP:%s/C=US' -out apns.csr", u, u) ||
           sh("openssl x509 -req -in apns.csr -CA apple_ca.crt -CAkey apple_ca.key -days 365 "
              "-set_serial " MDMFX_SERIAL_HEX " -out apns.crt") ||
           sh("openssl x509 -req -in apns.csr -CA apple_ca.crt -CAkey apple_ca.key -days 10 "
              "-set_serial 7 -out apns_soon.crt") ||
           sh("openssl req -new -key apns.key -subj '/UID=com.example.push.%s/CN=APSP:%s' "
              "-out wrong.csr && openssl x509 -req -in wrong.csr -CA apple_ca.crt "
              "-CAkey apple_ca.key -days 365 -out apns_wrong_topic.crt", u, u) ||
           sh("openssl req -new -key apns.key -subj '/CN=APSP:%s' -out notopic.csr && "
              "openssl x509 -req -in notopic.csr -CA apple_ca.crt -CAkey apple_ca.key "
              "-days 365 -out apns_no_topic.crt", u) ||
           make_backdated("apns_expired.crt", mdmfx_state.topic, -400, -1) ||
           sh("openssl genrsa -out other.key 2048") ||
           sh("openssl genrsa -traditional -out scep.key 2048 && openssl req -x509 -new "
              "-key scep.key -subj '/O=scep-ca/OU=SCEP CA' -days 3650 -out scep.crt") ||
           sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -subj '/CN=localhost' "
              "-days 30 -out tls.crt") ||
           sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout bm.key -subj '/CN=orchard-bm' "
              "-days 30 -set_serial 1 -out bm.crt") ||
           sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout bm2.key -subj '/CN=other-bm' "
              "-days 30 -out bm2.crt");
}

static int make_tokens(void)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    mdmfx_state.token_expiry = now + 200 * 86400L;
    mdmfx_state.soon_token_expiry = now + 10 * 86400L;
    g_autofree char *exp_ok = iso(mdmfx_state.token_expiry);
    g_autofree char *exp_soon = iso(mdmfx_state.soon_token_expiry);
    g_autofree char *exp_past = iso(now - 3 * 86400L);
    g_autofree char *ok = token_json(exp_ok, 1), *soon = token_json(exp_soon, 1);
    g_autofree char *past = token_json(exp_past, 1), *missing = token_json(exp_ok, 0);
    g_autofree char *bad_expiry = token_json("next summer", 1);
    g_autofree char *offset = token_json("2031-03-04T05:06:07+02:00", 1);
    const char *bad_json = "{\"consumer_key\":\"" MDMFX_CONSUMER_KEY "\",\"consumer_secret\":\""
                           MDMFX_CONSUMER_SECRET "\" \"" MDMFX_ACCESS_SECRET "\"}";
    if (make_token("token", ok, "\r\n", "bm.crt", 0) ||
        make_token("token_lf", ok, "\n", "bm.crt", 1) ||
        make_token("token_soon", soon, "\r\n", "bm.crt", 0) ||
        make_token("token_expired", past, "\r\n", "bm.crt", 0) ||
        make_token("token_other", ok, "\r\n", "bm2.crt", 0) ||
        make_token("token_bad_json", bad_json, "\r\n", "bm.crt", 0) ||
        make_token("token_missing", missing, "\r\n", "bm.crt", 0) ||
        make_token("token_bad_expiry", bad_expiry, "\r\n", "bm.crt", 0) ||
        make_token("token_offset", offset, "\r\n", "bm.crt", 0))
        return -1;
    g_autofree char *nm = mdmfx_path("nomsg.txt");
    if (!g_file_set_contents(nm, ok, -1, NULL))
        return -1;
    return sh("openssl smime -encrypt -aes256 -in nomsg.txt -out token_no_message.p7m bm.crt") ||
           sh("sed 's/$/\\r/' token.p7m > token_crlf_file.p7m") ||
           sh("printf 'just some text\\nnot a token\\n' > not_smime.p7m");
}

int mdmfx_setup(void)
{
    if (refs++ > 0)
        return 0;
    leaks = 0;
    mdmfx_state.dir = g_dir_make_tmp("orchard-mdm-XXXXXX", NULL);
    mdmfx_state.uuid = g_uuid_string_random();
    mdmfx_state.topic = g_strdup_printf("com.apple.mgmt.External.%s", mdmfx_state.uuid);
    if (!mdmfx_state.dir || make_certs() || make_tokens())
        return -1;
    return 0;
}

int mdmfx_teardown(void)
{
    if (--refs > 0)
        return 0;
    if (mdmfx_state.dir) {
        const char *argv[] = {"rm", "-rf", mdmfx_state.dir, NULL};
        g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                     NULL, NULL);
    }
    g_clear_pointer(&mdmfx_state.dir, g_free);
    g_clear_pointer(&mdmfx_state.uuid, g_free);
    g_clear_pointer(&mdmfx_state.topic, g_free);
    /* The in-process configuration must not leak into other suites. */
    mdmfx_apply_config(NULL);
    return 0;
}

/* --- configurations */

static const char *const good[] = {
    "server.url", "https://mdm.example.com",
    "store.sqlite", "fx:orchard.db",
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

/* "fx:name" is a fixture's path, "pem:name" its content. g_free. */
static char *resolve(const char *v)
{
    if (g_str_has_prefix(v, "fx:"))
        return mdmfx_path(v + 3);
    if (g_str_has_prefix(v, "pem:"))
        return mdmfx_read(v + 4);
    return g_strdup(v);
}

/* The good pairs with kv applied: an array of key, value (resolved) pairs. */
static GPtrArray *merged(const char *const *kv)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; good[i]; i += 2) {
        g_ptr_array_add(out, g_strdup(good[i]));
        g_ptr_array_add(out, resolve(good[i + 1]));
    }
    for (size_t i = 0; kv && kv[i]; i += 2) {
        guint j;
        for (j = 0; j < out->len && strcmp(out->pdata[j], kv[i]) != 0; j += 2)
            ;
        if (j == out->len) {
            g_ptr_array_add(out, g_strdup(kv[i]));
            g_ptr_array_add(out, NULL);
        }
        g_free(out->pdata[j + 1]);
        out->pdata[j + 1] = kv[i + 1] ? resolve(kv[i + 1]) : NULL;
    }
    /* ORCHARD_TEST_STORE=postgres: a database per store path (pg_test.h). */
    for (guint j = 0; j < out->len; j += 2)
        if (strcmp(out->pdata[j], "store.sqlite") == 0) {
            char *v = out->pdata[j + 1] ? g_strdup(orchard_test_store(out->pdata[j + 1])) : NULL;
            g_free(out->pdata[j]);
            g_free(out->pdata[j + 1]);
            out->pdata[j] = g_strdup(orchard_test_store_key());
            out->pdata[j + 1] = v;
        }
    return out;
}

static void yaml_value(GString *y, const char *v)
{
    if (!strchr(v, '\n')) {
        g_autofree char *q = NULL;
        gchar **parts = g_strsplit(v, "'", -1);
        q = g_strjoinv("''", parts);
        g_strfreev(parts);
        g_string_append_printf(y, " '%s'\n", q);
        return;
    }
    g_string_append(y, " |\n");
    gchar **lines = g_strsplit(v, "\n", -1);
    for (size_t i = 0; lines[i]; i++) {
        if (*lines[i])
            g_string_append_printf(y, "    %s\n", lines[i]);
        else if (lines[i + 1]) /* S/MIME's blank line after the headers */
            g_string_append(y, "\n");
    }
    g_strfreev(lines);
}

char *mdmfx_write_config(const char *const *kv)
{
    static int n;
    g_autoptr(GPtrArray) m = merged(kv);
    GString *y = g_string_new("# written by tests/server/mdm_fixtures.c\n");
    const char *sections[] = {"server", "store", "mdm"};
    for (size_t s = 0; s < G_N_ELEMENTS(sections); s++) {
        size_t len = strlen(sections[s]);
        int header = 0;
        for (guint i = 0; i < m->len; i += 2) {
            const char *k = m->pdata[i], *v = m->pdata[i + 1];
            if (!v || strncmp(k, sections[s], len) != 0 || k[len] != '.')
                continue;
            if (!header++)
                g_string_append_printf(y, "%s:\n", sections[s]);
            g_string_append_printf(y, "  %s:", k + len + 1);
            yaml_value(y, v);
        }
    }
    g_autofree char *name = g_strdup_printf("config-%d.yml", ++n);
    char *path = mdmfx_path(name);
    g_file_set_contents(path, y->str, (gssize)y->len, NULL);
    g_string_free(y, TRUE);
    return path;
}

void mdmfx_apply_config(const char *const *kv)
{
    orchard_config *cfg = orchard_config_global();
    for (size_t i = 0; i < orchard_mdm_config_n_keys; i++)
        orchard_config_set(cfg, orchard_mdm_config_keys[i].key, NULL);
    if (!mdmfx_state.dir) /* teardown: clearing was the point */
        return;
    g_autoptr(GPtrArray) m = merged(kv);
    for (guint i = 0; i < m->len; i += 2)
        if (m->pdata[i + 1])
            orchard_config_set(cfg, m->pdata[i], m->pdata[i + 1]);
}

/* --- running the binary */

static void check_leaks(const char *what, const char *text)
{
    static const char *const secrets[] = {MDMFX_CHALLENGE, MDMFX_CONSUMER_KEY,
                                          MDMFX_CONSUMER_SECRET, MDMFX_ACCESS_TOKEN,
                                          MDMFX_ACCESS_SECRET, "PRIVATE KEY"};
    for (size_t i = 0; text && i < G_N_ELEMENTS(secrets); i++) {
        if (strstr(text, secrets[i])) {
            fprintf(stderr, "LEAK: %s shows %s\n", what, secrets[i]);
            leaks++;
        }
    }
}

int mdmfx_run(const char *const *args, const char *const *env, char **out, char **err)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)ORCHARD_BIN);
    for (size_t i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    gchar **envp = g_get_environ();
    for (size_t i = 0; env && env[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(env[i], "=", 2);
        envp = g_environ_setenv(envp, kv[0], kv[1] ? kv[1] : "", TRUE);
    }
    int status = 0, rc = -1;
    if (g_spawn_sync(mdmfx_state.dir, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                     out, err, &status, NULL)) {
        if (WIFEXITED(status))
            rc = WEXITSTATUS(status);
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv->pdata + 1);
        check_leaks(cmd, *out);
        check_leaks(cmd, *err);
    }
    g_strfreev(envp);
    g_ptr_array_free(argv, TRUE);
    return rc;
}

int mdmfx_leaks(void) { return leaks; }

char *mdmfx_renew_date(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    static const char *const months[] = {"January", "February", "March", "April", "May", "June",
                                         "July", "August", "September", "October", "November",
                                         "December"};
    return g_strdup_printf("%s %d, %d", months[g_date_time_get_month(dt) - 1],
                           g_date_time_get_day_of_month(dt), g_date_time_get_year(dt));
}

int mdmfx_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

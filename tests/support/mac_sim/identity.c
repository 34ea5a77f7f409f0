/* A simulated Mac's identity and the folder that keeps it between runs: one
 * small file per fact (udid, serial, token, ...) so shell tests can read them,
 * PEM for the key and certificate. Separate runs of mac_sim are the same Macs. */
#include "tests/support/mac_sim/mac_sim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "tests/support/mac_sim/mac_sim_priv.h"

void orchard_macsim_udid(char *udid, unsigned seed, unsigned index)
{
    snprintf(udid, ORCHARD_MACSIM_UDID_LEN + 1, "%08X-4D41-4353-494D-%012X", seed, index);
}

void orchard_macsim_serial(char *serial, unsigned seed, unsigned index)
{
    snprintf(serial, ORCHARD_MACSIM_SERIAL_LEN + 1, "SIM%03X%06u", seed & 0xFFFu,
             index % 1000000u);
}

char *orchard_macsim_mac_dir(const char *state, unsigned index)
{
    return macsim_strdupf("%s/mac-%05u", state, index);
}

/* A random version-4 UUID, upper case, as Macs write PushMagic. */
static int random_uuid(char *out)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return ORCHARD_ENOMEM;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, ORCHARD_MACSIM_UDID_LEN + 1,
             "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

int orchard_macsim_mac_new(orchard_macsim_mac **out, const char *dir, unsigned seed,
                           unsigned index, char **error_msg)
{
    orchard_macsim_mac *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir)))
        goto nomem;
    m->seed = seed;
    m->index = index;
    orchard_macsim_udid(m->udid, seed, index);
    orchard_macsim_serial(m->serial, seed, index);
    if (RAND_bytes(m->token, sizeof m->token) != 1 ||
        RAND_bytes(m->unlock_token, sizeof m->unlock_token) != 1 || random_uuid(m->push_magic))
        goto nomem;
    *out = m;
    return 0;
nomem:
    orchard_macsim_mac_free(m);
    return macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory making a Mac");
}

void orchard_macsim_mac_free(orchard_macsim_mac *m)
{
    if (!m)
        return;
    free(m->dir);
    free(m->server_url);
    free(m->topic);
    EVP_PKEY_free(m->key);
    X509_free(m->cert);
    free(m->os_version);
    free(m->build_version);
    for (size_t i = 0; i < m->n_fail_profiles; i++)
        free(m->fail_profiles[i]);
    free(m->fail_profiles);
    free(m->managed_prefs);
    free(m);
}

int orchard_macsim_fail_profile_add(orchard_macsim_mac *m, const char *identifier)
{
    for (size_t i = 0; i < m->n_fail_profiles; i++)
        if (strcmp(m->fail_profiles[i], identifier) == 0)
            return 0;
    char **g = realloc(m->fail_profiles, (m->n_fail_profiles + 1) * sizeof *g);
    if (!g)
        return ORCHARD_ENOMEM;
    m->fail_profiles = g;
    if (!(g[m->n_fail_profiles] = strdup(identifier)))
        return ORCHARD_ENOMEM;
    m->n_fail_profiles++;
    return 0;
}

/* fail_profiles: one identifier a line. */
static int load_fail_profiles(orchard_macsim_mac *m)
{
    char *path = macsim_strdupf("%s/fail_profiles", m->dir);
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f)
        return 0;
    char line[1100];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line)
            rc = orchard_macsim_fail_profile_add(m, line);
    }
    fclose(f);
    return rc;
}

static int write_file(const char *dir, const char *name, const char *text);

/* The optional facts (os_version, build_version, fail_profiles,
 * managed_prefs): a file for each one set, none for one not set. */
static int save_optional(const orchard_macsim_mac *m)
{
    struct {
        const char *name, *value;
    } one[] = {{"os_version", m->os_version},
               {"build_version", m->build_version},
               {"managed_prefs", m->managed_prefs}};
    int rc = 0;
    for (size_t i = 0; i < sizeof one / sizeof one[0] && !rc; i++) {
        char *path = macsim_strdupf("%s/%s", m->dir, one[i].name);
        if (!path)
            return ORCHARD_ENOMEM;
        if (one[i].value && *one[i].value) {
            char *text = macsim_strdupf("%s\n", one[i].value);
            rc = text ? write_file(m->dir, one[i].name, text) : ORCHARD_ENOMEM;
            free(text);
        } else if (unlink(path) != 0 && errno != ENOENT) {
            rc = ORCHARD_EIO;
        }
        free(path);
    }
    char *path = macsim_strdupf("%s/fail_profiles", m->dir);
    FILE *f = !rc && path ? fopen(path, "w") : NULL;
    if (!rc && !f)
        rc = ORCHARD_EIO;
    for (size_t i = 0; f && i < m->n_fail_profiles; i++)
        fprintf(f, "%s\n", m->fail_profiles[i]);
    if (f && fclose(f) != 0)
        rc = ORCHARD_EIO;
    free(path);
    return rc;
}

/* The first line of dir/name without its newline; NULL when missing. */
static char *read_line(const char *dir, const char *name)
{
    char *path = macsim_strdupf("%s/%s", dir, name);
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f)
        return NULL;
    char buf[4096];
    char *s = fgets(buf, sizeof buf, f) ? strdup(buf) : strdup("");
    fclose(f);
    if (s)
        s[strcspn(s, "\r\n")] = '\0';
    return s;
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char *path = macsim_strdupf("%s/%s", dir, name);
    FILE *f = path ? fopen(path, "w") : NULL;
    free(path);
    if (!f)
        return ORCHARD_EIO;
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : ORCHARD_EIO;
}

static void to_hex(char *out, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* Exactly n bytes of hex into b; 0 or ORCHARD_EINVAL. */
static int from_hex(unsigned char *b, size_t n, const char *s)
{
    if (!s || strlen(s) != 2 * n)
        return ORCHARD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return ORCHARD_EINVAL;
        b[i] = (unsigned char)v;
    }
    return 0;
}

static int read_uint(unsigned *out, const char *dir, const char *name)
{
    char *s = read_line(dir, name), *end = NULL;
    if (!s)
        return ORCHARD_EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    int bad = !*s || *end || errno || v > 0xFFFFFFFFul;
    free(s);
    if (bad)
        return ORCHARD_EINVAL;
    *out = (unsigned)v;
    return 0;
}

/* Copy a string file into a fixed buffer of exactly `len` characters. */
static int read_fixed(char *out, size_t len, const char *dir, const char *name)
{
    char *s = read_line(dir, name);
    int ok = s && strlen(s) == len;
    if (ok)
        memcpy(out, s, len + 1);
    free(s);
    return ok ? 0 : ORCHARD_EINVAL;
}

static int load_pem(orchard_macsim_mac *m, char **error_msg)
{
    char *kp = macsim_strdupf("%s/key.pem", m->dir), *cp = macsim_strdupf("%s/cert.pem", m->dir);
    FILE *kf = kp ? fopen(kp, "r") : NULL, *cf = cp ? fopen(cp, "r") : NULL;
    int rc = 0;
    if (!kf || !cf) /* not enrolled yet */
        goto out;
    m->key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    m->cert = PEM_read_X509(cf, NULL, NULL, NULL);
    if (!m->key || !m->cert)
        rc = macsim_fail(error_msg, ORCHARD_EINVAL, "%s: key.pem or cert.pem does not read",
                         m->dir);
out:
    if (kf)
        fclose(kf);
    if (cf)
        fclose(cf);
    free(kp);
    free(cp);
    return rc;
}

int orchard_macsim_mac_load(orchard_macsim_mac **out, const char *dir, char **error_msg)
{
    char *udid = read_line(dir, "udid");
    if (!udid)
        return macsim_fail(error_msg, ORCHARD_ENOTFOUND, "%s is not a simulated Mac's folder",
                           dir);
    free(udid);
    orchard_macsim_mac *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        return macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
    }
    char *token = read_line(dir, "token"), *unlock = read_line(dir, "unlock_token");
    int rc = read_fixed(m->udid, ORCHARD_MACSIM_UDID_LEN, dir, "udid") ||
             read_fixed(m->serial, ORCHARD_MACSIM_SERIAL_LEN, dir, "serial") ||
             read_fixed(m->push_magic, ORCHARD_MACSIM_UDID_LEN, dir, "push_magic") ||
             read_uint(&m->index, dir, "index") || read_uint(&m->seed, dir, "seed") ||
             from_hex(m->token, sizeof m->token, token) ||
             from_hex(m->unlock_token, sizeof m->unlock_token, unlock);
    free(token);
    free(unlock);
    if (rc) {
        orchard_macsim_mac_free(m);
        return macsim_fail(error_msg, ORCHARD_EINVAL, "%s: a file is missing or malformed", dir);
    }
    m->server_url = read_line(dir, "server_url");
    m->topic = read_line(dir, "topic");
    m->os_version = read_line(dir, "os_version");
    m->build_version = read_line(dir, "build_version");
    m->managed_prefs = read_line(dir, "managed_prefs");
    if (m->os_version && !orchard_macsim_version_ok(m->os_version)) {
        orchard_macsim_mac_free(m);
        return macsim_fail(error_msg, ORCHARD_EINVAL, "%s: os_version is not a macOS version",
                           dir);
    }
    if (load_fail_profiles(m)) {
        orchard_macsim_mac_free(m);
        return macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
    }
    if ((rc = load_pem(m, error_msg))) {
        orchard_macsim_mac_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int orchard_macsim_mac_save(const orchard_macsim_mac *m, char **error_msg)
{
    if (mkdir(m->dir, 0700) != 0 && errno != EEXIST)
        return macsim_fail(error_msg, ORCHARD_EIO, "mkdir %s: %s", m->dir, strerror(errno));
    char tok[2 * ORCHARD_MACSIM_TOKEN_LEN + 2], unl[2 * ORCHARD_MACSIM_TOKEN_LEN + 2], n[32],
        s[32];
    to_hex(tok, m->token, sizeof m->token);
    to_hex(unl, m->unlock_token, sizeof m->unlock_token);
    snprintf(n, sizeof n, "%u\n", m->index);
    snprintf(s, sizeof s, "%u\n", m->seed);
    strcat(tok, "\n");
    strcat(unl, "\n");
    char *udid = macsim_strdupf("%s\n", m->udid), *serial = macsim_strdupf("%s\n", m->serial),
         *pm = macsim_strdupf("%s\n", m->push_magic);
    int rc = (!udid || !serial || !pm) ? ORCHARD_ENOMEM : 0;
    rc = rc ? rc : write_file(m->dir, "udid", udid);
    rc = rc ? rc : write_file(m->dir, "serial", serial);
    rc = rc ? rc : write_file(m->dir, "push_magic", pm);
    rc = rc ? rc : write_file(m->dir, "token", tok);
    rc = rc ? rc : write_file(m->dir, "unlock_token", unl);
    rc = rc ? rc : write_file(m->dir, "index", n);
    rc = rc ? rc : write_file(m->dir, "seed", s);
    free(udid);
    free(serial);
    free(pm);
    rc = rc ? rc : save_optional(m);
    if (!rc && m->server_url && m->topic) {
        char *u = macsim_strdupf("%s\n", m->server_url), *t = macsim_strdupf("%s\n", m->topic);
        rc = (!u || !t) ? ORCHARD_ENOMEM : 0;
        rc = rc ? rc : write_file(m->dir, "server_url", u);
        rc = rc ? rc : write_file(m->dir, "topic", t);
        free(u);
        free(t);
    }
    if (!rc && m->key && m->cert) {
        char *kp = macsim_strdupf("%s/key.pem", m->dir), *cp = macsim_strdupf("%s/cert.pem", m->dir);
        /* The private key is for this user only, whatever the umask. */
        int kfd = kp ? open(kp, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        FILE *kf = kfd >= 0 ? fdopen(kfd, "w") : NULL, *cf = cp ? fopen(cp, "w") : NULL;
        if (kfd >= 0 && !kf)
            close(kfd);
        if (!kf || !cf || !PEM_write_PrivateKey(kf, m->key, NULL, NULL, 0, NULL, NULL) ||
            !PEM_write_X509(cf, m->cert))
            rc = ORCHARD_EIO;
        if (kf && fclose(kf) != 0)
            rc = ORCHARD_EIO;
        if (cf && fclose(cf) != 0)
            rc = ORCHARD_EIO;
        free(kp);
        free(cp);
    }
    return rc ? macsim_fail(error_msg, rc, "writing %s failed", m->dir) : 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int orchard_macsim_load_all(orchard_macsim_mac ***out, size_t *n, const char *state,
                            char **error_msg)
{
    char *probe = macsim_strdupf("%s/udid", state);
    struct stat st;
    int single = probe && stat(probe, &st) == 0;
    free(probe);
    char **names = NULL;
    size_t count = 0, cap = 0;
    orchard_macsim_mac **macs = NULL;
    int rc = 0;
    if (single) {
        if (!(names = malloc(sizeof *names)) || !(names[0] = strdup(state)))
            goto nomem;
        count = 1;
    } else {
        DIR *d = opendir(state);
        if (!d)
            return macsim_fail(error_msg, ORCHARD_ENOTFOUND, "%s: %s", state, strerror(errno));
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *sub = macsim_strdupf("%s/%s/udid", state, e->d_name);
            int is_mac = sub && stat(sub, &st) == 0;
            free(sub);
            if (!is_mac)
                continue;
            if (count == cap) {
                cap = cap ? 2 * cap : 16;
                char **grown = realloc(names, cap * sizeof *names);
                if (!grown) {
                    closedir(d);
                    goto nomem;
                }
                names = grown;
            }
            if (!(names[count] = macsim_strdupf("%s/%s", state, e->d_name))) {
                closedir(d);
                goto nomem;
            }
            count++;
        }
        closedir(d);
        qsort(names, count, sizeof *names, by_name);
    }
    if (count == 0) {
        rc = macsim_fail(error_msg, ORCHARD_ENOTFOUND, "no simulated Mac under %s", state);
        goto out;
    }
    if (!(macs = calloc(count, sizeof *macs)))
        goto nomem;
    for (size_t i = 0; i < count && !rc; i++)
        rc = orchard_macsim_mac_load(&macs[i], names[i], error_msg);
    if (rc) {
        for (size_t i = 0; i < count; i++)
            orchard_macsim_mac_free(macs[i]);
        free(macs);
        macs = NULL;
        goto out;
    }
    *out = macs;
    *n = count;
    goto out;
nomem:
    rc = macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory listing %s", state);
out:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return rc;
}

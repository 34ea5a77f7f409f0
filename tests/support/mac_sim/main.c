/* mac_sim: simulated Macs against an MDM server, for tests, benchmarks and
 * `make run`. Every event is one JSON line on stdout; diagnostics go to stderr;
 * the exit status is 0 only when every Mac got the HTTP statuses expected.
 *
 *   mac_sim enroll --url ENROLL_URL --state DIR [--count N] [--first I] [--seed S]
 *                  [--concurrency C] [--keys K]
 *     (--keys K: the Macs share K RSA keys, each with its own certificate,
 *     instead of a key generation each: many Macs in seconds)
 *   mac_sim dep-enroll --server URL --state DIR [--serial S] [enroll's options]
 *     (as a Mac in Setup Assistant: POST its signed machine info to
 *     URL/api/mdm/apple/dep/enroll, then enroll with the profile answered;
 *     the serial is the seed's and index's unless --serial names one, for
 *     one Mac; --awaiting-configuration: its TokenUpdate says it waits in
 *     Setup Assistant for DeviceConfigured, as a DEP profile asks)
 *   mac_sim poll --state DIR [--count N] [--answer ack|error|notnow]
 *                [--answer-for RequestType=ack|error|notnow]... [--until-empty]
 *                [--max-sessions M] [--pause-ms MS] [--concurrency C]
 *     (one session: Idle, then answer each command until an empty 200;
 *     --until-empty repeats sessions until one brings no command, pausing
 *     --pause-ms (0) after one that answered NotNow)
 *   mac_sim checkin --state DIR --message Authenticate|TokenUpdate|CheckOut|...
 *                   [--sign-as MACDIR] [--no-signature] [--bad-signature]
 *                   [--expect STATUS] [--count N]
 *   mac_sim show --state DIR
 *   mac_sim set --state DIR [--os-version V] [--build-version B]
 *               [--fail-profile ID]... [--no-fail-profiles] [--managed-prefs ROOT]
 *     (what each Mac runs and how it misbehaves from now on; enroll takes
 *     the same options for new Macs, poll and wake --fail-profile and
 *     --managed-prefs for the run)
 *   mac_sim wake --state DIR --pushes RECORD [--seconds S] [poll's --answer options]
 *     (poll each Mac when the APNs stand-in's --record file shows a push to
 *     it with its PushMagic; S = 0, the default: until SIGINT/SIGTERM)
 * Common: --cacert PEM (trust for https), --insecure.
 * DIR is a state folder (one mac-NNNNN folder per Mac) or one Mac's folder. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "tests/support/mac_sim/mac_sim.h"
#include "tests/support/mac_sim/wake.h"
#include "tests/support/scep_client.h"

typedef struct {
    const char *cmd, *url, *state, *cacert, *message, *sign_as, *pushes, *server, *serial;
    const char *os_version, *build_version, *managed_prefs;
    const char *fail_profiles[64];
    int n_fail_profiles, no_fail_profiles;
    double seconds;
    int insecure, count, first, concurrency, until_empty, max_sessions, expect, pause_ms, keys;
    int awaiting_configuration;
    unsigned seed;
    orchard_macsim_sign_mode sign_mode;
    orchard_macsim_poll_opts poll;
    orchard_macsim_override overrides[64];
} options;

static options opt = {
    .count = -1, .concurrency = 4, .seed = 1, .max_sessions = 20, .expect = 200,
    .pause_ms = 0,
};

/* ---- a pool of threads over the Macs ---------------------------------------- */

typedef struct {
    orchard_macsim_mac **macs; /* loaded Macs (poll, checkin), or NULL (enroll) */
    size_t n;
    size_t next;
    int failed;
    pthread_mutex_t lock;
    int (*job)(size_t i, orchard_macsim_mac **slot, orchard_macsim_http *h);
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    orchard_macsim_http *h = NULL;
    char *err = NULL;
    if (orchard_macsim_http_new(&h, opt.cacert, opt.insecure, &err)) {
        fprintf(stderr, "mac_sim: %s\n", err);
        free(err);
        pthread_mutex_lock(&p->lock);
        p->failed++;
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n)
            break;
        if (p->job(i, p->macs ? &p->macs[i] : NULL, h)) {
            pthread_mutex_lock(&p->lock);
            p->failed++;
            pthread_mutex_unlock(&p->lock);
        }
    }
    orchard_macsim_http_free(h);
    return NULL;
}

/* Run job over n items with opt.concurrency threads; the number that failed. */
static int run_pool(pool *p)
{
    int nt = opt.concurrency < 1 ? 1 : opt.concurrency;
    if ((size_t)nt > p->n)
        nt = (int)p->n;
    pthread_t *t = calloc((size_t)(nt ? nt : 1), sizeof *t);
    pthread_mutex_init(&p->lock, NULL);
    int started = 0;
    for (int i = 0; t && i < nt; i++)
        started += pthread_create(&t[i], NULL, worker, p) == 0;
    if (!t || started < nt) {
        fprintf(stderr, "mac_sim: could not start %d threads\n", nt);
        p->failed += (int)p->n; /* whatever ran, the run is not what was asked */
    }
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&p->lock);
    free(t);
    return p->failed;
}

static int report_error(const orchard_macsim_mac *mac, const char *what, char *err)
{
    orchard_macsim_event("error", mac, "during=s", what, "message=s", err ? err : "failed",
                         NULL);
    fprintf(stderr, "mac_sim: %s: %s\n", mac ? mac->udid : "-", err ? err : "failed");
    free(err);
    return 1;
}

/* ---- what a Mac runs (enroll, set) ------------------------------------------------ */

static int replace(char **field, const char *value)
{
    if (!value)
        return 0;
    free(*field);
    *field = *value ? strdup(value) : NULL;
    return *value && !*field ? ORCHARD_ENOMEM : 0;
}

/* Apply --os-version, --build-version, --fail-profile, --no-fail-profiles and
 * --managed-prefs to a Mac (not saved). A new OS version without a build
 * takes the derived build. */
static int set_facts(orchard_macsim_mac *mac)
{
    int rc = 0;
    if (opt.os_version && !opt.build_version)
        rc = replace(&mac->build_version, "");
    rc = rc ? rc : replace(&mac->os_version, opt.os_version);
    rc = rc ? rc : replace(&mac->build_version, opt.build_version);
    rc = rc ? rc : replace(&mac->managed_prefs, opt.managed_prefs);
    if (opt.no_fail_profiles) {
        for (size_t i = 0; i < mac->n_fail_profiles; i++)
            free(mac->fail_profiles[i]);
        mac->n_fail_profiles = 0;
    }
    for (int i = 0; i < opt.n_fail_profiles && !rc; i++)
        rc = orchard_macsim_fail_profile_add(mac, opt.fail_profiles[i]);
    return rc;
}

/* ---- enroll ------------------------------------------------------------------- */

static EVP_PKEY *shared_keys[64];

static int enroll_job(size_t i, orchard_macsim_mac **slot, orchard_macsim_http *h)
{
    (void)slot;
    unsigned index = (unsigned)opt.first + (unsigned)i;
    char *dir = orchard_macsim_mac_dir(opt.state, index), *err = NULL;
    orchard_macsim_mac *mac = NULL;
    /* An existing folder is the same Mac enrolling again (same UDID). */
    int rc = dir ? orchard_macsim_mac_load(&mac, dir, &err) : ORCHARD_ENOMEM;
    if (rc == ORCHARD_ENOTFOUND) {
        free(err);
        err = NULL;
        rc = orchard_macsim_mac_new(&mac, dir, opt.seed, index, &err);
    }
    free(dir);
    if (rc)
        return report_error(NULL, "enroll", err);
    if (set_facts(mac))
        return report_error(mac, "enroll", strdup("out of memory"));
    if (opt.serial) /* --serial: checked by parse_args to fit */
        snprintf(mac->serial, sizeof mac->serial, "%s", opt.serial);
    mac->awaiting_configuration = opt.awaiting_configuration;
    if (opt.keys > 0) { /* --keys: one of the shared keys, a new certificate */
        X509_free(mac->cert);
        mac->cert = NULL;
        EVP_PKEY_free(mac->key);
        mac->key = shared_keys[index % (unsigned)opt.keys];
        EVP_PKEY_up_ref(mac->key);
    }
    long status = 0;
    int dep = opt.server != NULL;
    rc = dep ? orchard_macsim_dep_enroll(mac, h, opt.server, &status, &err)
             : orchard_macsim_enroll(mac, h, opt.url, &status, &err);
    int failed = rc ? report_error(mac, dep ? "dep-enroll" : "enroll", err) : 0;
    if (!rc && dep)
        orchard_macsim_event("enrolled", mac, "serial=s", mac->serial, "dir=s", mac->dir,
                             "via=s", "dep", NULL);
    else if (!rc)
        orchard_macsim_event("enrolled", mac, "serial=s", mac->serial, "dir=s", mac->dir, NULL);
    orchard_macsim_mac_free(mac);
    return failed;
}

static int cmd_enroll(void)
{
    int dep = strcmp(opt.cmd, "dep-enroll") == 0;
    if (dep ? (!opt.server || !opt.state || opt.url) : (!opt.url || !opt.state || opt.server)) {
        fprintf(stderr, dep ? "mac_sim dep-enroll: --server and --state are required\n"
                            : "mac_sim enroll: --url and --state are required\n");
        return 2;
    }
    if (opt.serial && opt.count > 1) {
        fprintf(stderr, "mac_sim %s: --serial names one Mac (--count 1)\n", opt.cmd);
        return 2;
    }
    if (mkdir(opt.state, 0700) != 0) {
        struct stat st;
        if (stat(opt.state, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "mac_sim: cannot make %s\n", opt.state);
            return 1;
        }
    }
    int rc = 0;
    for (int i = 0; i < opt.keys && !rc; i++) {
        char *err = NULL;
        if ((rc = orchard_scepc_rsa_key(&shared_keys[i], 2048, &err))) {
            fprintf(stderr, "mac_sim: %s\n", err);
            free(err);
        }
    }
    pool p = {.n = (size_t)(opt.count < 0 ? 1 : opt.count), .job = enroll_job};
    rc = rc ? 1 : run_pool(&p) ? 1 : 0;
    for (int i = 0; i < opt.keys; i++)
        EVP_PKEY_free(shared_keys[i]);
    return rc;
}

/* ---- poll ---------------------------------------------------------------------- */

static int poll_job(size_t i, orchard_macsim_mac **slot, orchard_macsim_http *h)
{
    (void)i;
    orchard_macsim_mac *mac = *slot;
    for (int s = 0; s < opt.max_sessions; s++) {
        orchard_macsim_poll_result res;
        char *err = NULL;
        if (orchard_macsim_poll(mac, h, &opt.poll, &res, &err))
            return report_error(mac, "poll", err);
        orchard_macsim_event("polled", mac, "commands=d", res.commands, "acknowledged=d",
                             res.acked, "error=d", res.errored, "notnow=d", res.notnow, NULL);
        /* --until-empty: poll again until a session brings nothing (a
         * NotNow'd command comes back in a later session). --pause-ms waits
         * between sessions after a NotNow, for a server that makes the Mac
         * wait before it hands a NotNow'd command out again. */
        if (!opt.until_empty || res.commands == 0)
            return 0;
        if (res.notnow)
            nanosleep(&(struct timespec){.tv_sec = opt.pause_ms / 1000,
                                         .tv_nsec = (opt.pause_ms % 1000) * 1000000L},
                      NULL);
    }
    orchard_macsim_event("error", mac, "during=s", "poll", "message=s",
                         "commands still due after --max-sessions sessions", NULL);
    return 1;
}

/* ---- checkin ---------------------------------------------------------------------- */

static orchard_macsim_mac *signer;

static int checkin_job(size_t i, orchard_macsim_mac **slot, orchard_macsim_http *h)
{
    (void)i;
    orchard_macsim_mac *mac = *slot;
    orchard_macsim_signing sg = {.mode = opt.sign_mode, .as = signer};
    long status = 0;
    char *err = NULL;
    if (orchard_macsim_checkin(mac, h, opt.message, &sg, &status, &err))
        return report_error(mac, "checkin", err);
    const char *sign = opt.sign_mode == ORCHARD_MACSIM_SIGN_NONE  ? "none"
                       : opt.sign_mode == ORCHARD_MACSIM_SIGN_BAD ? "bad"
                       : signer                                   ? signer->udid
                                                                  : "own";
    orchard_macsim_event(status == 200 ? "checkin" : "refused", mac, "message=s", opt.message,
                         "status=l", status, "signed_by=s", sign, NULL);
    if (status != opt.expect) {
        fprintf(stderr, "mac_sim: %s: %s answered HTTP %ld, expected %d\n", mac->udid,
                opt.message, status, opt.expect);
        return 1;
    }
    return 0;
}

/* ---- show -------------------------------------------------------------------------- */

static void hex(char *out, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static int set_one(orchard_macsim_mac *mac)
{
    char *err = NULL;
    if (set_facts(mac) || orchard_macsim_mac_save(mac, &err))
        return report_error(mac, "set", err ? err : strdup("out of memory"));
    /* A root in use shows the new OS version at once, as a Mac's does. */
    const char *root = opt.managed_prefs ? opt.managed_prefs : mac->managed_prefs;
    if (root && orchard_macsim_managed_prefs_sync(mac, root, &err))
        return report_error(mac, "set", err);
    orchard_macsim_event("set", mac, "os_version=s", orchard_macsim_os_version(mac),
                         "build_version=s", orchard_macsim_build_version(mac), "fail_profiles=d",
                         (int)mac->n_fail_profiles, NULL);
    return 0;
}

static void show(const orchard_macsim_mac *mac)
{
    char tok[2 * ORCHARD_MACSIM_TOKEN_LEN + 1], unl[2 * ORCHARD_MACSIM_TOKEN_LEN + 1];
    char fp[2 * EVP_MAX_MD_SIZE + 1] = "";
    hex(tok, mac->token, sizeof mac->token);
    hex(unl, mac->unlock_token, sizeof mac->unlock_token);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (mac->cert && X509_digest(mac->cert, EVP_sha256(), md, &mdlen))
        hex(fp, md, mdlen);
    char *profiles = orchard_macsim_profile_ids(mac);
    orchard_macsim_event("mac", mac, "serial=s", mac->serial, "token=s", tok, "push_magic=s",
                         mac->push_magic, "unlock_token=s", unl, "cert_sha256=s", fp,
                         "server_url=s", mac->server_url ? mac->server_url : "", "topic=s",
                         mac->topic ? mac->topic : "", "dir=s", mac->dir, "os_version=s",
                         orchard_macsim_os_version(mac), "build_version=s",
                         orchard_macsim_build_version(mac), "profiles=s",
                         profiles ? profiles : "", NULL);
    free(profiles);
}

/* poll, checkin and show work on the Macs already under --state. */
static int cmd_loaded(void)
{
    if (!opt.state) {
        fprintf(stderr, "mac_sim %s: --state is required\n", opt.cmd);
        return 2;
    }
    int is_checkin = strcmp(opt.cmd, "checkin") == 0;
    if (is_checkin && !opt.message) {
        fprintf(stderr, "mac_sim checkin: --message is required\n");
        return 2;
    }
    orchard_macsim_mac **macs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (orchard_macsim_load_all(&macs, &n, opt.state, &err)) {
        fprintf(stderr, "mac_sim: %s\n", err);
        free(err);
        return 1;
    }
    if (opt.sign_as && orchard_macsim_mac_load(&signer, opt.sign_as, &err)) {
        fprintf(stderr, "mac_sim: --sign-as: %s\n", err);
        free(err);
        signer = NULL;
    }
    int rc = 0;
    size_t use = opt.count >= 0 && (size_t)opt.count < n ? (size_t)opt.count : n;
    if (opt.sign_as && !signer) {
        rc = 1;
    } else if (strcmp(opt.cmd, "wake") == 0) {
        rc = opt.pushes ? macsim_wake(macs, use, opt.pushes, opt.seconds, &opt.poll, opt.cacert,
                                      opt.insecure)
                        : (fprintf(stderr, "mac_sim wake: --pushes is required\n"), 2);
    } else if (strcmp(opt.cmd, "show") == 0) {
        for (size_t i = 0; i < use; i++)
            show(macs[i]);
    } else if (strcmp(opt.cmd, "set") == 0) {
        for (size_t i = 0; i < use; i++)
            rc |= set_one(macs[i]);
    } else {
        pool p = {.macs = macs, .n = use, .job = is_checkin ? checkin_job : poll_job};
        rc = run_pool(&p) ? 1 : 0;
    }
    for (size_t i = 0; i < n; i++)
        orchard_macsim_mac_free(macs[i]);
    free(macs);
    orchard_macsim_mac_free(signer);
    return rc;
}

/* ---- arguments -------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: mac_sim enroll --url ENROLL_URL --state DIR [--count N] [--first I] [--seed S]\n"
            "                      [--concurrency C] [--keys K]\n"
            "       mac_sim dep-enroll --server URL --state DIR [--serial S] [--awaiting-configuration]\n"
            "                          [enroll's options]\n"
            "       mac_sim poll --state DIR [--count N] [--answer ack|error|notnow]\n"
            "                    [--answer-for RequestType=ack|error|notnow]... [--until-empty]\n"
            "                    [--max-sessions M] [--pause-ms MS] [--concurrency C]\n"
            "       mac_sim checkin --state DIR --message TYPE [--sign-as MACDIR]\n"
            "                       [--no-signature] [--bad-signature] [--expect STATUS]\n"
            "       mac_sim show --state DIR\n"
            "       mac_sim set --state DIR [--os-version V] [--build-version B]\n"
            "                   [--fail-profile ID]... [--no-fail-profiles] [--managed-prefs ROOT]\n"
            "       mac_sim wake --state DIR --pushes RECORD [--seconds S] [--answer ...]\n"
            "enroll also takes set's options; poll and wake --fail-profile and --managed-prefs\n"
            "common: --cacert PEM, --insecure\n");
    return 2;
}

/* A non-negative int option; -1 when it is not one. */
static int int_arg(const char *s, int max)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v >= 0 && v <= max) ? (int)v : -1;
}

static int parse_override(const char *s)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || opt.poll.n_overrides >= sizeof opt.overrides / sizeof opt.overrides[0])
        return -1;
    int a = orchard_macsim_answer_parse(eq + 1);
    char *rt = strndup(s, (size_t)(eq - s));
    if (a < 0 || !rt) {
        free(rt);
        return -1;
    }
    opt.overrides[opt.poll.n_overrides++] =
        (orchard_macsim_override){.request_type = rt, .answer = (orchard_macsim_answer)a};
    return 0;
}

static int parse_args(int argc, char **argv)
{
    static const struct option longs[] = {
        {"url", required_argument, 0, 'u'},        {"state", required_argument, 0, 's'},
        {"count", required_argument, 0, 'n'},      {"first", required_argument, 0, 'f'},
        {"seed", required_argument, 0, 'S'},       {"concurrency", required_argument, 0, 'c'},
        {"answer", required_argument, 0, 'a'},     {"answer-for", required_argument, 0, 'A'},
        {"until-empty", no_argument, 0, 'E'},      {"max-sessions", required_argument, 0, 'M'},
        {"message", required_argument, 0, 'm'},    {"sign-as", required_argument, 0, 'g'},
        {"no-signature", no_argument, 0, 'N'},     {"bad-signature", no_argument, 0, 'B'},
        {"expect", required_argument, 0, 'x'},     {"pause-ms", required_argument, 0, 'P'},
        {"cacert", required_argument, 0, 'C'},     {"insecure", no_argument, 0, 'k'},
        {"keys", required_argument, 0, 'K'},       {"pushes", required_argument, 0, 'p'},
        {"seconds", required_argument, 0, 'T'},    {"os-version", required_argument, 0, 'O'},
        {"build-version", required_argument, 0, 'b'},
        {"fail-profile", required_argument, 0, 'F'},
        {"no-fail-profiles", no_argument, 0, 'Z'}, {"managed-prefs", required_argument, 0, 'R'},
        {"server", required_argument, 0, 'V'},     {"serial", required_argument, 0, 'L'},
        {"awaiting-configuration", no_argument, 0, 'W'},
        {0, 0, 0, 0},
    };
    int c, v;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'u': opt.url = optarg; break;
        case 's': opt.state = optarg; break;
        case 'm': opt.message = optarg; break;
        case 'g': opt.sign_as = optarg; break;
        case 'C': opt.cacert = optarg; break;
        case 'k': opt.insecure = 1; break;
        case 'E': opt.until_empty = 1; break;
        case 'N': opt.sign_mode = ORCHARD_MACSIM_SIGN_NONE; break;
        case 'B': opt.sign_mode = ORCHARD_MACSIM_SIGN_BAD; break;
        case 'n': if ((opt.count = int_arg(optarg, 1000000)) < 0) return -1; break;
        case 'f': if ((opt.first = int_arg(optarg, 1000000)) < 0) return -1; break;
        case 'c': if ((opt.concurrency = int_arg(optarg, 1024)) < 1) return -1; break;
        case 'M': if ((opt.max_sessions = int_arg(optarg, 100000)) < 1) return -1; break;
        case 'p': opt.pushes = optarg; break;
        case 'T': if ((opt.seconds = int_arg(optarg, 86400)) < 0) return -1; break;
        case 'K': if ((opt.keys = int_arg(optarg, 64)) < 0) return -1; break;
        case 'P': if ((opt.pause_ms = int_arg(optarg, 60000)) < 0) return -1; break;
        case 'x': if ((opt.expect = int_arg(optarg, 599)) < 100) return -1; break;
        case 'S':
            if ((v = int_arg(optarg, 0x7FFFFFFF)) < 0)
                return -1;
            opt.seed = (unsigned)v;
            break;
        case 'a':
            if ((v = orchard_macsim_answer_parse(optarg)) < 0)
                return -1;
            opt.poll.answer = (orchard_macsim_answer)v;
            break;
        case 'A': if (parse_override(optarg)) return -1; break;
        case 'O':
            if (!orchard_macsim_version_ok(optarg))
                return -1;
            opt.os_version = optarg;
            break;
        case 'b':
            if (!*optarg || strlen(optarg) > 15 || strchr(optarg, '\n'))
                return -1;
            opt.build_version = optarg;
            break;
        case 'F':
            if (!*optarg || strchr(optarg, '\n') ||
                opt.n_fail_profiles >= (int)(sizeof opt.fail_profiles / sizeof opt.fail_profiles[0]))
                return -1;
            opt.fail_profiles[opt.n_fail_profiles++] = optarg;
            break;
        case 'Z': opt.no_fail_profiles = 1; break;
        case 'V': opt.server = optarg; break;
        case 'W': opt.awaiting_configuration = 1; break;
        case 'L': /* a serial as Apple writes them: letters and digits, fits the Mac's */
            if (!*optarg || strlen(optarg) > ORCHARD_MACSIM_SERIAL_LEN ||
                strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(optarg))
                return -1;
            opt.serial = optarg;
            break;
        case 'R':
            if (!*optarg || strchr(optarg, '\n'))
                return -1;
            opt.managed_prefs = optarg;
            break;
        default: return -1;
        }
    }
    opt.poll.overrides = opt.overrides;
    opt.poll.fail_profiles = opt.fail_profiles;
    opt.poll.n_fail_profiles = (size_t)opt.n_fail_profiles;
    opt.poll.managed_prefs = opt.managed_prefs;
    return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    opt.cmd = argv[1];
    if (parse_args(argc, argv))
        return usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (strcmp(opt.cmd, "enroll") == 0 || strcmp(opt.cmd, "dep-enroll") == 0)
        rc = cmd_enroll();
    else if (!strcmp(opt.cmd, "poll") || !strcmp(opt.cmd, "checkin") || !strcmp(opt.cmd, "show") ||
             !strcmp(opt.cmd, "wake") || !strcmp(opt.cmd, "set"))
        rc = cmd_loaded();
    else
        rc = usage();
    for (size_t i = 0; i < opt.poll.n_overrides; i++)
        free(opt.overrides[i].request_type);
    curl_global_cleanup();
    return rc;
}

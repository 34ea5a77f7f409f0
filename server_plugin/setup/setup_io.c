/* Options and all-or-nothing file output for the generate commands (see
 * setup_io.h). Nothing here knows about certificates. */
#include "server_plugin/setup/setup_io.h"

#include "server_plugin/crypto/x509_util.h"

#include <openssl/crypto.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The option `arg` names (after "--", up to any '='), or NULL. */
static const orchard_setup_opt *find_opt(const char *arg, const orchard_setup_opt *opts,
                                         size_t n)
{
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

/* Take the value of option `o` at argv[*i] (inline after '=' or the next word). */
static int take_value(const char *cmd, const orchard_setup_opt *o, int argc, char **argv, int *i)
{
    const char *eq = strchr(argv[*i], '=');
    const char *v = eq ? eq + 1 : (*i + 1 < argc ? argv[*i + 1] : NULL);
    /* "--apns-key --force" means a forgotten value, not a file named "--force". */
    if (!eq && v && strncmp(v, "--", 2) == 0)
        v = NULL;
    if (!eq && v)
        ++*i;
    if (!v) {
        fprintf(stderr, "orchard %s: --%s needs a value\n", cmd, o->name);
        return 2;
    }
    if (!*v) {
        fprintf(stderr, "orchard %s: --%s must not be empty\n", cmd, o->name);
        return 2;
    }
    if (*o->value) {
        fprintf(stderr, "orchard %s: --%s given twice\n", cmd, o->name);
        return 2;
    }
    *o->value = v;
    return 0;
}

static int take_flag(const char *cmd, const orchard_setup_opt *o, const char *arg)
{
    if (strchr(arg, '=')) {
        fprintf(stderr, "orchard %s: --%s takes no value\n", cmd, o->name);
        return 2;
    }
    *o->flag = 1;
    return 0;
}

static int parse_one(const char *cmd, int argc, char **argv, int *i,
                     const orchard_setup_opt *opts, size_t n_opts)
{
    const char *arg = argv[*i];
    const orchard_setup_opt *o = strncmp(arg, "--", 2) == 0 ? find_opt(arg, opts, n_opts) : NULL;
    if (o)
        return o->value ? take_value(cmd, o, argc, argv, i) : take_flag(cmd, o, arg);
    if (strcmp(arg, "--verbose") == 0)
        return 0;
    if (strncmp(arg, "-", 1) == 0)
        fprintf(stderr, "orchard %s: unknown option %s\n", cmd, arg);
    else
        fprintf(stderr, "orchard %s: unexpected argument '%s'\n", cmd, arg);
    return 2;
}

int orchard_setup_parse(int argc, char **argv, const orchard_setup_opt *opts, size_t n_opts,
                        const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s\n", usage);
            return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(argv[0], argc, argv, &i, opts, n_opts);
        if (rc) {
            fprintf(stderr, "usage: %s\n", usage);
            return rc;
        }
    }
    return 0;
}

/* An absolute path for comparing, with the folder's symlinks resolved when it exists. */
static char *path_key(const char *path)
{
    g_autofree char *abs = g_canonicalize_filename(path, NULL);
    g_autofree char *dir = g_path_get_dirname(abs);
    g_autofree char *base = g_path_get_basename(abs);
    char *real = realpath(dir, NULL);
    char *key = g_build_filename(real ? real : dir, base, NULL);
    free(real);
    return key;
}

static int same_path(const char *a, const char *b)
{
    g_autofree char *ka = path_key(a);
    g_autofree char *kb = path_key(b);
    return strcmp(ka, kb) == 0;
}

/* Usage errors: two outputs on one path, or an output on an input. */
static int check_collisions(const char *cmd, const orchard_setup_file *files, size_t n,
                            const char *const *inputs, size_t n_inputs)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (same_path(files[i].path, files[j].path)) {
                fprintf(stderr, "orchard %s: the %s and the %s would both be written to %s\n",
                        cmd, files[i].what, files[j].what, files[i].path);
                rc = 2;
            }
        }
        for (size_t j = 0; j < n_inputs; j++) {
            if (inputs[j] && same_path(files[i].path, inputs[j])) {
                fprintf(stderr, "orchard %s: the %s would overwrite the input %s\n", cmd,
                        files[i].what, inputs[j]);
                rc = 2;
            }
        }
    }
    return rc;
}

/* Failures: a file in the way (*advice: what to do about it), or no folder
 * to write into. */
static int check_target(const char *cmd, const orchard_setup_file *f, int force,
                        const char **advice)
{
    GStatBuf sb;
    if (f->action == ORCHARD_SETUP_KEEP)
        return 0;
    if (g_lstat(f->path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "orchard %s: %s is a directory\n", cmd, f->path);
            return 1;
        }
        if (!force && f->action == ORCHARD_SETUP_NEW) {
            fprintf(stderr, "orchard %s: %s already exists\n", cmd, f->path);
            if (!*advice)
                *advice = f->if_exists ? f->if_exists : "use --force to replace it";
            return 1;
        }
        return 0;
    }
    g_autofree char *dir = g_path_get_dirname(f->path);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "orchard %s: cannot write %s: no directory %s\n", cmd, f->path, dir);
        return 1;
    }
    if (g_access(dir, W_OK) != 0) {
        fprintf(stderr, "orchard %s: cannot write %s: %s\n", cmd, f->path, g_strerror(errno));
        return 1;
    }
    return 0;
}

int orchard_setup_check(const char *cmd, const orchard_setup_file *files, size_t n,
                        const char *const *inputs, size_t n_inputs, int force)
{
    int rc = check_collisions(cmd, files, n, inputs, n_inputs);
    if (rc)
        return rc;
    const char *advice = NULL;
    for (size_t i = 0; i < n; i++)
        rc |= check_target(cmd, &files[i], force, &advice);
    if (advice)
        fprintf(stderr, "orchard %s: %s\n", cmd, advice);
    if (rc)
        fprintf(stderr, "orchard %s: nothing was written\n", cmd);
    return rc;
}

/* What a file was before this run wrote it. */
typedef struct {
    gboolean existed;
    char *data; /* its bytes when it existed (g_free) */
    gsize len;
    int mode;
} setup_before;

/* Remember files[i] as it is, so a failed run can put it back. */
static int save_before(const char *cmd, const orchard_setup_file *f, setup_before *b)
{
    GStatBuf sb;
    g_autoptr(GError) error = NULL;
    if (g_stat(f->path, &sb) != 0)
        return 0; /* nothing there: undone by removing it */
    if (!g_file_get_contents(f->path, &b->data, &b->len, &error)) {
        fprintf(stderr, "orchard %s: cannot read %s to keep a copy while replacing it: %s; "
                "nothing was written\n", cmd, f->path, error->message);
        return 1;
    }
    b->existed = TRUE;
    b->mode = (int)(sb.st_mode & 07777);
    return 0;
}

/* Undo files[0..n): remove those this run created, give the replaced ones
 * their old bytes back. */
static void roll_back(const char *cmd, const orchard_setup_file *files, size_t n,
                      const setup_before *before)
{
    for (size_t i = 0; i < n; i++) {
        g_autofree char *err = NULL;
        if (files[i].action == ORCHARD_SETUP_KEEP)
            continue;
        if (!before[i].existed)
            g_unlink(files[i].path);
        else if (orchard_write_file(files[i].path, before[i].data, before[i].len,
                                    before[i].mode, 1, &err) != 0)
            fprintf(stderr, "orchard %s: %s: could not put it back as it was: %s\n", cmd,
                    files[i].path, err);
    }
}

static void free_before(setup_before *before, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (before[i].data)
            OPENSSL_cleanse(before[i].data, before[i].len); /* may be a private key */
        g_free(before[i].data);
    }
    g_free(before);
}

int orchard_setup_write(const char *cmd, const orchard_setup_file *files, size_t n, int force)
{
    setup_before *before = g_new0(setup_before, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        if (files[i].action != ORCHARD_SETUP_KEEP && save_before(cmd, &files[i], &before[i])) {
            free_before(before, n);
            return 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        g_autofree char *err = NULL;
        if (files[i].action == ORCHARD_SETUP_KEEP)
            continue;
        int replace = force || files[i].action == ORCHARD_SETUP_REPLACE;
        if (orchard_write_file(files[i].path, files[i].data, files[i].len, files[i].mode, replace,
                               &err) != 0) {
            roll_back(cmd, files, i, before);
            fprintf(stderr, "orchard %s: %s; every file is as it was before\n", cmd, err);
            free_before(before, n);
            return 1;
        }
    }
    free_before(before, n);
    for (size_t i = 0; i < n; i++) {
        if (files[i].action == ORCHARD_SETUP_KEEP)
            printf("Kept %s (%s, unchanged)\n", files[i].path, files[i].what);
        else
            printf("Wrote %s (%s%s)\n", files[i].path, files[i].what,
                   files[i].mode == 0600 ? ", mode 0600: keep it secret" : "");
    }
    return 0;
}

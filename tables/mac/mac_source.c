/* The agent tables' only window on the Mac: files under a configurable root
 * and the `profiles` command, read with caps on size and nesting so that a
 * hostile or broken file, or a hung command, costs a warning and never a crash.
 * Tables -> mac_source -> (files | posix_spawn). See mac_source.h. */
#include "tables/mac/mac_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>



/* ------------------------------------------------------------------------ */
/* Sources and their caches */

typedef struct query_cache {
    GMutex lock; /* held while the command runs: a burst of callers runs it once */
    gboolean filled;
    gint64 at_us; /* monotonic time of the run */
    int rc;
    GBytes *bytes;
    char *message;
} query_cache;

#define N_QUERIES 3

struct orchard_mac_source {
    char *root;
    char *profiles_bin;
    const orchard_host_api *host;
    query_cache queries[N_QUERIES];
};

static GMutex sources_lock;
static GPtrArray *sources; /* orchard_mac_source*, keyed by (root, profiles_bin) */

static const char *config_or(const orchard_host_api *host, const char *key, const char *dflt)
{
    const char *v = NULL;
    if (ORCHARD_HAS_FIELD(host, orchard_host_api, config_get) && host->config_get)
        v = host->config_get(key);
    return v && *v ? v : dflt;
}

static void source_free(gpointer p)
{
    orchard_mac_source *src = p;
    for (int i = 0; i < N_QUERIES; i++) {
        query_cache *c = &src->queries[i];
        g_mutex_clear(&c->lock);
        if (c->bytes)
            g_bytes_unref(c->bytes);
        g_free(c->message);
    }
    g_free(src->root);
    g_free(src->profiles_bin);
    g_free(src);
}

orchard_mac_source *orchard_mac_source_get(const orchard_host_api *host)
{
    const char *root = config_or(host, "agent.root", "/");
    const char *bin = config_or(host, "agent.profiles_bin", "/usr/bin/profiles");
    orchard_mac_source *found = NULL;

    g_mutex_lock(&sources_lock);
    if (!sources)
        sources = g_ptr_array_new_with_free_func(source_free);
    for (guint i = 0; i < sources->len && !found; i++) {
        orchard_mac_source *s = g_ptr_array_index(sources, i);
        if (strcmp(s->root, root) == 0 && strcmp(s->profiles_bin, bin) == 0)
            found = s;
    }
    if (!found) {
        found = g_new0(orchard_mac_source, 1);
        found->root = g_strdup(root);
        found->profiles_bin = g_strdup(bin);
        found->host = host;
        for (int i = 0; i < N_QUERIES; i++)
            g_mutex_init(&found->queries[i].lock);
        g_ptr_array_add(sources, found);
    }
    g_mutex_unlock(&sources_lock);
    return found;
}

void orchard_mac_source_reset(void)
{
    g_mutex_lock(&sources_lock);
    if (sources)
        g_ptr_array_unref(sources);
    sources = NULL;
    g_mutex_unlock(&sources_lock);
}

const char *orchard_mac_source_root(const orchard_mac_source *src) { return src->root; }

const char *orchard_mac_source_nudge_json(const orchard_mac_source *src)
{
    /* Read at call time: the key is not part of the source's identity, and the
     * host keeps every value it handed out alive until exit. */
    return config_or(src->host, "agent.nudge_json", NULL);
}

/* ------------------------------------------------------------------------ */
/* Paths and files */

static int has_dotdot(const char *rel)
{
    for (const char *p = rel; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p += n;
        while (*p == '/')
            p++;
    }
    return 0;
}

char *orchard_mac_path(const orchard_mac_source *src, const char *rel)
{
    if (!src || !rel || has_dotdot(rel))
        return NULL;
    while (*rel == '/')
        rel++;
    return *rel ? g_build_filename(src->root, rel, NULL) : g_strdup(src->root);
}

int orchard_mac_exists(const orchard_mac_source *src, const char *rel)
{
    g_autofree char *path = orchard_mac_path(src, rel);
    struct stat st;
    return path && lstat(path, &st) == 0;
}

/* Read a whole regular file of at most ORCHARD_MAC_MAX_FILE bytes, NUL-terminated. */
static int read_capped(const char *path, char **data, size_t *len, char **error_msg)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        *error_msg = g_strdup_printf("%s: %s", path, g_strerror(e));
        return orchard_mac_errno_code(e);
    }
    if (!S_ISREG(st.st_mode)) {
        *error_msg = g_strdup_printf("%s: not a regular file", path);
        return ORCHARD_EINVAL;
    }
    if ((uint64_t)st.st_size > ORCHARD_MAC_MAX_FILE) {
        *error_msg = g_strdup_printf("%s: %lld bytes, over the %u byte cap", path,
                                     (long long)st.st_size, ORCHARD_MAC_MAX_FILE);
        return ORCHARD_ETOOBIG;
    }
    /* O_NONBLOCK: a FIFO swapped in after stat must not hang us. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        *error_msg = g_strdup_printf("%s: %s", path, g_strerror(e));
        return orchard_mac_errno_code(e);
    }
    int rc = 0;
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *error_msg = g_strdup_printf("%s: not a regular file", path);
        rc = ORCHARD_EINVAL;
        goto out;
    }
    buf = g_malloc(cap + 1);
    for (;;) {
        if (n == cap) { /* the file grew: allow it up to the cap */
            if (cap > ORCHARD_MAC_MAX_FILE) {
                *error_msg = g_strdup_printf("%s: over the %u byte cap", path, ORCHARD_MAC_MAX_FILE);
                rc = ORCHARD_ETOOBIG;
                goto out;
            }
            cap = MIN(cap * 2, (size_t)ORCHARD_MAC_MAX_FILE + 1);
            buf = g_realloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *error_msg = g_strdup_printf("%s: %s", path, g_strerror(errno));
            rc = ORCHARD_EIO;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > ORCHARD_MAC_MAX_FILE) {
        *error_msg = g_strdup_printf("%s: over the %u byte cap", path, ORCHARD_MAC_MAX_FILE);
        rc = ORCHARD_ETOOBIG;
        goto out;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    g_free(buf);
    close(fd);
    return rc;
}


/* Resolve `path` (under the root, or as given) and read it with the caps.
 * *full (g_free) is the path read, for messages. */
static int read_source(const orchard_mac_source *src, const char *path, int under_root,
                       char **full, char **data, size_t *len, char **error_msg)
{
    *full = under_root ? orchard_mac_path(src, path) : g_strdup(path);
    if (!*full) {
        *error_msg = g_strdup_printf("%s: refused (no path, or a \"..\" component)",
                                     path ? path : "(null)");
        return ORCHARD_EINVAL;
    }
    return read_capped(*full, data, len, error_msg);
}

int orchard_mac_read_plist(const orchard_mac_source *src, const char *rel, plist_t *out,
                           char **error_msg)
{
    g_autofree char *path = NULL;
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    *error_msg = NULL;
    int rc = read_source(src, rel, 1, &path, &data, &len, error_msg);
    if (rc)
        return rc;
    rc = orchard_mac_parse_plist(data, len, path, out, error_msg);
    g_free(data);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* JSON */

/* Bracket nesting outside strings, before jansson recurses into it. */
static int json_depth_scan(const char *data, size_t len, const char *origin, char **error_msg)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > ORCHARD_MAC_MAX_DEPTH) {
                *error_msg = g_strdup_printf("%s: nested deeper than %d at byte %zu", origin,
                                             ORCHARD_MAC_MAX_DEPTH, i);
                return ORCHARD_ETOOBIG;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

int orchard_mac_read_json(const orchard_mac_source *src, const char *path, int under_root,
                          json_t **out, char **error_msg)
{
    *out = NULL;
    *error_msg = NULL;
    g_autofree char *full = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = read_source(src, path, under_root, &full, &data, &len, error_msg);
    if (rc)
        return rc;
    rc = json_depth_scan(data, len, full, error_msg);
    if (!rc) {
        json_error_t jerr;
        *out = json_loadb(data, len, 0, &jerr);
        if (!*out) {
            *error_msg = g_strdup_printf("%s:%d:%d: %s", full, jerr.line, jerr.column, jerr.text);
            rc = ORCHARD_EINVAL;
        }
    }
    g_free(data);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Users */

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int orchard_mac_list_users(const orchard_mac_source *src, GPtrArray **out, char **error_msg)
{
    *error_msg = NULL;
    *out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *dir = orchard_mac_path(src, "/Users");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == ENOENT || e == ENOTDIR)
            return 0; /* no home folders at all */
        *error_msg = g_strdup_printf("%s: %s", dir, g_strerror(e));
        g_ptr_array_unref(*out);
        *out = NULL;
        return ORCHARD_EIO;
    }
    struct dirent *e;
    struct stat st;
    while ((e = readdir(d)) != NULL && (*out)->len < ORCHARD_MAC_MAX_USERS) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "Shared") == 0)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            g_ptr_array_add(*out, g_strdup(e->d_name));
    }
    closedir(d);
    g_ptr_array_sort(*out, cmp_str);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* profiles, cached */

static char *const query_args[N_QUERIES][4] = {
    [ORCHARD_PROFILES_COMPUTER_XML] = {"-C", "-o", "stdout-xml", NULL},
    [ORCHARD_PROFILES_STATUS] = {"status", "-type", "enrollment", NULL},
    [ORCHARD_PROFILES_SHOW_ENROLLMENT] = {"show", "-type", "enrollment", NULL},
};

static gint64 lifetime_s(orchard_profiles_query q, int rc)
{
    return rc == 0 && q == ORCHARD_PROFILES_SHOW_ENROLLMENT ? ORCHARD_MAC_CACHE_ENROLLMENT_SHOW_S
                                                             : ORCHARD_MAC_CACHE_SHORT_S;
}

int orchard_mac_profiles(orchard_mac_source *src, orchard_profiles_query q, GBytes **out,
                         char **error_msg)
{
    *out = NULL;
    *error_msg = NULL;
    if (!src || (unsigned)q >= N_QUERIES) {
        *error_msg = g_strdup("profiles: no such query");
        return ORCHARD_EINVAL;
    }
    query_cache *c = &src->queries[q];
    g_mutex_lock(&c->lock);
    gint64 now = g_get_monotonic_time();
    if (!c->filled || now - c->at_us >= lifetime_s(q, c->rc) * G_USEC_PER_SEC) {
        char *argv[5] = {src->profiles_bin, query_args[q][0], query_args[q][1],
                         query_args[q][2], NULL};
        if (c->bytes)
            g_bytes_unref(c->bytes);
        g_free(c->message);
        c->bytes = NULL;
        c->message = NULL;
        c->rc = orchard_mac_run(argv, ORCHARD_MAC_COMMAND_TIMEOUT_MS, ORCHARD_MAC_MAX_OUTPUT,
                                &c->bytes, &c->message);
        c->at_us = g_get_monotonic_time();
        c->filled = TRUE;
    }
    int rc = c->rc;
    if (rc == 0)
        *out = g_bytes_ref(c->bytes);
    else
        *error_msg = g_strdup(c->message);
    g_mutex_unlock(&c->lock);
    return rc;
}

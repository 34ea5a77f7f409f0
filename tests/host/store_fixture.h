/* The store suites' fixture (store_test.c, store_process_test.c): the table
 * of backends, STORE_TEST to run a test on each with a fresh, open store in
 * a temporary directory, and one-statement helpers that go through the host
 * API (store.h) like any other caller. */
#ifndef ORCHARD_TEST_STORE_FIXTURE_H
#define ORCHARD_TEST_STORE_FIXTURE_H

#include <stdint.h>

typedef struct {
    const char *name;                 /* the dialect: "sqlite", "postgres" */
    const char *config_key;           /* the key that selects it at lazy open */
    /* A fresh, empty store in *target (g_free): 0, ORCHARD_ENOTFOUND when
     * the backend is not here (*reason, g_free: the case skips), else a
     * failure with *reason. */
    int (*make)(const char *dir, char **target, char **reason);
    void (*drop)(const char *target); /* what make made outside dir; NULL: nothing */
    int file_based;                   /* tests of the file itself apply */
    const char *integrity_sql;        /* one row "ok" when sound; NULL: none */
    const char *blob_type;            /* the column type for bytes */
    const char *pool_key;             /* the option bounding connections at once */
} test_backend;

typedef struct {
    const test_backend *b;
    char *dir;
    char *target;
} fixture;

typedef void (*store_case)(fixture *f);

/* Run `body` once per backend: a fresh store, open, with no store.* keys
 * set; closed and removed after. ORCHARD_TEST_STORE=sqlite|postgres keeps
 * one backend. A backend that is not here (no PostgreSQL cluster) prints
 * one skip line (pg_test.h) and the case passes, except under CI=true. */
void on_every_backend(store_case body);

/* STORE_TEST(x) { body using f } defines test x, run on every backend. */
#define STORE_TEST(name)                                     \
    static void name##_on(fixture *f);                       \
    static void name(void) { on_every_backend(name##_on); }  \
    static void name##_on(fixture *f)

/* Set (NULL: unset) a key of the global configuration. */
void config_set(const char *key, const char *value);

/* orchard_store_open, saying why on stderr when it fails. */
int open_target(const char *target);

/* Run `sql` with up to two integer parameters in a write transaction. */
int write_sql(const char *sql, int nargs, int64_t a, int64_t b);

#define NO_ROW INT64_MIN

/* The first column of the first row, in a read transaction; NO_ROW when
 * there is none or the query failed. `nargs` integers bind `?`s. */
int64_t read_int(const char *sql, int nargs, int64_t a);

/* How many versions of `owner` orchard_migrations records, the highest in
 * *max (NO_ROW when the query failed); asserts applied_at is plausible. */
int64_t versions_of(const char *owner, int64_t *max);

/* A monotonic clock in milliseconds. */
int64_t now_ms(void);

#endif

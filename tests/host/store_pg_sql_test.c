/* The store_pg_sql suite: the PostgreSQL backend's SQL text functions
 * (host/store/postgres/store_pg_sql.c) without a server: `?` to $n outside
 * every kind of quote and comment PostgreSQL has, script splitting, the
 * read-only first look, and hostile text (unterminated constructs, a very
 * long statement, too many placeholders). Plus: what messages say of a
 * connection string (no password), the binaries that must not map libpq
 * do not link it, and the host's loader of the module. */
#include "tests/suites.h"

#include "host/store/postgres/store_pg_sql.h"
#include "host/store/store_backend.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <orchard/plugin.h>
#include <stdio.h>
#include <string.h>

/* The rewrite of `in`, or NULL on failure (*rc says why). */
static char *rewrite(const char *in, int *n, int *rc)
{
    char *out = NULL, *err = NULL;
    int dummy_n, dummy_rc;

    n = n ? n : &dummy_n;
    rc = rc ? rc : &dummy_rc;
    *rc = orchard_pg_sql_rewrite(in, &out, n, &err);
    if (*rc != 0) {
        CU_ASSERT_PTR_NULL(out);
        CU_ASSERT_PTR_NOT_NULL(err);
        CU_ASSERT_EQUAL(*n, 0);
    } else {
        CU_ASSERT_PTR_NULL(err);
    }
    g_free(err);
    return out;
}

/* `in` rewrites to `want` with `params` placeholders. */
static void check_rewrite(const char *in, const char *want, int params)
{
    int n = -1, rc = -1;
    g_autofree char *out = rewrite(in, &n, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(n, params);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\nrewrite(%s)\n  got  %s\n  want %s\n", in, out, want);
    CU_ASSERT_STRING_EQUAL(out, want);
}

static void check_refused(const char *in, int code)
{
    int rc = 0;
    g_autofree char *out = rewrite(in, NULL, &rc);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NULL(out);
}

static void test_store_pg_sql__placeholders(void)
{
    check_rewrite("SELECT 1", "SELECT 1", 0);
    check_rewrite("", "", 0);
    check_rewrite("SELECT ?", "SELECT $1", 1);
    check_rewrite("INSERT INTO t (a, b, c) VALUES (?,?,?)",
                  "INSERT INTO t (a, b, c) VALUES ($1,$2,$3)", 3);
    check_rewrite("SELECT * FROM t WHERE a=?AND b=?", "SELECT * FROM t WHERE a=$1AND b=$2", 2);
    /* Ten and more: numbers grow, nothing is renumbered. */
    check_rewrite("VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)", 11);
    /* A parameter written PostgreSQL's way is left alone. */
    check_rewrite("SELECT $1", "SELECT $1", 0);
}

static void test_store_pg_sql__quotes(void)
{
    check_rewrite("SELECT '?'", "SELECT '?'", 0);
    check_rewrite("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
    check_rewrite("SELECT '''?'''", "SELECT '''?'''", 0);
    check_rewrite("SELECT '', ?", "SELECT '', $1", 1);
    /* Standard strings: a backslash is a character, the quote still ends it. */
    check_rewrite("SELECT 'a\\', ?", "SELECT 'a\\', $1", 1);
    /* E'' strings: a backslash escapes the quote after it. */
    check_rewrite("SELECT E'a\\'?', ?", "SELECT E'a\\'?', $1", 1);
    check_rewrite("SELECT e'\\\\', ?", "SELECT e'\\\\', $1", 1);
    check_rewrite("SELECT E'it''s ?', ?", "SELECT E'it''s ?', $1", 1);
    /* An identifier ending in e before a string is no E'' string. */
    check_rewrite("SELECT note'a\\', ?", "SELECT note'a\\', $1", 1);
    /* U&'' and U&"" */
    check_rewrite("SELECT U&'d\\0061t?', ?", "SELECT U&'d\\0061t?', $1", 1);
    check_rewrite("SELECT U&\"a?\" FROM t WHERE x = ?", "SELECT U&\"a?\" FROM t WHERE x = $1", 1);
    /* B'', X'', N'' are standard strings after a letter. */
    check_rewrite("SELECT X'1?', N'?', ?", "SELECT X'1?', N'?', $1", 1);
    /* Quoted identifiers, with doubled quotes. */
    check_rewrite("SELECT \"a?\"\"b\" FROM \"t;?\" WHERE c = ?",
                  "SELECT \"a?\"\"b\" FROM \"t;?\" WHERE c = $1", 1);
    /* Adjacent strings. */
    check_rewrite("SELECT 'a''?'\n'b?' || ?", "SELECT 'a''?'\n'b?' || $1", 1);
}

static void test_store_pg_sql__comments(void)
{
    check_rewrite("SELECT ? -- is it? 'no\nFROM t", "SELECT $1 -- is it? 'no\nFROM t", 1);
    check_rewrite("SELECT 1 -- ? at the end", "SELECT 1 -- ? at the end", 0);
    check_rewrite("SELECT /* ? ' \" $$ */ ?", "SELECT /* ? ' \" $$ */ $1", 1);
    /* Nested: the first star-slash does not end the outer comment. */
    check_rewrite("SELECT /* a /* b ? */ c ? */ ?", "SELECT /* a /* b ? */ c ? */ $1", 1);
    check_rewrite("SELECT /**/?", "SELECT /**/$1", 1);
    check_rewrite("SELECT 4/2, 4-?, '--', ?", "SELECT 4/2, 4-$1, '--', $2", 2);
    /* A comment ends a token: E' and $$ may start right after it. */
    check_rewrite("SELECT/**/E'\\'?', ?", "SELECT/**/E'\\'?', $1", 1);
}

static void test_store_pg_sql__dollar_quotes(void)
{
    check_rewrite("SELECT $$?$$, ?", "SELECT $$?$$, $1", 1);
    check_rewrite("SELECT $$it's ?$$", "SELECT $$it's ?$$", 0);
    check_rewrite("SELECT $fn$ a $$ ? $$ b $fn$, ?", "SELECT $fn$ a $$ ? $$ b $fn$, $1", 1);
    /* Tags are case sensitive: $A$ does not close $a$. */
    check_rewrite("SELECT $a$ ? $A$ ? $a$, ?", "SELECT $a$ ? $A$ ? $a$, $1", 1);
    check_rewrite("SELECT $_x1$?$_x1$ || ?", "SELECT $_x1$?$_x1$ || $1", 1);
    /* $ inside an identifier starts nothing. */
    check_rewrite("SELECT a$b$ FROM t WHERE c = ?", "SELECT a$b$ FROM t WHERE c = $1", 1);
    /* $1 is a parameter, not a tag: what follows is ordinary text. */
    check_rewrite("SELECT $1$ FROM t", "SELECT $1$ FROM t", 0);
    /* Two bodies in a row. */
    check_rewrite("SELECT $$a$$$$?$$, ?", "SELECT $$a$$$$?$$, $1", 1);
    check_rewrite("CREATE FUNCTION f() RETURNS int AS $body$ SELECT '?' -- ?\n$body$ "
                  "LANGUAGE sql; SELECT ?",
                  "CREATE FUNCTION f() RETURNS int AS $body$ SELECT '?' -- ?\n$body$ "
                  "LANGUAGE sql; SELECT $1", 1);
}

static void test_store_pg_sql__unterminated(void)
{
    check_refused("SELECT 'abc", ORCHARD_EINVAL);
    check_refused("SELECT 'it''", ORCHARD_EINVAL);
    check_refused("SELECT E'abc\\'", ORCHARD_EINVAL);
    check_refused("SELECT E'\\", ORCHARD_EINVAL);
    check_refused("SELECT \"abc", ORCHARD_EINVAL);
    check_refused("SELECT U&\"abc", ORCHARD_EINVAL);
    check_refused("SELECT /* abc", ORCHARD_EINVAL);
    check_refused("SELECT /* a /* b */ c", ORCHARD_EINVAL);
    check_refused("SELECT $$abc", ORCHARD_EINVAL);
    check_refused("SELECT $t$abc$$", ORCHARD_EINVAL);
    check_refused("SELECT $t$abc$T$", ORCHARD_EINVAL);
    check_refused("'", ORCHARD_EINVAL);
    check_refused("\"", ORCHARD_EINVAL);
    /* SQLite's numbered placeholders are refused, not half-translated. */
    check_refused("SELECT ?1", ORCHARD_EINVAL);
    /* A lone $ or an unclosed tag is no dollar quote: text. */
    check_rewrite("SELECT $", "SELECT $", 0);
    check_rewrite("SELECT $abc ?", "SELECT $abc $1", 1);
    /* A line comment at the very end needs no newline. */
    check_rewrite("SELECT ? --", "SELECT $1 --", 1);
    /* The error says where. */
    char *out = NULL, *err = NULL;
    int n = 0;
    CU_ASSERT_EQUAL(orchard_pg_sql_rewrite("SELECT 1, 'x", &out, &n, &err), ORCHARD_EINVAL);
    CU_ASSERT(err && strstr(err, "quoted string") && strstr(err, "byte 10"));
    g_free(err);
}

static void test_store_pg_sql__high_bytes(void)
{
    /* UTF-8 letters continue identifiers and tags, as in PostgreSQL. */
    check_rewrite("SELECT caf\xc3\xa9'x?', ?", "SELECT caf\xc3\xa9'x?', $1", 1);
    check_rewrite("SELECT $\xc3\xa9$?$\xc3\xa9$, ?", "SELECT $\xc3\xa9$?$\xc3\xa9$, $1", 1);
    check_rewrite("SELECT \xff\xfe ?", "SELECT \xff\xfe $1", 1);
}

static void test_store_pg_sql__long_and_many(void)
{
    GString *in = g_string_new("SELECT 1 WHERE 0 IN (");
    GString *want = g_string_new("SELECT 1 WHERE 0 IN (");

    for (int i = 1; i <= ORCHARD_PG_SQL_MAX_PARAMS; i++) {
        g_string_append(in, i > 1 ? ",?" : "?");
        g_string_append_printf(want, i > 1 ? ",$%d" : "$%d", i);
    }
    g_string_append_c(in, ')');
    g_string_append_c(want, ')');
    check_rewrite(in->str, want->str, ORCHARD_PG_SQL_MAX_PARAMS);
    /* One more is refused: the protocol counts parameters in 16 bits. */
    g_string_insert(in, 21, "?,");
    check_refused(in->str, ORCHARD_ETOOBIG);
    g_string_free(in, TRUE);
    g_string_free(want, TRUE);

    /* A long statement of quoted text: 4 MiB through intact. */
    GString *big = g_string_new("SELECT '");
    for (int i = 0; i < 4 * 1024 * 1024 / 8; i++)
        g_string_append(big, "?''x;--/");
    g_string_append(big, "', ?");
    int n = 0, rc = -1;
    g_autofree char *out = rewrite(big->str, &n, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(out ? strlen(out) : 0, big->len + 1);
    g_string_free(big, TRUE);
}

static void test_store_pg_sql__session_control(void)
{
    static const char *const refused[] = {
        "BEGIN", "begin isolation level serializable", "START TRANSACTION", "COMMIT",
        "END", "ABORT", "ROLLBACK", "SAVEPOINT a", "RELEASE a", "PREPARE TRANSACTION 'x'",
        "PREPARE p AS SELECT 1", "DEALLOCATE ALL", "DISCARD ALL", "  -- c\n\tCommit",
        /* Nested comments, which the host's unnested check reads wrong. */
        "/* a /* b */ c */ COMMIT", "/**/ROLLBACK",
    };
    static const char *const allowed[] = {
        "SELECT 1", "COMMITTED", "INSERT INTO begin_log VALUES (1)", "'COMMIT'",
        "/* COMMIT */ SELECT 1", "/* a /* COMMIT */ */ SELECT 1", "\"commit\"", "",
        "/* unterminated COMMIT", "WITH x AS (SELECT 1) SELECT * FROM x",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        if (!orchard_pg_sql_is_session_control(refused[i]))
            fprintf(stderr, "\nnot refused: %s\n", refused[i]);
        CU_ASSERT_TRUE(orchard_pg_sql_is_session_control(refused[i]));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(allowed); i++) {
        if (orchard_pg_sql_is_session_control(allowed[i]))
            fprintf(stderr, "\nrefused: %s\n", allowed[i]);
        CU_ASSERT_FALSE(orchard_pg_sql_is_session_control(allowed[i]));
    }
}

/* The statements of `script`, joined by "|"; NULL when refused. */
static char *split(const char *script)
{
    GPtrArray *list = NULL;
    char *err = NULL;
    if (orchard_pg_sql_split(script, &list, &err) != 0) {
        CU_ASSERT_PTR_NULL(list);
        CU_ASSERT_PTR_NOT_NULL(err);
        g_free(err);
        return NULL;
    }
    CU_ASSERT_PTR_NULL(err);
    g_ptr_array_add(list, NULL);
    char *joined = g_strjoinv("|", (char **)list->pdata);
    g_ptr_array_unref(list);
    return joined;
}

static void check_split(const char *script, const char *want)
{
    g_autofree char *got = split(script);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\nsplit(%s)\n  got  %s\n  want %s\n", script, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_store_pg_sql__split(void)
{
    check_split("", "");
    check_split(" ;; ; \n", "");
    check_split("SELECT 1", "SELECT 1");
    check_split("SELECT 1;", "SELECT 1");
    check_split("  SELECT 1 ;\n\tSELECT 2;;SELECT 3  ", "SELECT 1|SELECT 2|SELECT 3");
    check_split("SELECT ';';SELECT \";\"", "SELECT ';'|SELECT \";\"");
    check_split("SELECT E'\\';';SELECT 2", "SELECT E'\\';'|SELECT 2");
    check_split("SELECT 1 -- ; not here\n;SELECT 2", "SELECT 1 -- ; not here|SELECT 2");
    check_split("SELECT /* ; /* ; */ ; */ 1; SELECT 2", "SELECT /* ; /* ; */ ; */ 1|SELECT 2");
    check_split("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
                "CREATE FUNCTION g() RETURNS int AS $x$ BEGIN; $$ ; $x$ LANGUAGE sql",
                "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql|"
                "CREATE FUNCTION g() RETURNS int AS $x$ BEGIN; $$ ; $x$ LANGUAGE sql");
    /* Only comments between separators: no statement. */
    check_split("SELECT 1; -- the end\n/* really */", "SELECT 1");
    /* `?` is not the splitter's business. */
    check_split("SELECT ?; SELECT '?'", "SELECT ?|SELECT '?'");

    CU_ASSERT_PTR_NULL(split("SELECT 1; SELECT 'x"));
    CU_ASSERT_PTR_NULL(split("SELECT 1; /* x"));
    CU_ASSERT_PTR_NULL(split("CREATE FUNCTION f() AS $$ x; SELECT 2"));
}

static void test_store_pg_sql__reads_only(void)
{
    CU_ASSERT_TRUE(orchard_pg_sql_reads_only("SELECT 1"));
    CU_ASSERT_TRUE(orchard_pg_sql_reads_only("  select 1"));
    CU_ASSERT_TRUE(orchard_pg_sql_reads_only("-- c\n/* d /* e */ */ WITH x AS (SELECT 1) SELECT * FROM x"));
    CU_ASSERT_TRUE(orchard_pg_sql_reads_only("(SELECT 1) UNION (SELECT 2)"));
    CU_ASSERT_TRUE(orchard_pg_sql_reads_only("VALUES (1)"));
    CU_ASSERT_TRUE(orchard_pg_sql_reads_only("TABLE t"));
    CU_ASSERT_FALSE(orchard_pg_sql_reads_only("INSERT INTO t VALUES (1)"));
    CU_ASSERT_FALSE(orchard_pg_sql_reads_only("SELECTED"));
    CU_ASSERT_FALSE(orchard_pg_sql_reads_only("DELETE FROM t"));
    CU_ASSERT_FALSE(orchard_pg_sql_reads_only("/* unterminated SELECT"));
    CU_ASSERT_FALSE(orchard_pg_sql_reads_only(""));
    CU_ASSERT_FALSE(orchard_pg_sql_reads_only("'SELECT'"));
}

static void check_redact(const char *target, const char *want)
{
    g_autofree char *got = orchard_store_postgres_redact(target);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\nredact(%s)\n  got  %s\n  want %s\n", target, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* What messages say of a connection string: everything but the password. */
static void test_store_pg_sql__redact(void)
{
    check_redact("postgresql://orchard@db/orchard", "postgresql://orchard@db/orchard");
    check_redact("postgresql://orchard:s3cret@db:5432/orchard?sslmode=require",
                 "postgresql://orchard:***@db:5432/orchard?sslmode=require");
    check_redact("postgres://u:p@ss:w@rd@db/x", "postgres://u:***@db/x"); /* last @ wins */
    check_redact("postgresql://u:p%40ss@/x?host=/run/pg", "postgresql://u:***@/x?host=/run/pg");
    check_redact("postgresql:///x?host=/tmp&password=s3cret&user=u",
                 "postgresql:///x?host=/tmp&password=***&user=u");
    check_redact("postgresql:///x?password=s3cret", "postgresql:///x?password=***");
    /* A @ in the path or query is no user info. */
    check_redact("postgresql://db/x?application_name=a:b@c", "postgresql://db/x?application_name=a:b@c");
    check_redact("host=db dbname=x password=s3cret user=u", "host=db dbname=x password=*** user=u");
    check_redact("host=db password = 's3 c\\'ret' user=u", "host=db password=*** user=u");
    check_redact("password='unterminated", "password=***");
    check_redact("password=", "password=***");
    /* Only the keyword itself: not a key that ends in it, nor a value. */
    check_redact("host=db mypassword=x", "host=db mypassword=x");
    check_redact("dbname=password", "dbname=password");
    check_redact("", "");
}

/* libpq belongs to the module alone: the binary (and so orchard.ext, its
 * copy) must not need it, or the extension's memory budget moves. */
static void test_store_pg_sql__binaries_without_libpq(void)
{
    const char *const bins[] = {ORCHARD_BIN, ORCHARD_EXT_BIN};

    for (size_t i = 0; i < G_N_ELEMENTS(bins); i++) {
        const char *argv[] = {"ldd", bins[i], NULL};
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        int status = -1;
        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                          NULL, &status, &error)) {
            fprintf(stderr, "\nldd: %s\n", error->message);
            CU_FAIL("ldd did not run");
            continue;
        }
        CU_ASSERT_EQUAL(status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "libglib")); /* ldd read the binary */
        CU_ASSERT_PTR_NULL(strstr(out, "libpq"));
        CU_ASSERT_PTR_NULL(strstr(out, "libcurl"));
    }
}

/* `orchard query` on a PostgreSQL store with the module and target given;
 * its stderr (g_free). The query reads a server-plugin table, which opens
 * the store. */
static char *query_stderr(const char *module, const char *target)
{
    const char *argv[] = {ORCHARD_BIN, "query", "SELECT count(*) FROM mdm_enrollments", NULL};
    char **env = g_get_environ();
    char *err = NULL;
    g_autoptr(GError) error = NULL;
    int status = 0;

    env = g_environ_setenv(env, "ORCHARD_STORE_POSTGRES", target, TRUE);
    env = g_environ_unsetenv(env, "ORCHARD_STORE_SQLITE");
    env = module ? g_environ_setenv(env, "ORCHARD_STORE_POSTGRES_MODULE", module, TRUE)
                 : g_environ_unsetenv(env, "ORCHARD_STORE_POSTGRES_MODULE");
    if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, NULL, &err,
                      &status, &error)) {
        fprintf(stderr, "\n%s: %s\n", ORCHARD_BIN, error->message);
        CU_FAIL("orchard did not run");
    }
    CU_ASSERT_NOT_EQUAL(status, 0); /* no store to read in any of these */
    g_strfreev(env);
    return err ? err : g_strdup("");
}

/* The host loads the module only for a PostgreSQL store, from
 * store.postgres_module or beside the binary, and says what is wrong with
 * one it cannot use. */
static void test_store_pg_sql__module_loader(void)
{
    const char *nowhere = "postgresql://orchard:Sekrit-pw1@/orchard?host=/nonexistent-orchard-dir";
    g_autofree char *missing = query_stderr("/nonexistent/orchard_store_postgres.so", nowhere);
    g_autofree char *foreign = query_stderr(FAKE_PLUGIN, nowhere);
    g_autofree char *found = query_stderr(NULL, nowhere);

    CU_ASSERT_PTR_NOT_NULL(strstr(missing, "/nonexistent/orchard_store_postgres.so is missing"));
    CU_ASSERT_PTR_NOT_NULL(strstr(foreign, "no orchard_store_module symbol"));
    /* Found beside the binary: it ran, and failed to connect (a build
     * without libpq has no module to find). */
    if (g_file_test(BUILD_DIR "/modules/orchard_store_postgres.so", G_FILE_TEST_EXISTS))
        CU_ASSERT_PTR_NOT_NULL(strstr(found, "cannot connect to PostgreSQL"));
    CU_ASSERT_PTR_NULL(strstr(found, "Sekrit"));
    CU_ASSERT_PTR_NULL(strstr(missing, "Sekrit"));
}

void store_pg_sql_suite(void)
{
    ORCHARD_ADD_SUITE("store_pg_sql", NULL, NULL,
        {"test_store_pg_sql__placeholders", test_store_pg_sql__placeholders},
        {"test_store_pg_sql__quotes", test_store_pg_sql__quotes},
        {"test_store_pg_sql__comments", test_store_pg_sql__comments},
        {"test_store_pg_sql__dollar_quotes", test_store_pg_sql__dollar_quotes},
        {"test_store_pg_sql__unterminated", test_store_pg_sql__unterminated},
        {"test_store_pg_sql__high_bytes", test_store_pg_sql__high_bytes},
        {"test_store_pg_sql__long_and_many", test_store_pg_sql__long_and_many},
        {"test_store_pg_sql__split", test_store_pg_sql__split},
        {"test_store_pg_sql__reads_only", test_store_pg_sql__reads_only},
        {"test_store_pg_sql__session_control", test_store_pg_sql__session_control},
        {"test_store_pg_sql__redact", test_store_pg_sql__redact},
        {"test_store_pg_sql__binaries_without_libpq", test_store_pg_sql__binaries_without_libpq},
        {"test_store_pg_sql__module_loader", test_store_pg_sql__module_loader});
}

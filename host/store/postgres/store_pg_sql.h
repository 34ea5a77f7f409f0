/* SQL text as PostgreSQL's lexer reads it, for the PostgreSQL store backend:
 * `?` placeholders become $1..$n, and a migration script becomes its
 * statements. Pure functions on text (no libpq), so tests and a fuzz target
 * use them without a server; the backend calls them at prepare and exec. */
#ifndef ORCHARD_STORE_PG_SQL_H
#define ORCHARD_STORE_PG_SQL_H

#include <glib.h>

/** PostgreSQL's protocol counts a statement's parameters in 16 bits. */
#define ORCHARD_PG_SQL_MAX_PARAMS 65535

/**
 * Rewrite each `?` of `sql` outside string constants ('...', E'...',
 * U&'...'), quoted identifiers ("..."), comments (-- and nested C-style)
 * and dollar-quoted strings ($$...$$, $tag$...$tag$) to $1, $2, ... in
 * order. *out (g_free) is the new text and *n_params how many there were.
 * Returns 0, ORCHARD_EINVAL (an unterminated quote, identifier, comment or
 * dollar quote: the server would refuse it too; SQLite's numbered ?NNN,
 * which one rule for both backends leaves out) or ORCHARD_ETOOBIG (more
 * than ORCHARD_PG_SQL_MAX_PARAMS), with *error_msg (g_free) saying where;
 * *out is NULL and *n_params 0 on failure.
 */
int orchard_pg_sql_rewrite(const char *sql, char **out, int *n_params, char **error_msg);

/**
 * Split `script` at each `;` outside the constructs above into its
 * statements: *out (g_ptr_array_unref; g_free elements) holds each
 * statement's text without its `;` and leading white space, and none that
 * is only white space and comments. Returns 0, or ORCHARD_EINVAL (an
 * unterminated construct) with *error_msg (g_free); *out is NULL then.
 */
int orchard_pg_sql_split(const char *script, GPtrArray **out, char **error_msg);

/**
 * 1 when `sql`'s first word says it only reads (SELECT, WITH, VALUES,
 * TABLE, SHOW, EXPLAIN, or a parenthesised query), else 0. A first look
 * for a clear refusal at prepare; the server's read-only transaction
 * catches the rest (a data-modifying WITH, a writing function).
 */
int orchard_pg_sql_reads_only(const char *sql);

/**
 * 1 when `sql`'s first word (past comments as PostgreSQL nests them) would
 * take over what belongs to the store: the transaction (BEGIN, START,
 * COMMIT, END, ABORT, ROLLBACK, SAVEPOINT, RELEASE, PREPARE TRANSACTION) or
 * the session's prepared statements (PREPARE, DEALLOCATE, DISCARD). A
 * superset of the host's orchard_store_sql_is_tx_control(), which reads
 * C-style comments without nesting: a COMMIT behind a nested comment would
 * pass that one, not this.
 */
int orchard_pg_sql_is_session_control(const char *sql);

#endif

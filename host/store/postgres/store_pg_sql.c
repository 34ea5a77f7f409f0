/* PostgreSQL's lexical rules, as far as `?` rewriting and script splitting
 * need them (store_pg_sql.h): what is inside a string constant, a quoted
 * identifier, a comment or a dollar-quoted body is text, never a
 * placeholder or a statement's end. Assumes standard_conforming_strings=on,
 * which the backend makes sure of on every connection. */
#include "host/store/postgres/store_pg_sql.h"

#include <orchard/plugin.h>
#include <string.h>

/* Characters that continue an identifier: then E' or $ starts no token. */
static int ident_char(unsigned char c)
{
    return g_ascii_isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static int tag_start(unsigned char c) { return g_ascii_isalpha(c) || c == '_' || c >= 0x80; }
static int tag_char(unsigned char c) { return g_ascii_isalnum(c) || c == '_' || c >= 0x80; }

/* Past a quoted run opened at s[i] by `q` (' or "), a doubled q standing for
 * itself; `backslash`: \ escapes the next byte (E'' strings). 0: no end. */
static size_t quoted_end(const char *s, size_t i, char q, int backslash)
{
    for (i++; s[i]; i++) {
        if (backslash && s[i] == '\\') {
            if (!s[++i])
                return 0;
        } else if (s[i] == q) {
            if (s[i + 1] != q)
                return i + 1;
            i++;
        }
    }
    return 0;
}

/* Past a C-style comment opened at s[i]; PostgreSQL nests them. 0: no end. */
static size_t comment_end(const char *s, size_t i)
{
    size_t depth = 0;

    while (s[i]) {
        if (s[i] == '/' && s[i + 1] == '*') {
            depth++;
            i += 2;
        } else if (s[i] == '*' && s[i + 1] == '/') {
            i += 2;
            if (--depth == 0)
                return i;
        } else {
            i++;
        }
    }
    return 0;
}

/* The length of a dollar-quote delimiter ($$ or $tag$) at s[i], else 0. */
static size_t dollar_delim(const char *s, size_t i)
{
    size_t n = 1;

    if (s[i] != '$')
        return 0;
    if (tag_start((unsigned char)s[i + n]))
        while (tag_char((unsigned char)s[i + n]))
            n++;
    return s[i + n] == '$' ? n + 1 : 0;
}

typedef enum { LEX_NONE, LEX_TEXT, LEX_COMMENT, LEX_UNTERMINATED } lex_kind;

/* What starts at s[i]: a construct whose inside is text (*end past it), a
 * comment (*end past it), nothing special, or an unterminated construct
 * (*what names it). `prev` is the byte before s[i], 0 at the start. */
static lex_kind lex_at(const char *s, size_t i, unsigned char prev, size_t *end,
                       const char **what)
{
    unsigned char c = (unsigned char)s[i];
    int fresh = !ident_char(prev); /* a token may start here */
    size_t d;

    *end = 0;
    if (c == '\'') {
        *what = "quoted string";
        *end = quoted_end(s, i, '\'', 0);
    } else if (c == '"') {
        *what = "quoted identifier";
        *end = quoted_end(s, i, '"', 0);
    } else if ((c == 'e' || c == 'E') && fresh && s[i + 1] == '\'') {
        *what = "E'' string";
        *end = quoted_end(s, i + 1, '\'', 1);
    } else if ((c == 'u' || c == 'U') && fresh && s[i + 1] == '&' &&
               (s[i + 2] == '\'' || s[i + 2] == '"')) {
        *what = s[i + 2] == '"' ? "quoted identifier" : "quoted string";
        *end = quoted_end(s, i + 2, s[i + 2], 0);
    } else if (c == '-' && s[i + 1] == '-') {
        const char *nl = strchr(s + i, '\n');
        *end = nl ? (size_t)(nl - s) + 1 : i + strlen(s + i);
        return LEX_COMMENT;
    } else if (c == '/' && s[i + 1] == '*') {
        *what = "comment";
        if (!(*end = comment_end(s, i)))
            return LEX_UNTERMINATED;
        return LEX_COMMENT;
    } else if (c == '$' && fresh && (d = dollar_delim(s, i)) > 0) {
        /* $1 is a parameter, a$b$ an identifier; $tag$ opens a body that
         * the same delimiter closes. */
        *what = "dollar-quoted string";
        const char *close = strchr(s + i + d, '$');
        while (close && strncmp(close, s + i, d) != 0)
            close = strchr(close + 1, '$');
        *end = close ? (size_t)(close - s) + d : 0;
    } else {
        return LEX_NONE;
    }
    return *end ? LEX_TEXT : LEX_UNTERMINATED;
}

static int unterminated(const char *what, size_t at, char **error_msg)
{
    *error_msg = g_strdup_printf("unterminated %s starting at byte %zu", what, at);
    return ORCHARD_EINVAL;
}

int orchard_pg_sql_rewrite(const char *sql, char **out, int *n_params, char **error_msg)
{
    GString *o = g_string_sized_new(strlen(sql) + 16);
    unsigned char prev = 0;
    size_t i = 0, end;
    const char *what = NULL;
    int n = 0;

    *out = NULL;
    *n_params = 0;
    while (sql[i]) {
        switch (lex_at(sql, i, prev, &end, &what)) {
        case LEX_UNTERMINATED:
            g_string_free(o, TRUE);
            return unterminated(what, i, error_msg);
        case LEX_TEXT:
        case LEX_COMMENT:
            g_string_append_len(o, sql + i, (gssize)(end - i));
            prev = ' '; /* a construct ends a token: E' or $ may start the next */
            i = end;
            continue;
        case LEX_NONE:
            break;
        }
        if (sql[i] == '?') {
            if (n == ORCHARD_PG_SQL_MAX_PARAMS) {
                g_string_free(o, TRUE);
                *error_msg = g_strdup_printf("more than %d placeholders in one statement",
                                             ORCHARD_PG_SQL_MAX_PARAMS);
                return ORCHARD_ETOOBIG;
            }
            if (g_ascii_isdigit(sql[i + 1])) {
                /* SQLite's ?NNN numbers its own order; one rule for both
                 * backends is simpler than translating it. */
                g_string_free(o, TRUE);
                *error_msg = g_strdup_printf("numbered placeholder at byte %zu: write ? "
                                             "and bind in order", i);
                return ORCHARD_EINVAL;
            }
            g_string_append_printf(o, "$%d", ++n);
        } else {
            g_string_append_c(o, sql[i]);
        }
        prev = (unsigned char)sql[i++];
    }
    *out = g_string_free(o, FALSE);
    *n_params = n;
    return 0;
}

/* Keep s[from, to) when it holds more than white space and comments. */
static void add_statement(GPtrArray *list, const char *s, size_t from, size_t to, int content)
{
    while (from < to && g_ascii_isspace(s[from]))
        from++;
    while (to > from && g_ascii_isspace(s[to - 1]))
        to--;
    if (content && to > from)
        g_ptr_array_add(list, g_strndup(s + from, to - from));
}

int orchard_pg_sql_split(const char *script, GPtrArray **out, char **error_msg)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
    unsigned char prev = 0;
    size_t i = 0, start = 0, end;
    const char *what = NULL;
    int content = 0; /* the current statement has more than comments */

    *out = NULL;
    while (script[i]) {
        switch (lex_at(script, i, prev, &end, &what)) {
        case LEX_UNTERMINATED:
            g_ptr_array_unref(list);
            return unterminated(what, i, error_msg);
        case LEX_TEXT:
            content = 1;
            /* fall through */
        case LEX_COMMENT:
            prev = ' ';
            i = end;
            continue;
        case LEX_NONE:
            break;
        }
        if (script[i] == ';') {
            add_statement(list, script, start, i, content);
            start = i + 1;
            content = 0;
        } else if (!g_ascii_isspace(script[i])) {
            content = 1;
        }
        prev = (unsigned char)script[i++];
    }
    add_statement(list, script, start, i, content);
    *out = list;
    return 0;
}

/* The first word of `sql` past white space and comments as PostgreSQL
 * reads them (nested); *len 0 when none. "(" counts as a word. */
static const char *first_word(const char *sql, size_t *len)
{
    unsigned char prev = 0;
    size_t i = 0, end, n = 0;
    const char *what;

    for (;;) {
        while (g_ascii_isspace(sql[i]))
            i++;
        if (lex_at(sql, i, prev, &end, &what) != LEX_COMMENT)
            break;
        i = end;
        prev = ' ';
    }
    if (sql[i] == '(')
        n = 1;
    else
        while (g_ascii_isalpha(sql[i + n]))
            n++;
    *len = n;
    return sql + i;
}

static int word_in(const char *sql, const char *const *words, size_t n_words)
{
    size_t n;
    const char *w = first_word(sql, &n);

    for (size_t i = 0; i < n_words; i++)
        if (strlen(words[i]) == n && g_ascii_strncasecmp(w, words[i], n) == 0)
            return 1;
    return 0;
}

int orchard_pg_sql_reads_only(const char *sql)
{
    static const char *const words[] = {"(", "SELECT", "WITH", "VALUES", "TABLE", "SHOW",
                                        "EXPLAIN"};
    return word_in(sql, words, G_N_ELEMENTS(words));
}

int orchard_pg_sql_is_session_control(const char *sql)
{
    static const char *const words[] = {"BEGIN", "START", "COMMIT", "END", "ABORT",
                                        "ROLLBACK", "SAVEPOINT", "RELEASE", "PREPARE",
                                        "DISCARD", "DEALLOCATE"};
    return word_in(sql, words, G_N_ELEMENTS(words));
}

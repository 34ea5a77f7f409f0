/* SQL text checks shared by the store and its backends: a plugin's statement
 * must not take over transaction control, which belongs to the store (its
 * writer path and snapshots depend on it), and prepare takes one statement. */
#include "host/store/store_backend.h"

#include <glib.h>
#include <string.h>

const char *orchard_store_sql_skip_space(const char *sql)
{
    const char *p = sql;
    for (;;) {
        while (g_ascii_isspace(*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            /* An unterminated comment runs to the end, as in SQLite. */
            p = end ? end + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

int orchard_store_sql_is_tx_control(const char *sql)
{
    static const char *const words[] = {"BEGIN", "COMMIT", "END", "ROLLBACK",
                                        "SAVEPOINT", "RELEASE"};
    const char *p = orchard_store_sql_skip_space(sql);
    size_t n = 0;

    while (g_ascii_isalpha(p[n]))
        n++;
    for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
        if (strlen(words[i]) == n && g_ascii_strncasecmp(p, words[i], n) == 0)
            return 1;
    return 0;
}

/* The closest known name to a mistyped one (see suggest.h): optimal string
 * alignment distance, because the typos people make in keys and commands are
 * mostly one dropped, doubled or swapped letter. */
#include "host/suggest.h"

#include <glib.h>
#include <string.h>

/* Names longer than this are not anyone's typo of a command or key; the cap
 * also bounds the table below. */
#define MAX_LEN 128

size_t orchard_edit_distance(const char *a, const char *b, size_t cap)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX_LEN || m > MAX_LEN)
        return cap + 1;
    if ((n > m ? n - m : m - n) > cap)
        return cap + 1;
    /* Three rows of the dynamic-programming table: the one before the
     * previous is needed for swaps. */
    size_t rows[3][MAX_LEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t best = cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t d = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d = MIN(d, prev2[j - 2] + 1);
            cur[j] = d;
            best = MIN(best, d);
        }
        if (best > cap)
            return cap + 1;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return MIN(prev[m], cap + 1);
}

const char *orchard_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t len = strlen(word);
    size_t cap = len < 5 ? 1 : MIN(len / 3, 4);
    const char *best = NULL;
    size_t best_d = cap + 1;

    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = orchard_edit_distance(word, candidates[i], cap);
        if (d < best_d && d > 0) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

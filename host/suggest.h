/* "Did you mean ...?": the closest of a set of known names to a word a user
 * typed. Used for unknown commands and subcommands (main, help) and unknown
 * configuration keys (settings). */
#ifndef ORCHARD_SUGGEST_H
#define ORCHARD_SUGGEST_H

#include <stddef.h>

/**
 * Edit distance between a and b, counting an insertion, a deletion, a
 * substitution and a swap of two neighbours as one step each ("tll" -> "ttl"
 * is 1). Stops counting past `cap` and returns cap + 1 then.
 */
size_t orchard_edit_distance(const char *a, const char *b, size_t cap);

/**
 * The candidate closest to `word`, or NULL when none is close enough to be a
 * likely typo (at most 1 step for words under 5 characters, else up to a
 * third of the word's length, at most 4). Ties go to the first candidate.
 * Borrowed from `candidates`.
 */
const char *orchard_suggest(const char *word, const char *const *candidates, size_t n);

#endif

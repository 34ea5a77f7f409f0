/* Settings fingerprints (ABI 1.4 instance_settings): a JSON object of
 * key -> digest that a plugin publishes per gate, parsed here with every
 * hostile shape refused (a row another instance wrote is as untrusted as a
 * plugin's text), and compared across the live instances of one store. */
#ifndef ORCHARD_HOST_FINGERPRINT_H
#define ORCHARD_HOST_FINGERPRINT_H

#include <orchard/plugin.h>

#include <glib.h>

/* Limits: far above a real fingerprint (MDM's has ~20 keys of 64 hex digits). */
#define ORCHARD_FINGERPRINT_MAX_BYTES ((size_t)64 * 1024)
#define ORCHARD_FINGERPRINT_MAX_KEYS 256u
#define ORCHARD_FINGERPRINT_KEY_MAX 128u
#define ORCHARD_FINGERPRINT_VALUE_MAX 512u

/**
 * Parse `json`: one object whose keys are 1..128 of [A-Za-z0-9_.-] and whose
 * values are strings of at most 512 bytes, at most 256 keys, no duplicate
 * key, 64 KiB in all. Returns 0 with *out (a GHashTable of key -> value,
 * g_hash_table_unref) and, when `canonical` is not NULL, *canonical (g_free:
 * compact, keys sorted); or ORCHARD_EINVAL with *out NULL and *why a static
 * reason.
 */
int orchard_fingerprint_parse(const char *json, GHashTable **out, char **canonical,
                              const char **why);

/**
 * Add to `keys` (a set: key -> key, owned by the table) every key whose
 * value differs between a and b or that only one of them has. Returns how
 * many it found (0: they agree).
 */
guint orchard_fingerprint_diff(GHashTable *a, GHashTable *b, GHashTable *keys);

/**
 * The keys of the set, sorted and comma-separated, into out (size bytes);
 * when they do not fit, as many as fit followed by ",...".
 */
void orchard_fingerprint_join(GHashTable *keys, char *out, size_t size);

/** One live instance's published fingerprint, in reference order. */
typedef struct orchard_fingerprint_entry {
    const char *id;
    GHashTable *fp; /* from orchard_fingerprint_parse */
} orchard_fingerprint_entry;

/** A new entry owning a copy of id and `fp` (taken); free with orchard_fingerprint_entry_free. */
orchard_fingerprint_entry *orchard_fingerprint_entry_new(const char *id, GHashTable *fp);
void orchard_fingerprint_entry_free(gpointer entry);

/**
 * Compare `compared` with the published fingerprints `entries`
 * (orchard_fingerprint_entry*, oldest instance first: entries[0] is the
 * reference). NULL compares self_id's entry, or, when it has none, the
 * reference's (do the live instances agree among themselves?). Sets out's
 * published, agree (every entry equals the compared one), differing_keys
 * (the keys in which the compared one differs from the reference's; when
 * none, every key in which some entry differs from it), reference_id;
 * *differs_from_reference (may be NULL): the keys in which the compared one
 * differs from the reference's, "" when none, and always "" when it is
 * self_id's own and self_id is the reference, which always serves.
 * Leaves live, held and instance_id to the caller.
 */
void orchard_fingerprint_compare(const GPtrArray *entries, const char *self_id,
                                 GHashTable *compared, orchard_instances_view *out,
                                 char *differs_from_reference, size_t size);

#endif

/* `orchard apply -f FILE`: Fleet's spec files (fleetctl apply) read into
 * documents (apply_yaml.c), checked whole with the profile and macOS update
 * validators before anything is written (apply_check.c), then applied
 * through the teams / profiles / updates calls (apply_cmd.c). docs/apply.md. */
#ifndef ORCHARD_SERVER_APPLY_SPEC_H
#define ORCHARD_SERVER_APPLY_SPEC_H

#include <glib.h>
#include <stddef.h>

/** The largest spec file read (bytes). */
#define ORCHARD_APPLY_FILE_MAX ((size_t)4 * 1024 * 1024)
/** Deepest YAML nesting taken (Fleet's shapes need 6). */
#define ORCHARD_APPLY_DEPTH_MAX 16
/** Most YAML events in one file (a cap on work, whatever the bytes). */
#define ORCHARD_APPLY_EVENTS_MAX 200000
/** Most documents in one file, profiles in one document. */
#define ORCHARD_APPLY_DOCS_MAX 256
#define ORCHARD_APPLY_PROFILES_MAX 1000

typedef enum {
    ORCHARD_APPLY_CONFIG = 1, /* kind: config (the "No team" scope, team 0) */
    ORCHARD_APPLY_TEAM,       /* kind: team */
} orchard_apply_kind;

/** One document of a spec file. */
typedef struct orchard_apply_doc {
    orchard_apply_kind kind;
    char *file;           /* the spec file it came from (for messages) */
    int line;             /* where the document starts (1-based) */
    char *team_name;      /* kind team: spec.team.name */
    int has_updates;      /* mdm.macos_updates was given */
    int updates_line;
    char *minimum_version, *deadline; /* NULL or "" when off */
    int has_profiles;     /* mdm.macos_settings.custom_settings was given (maybe []) */
    GPtrArray *paths;     /* char *: profile paths, resolved against the file's folder */
    GArray *path_lines;   /* int: the line of each path */
    /* Filled by orchard_apply_check: */
    GPtrArray *profiles;  /* GBytes *: each file's bytes, in order */
    GPtrArray *names;     /* char *: each profile's PayloadDisplayName, for the summary */
} orchard_apply_doc;

void orchard_apply_doc_free(orchard_apply_doc *d);

/**
 * Read `yaml` (len bytes, the content of `file`) into documents appended to
 * `docs` (orchard_apply_doc *, free func set). Accepts apiVersion v1 and
 * kinds config and team in Fleet's shapes; refuses anything else with the
 * line: unknown kinds or keys, wrong types, aliases (a document of billions
 * of nodes from a few bytes), nesting deeper than ORCHARD_APPLY_DEPTH_MAX,
 * too many events, documents or profiles. Paths are resolved against
 * `base_dir`. Returns 0, or ORCHARD_EINVAL / ORCHARD_ETOOBIG with *reason
 * (g_free) "FILE:LINE: what"; nothing is appended on failure.
 */
int orchard_apply_parse(const char *file, const char *base_dir, const char *yaml, size_t len,
                        GPtrArray *docs, char **reason);

/**
 * Read a spec file (at most ORCHARD_APPLY_FILE_MAX bytes) and parse it as
 * orchard_apply_parse, paths relative to its folder. ORCHARD_ENOTFOUND /
 * ORCHARD_EIO (cannot read), ORCHARD_ETOOBIG, ORCHARD_EINVAL; *reason.
 */
int orchard_apply_parse_file(const char *path, GPtrArray *docs, char **reason);

/**
 * Check every document before anything is applied: at most one config
 * document and one document per team; each macOS update setting through
 * orchard_macos_updates_validate; each profile file read (a missing file,
 * one over ORCHARD_PROFILE_MAX_BYTES) and through orchard_profile_validate,
 * no identifier or name twice in a document. Fills each doc's profiles and
 * names. Every problem is appended to `problems` (char *, "FILE:LINE:
 * what"). Returns 0 when there were none, else ORCHARD_EINVAL.
 */
int orchard_apply_check(GPtrArray *docs, GPtrArray *problems);

#endif

/* The enroll suites' fixture (enroll_profile_test.c, enroll_test.c): a
 * temporary directory with a throwaway profile-signing pair, commands run
 * there, and the judge of an enrollment profile: every key, value and type
 * of docs/protocols.md §7, read back with libplist. */
#ifndef ORCHARD_TEST_ENROLL_FIXTURE_H
#define ORCHARD_TEST_ENROLL_FIXTURE_H

#include <glib.h>
#include <plist/plist.h>
#include <stddef.h>

#define HOSTILE_ORG "Acme & <Sons> \"Ltd\" ]]>"

/* The suite's own files: sign.crt and sign.key (the profile-signing pair,
 * made at init and never committed), other.key (matches nothing), and
 * whatever the tests add. Removed at cleanup. */
extern char *tmp_dir;

/* CUnit suite init and cleanup: make tmp_dir and the pair (0, or -1 when
 * openssl failed); remove them. */
int enroll_fixture_init(void);
int enroll_fixture_cleanup(void);

/* tmp_dir/name. g_free. */
char *tmp_path(const char *name);

/* 1 when `needle` is in `hay`; else says what was there on stderr. */
int contains(const char *hay, const char *needle);

/* Run argv (PATH searched) in tmp_dir; exit status or -1. */
int run_argv(char **out, char **err, const char *const *argv);

#define RUN(out, err, ...) run_argv(out, err, (const char *const[]){__VA_ARGS__, NULL})

/* The plist in `xml`, NULL when it doesn't parse. plist_free. */
plist_t parse_xml(const char *xml, size_t len);

/* What a profile must hold; uuids[] gets outer, SCEP, MDM (borrowed from root). */
typedef struct {
    const char *base, *org, *topic, *challenge;
    const char *uuids[3];
} expected;

/* The string at `key`, borrowed from the tree; "" when not a string. */
const char *str_at(plist_t d, const char *key);

/* Every key, value and type of §5; nothing more (CUnit assertions; `e`
 * gets the UUIDs). */
void check_profile(plist_t root, expected *e);

/* openssl cms -verify on `der` (trusting the signing cert); the content. g_free. */
char *cms_verify(const unsigned char *der, size_t len, gsize *content_len);

#endif

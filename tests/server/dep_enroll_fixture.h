/* The dep_enroll suite's fixture (dep_enroll_test.c): the DEP enrollment
 * route and the check-in driven through a fake host (our request, response
 * and log; the real store), a device identity for machine info, and the
 * store material the tests seed and read. */
#ifndef ORCHARD_TEST_DEP_ENROLL_FIXTURE_H
#define ORCHARD_TEST_DEP_ENROLL_FIXTURE_H

#include "tests/server/machine_info_fixture.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <stdio.h>

/** A request as the fake host hands it to a route. */
typedef struct {
    const char *method, *path;
    const unsigned char *body;
    size_t len;
} defx_req;

/** A route's answer as the fake host records it (defx_resp_clear). */
typedef struct {
    int status;
    char *content_type;
    GByteArray *body;
    GPtrArray *headers; /* "Name: value" */
} defx_resp;

extern char *defx_store_path;  /* the suite's store */
extern int defx_store_ok;      /* it opened and migrated */
extern orchard_ctx *defx_ctx;  /* the server plugin's context */
extern mifx_identity defx_dev; /* signs the machine info */
extern GPtrArray *defx_log_lines;
extern int defx_fail_begin;    /* every store transaction fails (EBUSY) while set */

/** CUnit suite init and cleanup. */
int defx_init(void);
int defx_cleanup(void);

/** `method` path with body through `route`'s handler, as the host calls it. */
void defx_call(const orchard_route *route, const char *method, const char *path,
               const void *body, size_t len, defx_resp *r);
/** POST the machine info `mi` to the DEP enrollment URL. */
void defx_post(GBytes *mi, defx_resp *r);
void defx_resp_clear(defx_resp *r);
char *defx_body_text(const defx_resp *r);
const char *defx_header(const defx_resp *r, const char *name);
/** How many log lines hold every one of the NULL-terminated needles. */
int defx_logged(const char *needle, ...) G_GNUC_NULL_TERMINATED;

/** A dep_devices row for `serial` (deleted: taken back by Apple). */
void defx_seed_device(const char *serial, int deleted);
/** enroll_served_at of `serial`: -1 when NULL, -2 when there is no row. */
gint64 defx_served_at(const char *serial);
/** Serve with the fixtures' good configuration plus kv. */
void defx_serve_with(const char *const *kv);
/** (Re)open the process's store on `path`; 0 on success. */
int defx_reopen_store(const char *path);

#define DEFX_NEED_STORE()                                                                     \
    do {                                                                                      \
        if (!defx_store_ok)                                                                   \
            fprintf(stderr, "\n  the host store could not be opened\n");                      \
        CU_ASSERT_FATAL(defx_store_ok);                                                       \
    } while (0)

#endif

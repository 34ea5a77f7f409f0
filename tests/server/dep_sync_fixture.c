/* The dep_sync suite's fixture (dep_sync_fixture.h). */
#include "tests/server/dep_sync_fixture.h"

#include "tests/server/dep_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/reconcile_fixture.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

char *dsfx_profile_path; /* NULL: the default profile */

void dsfx_fresh(void)
{
    rfx_open();
    dfx_say("reset", "{}");
    g_clear_pointer(&dsfx_profile_path, g_free);
}

void dsfx_done(void)
{
    rfx_close();
}


static void on_progress(const orchard_dep_progress *p, void *payload)
{
    seen_progress *s = payload;
    if (p->fetched < s->last_fetched)
        s->monotonic = 0;
    s->last_fetched = p->fetched;
    s->calls++;
}

/* One run at `now` with client c; *run filled (orchard_dep_run_clear). */
int dsfx_sync_at(orchard_dep_client *c, gint64 now, orchard_dep_run *run, gint64 *wait,
                   seen_progress *sp)
{
    orchard_dep_sync_opts o = {.client = c, .server_url = SERVER_URL, .org_name = "Example",
                               .profile_path = dsfx_profile_path, .now = now, .page_limit = PAGE,
                               .progress = sp ? on_progress : NULL, .payload = sp};
    return orchard_dep_sync_run(dfx.ctx, &o, run, wait);
}

/* A run that must succeed. */
void dsfx_sync_ok(orchard_dep_client *c, gint64 now, orchard_dep_run *run)
{
    int rc = dsfx_sync_at(c, now, run, NULL, NULL);
    if (rc)
        fprintf(stderr, "\n  run: %s: %s\n", run->error_code, run->error);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NULL(run->error_code);
}

gint64 dsfx_live(void)
{
    return rfx_int("SELECT count(*) FROM dep_devices WHERE deleted = 0", NULL);
}

char *dsfx_state(const char *key)
{
    return rfx_text("SELECT value FROM server_state WHERE key = ?", key, NULL);
}

char *dsfx_field(const char *serial, const char *col)
{
    g_autofree char *sql = g_strdup_printf("SELECT %s FROM dep_devices WHERE serial_number = ?",
                                           col);
    return rfx_text(sql, serial, NULL);
}

/* The serials a control answered with ({"added": [...]}): g_strfreev. */
char **dsfx_serials_of(json_t *answer, const char *key)
{
    json_t *a = json_object_get(answer, key);
    char **out = g_new0(char *, json_array_size(a) + 1);
    for (size_t i = 0; i < json_array_size(a); i++)
        out[i] = g_strdup(json_string_value(json_array_get(a, i)));
    json_decref(answer);
    return out;
}

/* The first stored serial, in order (g_free). */
char *dsfx_first_serial(void)
{
    return rfx_text("SELECT serial_number FROM dep_devices ORDER BY serial_number", NULL);
}

/* A record as a page would carry it. */
orchard_dep_record dsfx_rec(const char *serial, const char *op, gint64 when, const char *model)
{
    static char dates[16][32];
    static int next;
    char *d = dates[next++ % 16];
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(when);
    g_autofree char *iso = g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
    g_strlcpy(d, iso, 32);
    return (orchard_dep_record){.serial_number = serial, .op_type = op, .op_date = d,
                                .op_date_unix = when, .model = model,
                                .profile_status = "empty"};
}

int dsfx_apply(const orchard_dep_record *r, size_t n, orchard_dep_run *run, gint64 *skipped)
{
    orchard_dep_page p = {.records = r, .n = n, .cursor = "c1", .phase = "sync",
                          .cursor_at = T0, .now = T0};
    return orchard_store_dep_page_apply(&p, 0, run, skipped);
}


void dsfx_write_profile(const char *text)
{
    if (!dsfx_profile_path)
        dsfx_profile_path = mdmfx_path("dep_profile.json");
    CU_ASSERT_FATAL(g_file_set_contents(dsfx_profile_path, text, -1, NULL));
}

/* Build from a file; the code, and the message checked for `want`. */
int dsfx_build(const char *text, const char *want)
{
    if (text)
        dsfx_write_profile(text);
    json_t *p = NULL;
    char *sha = NULL, *err = NULL;
    int rc = orchard_dep_profile_build(dsfx_profile_path, SERVER_URL, "Example", &p, &sha, NULL, &err);
    if (rc) {
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_PTR_NULL(sha);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, dsfx_profile_path));
        if (want && !strstr(err, want))
            fprintf(stderr, "\n  message: %s (want %s)\n", err, want);
        CU_ASSERT_PTR_NOT_NULL(want ? strstr(err, want) : "");
    }
    json_decref(p);
    g_free(sha);
    g_free(err);
    return rc;
}


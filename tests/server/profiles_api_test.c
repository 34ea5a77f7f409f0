/* profiles_api: the configuration profiles API
 * (server_plugin/profiles/profiles_api.c over profiles_batch.c and
 * store/store_profiles.c) served for real (profiles_api_fixture.h):
 * multipart uploads through libcurl's own MIME writer, every refusal as a
 * 400 (413, 404) in Fleet's error shape with nothing stored, duplicates per
 * team, signed profiles kept as uploaded, one profile and its content,
 * delete, activities and the desired-state marker. */
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/store/store_profiles.h"
#include "server_plugin/updates/updates.h"
#include "tests/server/profile_fixture.h"
#include "tests/server/profiles_api_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <string.h>

static void test_auth(void)
{
    CU_ASSERT_FATAL(paf_store_ok);
    paf_answer a;
    g_autofree char *p = pfx_profile("com.example.auth");
    paf_upload_as(&a, NULL, p, strlen(p), NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    paf_answer_clear(&a);
    paf_upload_as(&a, TOKEN_OBSERVER, p, strlen(p), NULL);
    CU_ASSERT_EQUAL(a.status, 403);
    paf_answer_clear(&a);
    paf_get(&a, PROFILES, NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    paf_answer_clear(&a);
    paf_call(&a, "DELETE", PROFILES "/1", TOKEN_OBSERVER, NULL, NULL, 0);
    CU_ASSERT_EQUAL(a.status, 403);
    paf_answer_clear(&a);
    paf_call(&a, "POST", PROFILES "/batch", TOKEN_OBSERVER, "application/json",
         "{\"profiles\": []}", 15);
    CU_ASSERT_EQUAL(a.status, 403);
    paf_answer_clear(&a);
    json_t *arr = paf_list("");
    CU_ASSERT_PTR_NULL(paf_find(arr, "com.example.auth"));
    json_decref(arr);
}

static void test_upload_and_list(void)
{
    CU_ASSERT_FATAL(paf_store_ok);
    g_autofree char *m0 = paf_marker();
    g_autofree char *p = pfx_profile("com.example.a");
    gint64 id = paf_upload_ok(p, NULL);
    g_autofree char *m1 = paf_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);

    json_t *arr = paf_list("");
    json_t *e = paf_find(arr, "com.example.a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, p, -1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "profile_id")), id);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "team_id")), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "name")), "Name of com.example.a");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "checksum")), sum);
    const char *created = json_string_value(json_object_get(e, "created_at"));
    CU_ASSERT_TRUE(created && strlen(created) == 20 && created[19] == 'Z');
    CU_ASSERT_PTR_NOT_NULL(json_object_get(e, "updated_at"));
    json_decref(arr);
    arr = paf_list("?team_id=0");
    CU_ASSERT_PTR_NOT_NULL(paf_find(arr, "com.example.a"));
    json_decref(arr);
    arr = paf_list("?team_id=1");
    CU_ASSERT_PTR_NULL(paf_find(arr, "com.example.a"));
    json_decref(arr);

    g_autofree char *type = NULL;
    json_t *details = NULL;
    paf_newest_activity(&type, &details);
    CU_ASSERT_STRING_EQUAL(type ? type : "", "created_macos_profile");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "profile_identifier")),
                           "com.example.a");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "profile_name")),
                           "Name of com.example.a");
    CU_ASSERT_TRUE(json_is_null(json_object_get(details, "team_id")));
    json_decref(details);

    /* One profile, and its content as uploaded. */
    paf_answer a;
    g_autofree char *one = g_strdup_printf(PROFILES "/%" G_GINT64_FORMAT, id);
    paf_get(&a, one, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "identifier")),
                           "com.example.a");
    paf_answer_clear(&a);
    g_autofree char *media = g_strconcat(one, "?alt=media", NULL);
    paf_get(&a, media, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.body, p);
    paf_answer_clear(&a);
    paf_get(&a, PROFILES "/999999", TOKEN_OBSERVER);
    paf_expect_error(&a, 404, "no profile with id 999999");
    paf_answer_clear(&a);
    paf_get(&a, PROFILES "/x1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 404);
    paf_answer_clear(&a);

    /* To a team, by the form's team_id; the activity names the team. */
    g_autofree char *p1 = pfx_profile("com.example.team1");
    paf_upload_ok(p1, "1");
    g_free(type);
    paf_newest_activity(&type, &details);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(details, "team_id")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "team_name")), "Design");
    json_decref(details);
    arr = paf_list("?team_id=1");
    CU_ASSERT_PTR_NOT_NULL(paf_find(arr, "com.example.team1"));
    CU_ASSERT_PTR_NULL(paf_find(arr, "com.example.a"));
    json_decref(arr);
    /* Both path prefixes serve. */
    paf_get(&a, "/api/v1/fleet/mdm/apple/profiles?team_id=1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    paf_answer_clear(&a);
}

static void test_duplicates(void)
{
    CU_ASSERT_FATAL(paf_store_ok);
    g_autofree char *p = pfx_profile_full("com.example.dup", "Dup", PFX_UUID, NULL);
    paf_upload_ok(p, NULL);
    g_autofree char *m0 = paf_marker();
    g_autofree char *same_id = pfx_profile_full("com.example.dup", "Other name", PFX_UUID, NULL);
    paf_upload_refused(same_id, NULL, 400, "this identifier (PayloadIdentifier \"com.example.dup\") "
                                       "already exists");
    g_autofree char *same_name = pfx_profile_full("com.example.dup2", "Dup", PFX_UUID, NULL);
    paf_upload_refused(same_name, "0", 400, "this name (PayloadDisplayName \"Dup\") already exists");
    g_autofree char *m1 = paf_marker();
    CU_ASSERT_STRING_EQUAL(m0, m1);
    /* The same profile in another team is that team's. */
    paf_upload_ok(p, "2");
    json_t *arr = paf_list("");
    CU_ASSERT_PTR_NOT_NULL(paf_find(arr, "com.example.dup"));
    CU_ASSERT_PTR_NULL(paf_find(arr, "com.example.dup2"));
    json_decref(arr);
    arr = paf_list("?team_id=2");
    CU_ASSERT_PTR_NOT_NULL(paf_find(arr, "com.example.dup"));
    json_decref(arr);
}

/* padded to `total` bytes with an XML comment */
static char *padded(const char *id, size_t total)
{
    g_autofree char *xml = pfx_profile(id);
    size_t base = strlen(xml) + strlen("<!---->");
    g_autofree char *fill = g_strnfill(total - base, 'c');
    return g_strconcat(xml, "<!--", fill, "-->", NULL);
}

static void test_upload_refusals(void)
{
    CU_ASSERT_FATAL(paf_store_ok);
    g_autofree char *m0 = paf_marker();
    paf_answer a;
    paf_upload_refused("not a plist at all", NULL, 400, "Couldn't upload. The file should include "
                                                    "valid XML");
    paf_upload_refused("", NULL, 400, "The file is empty");
    g_autofree char *wrong_type = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "com.apple.dock")
        PFX_STR("PayloadIdentifier", "com.example.r1") PFX_STR("PayloadDisplayName", "R1")
        PFX_STR("PayloadUUID", PFX_UUID) "</dict>" PFX_TAIL, NULL);
    paf_upload_refused(wrong_type, NULL, 400, "PayloadType must be \"Configuration\"");
    g_autofree char *no_id = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "Configuration")
        PFX_STR("PayloadDisplayName", "R2") PFX_STR("PayloadUUID", PFX_UUID) "</dict>" PFX_TAIL,
        NULL);
    paf_upload_refused(no_id, NULL, 400, "no PayloadIdentifier");
    g_autofree char *no_name = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "Configuration")
        PFX_STR("PayloadIdentifier", "com.example.r3") PFX_STR("PayloadUUID", PFX_UUID)
        "</dict>" PFX_TAIL, NULL);
    paf_upload_refused(no_name, NULL, 400, "no PayloadDisplayName");
    g_autofree char *no_uuid = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "Configuration")
        PFX_STR("PayloadIdentifier", "com.example.r4") PFX_STR("PayloadDisplayName", "R4")
        "</dict>" PFX_TAIL, NULL);
    paf_upload_refused(no_uuid, NULL, 400, "no PayloadUUID");
    g_autofree char *scep = pfx_profile_xml(PFX_TOP("com.example.r5"),
                                            PFX_PAYLOAD("com.apple.security.scep", ""));
    paf_upload_refused(scep, NULL, 400, "com.apple.security.scep payload");
    g_autofree char *mdm = pfx_profile_xml(PFX_TOP("com.example.r6"),
                                           PFX_PAYLOAD("com.apple.mdm", ""));
    paf_upload_refused(mdm, NULL, 400, "com.apple.mdm payload");
    g_autofree char *nudge = pfx_profile_xml(PFX_TOP("com.example.r7"),
                                             PFX_PAYLOAD("com.github.macadmins.Nudge", ""));
    paf_upload_refused(nudge, NULL, 400, "com.github.macadmins.Nudge payload");
    g_autofree char *reserved = pfx_profile(ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    paf_upload_refused(reserved, NULL, 400, "reserved");
    /* Over 1 MiB: a 400 while the request is under the upload route's body
     * cap; past the cap the host answers 413 before reading the body (the
     * batch has a route, and a larger cap, of its own). */
    g_autofree char *big = padded("com.example.big", ORCHARD_PROFILE_MAX_BYTES + 1);
    paf_upload_refused(big, NULL, 400, "at most 1 MiB");
    g_autofree char *huge = padded("com.example.huge", 2 * ORCHARD_PROFILE_MAX_BYTES);
    paf_answer over;
    paf_upload(&over, huge, NULL);
    CU_ASSERT_EQUAL(over.status, 413);
    paf_answer_clear(&over);
    /* Teams. */
    g_autofree char *good = pfx_profile("com.example.r8");
    paf_upload_refused(good, "abc", 400, "team_id must be a team's numeric id");
    paf_upload_refused(good, "-1", 400, "team_id must be a team's numeric id");
    paf_upload_refused(good, "99999999999999999999", 400, "team_id must be");
    paf_upload_refused(good, "99", 404, "no team with id 99");
    /* The request itself. */
    paf_call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "application/json", "{}", 2);
    paf_expect_error(&a, 400, "multipart/form-data");
    paf_answer_clear(&a);
    const char *no_file = "--b\r\nContent-Disposition: form-data; name=team_id\r\n\r\n0\r\n--b--";
    paf_call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data; boundary=b", no_file,
         strlen(no_file));
    paf_expect_error(&a, 400, "no \"profile\" field");
    paf_answer_clear(&a);
    const char *cut = "--b\r\nContent-Disposition: form-data; name=profile\r\n\r\n<plist";
    paf_call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data; boundary=b", cut,
         strlen(cut));
    paf_expect_error(&a, 400, "truncated");
    paf_answer_clear(&a);
    const char *twice = "--b\r\nContent-Disposition: form-data; name=profile\r\n\r\nx\r\n"
                        "--b\r\nContent-Disposition: form-data; name=profile\r\n\r\ny\r\n--b--";
    paf_call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data; boundary=b", twice,
         strlen(twice));
    paf_expect_error(&a, 400, "sent twice");
    paf_answer_clear(&a);
    paf_call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data", "x", 1);
    paf_expect_error(&a, 400, "no boundary");
    paf_answer_clear(&a);
    paf_call(&a, "POST", PROFILES "/nope", TOKEN_MAINTAINER, "application/json", "{}", 2);
    CU_ASSERT_EQUAL(a.status, 404);
    paf_answer_clear(&a);
    /* Nothing was stored, and the desired state never moved. */
    g_autofree char *m1 = paf_marker();
    CU_ASSERT_STRING_EQUAL(m0, m1);
    json_t *arr = paf_list("");
    CU_ASSERT_PTR_NULL(paf_find(arr, "com.example.r8"));
    CU_ASSERT_PTR_NULL(paf_find(arr, "com.example.big"));
    json_decref(arr);
}

static void test_signed(void)
{
    CU_ASSERT_FATAL(paf_store_ok);
    g_autofree char *xml = pfx_profile("com.example.signed");
    GBytes *der = pfx_sign(xml, strlen(xml), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);
    gsize len = 0;
    const unsigned char *d = g_bytes_get_data(der, &len);
    paf_answer a;
    paf_upload_as(&a, TOKEN_MAINTAINER, d, len, "0");
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    gint64 id = json_integer_value(json_object_get(a.json, "profile_id"));
    paf_answer_clear(&a);
    /* Kept and served as uploaded: the signature reaches the Mac. */
    g_autoptr(orchard_profile) p = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_profile_get(id, &p), 0);
    gsize got = 0;
    const void *content = g_bytes_get_data(p->content, &got);
    CU_ASSERT_EQUAL(got, len);
    CU_ASSERT_EQUAL(memcmp(content, d, len), 0);
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, d, len);
    CU_ASSERT_STRING_EQUAL(p->checksum, sum);
    CU_ASSERT_STRING_EQUAL(p->name, "Name of com.example.signed");
    g_bytes_unref(der);
}

static void test_delete(void)
{
    CU_ASSERT_FATAL(paf_store_ok);
    g_autofree char *p = pfx_profile("com.example.del");
    gint64 id = paf_upload_ok(p, "1");
    g_autofree char *m0 = paf_marker();
    paf_answer a;
    g_autofree char *path = g_strdup_printf(PROFILES "/%" G_GINT64_FORMAT, id);
    paf_call(&a, "DELETE", path, TOKEN_MAINTAINER, NULL, NULL, 0);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_TRUE(json_is_object(a.json) && json_object_size(a.json) == 0);
    paf_answer_clear(&a);
    g_autofree char *m1 = paf_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);
    json_t *arr = paf_list("?team_id=1");
    CU_ASSERT_PTR_NULL(paf_find(arr, "com.example.del"));
    json_decref(arr);
    g_autofree char *type = NULL;
    json_t *details = NULL;
    paf_newest_activity(&type, &details);
    CU_ASSERT_STRING_EQUAL(type ? type : "", "deleted_macos_profile");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "profile_identifier")),
                           "com.example.del");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "team_name")), "Design");
    json_decref(details);
    /* Again, and paths that name no profile. */
    paf_call(&a, "DELETE", path, TOKEN_MAINTAINER, NULL, NULL, 0);
    paf_expect_error(&a, 404, "no profile with id");
    paf_answer_clear(&a);
    static const char *const bad[] = {PROFILES, PROFILES "/", PROFILES "/abc", PROFILES "/-3",
                                      PROFILES "/0", PROFILES "/1/2"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        paf_call(&a, "DELETE", bad[i], TOKEN_MAINTAINER, NULL, NULL, 0);
        CU_ASSERT_EQUAL(a.status, 404);
        paf_answer_clear(&a);
    }
    /* orchard's own Nudge profile is not the API's to delete, nor to show. */
    CU_ASSERT_EQUAL_FATAL(
        paf_sql("INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, content, "
            "checksum, applies_below, created_at, updated_at) VALUES (1, 'nudge', ?, 'Nudge', "
            "'U', ?, 'c', '14.4', 0, 0)",
            SQL_PARAMS(SQL_TEXT(ORCHARD_NUDGE_PROFILE_IDENTIFIER), SQL_BLOB("x", 1))), 0);
    arr = paf_list("?team_id=1");
    CU_ASSERT_PTR_NULL(paf_find(arr, ORCHARD_NUDGE_PROFILE_IDENTIFIER));
    json_decref(arr);
    gint64 nudge_id = 0;
    CU_ASSERT_EQUAL_FATAL(orchard_sstore_read_one("t", "SELECT id FROM mdm_profiles WHERE "
                                                  "kind = 'nudge'", NULL, 0, paf_int_row,
                                                  &nudge_id), 0);
    g_autofree char *npath = g_strdup_printf(PROFILES "/%" G_GINT64_FORMAT, nudge_id);
    paf_call(&a, "DELETE", npath, TOKEN_MAINTAINER, NULL, NULL, 0);
    paf_expect_error(&a, 400, "orchard's own Nudge profile");
    paf_answer_clear(&a);
    paf_get(&a, npath, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 404);
    paf_answer_clear(&a);
    CU_ASSERT_EQUAL(paf_sql("DELETE FROM mdm_profiles WHERE id = ?", SQL_PARAMS(SQL_INT(nudge_id))),
                    0);
}

void profiles_api_suite(void)
{
    ORCHARD_ADD_SUITE("profiles_api", paf_init, paf_cleanup,
                      {"401 without a token, 403 for an observer's writes", test_auth},
                      {"upload, list, one profile, its content, activities, the marker",
                       test_upload_and_list},
                      {"duplicates refused in a team, accepted in another", test_duplicates},
                      {"every refusal of the upload: 400, 404, 413, nothing stored",
                       test_upload_refusals},
                      {"a CMS-signed profile kept and served as uploaded", test_signed},
                      {"delete: 200, 404, orchard's own Nudge profile 400", test_delete});
}

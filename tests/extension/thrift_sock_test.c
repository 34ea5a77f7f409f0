/* The socket transport and protocol under osquery's wire: EOF is an error
 * (Thrift's own spun forever), and a claimed string length is checked before
 * anything is allocated (2026-11-27: Thrift's reader callocs up to 2 GiB on a
 * peer's say-so). */
#include "tests/suites.h"
#include "extension/thrift_sock.h"

#include <CUnit/CUnit.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connected pair; `bytes` written to one end, which is then closed. */
static orchard_thrift_conn *conn_reading(const void *bytes, size_t len, int *fd_out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return NULL;
    CU_ASSERT_EQUAL((size_t)write(sv[1], bytes, len), len);
    close(sv[1]);
    *fd_out = sv[0];
    return orchard_thrift_conn_new(sv[0]);
}

static void test_thrift_sock__string_round_trip(void)
{
    const unsigned char msg[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    int fd;
    orchard_thrift_conn *c = conn_reading(msg, sizeof msg, &fd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    gchar *s = NULL;
    GError *err = NULL;
    CU_ASSERT_EQUAL(thrift_protocol_read_string(c->proto, &s, &err), 9);
    CU_ASSERT_STRING_EQUAL(s, "hello");
    g_free(s);
    /* then EOF: an error, not a spin */
    CU_ASSERT_EQUAL(thrift_protocol_read_string(c->proto, &s, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);
    orchard_thrift_conn_free(c);
    close(fd);
}

static void test_thrift_sock__huge_string_claim_refused(void)
{
    const unsigned char claims[][4] = {{0x7f, 0xff, 0xff, 0xff}, /* 2 GiB */
                                       {0x01, 0x00, 0x00, 0x01}, /* 16 MiB + 1 */
                                       {0xff, 0xff, 0xff, 0xfe}}; /* negative */
    for (size_t i = 0; i < G_N_ELEMENTS(claims); i++) {
        int fd;
        orchard_thrift_conn *c = conn_reading(claims[i], 4, &fd);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        gchar *s = NULL;
        GError *err = NULL;
        gint64 t0 = g_get_monotonic_time();
        CU_ASSERT_EQUAL(thrift_protocol_read_string(c->proto, &s, &err), -1);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_TRUE(err && g_error_matches(err, THRIFT_PROTOCOL_ERROR,
                                              THRIFT_PROTOCOL_ERROR_SIZE_LIMIT));
        /* refused at once: nothing was allocated and zeroed first */
        CU_ASSERT_TRUE(g_get_monotonic_time() - t0 < G_USEC_PER_SEC);
        g_clear_error(&err);
        orchard_thrift_conn_free(c);
        close(fd);
    }
}

static void test_thrift_sock__truncated_string(void)
{
    const unsigned char msg[] = {0, 0, 0, 10, 'a', 'b'};
    int fd;
    orchard_thrift_conn *c = conn_reading(msg, sizeof msg, &fd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    gchar *s = NULL;
    GError *err = NULL;
    CU_ASSERT_EQUAL(thrift_protocol_read_string(c->proto, &s, &err), -1);
    CU_ASSERT_PTR_NULL(s);
    g_clear_error(&err);
    orchard_thrift_conn_free(c);
    close(fd);
}

void thrift_sock_suite(void)
{
    ORCHARD_ADD_SUITE("thrift_sock", NULL, NULL,
                      {"string_round_trip", test_thrift_sock__string_round_trip},
                      {"huge_string_claim_refused", test_thrift_sock__huge_string_claim_refused},
                      {"truncated_string", test_thrift_sock__truncated_string});
}

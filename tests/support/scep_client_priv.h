/* Shared by the two halves of the SCEP requester (scep_client.c builds and
 * parses messages, scep_http.c talks HTTP); not for the tests. */
#ifndef ORCHARD_SCEP_CLIENT_PRIV_H
#define ORCHARD_SCEP_CLIENT_PRIV_H

/* Set *error_msg (when error_msg is not NULL) to the formatted message, with
 * the newest OpenSSL error appended when there is one; clear OpenSSL's error
 * queue; return `code`. */
int orchard_scepc_fail(char **error_msg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

/* Shared between the two halves of orchard_http.so: the daemon's life
 * (mhd_server.c) and the per-request work of the access handler
 * (mhd_request.c). Nothing here is visible outside the module. */
#ifndef ORCHARD_MHD_INTERNAL_H
#define ORCHARD_MHD_INTERNAL_H

#include "host/http/http_module.h"

#include <microhttpd.h>
#include <stdatomic.h>

struct orchard_http_server {
    struct MHD_Daemon *daemon;
    const orchard_http_module_config *cfg;
    atomic_uint in_flight;
    MHD_socket quiesced_fd; /* ours to close once the daemon has stopped */
    atomic_int starting;    /* MHD's messages go to start_err, not the log */
    char start_err[512];
};

/* MHD_AccessHandlerCallback: collects the body, then dispatches to the host. */
enum MHD_Result orchard_mhd_on_request(void *cls, struct MHD_Connection *conn,
                                       const char *url, const char *method,
                                       const char *version, const char *upload_data,
                                       size_t *upload_data_size, void **con_cls);

/* MHD_RequestCompletedCallback: access log, in-flight count, free. */
void orchard_mhd_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe);

#endif

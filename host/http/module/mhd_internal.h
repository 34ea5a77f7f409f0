/* Shared between the parts of orchard_http.so: the daemon's life
 * (mhd_server.c), the per-request work of the access handler
 * (mhd_request.c), per-connection state and the request clock
 * (mhd_conn.c), and the budget for buffered bodies (mhd_budget.c).
 * Nothing here is visible outside the module. */
#ifndef ORCHARD_MHD_INTERNAL_H
#define ORCHARD_MHD_INTERNAL_H

#include "host/http/http_module.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

struct mhd_conn;

struct orchard_http_server {
    struct MHD_Daemon *daemon;
    const orchard_http_module_config *cfg;
    atomic_uint in_flight;
    MHD_socket quiesced_fd; /* ours to close once the daemon has stopped */
    atomic_int starting;    /* MHD's messages go to start_err, not the log */
    char start_err[512];
    /* The body budget (mhd_budget.c): bytes reserved by requests now, and
     * the most since memory was last given back. */
    atomic_size_t buffered;
    atomic_size_t buffered_peak;
    /* Connections open now, and the most since memory was last given back. */
    atomic_uint conns;
    atomic_uint conns_peak;
    /* The request clock (mhd_conn.c): connections waiting for a request,
     * oldest deadline first, and the thread that cuts them off. */
    pthread_mutex_t clock_lock;
    pthread_cond_t clock_cond;
    struct mhd_conn *clock_head, *clock_tail;
    pthread_t clock_thread;
    int clock_running;
    int clock_stop;
};

/* One connection's state, MHD's socket context (mhd_conn.c). */
typedef struct mhd_conn {
    struct mhd_conn *prev, *next; /* on the clock while a request is awaited */
    int on_clock;
    uint64_t deadline_us;
    MHD_socket fd;
    char remote[48];         /* the client's address, for the log */
    int cert_checked;        /* the client certificate was looked at */
    unsigned char *cert_der; /* verified client certificate, or NULL */
    size_t cert_len;
} mhd_conn;

static inline uint64_t orchard_mhd_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The client's address as text ("-" when unknown). */
void orchard_mhd_remote_text(struct MHD_Connection *conn, char *out, size_t len);

/* The connection's state, NULL when it could not be allocated. The first
 * call looks at the client's certificate (when clients are asked for one). */
mhd_conn *orchard_mhd_conn_of(orchard_http_server *srv, struct MHD_Connection *conn);

/* MHD_NotifyConnectionCallback: makes and frees the socket context, and
 * starts the connection's first request deadline. */
void orchard_mhd_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code);

/* The request clock. start: 0, or ORCHARD_EIO (no thread). stop joins it. */
int orchard_mhd_clock_start(orchard_http_server *srv);
void orchard_mhd_clock_stop(orchard_http_server *srv);
/* A request is awaited on conn: it must be in by request_timeout_ms from now. */
void orchard_mhd_clock_arm(orchard_http_server *srv, struct MHD_Connection *conn);
/* The request is in: no deadline while it is handled and answered. */
void orchard_mhd_clock_disarm(orchard_http_server *srv, struct MHD_Connection *conn);

/* The body budget. take: 1 when n more bytes fit under max_buffered (and
 * they are reserved), else 0. give: return n reserved bytes. */
int orchard_mhd_budget_take(orchard_http_server *srv, size_t n);
void orchard_mhd_budget_give(orchard_http_server *srv, size_t n);
/* After a burst (of buffered bytes or connections), give freed memory back
 * to the system; cheap when there was none. Called by the clock thread. */
void orchard_mhd_budget_trim(orchard_http_server *srv);

/* MHD_AccessHandlerCallback: collects the body, then dispatches to the host. */
/** MHD_OPTION_UNESCAPE_CALLBACK: %XX decoding with "%00" kept as a DEL
 * byte, which the request handler refuses (mhd_request.c). */
size_t orchard_mhd_unescape(void *cls, struct MHD_Connection *conn, char *s);
enum MHD_Result orchard_mhd_on_request(void *cls, struct MHD_Connection *conn,
                                       const char *url, const char *method,
                                       const char *version, const char *upload_data,
                                       size_t *upload_data_size, void **con_cls);

/* MHD_RequestCompletedCallback: access log, in-flight count, free. */
void orchard_mhd_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe);

#endif

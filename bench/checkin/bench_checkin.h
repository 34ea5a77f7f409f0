/* Shared by the two halves of bench_checkin: bench_checkin.c (options,
 * enrollment, the in-process verification cost, main) and load.c (the timed
 * phases). Not a library. */
#ifndef ORCHARD_BENCH_CHECKIN_H
#define ORCHARD_BENCH_CHECKIN_H

#include <stddef.h>

#include "tests/support/mac_sim/mac_sim.h"
#include "tests/support/scep_client.h"

typedef struct {
    const char *enroll_url, *state, *api, *api_token;
    const char *split_url; /* --split-url: every second Mac checks in there */
    int macs, concurrency, commands, verify_iters, reuse;
    int server_pids[4], n_server_pids; /* --server-pid, once per instance */
    double seconds;
    const char *modes[3];
    int n_modes;
} bench_options;

extern bench_options opt;

/* A request signed before the clock starts. */
typedef struct {
    char *body;
    size_t len;
    char *sig; /* Mdm-Signature */
} signed_req;

typedef struct {
    orchard_macsim_mac *mac;
    signed_req tu, idle;  /* TokenUpdate; Idle */
    signed_req *acks;     /* Acknowledged for each queued command... */
    char **ack_uuids;     /* ...whose CommandUUID is this */
    int n_acks;
} sim_mac;

typedef struct {
    double *v;
    size_t n, cap;
} latencies;

double now_s(void);
double proc_cpu_s(int pid);
/* The CPU seconds of every --server-pid together, -1 when one is unreadable. */
double servers_cpu_s(void);
double self_cpu_s(void);
/* The p-th percentile (0-100) of v (sorted in place); NAN when n is 0. */
double percentile(double *v, size_t n, double p);
void lat_push(latencies *l, double ms);
/* Sign xml (taken) with mac's identity into r; 0 or -1. */
int presign(signed_req *r, const orchard_macsim_mac *mac, char *xml, size_t len);
void signed_req_clear(signed_req *r);

/* load.c: sign every Mac's TokenUpdate and Idle; the check-in phase for one
 * mode (prints its line); queue, sign and time the command round trips. */
int presign_checkins(sim_mac *macs);
int run_checkins(sim_mac *macs, const char *mode, double verify_us);
int run_round_trips(sim_mac *macs);

#endif

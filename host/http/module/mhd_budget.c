/* The budget for request bodies buffered across all connections
 * (max_buffered). A request reserves its declared Content-Length before a
 * byte of the body is read, a chunked one as its buffer grows, and gives
 * the bytes back when its answer is built or it ends. After a burst, freed
 * memory goes back to the system: glibc keeps freed body buffers in its
 * arenas (a 2 MiB free raises its mmap threshold, so later 2 MiB buffers
 * come from the heap, which only shrinks from the top), and without a trim
 * a server that once held 1,000 bodies stays that big. */
#include "host/http/module/mhd_internal.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* A burst worth giving memory back after: this many bytes or connections
 * fewer than the peak since the last trim. */
#define TRIM_BYTES ((size_t)8 * 1024 * 1024)
#define TRIM_CONNS 256u

int orchard_mhd_budget_take(orchard_http_server *srv, size_t n)
{
    size_t cur = atomic_load(&srv->buffered);
    size_t cap = srv->cfg->max_buffered;

    do {
        if (cur > cap || n > cap - cur)
            return 0;
    } while (!atomic_compare_exchange_weak(&srv->buffered, &cur, cur + n));
    size_t now = cur + n, peak = atomic_load(&srv->buffered_peak);
    while (now > peak && !atomic_compare_exchange_weak(&srv->buffered_peak, &peak, now))
        ;
    return 1;
}

void orchard_mhd_budget_give(orchard_http_server *srv, size_t n)
{
    if (n)
        atomic_fetch_sub(&srv->buffered, n);
}

void orchard_mhd_budget_trim(orchard_http_server *srv)
{
    size_t bytes = atomic_load(&srv->buffered);
    size_t bytes_peak = atomic_load(&srv->buffered_peak);
    unsigned conns = atomic_load(&srv->conns);
    unsigned conns_peak = atomic_load(&srv->conns_peak);

    if (bytes_peak < bytes + TRIM_BYTES && conns_peak < conns + TRIM_CONNS)
        return;
    /* Requests may reserve meanwhile: the peaks restart from now, and a
     * burst that goes on is trimmed again on a later tick. */
    atomic_store(&srv->buffered_peak, bytes);
    atomic_store(&srv->conns_peak, conns);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* libmicrohttpd callbacks of dep_sim (http.c), for main.c's daemon. Kept out
 * of dep_sim.h so the rest of the simulator does not see libmicrohttpd. */
#ifndef ORCHARD_DEP_SIM_HTTP_H
#define ORCHARD_DEP_SIM_HTTP_H

#include <microhttpd.h>

enum MHD_Result depsim_access(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls);
void depsim_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe);

#endif

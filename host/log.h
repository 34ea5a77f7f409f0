/* Logging for the host and (through orchard_host_api.log) its plugins.
 * One line per event on stderr: time, level letter, component, message.
 * Thread-safe; the level is process-wide. */
#ifndef ORCHARD_LOG_H
#define ORCHARD_LOG_H

#include <orchard/plugin.h>
#include <stdarg.h>

/** Show messages up to and including `level` (ORCHARD_LOG_*). Default: INFO. */
void orchard_log_set_level(int level);
int orchard_log_get_level(void);

void orchard_log(int level, const char *component, const char *fmt, ...)
    ORCHARD_PRINTF(3, 4);
void orchard_logv(int level, const char *component, const char *fmt, va_list ap)
    ORCHARD_PRINTF(3, 0);

#define orchard_error(comp, ...) orchard_log(ORCHARD_LOG_ERROR, comp, __VA_ARGS__)
#define orchard_warn(comp, ...) orchard_log(ORCHARD_LOG_WARNING, comp, __VA_ARGS__)
#define orchard_info(comp, ...) orchard_log(ORCHARD_LOG_INFO, comp, __VA_ARGS__)
#define orchard_debug(comp, ...) orchard_log(ORCHARD_LOG_DEBUG, comp, __VA_ARGS__)

/** The message for an orchard_error_code; never NULL. */
const char *orchard_strerror(int code);

#endif

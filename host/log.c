/* Logging and error names: the host's single place that writes diagnostics. */
#include "host/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile int log_level = ORCHARD_LOG_INFO;

void orchard_log_set_level(int level) { log_level = level; }
int orchard_log_get_level(void) { return log_level; }

void orchard_logv(int level, const char *component, const char *fmt, va_list ap)
{
    static const char letters[] = "EWID";
    char msg[2048];
    char stamp[32];
    struct timeval tv;
    struct tm tm;

    if (level > log_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* One fprintf per line so concurrent threads never interleave a line. */
    fprintf(stderr, "%s.%03ldZ %c %s: %s\n", stamp, (long)(tv.tv_usec / 1000),
            letters[level < 0 ? 0 : level > 3 ? 3 : level],
            component ? component : "orchard", msg);
}

void orchard_log(int level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orchard_logv(level, component, fmt, ap);
    va_end(ap);
}

const char *orchard_strerror(int code)
{
    switch (code) {
    case ORCHARD_OK: return "success";
    case ORCHARD_EINVAL: return "invalid argument or malformed input";
    case ORCHARD_ENOMEM: return "out of memory";
    case ORCHARD_ENOTFOUND: return "not found";
    case ORCHARD_EIO: return "input/output error";
    case ORCHARD_EABI: return "incompatible plugin ABI";
    case ORCHARD_ETIMEOUT: return "timed out";
    case ORCHARD_EPROTO: return "protocol error";
    case ORCHARD_EEXIST: return "already exists";
    case ORCHARD_ETOOBIG: return "too big";
    case ORCHARD_EREADONLY: return "table is read-only";
    case ORCHARD_ECONSTRAINT: return "a required constraint is missing";
    case ORCHARD_EBUSY: return "the store is busy";
    case ORCHARD_ENOTCONFIGURED: return "not configured";
    case ORCHARD_EDENIED: return "not allowed";
    default: return code <= ORCHARD_EFATAL ? "fatal error" : "unknown error";
    }
}

/* The simulator's output: one JSON object a line per event (enrolled,
 * command, answered, refused, ...), so Python and shell tests parse it with a
 * JSON reader. Lines from concurrent Macs never interleave (one lock). */
#include "tests/support/mac_sim/mac_sim.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *stream;

void orchard_macsim_events_to(FILE *f)
{
    pthread_mutex_lock(&lock);
    stream = f;
    pthread_mutex_unlock(&lock);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(f, "\\u%04x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

void orchard_macsim_event(const char *event, const orchard_macsim_mac *mac, ...)
{
    va_list ap;
    va_start(ap, mac);
    pthread_mutex_lock(&lock);
    FILE *f = stream ? stream : stdout;
    fputs("{\"event\": ", f);
    put_string(f, event);
    if (mac) {
        fputs(", \"udid\": ", f);
        put_string(f, mac->udid);
        fprintf(f, ", \"index\": %u", mac->index);
    }
    const char *spec;
    while ((spec = va_arg(ap, const char *))) {
        const char *eq = strrchr(spec, '=');
        size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
        fprintf(f, ", \"%.*s\": ", (int)klen, spec);
        char type = eq ? eq[1] : 's';
        if (type == 'd')
            fprintf(f, "%d", va_arg(ap, int));
        else if (type == 'l')
            fprintf(f, "%ld", va_arg(ap, long));
        else
            put_string(f, va_arg(ap, const char *));
    }
    fputs("}\n", f);
    fflush(f);
    pthread_mutex_unlock(&lock);
    va_end(ap);
}

/* Flag parsing shared by every command. */
#include "host/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Skip "--" or "-" and return the rest, or NULL when arg is not a flag. */
static const char *flag_body(const char *arg)
{
    if (arg[0] != '-')
        return NULL;
    return arg[1] == '-' ? arg + 2 : arg + 1;
}

int orchard_arg_value(int *i, int argc, char **argv, const char *name, const char **value)
{
    const char *body = flag_body(argv[*i]);
    size_t n = strlen(name);
    if (!body || strncmp(body, name, n) != 0)
        return 0;
    if (body[n] == '=') {
        *value = body + n + 1;
        (*i)++;
        return 1;
    }
    if (body[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[*i + 1];
    *i += 2;
    return 1;
}

int orchard_arg_flag(const char *arg, const char *name)
{
    const char *body = flag_body(arg);
    size_t n = strlen(name);
    if (!body || strncmp(body, name, n) != 0)
        return 0;
    return body[n] == '\0' || strcmp(body + n, "=true") == 0 || strcmp(body + n, "=1") == 0;
}

long orchard_arg_uint(const char *s, long max)
{
    char *end = NULL;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    return v;
}

/* The APNs stand-in's test controls: the errors a test asks for on stdin
 * (`fail`, `clear`, `stats`), applied to requests that would succeed, and the
 * record file, one JSON line per request, flushed so a test reads it live. */
#include "standin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

unsigned long standin_pushes;
unsigned long standin_connections;
FILE *standin_record_file;

typedef struct rule {
    struct rule *next;
    char token[256]; /* "*" for any token */
    char reason[64];
    int status;
    long count;      /* answers left; -1: forever */
} rule;

static rule *rules; /* newest first */

void standin_rules_free(void)
{
    while (rules) {
        rule *next = rules->next;
        free(rules);
        rules = next;
    }
}

/* Reasons are Apple's CamelCase words; anything else would need escaping. */
static int is_reason(const char *s)
{
    if (!*s || strlen(s) >= sizeof ((rule *)0)->reason)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* Parse a whole decimal number in [lo, hi]; 0 on success. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

static int add_rule(char *args)
{
    char *save = NULL;
    const char *token = strtok_r(args, " \t", &save);
    const char *status = strtok_r(NULL, " \t", &save);
    const char *reason = strtok_r(NULL, " \t", &save);
    const char *count = strtok_r(NULL, " \t", &save);
    long st, n = -1;
    if (!token || !reason || strtok_r(NULL, " \t", &save) || strlen(token) >= 256 ||
        !status || parse_long(status, 400, 599, &st) != 0 || !is_reason(reason) ||
        (count && parse_long(count, 1, 1000000000L, &n) != 0)) {
        fprintf(stderr, "apns_standin: usage: fail <token|*> <400-599> <Reason> [count]\n");
        return -1;
    }
    rule *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    snprintf(r->token, sizeof r->token, "%s", token);
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    r->status = (int)st;
    r->count = n;
    r->next = rules;
    rules = r;
    fprintf(stderr, "apns_standin: %s answers %d %s %s\n", r->token, r->status, r->reason,
            n < 0 ? "until cleared" : count);
    return 0;
}

int standin_control(const char *line)
{
    char buf[512];
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    if (n >= sizeof buf) {
        fprintf(stderr, "apns_standin: control line too long\n");
        return -1;
    }
    memcpy(buf, line, n);
    buf[n] = '\0';
    if (strncmp(buf, "fail ", 5) == 0)
        return add_rule(buf + 5);
    if (strcmp(buf, "clear") == 0) {
        standin_rules_free();
        fprintf(stderr, "apns_standin: rules cleared\n");
        return 0;
    }
    if (strcmp(buf, "stats") == 0) {
        printf("pushes %lu connections %lu\n", standin_pushes, standin_connections);
        fflush(stdout);
        return 0;
    }
    if (n == 0)
        return 0;
    fprintf(stderr, "apns_standin: unknown control line (fail, clear, stats)\n");
    return -1;
}

static rule *find_rule(const char *token)
{
    rule *any = NULL;
    for (rule *r = rules; r; r = r->next) {
        if (strcmp(r->token, token) == 0)
            return r;
        if (!any && strcmp(r->token, "*") == 0)
            any = r;
    }
    return any;
}

void standin_rules_apply(standin_verdict *v)
{
    if (v->status != 200)
        return;
    rule *r = find_rule(v->token);
    if (!r)
        return;
    v->status = r->status;
    snprintf(v->rule_reason, sizeof v->rule_reason, "%s", r->reason);
    v->reason = v->rule_reason; /* the rule may go now */
    if (r->count > 0 && --r->count == 0) {
        for (rule **p = &rules; *p; p = &(*p)->next)
            if (*p == r) {
                *p = r->next;
                break;
            }
        free(r);
    }
}

/* ---- the record file */

/* A JSON string; bytes over 0x7f are written as \u00XX (as Latin-1) so the
 * line stays valid UTF-8 whatever a client sent. NULL is null. */
static void put_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p > 0x7e)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void standin_record(const standin_request *req, const standin_verdict *v, unsigned long conn)
{
    FILE *f = standin_record_file;
    if (!f)
        return;
    fputs("{\"token\":", f);
    put_string(f, v->token);
    fputs(",\"topic\":", f);
    put_string(f, req->header[STANDIN_H_TOPIC]);
    fputs(",\"push_type\":", f);
    put_string(f, req->header[STANDIN_H_PUSH_TYPE]);
    fputs(",\"expiration\":", f);
    put_string(f, req->header[STANDIN_H_EXPIRATION]);
    fputs(",\"priority\":", f);
    put_string(f, req->header[STANDIN_H_PRIORITY]);
    fputs(",\"mdm\":", f);
    put_string(f, v->mdm[0] ? v->mdm : NULL);
    fprintf(f, ",\"status\":%d,\"reason\":", v->status);
    put_string(f, v->reason);
    fputs(",\"apns_id\":", f);
    put_string(f, v->apns_id);
    fputs(",\"method\":", f);
    put_string(f, req->header[STANDIN_H_METHOD]);
    fputs(",\"path\":", f);
    put_string(f, req->header[STANDIN_H_PATH]);
    fprintf(f, ",\"body_bytes\":%zu,\"connection\":%lu}\n", req->body_total, conn);
    fflush(f);
}

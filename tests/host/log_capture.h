/* What a piece of code logs, for tests that check a message: stderr (where
 * host/log.c writes) is sent to a file in `dir` between start and end, and
 * shown again at the end for whoever reads the test's output. */
#ifndef ORCHARD_TEST_LOG_CAPTURE_H
#define ORCHARD_TEST_LOG_CAPTURE_H

typedef struct {
    int saved;
    char *path;
} log_capture;

void log_capture_start(log_capture *c, const char *dir);
/** Everything written to stderr since start (g_free; never NULL). */
char *log_capture_end(log_capture *c);

#endif

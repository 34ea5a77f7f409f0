/* log_capture.h: stderr into a file and back. */
#include "tests/host/log_capture.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

void log_capture_start(log_capture *c, const char *dir)
{
    fflush(stderr);
    c->path = g_build_filename(dir, "stderr.txt", NULL);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c->saved = dup(2);
    dup2(fd, 2);
    close(fd);
}

char *log_capture_end(log_capture *c)
{
    char *text = NULL;
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    if (!g_file_get_contents(c->path, &text, NULL, NULL))
        text = g_strdup("");
    fputs(text, stderr);
    g_unlink(c->path);
    g_free(c->path);
    return text;
}

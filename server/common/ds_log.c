/* ds_log.c - readable, line-oriented logging to stderr. */
#include "ds_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static volatile int min_level = DS_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void ds_log_set_level(ds_log_level min)
{
    min_level = (int)min;
}

int ds_log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};

    for (int i = 0; s != NULL && i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

void ds_log(ds_log_level lvl, const char *module, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;
    ssize_t w;

    if ((int)lvl < min_level || (int)lvl > DS_LOG_ERROR)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ", ts.tv_nsec / 1000000L,
                          level_names[lvl], module);
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
    }
    n = strnlen(line, sizeof(line) - 2);
    line[n++] = '\n';
    w = write(STDERR_FILENO, line, n);
    (void)w;
}

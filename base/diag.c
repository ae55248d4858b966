#include "base/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static diag_level_t diag_level = DIAG_INFO;
static const char *const diag_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void diag_set_level(diag_level_t level)
{
    diag_level = level;
}
diag_level_t diag_get_level(void)
{
    return diag_level;
}

int diag_parse_level(const char *name)
{
    static const char *const lower[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, lower[i]) == 0)
            return i;
    return -1;
}

void diag_log(diag_level_t level, const char *subsys, const char *fmt, ...)
{
    if (level > diag_level)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, diag_names[level], subsys);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line keeps lines whole when several processes share stderr. */
    fwrite(line, 1, len, stderr);
}

void diag_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "eddy: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

int diag_ratelimit_ok(diag_ratelimit_t *rl, unsigned *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec != rl->window) {
        rl->window = ts.tv_sec;
        rl->used = 0;
    }
    if (rl->used >= rl->burst) {
        rl->suppressed++;
        return 0;
    }
    rl->used++;
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    return 1;
}

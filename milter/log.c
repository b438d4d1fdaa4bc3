/*
 * log.c - the daemon's log: syslog, and stderr when in the foreground
 * (and for warnings and errors while a daemon starts).
 *
 * One line per event, key=value where it helps grep. Build machines and
 * containers often have no /dev/log, so in the foreground (-f) every line
 * also goes to stderr with a UTC timestamp; tests read that. Lines are
 * written with one fprintf under the stdio lock, so threads never
 * interleave within a line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "milter.h"

static int  log_syslog = 0;
static int  log_level = HG_LOG_INFO;
static int  stderr_level = HG_LOG_INFO;

/*
 * stderr_level: the least urgent level also written to stderr, or
 * HG_LOG_NONE. A daemon about to detach shows warnings and errors on the
 * terminal it was started from, so a start that fails says why there.
 */
void
hg_log_setup(int use_syslog, int facility, int level, int stderr_max)
{
    if (use_syslog && !log_syslog) {
        openlog(HG_MILTER_NAME, LOG_PID | LOG_NDELAY, facility);
    }
    log_syslog = use_syslog;
    log_level = level;
    stderr_level = stderr_max < level ? stderr_max : level;
}

void
hg_log(int level, const char *fmt, ...)
{
    static const char *names[] = {
        "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
    };
    char        msg[2048];
    va_list     ap;

    if (level > log_level) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (log_syslog) {
        syslog(level, "%s", msg);
    }
    if (level <= stderr_level) {
        char        ts[32];
        struct tm   tm;
        time_t      now = time(NULL);

        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "%s %s[%s]: %s\n", ts, HG_MILTER_NAME,
                names[level & 7], msg);
    }
}

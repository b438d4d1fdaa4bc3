/*
 * syslog_name.c - syslog facilities by name (syslog_name.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>
#include <syslog.h>

#include "hashgate/syslog_name.h"

static const struct {
    const char  *name;
    int          facility;
} hg_syslog_facilities[] = {
    { "daemon", LOG_DAEMON }, { "mail", LOG_MAIL }, { "user", LOG_USER },
    { "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
    { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
    { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int
hg_syslog_facility(const char *name, size_t len, int *out)
{
    size_t  i;

    for (i = 0; i < sizeof(hg_syslog_facilities)
                    / sizeof(hg_syslog_facilities[0]); i++)
    {
        if (strlen(hg_syslog_facilities[i].name) == len
            && memcmp(hg_syslog_facilities[i].name, name, len) == 0)
        {
            *out = hg_syslog_facilities[i].facility;
            return 0;
        }
    }
    return -1;
}

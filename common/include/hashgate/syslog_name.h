/*
 * syslog_name.h - syslog facilities by name, one table for every setting
 * that takes one (the milter's SyslogFacility, the evidence log's
 * syslog:FACILITY destination).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_SYSLOG_NAME_H
#define HASHGATE_SYSLOG_NAME_H

#include <stddef.h>

/* The names hg_syslog_facility knows, for error messages and docs. */
#define HG_SYSLOG_FACILITY_NAMES \
    "daemon, mail, user, auth, authpriv, local0 .. local7"

/*
 * The facility (LOG_MAIL, ...) called by the len bytes at name, in lower
 * case. Returns 0 and sets *out, or -1 for a name not in the table.
 */
int hg_syslog_facility(const char *name, size_t len, int *out);

#endif

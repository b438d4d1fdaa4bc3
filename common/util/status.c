/*
 * status.c - status names and the one-line error messages of hg_err_t.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hashgate/status.h"

const char *
hg_status_str(hg_status_t st)
{
    switch (st) {
    case HG_OK:      return "ok";
    case HG_ENOMEM:  return "out of memory";
    case HG_EIO:     return "I/O error";
    case HG_EFORMAT: return "malformed input";
    case HG_ELIMIT:  return "limit reached";
    case HG_ECRYPTO: return "cryptographic library error";
    case HG_EINVAL:  return "invalid argument";
    case HG_ENOENT:  return "not found";
    case HG_ECANCEL: return "cancelled";
    }
    return "unknown status";
}

hg_status_t
hg_err_set(hg_err_t *err, hg_status_t st, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL) {
        return st;
    }
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return st;
}

hg_status_t
hg_err_sys(hg_err_t *err, hg_status_t st, const char *fmt, ...)
{
    va_list  ap;
    int      saved = errno;
    size_t   len;
    char     buf[128];
    char    *why;

    if (err == NULL) {
        return st;
    }
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    /* strerror() may share one buffer between threads; the GNU
     * strerror_r returns a string, in buf or a constant one. */
    why = strerror_r(saved, buf, sizeof(buf));
    len = strlen(err->msg);
    snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", why);
    errno = saved;
    return st;
}

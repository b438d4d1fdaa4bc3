/*
 * status.h - status codes and error messages shared by every part of libhashgate.
 *
 * common/ never logs, prints or exits on bad input: a function returns an
 * hg_status_t and, where it takes an hg_err_t, writes one human-readable line
 * there ("file:line: reason"). The wrapper (milter, nginx module, CLI) logs it
 * once and applies its fail mode.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_STATUS_H
#define HASHGATE_STATUS_H

#include <stddef.h>

typedef enum {
    HG_OK = 0,
    HG_ENOMEM,      /* allocation failed */
    HG_EIO,         /* a system call failed; the message names it */
    HG_EFORMAT,     /* malformed input: list line, database file, MIME */
    HG_ELIMIT,      /* a configured limit was reached */
    HG_ECRYPTO,     /* OpenSSL refused (e.g. an algorithm is unavailable) */
    HG_EINVAL,      /* the caller passed something invalid */
    HG_ENOENT,      /* not found */
    HG_ECANCEL      /* a callback asked to stop (e.g. reject decided early) */
} hg_status_t;

/* Room for one line of explanation, such as "lists.csv:12: bad hex". */
#define HG_ERR_MAX  512

typedef struct {
    char        msg[HG_ERR_MAX];
} hg_err_t;

/* Short constant name of a status: "out of memory", "limit reached", ... */
const char *hg_status_str(hg_status_t st);

/*
 * Format a message into err (which may be NULL: then nothing happens).
 * Returns st, so callers can write: return hg_err_set(err, HG_EFORMAT, ...).
 */
hg_status_t hg_err_set(hg_err_t *err, hg_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As hg_err_set, appending ": strerror(errno)". */
hg_status_t hg_err_sys(hg_err_t *err, hg_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

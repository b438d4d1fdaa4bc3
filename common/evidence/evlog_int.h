/*
 * evlog_int.h - what the evidence log's destinations share (evlog.c, the
 * file and the chain; evsink_syslog.c; evsink_journald.c). Not installed.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_EVIDENCE_EVLOG_INT_H
#define HG_EVIDENCE_EVLOG_INT_H

#include <pthread.h>
#include <stddef.h>

#include "hashgate/record.h"

typedef enum {
    HG_EVLOG_FILE = 0,
    HG_EVLOG_SYSLOG,
    HG_EVLOG_JOURNALD
} hg_evlog_kind_t;

struct hg_evlog_s {
    hg_evlog_kind_t  kind;
    int              fd;        /* the file, or the syslog socket; -1 */
    pthread_mutex_t  lock;
    char            *path;      /* the file or the syslog socket */
    char            *spec;      /* as configured, for messages */
    int              facility;  /* syslog: LOG_LOCAL3 and so on */
    char             ident[48]; /* syslog tag, journald SYSLOG_IDENTIFIER */
    hg_evlog_t      *next;      /* the next destination of the chain */
};

/* One line (len bytes, its newline included) to a syslog or journald
 * destination; HG_EIO with err naming it when it was not taken. */
hg_status_t hg_evsink_syslog_parse(const char *spec, const char *arg,
                                   int *facility, const char **sock,
                                   hg_err_t *err);
hg_status_t hg_evsink_syslog_open(hg_evlog_t *l, const char *arg,
                                  hg_err_t *err);
hg_status_t hg_evsink_syslog_write(hg_evlog_t *l, const char *line,
                                   size_t len, hg_err_t *err);
hg_status_t hg_evsink_journald_open(hg_evlog_t *l, hg_err_t *err);
hg_status_t hg_evsink_journald_write(hg_evlog_t *l, const char *line,
                                     size_t len, hg_err_t *err);

#endif

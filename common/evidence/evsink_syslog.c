/*
 * evsink_syslog.c - evidence records as syslog messages, one record each,
 * the same JSON line as the file holds.
 *
 * Written to the syslog socket ourselves (a unix datagram socket, /dev/log
 * unless configured) rather than through syslog(3): syslog(3) drops a
 * message it could not deliver without a word, and a record that was not
 * taken must give the caller an error, so that a match is never passed as
 * if its evidence existed (hg_decide_evidence_failed). The message is what
 * syslog(3) would send, RFC 3164 as rsyslog and journald read it from the
 * socket: "<PRI>Mmm dd hh:mm:ss TAG[PID]: {...}".
 *
 * One message a record, however long: rsyslog's default MaxMessageSize is
 * 8 KiB, journald takes 48 KiB; a record with thousands of recipients can
 * be longer, and docs/operators.md says to raise the limit rather than
 * have records cut (a cut record is not JSON: a pipeline sees it).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "evidence/evlog_int.h"
#include "hashgate/syslog_name.h"

#define EVSINK_SYSLOG_SOCKET  "/dev/log"

/* (Re)connect l->fd to l->path. */
static hg_status_t
_evsink_connect(hg_evlog_t *l, hg_err_t *err)
{
    struct sockaddr_un  sa;
    int                 fd;

    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, l->path, strlen(l->path) + 1);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return hg_err_sys(err, HG_EIO, "%s: socket", l->spec);
    }
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        hg_err_sys(err, HG_EIO, "%s: cannot reach the syslog socket %s",
                   l->spec, l->path);
        close(fd);
        return HG_EIO;
    }
    l->fd = fd;
    return HG_OK;
}

/* arg: "", "FACILITY" or "FACILITY:SOCKET"; *sock points into arg or is
 * the default. */
hg_status_t
hg_evsink_syslog_parse(const char *spec, const char *arg, int *facility,
                       const char **sock, hg_err_t *err)
{
    const char  *colon = strchr(arg, ':');
    size_t       flen = colon != NULL ? (size_t) (colon - arg) : strlen(arg);

    *sock = colon != NULL ? colon + 1 : EVSINK_SYSLOG_SOCKET;
    *facility = LOG_DAEMON;
    if (flen > 0 && hg_syslog_facility(arg, flen, facility) != 0) {
        return hg_err_set(err, HG_EINVAL, "%s: unknown syslog facility "
                          "'%.*s' (" HG_SYSLOG_FACILITY_NAMES ")", spec,
                          (int) flen, arg);
    }
    if ((*sock)[0] != '/') {
        return hg_err_set(err, HG_EINVAL, "%s: the syslog socket must be an "
                          "absolute path", spec);
    }
    if (strlen(*sock) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
        return hg_err_set(err, HG_EINVAL, "%s: the syslog socket's path is "
                          "too long", spec);
    }
    return HG_OK;
}

hg_status_t
hg_evsink_syslog_open(hg_evlog_t *l, const char *arg, hg_err_t *err)
{
    const char  *sock;

    if (hg_evsink_syslog_parse(l->spec, arg, &l->facility, &sock, err)
        != HG_OK)
    {
        return HG_EINVAL;
    }
    if ((l->path = strdup(sock)) == NULL) {
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", l->spec);
    }
    return _evsink_connect(l, err);
}

hg_status_t
hg_evsink_syslog_write(hg_evlog_t *l, const char *line, size_t len,
                       hg_err_t *err)
{
    struct iovec  iov[2];
    struct tm     tm;
    time_t        now = time(NULL);
    char          head[128];
    ssize_t       n = -1;
    hg_status_t   st = HG_OK;
    int           h, tries;

    localtime_r(&now, &tm);
    h = snprintf(head, sizeof(head), "<%d>", l->facility | LOG_NOTICE);
    h += (int) strftime(head + h, sizeof(head) - (size_t) h, "%b %e %T ",
                        &tm);
    h += snprintf(head + h, sizeof(head) - (size_t) h, "%s[%ld]: ",
                  l->ident, (long) getpid());
    iov[0].iov_base = head;
    iov[0].iov_len = (size_t) h < sizeof(head) ? (size_t) h
                     : sizeof(head) - 1;
    iov[1].iov_base = (void *) line;
    iov[1].iov_len = len > 0 && line[len - 1] == '\n' ? len - 1 : len;

    pthread_mutex_lock(&l->lock);
    /* a restarted syslog daemon has a new socket: reconnect once */
    for (tries = 0; ; tries++) {
        if (l->fd < 0 && _evsink_connect(l, err) != HG_OK) {
            st = HG_EIO;
            break;
        }
        do {
            n = writev(l->fd, iov, 2);
        } while (n < 0 && errno == EINTR);
        if (n >= 0) {
            break;
        }
        if (tries > 0 || (errno != ECONNREFUSED && errno != ENOTCONN
                          && errno != ENOENT))
        {
            st = hg_err_sys(err, HG_EIO, "%s: cannot send evidence record "
                            "to %s", l->spec, l->path);
            break;
        }
        close(l->fd);
        l->fd = -1;
    }
    pthread_mutex_unlock(&l->lock);
    return st;
}

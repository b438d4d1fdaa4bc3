/*
 * evlog.c - the evidence log: append-only JSON Lines, never half a record.
 *
 * The file is opened O_APPEND, created mode 0640 (an existing file keeps
 * its mode: we never widen nor silently change what the operator set), and
 * each record goes out in one write(2). With O_APPEND the kernel places
 * each write at the end of the file atomically, so records from several
 * processes never interleave; within a process a mutex also serializes the
 * write with the clean-up below, so milter threads may share one handle.
 *
 * When a write is short (disk full, RLIMIT_FSIZE) the bytes that did land
 * are cut off again with ftruncate: a reader of the log never finds a
 * partial line, and the caller gets HG_EIO to apply its fail mode. (A
 * process with an RLIMIT_FSIZE should ignore SIGXFSZ, else the kernel
 * kills it before write returns.) That clean-up is only right if nobody
 * appended after our bytes, and nginx workers are separate processes
 * writing one log: so every write and its clean-up hold a POSIX record
 * lock on the file (fcntl locks belong to the process, so they separate
 * workers even when they share the master's descriptor; the mutex
 * separates threads). Records are written only on a match, so two more
 * system calls each cost nothing that matters. Where the file system
 * refuses locks the record is still written, unlocked.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evidence/evlog_int.h"

#define HG_EVLOG_MODE  0640     /* the log names senders: not world-readable */

/*
 * Never through a symbolic link: servers open the log as root, in a
 * directory their unprivileged user owns, and root would append records
 * (and, in the milter, hand ownership) to whatever file a link planted
 * there points to. A link gives ELOOP, reported like any other failure.
 */
#define HG_EVLOG_FLAGS  (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY \
                         | O_NOFOLLOW)

/*
 * Open path for appending, creating it with mode 0640 (less if the umask
 * says so). Returns HG_EIO with err naming path (a symbolic link is
 * refused), or HG_ENOMEM.
 */
hg_status_t
hg_evlog_open(const char *path, hg_evlog_t **out, hg_err_t *err)
{
    hg_evlog_t  *l;

    *out = NULL;
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->path = strdup(path)) == NULL
        || (l->spec = strdup(path)) == NULL)
    {
        if (l != NULL) {
            free(l->path);
        }
        free(l);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", path);
    }
    l->kind = HG_EVLOG_FILE;
    l->fd = open(path, HG_EVLOG_FLAGS, HG_EVLOG_MODE);
    if (l->fd < 0) {
        hg_err_sys(err, HG_EIO, "%s: cannot open evidence log", path);
        free(l->path);
        free(l->spec);
        free(l);
        return HG_EIO;
    }
    pthread_mutex_init(&l->lock, NULL);
    *out = l;
    return HG_OK;
}

/*
 * A destination by its configured name: "syslog[:FACILITY[:SOCKET]]",
 * "journald", or an absolute path (hg_evlog_open). ident tags syslog lines
 * and is journald's SYSLOG_IDENTIFIER.
 */
hg_status_t
hg_evlog_open_spec(const char *spec, const char *ident, hg_evlog_t **out,
                   hg_err_t *err)
{
    hg_evlog_t   *l;
    hg_status_t   st;
    int           is_syslog, is_journald;

    *out = NULL;
    is_syslog = strcmp(spec, "syslog") == 0
                || strncmp(spec, "syslog:", 7) == 0;
    is_journald = strcmp(spec, "journald") == 0;
    if (!is_syslog && !is_journald) {
        if (spec[0] != '/') {
            return hg_err_set(err, HG_EINVAL, "'%s': a file's path must be "
                              "absolute (or syslog[:FACILITY[:SOCKET]], "
                              "journald)", spec);
        }
        return hg_evlog_open(spec, out, err);
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->spec = strdup(spec)) == NULL) {
        free(l);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", spec);
    }
    l->fd = -1;
    snprintf(l->ident, sizeof(l->ident), "%s",
             ident != NULL && *ident ? ident : "hashgate");
    pthread_mutex_init(&l->lock, NULL);
    if (is_syslog) {
        l->kind = HG_EVLOG_SYSLOG;
        st = hg_evsink_syslog_open(l, spec[6] == ':' ? spec + 7 : "", err);
    } else {
        l->kind = HG_EVLOG_JOURNALD;
        st = hg_evsink_journald_open(l, err);
    }
    if (st != HG_OK) {
        hg_evlog_close(l);
        return st;
    }
    *out = l;
    return HG_OK;
}

/* Is spec a destination's name? Syntax only: nothing is opened. */
hg_status_t
hg_evlog_spec_check(const char *spec, hg_err_t *err)
{
    const char  *sock;
    int          facility;

    if (strcmp(spec, "journald") == 0) {
        return HG_OK;
    }
    if (strcmp(spec, "syslog") == 0 || strncmp(spec, "syslog:", 7) == 0) {
        return hg_evsink_syslog_parse(spec, spec[6] == ':' ? spec + 7 : "",
                                      &facility, &sock, err);
    }
    if (spec[0] != '/') {
        return hg_err_set(err, HG_EINVAL, "'%s': a file's path must be "
                          "absolute (or syslog[:FACILITY[:SOCKET]], "
                          "journald)", spec);
    }
    return HG_OK;
}

/* Put next at the end of *head's chain (*head may be NULL). */
void
hg_evlog_append(hg_evlog_t **head, hg_evlog_t *next)
{
    while (*head != NULL) {
        head = &(*head)->next;
    }
    *head = next;
}

/* The destination's name as configured. */
const char *
hg_evlog_name(const hg_evlog_t *l)
{
    return l->spec;
}

/* Take (F_WRLCK) or drop (F_UNLCK) the whole-file lock; -1 if refused. */
static int
_hg_evlog_lock(int fd, short type)
{
    struct flock  fl;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;               /* to the end, however far it grows */
    while (fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

static hg_status_t
_hg_evlog_reopen_file(hg_evlog_t *l, hg_err_t *err)
{
    int  fd, old;

    fd = open(l->path, HG_EVLOG_FLAGS, HG_EVLOG_MODE);
    if (fd < 0) {
        return hg_err_sys(err, HG_EIO, "%s: cannot reopen evidence log",
                          l->path);
    }
    /*
     * Swapped under the mutex: no write is between the two files. The old
     * descriptor is closed there too, since closing any descriptor of a
     * file drops this process's record lock on it, which a writing thread
     * may hold when the path was not rotated.
     */
    pthread_mutex_lock(&l->lock);
    old = l->fd;
    l->fd = fd;
    close(old);
    pthread_mutex_unlock(&l->lock);
    return HG_OK;
}

/* Files are reopened; syslog and journald need nothing. The first
 * failure is returned, the others still reopened. */
hg_status_t
hg_evlog_reopen(hg_evlog_t *l, hg_err_t *err)
{
    hg_status_t  st = HG_OK;
    hg_err_t     e;

    for (; l != NULL; l = l->next) {
        if (l->kind == HG_EVLOG_FILE
            && _hg_evlog_reopen_file(l, &e) != HG_OK && st == HG_OK)
        {
            st = HG_EIO;
            *err = e;
        }
    }
    return st;
}

/* Close the chain; accepts NULL. */
void
hg_evlog_close(hg_evlog_t *l)
{
    hg_evlog_t  *next;

    for (; l != NULL; l = next) {
        next = l->next;
        if (l->fd >= 0) {
            close(l->fd);
        }
        pthread_mutex_destroy(&l->lock);
        free(l->path);
        free(l->spec);
        free(l);
    }
}

static hg_status_t _hg_evlog_write_file(hg_evlog_t *l, const hg_json_t *line,
                                        hg_err_t *err);

/*
 * Every destination of the chain is given the line, whatever an earlier
 * one did: a record the file took still goes to journald. The first
 * failure is returned (err names that destination).
 */
hg_status_t
hg_evlog_write(hg_evlog_t *l, const hg_json_t *line, hg_err_t *err)
{
    hg_status_t  st = HG_OK, r;
    hg_err_t     e;

    if (line->len == 0 || line->buf[line->len - 1] != '\n') {
        return hg_err_set(err, HG_EINVAL, "%s: record is not a finished line",
                          l != NULL ? l->spec : "evidence log");
    }
    for (; l != NULL; l = l->next) {
        switch (l->kind) {
        case HG_EVLOG_SYSLOG:
            r = hg_evsink_syslog_write(l, line->buf, line->len, &e);
            break;
        case HG_EVLOG_JOURNALD:
            r = hg_evsink_journald_write(l, line->buf, line->len, &e);
            break;
        default:
            r = _hg_evlog_write_file(l, line, &e);
            break;
        }
        if (r != HG_OK && st == HG_OK) {
            st = r;
            *err = e;
        }
    }
    return st;
}

static hg_status_t
_hg_evlog_write_file(hg_evlog_t *l, const hg_json_t *line, hg_err_t *err)
{
    ssize_t      n;
    off_t        end;
    hg_status_t  st = HG_OK;
    int          locked;

    pthread_mutex_lock(&l->lock);
    locked = _hg_evlog_lock(l->fd, F_WRLCK) == 0;
    do {
        n = write(l->fd, line->buf, line->len);
    } while (n < 0 && errno == EINTR);

    if (n < 0) {
        st = hg_err_sys(err, HG_EIO, "%s: cannot write evidence record",
                        l->path);
    } else if ((size_t) n != line->len) {
        /* with O_APPEND our offset is the end of the bytes we wrote */
        end = lseek(l->fd, 0, SEEK_CUR);
        if (end >= n && ftruncate(l->fd, end - n) == 0) {
            st = hg_err_set(err, HG_EIO, "%s: short write of evidence record"
                            " (%zd of %zu bytes; disk full?), removed",
                            l->path, n, line->len);
        } else {
            st = hg_err_sys(err, HG_EIO, "%s: short write of evidence record"
                            " and cannot remove it", l->path);
        }
    }
    if (locked) {
        (void) _hg_evlog_lock(l->fd, F_UNLCK);
    }
    pthread_mutex_unlock(&l->lock);
    return st;
}

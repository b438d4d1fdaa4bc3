/*
 * atomic_write.c - write a file beside its target, fsync, rename over it.
 *
 * Servers map the database file and an init script reads the pid file at
 * any moment, so neither may ever be seen half written: both are written
 * to a temp file in the same directory and renamed over the old one, which
 * is atomic within one file system. The fsyncs make the new contents and
 * the rename durable before the caller reports success.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashgate/atomic_write.h"

/* fsync the directory holding path, so the rename itself is durable. */
static int
_hg_fsync_dir(const char *path)
{
    char  *copy = strdup(path), *dir;
    int    fd, rc = -1;

    if (copy == NULL) {
        errno = ENOMEM;
        return -1;
    }
    dir = dirname(copy);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(copy);
    return rc;
}

hg_status_t
hg_atomic_write_begin(hg_atomic_write_t *aw, const char *path, mode_t mode,
                      unsigned flags, hg_err_t *err)
{
    aw->fd = -1;
    aw->path = path;
    aw->flags = flags;
    aw->tmp = malloc(strlen(path) + 8);
    if (aw->tmp == NULL) {
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", path);
    }
    sprintf(aw->tmp, "%s.XXXXXX", path);
    aw->fd = mkostemp(aw->tmp, O_CLOEXEC);
    if (aw->fd < 0) {
        hg_err_sys(err, HG_EIO, "%s: cannot create a temp file beside it",
                   path);
        free(aw->tmp);
        aw->tmp = NULL;
        return HG_EIO;
    }
    /* mkstemp made it 0600; e.g. a database is read by other users */
    if (fchmod(aw->fd, mode) != 0) {
        hg_err_sys(err, HG_EIO, "%s: fchmod", aw->tmp);
        hg_atomic_write_abort(aw);
        return HG_EIO;
    }
    return HG_OK;
}

hg_status_t
hg_atomic_write_commit(hg_atomic_write_t *aw, hg_err_t *err)
{
    int  fd = aw->fd;

    if (fsync(fd) != 0) {
        goto io;
    }
    if (aw->flags & HG_ATOMIC_WRITE_DONTNEED) {
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    }
    aw->fd = -1;
    if (close(fd) != 0) {
        goto io;
    }
    if (rename(aw->tmp, aw->path) != 0) {
        hg_err_sys(err, HG_EIO, "%s: cannot rename %s over it", aw->path,
                   aw->tmp);
        hg_atomic_write_abort(aw);
        return HG_EIO;
    }
    free(aw->tmp);
    aw->tmp = NULL;
    if (_hg_fsync_dir(aw->path) != 0) {
        return hg_err_sys(err, HG_EIO, "%s: fsync of its directory",
                          aw->path);
    }
    return HG_OK;

io:
    hg_err_sys(err, HG_EIO, "%s: writing %s", aw->path, aw->tmp);
    hg_atomic_write_abort(aw);
    return HG_EIO;
}

void
hg_atomic_write_abort(hg_atomic_write_t *aw)
{
    int  saved = errno;

    if (aw->fd >= 0) {
        close(aw->fd);
        aw->fd = -1;
    }
    if (aw->tmp != NULL) {
        unlink(aw->tmp);
        free(aw->tmp);
        aw->tmp = NULL;
    }
    errno = saved;
}

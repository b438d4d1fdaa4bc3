/*
 * atomic_write.h - replace a file so a reader never sees it half written.
 *
 * The new contents go to a temp file beside the target (same directory,
 * so the same file system), which is fsync'ed and renamed over the target;
 * the directory is fsync'ed so the rename itself survives a crash. A
 * reader opening the path sees the old file or the new one, whole. This is
 * how the compiled database (hg_dbb_write) and the milter's pid file are
 * written.
 *
 * The temp file is made by mkstemp: a new name, created exclusively, so a
 * link someone left in the directory is never followed (a root process
 * writing in a directory another user owns stays safe).
 *
 * Usage: hg_atomic_write_begin, write to aw.fd, hg_atomic_write_commit;
 * hg_atomic_write_abort on any failure in between.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_ATOMIC_WRITE_H
#define HASHGATE_ATOMIC_WRITE_H

#include <sys/types.h>

#include "hashgate/status.h"

/* Once the file is on disk, drop its pages from the page cache (a hint). */
#define HG_ATOMIC_WRITE_DONTNEED  0x1

typedef struct {
    int         fd;         /* the temp file, open for writing; -1 when done */
    char       *tmp;        /* its name, for messages; NULL when done */
    const char *path;       /* the target, as given to begin */
    unsigned    flags;
} hg_atomic_write_t;

/*
 * Create a temp file beside path with the given mode (umask not applied).
 * path must stay valid until commit or abort. On failure (HG_EIO,
 * HG_ENOMEM; err names path or the temp file) nothing is left behind and
 * aw needs no abort.
 */
hg_status_t hg_atomic_write_begin(hg_atomic_write_t *aw, const char *path,
                                  mode_t mode, unsigned flags, hg_err_t *err);

/*
 * fsync and close the temp file, rename it over path, fsync the directory.
 * On a failure before the rename the temp file is removed and path is
 * untouched (HG_EIO, "path: writing tmp" or "path: cannot rename tmp over
 * it"); if only the directory fsync fails, the new file is in place and
 * HG_EIO says "fsync of its directory". aw is finished either way.
 */
hg_status_t hg_atomic_write_commit(hg_atomic_write_t *aw, hg_err_t *err);

/* Give up: close and remove the temp file. Does nothing once finished. */
void hg_atomic_write_abort(hg_atomic_write_t *aw);

#endif

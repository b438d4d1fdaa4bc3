/*
 * db_watch.h - watch the database file at a path: is there a new one to
 * load, is the one there the file in use, or one refused before?
 *
 * A server loads its database once and swaps to a new file when one is
 * put in place. The watcher keeps what that takes, one copy for every
 * server: the identity (device, inode, size, mtime) of the file the
 * database in use came from, the identity of the last file refused (not
 * opened again until it changes), and whether a missing file was already
 * reported. It opens nothing and logs nothing: hg_db_watch_check says what
 * to do, the caller opens and verifies a new file (hg_db_open with
 * HG_DB_OPEN_VERIFY, on whatever thread suits it) and reports the outcome
 * with hg_db_watch_loaded or hg_db_watch_refused. Where there is something
 * to log, the message is handed back and the caller logs it, adding what
 * its own fail mode does.
 *
 * A file rewritten in place (the same inode as the file in use) is the one
 * the database in use maps: if it is refused, hg_db_watch_refused says
 * HG_DB_WATCH_SPOILED, and the caller must stop using its database.
 *
 * One watcher is used from one thread at a time (the caller's lock, or a
 * single thread); it holds no resources and needs no freeing.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_DB_WATCH_H
#define HASHGATE_DB_WATCH_H

#include <sys/types.h>
#include <time.h>

#include "hashgate/status.h"

/* What identifies one file: a rename over the path changes dev/ino, a
 * rewrite in place changes size or mtime. */
typedef struct {
    int             valid;
    dev_t           dev;
    ino_t           ino;
    off_t           size;
    struct timespec mtime;
} hg_db_ident_t;

typedef struct {
    const char     *path;       /* not copied: must outlive the watcher */
    hg_db_ident_t   used;       /* the file of the database in use */
    hg_db_ident_t   refused;    /* the last file refused */
    int             missing;    /* the missing file was reported */
} hg_db_watch_t;

typedef enum {
    HG_DB_WATCH_SAME = 0,   /* the file in use is there: nothing to do */
    HG_DB_WATCH_REFUSED,    /* the file refused last time is there, unchanged */
    HG_DB_WATCH_MISSING,    /* no file at the path (cannot stat it) */
    HG_DB_WATCH_NEW,        /* another file: open it, report the outcome */
    HG_DB_WATCH_SPOILED     /* from _refused: the file in use, changed in place */
} hg_db_watch_state_t;

/* Start watching path; no file is in use yet. */
void hg_db_watch_init(hg_db_watch_t *w, const char *path);

/*
 * Look at the file at the path (one stat). HG_DB_WATCH_NEW fills *id, to
 * be passed back to hg_db_watch_loaded or hg_db_watch_refused once the
 * file was opened or refused. force asks for NEW even for the file in use
 * or the one refused (an operator's explicit reload: SIGHUP). msg is
 * cleared, and set only when there is something to log: a missing file,
 * the first time it is found missing after being there (or at the first
 * check).
 */
hg_db_watch_state_t hg_db_watch_check(hg_db_watch_t *w, int force,
                                      hg_db_ident_t *id, hg_err_t *msg);

/* The file id was opened and verified: it is now the one in use. */
void hg_db_watch_loaded(hg_db_watch_t *w, const hg_db_ident_t *id);

/*
 * The file id could not be used (why: the open's error). It is not
 * offered again until it changes. Returns HG_DB_WATCH_SPOILED when it is
 * the file in use, changed in place: the caller must drop its database,
 * whose mapping shows the changed bytes; no file is in use after that.
 * Otherwise HG_DB_WATCH_REFUSED, and the database in use stays. msg says
 * which, for the log.
 */
hg_db_watch_state_t hg_db_watch_refused(hg_db_watch_t *w,
                                        const hg_db_ident_t *id,
                                        const hg_err_t *why, hg_err_t *msg);

/*
 * The caller dropped the database in use for a reason of its own (its
 * mapping was lost under it, see hg_db_lost): no file is in use, and the
 * next check offers any file that was not refused.
 */
void hg_db_watch_dropped(hg_db_watch_t *w);

#endif

/*
 * db_watch.c - which database file is in use, and whether the one at the
 * path now is worth opening.
 *
 * The milter (its reload thread) and every nginx worker (its refresh
 * timer) look at the database path now and then. Opening a file means
 * mapping and verifying it, O(size), so they open only a file that is not
 * the one in use and not the one refused last: the identity kept here
 * decides. A file is identified by device and inode (a rename over the
 * path changes them) plus size and mtime to the nanosecond (a rewrite in
 * place changes those); a rewrite that keeps all four is not seen, which
 * is why a database is replaced by rename (see db.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "hashgate/db_watch.h"

static void
_hg_ident(const struct stat *st, hg_db_ident_t *id)
{
    id->valid = 1;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

static int
_hg_ident_same(const hg_db_ident_t *a, const hg_db_ident_t *b)
{
    return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino
           && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec
           && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

void
hg_db_watch_init(hg_db_watch_t *w, const char *path)
{
    memset(w, 0, sizeof(*w));
    w->path = path;
}

hg_db_watch_state_t
hg_db_watch_check(hg_db_watch_t *w, int force, hg_db_ident_t *id,
                  hg_err_t *msg)
{
    struct stat  st;

    msg->msg[0] = '\0';
    if (stat(w->path, &st) != 0) {
        if (!w->missing) {
            w->missing = 1;
            hg_err_sys(msg, HG_EIO, "database %s unavailable", w->path);
        }
        return HG_DB_WATCH_MISSING;
    }
    w->missing = 0;
    _hg_ident(&st, id);
    if (!force && _hg_ident_same(id, &w->used)) {
        return HG_DB_WATCH_SAME;
    }
    if (!force && _hg_ident_same(id, &w->refused)) {
        return HG_DB_WATCH_REFUSED;
    }
    return HG_DB_WATCH_NEW;
}

void
hg_db_watch_loaded(hg_db_watch_t *w, const hg_db_ident_t *id)
{
    w->used = *id;
    w->refused.valid = 0;
}

hg_db_watch_state_t
hg_db_watch_refused(hg_db_watch_t *w, const hg_db_ident_t *id,
                    const hg_err_t *why, hg_err_t *msg)
{
    w->refused = *id;
    if (w->used.valid && id->dev == w->used.dev && id->ino == w->used.ino) {
        w->used.valid = 0;
        hg_err_set(msg, HG_EFORMAT, "database %s was modified in place and "
                   "is unusable: %s", w->path, why->msg);
        return HG_DB_WATCH_SPOILED;
    }
    hg_err_set(msg, HG_EFORMAT, "new database refused: %s", why->msg);
    return HG_DB_WATCH_REFUSED;
}

void
hg_db_watch_dropped(hg_db_watch_t *w)
{
    w->used.valid = 0;
}

/*
 * reload.c - the database in use, and swapping it without losing a message.
 *
 * One handle is "current". A message takes a reference to it when it
 * starts (hg_reload_current) and keeps scanning with that handle to its
 * end; a reload only replaces "current", and the old mapping goes when its
 * last message lets go (hg_db_close drops a reference). A new file is
 * opened and fully verified before it replaces anything, so a truncated,
 * garbage or half-copied file is refused, logged once, and the old
 * database stays in use. A deleted file is logged once and changes nothing.
 * The one exception is the mapped file itself rewritten in place (same
 * inode): the old database is those very bytes, so it is dropped and mail
 * gets OnFail until a good file comes; a truncation that takes pages away
 * under a message is survived by the SIGBUS guard (hg_db_guard_install,
 * main.c), which marks the handle lost.
 * Started without a usable file, there is no current database (every mail
 * gets OnFail) until a good file appears.
 *
 * Two things trigger a check: SIGHUP (reopen whatever is there; the
 * evidence log is reopened too, for logrotate) and every
 * ReloadInterval seconds an identity check (st_dev, st_ino, st_size,
 * st_mtime) that reopens only when the file changed. Both run in one
 * thread, which waits for SIGHUP with sigtimedwait().
 *
 * SIGHUP and libmilter: libmilter's own signal thread sigwait()s for
 * SIGHUP, SIGTERM and SIGINT and stops the milter on any of them, so a
 * second thread waiting for SIGHUP would win it only sometimes. We
 * interpose sigwait(), which libmilter alone calls in this program: its
 * set loses SIGHUP, and SIGHUP is then only ever taken by our thread
 * (which uses sigtimedwait, not sigwait). SIGTERM and SIGINT still stop
 * the milter the libmilter way.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "milter.h"

typedef struct {
    int             valid;
    dev_t           dev;
    ino_t           ino;
    off_t           size;
    struct timespec mtime;
} ident_t;

static pthread_mutex_t  lock = PTHREAD_MUTEX_INITIALIZER;
static hg_db_t         *current;         /* under lock */
static char             db_path[HG_CONF_PATH_MAX];
static ident_t          cur_id;         /* file as it was when opened */
static ident_t          bad_id;         /* last refused file, not retried */
static int              missing_logged;
static unsigned long    nreloads;

/* Only the reload thread and start-up call _check, so no lock is needed
 * for the identities; "current" is read by every milter thread. */

static void
_ident(const struct stat *st, ident_t *id)
{
    id->valid = 1;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

static int
_same(const ident_t *a, const ident_t *b)
{
    return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino
           && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec
           && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void
_describe(const hg_db_t *db, char *out, size_t outlen)
{
    size_t  i, n = hg_db_nlists(db), off;

    off = (size_t) snprintf(out, outlen, "lists=%zu", n);
    for (i = 0; i < n && off < outlen; i++) {
        hg_db_list_t    l;

        if (hg_db_list(db, i, &l) != HG_OK) {
            continue;
        }
        off += (size_t) snprintf(out + off, outlen - off, "%s%s%s%s(%llu)",
                                 i == 0 ? " " : ",", l.name,
                                 l.version[0] ? ":" : "", l.version,
                                 (unsigned long long) l.entries);
    }
}

hg_status_t
hg_reload_init(const char *path, hg_err_t *err)
{
    struct stat st;
    hg_db_t    *db;
    hg_status_t rc;
    char        desc[512];

    if (strlen(path) >= sizeof(db_path)) {
        return hg_err_set(err, HG_EINVAL, "%s: path too long", path);
    }
    strcpy(db_path, path);
    if (stat(path, &st) != 0) {
        missing_logged = 1;
        return hg_err_sys(err, HG_EIO, "database %s", path);
    }
    if ((rc = hg_db_open(path, HG_DB_OPEN_VERIFY, &db, err)) != HG_OK) {
        /* not retried until the file changes (or SIGHUP) */
        _ident(&st, &bad_id);
        return rc;
    }
    _ident(&st, &cur_id);
    pthread_mutex_lock(&lock);
    current = db;
    pthread_mutex_unlock(&lock);
    _describe(db, desc, sizeof(desc));
    hg_log(HG_LOG_INFO, "database loaded path=%s %s", path, desc);
    return HG_OK;
}

hg_db_t *
hg_reload_current(void)
{
    hg_db_t    *db = NULL;

    pthread_mutex_lock(&lock);
    /* a lost mapping reads as zeros: no message may start on it */
    if (current != NULL && !hg_db_lost(current)) {
        db = hg_db_ref(current);
    }
    pthread_mutex_unlock(&lock);
    return db;
}

/*
 * The file we have mapped was rewritten in place, not replaced by rename:
 * our mapping shows (or, where pages were cut off, lost) its new bytes,
 * so it can no longer be trusted. Drop it: every mail gets OnFail until a
 * good file is installed, which the identity check then loads.
 */
static void
_drop_spoiled(const char *why)
{
    hg_db_t    *old;

    pthread_mutex_lock(&lock);
    old = current;
    current = NULL;
    pthread_mutex_unlock(&lock);
    if (old == NULL) {
        return;
    }
    cur_id.valid = 0;
    hg_log(HG_LOG_ALERT, "database %s %s; every mail gets OnFail until a "
           "good file is installed by rename", db_path, why);
    hg_db_close(old);
}

int
hg_reload_check(int force)
{
    struct stat st;
    ident_t     id;
    hg_db_t    *db, *old;
    hg_err_t    err;
    char        desc[512];
    int         lost;

    pthread_mutex_lock(&lock);
    lost = hg_db_lost(current);
    pthread_mutex_unlock(&lock);
    if (lost) {
        _drop_spoiled("was truncated in place under its mapping");
    }
    if (stat(db_path, &st) != 0) {
        if (!missing_logged) {
            hg_log(HG_LOG_ERR, "database %s: %s; keeping the loaded one",
                   db_path, strerror(errno));
            missing_logged = 1;
        }
        return 0;
    }
    missing_logged = 0;
    _ident(&st, &id);
    if (!force && (_same(&id, &cur_id) || _same(&id, &bad_id))) {
        return 0;
    }
    if (hg_db_open(db_path, HG_DB_OPEN_VERIFY, &db, &err) != HG_OK) {
        if (cur_id.valid && id.dev == cur_id.dev && id.ino == cur_id.ino) {
            bad_id = id;
            _drop_spoiled("was modified in place and is unusable");
            hg_log(HG_LOG_ERR, "database reload refused: %s", err.msg);
            return 0;
        }
        if (force || !_same(&id, &bad_id)) {
            hg_log(HG_LOG_ERR, "database reload refused: %s; keeping the "
                   "loaded one", err.msg);
        }
        bad_id = id;
        return 0;
    }
    pthread_mutex_lock(&lock);
    old = current;
    current = db;
    pthread_mutex_unlock(&lock);
    cur_id = id;
    bad_id.valid = 0;
    nreloads++;
    hg_db_close(old);
    _describe(db, desc, sizeof(desc));
    hg_log(HG_LOG_NOTICE, "database reloaded path=%s %s", db_path, desc);
    return 1;
}

unsigned long
hg_reload_count(void)
{
    return nreloads;
}

void
hg_reload_shutdown(void)
{
    hg_db_t    *old;

    pthread_mutex_lock(&lock);
    old = current;
    current = NULL;
    pthread_mutex_unlock(&lock);
    hg_db_close(old);
}

static void *
_reload_thread(void *arg)
{
    unsigned        interval = *(unsigned *) arg;
    sigset_t        set;
    struct timespec ts;
    int             sig;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    for (;;) {
        if (interval > 0) {
            ts.tv_sec = interval;
            ts.tv_nsec = 0;
            sig = sigtimedwait(&set, NULL, &ts);
        } else {
            sig = sigwaitinfo(&set, NULL);
        }
        if (sig == SIGHUP) {
            hg_log(HG_LOG_INFO, "SIGHUP: reopening the evidence log, "
                   "checking the database");
            hg_evidence_reopen();
            hg_reload_check(1);
        } else if (sig < 0 && errno == EAGAIN) {
            hg_reload_check(0);
        }
    }
    return NULL;
}

int
hg_reload_thread_start(unsigned interval)
{
    static unsigned iv;
    pthread_t       tid;
    sigset_t        set;

    iv = interval;
    /* blocked here, inherited by every thread libmilter starts later */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        return -1;
    }
    if (pthread_create(&tid, NULL, _reload_thread, &iv) != 0) {
        return -1;
    }
    pthread_detach(tid);
    return 0;
}

/* the signal libmilter's thread stopped the milter on, 0 if none yet */
static atomic_int  stop_signal;

int
hg_reload_stop_signal(void)
{
    return atomic_load(&stop_signal);
}

/*
 * The interposed sigwait() (see the top of this file): libmilter's signal
 * thread calls it; SIGHUP is taken out of the set so it never stops us.
 * The signal it returns is remembered (hg_reload_stop_signal). Returns as
 * POSIX sigwait does: 0 or an error number.
 */
int
sigwait(const sigset_t *restrict set, int *restrict sig)
{
    sigset_t    mine = *set;
    int         r;

    sigdelset(&mine, SIGHUP);
    do {
        r = sigwaitinfo(&mine, NULL);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return errno;
    }
    atomic_store(&stop_signal, r);
    *sig = r;
    return 0;
}

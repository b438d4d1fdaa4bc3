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
 * ReloadInterval seconds an identity check that reopens only when the
 * file changed (the watcher, hg_db_watch_check, shared with the nginx
 * module, decides; the messages it hands back are logged here). Both run
 * in one thread, which waits for SIGHUP with sigtimedwait().
 *
 * SIGHUP and libmilter: libmilter's own signal thread sigwait()s for
 * SIGHUP, SIGTERM and SIGINT and stops the milter on any of them, so a
 * second thread waiting for SIGHUP would win it only sometimes. We
 * interpose sigwait(), which libmilter alone calls in this program: its
 * set loses SIGHUP, and SIGHUP is then only ever taken by our thread
 * (which uses sigtimedwait, not sigwait). SIGTERM and SIGINT still stop
 * the milter the libmilter way.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "hashgate/db_watch.h"
#include "milter.h"

static pthread_mutex_t  lock = PTHREAD_MUTEX_INITIALIZER;
static hg_db_t         *current;         /* under lock */
static char             db_path[HG_CONF_PATH_MAX];
static hg_db_watch_t    watch;
static unsigned long    nreloads;
static const hg_db_keys_t *db_keys;     /* RequireSignature; owned by the conf */

/* Only the reload thread and start-up call _check, so no lock is needed
 * for the watcher; "current" is read by every milter thread. */

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
hg_reload_init(const char *path, const hg_db_keys_t *keys, hg_err_t *err)
{
    hg_db_ident_t   id;
    hg_db_t        *db;
    hg_status_t     rc;
    hg_err_t        why;
    char            desc[512];

    if (strlen(path) >= sizeof(db_path)) {
        return hg_err_set(err, HG_EINVAL, "%s: path too long", path);
    }
    strcpy(db_path, path);
    db_keys = keys;
    hg_db_watch_init(&watch, db_path);
    if (hg_db_watch_check(&watch, 1, &id, err) == HG_DB_WATCH_MISSING) {
        return HG_EIO;
    }
    if ((rc = hg_db_open_trusted(path, HG_DB_OPEN_VERIFY, db_keys, &db, err))
        != HG_OK)
    {
        /* not retried until the file changes (or SIGHUP) */
        why = *err;
        (void) hg_db_watch_refused(&watch, &id, &why, err);
        *err = why;
        return rc;
    }
    hg_db_watch_loaded(&watch, &id);
    pthread_mutex_lock(&lock);
    current = db;
    pthread_mutex_unlock(&lock);
    hg_metrics_db_loaded(hg_milter_metrics, db, &id, time(NULL));
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
 * The database in use can no longer be trusted (its file was changed in
 * place under the mapping): drop it. Every mail gets OnFail until a good
 * file is installed, which the next check then loads.
 */
static void
_drop_spoiled(void)
{
    hg_db_t    *old;

    pthread_mutex_lock(&lock);
    old = current;
    current = NULL;
    pthread_mutex_unlock(&lock);
    hg_db_close(old);
}

/* What stays in use after a file was refused or found missing. */
static const char *
_keeping(void)
{
    hg_db_t    *db = hg_reload_current();

    hg_db_close(db);
    return db != NULL ? "keeping the loaded one"
                      : "still no database: every mail gets OnFail";
}

int
hg_reload_check(int force)
{
    hg_db_ident_t   id;
    hg_db_t        *db, *old;
    hg_err_t        err, msg;
    char            desc[512];
    int             lost;

    pthread_mutex_lock(&lock);
    lost = current != NULL && hg_db_lost(current);
    pthread_mutex_unlock(&lock);
    if (lost) {
        /* hg_scan_end logged it as the reason a mail was not checked */
        _drop_spoiled();
        hg_db_watch_dropped(&watch);
        hg_metrics_db_dropped(hg_milter_metrics);
        hg_log(HG_LOG_ALERT, "database %s was truncated in place under its "
               "mapping; every mail gets OnFail until a good file is "
               "installed by rename", db_path);
    }
    switch (hg_db_watch_check(&watch, force, &id, &msg)) {
    case HG_DB_WATCH_NEW:
        break;
    case HG_DB_WATCH_MISSING:
        if (msg.msg[0] != '\0') {
            hg_log(HG_LOG_ERR, "%s; %s", msg.msg, _keeping());
        }
        return 0;
    default:
        return 0;
    }
    if (hg_db_open_trusted(db_path, HG_DB_OPEN_VERIFY, db_keys, &db, &err)
        != HG_OK)
    {
        hg_metrics_db_refused(hg_milter_metrics, &id);
        if (hg_db_watch_refused(&watch, &id, &err, &msg)
            == HG_DB_WATCH_SPOILED)
        {
            _drop_spoiled();
            hg_metrics_db_dropped(hg_milter_metrics);
            hg_log(HG_LOG_ALERT, "%s; every mail gets OnFail until a good "
                   "file is installed by rename", msg.msg);
            return 0;
        }
        hg_log(HG_LOG_ERR, "%s; %s", msg.msg, _keeping());
        return 0;
    }
    pthread_mutex_lock(&lock);
    old = current;
    current = db;
    pthread_mutex_unlock(&lock);
    hg_db_watch_loaded(&watch, &id);
    nreloads++;
    hg_metrics_db_loaded(hg_milter_metrics, db, &id, time(NULL));
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

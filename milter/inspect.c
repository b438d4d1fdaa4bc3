/*
 * inspect.c - the milter's archive inspection helpers: a few
 * hashgate-inspect processes (InspectHelpers) shared by every session.
 *
 * A session borrows a helper for one container part and gives it back at
 * the part's end (hg_mail_scan_set_inspect): helpers are processes of up
 * to HG_INSPECT_MEMORY each, so there are a few, not one a session, and a
 * message waits for one only while other messages' archives are open. A
 * session that cannot get one within ArchiveTimeout gives the part the
 * fail verdict (it would otherwise hold Postfix past its own timeouts).
 *
 * Each helper is started at start-up, from the main thread and after the
 * privileges are dropped, by opening an empty zip: that proves the helper
 * runs and its sandbox loads on this system before any mail is accepted.
 * One that dies later (crash, kill, its time limit) is started again by
 * the client on its next use (common/inspect/client.c); a new pid is
 * logged when a session gives a helper back.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"

typedef struct {
    hg_inspector_t     *in;
    pid_t               pid;        /* the last one seen, to see restarts */
    int                 busy;
} helper_t;

static pthread_mutex_t  pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   pool_cond;
static helper_t        *helpers;
static size_t           nhelpers;
static unsigned         wait_ms;

/* An empty zip: its end-of-central-directory record alone. */
static const unsigned char empty_zip[22] = { 'P', 'K', 5, 6 };

static hg_status_t
_no_entries(void *ctx, const hg_inspect_entry_t *e)
{
    (void) ctx;
    (void) e;
    return HG_EFORMAT;
}

hg_status_t
hg_inspect_pool_init(const hg_mconf_t *c, hg_err_t *err)
{
    pthread_condattr_t  ca;
    size_t              i;

    if (pthread_condattr_init(&ca) != 0
        || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0
        || pthread_cond_init(&pool_cond, &ca) != 0)
    {
        return hg_err_set(err, HG_ENOMEM, "inspection helpers: no "
                          "condition variable");
    }
    pthread_condattr_destroy(&ca);
    if ((helpers = calloc(c->inspect_helpers, sizeof(*helpers))) == NULL) {
        return hg_err_set(err, HG_ENOMEM, "inspection helpers: out of "
                          "memory");
    }
    wait_ms = c->archive_limits.timeout_ms;
    for (i = 0; i < c->inspect_helpers; i++) {
        /* checks the program is there; starts nothing yet */
        if ((helpers[i].in = hg_inspector_new(c->inspect_helper, err))
            == NULL)
        {
            return HG_EIO;
        }
        nhelpers++;
    }
    return HG_OK;
}

/*
 * Start each helper on an empty zip. Returns HG_EIO with err saying why
 * when one does not answer (it died: the sandbox cannot load here, the
 * program is broken).
 */
hg_status_t
hg_inspect_pool_start(const hg_mconf_t *c, hg_err_t *err)
{
    hg_inspect_done_t   done;
    size_t              i;
    int                 fd;

    fd = memfd_create("hashgate-selftest", MFD_CLOEXEC);
    if (fd < 0 || write(fd, empty_zip, sizeof(empty_zip))
                  != (ssize_t) sizeof(empty_zip))
    {
        hg_err_sys(err, HG_EIO, "inspection helpers: a memfd for the "
                   "start-up check");
        if (fd >= 0) {
            close(fd);
        }
        return HG_EIO;
    }
    for (i = 0; i < nhelpers; i++) {
        memset(&done, 0, sizeof(done));
        (void) hg_inspect_run(helpers[i].in, fd, sizeof(empty_zip),
                              HG_ALG_BIT(HG_ALG_SHA256), &c->archive_limits,
                              _no_entries, NULL, &done);
        /* an answer of any kind but a dead helper's will do */
        if (done.st == HG_EIO || done.st == HG_ENOMEM
            || hg_inspector_pid(helpers[i].in) <= 0)
        {
            close(fd);
            return hg_err_set(err, HG_EIO, "inspection helper %zu of %zu "
                              "does not run: %s", i + 1, nhelpers,
                              done.why[0] ? done.why
                                          : hg_status_str(done.st));
        }
        helpers[i].pid = hg_inspector_pid(helpers[i].in);
    }
    close(fd);
    return HG_OK;
}

/* A free helper, waiting up to wait_ms for one; NULL with err. */
static hg_inspector_t *
_borrow(void *pool, hg_err_t *err)
{
    struct timespec     until;
    size_t              i;
    int                 rc = 0;

    (void) pool;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        for (i = 0; i < nhelpers; i++) {
            if (!helpers[i].busy) {
                helpers[i].busy = 1;
                pthread_mutex_unlock(&pool_lock);
                return helpers[i].in;
            }
        }
        if (nhelpers == 0 || rc == ETIMEDOUT) {
            break;
        }
        rc = pthread_cond_timedwait(&pool_cond, &pool_lock, &until);
    }
    pthread_mutex_unlock(&pool_lock);
    hg_err_set(err, HG_EIO, "all %zu inspection helpers busy for %u s "
               "(InspectHelpers)", nhelpers, wait_ms / 1000);
    return NULL;
}

static void
_give_back(void *pool, hg_inspector_t *in)
{
    size_t  i;
    pid_t   pid = hg_inspector_pid(in), was = 0;

    (void) pool;
    pthread_mutex_lock(&pool_lock);
    for (i = 0; i < nhelpers; i++) {
        if (helpers[i].in == in) {
            /* one killed (a stop mid-archive, a failure) is started on its
             * next use: the pid it had stays until then */
            was = helpers[i].pid;
            if (pid > 0) {
                helpers[i].pid = pid;
            }
            helpers[i].busy = 0;
            break;
        }
    }
    pthread_cond_signal(&pool_cond);
    pthread_mutex_unlock(&pool_lock);
    if (pid > 0 && was > 0 && pid != was) {
        hg_metrics_helper_restart(hg_milter_metrics);
        /* a failure was logged with its mail; this is also the restart
         * after a reject stopped a helper mid-archive (client.c) */
        hg_log(HG_LOG_INFO, "inspection helper pid=%ld started in place "
               "of pid=%ld (restarts=%llu)", (long) pid, (long) was,
               (unsigned long long) hg_inspector_restarts(in));
    }
}

void
hg_inspect_pool_source(const hg_mconf_t *c, hg_mail_inspect_t *mi)
{
    memset(mi, 0, sizeof(*mi));
    mi->borrow = _borrow;
    mi->give_back = _give_back;
    mi->pool = NULL;
    mi->limits = c->archive_limits;
    mi->images = c->images;
}

/* The pids of the helpers, for the log at start. */
void
hg_inspect_pool_pids(char *out, size_t outlen)
{
    size_t  i, n = 0;

    out[0] = '\0';
    for (i = 0; i < nhelpers && n < outlen; i++) {
        n += (size_t) snprintf(out + n, outlen - n, "%s%ld", i ? "," : "",
                               (long) hg_inspector_pid(helpers[i].in));
    }
}

void
hg_inspect_pool_shutdown(void)
{
    size_t  i;

    for (i = 0; i < nhelpers; i++) {
        hg_inspector_free(helpers[i].in);
    }
    free(helpers);
    helpers = NULL;
    nhelpers = 0;
}

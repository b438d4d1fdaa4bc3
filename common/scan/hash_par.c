/*
 * hash_par.c - helper threads for the digests of one large object.
 *
 * When more than one digest is computed, hg_hash_update can run one
 * algorithm on a helper thread while the caller computes the others on the
 * same bytes, and join before it returns (hash.c). A helper is taken from a
 * small pool shared by every context of a process (the milter) or of a
 * worker (nginx): when all are busy, the caller hashes alone, so a busy
 * host never queues work behind a helper, and the number of threads stays
 * what the operator set. A join costs a wake-up and usually a sleep on each
 * side (tens of microseconds on a virtual machine), so hash.c only splits
 * updates of at least "min" bytes.
 *
 * A helper woken when no core is idle is queued by the scheduler on the
 * caller's own core, behind it, even when the other cores run only niced
 * background work: so before a split the helper is kept off the caller's
 * current core (its affinity: the caller's allowed CPUs but that one; set
 * again only when the caller moved), where it preempts low-priority work
 * at once. Measured here with a nice 19 job on the other core: MD5 beside
 * SHA-1 took as long as both in turn, and as long as MD5 alone with the
 * helper kept off. A worker pinned to one CPU leaves it nowhere else to
 * go. And a caller that finds its job not yet started when it is done
 * with its own share takes it back and runs it itself, so a busy host pays
 * about a wake-up per split instead of waiting for a thread that got no
 * core.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/thread.h"
#include "scan/hash_par.h"

enum {
    HG_PAR_IDLE = 0,
    HG_PAR_RUN,         /* posted, not started */
    HG_PAR_BUSY,        /* the helper runs it */
    HG_PAR_DONE,
    HG_PAR_QUIT
};

struct hg_par_helper_s {
    pthread_t            thread;
    pthread_mutex_t      lock;
    pthread_cond_t       go;         /* state became RUN or QUIT */
    pthread_cond_t       done;       /* state became DONE */
    int                  state;
    int                  started;    /* the thread exists */
    int                  off_cpu;    /* kept off this CPU, -1: none */
    void               (*fn)(void *arg);
    void                *arg;
    hg_par_helper_t     *next;       /* in the pool's idle list */
};

struct hg_hash_par_s {
    size_t               min;
    unsigned             n;
    pthread_mutex_t      lock;       /* idle */
    hg_par_helper_t     *idle;
    hg_par_helper_t     *helpers;    /* n of them */
    uint64_t             splits;     /* joins, under lock */
    uint64_t             taken_back; /* jobs the caller ran itself */
};

static void *
_helper_main(void *arg)
{
    hg_par_helper_t  *w = arg;

    hg_thread_block_signals();

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->state != HG_PAR_RUN && w->state != HG_PAR_QUIT) {
            pthread_cond_wait(&w->go, &w->lock);
        }
        if (w->state == HG_PAR_QUIT) {
            break;
        }
        w->state = HG_PAR_BUSY;
        pthread_mutex_unlock(&w->lock);

        w->fn(w->arg);

        pthread_mutex_lock(&w->lock);
        w->state = HG_PAR_DONE;
        pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/*
 * A pool of helpers threads (1 to 64) for updates of at least min bytes
 * (at least 64 KiB). Start it after any fork: threads do not survive one.
 */
hg_hash_par_t *
hg_hash_par_new(size_t min, unsigned helpers, hg_err_t *err)
{
    hg_hash_par_t    *par;
    hg_par_helper_t  *w;
    pthread_attr_t    attr;
    unsigned          i;
    int               e;

    if (helpers < 1 || helpers > HG_HASH_PAR_MAX_HELPERS
        || min < HG_HASH_PAR_MIN_MIN)
    {
        hg_err_set(err, HG_EINVAL, "parallel digests: %u helpers for "
                   "updates of %zu bytes (1 to %d helpers, at least %d "
                   "bytes)", helpers, min, HG_HASH_PAR_MAX_HELPERS,
                   HG_HASH_PAR_MIN_MIN);
        return NULL;
    }
    par = calloc(1, sizeof(*par));
    if (par == NULL) {
        hg_err_set(err, HG_ENOMEM, "parallel digests: out of memory");
        return NULL;
    }
    par->helpers = calloc(helpers, sizeof(*par->helpers));
    if (par->helpers == NULL || pthread_mutex_init(&par->lock, NULL) != 0) {
        free(par->helpers);
        free(par);
        hg_err_set(err, HG_ENOMEM, "parallel digests: out of memory");
        return NULL;
    }
    par->min = min;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (i = 0; i < helpers; i++) {
        w = &par->helpers[i];
        if (pthread_mutex_init(&w->lock, NULL) != 0
            || pthread_cond_init(&w->go, NULL) != 0
            || pthread_cond_init(&w->done, NULL) != 0)
        {
            e = -1;
        } else {
            e = pthread_create(&w->thread, &attr, _helper_main, w);
        }
        if (e != 0) {
            pthread_attr_destroy(&attr);
            par->n = i;
            hg_hash_par_free(par);
            hg_err_set(err, HG_ENOMEM, "parallel digests: cannot start "
                       "helper thread %u of %u", i + 1, helpers);
            return NULL;
        }
        w->started = 1;
        w->off_cpu = -1;
        w->next = par->idle;
        par->idle = w;
        par->n = i + 1;
    }
    pthread_attr_destroy(&attr);
    return par;
}

/* Stops the helpers; no context may be using the pool. Accepts NULL. */
void
hg_hash_par_free(hg_hash_par_t *par)
{
    hg_par_helper_t  *w;
    unsigned          i;

    if (par == NULL) {
        return;
    }
    for (i = 0; i < par->n; i++) {
        w = &par->helpers[i];
        if (!w->started) {
            continue;
        }
        pthread_mutex_lock(&w->lock);
        w->state = HG_PAR_QUIT;
        pthread_cond_signal(&w->go);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
    }
    free(par->helpers);
    free(par);
}

size_t
hg_hash_par_min(const hg_hash_par_t *par)
{
    return par->min;
}

hg_par_helper_t *
hg_hash_par_take(hg_hash_par_t *par)
{
    hg_par_helper_t  *w;

    pthread_mutex_lock(&par->lock);
    w = par->idle;
    if (w != NULL) {
        par->idle = w->next;
    }
    pthread_mutex_unlock(&par->lock);
    return w;
}

/* Keep w off the caller's current CPU (see the top of the file). */
static void
_keep_off_caller(hg_par_helper_t *w)
{
    cpu_set_t  set;
    int        cpu = sched_getcpu();

    if (cpu < 0 || cpu == w->off_cpu || cpu >= CPU_SETSIZE) {
        return;
    }
    w->off_cpu = cpu;
    if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
        return;
    }
    CPU_CLR(cpu, &set);
    if (CPU_COUNT(&set) > 0) {
        (void) pthread_setaffinity_np(w->thread, sizeof(set), &set);
    }
}

void
hg_hash_par_start(hg_par_helper_t *w, void (*fn)(void *arg), void *arg)
{
    _keep_off_caller(w);

    pthread_mutex_lock(&w->lock);
    w->fn = fn;
    w->arg = arg;
    w->state = HG_PAR_RUN;
    pthread_mutex_unlock(&w->lock);
    /* after the unlock: woken under it, the helper would block on it */
    pthread_cond_signal(&w->go);
}

void
hg_hash_par_join(hg_hash_par_t *par, hg_par_helper_t *w)
{
    int  back = 0;

    pthread_mutex_lock(&w->lock);
    if (w->state == HG_PAR_RUN) {
        /* not started: no core for it, ours is free now */
        w->state = HG_PAR_IDLE;
        back = 1;
    }
    while (w->state != HG_PAR_DONE && w->state != HG_PAR_IDLE) {
        pthread_cond_wait(&w->done, &w->lock);
    }
    w->state = HG_PAR_IDLE;
    pthread_mutex_unlock(&w->lock);

    if (back) {
        w->fn(w->arg);
    }

    pthread_mutex_lock(&par->lock);
    w->next = par->idle;
    par->idle = w;
    par->splits++;
    par->taken_back += back;
    pthread_mutex_unlock(&par->lock);
}

uint64_t
hg_hash_par_taken_back(const hg_hash_par_t *par)
{
    uint64_t  n;

    pthread_mutex_lock((pthread_mutex_t *) &par->lock);
    n = par->taken_back;
    pthread_mutex_unlock((pthread_mutex_t *) &par->lock);
    return n;
}

uint64_t
hg_hash_par_splits(const hg_hash_par_t *par)
{
    uint64_t  n;

    pthread_mutex_lock((pthread_mutex_t *) &par->lock);
    n = par->splits;
    pthread_mutex_unlock((pthread_mutex_t *) &par->lock);
    return n;
}

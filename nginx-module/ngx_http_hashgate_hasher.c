
/*
 * ngx_http_hashgate_hasher.c - a worker's hashing thread.
 *
 * Hashing a large upload on the event loop costs about as much CPU as
 * nginx's own reading and buffering of it, so with the thread the two run
 * on different cores. The event loop copies each body buffer into a ring
 * of fixed slots (nginx reuses its buffer once the save filter has written
 * it) and goes on reading; the thread digests the slots in order. Each
 * request counts its jobs not yet done ("pending"), and waits for them
 * before it decides or frees its scan contexts.
 *
 * Those waits, and a full ring, block the event loop: that is the price of
 * a verdict that must be final before the upstream sees the last byte, and
 * it is bounded, as at most NGX_HTTP_HASHGATE_RING * NGX_HTTP_HASHGATE_SLOT
 * bytes are ever outstanding (about half a millisecond of SHA-256).
 *
 * nginx's own thread pools were not used: their tasks complete through an
 * event, and resuming a request body read after an asynchronous verdict
 * would need internals of the body reader that modules do not get.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <pthread.h>

#include "ngx_http_hashgate_hasher.h"


/* slots in the ring, and bytes in each: 1 MiB outstanding at most */
#define NGX_HTTP_HASHGATE_RING   16
#define NGX_HTTP_HASHGATE_SLOT   65536


typedef struct {
    ngx_http_hashgate_work_pt  work;
    void                      *data;
    ngx_uint_t                *pending;
    size_t                     len;
    u_char                    *buf;
} ngx_http_hashgate_job_t;


struct ngx_http_hashgate_hasher_s {
    pthread_t                  thread;
    pthread_mutex_t            lock;
    pthread_cond_t             work;        /* a job was queued, or quit */
    pthread_cond_t             done;        /* a job was finished */
    ngx_http_hashgate_job_t    jobs[NGX_HTTP_HASHGATE_RING];
    ngx_uint_t                 head;        /* oldest job, maybe running */
    ngx_uint_t                 count;       /* jobs queued or running */
    ngx_uint_t                 quit;
    void                      *local;
};


static void *ngx_http_hashgate_hasher_thread(void *arg);


/*
 * Start the thread of this worker. The ring comes from the cycle pool;
 * NULL (logged) when the thread cannot start: the caller then hashes on
 * the event loop.
 */
ngx_http_hashgate_hasher_t *
ngx_http_hashgate_hasher_create(ngx_cycle_t *cycle, void *local)
{
    int                          err;
    u_char                      *p;
    ngx_uint_t                   i;
    pthread_attr_t               attr;
    ngx_http_hashgate_hasher_t  *h;

    h = ngx_pcalloc(cycle->pool, sizeof(ngx_http_hashgate_hasher_t));
    p = ngx_palloc(cycle->pool,
                   NGX_HTTP_HASHGATE_RING * NGX_HTTP_HASHGATE_SLOT);
    if (h == NULL || p == NULL) {
        return NULL;
    }

    for (i = 0; i < NGX_HTTP_HASHGATE_RING; i++) {
        h->jobs[i].buf = p + i * NGX_HTTP_HASHGATE_SLOT;
    }

    h->local = local;

    if (pthread_mutex_init(&h->lock, NULL) != 0
        || pthread_cond_init(&h->work, NULL) != 0
        || pthread_cond_init(&h->done, NULL) != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "hashgate: cannot initialize the hashing thread's "
                      "locks");
        return NULL;
    }

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);

    err = pthread_create(&h->thread, &attr, ngx_http_hashgate_hasher_thread,
                         h);
    pthread_attr_destroy(&attr);

    if (err != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, err,
                      "hashgate: cannot start the hashing thread, hashing "
                      "on the event loop");
        return NULL;
    }

    return h;
}


/* Finish the jobs queued and stop the thread. */
void
ngx_http_hashgate_hasher_destroy(ngx_http_hashgate_hasher_t *h)
{
    if (h == NULL) {
        return;
    }

    pthread_mutex_lock(&h->lock);
    h->quit = 1;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->lock);

    pthread_join(h->thread, NULL);
}


/*
 * Queue len bytes at p for work(data, copy, len, local), in order after
 * every job queued before. The bytes are copied, so p may be reused when
 * this returns. *pending counts the caller's jobs not yet done; it is only
 * read or written under the lock.
 */
void
ngx_http_hashgate_hasher_post(ngx_http_hashgate_hasher_t *h,
    ngx_http_hashgate_work_pt work, void *data, u_char *p, size_t len,
    ngx_uint_t *pending)
{
    size_t                    n;
    ngx_http_hashgate_job_t  *job;

    pthread_mutex_lock(&h->lock);

    while (len) {
        while (h->count == NGX_HTTP_HASHGATE_RING) {
            pthread_cond_wait(&h->done, &h->lock);
        }

        n = ngx_min(len, NGX_HTTP_HASHGATE_SLOT);

        job = &h->jobs[(h->head + h->count) % NGX_HTTP_HASHGATE_RING];
        job->work = work;
        job->data = data;
        job->pending = pending;
        job->len = n;
        ngx_memcpy(job->buf, p, n);

        h->count++;
        (*pending)++;
        pthread_cond_signal(&h->work);

        p += n;
        len -= n;
    }

    pthread_mutex_unlock(&h->lock);
}


/* Block until the caller's jobs are done; their effects are then visible. */
void
ngx_http_hashgate_hasher_wait(ngx_http_hashgate_hasher_t *h,
    ngx_uint_t *pending)
{
    pthread_mutex_lock(&h->lock);

    while (*pending) {
        pthread_cond_wait(&h->done, &h->lock);
    }

    pthread_mutex_unlock(&h->lock);
}


ngx_uint_t
ngx_http_hashgate_hasher_pending(ngx_http_hashgate_hasher_t *h,
    ngx_uint_t *pending)
{
    ngx_uint_t  n;

    pthread_mutex_lock(&h->lock);
    n = *pending;
    pthread_mutex_unlock(&h->lock);

    return n;
}


/*
 * Signals are the worker's business, not a helper thread's; but a fault
 * must stay deliverable. A database file truncated in place raises SIGBUS
 * on a lookup or a checksum read in the hashing or verify thread, which
 * the database guard turns into zeros (and the fail verdict or a checksum
 * mismatch); a blocked SIGBUS would kill the worker instead.
 */
void
ngx_http_hashgate_thread_signals(void)
{
    sigset_t  set;

    sigfillset(&set);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}


static void *
ngx_http_hashgate_hasher_thread(void *arg)
{
    ngx_http_hashgate_hasher_t *h = arg;

    ngx_http_hashgate_job_t  *job;

    ngx_http_hashgate_thread_signals();

    pthread_mutex_lock(&h->lock);

    for ( ;; ) {
        while (h->count == 0 && !h->quit) {
            pthread_cond_wait(&h->work, &h->lock);
        }

        if (h->count == 0) {
            break;
        }

        /* the slot stays ours until count is decremented */
        job = &h->jobs[h->head];
        pthread_mutex_unlock(&h->lock);

        job->work(job->data, job->buf, job->len, h->local);

        pthread_mutex_lock(&h->lock);
        (*job->pending)--;
        h->head = (h->head + 1) % NGX_HTTP_HASHGATE_RING;
        h->count--;
        pthread_cond_broadcast(&h->done);
    }

    pthread_mutex_unlock(&h->lock);

    return NULL;
}

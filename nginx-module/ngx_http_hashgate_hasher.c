/*
 * ngx_http_hashgate_hasher.c - a worker's hashing thread.
 *
 * Hashing a large upload on the event loop costs about as much CPU as
 * nginx's own reading and buffering of it, so with the thread the two run
 * on different cores. The event loop copies body buffers into a ring of
 * fixed slots (nginx reuses its buffer once the save filter has written
 * it) and goes on reading; the thread digests the slots in order. Each
 * request counts its jobs not yet done ("pending"), and waits for them
 * before it decides or frees its scan contexts.
 *
 * Those waits, and a full ring, block the event loop: that is the price of
 * a verdict that must be final before the upstream sees the last byte, and
 * it is bounded, as at most NGX_HTTP_HASHGATE_RING * NGX_HTTP_HASHGATE_SLOT
 * bytes are ever outstanding (about a millisecond of SHA-256).
 *
 * The hand-off is what the thread cost, not the copy. The thread digests
 * faster than nginx reads, so, woken for every buffer, it slept after each
 * one; and the ring's lock, held by the event loop while it copied, made
 * both sides sleep on it too. perf on 100 MiB uploads (SHA-256): futex
 * calls and scheduling were about 9 % of the worker's CPU, the memcpy
 * 2.5 %. So the ring is one producer's and one consumer's, published with
 * atomics: the event loop fills the slot it has open (several buffers of
 * one request go into one slot) and publishes it when it is full, when
 * another request posts, or when a request waits; it wakes a sleeping
 * thread only once NGX_HTTP_HASHGATE_WAKE slots wait, the ring is full or
 * someone waits; the thread takes the lock only to sleep and to signal a
 * waiter. Copies are kept: nginx reuses a body buffer as soon as the save
 * filter has written it, before the thread would have read it.
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

#include "hashgate/thread.h"
#include "ngx_http_hashgate_hasher.h"


/* slots in the ring, and bytes in each: 1 MiB outstanding at most */
#define NGX_HTTP_HASHGATE_RING   8
#define NGX_HTTP_HASHGATE_SLOT   (128 * 1024)

/* slots published before a sleeping thread is woken */
#define NGX_HTTP_HASHGATE_WAKE   2


#define ngx_http_hashgate_load(p)      __atomic_load_n(p, __ATOMIC_SEQ_CST)
#define ngx_http_hashgate_store(p, v)  __atomic_store_n(p, v, __ATOMIC_SEQ_CST)


typedef struct {
    ngx_http_hashgate_work_pt  work;
    void                      *data;
    ngx_uint_t                *pending;
    size_t                     len;
    u_char                    *buf;
} ngx_http_hashgate_job_t;


struct ngx_http_hashgate_hasher_s {
    pthread_t                  thread;
    pthread_mutex_t            lock;        /* for the two conditions only */
    pthread_cond_t             work;        /* a slot to do, or quit */
    pthread_cond_t             done;        /* a slot was done */
    ngx_http_hashgate_job_t    jobs[NGX_HTTP_HASHGATE_RING];
    ngx_uint_t                 head;        /* slots done: the thread's */
    ngx_uint_t                 tail;        /* published: the event loop's */
    ngx_uint_t                 open;        /* jobs[tail] is being filled */
    ngx_uint_t                 sleeping;    /* the thread waits on work */
    ngx_uint_t                 waiters;     /* callers waiting on done */
    ngx_uint_t                 quit;
    void                      *local;
};


static void ngx_http_hashgate_hasher_publish(ngx_http_hashgate_hasher_t *h);
static void ngx_http_hashgate_hasher_wake(ngx_http_hashgate_hasher_t *h);
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

    ngx_http_hashgate_hasher_publish(h);

    pthread_mutex_lock(&h->lock);
    h->quit = 1;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->lock);

    pthread_join(h->thread, NULL);
}


/*
 * Queue len bytes at p for work(data, copy, len, local), in order after
 * every job queued before; only the event loop posts. The bytes are
 * copied, so p may be reused when this returns. *pending counts the
 * caller's jobs not yet done (the open slot included); it is changed
 * atomically by both sides.
 */
void
ngx_http_hashgate_hasher_post(ngx_http_hashgate_hasher_t *h,
    ngx_http_hashgate_work_pt work, void *data, u_char *p, size_t len,
    ngx_uint_t *pending)
{
    size_t                    n;
    ngx_http_hashgate_job_t  *job;

    while (len) {
        job = &h->jobs[h->tail % NGX_HTTP_HASHGATE_RING];

        if (h->open
            && (job->work != work || job->data != data
                || job->pending != pending))
        {
            ngx_http_hashgate_hasher_publish(h);
            job = &h->jobs[h->tail % NGX_HTTP_HASHGATE_RING];
        }

        if (!h->open) {
            if (h->tail - ngx_http_hashgate_load(&h->head)
                == NGX_HTTP_HASHGATE_RING)
            {
                /* the ring is full: the thread is the slower, so wait
                 * until half of it is free, not for every slot */
                pthread_mutex_lock(&h->lock);
                ngx_http_hashgate_store(&h->waiters, h->waiters + 1);

                while (h->tail - ngx_http_hashgate_load(&h->head)
                       > NGX_HTTP_HASHGATE_RING / 2)
                {
                    if (h->sleeping) {
                        ngx_http_hashgate_store(&h->sleeping, 0);
                        pthread_cond_signal(&h->work);
                    }

                    pthread_cond_wait(&h->done, &h->lock);
                }

                ngx_http_hashgate_store(&h->waiters, h->waiters - 1);
                pthread_mutex_unlock(&h->lock);
            }

            job->work = work;
            job->data = data;
            job->pending = pending;
            job->len = 0;
            h->open = 1;
            __atomic_fetch_add(pending, 1, __ATOMIC_SEQ_CST);
        }

        n = ngx_min(len, NGX_HTTP_HASHGATE_SLOT - job->len);
        ngx_memcpy(job->buf + job->len, p, n);
        job->len += n;

        if (job->len == NGX_HTTP_HASHGATE_SLOT) {
            ngx_http_hashgate_hasher_publish(h);
        }

        p += n;
        len -= n;
    }

    if (h->tail - ngx_http_hashgate_load(&h->head) >= NGX_HTTP_HASHGATE_WAKE) {
        ngx_http_hashgate_hasher_wake(h);
    }
}


/* The event loop's: hand the open slot to the thread. */
static void
ngx_http_hashgate_hasher_publish(ngx_http_hashgate_hasher_t *h)
{
    if (h->open) {
        h->open = 0;
        ngx_http_hashgate_store(&h->tail, h->tail + 1);
    }
}


/*
 * The event loop's: a sleeping thread goes to work. The thread sets
 * sleeping and then looks at tail, we set tail and then look at sleeping:
 * one of the two sees the other's store.
 */
static void
ngx_http_hashgate_hasher_wake(ngx_http_hashgate_hasher_t *h)
{
    ngx_uint_t  asleep;

    if (ngx_http_hashgate_load(&h->sleeping)) {
        pthread_mutex_lock(&h->lock);
        asleep = h->sleeping;
        ngx_http_hashgate_store(&h->sleeping, 0);
        pthread_mutex_unlock(&h->lock);

        /* after the unlock: woken under it, the thread would only
         * block on the lock at once */
        if (asleep) {
            pthread_cond_signal(&h->work);
        }
    }
}


/* Start what is queued now, without waiting for it. */
void
ngx_http_hashgate_hasher_flush(ngx_http_hashgate_hasher_t *h)
{
    ngx_http_hashgate_hasher_publish(h);
    ngx_http_hashgate_hasher_wake(h);
}


/* Block until the caller's jobs are done; their effects are then visible. */
void
ngx_http_hashgate_hasher_wait(ngx_http_hashgate_hasher_t *h,
    ngx_uint_t *pending)
{
    if (ngx_http_hashgate_load(pending) == 0) {
        return;
    }

    ngx_http_hashgate_hasher_flush(h);

    pthread_mutex_lock(&h->lock);
    ngx_http_hashgate_store(&h->waiters, h->waiters + 1);

    while (ngx_http_hashgate_load(pending)) {
        pthread_cond_wait(&h->done, &h->lock);
    }

    ngx_http_hashgate_store(&h->waiters, h->waiters - 1);
    pthread_mutex_unlock(&h->lock);
}


ngx_uint_t
ngx_http_hashgate_hasher_pending(ngx_http_hashgate_hasher_t *h,
    ngx_uint_t *pending)
{
    (void) h;

    return ngx_http_hashgate_load(pending);
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
    hg_thread_block_signals();
}


static void *
ngx_http_hashgate_hasher_thread(void *arg)
{
    ngx_http_hashgate_hasher_t *h = arg;

    size_t                    len;
    ngx_uint_t                head, tail, left, n;
    ngx_http_hashgate_job_t  *job;

    ngx_http_hashgate_thread_signals();

    head = 0;

    for ( ;; ) {
        tail = ngx_http_hashgate_load(&h->tail);

        if (head != tail) {
            /*
             * published: the slots are ours until head moves past them.
             * Full slots of one request that follow each other in memory
             * are one piece: fewer calls, and updates large enough for
             * hashgate_parallel_digests to split when the thread is behind
             */
            job = &h->jobs[head % NGX_HTTP_HASHGATE_RING];
            len = job->len;
            n = 1;

            while (head + n != tail
                   && (head + n) % NGX_HTTP_HASHGATE_RING != 0
                   && len == n * NGX_HTTP_HASHGATE_SLOT
                   && job[n].work == job->work && job[n].data == job->data
                   && job[n].pending == job->pending)
            {
                len += job[n].len;
                n++;
            }

            job->work(job->data, job->buf, len, h->local);

            left = __atomic_sub_fetch(job->pending, n, __ATOMIC_SEQ_CST);
            head += n;
            ngx_http_hashgate_store(&h->head, head);

            /*
             * A waiter (only the event loop waits, so one at most) raised
             * waiters and then looked at pending or head; we changed
             * those and then look at waiters. It waits for a request's
             * last job or for half of the ring.
             */
            if (ngx_http_hashgate_load(&h->waiters)
                && (left == 0
                    || ngx_http_hashgate_load(&h->tail) - head
                       <= NGX_HTTP_HASHGATE_RING / 2))
            {
                pthread_mutex_lock(&h->lock);
                pthread_cond_broadcast(&h->done);
                pthread_mutex_unlock(&h->lock);
            }

            continue;
        }

        pthread_mutex_lock(&h->lock);
        ngx_http_hashgate_store(&h->sleeping, 1);

        while (h->sleeping && !h->quit
               && head == ngx_http_hashgate_load(&h->tail))
        {
            pthread_cond_wait(&h->work, &h->lock);
        }

        ngx_http_hashgate_store(&h->sleeping, 0);

        if (h->quit && head == ngx_http_hashgate_load(&h->tail)) {
            pthread_mutex_unlock(&h->lock);
            break;
        }

        pthread_mutex_unlock(&h->lock);
    }

    return NULL;
}

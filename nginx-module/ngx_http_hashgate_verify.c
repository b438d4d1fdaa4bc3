
/*
 * ngx_http_hashgate_verify.c - verify a new database file's whole-file
 * checksum in a thread of its own, beside a worker's event loop.
 *
 * A worker that finds a new file at the database path (its once-a-second
 * check) must verify the whole-file checksum before it uses the file, as
 * the milter does: a flipped byte in a digest table passes every check
 * hg_db_open makes of the header and metadata. The open itself stays on
 * the event loop (O(metadata), what it always cost), so a truncated or
 * garbage file is refused at once; the checksum is O(file size), about
 * 0.1 s per 160 MB of cached file and more from disk, far too long for an
 * event loop. So hg_db_verify runs in a short-lived thread, while the
 * loaded database keeps serving; the worker looks for the result on its
 * next request or timer tick (ngx_http_hashgate_verify_done, which never
 * blocks) and swaps then. One thread at a time per worker, started only
 * when the watcher sees a new file: not worth a pool.
 *
 * nginx's thread pools were not used: they need a thread_pool the operator
 * configures, and their completion goes through ngx_notify, which has one
 * handler slot per process.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <sys/resource.h>

#include "ngx_http_hashgate_hasher.h"
#include "ngx_http_hashgate_verify.h"


/* added to the worker's nice value for the verify thread */
#define NGX_HTTP_HASHGATE_VERIFY_NICE  10


static void *ngx_http_hashgate_verify_thread(void *arg);


/*
 * Start verifying db (one reference, now the thread's), opened from the
 * file the watcher saw as id. NGX_ERROR when no thread could be started:
 * db is closed, v->db is NULL and v->err says why; the caller then treats
 * the file as refused.
 */
ngx_int_t
ngx_http_hashgate_verify_start(ngx_http_hashgate_verify_t *v, hg_db_t *db,
    hg_db_ident_t *id)
{
    int  err;

    v->id = *id;
    v->db = db;
    v->err.msg[0] = '\0';
    v->took = 0;

    err = pthread_create(&v->thread, NULL, ngx_http_hashgate_verify_thread,
                         v);
    if (err != 0) {
        hg_err_set(&v->err, HG_EIO, "%s: cannot start a thread to verify "
                   "it: %s", hg_db_path(db), strerror(err));
        hg_db_close(db);
        v->db = NULL;
        return NGX_ERROR;
    }

    v->running = 1;

    return NGX_OK;
}


/*
 * NGX_AGAIN while the thread runs; NGX_OK once it has finished and was
 * joined: v->db is then the verified database (a reference for the
 * caller), or NULL with v->err saying why the file was refused.
 */
ngx_int_t
ngx_http_hashgate_verify_done(ngx_http_hashgate_verify_t *v)
{
    if (!v->running) {
        return NGX_OK;
    }

    /* the join orders the thread's writes before our reads */
    if (pthread_tryjoin_np(v->thread, NULL) != 0) {
        return NGX_AGAIN;
    }

    v->running = 0;

    return NGX_OK;
}


/* At worker exit: let a running verify finish, and drop what it opened. */
void
ngx_http_hashgate_verify_wait(ngx_http_hashgate_verify_t *v)
{
    if (v->running) {
        pthread_join(v->thread, NULL);
        v->running = 0;
    }

    hg_db_close(v->db);
    v->db = NULL;
}


static void *
ngx_http_hashgate_verify_thread(void *arg)
{
    ngx_http_hashgate_verify_t *v = arg;

    int              nice;
    struct timespec  t0, t1;

    ngx_http_hashgate_thread_signals();

    /*
     * on a busy host the checksum competes with the event loops for the
     * CPU: a lower priority (this thread's only) lets requests go first
     */
    errno = 0;
    nice = getpriority(PRIO_PROCESS, (id_t) gettid());
    if (errno == 0) {
        (void) setpriority(PRIO_PROCESS, (id_t) gettid(),
                           nice + NGX_HTTP_HASHGATE_VERIFY_NICE);
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (hg_db_verify(v->db, &v->err) != HG_OK) {
        /* a large mapping's munmap is better done here than on the loop */
        hg_db_close(v->db);
        v->db = NULL;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    v->took = (ngx_msec_t) ((t1.tv_sec - t0.tv_sec) * 1000
                            + (t1.tv_nsec - t0.tv_nsec) / 1000000);

    return NULL;
}

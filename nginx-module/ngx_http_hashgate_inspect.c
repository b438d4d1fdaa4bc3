
/*
 * ngx_http_hashgate_inspect.c - a worker's archive inspection helper, run
 * from the event loop.
 *
 * Archives are never opened in the worker: hashgate-inspect, a sandboxed
 * process of its own (common/include/hashgate/inspect.h), opens them and
 * sends back one entry per file inside. The worker never waits for it:
 * hg_inspect_send hands over a container, the helper's socket is watched
 * as an nginx connection (level-triggered, so a reply read in parts is
 * never missed), each read event hands what has arrived to
 * hg_inspect_poll, and a timer at hg_inspect_deadline cancels a helper
 * that takes too long (it is killed, and started again on the next use).
 *
 * The helper does one container at a time, so containers wait in one FIFO
 * queue per worker, in the order their parts ended: a request's containers
 * go in order (each one's limits are what its request's budget has left
 * after the ones before), and a request waits behind those before it. The
 * socket is watched only while a container is in the helper: an idle or
 * restarted helper leaves no event behind.
 *
 * A job whose request went away (abandoned) is dropped from the queue; if
 * it is in the helper, its entries are read and discarded, so the reply
 * never reaches freed memory and the next container starts cleanly.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <signal.h>
#include <time.h>

#include "ngx_http_hashgate_inspect.h"
#include "ngx_http_hashgate_metrics.h"

/* the helper's test hooks, honoured only with HASHGATE_INSPECT_TEST=1 */
#if __has_include("inspect/proto.h")
#include "inspect/proto.h"
#define NGX_HTTP_HASHGATE_TEST_HOOKS  1
#endif


struct ngx_http_hashgate_inspect_s {
    hg_inspector_t            *helper;
    ngx_log_t                 *log;
    ngx_queue_t                queue;       /* jobs waiting their turn */
    ngx_http_hashgate_ijob_t  *running;     /* the one in the helper */
    ngx_connection_t          *conn;        /* the helper's socket */
    ngx_event_t                timer;       /* the running job's deadline */
    pid_t                      pid;         /* the helper last seen */
};


static void ngx_http_hashgate_inspect_next(ngx_http_hashgate_inspect_t *in);
static void ngx_http_hashgate_inspect_finish(ngx_http_hashgate_inspect_t *in,
    hg_inspect_done_t *done);
static ngx_int_t ngx_http_hashgate_inspect_attach(
    ngx_http_hashgate_inspect_t *in);
static void ngx_http_hashgate_inspect_detach(ngx_http_hashgate_inspect_t *in);
static void ngx_http_hashgate_inspect_read(ngx_event_t *rev);
static void ngx_http_hashgate_inspect_timeout(ngx_event_t *ev);
static hg_status_t ngx_http_hashgate_inspect_entry(void *data,
    const hg_inspect_entry_t *e);


/*
 * The worker's helper (started on first use). NULL, logged, when it cannot
 * be set up: containers then get the fail verdict.
 */
ngx_http_hashgate_inspect_t *
ngx_http_hashgate_inspect_create(ngx_cycle_t *cycle, const char *helper)
{
    hg_err_t                      err;
    struct sigaction              sa;
    ngx_http_hashgate_inspect_t  *in;

    in = ngx_pcalloc(cycle->pool, sizeof(ngx_http_hashgate_inspect_t));
    if (in == NULL) {
        return NULL;
    }

    /*
     * a worker inherits the master's SIGCHLD handler, which reaps any child
     * (waitpid(-1)) and logs an alert for one it does not know: the helper
     * is the worker's own, reaped by hg_inspector_t
     */
    ngx_memzero(&sa, sizeof(struct sigaction));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);

    if (sigaction(SIGCHLD, &sa, NULL) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "hashgate: sigaction(SIGCHLD) failed");
    }

    err.msg[0] = '\0';

    in->helper = hg_inspector_new(helper, &err);
    if (in->helper == NULL) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "hashgate: no archive inspection helper: %s; "
                      "uploads holding archives get hashgate_on_error",
                      err.msg);
        return NULL;
    }

    in->log = cycle->log;
    ngx_queue_init(&in->queue);

    in->timer.handler = ngx_http_hashgate_inspect_timeout;
    in->timer.data = in;
    in->timer.log = cycle->log;
    in->timer.cancelable = 1;

    return in;
}


/* Stops the helper; at worker exit only. Accepts NULL. */
void
ngx_http_hashgate_inspect_destroy(ngx_http_hashgate_inspect_t *in)
{
    if (in == NULL) {
        return;
    }

    if (in->timer.timer_set) {
        ngx_del_timer(&in->timer);
    }

    ngx_http_hashgate_inspect_detach(in);

    hg_inspector_free(in->helper);
    in->helper = NULL;
}


/* Queue job; it is sent at once when the helper is idle. */
void
ngx_http_hashgate_inspect_post(ngx_http_hashgate_inspect_t *in,
    ngx_http_hashgate_ijob_t *job)
{
    ngx_queue_insert_tail(&in->queue, &job->queue);
    job->queued = 1;

    if (in->running == NULL) {
        ngx_http_hashgate_inspect_next(in);
    }
}


/*
 * The job's owner is going away: a queued job is dropped (done is called
 * now, data NULL), the running one finishes with its reply discarded.
 */
void
ngx_http_hashgate_inspect_abandon(ngx_http_hashgate_inspect_t *in,
    ngx_http_hashgate_ijob_t *job)
{
    hg_inspect_done_t  done;

    job->data = NULL;

    if (job->running) {
        return;
    }

    if (job->queued) {
        ngx_queue_remove(&job->queue);
        job->queued = 0;
    }

    ngx_memzero(&done, sizeof(hg_inspect_done_t));
    done.st = HG_ECANCEL;

    job->done(job, &done);
}


static uint64_t
ngx_http_hashgate_inspect_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* Send queued jobs until one is in the helper or none is left. */
static void
ngx_http_hashgate_inspect_next(ngx_http_hashgate_inspect_t *in)
{
    pid_t                      pid;
    uint64_t                   now, deadline;
    hg_err_t                   err;
    ngx_queue_t               *q;
    hg_status_t                st;
    hg_inspect_done_t          done;
    hg_inspect_limits_t        lim;
    ngx_http_hashgate_ijob_t  *job;

    while (in->running == NULL && !ngx_queue_empty(&in->queue)) {

        q = ngx_queue_head(&in->queue);
        ngx_queue_remove(q);

        job = ngx_queue_data(q, ngx_http_hashgate_ijob_t, queue);
        job->queued = 0;

        ngx_memzero(&done, sizeof(hg_inspect_done_t));
        hg_inspect_limits_default(&lim);

        if (job->start(job, &lim, &done) != NGX_OK) {
            if (done.st == HG_OK) {
                done.st = HG_ECANCEL;
            }

            job->done(job, &done);
            continue;
        }

        err.msg[0] = '\0';

#ifdef NGX_HTTP_HASHGATE_TEST_HOOKS
        if (job->test) {
            st = hg_inspect_send_type(in->helper, job->test, 0, NULL, 0,
                                      job->fd, job->size, job->algs, &lim,
                                      &err);
        } else
#endif
        st = hg_inspect_send(in->helper, job->fd, job->size, job->algs, &lim,
                             &err);

        pid = hg_inspector_pid(in->helper);

        if (pid != 0 && pid != in->pid) {
            if (in->pid != 0) {
                hg_metrics_helper_restart(ngx_http_hashgate_metrics);
            }

            ngx_log_error(NGX_LOG_NOTICE, in->log, 0,
                          "hashgate: archive inspection helper %P started "
                          "(restarts: %uL)", pid,
                          hg_inspector_restarts(in->helper));
            in->pid = pid;
        }

        if (st != HG_OK) {
            done.st = st;
            ngx_cpystrn((u_char *) done.why, (u_char *) err.msg,
                        sizeof(done.why));
            job->done(job, &done);
            continue;
        }

        in->running = job;
        job->running = 1;

        if (ngx_http_hashgate_inspect_attach(in) != NGX_OK) {
            hg_inspect_cancel(in->helper, &done);
            ngx_cpystrn((u_char *) done.why,
                        (u_char *) "cannot watch the helper's socket",
                        sizeof(done.why));
            done.st = HG_EIO;
            ngx_http_hashgate_inspect_finish(in, &done);
            continue;
        }

        now = ngx_http_hashgate_inspect_now();
        deadline = hg_inspect_deadline(in->helper);

        ngx_add_timer(&in->timer,
                      deadline > now ? (ngx_msec_t) (deadline - now) : 1);
    }
}


/* The running job ended (reply complete, or cancelled): tell its owner. */
static void
ngx_http_hashgate_inspect_finish(ngx_http_hashgate_inspect_t *in,
    hg_inspect_done_t *done)
{
    ngx_http_hashgate_ijob_t  *job;

    ngx_http_hashgate_inspect_detach(in);

    if (in->timer.timer_set) {
        ngx_del_timer(&in->timer);
    }

    job = in->running;
    in->running = NULL;
    job->running = 0;

    job->done(job, done);
}


static ngx_int_t
ngx_http_hashgate_inspect_attach(ngx_http_hashgate_inspect_t *in)
{
    int                fd;
    ngx_connection_t  *c;

    fd = hg_inspector_socket(in->helper);
    if (fd == -1) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, in->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = in;
    c->read->handler = ngx_http_hashgate_inspect_read;
    c->read->log = in->log;
    c->write->log = in->log;

    /* level-triggered: a reply hg_inspect_poll reads in parts stays ready */
    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    in->conn = c;

    return NGX_OK;
}


/*
 * Stop watching the socket. hg_inspect_poll or _cancel may have closed it
 * already (a helper that died or was killed): the kernel then dropped it
 * from epoll, and only nginx's view is updated (NGX_CLOSE_EVENT).
 */
static void
ngx_http_hashgate_inspect_detach(ngx_http_hashgate_inspect_t *in)
{
    ngx_connection_t  *c;

    c = in->conn;
    if (c == NULL) {
        return;
    }

    in->conn = NULL;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT,
                      hg_inspector_socket(in->helper) == c->fd
                      ? 0 : NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    /* the descriptor is the inspector's: never closed here */
    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);
}


static void
ngx_http_hashgate_inspect_read(ngx_event_t *rev)
{
    ngx_connection_t             *c;
    hg_inspect_done_t             done;
    ngx_http_hashgate_inspect_t  *in;

    c = rev->data;
    in = c->data;

    if (in->running == NULL) {
        ngx_http_hashgate_inspect_detach(in);
        return;
    }

    ngx_memzero(&done, sizeof(hg_inspect_done_t));

    if (hg_inspect_poll(in->helper, ngx_http_hashgate_inspect_entry, in,
                        &done)
        == 0)
    {
        return;
    }

    ngx_http_hashgate_inspect_finish(in, &done);
    ngx_http_hashgate_inspect_next(in);
}


static void
ngx_http_hashgate_inspect_timeout(ngx_event_t *ev)
{
    hg_inspect_done_t             done;
    ngx_http_hashgate_inspect_t  *in;

    in = ev->data;

    if (in->running == NULL) {
        return;
    }

    ngx_memzero(&done, sizeof(hg_inspect_done_t));

    /* the helper is killed (and started again for the next container) */
    hg_inspect_cancel(in->helper, &done);

    ngx_http_hashgate_inspect_finish(in, &done);
    ngx_http_hashgate_inspect_next(in);
}


static hg_status_t
ngx_http_hashgate_inspect_entry(void *data, const hg_inspect_entry_t *e)
{
    ngx_http_hashgate_inspect_t  *in = data;

    ngx_http_hashgate_ijob_t  *job;

    job = in->running;

    /* a request gone: its entries are read and dropped */
    if (job == NULL || job->data == NULL) {
        return HG_OK;
    }

    return job->entry(job, e);
}

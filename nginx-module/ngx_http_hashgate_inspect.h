
/*
 * ngx_http_hashgate_inspect.h - a worker's archive inspection helper, run
 * from the event loop: containers wait their turn in one queue, the reply
 * is read as an event on the helper's socket, and a timer bounds each one.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_HTTP_HASHGATE_INSPECT_H_INCLUDED_
#define _NGX_HTTP_HASHGATE_INSPECT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "hashgate/inspect.h"


typedef struct ngx_http_hashgate_inspect_s  ngx_http_hashgate_inspect_t;
typedef struct ngx_http_hashgate_ijob_s     ngx_http_hashgate_ijob_t;

/*
 * The job's turn has come: fill *lim (and job->algs). NGX_DECLINED: do not
 * send it; done follows with HG_ECANCEL, or with what *done_early says
 * when its st is set (a request budget already spent).
 */
typedef ngx_int_t (*ngx_http_hashgate_ijob_start_pt)(
    ngx_http_hashgate_ijob_t *job, hg_inspect_limits_t *lim,
    hg_inspect_done_t *done_early);

/* Called exactly once per posted job, data NULL if abandoned; frees it. */
typedef void (*ngx_http_hashgate_ijob_done_pt)(ngx_http_hashgate_ijob_t *job,
    hg_inspect_done_t *done);


struct ngx_http_hashgate_ijob_s {
    ngx_queue_t                      queue;     /* in the worker's queue */
    int                              fd;        /* the container's bytes */
    uint64_t                         size;
    unsigned                         algs;
    void                            *data;      /* the owner's; NULL once
                                                   it is gone */
    hg_inspect_entry_pt              entry;     /* gets job as ctx */
    ngx_http_hashgate_ijob_start_pt  start;
    ngx_http_hashgate_ijob_done_pt   done;
    unsigned                         test;      /* a test hook's request
                                                   type (proto.h), or 0 */
    unsigned                         queued:1;
    unsigned                         running:1;
};


ngx_http_hashgate_inspect_t *ngx_http_hashgate_inspect_create(
    ngx_cycle_t *cycle, const char *helper);
void ngx_http_hashgate_inspect_destroy(ngx_http_hashgate_inspect_t *in);
void ngx_http_hashgate_inspect_post(ngx_http_hashgate_inspect_t *in,
    ngx_http_hashgate_ijob_t *job);
void ngx_http_hashgate_inspect_abandon(ngx_http_hashgate_inspect_t *in,
    ngx_http_hashgate_ijob_t *job);


#endif /* _NGX_HTTP_HASHGATE_INSPECT_H_INCLUDED_ */

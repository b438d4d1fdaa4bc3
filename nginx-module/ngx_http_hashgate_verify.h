
/*
 * ngx_http_hashgate_verify.h - verify a new database file's whole-file
 * checksum in a thread of its own, beside a worker's event loop.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_HTTP_HASHGATE_VERIFY_H_INCLUDED_
#define _NGX_HTTP_HASHGATE_VERIFY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <pthread.h>

#include "hashgate/db.h"
#include "hashgate/db_watch.h"


typedef struct {
    pthread_t                  thread;
    ngx_uint_t                 running;     /* started, not yet joined */
    hg_db_ident_t              id;          /* what the watcher saw */

    /* written by the thread, read once it is joined */
    hg_db_t                   *db;          /* NULL: refused, see err */
    hg_err_t                   err;
    ngx_msec_t                 took;        /* ms the verify took */
} ngx_http_hashgate_verify_t;


ngx_int_t ngx_http_hashgate_verify_start(ngx_http_hashgate_verify_t *v,
    hg_db_t *db, hg_db_ident_t *id);
ngx_int_t ngx_http_hashgate_verify_done(ngx_http_hashgate_verify_t *v);
void ngx_http_hashgate_verify_wait(ngx_http_hashgate_verify_t *v);


#endif /* _NGX_HTTP_HASHGATE_VERIFY_H_INCLUDED_ */


/*
 * ngx_http_hashgate_hasher.h - a worker's hashing thread: body bytes are
 * copied into a bounded ring and digested off the event loop.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_HTTP_HASHGATE_HASHER_H_INCLUDED_
#define _NGX_HTTP_HASHGATE_HASHER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct ngx_http_hashgate_hasher_s  ngx_http_hashgate_hasher_t;

/* runs in the thread; local is what ngx_http_hashgate_hasher_create got */
typedef void (*ngx_http_hashgate_work_pt)(void *data, u_char *p, size_t len,
    void *local);


ngx_http_hashgate_hasher_t *ngx_http_hashgate_hasher_create(ngx_cycle_t *cycle,
    void *local);
void ngx_http_hashgate_hasher_destroy(ngx_http_hashgate_hasher_t *h);
void ngx_http_hashgate_hasher_post(ngx_http_hashgate_hasher_t *h,
    ngx_http_hashgate_work_pt work, void *data, u_char *p, size_t len,
    ngx_uint_t *pending);
void ngx_http_hashgate_hasher_flush(ngx_http_hashgate_hasher_t *h);
void ngx_http_hashgate_hasher_wait(ngx_http_hashgate_hasher_t *h,
    ngx_uint_t *pending);
ngx_uint_t ngx_http_hashgate_hasher_pending(ngx_http_hashgate_hasher_t *h,
    ngx_uint_t *pending);


void ngx_http_hashgate_thread_signals(void);


#endif /* _NGX_HTTP_HASHGATE_HASHER_H_INCLUDED_ */

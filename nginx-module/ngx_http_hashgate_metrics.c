/*
 * ngx_http_hashgate_metrics.c - the module's counters, summed across
 * workers in one shared memory zone, and hashgate_metrics, which serves
 * them in the Prometheus text format.
 *
 * The counters and their rendering are libhashgate's (common/metrics/),
 * the milter's too, so names and types are the same on both channels. The
 * block has no pointer in it and is moved with atomics, so every worker
 * adds to it at whatever address the zone is mapped (as stub_status's
 * counters are shared). The zone is kept over `nginx -s reload` when its
 * size is unchanged: the counters go on from where they were.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hashgate_metrics.h"


/* room for the text to grow between sizing it and writing it */
#define NGX_HTTP_HASHGATE_METRICS_SLACK  4096


typedef struct {
    hg_metrics_t              *metrics;
    hg_db_t                  **db;          /* the main conf's, or NULL */
    hg_db_ident_t             *id;
} ngx_http_hashgate_metrics_zone_t;


hg_metrics_t  *ngx_http_hashgate_metrics;

static ngx_str_t  ngx_http_hashgate_metrics_name =
    ngx_string("hashgate_metrics");

extern ngx_module_t  ngx_http_hashgate_module;


static ngx_int_t
ngx_http_hashgate_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                   *shpool;
    ngx_http_hashgate_metrics_zone_t  *z, *oz;

    z = shm_zone->data;
    oz = data;

    if (oz && oz->metrics && hg_metrics_valid(oz->metrics)) {
        /* nginx -s reload: the same zone, its counters go on */
        z->metrics = oz->metrics;

    } else {
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        z->metrics = ngx_slab_alloc(shpool, sizeof(hg_metrics_t));
        if (z->metrics == NULL) {
            return NGX_ERROR;
        }

        hg_metrics_init(z->metrics);
        shpool->data = z->metrics;
    }

    if (z->db && *z->db) {
        hg_metrics_db_loaded(z->metrics, *z->db, z->id, ngx_time());
    }

    return NGX_OK;
}


static ngx_shm_zone_t *
ngx_http_hashgate_metrics_add(ngx_conf_t *cf)
{
    ngx_shm_zone_t                    *shm_zone;
    ngx_http_hashgate_metrics_zone_t  *z;

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_hashgate_metrics_name,
                                     8 * ngx_pagesize
                                     + ngx_align(sizeof(hg_metrics_t),
                                                 ngx_pagesize),
                                     &ngx_http_hashgate_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data == NULL) {
        z = ngx_pcalloc(cf->pool, sizeof(ngx_http_hashgate_metrics_zone_t));
        if (z == NULL) {
            return NULL;
        }

        shm_zone->data = z;
        shm_zone->init = ngx_http_hashgate_metrics_init_zone;
    }

    return shm_zone;
}


ngx_shm_zone_t *
ngx_http_hashgate_metrics_zone(ngx_conf_t *cf, hg_db_t **db,
    hg_db_ident_t *id)
{
    ngx_uint_t                         i;
    ngx_list_part_t                   *part;
    ngx_shm_zone_t                    *shm_zone, *zones;
    ngx_http_hashgate_metrics_zone_t  *z;

    shm_zone = NULL;

    if (*db) {
        shm_zone = ngx_http_hashgate_metrics_add(cf);
        if (shm_zone == NULL) {
            return NULL;
        }

    } else {
        /* made by hashgate_metrics, or not at all */
        part = &cf->cycle->shared_memory.part;
        zones = part->elts;

        for (i = 0; /* void */ ; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                zones = part->elts;
                i = 0;
            }

            if (zones[i].tag == &ngx_http_hashgate_module
                && zones[i].shm.name.len
                   == ngx_http_hashgate_metrics_name.len
                && ngx_strncmp(zones[i].shm.name.data,
                               ngx_http_hashgate_metrics_name.data,
                               ngx_http_hashgate_metrics_name.len) == 0)
            {
                shm_zone = &zones[i];
                break;
            }
        }

        if (shm_zone == NULL) {
            return NULL;
        }
    }

    z = shm_zone->data;
    z->db = db;
    z->id = id;

    return shm_zone;
}


void
ngx_http_hashgate_metrics_process(ngx_shm_zone_t *zone)
{
    ngx_http_hashgate_metrics_zone_t  *z;

    z = zone ? zone->data : NULL;
    ngx_http_hashgate_metrics = z ? z->metrics : NULL;
}


static ngx_int_t
ngx_http_hashgate_metrics_handler(ngx_http_request_t *r)
{
    size_t        len, cap;
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;
    hg_metrics_t *m;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    m = ngx_http_hashgate_metrics;
    if (m == NULL) {
        /* a worker that could not map the zone: should not happen */
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    len = hg_metrics_render(m, 1u << HG_METRICS_UPLOAD, ngx_time(), NULL, 0);

    for ( ;; ) {
        cap = len + NGX_HTTP_HASHGATE_METRICS_SLACK;

        p = ngx_pnalloc(r->pool, cap);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = hg_metrics_render(m, 1u << HG_METRICS_UPLOAD, ngx_time(),
                                (char *) p, cap);
        if (len < cap) {
            break;
        }
    }

    ngx_str_set(&r->headers_out.content_type, HG_METRICS_CONTENT_TYPE);
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;

    if (r->method == NGX_HTTP_HEAD) {
        return ngx_http_send_header(r);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = p;
    b->last = p + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}


/*
 * Where hashgate_metrics was set in the configuration being read: a
 * content handler set after it in the same location (proxy_pass,
 * fastcgi_pass, ...) silently replaces it, which only the check at the end
 * of the http block sees (ngx_http_hashgate_metrics_check).
 */
typedef struct {
    ngx_http_core_loc_conf_t  *clcf;
    u_char                    *file;
    ngx_uint_t                 line;
} ngx_http_hashgate_metrics_loc_t;

static ngx_array_t  *ngx_http_hashgate_metrics_locs;
static ngx_pool_t   *ngx_http_hashgate_metrics_locs_pool;


char *
ngx_http_hashgate_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_hashgate_metrics_loc_t  *ml;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate, or the location has another content handler";
    }

    clcf->handler = ngx_http_hashgate_metrics_handler;

    /* a list per configuration read (nginx -s reload reads a new one) */
    if (ngx_http_hashgate_metrics_locs == NULL
        || ngx_http_hashgate_metrics_locs_pool != cf->pool)
    {
        ngx_http_hashgate_metrics_locs = ngx_array_create(cf->pool, 4,
                                   sizeof(ngx_http_hashgate_metrics_loc_t));
        if (ngx_http_hashgate_metrics_locs == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_http_hashgate_metrics_locs_pool = cf->pool;
    }

    ml = ngx_array_push(ngx_http_hashgate_metrics_locs);
    if (ml == NULL) {
        return NGX_CONF_ERROR;
    }

    ml->clcf = clcf;
    ml->file = cf->conf_file->file.name.data;
    ml->line = cf->conf_file->line;

    if (ngx_http_hashgate_metrics_add(cf) == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * At the end of the http block: every hashgate_metrics is still its
 * location's content handler. NGX_ERROR (logged, naming where the
 * directive is) when a later directive replaced it.
 */
ngx_int_t
ngx_http_hashgate_metrics_check(ngx_conf_t *cf)
{
    ngx_uint_t                        i;
    ngx_http_hashgate_metrics_loc_t  *ml;

    if (ngx_http_hashgate_metrics_locs == NULL
        || ngx_http_hashgate_metrics_locs_pool != cf->pool)
    {
        return NGX_OK;
    }

    ml = ngx_http_hashgate_metrics_locs->elts;

    for (i = 0; i < ngx_http_hashgate_metrics_locs->nelts; i++) {
        if (ml[i].clcf->handler != ngx_http_hashgate_metrics_handler) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"hashgate_metrics\" in %s:%ui is replaced by "
                          "another content handler set after it in the same "
                          "location (proxy_pass, fastcgi_pass, ...): give "
                          "/metrics a location of its own", ml[i].file,
                          ml[i].line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}

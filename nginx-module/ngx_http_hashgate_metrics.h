/*
 * ngx_http_hashgate_metrics.h - the module's counters in shared memory and
 * the hashgate_metrics handler.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef NGX_HTTP_HASHGATE_METRICS_H
#define NGX_HTTP_HASHGATE_METRICS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hashgate/metrics.h"


/*
 * This process's view of the zone's counters; NULL when the configuration
 * uses hashgate nowhere (the hooks then do nothing). Set in each worker
 * by ngx_http_hashgate_metrics_process().
 */
extern hg_metrics_t  *ngx_http_hashgate_metrics;


/* The hashgate_metrics directive (a location's content handler). */
char *ngx_http_hashgate_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* At the end of the http block: no later directive replaced it. */
ngx_int_t ngx_http_hashgate_metrics_check(ngx_conf_t *cf);

/*
 * The zone, from the module's postconfiguration: made when db is set (a
 * database is configured) or hashgate_metrics made it; else NULL. *db and
 * *id are the database loaded at configuration and its file, recorded
 * when the zone is set up.
 */
ngx_shm_zone_t *ngx_http_hashgate_metrics_zone(ngx_conf_t *cf, hg_db_t **db,
    hg_db_ident_t *id);

/* A worker starts: its counters are the zone's (zone may be NULL). */
void ngx_http_hashgate_metrics_process(ngx_shm_zone_t *zone);

#endif

/*
 * evidence.c - write evidence records for the milter.
 *
 * A record is formatted by libhashgate (record.h) and appended to the
 * EvidenceLog with one write, under a lock so a failed write that is
 * truncated back never meets another thread's line. Every record also
 * gives one key=value line to the daemon's log (syslog), so a match is
 * visible where operators look first even when nobody reads the JSON.
 * A record the evidence log did not take goes to that log whole, once the
 * filter knows the verdict it ended with (hg_evidence_fallback).
 * Never content: only what record.h writes, and here names and digests.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "milter.h"

static pthread_mutex_t  ev_lock = PTHREAD_MUTEX_INITIALIZER;
static hg_evlog_t      *ev_log;

/* The file, then syslog and journald as configured: all, or none. */
hg_status_t
hg_evidence_open(const hg_mconf_t *c, hg_err_t *err)
{
    hg_evlog_t  *l;
    size_t       i;

    if (c->evidence_log != NULL
        && hg_evlog_open(c->evidence_log, &ev_log, err) != HG_OK)
    {
        return HG_EIO;
    }
    for (i = 0; i < c->nevidence_sinks; i++) {
        if (hg_evlog_open_spec(c->evidence_sinks[i], "hashgate-milter", &l,
                               err) != HG_OK)
        {
            hg_evlog_close(ev_log);
            ev_log = NULL;
            return HG_EIO;
        }
        hg_evlog_append(&ev_log, l);
    }
    return HG_OK;
}

/* -t: syslog and journald reachable now (the file is checked apart, as
 * -t must not create it). */
hg_status_t
hg_evidence_check_sinks(const hg_mconf_t *c, hg_err_t *err)
{
    hg_evlog_t  *l;
    size_t       i;

    for (i = 0; i < c->nevidence_sinks; i++) {
        if (hg_evlog_open_spec(c->evidence_sinks[i], "hashgate-milter", &l,
                               err) != HG_OK)
        {
            return HG_EIO;
        }
        hg_evlog_close(l);
    }
    return HG_OK;
}

void
hg_evidence_close(void)
{
    pthread_mutex_lock(&ev_lock);
    hg_evlog_close(ev_log);
    ev_log = NULL;
    pthread_mutex_unlock(&ev_lock);
}

void
hg_evidence_reopen(void)
{
    hg_err_t    err;

    pthread_mutex_lock(&ev_lock);
    if (ev_log != NULL && hg_evlog_reopen(ev_log, &err) != HG_OK) {
        hg_log(HG_LOG_ERR, "evidence log: %s; still writing to the old file",
               err.msg);
    }
    pthread_mutex_unlock(&ev_lock);
}

static const char *
_ctx(const hg_record_t *r, const char *key)
{
    for (size_t i = 0; i < r->nctx; i++) {
        if (!strcmp(r->ctx[i].key, key) && !r->ctx[i].is_array) {
            return r->ctx[i].value != NULL ? r->ctx[i].value : "-";
        }
    }
    return "-";
}

typedef struct {
    const hg_record_t  *r;
    const char         *why;
} ev_piece_t;

static void
_log_piece(void *data, size_t i, size_t n, const char *piece, size_t len)
{
    const ev_piece_t  *p = data;
    const char        *part = p->r->part ? p->r->part : "-";

    if (i == 1) {
        hg_log(HG_LOG_ERR, "evidence log write failed (%s); the record of "
               "queue_id=%s part=%s follows in %zu piece%s", p->why,
               _ctx(p->r, "queue_id"), part, n, n == 1 ? "" : "s");
    }
    hg_log(HG_LOG_ERR, "record queue_id=%s part=%s %zu/%zu: %.*s",
           _ctx(p->r, "queue_id"), part, i, n, (int) len, piece);
}

/*
 * The record r, which the evidence log did not take (why), to the daemon's
 * log in numbered pieces (hg_record_split) that name the message and part
 * and, joined in order, give the record's line.
 */
void
hg_evidence_fallback(const hg_record_t *r, const char *why)
{
    hg_json_t   j;
    ev_piece_t  p = { r, why };

    hg_json_init(&j);
    if (hg_record_format(r, &j) == HG_OK) {
        hg_record_split(j.buf, j.len - 1, _log_piece, &p);
    } else {
        hg_log(HG_LOG_ERR, "evidence log write failed (%s); the record of "
               "queue_id=%s part=%s cannot be formatted either", why,
               _ctx(r, "queue_id"), r->part ? r->part : "-");
    }
    hg_json_free(&j);
}

hg_status_t
hg_evidence_write(const hg_record_t *r, hg_err_t *err)
{
    hg_json_t           j;
    hg_status_t         st;
    char                digest[HG_HEX_MAX] = "-";
    const char         *alg = "-";
    const hg_digests_t *d = &r->res->digests;

    /* the digest that matched first, else the strongest computed */
    for (int a = HG_ALG_SHA256; a >= HG_ALG_MD5; a--) {
        if (d->algs & HG_ALG_BIT(a)) {
            alg = hg_alg_name((hg_alg_t) a);
            hg_hex_encode(d->d[a], hg_alg_len((hg_alg_t) a), digest);
            break;
        }
    }
    if (r->res->nmatches > 0) {
        hg_alg_t a = r->res->matches[0].alg;

        alg = hg_alg_name(a);
        hg_hex_encode(d->d[a], hg_alg_len(a), digest);
    }
    if (r->not_checked != NULL) {
        /* a file inside an archive that could not be hashed: no digest */
        hg_log(HG_LOG_NOTICE, "not_checked queue_id=%s client=%s part=%s "
               "why=%s action=%s intended=%s size=%llu",
               _ctx(r, "queue_id"), _ctx(r, "client_addr"),
               r->part ? r->part : "-", r->not_checked,
               hg_action_name(r->verdict->action),
               hg_action_name(r->verdict->intended),
               (unsigned long long) d->size);
    } else {
        hg_log(HG_LOG_NOTICE, "match queue_id=%s client=%s part=%s list=%s "
               "action=%s intended=%s size=%llu %s=%s",
               _ctx(r, "queue_id"), _ctx(r, "client_addr"),
               r->part ? r->part : "-",
               r->verdict->list ? r->verdict->list : "-",
               hg_action_name(r->verdict->action),
               hg_action_name(r->verdict->intended),
               (unsigned long long) d->size, alg, digest);
    }

    hg_json_init(&j);
    st = hg_record_format(r, &j);
    if (st != HG_OK) {
        hg_json_free(&j);
        return hg_err_set(err, st, "evidence record: %s", hg_status_str(st));
    }
    if (ev_log != NULL) {
        pthread_mutex_lock(&ev_lock);
        st = ev_log != NULL ? hg_evlog_write(ev_log, &j, err) : HG_OK;
        pthread_mutex_unlock(&ev_lock);
    }
    hg_json_free(&j);
    return st;
}

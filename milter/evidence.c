/*
 * evidence.c - write evidence records for the milter.
 *
 * A record is formatted by libhashgate (record.h) and appended to the
 * EvidenceLog with one write, under a lock so a failed write that is
 * truncated back never meets another thread's line. Every record also
 * gives one key=value line to the daemon's log (syslog), so a match is
 * visible where operators look first even when nobody reads the JSON.
 * Never content: only what record.h writes, and here names and digests.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "milter.h"

/*
 * A record the evidence log did not take goes to the daemon's log in
 * pieces of at most this: hg_log formats a line in 2048 bytes and classic
 * syslog (RFC 3164) carries 1024, so a record with many recipients in one
 * line would be cut there and lose its last fields (Message-ID, queue ID).
 */
#define EV_LOG_PIECE    768

static pthread_mutex_t  ev_lock = PTHREAD_MUTEX_INITIALIZER;
static hg_evlog_t      *ev_log;

hg_status_t
hg_evidence_open(const char *path, hg_err_t *err)
{
    if (path == NULL) {
        return HG_OK;
    }
    return hg_evlog_open(path, &ev_log, err);
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

/* Length of the next piece of p: never inside a UTF-8 character. */
static size_t
_piece(const char *p, size_t len)
{
    size_t  n = len < EV_LOG_PIECE ? len : EV_LOG_PIECE;

    while (n < len && n > 0 && ((unsigned char) p[n] & 0xC0) == 0x80) {
        n--;
    }
    return n > 0 ? n : (len < EV_LOG_PIECE ? len : EV_LOG_PIECE);
}

/*
 * The record (JSON, its newline left out) to the daemon's log: pieces that
 * name the message and part, numbered, and joined in order give the line.
 */
static void
_log_record(const hg_record_t *r, const char *buf, size_t len,
            const char *why)
{
    size_t  off, n, i, count = 0;

    for (off = 0; off < len; off += _piece(buf + off, len - off)) {
        count++;
    }
    hg_log(HG_LOG_ERR, "evidence log write failed (%s); the record follows "
           "in %zu piece%s", why, count, count == 1 ? "" : "s");
    for (off = 0, i = 1; off < len; off += n, i++) {
        n = _piece(buf + off, len - off);
        hg_log(HG_LOG_ERR, "record queue_id=%s part=%s %zu/%zu: %.*s",
               _ctx(r, "queue_id"), r->part ? r->part : "-", i, count,
               (int) n, buf + off);
    }
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
    hg_log(HG_LOG_NOTICE, "match queue_id=%s client=%s part=%s list=%s "
           "action=%s intended=%s size=%llu %s=%s",
           _ctx(r, "queue_id"), _ctx(r, "client_addr"),
           r->part ? r->part : "-",
           r->verdict->list ? r->verdict->list : "-",
           hg_action_name(r->verdict->action),
           hg_action_name(r->verdict->intended),
           (unsigned long long) d->size, alg, digest);

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
    if (st != HG_OK) {
        /* the record is not lost: it goes to the log instead */
        _log_record(r, j.buf ? j.buf : "", j.len ? j.len - 1 : 0,
                    err != NULL ? err->msg : "");
    }
    hg_json_free(&j);
    return st;
}

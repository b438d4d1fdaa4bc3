/*
 * record.c - evidence records: one JSON line per match, never content.
 *
 * A record is what an abuse team needs to file a report and to find the
 * preserved item: when, on which channel, what was done (and, in monitor
 * mode, what would have been), which lists matched with which digest, the
 * object's digests, size, names and types, and the channel's context. The
 * object's bytes are never written: res->head is deliberately not used here.
 *
 * Field order is fixed (time, channel, action, intended_action, monitor,
 * lists, allowed_by, error, md5, sha1, sha256, size, part, filename,
 * declared_type, detected_type, encoding, held_at, then the context pairs
 * in the order added). Optional fields whose value is NULL are left out;
 * a context pair with a NULL value is written as null.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hashgate/record.h"

void
hg_record_add(hg_record_t *r, const char *key, const char *value)
{
    if (r->nctx >= HG_RECORD_MAX_CTX) {
        return;
    }
    r->ctx[r->nctx].key = key;
    r->ctx[r->nctx].value = value;
    r->ctx[r->nctx].is_array = 0;
    r->nctx++;
}

/* RFC 3339 UTC with milliseconds: 2026-11-26T05:11:30.123Z */
void
hg_time_rfc3339(char *out, size_t outlen)
{
    struct timespec  ts;
    struct tm        tm;
    char             sec[24];

    if (out == NULL || outlen == 0) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03ldZ", sec, ts.tv_nsec / 1000000L);
}

static void
_record_kv_opt(hg_json_t *j, const char *key, const char *value)
{
    if (value != NULL) {
        hg_json_kv_str(j, key, value);
    }
}

/* value holds NUL-separated items ended by an empty one. */
static void
_record_array(hg_json_t *j, const char *value)
{
    const char  *p;

    hg_json_arr_begin(j);
    for (p = value; *p != '\0'; p += strlen(p) + 1) {
        hg_json_str(j, p);
    }
    hg_json_arr_end(j);
}

static void
_record_lists(hg_json_t *j, const hg_scan_result_t *res)
{
    const hg_match_t  *m;
    char               hex[HG_HEX_MAX];
    size_t             i;

    hg_json_key(j, "lists");
    hg_json_arr_begin(j);
    for (i = 0; i < res->nmatches && i < HG_SCAN_MAX_MATCHES; i++) {
        m = &res->matches[i];
        hg_json_obj_begin(j);
        hg_json_kv_str(j, "list", m->list_name);
        hg_json_kv_str(j, "version", m->list_version);
        hg_json_kv_str(j, "algorithm", hg_alg_name(m->alg));
        if ((unsigned) m->alg < HG_ALG_COUNT
            && (res->digests.algs & HG_ALG_BIT(m->alg))) {
            hg_hex_encode(res->digests.d[m->alg], hg_alg_len(m->alg), hex);
            hg_json_kv_str(j, "digest", hex);
        }
        hg_json_kv_str(j, "label", m->label);
        hg_json_obj_end(j);
    }
    hg_json_arr_end(j);
}

/*
 * Format r into j (reset first) as one JSON object ending in '\n'.
 * Returns hg_json_done's status: HG_OK, or HG_ENOMEM.
 */
hg_status_t
hg_record_format(const hg_record_t *r, hg_json_t *j)
{
    const hg_verdict_t      *v = r->verdict;
    const hg_scan_result_t  *res = r->res;
    char                     now[40], hex[HG_HEX_MAX];
    size_t                   i;
    int                      a, monitor;

    hg_json_reset(j);
    hg_time_rfc3339(now, sizeof(now));

    hg_json_obj_begin(j);
    hg_json_kv_str(j, "time", now);
    hg_json_kv_str(j, "channel", r->channel);

    if (v != NULL) {
        /* monitor mode is also the only thing that makes them differ */
        monitor = v->monitor || v->action != v->intended;
        hg_json_kv_str(j, "action", hg_action_name(v->action));
        if (monitor) {
            hg_json_kv_str(j, "intended_action", hg_action_name(v->intended));
        }
        hg_json_key(j, "monitor");
        hg_json_bool(j, monitor);
    }

    if (res != NULL) {
        _record_lists(j, res);
    }
    if (v != NULL) {
        _record_kv_opt(j, "allowed_by", v->allowed_by);
        if (v->failed) {
            hg_json_kv_str(j, "error", hg_status_str(v->fail_status));
        }
    }

    if (res != NULL) {
        for (a = 0; a < HG_ALG_COUNT; a++) {
            if (res->digests.algs & HG_ALG_BIT(a)) {
                hg_hex_encode(res->digests.d[a], hg_alg_len((hg_alg_t) a),
                              hex);
                hg_json_kv_str(j, hg_alg_name((hg_alg_t) a), hex);
            }
        }
        hg_json_kv_uint(j, "size", res->digests.size);
    }

    _record_kv_opt(j, "part", r->part);
    _record_kv_opt(j, "filename", r->filename);
    _record_kv_opt(j, "declared_type", r->declared_type);
    _record_kv_opt(j, "detected_type", r->detected_type);
    _record_kv_opt(j, "encoding", r->encoding);
    _record_kv_opt(j, "held_at", r->held_at);

    for (i = 0; i < r->nctx && i < HG_RECORD_MAX_CTX; i++) {
        if (r->ctx[i].key == NULL) {
            continue;
        }
        hg_json_key(j, r->ctx[i].key);
        if (r->ctx[i].is_array && r->ctx[i].value != NULL) {
            _record_array(j, r->ctx[i].value);
        } else {
            hg_json_str(j, r->ctx[i].value);
        }
    }
    hg_json_obj_end(j);
    return hg_json_done(j);
}

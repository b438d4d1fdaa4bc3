/*
 * metrics.c - the metrics of both servers: their definitions, the hooks
 * that move them, and the one renderer of the Prometheus text format.
 *
 * The storage (hg_metrics_t, hashgate/metrics.h) has no pointer in it: the
 * nginx module maps it into every worker at its own address. Counters are
 * added with __atomic builtins, which are lock-free on 64-bit words and so
 * work between processes as between threads. The list table and the
 * database's description change rarely and take the block's spinlock; a
 * match looks its list up without it (names are written before the count
 * that publishes them).
 *
 * Names follow Prometheus' conventions: the hashgate_ prefix, _total on
 * counters, base units (seconds, bytes). A series with no value yet is
 * still shown where its labels are known (channels, fail reasons), so a
 * rate() over it starts at zero instead of appearing late.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hashgate/db_pdq.h"
#include "hashgate/hash.h"
#include "hashgate/metrics.h"

#define METRICS_MAGIC   0x68676d31u     /* "hgm1" */

static const char *const channel_names[HG_METRICS_CHANNELS] = {
    "mail", "upload"
};

static const char *const fail_names[HG_METRICS_FAIL_REASONS] = {
    "limit", "database", "helper", "evidence", "hold", "other"
};

static const char *const nc_names[HG_METRICS_NC_REASONS] = {
    "encrypted", "unreadable"
};

/* matches[][i] is action_of[i] */
static const hg_action_t action_of[HG_METRICS_ACTIONS] = {
    HG_ACT_REJECT, HG_ACT_HOLD, HG_ACT_TAG, HG_ACT_LOG
};

static const char *const alg_names[HG_METRICS_ALGS] = {
    "md5", "sha1", "sha256", "pdq"
};

/* Upper bounds of the latency buckets, seconds: a clean small mail takes
 * about a millisecond, an archive of many files seconds. */
static const double bucket_le[HG_METRICS_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 10, 30
};

/* ---- the definitions ---- */

typedef enum {
    M_SCANNED = 0,
    M_PARTS,
    M_BYTES,
    M_MATCHES,
    M_FAIL,
    M_EVIDENCE,
    M_NOT_CHECKED,
    M_DURATION,
    M_DB_LOADED,
    M_DB_ENTRIES,
    M_DB_LISTS,
    M_DB_LIST_INFO,
    M_DB_LOAD_TIME,
    M_DB_AGE,
    M_RELOADS,
    M_RELOADS_REFUSED,
    M_HELPER_RESTARTS,
    M_COUNT
} metric_id_t;

typedef struct {
    const char     *name;
    const char     *type;       /* counter, gauge, histogram */
    const char     *help;
} metric_def_t;

static const metric_def_t defs[M_COUNT] = {
    [M_SCANNED] = { "hashgate_scanned_total", "counter",
        "Mails (channel mail) and uploads (channel upload) that got a "
        "verdict." },
    [M_PARTS] = { "hashgate_parts_scanned_total", "counter",
        "Objects hashed: MIME parts, form parts, request bodies, files "
        "inside archives." },
    [M_BYTES] = { "hashgate_parts_scanned_bytes_total", "counter",
        "Bytes of the objects hashed, as decoded." },
    [M_MATCHES] = { "hashgate_matches_total", "counter",
        "Objects found on a block list, by list and by the action the match "
        "asked for (list ~other: lists past the table's 64 names)." },
    [M_FAIL] = { "hashgate_fail_verdicts_total", "counter",
        "Mails and uploads that got the fail verdict (OnFail, "
        "hashgate_on_error), by reason." },
    [M_EVIDENCE] = { "hashgate_evidence_write_failures_total", "counter",
        "Mails and uploads with a record the evidence log did not take." },
    [M_NOT_CHECKED] = { "hashgate_not_checked_total", "counter",
        "Objects that could not be checked, by reason: files inside "
        "archives that are encrypted, or unreadable (nothing reads them, or "
        "the rest of a damaged archive)." },
    [M_DURATION] = { "hashgate_scan_duration_seconds", "histogram",
        "Time hashgate spent on a mail or upload: its work on the bytes as "
        "they came, then from their end to the verdict." },
    [M_DB_LOADED] = { "hashgate_database_loaded", "gauge",
        "1 when a database is in use, 0 when every item gets the fail "
        "verdict." },
    [M_DB_ENTRIES] = { "hashgate_database_entries", "gauge",
        "Digests in the database in use, by algorithm." },
    [M_DB_LISTS] = { "hashgate_database_lists", "gauge",
        "Lists in the database in use." },
    [M_DB_LIST_INFO] = { "hashgate_database_list_info", "gauge",
        "Each list of the database in use, with its version (1)." },
    [M_DB_LOAD_TIME] = { "hashgate_database_load_timestamp_seconds", "gauge",
        "Unix time of the last successful database load." },
    [M_DB_AGE] = { "hashgate_database_file_age_seconds", "gauge",
        "Seconds since the database file in use was last modified." },
    [M_RELOADS] = { "hashgate_database_reloads_total", "counter",
        "New database files loaded after the first." },
    [M_RELOADS_REFUSED] = { "hashgate_database_reloads_refused_total",
        "counter",
        "New database files refused (bad, unsigned); the old one stayed." },
    [M_HELPER_RESTARTS] = { "hashgate_inspect_helper_restarts_total",
        "counter",
        "Archive inspection helpers started again after one died, hung or "
        "was stopped." },
};

/* ---- atomics and the lock ---- */

static void
_add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t
_get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void
_lock(hg_metrics_t *m)
{
    unsigned    spins = 0;

    while (__atomic_exchange_n(&m->lock, 1, __ATOMIC_ACQUIRE) != 0) {
        /* held for a copy of a few KiB at most */
        if (++spins % 64 == 0) {
            sched_yield();
        }
    }
}

static void
_unlock(hg_metrics_t *m)
{
    __atomic_store_n(&m->lock, 0, __ATOMIC_RELEASE);
}

/* ---- the hooks ---- */

void
hg_metrics_init(hg_metrics_t *m)
{
    memset(m, 0, sizeof(*m));
    m->magic = METRICS_MAGIC;
    m->size = (uint32_t) sizeof(*m);
}

int
hg_metrics_valid(const hg_metrics_t *m)
{
    return m->magic == METRICS_MAGIC && m->size == sizeof(*m);
}

uint64_t
hg_metrics_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

void
hg_metrics_scanned(hg_metrics_t *m, hg_metrics_channel_t ch, uint64_t ns)
{
    double  s = (double) ns / 1e9;
    size_t  b;

    if (m == NULL) {
        return;
    }
    _add(&m->scanned[ch], 1);
    _add(&m->duration_ns[ch], ns);
    /* one bucket each; the renderer sums them up (le is cumulative) */
    for (b = 0; b < HG_METRICS_BUCKETS && s > bucket_le[b]; b++) {
        /* void */
    }
    if (b < HG_METRICS_BUCKETS) {
        _add(&m->bucket[ch][b], 1);
    }
}

void
hg_metrics_part(hg_metrics_t *m, hg_metrics_channel_t ch, uint64_t bytes)
{
    if (m == NULL) {
        return;
    }
    _add(&m->parts[ch], 1);
    _add(&m->bytes[ch], bytes);
}

/* The row of list, added to the table when there is room. */
static size_t
_list_row(hg_metrics_t *m, const char *list)
{
    uint32_t    n, i;

    n = __atomic_load_n(&m->nlists, __ATOMIC_ACQUIRE);
    for (i = 0; i < n; i++) {
        if (strcmp(m->list_name[i], list) == 0) {
            return i;
        }
    }
    if (strlen(list) > HG_LIST_NAME_MAX) {
        return HG_METRICS_MAX_LISTS;
    }
    _lock(m);
    n = m->nlists;
    for (; i < n; i++) {
        if (strcmp(m->list_name[i], list) == 0) {
            break;
        }
    }
    if (i == n && n < HG_METRICS_MAX_LISTS) {
        strcpy(m->list_name[n], list);
        __atomic_store_n(&m->nlists, n + 1, __ATOMIC_RELEASE);
    }
    _unlock(m);
    return i < HG_METRICS_MAX_LISTS ? i : HG_METRICS_MAX_LISTS;
}

void
hg_metrics_match(hg_metrics_t *m, const char *list, hg_action_t a)
{
    size_t  k;

    if (m == NULL || list == NULL) {
        return;
    }
    for (k = 0; k < HG_METRICS_ACTIONS && action_of[k] != a; k++) {
        /* void */
    }
    if (k == HG_METRICS_ACTIONS) {
        return;
    }
    _add(&m->matches[_list_row(m, list)][k], 1);
}

void
hg_metrics_not_checked(hg_metrics_t *m, hg_metrics_channel_t ch,
                       hg_metrics_nc_t reason)
{
    if (m != NULL && (unsigned) reason < HG_METRICS_NC_REASONS) {
        _add(&m->not_checked[ch][reason], 1);
    }
}

void
hg_metrics_fail(hg_metrics_t *m, hg_metrics_channel_t ch,
                hg_metrics_fail_t reason)
{
    if (m != NULL) {
        _add(&m->fail[ch][reason], 1);
    }
}

hg_metrics_fail_t
hg_metrics_fail_reason(hg_status_t st)
{
    return st == HG_ELIMIT ? HG_METRICS_FAIL_LIMIT : HG_METRICS_FAIL_OTHER;
}

void
hg_metrics_evidence_failed(hg_metrics_t *m, hg_metrics_channel_t ch)
{
    if (m != NULL) {
        _add(&m->evidence_failures[ch], 1);
    }
}

void
hg_metrics_helper_restart(hg_metrics_t *m)
{
    if (m != NULL) {
        _add(&m->helper_restarts, 1);
    }
}

/* Is the file id the one recorded in *r? */
#define SAME_FILE(r, id)                                                    \
    ((r)->dev == (uint64_t) (id)->dev && (r)->ino == (uint64_t) (id)->ino   \
     && (r)->size == (uint64_t) (id)->size                                  \
     && (r)->mtime_s == (int64_t) (id)->mtime.tv_sec                        \
     && (r)->mtime_ns == (int64_t) (id)->mtime.tv_nsec)

#define SET_FILE(r, id)                                                     \
    do {                                                                    \
        (r)->dev = (uint64_t) (id)->dev;                                    \
        (r)->ino = (uint64_t) (id)->ino;                                    \
        (r)->size = (uint64_t) (id)->size;                                  \
        (r)->mtime_s = (int64_t) (id)->mtime.tv_sec;                        \
        (r)->mtime_ns = (int64_t) (id)->mtime.tv_nsec;                      \
    } while (0)

void
hg_metrics_db_loaded(hg_metrics_t *m, const hg_db_t *db,
                     const hg_db_ident_t *id, time_t now)
{
    size_t          i, n;
    hg_db_list_t    l;

    if (m == NULL || db == NULL) {
        return;
    }
    n = hg_db_nlists(db);
    _lock(m);
    if (id != NULL && id->valid) {
        if (m->db_load_time != 0 && !SAME_FILE(&m->db_used, id)) {
            m->reloads++;
        }
        SET_FILE(&m->db_used, id);
        m->db_mtime = (int64_t) id->mtime.tv_sec;
    }
    m->db_load_time = (int64_t) now;
    m->db_loaded = 1;
    for (i = 0; i < HG_ALG_COUNT; i++) {
        m->db_entries[i] = hg_db_count(db, (hg_alg_t) i);
    }
    m->db_entries[HG_ALG_COUNT] = hg_db_pdq_count(db);
    m->db_nlists = (uint32_t) n;
    m->db_lists_kept = 0;
    for (i = 0; i < n && m->db_lists_kept < HG_METRICS_MAX_LISTS; i++) {
        if (hg_db_list(db, i, &l) != HG_OK) {
            continue;
        }
        snprintf(m->db_list[m->db_lists_kept].name,
                 sizeof(m->db_list[0].name), "%s", l.name);
        snprintf(m->db_list[m->db_lists_kept].version,
                 sizeof(m->db_list[0].version), "%s",
                 l.version != NULL ? l.version : "");
        m->db_lists_kept++;
    }
    _unlock(m);
}

void
hg_metrics_db_refused(hg_metrics_t *m, const hg_db_ident_t *id)
{
    if (m == NULL) {
        return;
    }
    _lock(m);
    if (id == NULL || !id->valid || !SAME_FILE(&m->db_refused, id)) {
        m->reloads_refused++;
        if (id != NULL && id->valid) {
            SET_FILE(&m->db_refused, id);
        }
    }
    _unlock(m);
}

void
hg_metrics_db_dropped(hg_metrics_t *m)
{
    if (m == NULL) {
        return;
    }
    _lock(m);
    m->db_loaded = 0;
    _unlock(m);
}

/* ---- the renderer ---- */

typedef struct {
    char       *buf;
    size_t      cap;
    size_t      len;    /* what the whole text needs */
} out_t;

static void
_put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
_put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
                  o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        o->len += (size_t) n;
    }
}

/* A label value, escaped as the format says: \\, \" and \n. */
static void
_put_value(out_t *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\': _put(o, "\\\\"); break;
        case '"':  _put(o, "\\\""); break;
        case '\n': _put(o, "\\n"); break;
        default:   _put(o, "%c", *s); break;
        }
    }
}

static void
_head(out_t *o, metric_id_t id)
{
    /* no help text has a backslash or a line end to escape */
    _put(o, "# HELP %s %s\n# TYPE %s %s\n", defs[id].name, defs[id].help,
         defs[id].name, defs[id].type);
}

/* name{channel="..."} value, for each channel asked for */
static void
_by_channel(out_t *o, metric_id_t id, const uint64_t *v, unsigned channels)
{
    unsigned    ch;

    _head(o, id);
    for (ch = 0; ch < HG_METRICS_CHANNELS; ch++) {
        if (channels & (1u << ch)) {
            _put(o, "%s{channel=\"%s\"} %llu\n", defs[id].name,
                 channel_names[ch], (unsigned long long) _get(&v[ch]));
        }
    }
}

static void
_plain(out_t *o, metric_id_t id, long long v)
{
    _head(o, id);
    _put(o, "%s %lld\n", defs[id].name, v);
}

size_t
hg_metrics_render(hg_metrics_t *m, unsigned channels, time_t now, char *buf,
                  size_t cap)
{
    out_t       o = { buf, cap, 0 };
    const char *name;
    unsigned    ch, r, k, b;
    uint32_t    i, nlists;
    uint64_t    v, cum;
    struct {
        uint32_t    loaded, nlists, kept;
        int64_t     load_time, mtime;
        uint64_t    entries[HG_METRICS_ALGS];
        uint64_t    reloads, refused;
    } db;

    if (cap > 0) {
        buf[0] = '\0';
    }

    _by_channel(&o, M_SCANNED, m->scanned, channels);
    _by_channel(&o, M_PARTS, m->parts, channels);
    _by_channel(&o, M_BYTES, m->bytes, channels);

    _head(&o, M_MATCHES);
    nlists = __atomic_load_n(&m->nlists, __ATOMIC_ACQUIRE);
    for (i = 0; i <= HG_METRICS_MAX_LISTS; i++) {
        if (i < HG_METRICS_MAX_LISTS && i >= nlists) {
            continue;
        }
        name = i < HG_METRICS_MAX_LISTS ? m->list_name[i]
                                        : HG_METRICS_OTHER_LIST;
        for (k = 0; k < HG_METRICS_ACTIONS; k++) {
            if ((v = _get(&m->matches[i][k])) == 0) {
                continue;
            }
            _put(&o, "%s{list=\"", defs[M_MATCHES].name);
            _put_value(&o, name);
            _put(&o, "\",action=\"%s\"} %llu\n", hg_action_name(action_of[k]),
                 (unsigned long long) v);
        }
    }

    _head(&o, M_FAIL);
    for (ch = 0; ch < HG_METRICS_CHANNELS; ch++) {
        if (!(channels & (1u << ch))) {
            continue;
        }
        for (r = 0; r < HG_METRICS_FAIL_REASONS; r++) {
            _put(&o, "%s{channel=\"%s\",reason=\"%s\"} %llu\n",
                 defs[M_FAIL].name, channel_names[ch], fail_names[r],
                 (unsigned long long) _get(&m->fail[ch][r]));
        }
    }

    _by_channel(&o, M_EVIDENCE, m->evidence_failures, channels);

    _head(&o, M_NOT_CHECKED);
    for (ch = 0; ch < HG_METRICS_CHANNELS; ch++) {
        if (!(channels & (1u << ch))) {
            continue;
        }
        for (r = 0; r < HG_METRICS_NC_REASONS; r++) {
            _put(&o, "%s{channel=\"%s\",reason=\"%s\"} %llu\n",
                 defs[M_NOT_CHECKED].name, channel_names[ch], nc_names[r],
                 (unsigned long long) _get(&m->not_checked[ch][r]));
        }
    }

    _head(&o, M_DURATION);
    for (ch = 0; ch < HG_METRICS_CHANNELS; ch++) {
        if (!(channels & (1u << ch))) {
            continue;
        }
        /* the count first: a scan counted while we read is then in the
         * next scrape's buckets, never in +Inf without its bucket */
        v = _get(&m->scanned[ch]);
        cum = 0;
        for (b = 0; b < HG_METRICS_BUCKETS; b++) {
            cum += _get(&m->bucket[ch][b]);
            _put(&o, "%s_bucket{channel=\"%s\",le=\"%g\"} %llu\n",
                 defs[M_DURATION].name, channel_names[ch], bucket_le[b],
                 (unsigned long long) (cum < v ? cum : v));
        }
        _put(&o, "%s_bucket{channel=\"%s\",le=\"+Inf\"} %llu\n",
             defs[M_DURATION].name, channel_names[ch], (unsigned long long) v);
        _put(&o, "%s_sum{channel=\"%s\"} %.9f\n", defs[M_DURATION].name,
             channel_names[ch], (double) _get(&m->duration_ns[ch]) / 1e9);
        _put(&o, "%s_count{channel=\"%s\"} %llu\n", defs[M_DURATION].name,
             channel_names[ch], (unsigned long long) v);
    }

    /* the database's description, copied under the lock */
    _lock(m);
    db.loaded = m->db_loaded;
    db.nlists = m->db_nlists;
    db.kept = m->db_lists_kept;
    db.load_time = m->db_load_time;
    db.mtime = m->db_mtime;
    memcpy(db.entries, m->db_entries, sizeof(db.entries));
    db.reloads = m->reloads;
    db.refused = m->reloads_refused;
    _head(&o, M_DB_LIST_INFO);
    for (i = 0; i < db.kept && db.loaded; i++) {
        _put(&o, "%s{list=\"", defs[M_DB_LIST_INFO].name);
        _put_value(&o, m->db_list[i].name);
        _put(&o, "\",version=\"");
        _put_value(&o, m->db_list[i].version);
        _put(&o, "\"} 1\n");
    }
    _unlock(m);

    _plain(&o, M_DB_LOADED, db.loaded);
    _head(&o, M_DB_ENTRIES);
    for (k = 0; k < HG_METRICS_ALGS; k++) {
        _put(&o, "%s{algorithm=\"%s\"} %llu\n", defs[M_DB_ENTRIES].name,
             alg_names[k], (unsigned long long) (db.loaded ? db.entries[k]
                                                           : 0));
    }
    _plain(&o, M_DB_LISTS, db.loaded ? db.nlists : 0);
    if (db.load_time != 0) {
        _plain(&o, M_DB_LOAD_TIME, db.load_time);
    }
    if (db.loaded && db.mtime != 0) {
        _plain(&o, M_DB_AGE, (long long) now - db.mtime);
    }
    _plain(&o, M_RELOADS, (long long) db.reloads);
    _plain(&o, M_RELOADS_REFUSED, (long long) db.refused);
    _plain(&o, M_HELPER_RESTARTS, (long long) _get(&m->helper_restarts));

    return o.len;
}

/*
 * metrics.h - the counters both servers export, and their one rendering in
 * the Prometheus text exposition format (version 0.0.4).
 *
 * Every metric (name, help, type, labels) is defined once, in
 * common/metrics/metrics.c, and rendered by one function, so the milter and
 * the nginx module cannot drift apart in names or types. The wrappers only
 * place the storage and call the hooks where they decide:
 *
 *   - hg_metrics_t holds no pointer, only fixed-size arrays indexed by
 *     label, so it may live in plain process memory (the milter's threads)
 *     or in a shared-memory zone mapped at another address in each nginx
 *     worker. Counters are 64-bit and added with atomics; the few things
 *     that need more (a new list name, the database's description) take a
 *     spinlock inside the block, which works across processes too.
 *   - Lists are named by the database and change at reload, so matches are
 *     kept by list name in a table of HG_METRICS_MAX_LISTS names; a list
 *     past that is counted under list="~other" ('~' is in no list name).
 *   - A database load or refusal is counted once per file (its identity):
 *     nginx workers each load the same file, and it is one reload.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_METRICS_H
#define HASHGATE_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hashgate/db.h"
#include "hashgate/db_watch.h"
#include "hashgate/decide.h"

/* Named lists in the matches table; the rest go to list="~other". */
#define HG_METRICS_MAX_LISTS        64
#define HG_METRICS_OTHER_LIST       "~other"

/* Characters of a list version kept for hashgate_database_list_info. */
#define HG_METRICS_VERSION_MAX      64

/* Buckets of hashgate_scan_duration_seconds, +Inf aside. */
#define HG_METRICS_BUCKETS          14

/* Algorithms of hashgate_database_entries: md5, sha1, sha256, pdq. */
#define HG_METRICS_ALGS             (HG_ALG_COUNT + 1)

typedef enum {
    HG_METRICS_MAIL = 0,        /* channel="mail": the milter */
    HG_METRICS_UPLOAD,          /* channel="upload": nginx */
    HG_METRICS_CHANNELS
} hg_metrics_channel_t;

/* Why a mail or upload got the fail verdict (OnFail, hashgate_on_error). */
typedef enum {
    HG_METRICS_FAIL_LIMIT = 0,  /* a size, depth, parts or archive limit */
    HG_METRICS_FAIL_DATABASE,   /* none loaded, or its file spoiled */
    HG_METRICS_FAIL_HELPER,     /* the archive helper failed, hung, busy */
    HG_METRICS_FAIL_EVIDENCE,   /* a match's record not written */
    HG_METRICS_FAIL_HOLD,       /* a match not held */
    HG_METRICS_FAIL_OTHER,      /* malformed input, no memory, ... */
    HG_METRICS_FAIL_REASONS
} hg_metrics_fail_t;

/* Why an object could not be checked (hashgate_not_checked_total). */
typedef enum {
    HG_METRICS_NC_ENCRYPTED = 0,    /* a file inside an archive, encrypted */
    HG_METRICS_NC_UNREADABLE,       /* one nothing reads, or the rest of a
                                     * damaged archive */
    HG_METRICS_NC_REASONS
} hg_metrics_nc_t;

/* Actions of hashgate_matches_total: reject, hold, tag, log. */
#define HG_METRICS_ACTIONS          4

/*
 * The storage. Treat as opaque; its layout is fixed by this header, so a
 * shared block is reused across an nginx reload only by the same build
 * (hg_metrics_valid).
 */
typedef struct {
    uint32_t        magic;
    uint32_t        size;           /* sizeof(hg_metrics_t) */
    uint32_t        lock;           /* spinlock: lists, db */

    uint64_t        scanned[HG_METRICS_CHANNELS];
    uint64_t        parts[HG_METRICS_CHANNELS];
    uint64_t        bytes[HG_METRICS_CHANNELS];
    uint64_t        fail[HG_METRICS_CHANNELS][HG_METRICS_FAIL_REASONS];
    uint64_t        evidence_failures[HG_METRICS_CHANNELS];
    uint64_t        not_checked[HG_METRICS_CHANNELS][HG_METRICS_NC_REASONS];
    uint64_t        bucket[HG_METRICS_CHANNELS][HG_METRICS_BUCKETS];
    uint64_t        duration_ns[HG_METRICS_CHANNELS];
    uint64_t        reloads;
    uint64_t        reloads_refused;
    uint64_t        helper_restarts;

    /* matches: row i is list_name[i], row HG_METRICS_MAX_LISTS "~other" */
    uint32_t        nlists;         /* published with release order */
    char            list_name[HG_METRICS_MAX_LISTS][HG_LIST_NAME_MAX + 1];
    uint64_t        matches[HG_METRICS_MAX_LISTS + 1][HG_METRICS_ACTIONS];

    /* the database in use (under lock) */
    uint32_t        db_loaded;
    uint32_t        db_nlists;      /* of the database */
    uint32_t        db_lists_kept;  /* in db_list[] */
    int64_t         db_load_time;   /* Unix seconds */
    int64_t         db_mtime;       /* of its file: the age at a scrape */
    uint64_t        db_entries[HG_METRICS_ALGS];
    struct {
        uint64_t    dev, ino, size;
        int64_t     mtime_s, mtime_ns;
    }               db_used, db_refused;
    struct {
        char        name[HG_LIST_NAME_MAX + 1];
        char        version[HG_METRICS_VERSION_MAX + 1];
    }               db_list[HG_METRICS_MAX_LISTS];
} hg_metrics_t;

/* Zero m and mark it as this build's layout. */
void hg_metrics_init(hg_metrics_t *m);

/* m was made by hg_metrics_init of this layout (a shared block kept over
 * an nginx reload): 1, else 0. */
int hg_metrics_valid(const hg_metrics_t *m);

/* CLOCK_MONOTONIC in nanoseconds, for the durations below. */
uint64_t hg_metrics_now_ns(void);

/*
 * A mail or upload got its verdict after ns nanoseconds of hashgate's
 * time: counted in hashgate_scanned_total and the latency histogram.
 */
void hg_metrics_scanned(hg_metrics_t *m, hg_metrics_channel_t ch,
                        uint64_t ns);

/* One object (part, file inside an archive, body) hashed, of bytes. */
void hg_metrics_part(hg_metrics_t *m, hg_metrics_channel_t ch,
                     uint64_t bytes);

/*
 * An object that could not be checked, so no list could match it: a file
 * inside an archive that is encrypted or that nothing reads, or a damaged
 * archive's rest (counted once, like its record). Its mail or upload goes
 * on (ArchiveEncrypted, ArchiveUnreadable); an archive not read to its end
 * for a limit or a failed helper gets the fail verdict instead, counted by
 * hg_metrics_fail.
 */
void hg_metrics_not_checked(hg_metrics_t *m, hg_metrics_channel_t ch,
                            hg_metrics_nc_t reason);

/* A match on list (a block list) whose action is a (reject, hold, tag,
 * log; any other is not counted). */
void hg_metrics_match(hg_metrics_t *m, const char *list, hg_action_t a);

/* The mail or upload got the fail verdict, for reason. */
void hg_metrics_fail(hg_metrics_t *m, hg_metrics_channel_t ch,
                     hg_metrics_fail_t reason);

/* The fail reason of a scan that stopped with st (limit or other). */
hg_metrics_fail_t hg_metrics_fail_reason(hg_status_t st);

/* A record the evidence log did not take. */
void hg_metrics_evidence_failed(hg_metrics_t *m, hg_metrics_channel_t ch);

/*
 * db was loaded from the file id at now: the database gauges describe it,
 * and a file other than the one loaded before counts as a reload (the
 * first load is no reload).
 */
void hg_metrics_db_loaded(hg_metrics_t *m, const hg_db_t *db,
                          const hg_db_ident_t *id, time_t now);

/* The file id was refused: counted once per file. */
void hg_metrics_db_refused(hg_metrics_t *m, const hg_db_ident_t *id);

/* No usable database any more (its file spoiled under the mapping). */
void hg_metrics_db_dropped(hg_metrics_t *m);

/* An archive inspection helper was started again. */
void hg_metrics_helper_restart(hg_metrics_t *m);

/*
 * The exposition text of m at now, for the channels in the bit mask
 * (1u << hg_metrics_channel_t), into buf: like snprintf, returns the
 * length the whole text needs (buf holds it, NUL-ended, when smaller than
 * cap). Counters may move between two calls: allow some room.
 */
size_t hg_metrics_render(hg_metrics_t *m, unsigned channels, time_t now,
                         char *buf, size_t cap);

/* The Content-Type of that text. */
#define HG_METRICS_CONTENT_TYPE  "text/plain; version=0.0.4; charset=utf-8"

#endif

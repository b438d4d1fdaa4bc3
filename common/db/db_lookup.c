/*
 * db_lookup.c - find a digest in the mapped, read-only database, walk its
 * entries, and describe its lists.
 *
 * Every process maps the same file, so nothing here writes to it or keeps
 * state between calls. A bucket index on the leading digest bits narrows a
 * lookup to one bucket of about 256 rows, searched in place. hg_db_open()
 * checked the header, the metadata, where every section lies and the
 * bucket index; the contents of the other data sections (set index
 * values, extras rows, label offsets) were not read at open, so each is
 * checked here as it is used, and bucket bounds are clamped again because
 * a file changed in place under a live shared mapping changes them too. A
 * file with garbage in those regions gives wrong answers (and fails
 * hg_db_verify), never a read outside the mapping.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "db/db_format.h"
#include "hashgate/db.h"
#include "hashgate/db_pdq.h"

/* Apply one extras record to the hit for its list, if that hit is filled. */
static void
_hg_apply_extra(const hg_db_t *db, const unsigned char *x, hg_db_hit_t *hits,
                size_t n)
{
    uint32_t  list = hg_le16(x + EXTRA_LIST);
    unsigned  flags = hg_le16(x + EXTRA_FLAGS);
    uint32_t  lab = hg_le32(x + EXTRA_LABEL);
    size_t    i;

    for (i = 0; i < n; i++) {
        if (hits[i].list != list) {
            continue;
        }
        if (flags & EXTRA_HAS_SIZE) {
            hits[i].has_size = 1;
            hits[i].size = hg_le64(x + EXTRA_SIZE);
        }
        /* labels_len > 0 means its last byte is NUL: any offset inside is a
         * terminated string */
        if ((flags & EXTRA_HAS_LABEL) && lab < db->labels_len) {
            hits[i].label = db->labels + lab;
        }
        return;
    }
}

/*
 * Fill hits from row's set and extras; returns the number of lists the row
 * is on, 0 if its set index is out of range (a corrupted file).
 */
static size_t
_hg_row_hits(const hg_db_t *db, const hg_db_alg_t *al, uint64_t row,
             hg_db_hit_t *hits, size_t max)
{
    uint32_t  v = hg_db_setidx(al, row), set = v >> 1;
    uint32_t  first, count, i;
    uint64_t  x;
    size_t    n;

    if (set >= db->nsets) {
        return 0;
    }
    first = hg_le32(db->sets + (uint64_t) set * SET_REC + SET_FIRST);
    count = hg_le32(db->sets + (uint64_t) set * SET_REC + SET_COUNT);
    n = count < max ? count : max;
    for (i = 0; i < n; i++) {
        hits[i].list = hg_le16(db->members + (uint64_t) (first + i) * MEMBER_REC);
        hits[i].has_size = 0;
        hits[i].size = 0;
        hits[i].label = NULL;
    }
    if ((v & SETIDX_EXTRAS) && n > 0) {
        /* at most one record per list of the row, even in a corrupt file */
        x = hg_db_extras_find(al, row);
        for (i = 0; i < count && x < al->nextras; i++, x++) {
            const unsigned char  *r = al->extras + x * EXTRA_REC;

            if (hg_le32(r + EXTRA_ROW) != row) {
                break;
            }
            _hg_apply_extra(db, r, hits, n);
        }
    }
    return count;
}

/* Compare row r with the key: its leading 64 bits first, then the rest. */
static inline int
_hg_row_cmp(const hg_db_alg_t *al, uint64_t r, const unsigned char *d,
            uint64_t key64)
{
    const unsigned char  *row = al->digests + r * al->dlen;
    uint64_t              r64 = hg_db_prefix64(row);

    if (r64 != key64) {
        return r64 < key64 ? -1 : 1;
    }
    return memcmp(row + 8, d + 8, al->dlen - 8);
}

/* Steps walked from the interpolated row before falling back to bisection. */
#define HG_DB_WALK      16

/*
 * Rows either side of the interpolated one whose lines are prefetched. In a
 * bucket of ~256 uniform digests the estimate is off by sqrt(256)/2 = 8
 * rows (one standard deviation); 17 rows of SHA-256 are 9 cache lines,
 * fetched in parallel instead of one dependent miss after another.
 */
#define HG_DB_PREFETCH  8

/*
 * The rows [lo, hi) of the key's bucket (clamped, see the top of this
 * file), and the row the key should be at: the next 32 bits of the digest
 * say where in the bucket, since digests are uniform. 0 if the bucket is
 * empty.
 */
static inline int
_hg_estimate(const hg_db_alg_t *al, uint64_t key64, uint64_t *lo,
             uint64_t *hi, uint64_t *mid)
{
    uint64_t  k = al->bits ? key64 >> (64 - al->bits) : 0;

    *lo = hg_le32(al->buckets + k * 4);
    *hi = hg_le32(al->buckets + k * 4 + 4);
    if (*hi > al->count) {
        *hi = al->count;
    }
    if (*lo >= *hi) {
        return 0;
    }
    *mid = *lo + (((*hi - *lo) * ((key64 << al->bits) >> 32)) >> 32);
    return 1;
}

/*
 * The key is usually within a few rows of mid: ask for their lines, and
 * for mid's set index value, all at once rather than one dependent miss
 * after another.
 */
static inline void
_hg_prefetch_rows(const hg_db_alg_t *al, uint64_t lo, uint64_t hi,
                  uint64_t mid)
{
    uint64_t  pa, pb, k;

    pa = mid >= lo + HG_DB_PREFETCH ? mid - HG_DB_PREFETCH : lo;
    pb = mid + HG_DB_PREFETCH < hi ? mid + HG_DB_PREFETCH : hi - 1;
    for (k = pa * al->dlen; k < pb * al->dlen + al->dlen; k += 64) {
        __builtin_prefetch(al->digests + k);
    }
    __builtin_prefetch(al->digests + pb * al->dlen + al->dlen - 1);
    if (al->setw > 0) {
        __builtin_prefetch(al->setidx + mid * al->setw);
    }
}

/*
 * Format 5 (db_place.c): slots from the key's home on whose lines are
 * asked for at once. At the writer's load a row is 10 slots past its home
 * on average; 16 cover about 3 lookups in 4 (9 lines of SHA-256).
 */
#define HG_DB_AHEAD     16

/* Slots walked from the home before falling back to bisection. */
#define HG_DB_KEYED_WALK 64

static inline void
_hg_prefetch_keyed(const hg_db_alg_t *al, uint64_t s)
{
    uint64_t  end = s + HG_DB_AHEAD < al->count ? s + HG_DB_AHEAD : al->count;
    uint64_t  k;

    for (k = s * al->dlen; k < end * al->dlen; k += 64) {
        __builtin_prefetch(al->digests + k);
    }
    __builtin_prefetch(al->digests + end * al->dlen - 1);
}

void
hg_db_prefetch(const hg_db_t *db, hg_alg_t alg, const unsigned char *digest)
{
    const hg_db_alg_t  *al;
    uint64_t            lo, hi, mid;

    if ((unsigned) alg >= HG_ALG_COUNT || db->alg[alg].count == 0) {
        return;
    }
    al = &db->alg[alg];
    if (al->filter != NULL) {
        __builtin_prefetch(al->filter + HG_DB_FILTER_BLOCK
                           * hg_db_filter_block(digest, al->fblocks));
    }
    if (al->home != 0) {
        lo = hg_db_home(hg_db_prefix64(digest), al->home, al->base);
        if (lo < al->count) {
            _hg_prefetch_keyed(al, lo);
        }
        return;
    }
    if (_hg_estimate(al, hg_db_prefix64(digest), &lo, &hi, &mid)) {
        _hg_prefetch_rows(al, lo, hi, mid);
    }
}

/*
 * Format 5: walk forward from the key's home slot; the first slot holding
 * the key is its row (the free slots after a row repeat it), a larger one
 * means absent. Past HG_DB_KEYED_WALK slots (only a skewed or corrupted
 * table) the rest is bisected: the slots never decrease.
 */
static int
_hg_find_keyed(const hg_db_alg_t *al, const unsigned char *digest,
               uint64_t key64, const unsigned char *blk, uint64_t *row)
{
    uint64_t  s = hg_db_home(key64, al->home, al->base), lo, hi, mid;
    int       c, steps;

    if (s >= al->count) {
        return 0;
    }
    _hg_prefetch_keyed(al, s);
    if (blk != NULL && !hg_db_filter_has(blk, hg_db_filter_key(digest))) {
        return 0;
    }
    for (steps = 0; s < al->count && steps < HG_DB_KEYED_WALK; s++, steps++) {
        c = _hg_row_cmp(al, s, digest, key64);
        if (c == 0) {
            *row = s;
            return 1;
        }
        if (c > 0) {
            return 0;
        }
    }
    for (lo = s, hi = al->count; lo < hi;) {
        mid = lo + (hi - lo) / 2;
        if (_hg_row_cmp(al, mid, digest, key64) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < al->count && _hg_row_cmp(al, lo, digest, key64) == 0) {
        *row = lo;
        return 1;
    }
    return 0;
}

/*
 * The row of digest in al, if present: start at the estimated row
 * (_hg_estimate), walk a few rows towards the key, then bisect what is
 * left; so a skewed or corrupted table costs O(log n), never a read
 * outside it.
 */
static inline int
_hg_find(const hg_db_alg_t *al, const unsigned char *digest, uint64_t *row)
{
    const unsigned char  *blk = NULL;
    uint64_t              key64, lo, hi, mid;
    int                   c, steps;

    if (al->count == 0) {
        return 0;
    }
    key64 = hg_db_prefix64(digest);
    if (al->filter != NULL) {
        blk = al->filter + HG_DB_FILTER_BLOCK
              * hg_db_filter_block(digest, al->fblocks);
        __builtin_prefetch(blk);
    }
    if (al->home != 0) {
        return _hg_find_keyed(al, digest, key64, blk, row);
    }
    if (!_hg_estimate(al, key64, &lo, &hi, &mid)) {
        return 0;
    }
    /*
     * The rows are asked for before the filter answers: a listed digest
     * then costs the rows' read alone, not the filter's and then theirs;
     * an absent one (nearly all) returns once its filter line is in.
     */
    _hg_prefetch_rows(al, lo, hi, mid);
    if (blk != NULL && !hg_db_filter_has(blk, hg_db_filter_key(digest))) {
        return 0;
    }
    c = _hg_row_cmp(al, mid, digest, key64);
    if (c == 0) {
        *row = mid;
        return 1;
    }
    if (c < 0) {
        for (lo = mid + 1, steps = 0; lo < hi && steps < HG_DB_WALK;
             lo++, steps++)
        {
            c = _hg_row_cmp(al, lo, digest, key64);
            if (c == 0) {
                *row = lo;
                return 1;
            }
            if (c > 0) {
                return 0;
            }
        }
    } else {
        for (hi = mid, steps = 0; hi > lo && steps < HG_DB_WALK;
             hi--, steps++)
        {
            c = _hg_row_cmp(al, hi - 1, digest, key64);
            if (c == 0) {
                *row = hi - 1;
                return 1;
            }
            if (c < 0) {
                return 0;
            }
        }
    }
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = _hg_row_cmp(al, mid, digest, key64);
        if (c == 0) {
            *row = mid;
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

size_t
hg_db_lookup(const hg_db_t *db, hg_alg_t alg, const unsigned char *digest,
             hg_db_hit_t *hits, size_t max)
{
    const hg_db_alg_t  *al;
    uint64_t            row;

    if ((unsigned) alg >= HG_ALG_COUNT) {
        return 0;
    }
    al = &db->alg[alg];
    if (!_hg_find(al, digest, &row)) {
        return 0;
    }
    return _hg_row_hits(db, al, row, hits, max);
}

/* First link of al with a row >= row. */
static uint64_t
_hg_links_find(const hg_db_alg_t *al, uint64_t row)
{
    uint64_t  lo = 0, hi = al->nlinks, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (hg_le32(al->links + mid * LINK_REC + LINK_ROW) < row) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*
 * Links and records were not read at open: every record index, list and
 * row is checked here as it is used (a corrupt one is skipped).
 */
unsigned
hg_db_listed(const hg_db_t *db, hg_alg_t alg, const unsigned char *digest,
             uint32_t list, hg_digests_t *out)
{
    const hg_db_alg_t    *al;
    const unsigned char  *r;
    uint64_t              row, x, rec;
    uint32_t              orow;
    unsigned              mask;
    int                   b;

    out->algs = 0;
    out->size = 0;
    if ((unsigned) alg >= HG_ALG_COUNT || db->nrecords == 0) {
        return 0;
    }
    al = &db->alg[alg];
    if (al->nlinks == 0 || !_hg_find(al, digest, &row)) {
        return 0;
    }
    for (x = _hg_links_find(al, row); x < al->nlinks; x++) {
        if (hg_le32(al->links + x * LINK_REC + LINK_ROW) != row) {
            break;
        }
        rec = hg_le32(al->links + x * LINK_REC + LINK_RECORD);
        if (rec >= db->nrecords) {
            continue;
        }
        r = db->records + rec * RECORD_REC;
        mask = hg_le16(r + RECORD_ALGS);
        if (hg_le16(r + RECORD_LIST) != list || !(mask & HG_ALG_BIT(alg))
            || hg_le32(r + RECORD_ROW(alg)) != row)
        {
            continue;
        }
        for (b = 0; b < HG_ALG_COUNT; b++) {
            if (b == (int) alg || !(mask & HG_ALG_BIT(b))
                || (out->algs & HG_ALG_BIT(b)))
            {
                continue;
            }
            orow = hg_le32(r + RECORD_ROW(b));
            if (orow >= db->alg[b].count) {
                continue;
            }
            memcpy(out->d[b], db->alg[b].digests
                              + (uint64_t) orow * db->alg[b].dlen,
                   db->alg[b].dlen);
            out->algs |= HG_ALG_BIT(b);
        }
    }
    return out->algs;
}

/*
 * Every (digest, list) pair, per algorithm in digest order, lists in index
 * order within a digest. A row whose set index is corrupt is skipped.
 * HG_ENOMEM if the small per-call buffer cannot be had.
 */
hg_status_t
hg_db_foreach(const hg_db_t *db, hg_db_entry_cb cb, void *ctx)
{
    hg_db_hit_t  *hits;
    hg_entry_t    e;
    hg_status_t   rc = HG_OK;
    uint64_t      row;
    size_t        n, i;
    int           a;

    /* one hit per list at most; on the heap, callers may be on small stacks */
    hits = malloc((db->nlists ? db->nlists : 1) * sizeof(*hits));
    if (hits == NULL) {
        return HG_ENOMEM;
    }
    for (a = 0; a < HG_ALG_COUNT && rc == HG_OK; a++) {
        const hg_db_alg_t  *al = &db->alg[a];

        for (row = 0; row < al->count && rc == HG_OK; row++) {
            /* format 5: a free slot repeats the row before it */
            if (al->home != 0 && row > 0
                && memcmp(al->digests + (row - 1) * al->dlen,
                          al->digests + row * al->dlen, al->dlen) == 0)
            {
                continue;
            }
            n = _hg_row_hits(db, al, row, hits, db->nlists);
            if (n > db->nlists) {
                n = db->nlists;
            }
            for (i = 0; i < n && rc == HG_OK; i++) {
                memset(&e, 0, sizeof(e));
                e.alg = (hg_alg_t) a;
                memcpy(e.digest, al->digests + row * al->dlen, al->dlen);
                e.has_size = hits[i].has_size;
                e.size = hits[i].size;
                e.label = hits[i].label;
                rc = cb(ctx, hits[i].list, &e);
            }
        }
    }
    free(hits);
    if (rc == HG_OK) {
        rc = hg_db_pdq_foreach(db, cb, ctx);
    }
    return rc;
}

unsigned
hg_db_algs(const hg_db_t *db)
{
    unsigned  m = 0;
    int       a;

    if (db->format >= 2) {
        return db->scan_algs;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (db->alg[a].count > 0) {
            m |= HG_ALG_BIT(a);
        }
    }
    return m;
}

int
hg_db_all_digests(const hg_db_t *db)
{
    return (db->flags & HG_DB_FLAG_ALL_DIGESTS) != 0;
}

uint64_t
hg_db_records(const hg_db_t *db, unsigned kind, unsigned mask)
{
    if (db->format < 2 || kind > HG_LIST_ALLOW || mask == 0 || mask > 7) {
        return 0;
    }
    return hg_le64(db->base + HDR_RECORD_COUNT(kind, mask));
}

uint64_t
hg_db_count(const hg_db_t *db, hg_alg_t alg)
{
    return (unsigned) alg < HG_ALG_COUNT ? db->alg[alg].rows : 0;
}

uint64_t
hg_db_filter_bytes(const hg_db_t *db, hg_alg_t alg)
{
    return (unsigned) alg < HG_ALG_COUNT
               ? db->alg[alg].fblocks * HG_DB_FILTER_BLOCK : 0;
}

size_t
hg_db_nlists(const hg_db_t *db)
{
    return db->nlists;
}

/* Strings point into the mapping: valid while a reference is held. */
hg_status_t
hg_db_list(const hg_db_t *db, size_t i, hg_db_list_t *out)
{
    const unsigned char  *l;

    if (i >= db->nlists) {
        return HG_ENOENT;
    }
    l = db->lists + i * LIST_REC;
    out->name = db->strings + hg_le32(l + LIST_NAME);
    out->version = db->strings + hg_le32(l + LIST_VERSION);
    out->kind = hg_le32(l + LIST_KIND);
    out->entries = hg_le64(l + LIST_ENTRIES);
    out->compiled = hg_le64(l + LIST_COMPILED);
    out->nsources = hg_le32(l + LIST_NSOURCES);
    out->records = db->format >= 2 ? hg_le64(l + LIST_RECORDS) : out->entries;
    return HG_OK;
}

hg_status_t
hg_db_list_source(const hg_db_t *db, size_t list, size_t i,
                  hg_db_source_t *out)
{
    const unsigned char  *l, *s;

    if (list >= db->nlists) {
        return HG_ENOENT;
    }
    l = db->lists + list * LIST_REC;
    if (i >= hg_le32(l + LIST_NSOURCES)) {
        return HG_ENOENT;
    }
    s = db->sources + (hg_le32(l + LIST_FIRST_SOURCE) + i) * SOURCE_REC;
    out->name = db->strings + hg_le32(s + SOURCE_NAME);
    memcpy(out->sha256, s + SOURCE_SHA256, 32);
    return HG_OK;
}

long
hg_db_find_list(const hg_db_t *db, const char *name)
{
    uint32_t  i;

    for (i = 0; i < db->nlists; i++) {
        if (strcmp(db->strings + hg_le32(db->lists + (uint64_t) i * LIST_REC
                                         + LIST_NAME), name) == 0)
        {
            return (long) i;
        }
    }
    return -1;
}

/*
 * db_pdq.c - search the PDQ entries of a mapped database: every entry
 * within a distance of a hash (db_pdq.h).
 *
 * A PDQ hash is near an entry or not, so it is searched, not looked up.
 * By default the file has no index (it stays 1.0 x the hashes) and a
 * query scans the heads, the first 16 bytes of every hash, which format 6
 * keeps in a column of their own: an entry within 31 bits of q is within
 * 31 of it on those 128 bits, where an unrelated one is about 64 away, so
 * almost every row ends there, and the scan streams half the bytes.
 * Distance 0 is a bisection of the sorted rows. Compiled with --pdq-index
 * on, the file holds from HG_PDQ_INDEX_MIN entries on a multi-index over
 * the 16 chunks of 16 bits (db-format.md, *PDQ*), 2.5 x the hashes:
 *
 *   If two hashes are within d <= 31 bits, at least one of the 16 chunks
 *   differs in at most 1 bit (16 chunks of 2 or more bits would be 32).
 *   So every entry within 31 bits of q has, for some chunk c, its chunk c
 *   equal to q's or one bit away, and then so are the leading `bits` bits
 *   of that chunk, which are what the index buckets rows by. A query reads,
 *   for every chunk, the bucket of q's leading bits and the `bits` buckets
 *   one bit away (16 x (bits + 1) buckets), and checks the full distance of
 *   each row in them: nothing within 31 bits is missed, whatever the
 *   entries. A row in buckets of several chunks is taken only at the first
 *   chunk whose bucket holds it, so it is reported once without memory.
 *   Past 31 bits the pigeonhole no longer gives one bit a chunk, and the
 *   query scans.
 *
 * With the 8 dihedral hashes, each is searched in turn, and an entry is
 * taken only by the first of them within its list's threshold (with the
 * distance of the nearest): one hit per entry and list, without memory.
 *
 * Nothing here allocates. The data sections were not read at open beyond
 * their bounds (db_open.c), so what a query reads of them is checked as it
 * is read: a bucket bound is clamped, a row number past the table or a set
 * past the list-sets is skipped, a label offset outside the label table is
 * ignored. A corrupt file gives wrong answers, never a read outside the
 * mapping.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "db/db_format.h"
#include "hashgate/db_pdq.h"

#define HG_PDQ_INLINE   static inline __attribute__((always_inline))

typedef struct {
    const hg_db_t          *db;
    const hg_pdq_hash_t    *q;          /* the hashes searched */
    int                     nq;         /* 1, or 8 with the dihedral ones */
    int                     radius;     /* the largest distance asked for */
    int                     fixed;      /* radius for every list (a query
                                         * with a distance), else each
                                         * list's threshold */
    hg_db_pdq_hit_t        *hits;
    size_t                  max;
    size_t                  n;          /* filled */
    size_t                  total;
} hg_pdq_search_t;

HG_PDQ_INLINE int
_hg_pdq_dist(const unsigned char *a, const unsigned char *b)
{
    uint64_t  x, y;
    int       d = 0, i;

    for (i = 0; i < 32; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        d += __builtin_popcountll(x ^ y);
    }
    return d;
}

uint64_t
hg_db_pdq_count(const hg_db_t *db)
{
    return db->format >= 3 ? db->pdq.count : 0;
}

int
hg_db_pdq_threshold(const hg_db_t *db, uint32_t list)
{
    if (db->format < 3 || list >= db->nlists) {
        return HG_PDQ_THRESHOLD;
    }
    return (int) hg_le32(db->pdq_lists + (uint64_t) list * LPDQ_REC
                         + LPDQ_THRESHOLD);
}

uint64_t
hg_db_pdq_list_count(const hg_db_t *db, uint32_t list)
{
    if (db->format < 3 || list >= db->nlists) {
        return 0;
    }
    return hg_le64(db->pdq_lists + (uint64_t) list * LPDQ_REC + LPDQ_ENTRIES);
}

int
hg_db_pdq_indexed(const hg_db_t *db)
{
    return db->format >= 3 && db->pdq_index != NULL;
}

/* The quality and label the list gives for row (from its extras). */
static void
_hg_pdq_extras(const hg_db_t *db, uint64_t row, uint32_t list, int *quality,
               const char **label)
{
    const hg_db_alg_t  *al = &db->pdq;
    uint64_t            lo;

    *quality = -1;
    *label = NULL;
    for (lo = hg_db_extras_find(al, row); lo < al->nextras; lo++) {
        const unsigned char  *x = al->extras + lo * EXTRA_REC;
        unsigned              flags = hg_le16(x + EXTRA_FLAGS);
        uint32_t              lab = hg_le32(x + EXTRA_LABEL);

        if (hg_le32(x + EXTRA_ROW) != row) {
            return;
        }
        if (hg_le16(x + EXTRA_LIST) != list) {
            continue;
        }
        if ((flags & EXTRA_HAS_QUALITY) && hg_le64(x + EXTRA_SIZE) <= 100) {
            *quality = (int) hg_le64(x + EXTRA_SIZE);
        }
        if ((flags & EXTRA_HAS_LABEL) && lab < db->labels_len) {
            *label = db->labels + lab;
        }
        return;
    }
}

/* a before b: nearer, then lower row, then lower list. */
static inline int
_hg_hit_less(const hg_db_pdq_hit_t *a, const hg_db_pdq_hit_t *b)
{
    if (a->distance != b->distance) {
        return a->distance < b->distance;
    }
    if (a->entry != b->entry) {
        return a->entry < b->entry;
    }
    return a->list < b->list;
}

/* Keep the max nearest hits seen (any order yet); count them all. */
static void
_hg_pdq_emit(hg_pdq_search_t *s, const hg_db_pdq_hit_t *h)
{
    size_t  i, w;

    s->total++;
    if (s->n < s->max) {
        s->hits[s->n++] = *h;
        return;
    }
    if (s->max == 0) {
        return;
    }
    for (w = 0, i = 1; i < s->n; i++) {
        if (_hg_hit_less(&s->hits[w], &s->hits[i])) {
            w = i;
        }
    }
    if (_hg_hit_less(h, &s->hits[w])) {
        s->hits[w] = *h;
    }
}

/* Heap sort (no allocation, unlike some qsorts), nearest first. */
static void
_hg_pdq_sift(hg_db_pdq_hit_t *a, size_t i, size_t n)
{
    hg_db_pdq_hit_t  t;
    size_t           c;

    for (;;) {
        c = 2 * i + 1;
        if (c >= n) {
            return;
        }
        if (c + 1 < n && _hg_hit_less(&a[c], &a[c + 1])) {
            c++;
        }
        if (!_hg_hit_less(&a[i], &a[c])) {
            return;
        }
        t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

static void
_hg_pdq_sort(hg_db_pdq_hit_t *a, size_t n)
{
    hg_db_pdq_hit_t  t;
    size_t           i;

    for (i = n / 2; i-- > 0; ) {
        _hg_pdq_sift(a, i, n);
    }
    for (i = n; i-- > 1; ) {
        t = a[0];
        a[0] = a[i];
        a[i] = t;
        _hg_pdq_sift(a, 0, i);
    }
}

/*
 * Row found by the search for hash k (k < 0: by a scan, which sees every
 * row once): a hit per list of the row within that list's threshold, with
 * the distance of the nearest of the hashes searched; with several hashes,
 * only if none before k is within the threshold already (it was reported
 * by that search).
 */
HG_PDQ_INLINE void
_hg_pdq_row(hg_pdq_search_t *s, uint64_t row, int k)
{
    const hg_db_t        *db = s->db;
    unsigned char         h[HG_PDQ_BYTES];
    int                   d[HG_PDQ_DIHEDRAL_COUNT], j, best = 0, t;
    uint32_t              set, first, count, i, list;
    hg_db_pdq_hit_t       hit;

    hg_pdq_row(db, row, h);
    for (j = 0; j < s->nq; j++) {
        d[j] = _hg_pdq_dist(s->q[j].b, h);
        if (d[j] < d[best]) {
            best = j;
        }
    }
    if (d[best] > s->radius || (k >= 0 && d[k] > s->radius)) {
        return;
    }
    set = hg_db_setidx(&db->pdq, row) >> 1;
    if (set >= db->nsets) {
        return;
    }
    first = hg_le32(db->sets + (uint64_t) set * SET_REC + SET_FIRST);
    count = hg_le32(db->sets + (uint64_t) set * SET_REC + SET_COUNT);
    for (i = 0; i < count; i++) {
        list = hg_le16(db->members + (uint64_t) (first + i) * MEMBER_REC);
        t = s->fixed ? s->radius : hg_db_pdq_threshold(db, list);
        if (k >= 0) {
            if (d[k] > t) {
                continue;
            }
            for (j = 0; j < k && d[j] > t; j++) {
            }
            if (j < k) {
                continue;
            }
        } else if (d[best] > t) {
            continue;
        }
        memset(&hit, 0, sizeof(hit));
        hit.list = list;
        hit.entry = row;
        hit.distance = d[best];
        hit.via = (hg_pdq_dihedral_t) (s->nq > 1 ? best : HG_PDQ_ORIGINAL);
        memcpy(hit.listed.b, h, HG_PDQ_BYTES);
        _hg_pdq_extras(db, row, list, &hit.quality, &hit.label);
        _hg_pdq_emit(s, &hit);
    }
}

/*
 * Every row, reading only the heads (format 6 keeps them in a column of
 * their own: 16 bytes a row to stream instead of 32), a block at a time
 * (db_pdq_heads.c). A row within the radius is within it on the head's
 * 128 bits, where an unrelated row is about 64 bits away; the rare row
 * whose head is near enough is checked whole by _hg_pdq_row.
 */
#define HG_PDQ_BLOCK    1024

static void
_hg_pdq_scan(hg_pdq_search_t *s)
{
    const hg_db_t  *db = s->db;
    uint64_t        qh[HG_PDQ_DIHEDRAL_COUNT][2], near[HG_PDQ_BLOCK];
    uint64_t        row, n, count = db->pdq.count;
    size_t          k, i;
    int             j;

    for (j = 0; j < s->nq; j++) {
        memcpy(qh[j], s->q[j].b, HG_PDQ_HALF);
    }
    for (row = 0; row < count; row += n) {
        n = count - row < HG_PDQ_BLOCK ? count - row : HG_PDQ_BLOCK;
        k = hg_pdq_heads_near(db, row, n, (const uint64_t (*)[2]) qh, s->nq,
                              s->radius, near);
        for (i = 0; i < k; i++) {
            _hg_pdq_row(s, near[i], -1);
        }
    }
}

/*
 * Distance 0: the rows are sorted, so the hash is found by bisection
 * (hashgate diff asks this of every entry of the other file).
 */
static void
_hg_pdq_exact(hg_pdq_search_t *s, int k)
{
    const hg_db_t        *db = s->db;
    const unsigned char  *q = s->q[k].b;
    uint64_t              lo = 0, hi = db->pdq.count, mid;
    int                   c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = memcmp(hg_pdq_head(db, mid), q, HG_PDQ_HALF);
        if (c == 0) {
            c = memcmp(hg_pdq_tail(db, mid), q + HG_PDQ_HALF, HG_PDQ_HALF);
        }
        if (c == 0) {
            _hg_pdq_row(s, mid, k);
            return;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
}

/* Row i of chunk c's order in the index (c >= 1). */
static inline uint64_t
_hg_pdq_id(const hg_db_t *db, const unsigned char *ids, uint64_t i)
{
    const unsigned char  *p = ids + i * db->pdq_idw;

    if (db->pdq_idw == 3) {
        return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16;
    }
    return hg_le32(p);
}

/*
 * Rows of a bucket of chunks 1..15 are scattered over the table: each is a
 * random read, so a few are asked for ahead of use (at 10M entries a
 * bucket holds about 153). On a loaded 2-core machine the gain at 10M was
 * within the noise (query median 10.7 ms with none ahead, 9.9 with 8,
 * 9.5 with 16); it cannot make a query slower.
 */
#ifndef HG_PDQ_AHEAD
#define HG_PDQ_AHEAD    8
#endif

static inline void
_hg_pdq_prefetch(const hg_db_t *db, uint64_t row)
{
    if (row < db->pdq.count) {
        __builtin_prefetch(hg_pdq_head(db, row));
    }
}

/* The search for hash k through the index (radius <= 31). */
static void HG_PDQ_POPCNT
_hg_pdq_index(hg_pdq_search_t *s, int k)
{
    const hg_db_t        *db = s->db;
    const unsigned char  *q = s->q[k].b, *bk, *ids = NULL;
    unsigned char         h[HG_PDQ_BYTES];
    unsigned              bits = db->pdq_bits, shift = 16 - bits, qc[HG_PDQ_CHUNKS];
    uint64_t              count = db->pdq.count, blen, ilen, lo, hi, i, row;
    uint64_t              qh[2];
    uint64_t              nb = (uint64_t) 1 << bits;
    int                   c, cc, p;
    unsigned              v;

    blen = hg_pdq_bounds_len(bits);
    ilen = hg_pdq_ids_len(count, db->pdq_idw);
    memcpy(qh, q, HG_PDQ_HALF);
    for (c = 0; c < HG_PDQ_CHUNKS; c++) {
        qc[c] = hg_pdq_chunk(q, c) >> shift;
    }
    for (c = 0; c < HG_PDQ_CHUNKS; c++) {
        bk = db->pdq_index + (uint64_t) c * blen;
        if (c > 0) {
            ids = db->pdq_index + HG_PDQ_CHUNKS * blen + (uint64_t) (c - 1) * ilen;
        }
        for (p = -1; p < (int) bits; p++) {
            v = p < 0 ? qc[c] : qc[c] ^ (1u << p);
            if (v >= nb) {
                continue;
            }
            lo = hg_le32(bk + (uint64_t) v * 4);
            hi = hg_le32(bk + (uint64_t) v * 4 + 4);
            if (hi > count) {
                hi = count;
            }
            if (c > 0) {
                /* the rows are anywhere in the table: ask for the first
                 * few at once, then keep HG_PDQ_AHEAD in flight */
                for (i = lo; i < hi && i < lo + HG_PDQ_AHEAD; i++) {
                    _hg_pdq_prefetch(db, _hg_pdq_id(db, ids, i));
                }
            }
            for (i = lo; i < hi; i++) {
                row = c == 0 ? i : _hg_pdq_id(db, ids, i);
                if (c > 0 && i + HG_PDQ_AHEAD < hi) {
                    _hg_pdq_prefetch(db, _hg_pdq_id(db, ids, i + HG_PDQ_AHEAD));
                }
                if (row >= count) {
                    continue;
                }
                /* the head first: an unrelated row ends there */
                if (hg_pdq_head_dist(hg_pdq_head(db, row), qh) > s->radius) {
                    continue;
                }
                hg_pdq_row(db, row, h);
                if (_hg_pdq_dist(q, h) > s->radius) {
                    continue;
                }
                /* taken at the first chunk whose buckets hold it */
                for (cc = 0; cc < c; cc++) {
                    if (__builtin_popcount((hg_pdq_chunk(h, cc) >> shift)
                                           ^ qc[cc]) <= 1)
                    {
                        break;
                    }
                }
                if (cc < c) {
                    continue;
                }
                _hg_pdq_row(s, row, k);
            }
        }
    }
}

/* The largest radius the index answers without missing anything. */
#define HG_PDQ_INDEX_RADIUS  (2 * HG_PDQ_CHUNKS - 1)

static size_t
_hg_pdq_search(hg_pdq_search_t *s)
{
    int  k;

    if (s->db->format < 3 || s->db->pdq.count == 0 || s->radius < 0) {
        return 0;
    }
    if (s->radius == 0) {
        for (k = 0; k < s->nq; k++) {
            _hg_pdq_exact(s, k);
        }
    } else if (s->db->pdq_index != NULL && s->radius <= HG_PDQ_INDEX_RADIUS) {
        for (k = 0; k < s->nq; k++) {
            _hg_pdq_index(s, k);
        }
    } else {
        _hg_pdq_scan(s);
    }
    _hg_pdq_sort(s->hits, s->n);
    return s->total;
}

size_t
hg_db_pdq_query(const hg_db_t *db, const hg_pdq_hash_t *h, int max_distance,
                hg_db_pdq_hit_t *hits, size_t max)
{
    hg_pdq_search_t  s;

    memset(&s, 0, sizeof(s));
    s.db = db;
    s.q = h;
    s.nq = 1;
    s.fixed = max_distance >= 0;
    s.radius = s.fixed ? max_distance : db->pdq_maxthr;
    s.hits = hits;
    s.max = hits != NULL ? max : 0;
    return _hg_pdq_search(&s);
}

size_t
hg_db_pdq_match(const hg_db_t *db, const hg_pdq_result_t *r, int dihedral,
                hg_db_pdq_hit_t *hits, size_t max)
{
    hg_pdq_search_t  s;

    memset(&s, 0, sizeof(s));
    s.db = db;
    if (dihedral) {
        s.q = r->dihedral;
        s.nq = HG_PDQ_DIHEDRAL_COUNT;
    } else {
        s.q = &r->hash;
        s.nq = 1;
    }
    s.radius = db->pdq_maxthr;
    s.hits = hits;
    s.max = hits != NULL ? max : 0;
    return _hg_pdq_search(&s);
}

hg_status_t
hg_db_pdq_foreach(const hg_db_t *db, hg_db_entry_cb cb, void *ctx)
{
    const hg_db_alg_t  *al = &db->pdq;
    hg_entry_t          e;
    hg_status_t         rc = HG_OK;
    uint64_t            row;
    uint32_t            set, first, count, i, list;

    if (db->format < 3) {
        return HG_OK;
    }
    for (row = 0; row < al->count && rc == HG_OK; row++) {
        set = hg_db_setidx(al, row) >> 1;
        if (set >= db->nsets) {
            continue;
        }
        first = hg_le32(db->sets + (uint64_t) set * SET_REC + SET_FIRST);
        count = hg_le32(db->sets + (uint64_t) set * SET_REC + SET_COUNT);
        for (i = 0; i < count && rc == HG_OK; i++) {
            list = hg_le16(db->members + (uint64_t) (first + i) * MEMBER_REC);
            memset(&e, 0, sizeof(e));
            e.alg = HG_ALG_SHA256;
            e.pdq = 1;
            hg_pdq_row(db, row, e.digest);
            _hg_pdq_extras(db, row, list, &e.quality, &e.label);
            rc = cb(ctx, list, &e);
        }
    }
    return rc;
}

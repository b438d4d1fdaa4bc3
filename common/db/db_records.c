/*
 * db_records.c - the records of a build (which digests one list gives for
 * one file) and the choice of what a scan computes.
 *
 * Most list formats give several digests of one file (a VIC media entry,
 * an NCMEC <image>, a CSV row); matching any of them identifies the file,
 * so a scan needs only a set of algorithms that has, for every record, one
 * of its digests' algorithms: MD5 + SHA-1 records are covered by SHA-1
 * alone, at 40 % of the cost of both. A plain list line is a record of one
 * digest, so an MD5-only line still needs MD5.
 *
 * Entries of a record are kept on the side (b->recs) only when the record
 * has a second digest, so a plain list costs nothing here. At write time,
 * once every algorithm is merged into rows, each kept digest is joined to
 * its row (a digest removed from its list drops out of the record, and
 * only that digest: the rest stay listed and stay covered, since the
 * choice is made over what remains), records left with digests of two or
 * more algorithms are stored, deduplicated and sorted by content (so the
 * file stays a function of the content), with per-algorithm links from a
 * row to its records. Every (row, list) pair in no stored record counts as
 * a record of its own.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_build.h"
#include "db/db_format.h"

/*
 * Cost per byte (ps) of each algorithm: OpenSSL 3 EVP on this machine's
 * class of CPU (x86-64 with SHA-NI; `openssl speed -evp`, 16 KiB blocks):
 * MD5 about 0.56 GB/s, SHA-1 1.39, SHA-256 1.31. A fixed order, not a
 * measurement at compile time: the same lists must give the same file on
 * any machine, and the servers that scan are not the one that compiles.
 * Without SHA extensions SHA-256 is slower than MD5; the order still
 * prefers SHA-1, which is the digest such lists pair with MD5.
 */
static const unsigned  _hg_cost[HG_ALG_COUNT] = { 1800, 720, 760 };

unsigned
hg_db_cover_cost(unsigned mask)
{
    unsigned  c = 0;
    int       a;

    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (mask & HG_ALG_BIT(a)) {
            c += _hg_cost[a];
        }
    }
    return c;
}

/* Every subset of three algorithms is tried: 7 sets against 7 masks. */
unsigned
hg_db_cover(const uint64_t counts[8])
{
    unsigned  s, m, best = 0, best_cost = UINT_MAX, cost;

    for (s = 1; s < 8; s++) {
        for (m = 1; m < 8; m++) {
            if (counts[m] != 0 && (m & s) == 0) {
                break;
            }
        }
        if (m < 8) {
            continue;
        }
        cost = hg_db_cover_cost(s);
        if (cost < best_cost) {
            best = s;
            best_cost = cost;
        }
    }
    for (m = 1; m < 8; m++) {
        if (counts[m] != 0) {
            return best;
        }
    }
    return 0;
}

/* ---- collecting ---- */

hg_status_t
hg_dbb_rec_push(hg_dbb_t *b, hg_alg_t alg, const unsigned char *digest,
                uint32_t list, uint64_t id)
{
    hg_vec_t       *v = &b->recs[alg];
    size_t          dlen = hg_alg_len(alg);
    unsigned char  *r;

    if (v->rs == 0) {
        v->rs = dlen + 12;
    }
    r = hg_vec_push(v);
    if (r == NULL) {
        return HG_ENOMEM;
    }
    memcpy(r, digest, dlen);
    memcpy(r + dlen, &list, 4);
    memcpy(r + dlen + 4, &id, 8);
    return HG_OK;
}

/*
 * A reader hands out a record's digests one after another: the first is
 * held (pend) and kept only when the next one is of the same record.
 */
hg_status_t
hg_dbb_rec_add(hg_dbb_t *b, uint32_t list, const hg_entry_t *e)
{
    uint64_t     id = b->rec_base + e->record;
    hg_status_t  st;

    if (id > b->rec_max) {
        b->rec_max = id;
    }
    if (b->pend_on && b->pend_list == list && b->pend_rec == id) {
        if (!b->pend_kept) {
            st = hg_dbb_rec_push(b, b->pend_alg, b->pend_digest, list, id);
            if (st != HG_OK) {
                return st;
            }
            b->pend_kept = 1;
        }
        return hg_dbb_rec_push(b, e->alg, e->digest, list, id);
    }
    b->pend_on = 1;
    b->pend_kept = 0;
    b->pend_alg = e->alg;
    b->pend_list = list;
    b->pend_rec = id;
    memcpy(b->pend_digest, e->digest, hg_alg_len(e->alg));
    return HG_OK;
}

void
hg_dbb_record_scope(hg_dbb_t *b)
{
    b->rec_base = b->rec_max;
    b->pend_on = 0;
}

void
hg_dbb_set_all_digests(hg_dbb_t *b, int on)
{
    b->all_digests = on != 0;
}

unsigned
hg_dbb_algs(const hg_dbb_t *b)
{
    return b->algs;
}

/* ---- at write time ---- */

static inline void
_hg_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

static inline uint32_t
_hg_rd32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

/* Is list a member of interned set? Members are sorted. */
static int
_hg_set_has(const hg_sets_t *s, uint32_t set, uint32_t list)
{
    uint32_t         rec[2], lo, hi, mid;
    const uint16_t  *m;

    if (set >= s->sets.n) {
        return 0;
    }
    memcpy(rec, s->sets.p + (size_t) set * 8, 8);
    m = (const uint16_t *) (const void *) (s->members.p + (size_t) rec[0] * 2);
    lo = 0;
    hi = rec[1];
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (m[mid] == list) {
            return 1;
        }
        if (m[mid] < list) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

/*
 * Join: one 16-byte tuple per record digest still on its list, keyed for
 * the radix sort as [id 8][list 2][alg 1][row 4] big-endian.
 */
#define TUPLE_REC   16
#define TUPLE_KEY   15
#define TUPLE_GROUP 10          /* id and list: one record */

static hg_status_t
_hg_join(hg_merge_t *mg, hg_vec_t *t)
{
    hg_dbb_t       *b = mg->b;
    int             a, k;

    for (a = 0; a < HG_ALG_COUNT; a++) {
        hg_vec_t       *rv = &b->recs[a], *v = &b->add[a];
        size_t          dlen = hg_alg_len(a), i, r = 0;
        uint64_t        rows = mg->rows[a], id;
        uint32_t        list, val;
        unsigned char  *x;

        if (rv->n == 0) {
            continue;
        }
        hg_dbb_sort(rv->p, rv->n, rv->rs, dlen);
        for (i = 0; i < rv->n; i++) {
            const unsigned char  *d = rv->p + i * rv->rs;
            int                   c = 1;

            while (r < rows && (c = memcmp(v->p + r * v->rs, d, dlen)) < 0) {
                r++;
            }
            if (r == rows) {
                break;
            }
            if (c != 0) {
                continue;       /* removed from every list */
            }
            memcpy(&list, d + dlen, 4);
            memcpy(&id, d + dlen + 4, 8);
            memcpy(&val, v->p + r * v->rs + dlen, 4);
            if (!_hg_set_has(&mg->sets, val >> 1, list)) {
                continue;       /* removed from its list */
            }
            x = hg_vec_push(t);
            if (x == NULL) {
                return HG_ENOMEM;
            }
            for (k = 0; k < 8; k++) {
                x[k] = (unsigned char) (id >> (56 - 8 * k));
            }
            x[8] = (unsigned char) (list >> 8);
            x[9] = (unsigned char) list;
            x[10] = (unsigned char) a;
            _hg_be32(x + 11, (uint32_t) r);
            x[15] = 0;
        }
        hg_vec_free(rv);
    }
    return HG_OK;
}

/*
 * Records keyed for sorting by content: [list 2][mask 1][row 4 x 3]
 * big-endian, 16 bytes.
 */
#define RKEY_REC    16
#define RKEY_KEY    15

static hg_status_t
_hg_group(hg_vec_t *t, hg_vec_t *rk)
{
    size_t          i, j;
    unsigned char  *x, *g;
    uint32_t        rows[HG_ALG_COUNT];
    unsigned        mask, a;
    int             n;

    for (i = 0; i < t->n; i = j) {
        g = t->p + i * TUPLE_REC;
        mask = 0;
        n = 0;
        memset(rows, 0, sizeof(rows));
        for (j = i; j < t->n && memcmp(t->p + j * TUPLE_REC, g, TUPLE_GROUP) == 0;
             j++)
        {
            x = t->p + j * TUPLE_REC;
            a = x[10];
            /* two digests of one algorithm in one record (two MD5
             * columns): the first (lowest row) is the record's */
            if (mask & HG_ALG_BIT(a)) {
                continue;
            }
            mask |= HG_ALG_BIT(a);
            rows[a] = _hg_rd32(x + 11);
            n++;
        }
        if (n < 2) {
            continue;           /* a record of one digest: nothing to store */
        }
        x = hg_vec_push(rk);
        if (x == NULL) {
            return HG_ENOMEM;
        }
        x[0] = g[8];
        x[1] = g[9];
        x[2] = (unsigned char) mask;
        for (a = 0; a < HG_ALG_COUNT; a++) {
            _hg_be32(x + 3 + 4 * a, rows[a]);
        }
        x[15] = 0;
    }
    return HG_OK;
}

hg_status_t
hg_dbb_records(hg_merge_t *mg, hg_err_t *err)
{
    hg_dbb_t       *b = mg->b;
    hg_vec_t        t = { NULL, 0, 0, TUPLE_REC }, rk = { NULL, 0, 0, RKEY_REC };
    uint64_t        inrec[2][HG_ALG_COUNT], all[8];
    size_t          i, j, n;
    unsigned char  *x, *o;
    uint32_t        list, rec, prev;
    unsigned        mask, kind, k;
    int             a;
    hg_status_t     st;

    memset(inrec, 0, sizeof(inrec));
    mg->records.rs = RECORD_REC;
    for (a = 0; a < HG_ALG_COUNT; a++) {
        mg->links[a].rs = LINK_REC;
    }

    st = _hg_join(mg, &t);
    if (st == HG_OK) {
        hg_dbb_sort(t.p, t.n, TUPLE_REC, TUPLE_KEY);
        st = _hg_group(&t, &rk);
    }
    hg_vec_free(&t);
    if (st != HG_OK) {
        hg_vec_free(&rk);
        return hg_err_set(err, st, "out of memory grouping records");
    }
    hg_dbb_sort(rk.p, rk.n, RKEY_REC, RKEY_KEY);

    /* unique records, in content order, to their on-disk form */
    for (i = 0; i < rk.n; i = j) {
        x = rk.p + i * RKEY_REC;
        for (j = i + 1; j < rk.n && memcmp(rk.p + j * RKEY_REC, x, RKEY_KEY) == 0;
             j++)
        {
        }
        if (mg->records.n >= UINT32_MAX) {
            hg_vec_free(&rk);
            return hg_err_set(err, HG_ELIMIT, "more than %u records",
                              UINT32_MAX);
        }
        o = hg_vec_push(&mg->records);
        if (o == NULL) {
            hg_vec_free(&rk);
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
        memset(o, 0, RECORD_REC);
        list = (uint32_t) x[0] << 8 | x[1];
        mask = x[2];
        hg_put16(o + RECORD_LIST, (uint16_t) list);
        hg_put16(o + RECORD_ALGS, (uint16_t) mask);
        kind = b->lists[list].kind;
        mg->counts[kind][mask]++;
        b->lists[list].records++;
        for (a = 0; a < HG_ALG_COUNT; a++) {
            if (!(mask & HG_ALG_BIT(a))) {
                continue;
            }
            hg_put32(o + RECORD_ROW(a), _hg_rd32(x + 3 + 4 * a));
            /* link key: [row 4][record 4] big-endian */
            unsigned char  *l = hg_vec_push(&mg->links[a]);

            if (l == NULL) {
                hg_vec_free(&rk);
                return hg_err_set(err, HG_ENOMEM, "out of memory");
            }
            memcpy(l, x + 3 + 4 * a, 4);
            _hg_be32(l + 4, (uint32_t) (mg->records.n - 1));
        }
    }
    hg_vec_free(&rk);

    /*
     * Links in (row, record) order; a row's records are in record order,
     * which is list order, so its distinct lists are where the list changes:
     * each (row, list) pair in a stored record counted once.
     */
    for (a = 0; a < HG_ALG_COUNT; a++) {
        hg_vec_t  *lv = &mg->links[a];

        hg_dbb_sort(lv->p, lv->n, LINK_REC, LINK_REC);
        for (i = 0; i < lv->n; i = j) {
            uint32_t  row = _hg_rd32(lv->p + i * LINK_REC);

            prev = UINT32_MAX;
            for (j = i; j < lv->n && _hg_rd32(lv->p + j * LINK_REC) == row; j++) {
                rec = _hg_rd32(lv->p + j * LINK_REC + 4);
                list = hg_le16(mg->records.p + (size_t) rec * RECORD_REC
                               + RECORD_LIST);
                if (list != prev) {
                    b->lists[list].inrec++;
                    inrec[b->lists[list].kind][a]++;
                    prev = list;
                }
            }
        }
        for (i = 0; i < lv->n; i++) {
            uint32_t  row = _hg_rd32(lv->p + i * LINK_REC);

            rec = _hg_rd32(lv->p + i * LINK_REC + 4);
            hg_put32(lv->p + i * LINK_REC + LINK_ROW, row);
            hg_put32(lv->p + i * LINK_REC + LINK_RECORD, rec);
        }
    }

    /* every other (row, list) pair is a record of its own */
    for (kind = 0; kind < 2; kind++) {
        for (a = 0; a < HG_ALG_COUNT; a++) {
            mg->counts[kind][HG_ALG_BIT(a)] += mg->pairs[kind][a] - inrec[kind][a];
        }
    }
    for (n = 0; n < b->nlists; n++) {
        b->lists[n].records += b->lists[n].entries - b->lists[n].inrec;
    }

    /* allow-lists count as much as block lists: an allow entry whose
     * algorithm is not computed would silently stop overriding a block */
    for (k = 0; k < 8; k++) {
        all[k] = mg->counts[0][k] + mg->counts[1][k];
    }
    b->algs = b->all_digests ? HG_ALGS_ALL : hg_db_cover(all);
    return HG_OK;
}

/*
 * test_db_pdq.c - PDQ entries in the lists and the database: the readers,
 * format 3, thresholds, and the search index against brute force.
 * Every hash is seeded random bytes, never from a real list.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "db/db_build.h"
#include "db/db_format.h"
#include "hashgate/db.h"
#include "hashgate/db_pdq.h"
#include "helper_lists.h"
#include "helper_tmpdir.h"

/* ---- synthetic hashes ---- */

static uint64_t
rnd(uint64_t *s)
{
    /* splitmix64: seeded, the same on every run */
    uint64_t  z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
rnd_hash(uint64_t *s, hg_pdq_hash_t *h)
{
    uint64_t  v;
    int       i;

    for (i = 0; i < 32; i += 8) {
        v = rnd(s);
        memcpy(h->b + i, &v, 8);
    }
}

/* h at exactly d bits from q: d distinct random bits flipped. */
static void
near_hash(uint64_t *s, const hg_pdq_hash_t *q, int d, hg_pdq_hash_t *h)
{
    int  n = 0, bit;

    *h = *q;
    while (n < d) {
        bit = (int) (rnd(s) % 256);
        if ((h->b[bit / 8] ^ q->b[bit / 8]) & (1u << (bit % 8))) {
            continue;
        }
        h->b[bit / 8] ^= (unsigned char) (1u << (bit % 8));
        n++;
    }
}

/*
 * h at d bits from q with the flips spread as evenly over the 16 chunks
 * as possible (the pigeonhole's worst case: at d = 31, fifteen chunks
 * differ in 2 bits and one in 1), starting at chunk first.
 */
static void
spread_hash(uint64_t *s, const hg_pdq_hash_t *q, int d, int first,
            hg_pdq_hash_t *h)
{
    int  i, c, bit;

    *h = *q;
    for (i = 0; i < d; i++) {
        c = (first + i) % 16;
        do {
            bit = c * 16 + (int) (rnd(s) % 16);
        } while ((h->b[bit / 8] ^ q->b[bit / 8]) & (1u << (7 - bit % 8)));
        h->b[bit / 8] ^= (unsigned char) (1u << (7 - bit % 8));
    }
}

static hg_entry_t
pdq_entry(const hg_pdq_hash_t *h, int quality, const char *label)
{
    hg_entry_t  e;

    memset(&e, 0, sizeof(e));
    e.pdq = 1;
    e.alg = HG_ALG_SHA256;
    e.quality = quality;
    e.label = label;
    memcpy(e.digest, h->b, 32);
    return e;
}

static int
setup(void **state)
{
    (void) state;
    return hg_test_tmpdir_make("db-pdq");
}

static int
teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

static hg_db_t *
write_open(hg_dbb_t *b, const char *name)
{
    hg_db_t   *db = NULL;
    hg_err_t   err;

    err.msg[0] = '\0';
    assert_int_equal(hg_dbb_write(b, hg_test_path(name), 1700000000, &err),
                     HG_OK);
    hg_dbb_free(b);
    if (hg_db_open(hg_test_path(name), HG_DB_OPEN_VERIFY, &db, &err) != HG_OK) {
        fail_msg("open: %s", err.msg);
    }
    return db;
}

/* ---- the index against brute force ---- */

typedef struct {
    hg_pdq_hash_t  *h;
    uint32_t       *list;
    size_t          n;
} corpus_t;

/*
 * What a query must answer, by brute force over the entries as given (not
 * the file): (distance, hash) pairs within max of any of the nq hashes,
 * per list threshold thr[list] (max < 0) or max.
 */
static size_t
brute(const corpus_t *c, const hg_pdq_hash_t *q, int nq, int max,
      const int *thr, size_t *count_by_dist)
{
    size_t  i, n = 0;
    int     j, d, best;

    for (i = 0; i < c->n; i++) {
        best = 257;
        for (j = 0; j < nq; j++) {
            d = hg_pdq_distance(&q[j], &c->h[i]);
            if (d < best) {
                best = d;
            }
        }
        if (best <= (max >= 0 ? max : thr[c->list[i]])) {
            n++;
            if (count_by_dist != NULL) {
                count_by_dist[best]++;
            }
        }
    }
    return n;
}

static void
check_hits(const hg_db_pdq_hit_t *hits, size_t n, const hg_pdq_hash_t *q,
           int nq, const size_t *want_by_dist)
{
    size_t  got_by_dist[257] = { 0 }, i;
    int     j, d, best;

    for (i = 0; i < n; i++) {
        best = 257;
        for (j = 0; j < nq; j++) {
            d = hg_pdq_distance(&q[j], &hits[i].listed);
            if (d < best) {
                best = d;
            }
        }
        assert_int_equal(hits[i].distance, best);
        assert_int_equal(hg_pdq_distance(&q[hits[i].via], &hits[i].listed),
                         best);
        if (i > 0) {
            assert_true(hits[i - 1].distance <= hits[i].distance);
            if (hits[i - 1].distance == hits[i].distance) {
                assert_true(hits[i - 1].entry < hits[i].entry
                            || (hits[i - 1].entry == hits[i].entry
                                && hits[i - 1].list < hits[i].list));
            }
        }
        got_by_dist[best]++;
    }
    for (d = 0; d <= 256; d++) {
        if (got_by_dist[d] != want_by_dist[d]) {
            fail_msg("distance %d: %zu hits, brute force finds %zu", d,
                     got_by_dist[d], want_by_dist[d]);
        }
    }
}

/*
 * 30000 random entries and, around each of 20 query hashes, one planted
 * entry at every distance 0..33, half with the flips at random and half
 * spread evenly over the chunks (at 31: fifteen chunks of 2 bits and one
 * of 1, the one case the index finds through a single chunk). Every query,
 * at 0, at 31 and at each list's threshold, with and without the dihedral
 * hashes, finds exactly what brute force finds: through the index (index
 * 1) or the scan of the heads (0), in the file format given (0: this
 * build's, with the hash table as two columns; 5: one row a hash).
 */
static void
search_matches_brute_force(int index, unsigned format)
{
    enum { RANDOM = 30000, QUERIES = 20, MAXD = 33 };
    hg_dbb_t         *b = hg_dbb_new();
    hg_db_t          *db;
    corpus_t          c;
    hg_pdq_hash_t     q[QUERIES];
    hg_pdq_result_t   r;
    hg_db_pdq_hit_t  *hits;
    hg_entry_t        e;
    uint64_t          s = 17;
    uint32_t          l[2];
    size_t            i, n, want, by[257];
    int               k, d, thr[2] = { 31, 12 };
    hg_err_t          err;

    if (index) {
        hg_dbb_set_pdq_index(b, 1);
    }
    if (format) {
        hg_dbb_set_format(b, format);
    }
    c.n = 0;
    c.h = malloc((RANDOM + QUERIES * (MAXD + 1) * 2) * sizeof(*c.h));
    c.list = malloc((RANDOM + QUERIES * (MAXD + 1) * 2) * sizeof(*c.list));
    hits = malloc(4096 * sizeof(*hits));
    assert_non_null(c.h);
    assert_non_null(c.list);
    assert_non_null(hits);
    assert_int_equal(hg_dbb_list(b, "wide", "", HG_LIST_BLOCK, &l[0], &err), HG_OK);
    assert_int_equal(hg_dbb_list(b, "narrow", "", HG_LIST_BLOCK, &l[1], &err), HG_OK);
    assert_int_equal(hg_dbb_pdq_threshold(b, l[1], 12, &err), HG_OK);
    for (i = 0; i < RANDOM; i++) {
        rnd_hash(&s, &c.h[c.n]);
        c.list[c.n++] = (uint32_t) (i % 2);
    }
    for (k = 0; k < QUERIES; k++) {
        rnd_hash(&s, &q[k]);
        for (d = 0; d <= MAXD; d++) {
            near_hash(&s, &q[k], d, &c.h[c.n]);
            c.list[c.n++] = (uint32_t) (d % 2);
            spread_hash(&s, &q[k], d, k % 16, &c.h[c.n]);
            c.list[c.n++] = (uint32_t) ((d + 1) % 2);
        }
    }
    for (i = 0; i < c.n; i++) {
        e = pdq_entry(&c.h[i], -1, NULL);
        assert_int_equal(hg_dbb_add(b, l[c.list[i]], &e), HG_OK);
    }
    db = write_open(b, "index.db");
    assert_int_equal(hg_db_pdq_indexed(db), index);
    assert_int_equal(hg_db_version(db), format ? format : HG_DB_FORMAT);
    /* the two planted at distance 0 are one hash on two lists */
    assert_int_equal(hg_db_pdq_count(db), c.n - QUERIES);
    assert_int_equal(hg_db_pdq_threshold(db, l[1]), 12);
    assert_int_equal(hg_db_pdq_threshold(db, l[0]), HG_PDQ_THRESHOLD);

    for (k = 0; k < QUERIES; k++) {
        /* a fixed distance, the index's limit */
        memset(by, 0, sizeof(by));
        want = brute(&c, &q[k], 1, 31, thr, by);
        assert_true(want >= 2 * 32);
        n = hg_db_pdq_query(db, &q[k], 31, hits, 4096);
        assert_int_equal(n, want);
        check_hits(hits, n, &q[k], 1, by);
        /* distance 0: bisection */
        memset(by, 0, sizeof(by));
        want = brute(&c, &q[k], 1, 0, thr, by);
        assert_int_equal(want, 2);      /* one hash on both lists */
        n = hg_db_pdq_query(db, &q[k], 0, hits, 4096);
        assert_int_equal(n, want);
        check_hits(hits, n, &q[k], 1, by);
        /* each list's threshold */
        memset(by, 0, sizeof(by));
        want = brute(&c, &q[k], 1, -1, thr, by);
        n = hg_db_pdq_query(db, &q[k], -1, hits, 4096);
        assert_int_equal(n, want);
        check_hits(hits, n, &q[k], 1, by);
        /* past the index's limit: a scan, the same answers */
        memset(by, 0, sizeof(by));
        want = brute(&c, &q[k], 1, MAXD, thr, by);
        n = hg_db_pdq_query(db, &q[k], MAXD, hits, 4096);
        assert_int_equal(n, want);
        check_hits(hits, n, &q[k], 1, by);

        /* matching, with the query hash as one of 8 dihedral hashes */
        memset(&r, 0, sizeof(r));
        r.quality = 100;
        r.hash = q[k];
        for (d = 0; d < HG_PDQ_DIHEDRAL_COUNT; d++) {
            r.dihedral[d] = q[(k + d) % QUERIES];
        }
        memset(by, 0, sizeof(by));
        want = brute(&c, &r.hash, 1, -1, thr, by);
        n = hg_db_pdq_match(db, &r, 0, hits, 4096);
        assert_int_equal(n, want);
        check_hits(hits, n, &r.hash, 1, by);
        memset(by, 0, sizeof(by));
        want = brute(&c, r.dihedral, HG_PDQ_DIHEDRAL_COUNT, -1, thr, by);
        n = hg_db_pdq_match(db, &r, 1, hits, 4096);
        assert_int_equal(n, want);
        check_hits(hits, n, r.dihedral, HG_PDQ_DIHEDRAL_COUNT, by);
    }

    /* fewer slots than hits: the nearest, and the count of all */
    n = hg_db_pdq_query(db, &q[0], 31, hits, 3);
    assert_true(n > 3);
    assert_int_equal(hits[0].distance, 0);
    assert_int_equal(hits[1].distance, 0);
    assert_int_equal(hits[2].distance, 1);
    assert_int_equal(hg_db_pdq_query(db, &q[0], 31, NULL, 0), n);
    hg_db_close(db);
    free(hits);
    free(c.h);
    free(c.list);
}

static void
test_pdq_index_never_misses_an_entry_within_the_threshold(void **state)
{
    (void) state;
    search_matches_brute_force(1, 0);
}

/* The scan of the heads, with the vector loop where the processor has
 * one (db_pdq_heads.c) and with the scalar loop. */
static void
test_pdq_scan_of_the_heads_never_misses_an_entry(void **state)
{
    (void) state;
    search_matches_brute_force(0, 0);
    hg_pdq_heads_simd(0);
    search_matches_brute_force(0, 0);
    hg_pdq_heads_simd(1);
}

/* Format 5 files (one 32-byte row a hash) are read the same. */
static void
test_pdq_search_reads_format_5_rows(void **state)
{
    (void) state;
    search_matches_brute_force(1, 5);
    search_matches_brute_force(0, 5);
}

/* Below HG_PDQ_INDEX_MIN there is no index; a scan answers the same. */
static void
test_pdq_small_list_is_scanned_without_an_index(void **state)
{
    hg_dbb_t         *b = hg_dbb_new();
    hg_db_t          *db;
    hg_pdq_hash_t     q, h;
    hg_db_pdq_hit_t   hits[8];
    hg_entry_t        e;
    uint64_t          s = 5;
    uint32_t          l;
    hg_err_t          err;
    int               d;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "few", "", HG_LIST_BLOCK, &l, &err), HG_OK);
    rnd_hash(&s, &q);
    for (d = 0; d < 40; d += 3) {
        near_hash(&s, &q, d, &h);
        e = pdq_entry(&h, d, NULL);
        assert_int_equal(hg_dbb_add(b, l, &e), HG_OK);
    }
    db = write_open(b, "small.db");
    assert_false(hg_db_pdq_indexed(db));
    /* 0, 3, ... 30 within 31 */
    assert_int_equal(hg_db_pdq_query(db, &q, -1, hits, 8), 11);
    assert_int_equal(hits[0].distance, 0);
    assert_int_equal(hits[7].distance, 21);
    assert_int_equal(hits[7].quality, 21);
    assert_int_equal(hg_db_pdq_query(db, &q, 5, hits, 8), 2);
    hg_db_close(db);
}

/* ---- the format ---- */

/* Quality, label, list and allow-list kind are kept; foreach gives them back. */
typedef struct {
    size_t          n;
    size_t          pdq;
    int             quality[8];
    const char     *label[8];
    uint32_t        list[8];
} walk_t;

static hg_status_t
walk_cb(void *ctx, uint32_t list, const hg_entry_t *e)
{
    walk_t  *w = ctx;

    if (e->pdq && w->pdq < 8) {
        w->quality[w->pdq] = e->quality;
        w->label[w->pdq] = e->label;
        w->list[w->pdq] = list;
        w->pdq++;
    }
    w->n++;
    return HG_OK;
}

static void
test_pdq_entries_keep_quality_label_and_list(void **state)
{
    hg_dbb_t         *b = hg_dbb_new();
    hg_db_t          *db;
    hg_pdq_hash_t     h1, h2;
    hg_db_pdq_hit_t   hits[4];
    hg_entry_t        e;
    hg_db_list_t      li;
    walk_t            w;
    uint64_t          s = 9;
    uint32_t          blk, alw;
    hg_err_t          err;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "block", "", HG_LIST_BLOCK, &blk, &err), HG_OK);
    assert_int_equal(hg_dbb_list(b, "allow", "", HG_LIST_ALLOW, &alw, &err), HG_OK);
    rnd_hash(&s, &h1);
    rnd_hash(&s, &h2);
    e = pdq_entry(&h1, 90, "img-1/A1");
    assert_int_equal(hg_dbb_add(b, blk, &e), HG_OK);
    e = pdq_entry(&h1, 70, NULL);           /* the same hash again: highest quality */
    assert_int_equal(hg_dbb_add(b, blk, &e), HG_OK);
    e = pdq_entry(&h1, -1, NULL);           /* and on an allow-list */
    assert_int_equal(hg_dbb_add(b, alw, &e), HG_OK);
    e = pdq_entry(&h2, -1, NULL);
    assert_int_equal(hg_dbb_add(b, blk, &e), HG_OK);
    e = pdq_entry(&h2, 101, NULL);
    assert_int_equal(hg_dbb_add(b, blk, &e), HG_EINVAL);
    db = write_open(b, "keep.db");
    assert_true(hg_db_version(db) >= 3);
    assert_int_equal(hg_db_pdq_count(db), 2);
    assert_int_equal(hg_db_pdq_list_count(db, blk), 2);
    assert_int_equal(hg_db_pdq_list_count(db, alw), 1);
    assert_int_equal(hg_db_list(db, blk, &li), HG_OK);
    assert_int_equal(li.entries, 0);        /* digests only */

    assert_int_equal(hg_db_pdq_query(db, &h1, 0, hits, 4), 2);
    assert_int_equal(hits[0].list, blk);
    assert_int_equal(hits[0].quality, 90);
    assert_string_equal(hits[0].label, "img-1/A1");
    assert_memory_equal(hits[0].listed.b, h1.b, 32);
    assert_int_equal(hits[1].list, alw);
    assert_int_equal(hits[1].quality, -1);
    assert_null(hits[1].label);

    memset(&w, 0, sizeof(w));
    assert_int_equal(hg_db_foreach(db, walk_cb, &w), HG_OK);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.pdq, 3);
    hg_db_close(db);
}

/* A base loaded and written again gives the same bytes, thresholds too. */
static void
test_pdq_base_update_keeps_entries_and_thresholds(void **state)
{
    hg_dbb_t         *b = hg_dbb_new();
    hg_db_t          *db, *db2;
    hg_pdq_hash_t     h;
    hg_entry_t        e;
    uint64_t          s = 11;
    uint32_t          l;
    hg_err_t          err;
    int               i;
    FILE             *f1, *f2;
    int               c1, c2;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "pdq", "v1", HG_LIST_BLOCK, &l, &err), HG_OK);
    assert_int_equal(hg_dbb_pdq_threshold(b, l, 20, &err), HG_OK);
    for (i = 0; i < 5000; i++) {
        rnd_hash(&s, &h);
        e = pdq_entry(&h, i % 3 ? -1 : i % 101, i % 5 ? NULL : "lab");
        assert_int_equal(hg_dbb_add(b, l, &e), HG_OK);
    }
    db = write_open(b, "base.db");
    b = hg_dbb_new();
    assert_int_equal(hg_dbb_load(b, db, &err), HG_OK);
    db2 = write_open(b, "again.db");
    assert_int_equal(hg_db_pdq_threshold(db2, 0), 20);
    assert_int_equal(hg_db_pdq_count(db2), 5000);
    hg_db_close(db2);
    hg_db_close(db);
    f1 = fopen(hg_test_path("base.db"), "rb");
    f2 = fopen(hg_test_path("again.db"), "rb");
    assert_non_null(f1);
    assert_non_null(f2);
    do {
        c1 = getc(f1);
        c2 = getc(f2);
        assert_int_equal(c1, c2);
    } while (c1 != EOF);
    fclose(f1);
    fclose(f2);

    /* a removal takes the entry off */
    b = hg_dbb_new();
    assert_int_equal(hg_db_open(hg_test_path("base.db"), 0, &db, &err), HG_OK);
    assert_int_equal(hg_dbb_load(b, db, &err), HG_OK);
    s = 11;
    rnd_hash(&s, &h);
    e = pdq_entry(&h, -1, NULL);
    e.remove = 1;
    assert_int_equal(hg_dbb_add(b, 0, &e), HG_OK);
    hg_db_close(db);
    db = write_open(b, "removed.db");
    assert_int_equal(hg_db_pdq_count(db), 4999);
    assert_int_equal(hg_db_pdq_query(db, &h, 0, NULL, 0), 0);
    hg_db_close(db);
}

static void
test_pdq_threshold_past_the_maximum_is_refused(void **state)
{
    hg_dbb_t   *b = hg_dbb_new();
    uint32_t    l;
    hg_err_t    err;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "x", "", HG_LIST_BLOCK, &l, &err), HG_OK);
    assert_int_equal(hg_dbb_pdq_threshold(b, l, HG_PDQ_THRESHOLD_MAX, &err),
                     HG_OK);
    assert_int_equal(hg_dbb_pdq_threshold(b, l, HG_PDQ_THRESHOLD_MAX + 1, &err),
                     HG_EINVAL);
    assert_non_null(strstr(err.msg, "PDQ threshold 65 is not 0 to 64"));
    assert_int_equal(hg_dbb_pdq_threshold(b, l, -1, &err), HG_EINVAL);
    hg_dbb_free(b);
}

/* A version-2 file (no PDQ section, 512-byte header) still opens. */
static void
test_pdq_version_2_file_still_opens_with_no_entries(void **state)
{
    hg_dbb_t         *b = hg_dbb_new();
    hg_db_t          *db;
    hg_entry_t        e;
    hg_pdq_hash_t     q;
    hg_pdq_result_t   r;
    hg_db_hit_t       hit;
    uint64_t          s = 3;
    uint32_t          l;
    hg_err_t          err;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "old", "", HG_LIST_BLOCK, &l, &err), HG_OK);
    memset(&e, 0, sizeof(e));
    e.alg = HG_ALG_MD5;
    memset(e.digest, 0x42, 16);
    assert_int_equal(hg_dbb_add(b, l, &e), HG_OK);
    hg_dbb_set_format(b, 2);
    db = write_open(b, "v2.db");
    assert_int_equal(hg_db_version(db), 2);
    assert_int_equal(hg_db_lookup(db, HG_ALG_MD5, e.digest, &hit, 1), 1);
    rnd_hash(&s, &q);
    assert_int_equal(hg_db_pdq_count(db), 0);
    assert_int_equal(hg_db_pdq_threshold(db, 0), HG_PDQ_THRESHOLD);
    assert_int_equal(hg_db_pdq_query(db, &q, 256, NULL, 0), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(hg_db_pdq_match(db, &r, 1, NULL, 0), 0);
    hg_db_close(db);

    /* and a builder with PDQ entries cannot be written as format 2 */
    b = hg_dbb_new();
    assert_int_equal(hg_dbb_list(b, "new", "", HG_LIST_BLOCK, &l, &err), HG_OK);
    e = pdq_entry(&q, -1, NULL);
    assert_int_equal(hg_dbb_add(b, l, &e), HG_OK);
    hg_dbb_set_format(b, 2);
    assert_int_equal(hg_dbb_write(b, hg_test_path("no.db"), 1, &err), HG_EINVAL);
    hg_dbb_free(b);
}

/* ---- corrupted files ---- */

static unsigned char *
slurp(const char *path, size_t *n)
{
    FILE           *f = fopen(path, "rb");
    unsigned char  *p;
    long            len;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t) len);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t) len, f), (size_t) len);
    fclose(f);
    *n = (size_t) len;
    return p;
}

static void
spit(const char *path, const unsigned char *p, size_t n)
{
    FILE  *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* The header checksum again, as a hostile writer would. */
static void
reseal(unsigned char *p)
{
    uint32_t  hs = hg_db_header_size(hg_le32(p + HDR_FORMAT));

    assert_int_equal(hg_db_meta_sha256(p, p + hs, hg_le64(p + HDR_META_LEN),
                                       p + HDR_META_SHA256), 0);
}

static void
refused(const unsigned char *orig, size_t n, size_t off, int width,
        uint64_t v, const char *msg)
{
    unsigned char  *p = malloc(n);
    hg_db_t        *db = NULL;
    hg_err_t        err;

    assert_non_null(p);
    memcpy(p, orig, n);
    if (width == 4) {
        hg_put32(p + off, (uint32_t) v);
    } else if (width == 8) {
        hg_put64(p + off, v);
    } else {
        p[off] = (unsigned char) v;
    }
    if (off < HG_DB_HEADER_SIZE_V3 + hg_le64(p + HDR_META_LEN)) {
        reseal(p);
    }
    spit(hg_test_path("bad.db"), p, n);
    err.msg[0] = '\0';
    if (hg_db_open(hg_test_path("bad.db"), 0, &db, &err) != HG_EFORMAT) {
        fail_msg("opened with %s", msg);
    }
    if (strstr(err.msg, msg) == NULL) {
        fail_msg("\"%s\" does not say \"%s\"", err.msg, msg);
    }
    free(p);
}

static void
test_pdq_corrupted_section_is_refused_at_open(void **state)
{
    hg_dbb_t         *b = hg_dbb_new();
    hg_db_t          *db;
    hg_pdq_hash_t     h;
    hg_entry_t        e;
    unsigned char    *p;
    uint64_t          s = 21, idx, lpdq;
    uint32_t          l, l2;
    size_t            n;
    hg_err_t          err;
    int               i;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "a", "", HG_LIST_BLOCK, &l, &err), HG_OK);
    assert_int_equal(hg_dbb_list(b, "b", "", HG_LIST_BLOCK, &l2, &err), HG_OK);
    for (i = 0; i < 6000; i++) {
        rnd_hash(&s, &h);
        e = pdq_entry(&h, i % 2 ? 50 : -1, NULL);
        assert_int_equal(hg_dbb_add(b, i % 3 ? l : l2, &e), HG_OK);
    }
    hg_dbb_set_pdq_index(b, 1);
    db = write_open(b, "good.db");
    assert_true(hg_db_pdq_indexed(db));
    hg_db_close(db);
    p = slurp(hg_test_path("good.db"), &n);
    idx = hg_le64(p + HDR_PDQ_INDEX_OFF);
    lpdq = HG_DB_HEADER_SIZE_V3 + hg_le64(p + HDR_META_LEN)
           - 2 * LPDQ_REC;

    refused(p, n, HDR_PDQ_COUNT, 8, hg_le64(p + HDR_PDQ_COUNT) + 1,
            "PDQ: set index misplaced");
    refused(p, n, HDR_PDQ_COUNT, 8, (uint64_t) 1 << 40, "PDQ: 1099511627776 entries");
    refused(p, n, HDR_PDQ_HASHES_OFF, 8, hg_le64(p + HDR_PDQ_HASHES_OFF) + 64,
            "PDQ: hash table misplaced");
    refused(p, n, HDR_PDQ_SETIDX_OFF, 8, hg_le64(p + HDR_PDQ_SETIDX_OFF) + 8,
            "PDQ: set index misplaced");
    refused(p, n, HDR_PDQ_SETW, 4, 3, "PDQ: set index width 3");
    refused(p, n, HDR_PDQ_EXTRAS_OFF, 8, n, "PDQ: extras table misplaced");
    refused(p, n, HDR_PDQ_NEXTRAS, 8, (uint64_t) 1 << 60, "PDQ: extras table");
    refused(p, n, HDR_PDQ_INDEX_OFF, 8, idx + 8, "PDQ: index misplaced");
    refused(p, n, HDR_PDQ_INDEX_BITS, 4, 17, "PDQ: index of 17 bits");
    refused(p, n, HDR_PDQ_INDEX_BITS, 4, 0, "PDQ: index of 0 bits");
    refused(p, n, HDR_PDQ_IDW, 4, 5, "PDQ: index of 12 bits and 5-byte rows");
    refused(p, n, HDR_PDQ_RESERVED_AT, 1, 1, "reserved header bytes");
    /* the signature block is not read at open: test_db_sign.c */
    {
        /* a signature written later leaves the header checksum as it is */
        unsigned char  before[32], after[32];
        uint64_t       ml = hg_le64(p + HDR_META_LEN);

        assert_int_equal(hg_db_meta_sha256(p, p + HG_DB_HEADER_SIZE_V3, ml,
                                           before), 0);
        assert_memory_equal(before, p + HDR_META_SHA256, 32);
        memset(p + HDR_SIG_AT, 0xA5, HDR_SIG_LEN);
        assert_int_equal(hg_db_meta_sha256(p, p + HG_DB_HEADER_SIZE_V3, ml,
                                           after), 0);
        assert_memory_equal(before, after, 32);
        p[HDR_PDQ_RESERVED_AT - 1] ^= 1;    /* the PDQ fields are covered */
        assert_int_equal(hg_db_meta_sha256(p, p + HG_DB_HEADER_SIZE_V3, ml,
                                           after), 0);
        assert_memory_not_equal(before, after, 32);
        p[HDR_PDQ_RESERVED_AT - 1] ^= 1;
        memset(p + HDR_SIG_AT, 0, HDR_SIG_LEN);
    }
    refused(p, n, lpdq + LPDQ_THRESHOLD, 4, HG_PDQ_THRESHOLD_MAX + 1,
            "list 0: PDQ threshold 65 is past the maximum 64");
    refused(p, n, lpdq + 12, 1, 1, "list 0: reserved bytes");
    /* data region, not under the header checksum: the index's ends */
    refused(p, n, idx + 4 * ((1u << hg_le32(p + HDR_PDQ_INDEX_BITS))), 4, 7,
            "PDQ: index chunk 0 does not span the hash table");
    free(p);
}

/*
 * Garbage in the index rows, set index and extras (not read at open) gives
 * wrong answers at worst, never a read outside the mapping (run under
 * ASan to see it).
 */
static void
test_pdq_garbage_in_the_data_never_reads_outside(void **state)
{
    hg_dbb_t         *b = hg_dbb_new();
    hg_db_t          *db;
    hg_pdq_hash_t     h;
    hg_db_pdq_hit_t   hits[16];
    hg_pdq_result_t   r;
    hg_entry_t        e;
    unsigned char    *p;
    uint64_t          s = 31, at, end;
    uint32_t          l, l2;
    size_t            n, i;
    hg_err_t          err;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "a", "", HG_LIST_BLOCK, &l, &err), HG_OK);
    assert_int_equal(hg_dbb_list(b, "b", "", HG_LIST_BLOCK, &l2, &err), HG_OK);
    for (i = 0; i < 6000; i++) {
        rnd_hash(&s, &h);
        e = pdq_entry(&h, 60, i % 7 ? NULL : "x");
        assert_int_equal(hg_dbb_add(b, i % 3 ? l : l2, &e), HG_OK);
    }
    hg_dbb_set_pdq_index(b, 1);
    hg_db_close(write_open(b, "g.db"));
    p = slurp(hg_test_path("g.db"), &n);
    at = hg_le64(p + HDR_PDQ_SETIDX_OFF);
    end = hg_le64(p + HDR_RECORDS_OFF);
    for (i = at; i < end; i++) {
        p[i] = (unsigned char) (0xff ^ (i * 131));
    }
    /* keep the index's ends so that it opens */
    {
        uint64_t  idx = hg_le64(p + HDR_PDQ_INDEX_OFF), nb;
        unsigned  bits = hg_le32(p + HDR_PDQ_INDEX_BITS);
        int       c;

        nb = (uint64_t) 1 << bits;
        for (c = 0; c < 16; c++) {
            hg_put32(p + idx + c * hg_pdq_bounds_len(bits), 0);
            hg_put32(p + idx + c * hg_pdq_bounds_len(bits) + nb * 4, 6000);
        }
    }
    spit(hg_test_path("garbage.db"), p, n);
    free(p);
    assert_int_equal(hg_db_open(hg_test_path("garbage.db"), 0, &db, &err), HG_OK);
    for (i = 0; i < 200; i++) {
        rnd_hash(&s, &h);
        (void) hg_db_pdq_query(db, &h, 31, hits, 16);
        (void) hg_db_pdq_query(db, &h, 64, hits, 16);
        memset(&r, 0, sizeof(r));
        r.dihedral[0] = r.hash = h;
        (void) hg_db_pdq_match(db, &r, 1, hits, 16);
    }
    hg_db_close(db);
}

/* ---- the readers ---- */

#define PDQ_A "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
#define PDQ_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MD5_A "0123456789abcdef0123456789abcdef"

static void
test_pdq_text_list_reads_pdq_prefixed_lines(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "list.txt",
        "# synthetic\n"
        "pdq:" PDQ_A "\n"
        "PDQ:" PDQ_B "  # trailing\n"
        PDQ_B "\n"
        "pdq:" MD5_A "\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].e.pdq, 1);
    assert_int_equal(r.v[0].e.quality, -1);
    assert_string_equal(hgt_hex(&r, 0), PDQ_A);
    assert_int_equal(r.v[1].e.pdq, 1);
    assert_string_equal(hgt_hex(&r, 1), PDQ_B);
    /* bare 64 hex digits are a SHA-256 */
    assert_int_equal(r.v[2].e.pdq, 0);
    assert_int_equal(r.v[2].e.alg, HG_ALG_SHA256);
    assert_true(hgt_warned(&r, "list.txt:5: a PDQ hash of 32 hex digits, "
                           "expected 64"));
    hgt_read_free(&r);
    assert_string_equal(hgt_detect("list.txt", "pdq:" PDQ_A "\n"), "text");
}

static void
test_pdq_file_of_hashes_with_quality_is_read_by_the_pdq_reader(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "hashes.pdq",
        PDQ_A "\n"
        PDQ_B ",90,some/image.jpg\n"
        PDQ_B ",101\n"
        "xyz\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0].e.pdq, 1);
    assert_int_equal(r.v[0].e.quality, -1);
    assert_int_equal(r.v[1].e.quality, 90);
    assert_null(r.v[1].e.label);
    assert_int_equal(r.stats.skipped, 2);
    assert_true(hgt_warned(&r, "hashes.pdq:3: a PDQ quality is a whole "
                           "number 0 to 100"));
    assert_true(hgt_warned(&r, "hashes.pdq:4: a PDQ hash of 3 hex digits"));
    hgt_read_free(&r);
    /* "HASH,QUALITY" lines tell themselves; bare hashes need the name */
    assert_string_equal(hgt_detect("out.txt", PDQ_A ",100,a.jpg\n"), "pdq");
    assert_string_equal(hgt_detect("h.pdq", PDQ_A "\n"), "pdq");
    assert_string_equal(hgt_detect("h.txt", PDQ_A "\n"), "text");
}

static void
test_pdq_jsonl_reads_pdq_and_quality_beside_digests(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "l.jsonl",
        "{\"md5\": \"" MD5_A "\", \"pdq\": \"" PDQ_A "\", \"quality\": 88, "
        "\"label\": \"one\"}\n"
        "{\"pdq\": \"" PDQ_B "\"}\n"
        "{\"pdq\": \"" PDQ_B "\", \"quality\": 101}\n"
        "{\"pdq\": \"" MD5_A "\"}\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].e.pdq, 0);
    assert_int_equal(r.v[1].e.pdq, 1);
    assert_int_equal(r.v[1].e.quality, 88);
    assert_string_equal(r.v[1].e.label, "one");
    assert_string_equal(hgt_hex(&r, 1), PDQ_A);
    assert_int_equal(r.v[2].e.quality, -1);
    assert_true(hgt_warned(&r, "l.jsonl:3: \"quality\" is not a whole number"));
    assert_true(hgt_warned(&r, "l.jsonl:4: \"pdq\": a PDQ hash of 32"));
    hgt_read_free(&r);
    assert_string_equal(hgt_detect("x.json", "{\"pdq\": \"" PDQ_A "\"}\n"),
                        "jsonl");
}

static void
test_pdq_csv_reads_pdq_and_quality_columns(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "export.csv",
        "MD5,PDQ,Quality,FileName\n"
        MD5_A "," PDQ_A ",77,a.jpg\n"
        "," PDQ_B ",,b.jpg\n"
        "," PDQ_B ",x,c.jpg\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].e.pdq, 0);
    assert_int_equal(r.v[1].e.pdq, 1);
    assert_int_equal(r.v[1].e.quality, 77);
    assert_string_equal(r.v[1].e.label, "a.jpg");
    assert_int_equal(r.v[2].e.pdq, 1);
    assert_int_equal(r.v[2].e.quality, -1);
    assert_true(hgt_warned(&r, "export.csv:4: column 3 (quality)"));
    hgt_read_free(&r);
    assert_string_equal(hgt_detect("e.txt", "pdq;label\n" PDQ_A ";x\n"), "csv");
}

static void
test_pdq_ncmec_reads_pdq_fingerprints_with_quality(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "e.xml",
        "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">"
        "<images><image><id>i1</id><classification>A1</classification>"
        "<fingerprints><md5>" MD5_A "</md5>"
        "<pdq quality=\"95\">\n " PDQ_A " \n</pdq></fingerprints></image>"
        "<image><id>i2</id><fingerprints>"
        "<fingerprint type=\"PDQ\">" PDQ_B "</fingerprint></fingerprints>"
        "</image>"
        "<image><id>i3</id><fingerprints><pdq quality=\"high\">" PDQ_B
        "</pdq></fingerprints></image>"
        "<deletedImage><id>i4</id><fingerprints><pdq>" PDQ_A
        "</pdq></fingerprints></deletedImage>"
        "</images></queryResult>", 0, NULL), HG_OK);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[1].e.pdq, 1);
    assert_int_equal(r.v[1].e.quality, 95);
    assert_string_equal(r.v[1].e.label, "i1/A1");
    assert_string_equal(hgt_hex(&r, 1), PDQ_A);
    assert_int_equal(r.v[2].e.pdq, 1);
    assert_int_equal(r.v[2].e.quality, -1);
    assert_int_equal(r.v[3].e.remove, 1);
    assert_int_equal(r.v[3].e.pdq, 1);
    assert_true(hgt_warned(&r, "a PDQ quality is a whole number"));
    hgt_read_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdq_index_never_misses_an_entry_within_the_threshold),
        cmocka_unit_test(test_pdq_scan_of_the_heads_never_misses_an_entry),
        cmocka_unit_test(test_pdq_search_reads_format_5_rows),
        cmocka_unit_test(test_pdq_small_list_is_scanned_without_an_index),
        cmocka_unit_test(test_pdq_entries_keep_quality_label_and_list),
        cmocka_unit_test(test_pdq_base_update_keeps_entries_and_thresholds),
        cmocka_unit_test(test_pdq_threshold_past_the_maximum_is_refused),
        cmocka_unit_test(test_pdq_version_2_file_still_opens_with_no_entries),
        cmocka_unit_test(test_pdq_corrupted_section_is_refused_at_open),
        cmocka_unit_test(test_pdq_garbage_in_the_data_never_reads_outside),
        cmocka_unit_test(test_pdq_text_list_reads_pdq_prefixed_lines),
        cmocka_unit_test(test_pdq_file_of_hashes_with_quality_is_read_by_the_pdq_reader),
        cmocka_unit_test(test_pdq_jsonl_reads_pdq_and_quality_beside_digests),
        cmocka_unit_test(test_pdq_csv_reads_pdq_and_quality_columns),
        cmocka_unit_test(test_pdq_ncmec_reads_pdq_fingerprints_with_quality),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

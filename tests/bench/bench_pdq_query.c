/*
 * bench_pdq_query.c - the PDQ search (db_pdq.h) against a brute-force
 * popcount scan of the same entries, in one run (issue 17).
 *
 *   bench_pdq_query [SIZES...]      default: 1000000 10000000
 *
 * For each size N: N seeded random PDQ hashes on one list, and around each
 * of QUERIES query hashes one planted entry at every distance 0..32, are
 * compiled (hg_dbb_write) into a temp file. Then, per size:
 *
 *   - file bytes per hash, and hg_db_open time (median of 21, no verify);
 *   - hg_db_pdq_query at distance 31: median and p99 per query, wall time,
 *     and the same for a brute-force scan of the mapped hashes (4 XOR +
 *     popcount a row, rows in order); the ratio of the medians. Both find
 *     the same number of entries (checked);
 *   - hg_db_pdq_match (each list's threshold, 31) with dihedral off and on
 *     (the 8 dihedral hashes searched), median per image;
 *   - false matches: RANDOM unrelated random hashes (and their 8 dihedral
 *     stand-ins) matched against the N entries at threshold 31.
 *
 * Then the crossover for HG_PDQ_INDEX_MIN: at small sizes, an indexed
 * file's query against the scan of the same entries.
 *
 * Temp files go to $TMPDIR (default /tmp) and are removed. Prints RESULT
 * lines; bench_pdq_query.sh runs it under `make bench`.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db_format.h"
#include "hashgate/db.h"
#include "hashgate/db_pdq.h"

#define QUERIES     500         /* planted queries per size */
#define MAXD        32          /* planted at 0..MAXD */
#define RANDOM_Q    2000        /* unrelated hashes for false matches */
#define HITS        256

static uint64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static uint64_t
rnd(uint64_t *s)
{
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

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}

/* Median and p99 of n samples (sorted in place), in microseconds. */
static void
stats(uint64_t *v, size_t n, double *med, double *p99)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    *med = (double) v[n / 2] / 1e3;
    *p99 = (double) v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3;
}

/* The brute-force baseline: every row whole, 4 XOR + popcount (POPCNT
 * where the processor has it, as the library's loops), reading its 32
 * bytes (heads and tails, in step). */
#if defined(__x86_64__)
__attribute__((target_clones("popcnt", "default")))
#endif
static size_t
brute(const hg_db_t *db, const hg_pdq_hash_t *q, int max)
{
    const unsigned char  *p = db->pdq_head, *t = db->pdq_tail;
    uint64_t              q0, q1, q2, q3, x[4], r, step = db->pdq_step;
    size_t                n = 0;

    memcpy(&q0, q->b, 8);
    memcpy(&q1, q->b + 8, 8);
    memcpy(&q2, q->b + 16, 8);
    memcpy(&q3, q->b + 24, 8);
    for (r = 0; r < db->pdq.count; r++, p += step, t += step) {
        memcpy(x, p, 16);
        memcpy(x + 2, t, 16);
        if (__builtin_popcountll(x[0] ^ q0) + __builtin_popcountll(x[1] ^ q1)
            + __builtin_popcountll(x[2] ^ q2) + __builtin_popcountll(x[3] ^ q3)
            <= max)
        {
            n++;
        }
    }
    return n;
}

/* Write a database of n random hashes plus planted neighbours of q[]. */
static int
build(const char *path, size_t n, const hg_pdq_hash_t *q, int nq, int index,
      double *secs)
{
    hg_dbb_t     *b = hg_dbb_new();
    hg_entry_t    e;
    hg_err_t      err;
    uint64_t      s = 42, t0 = now_ns();
    uint32_t      l;
    size_t        i;
    int           k, d;

    if (b == NULL || hg_dbb_list(b, "bench", "", HG_LIST_BLOCK, &l, &err) != HG_OK) {
        return -1;
    }
    hg_dbb_set_pdq_index(b, index);
    memset(&e, 0, sizeof(e));
    e.pdq = 1;
    e.alg = HG_ALG_SHA256;
    e.quality = -1;
    for (i = 0; i < n; i++) {
        rnd_hash(&s, (hg_pdq_hash_t *) (void *) e.digest);
        if (hg_dbb_add(b, l, &e) != HG_OK) {
            return -1;
        }
    }
    for (k = 0; k < nq; k++) {
        for (d = 0; d <= MAXD; d++) {
            near_hash(&s, &q[k], d, (hg_pdq_hash_t *) (void *) e.digest);
            if (hg_dbb_add(b, l, &e) != HG_OK) {
                return -1;
            }
        }
    }
    if (hg_dbb_write(b, path, 1700000000, &err) != HG_OK) {
        fprintf(stderr, "bench_pdq_query: %s\n", err.msg);
        hg_dbb_free(b);
        return -1;
    }
    hg_dbb_free(b);
    *secs = (double) (now_ns() - t0) / 1e9;
    return 0;
}

static double
open_ms(const char *path)
{
    uint64_t  v[21], t;
    hg_db_t  *db;
    hg_err_t  err;
    double    med, p99;
    int       i;

    for (i = 0; i < 21; i++) {
        t = now_ns();
        if (hg_db_open(path, 0, &db, &err) != HG_OK) {
            fprintf(stderr, "bench_pdq_query: %s\n", err.msg);
            exit(1);
        }
        v[i] = now_ns() - t;
        hg_db_close(db);
    }
    stats(v, 21, &med, &p99);
    return med / 1e3;
}

static void
one_size(size_t n, const char *dir, int index)
{
    char              path[4200];
    hg_pdq_hash_t    *q = malloc(QUERIES * sizeof(*q)), u;
    hg_pdq_result_t   r;
    hg_db_pdq_hit_t  *hits = malloc(HITS * sizeof(*hits));
    uint64_t         *ti = malloc(QUERIES * sizeof(uint64_t));
    uint64_t         *tb = malloc(QUERIES * sizeof(uint64_t));
    uint64_t          s = 7, t;
    hg_db_t          *db;
    hg_err_t          err;
    double            secs, mi, pi, mb, pb, m0, p0, m8, p8, wall_i, wall_b;
    size_t            i, found_i = 0, found_b = 0, nb, fm1 = 0, fm8 = 0;
    int               k, j, nbq, nd = n > 2000000 ? 100 : QUERIES;
    int               nr = n > 2000000 ? 300 : RANDOM_Q;

    if (q == NULL || hits == NULL || ti == NULL || tb == NULL) {
        exit(1);
    }
    for (k = 0; k < QUERIES; k++) {
        rnd_hash(&s, &q[k]);
    }
    snprintf(path, sizeof(path), "%s/pdq-%zu.db", dir, n);
    if (build(path, n, q, QUERIES, index, &secs) != 0) {
        printf("RESULT pdq query %zu entries: could not build (memory?)\n", n);
        return;
    }
    if (hg_db_open(path, 0, &db, &err) != HG_OK) {
        fprintf(stderr, "bench_pdq_query: %s\n", err.msg);
        exit(1);
    }
    /* bring the whole file in (the writer dropped it from the page
     * cache), as a server's mapping is after a while */
    {
        volatile unsigned char  sink = 0;
        size_t                  off;

        for (off = 0; off < db->size; off += 4096) {
            sink ^= db->base[off];
        }
        (void) sink;
    }
    (void) brute(db, &q[0], 31);
    (void) hg_db_pdq_query(db, &q[0], 31, hits, HITS);

    t = now_ns();
    for (k = 0; k < QUERIES; k++) {
        uint64_t  a = now_ns();

        found_i += hg_db_pdq_query(db, &q[k], 31, hits, HITS);
        ti[k] = now_ns() - a;
    }
    wall_i = (double) (now_ns() - t) / 1e9;
    /* the scan is slow at 10M: a sample of the queries */
    nbq = n > 2000000 ? 40 : 120;
    t = now_ns();
    for (k = 0; k < nbq; k++) {
        uint64_t  a = now_ns();

        found_b += brute(db, &q[k], 31);
        tb[k] = now_ns() - a;
    }
    wall_b = (double) (now_ns() - t) / 1e9;
    for (k = 0, nb = 0; k < nbq; k++) {
        nb += hg_db_pdq_query(db, &q[k], 31, NULL, 0);
    }
    stats(ti, QUERIES, &mi, &pi);
    stats(tb, (size_t) nbq, &mb, &pb);
    printf("RESULT pdq query %zu entries (+%d planted), distance 31: median "
           "%.1f us, p99 %.1f us (%s); brute-force scan median %.1f us, p99 "
           "%.1f us: %.1fx faster (%s, %zu = %zu found)\n",
           n, QUERIES * (MAXD + 1), mi, pi,
           hg_db_pdq_indexed(db) ? "index, --pdq-index on"
                                 : "scan of the heads, the default", mb, pb,
           mb / mi,
           nb == found_b ? "same answers" : "ANSWERS DIFFER", nb, found_b);
    printf("RESULT pdq file %zu entries%s: %.2f bytes a hash (%.2f x the 32 "
           "raw), %llu bytes; open median %.3f ms; compile %.1f s\n", n,
           index ? ", indexed" : "",
           (double) hg_db_file_size(db) / (double) hg_db_pdq_count(db),
           (double) hg_db_file_size(db) / (double) hg_db_pdq_count(db) / 32.0,
           (unsigned long long) hg_db_file_size(db), open_ms(path), secs);
    (void) wall_i;
    (void) wall_b;

    /* PdqDihedral: one search or eight (fewer at 10M: keep the run short) */
    for (k = 0; k < nd; k++) {
        uint64_t  a;

        memset(&r, 0, sizeof(r));
        r.quality = 100;
        r.hash = q[k];
        r.dihedral[0] = q[k];
        for (j = 1; j < HG_PDQ_DIHEDRAL_COUNT; j++) {
            rnd_hash(&s, &r.dihedral[j]);
        }
        a = now_ns();
        (void) hg_db_pdq_match(db, &r, 0, hits, HITS);
        ti[k] = now_ns() - a;
        a = now_ns();
        (void) hg_db_pdq_match(db, &r, 1, hits, HITS);
        tb[k] = now_ns() - a;
    }
    stats(ti, (size_t) nd, &m0, &p0);
    stats(tb, (size_t) nd, &m8, &p8);
    printf("RESULT pdq match %zu entries%s, threshold 31: dihedral off "
           "median %.1f us (p99 %.1f), on median %.1f us (p99 %.1f): %.1fx\n",
           n, index ? ", indexed" : "", m0, p0, m8, p8, m8 / m0);
    if (index) {            /* the same answers as the default file */
        goto out;
    }

    /* false matches of unrelated random hashes */
    for (i = 0; i < (size_t) nr; i++) {
        memset(&r, 0, sizeof(r));
        rnd_hash(&s, &u);
        r.hash = r.dihedral[0] = u;
        for (j = 1; j < HG_PDQ_DIHEDRAL_COUNT; j++) {
            rnd_hash(&s, &r.dihedral[j]);
        }
        fm1 += hg_db_pdq_match(db, &r, 0, NULL, 0) > 0;
        fm8 += hg_db_pdq_match(db, &r, 1, NULL, 0) > 0;
    }
    printf("RESULT pdq false matches %zu entries, threshold 31: %zu of %d "
           "unrelated random hashes without dihedral, %zu of %d with\n", n,
           fm1, nr, fm8, nr);
out:
    hg_db_close(db);
    unlink(path);
    free(q);
    free(hits);
    free(ti);
    free(tb);
}

/* At small sizes: the index against a scan of the same file. */
static void
crossover(const char *dir)
{
    static const size_t  sizes[] = { 1000, 2000, 4000, 8000, 16000, 64000 };
    char                 path[4200];
    hg_pdq_hash_t        q[64];
    hg_db_pdq_hit_t      hits[HITS];
    uint64_t             s = 9, t, ti[64], ts[64];
    hg_db_t             *db;
    hg_err_t             err;
    double               secs, mi, ms, p;
    size_t               z;
    int                  k;

    for (k = 0; k < 64; k++) {
        rnd_hash(&s, &q[k]);
    }
    for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        snprintf(path, sizeof(path), "%s/pdq-x%zu.db", dir, sizes[z]);
        if (build(path, sizes[z], q, 4, 1, &secs) != 0
            || hg_db_open(path, 0, &db, &err) != HG_OK)
        {
            exit(1);
        }
        for (k = 0; k < 64; k++) {
            t = now_ns();
            (void) hg_db_pdq_query(db, &q[k], 31, hits, HITS);
            ti[k] = now_ns() - t;
            t = now_ns();
            (void) hg_db_pdq_query(db, &q[k], 32, hits, HITS);  /* scans */
            ts[k] = now_ns() - t;
        }
        stats(ti, 64, &mi, &p);
        stats(ts, 64, &ms, &p);
        printf("RESULT pdq crossover %zu entries: %s %.1f us, scan %.1f us\n",
               sizes[z], hg_db_pdq_indexed(db) ? "index" : "(no index) scan",
               mi, ms);
        hg_db_close(db);
        unlink(path);
    }
}

int
main(int argc, char **argv)
{
    const char  *tmp = getenv("TMPDIR");
    char         dir[4096];
    int          i;

    snprintf(dir, sizeof(dir), "%s/hg-bench-pdq-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("bench_pdq_query: mkdtemp");
        return 1;
    }
    crossover(dir);
    if (argc > 1) {
        for (i = 1; i < argc; i++) {
            one_size((size_t) strtoull(argv[i], NULL, 10), dir, 0);
            one_size((size_t) strtoull(argv[i], NULL, 10), dir, 1);
        }
    } else {
        one_size(1000000, dir, 0);
        one_size(1000000, dir, 1);
        one_size(10000000, dir, 0);
        one_size(10000000, dir, 1);
    }
    rmdir(dir);
    return 0;
}

/*
 * test_hash_par.c - parallel digests (hg_hash_set_parallel): the digests
 * and sizes are the same as serial ones however the object is fed, with
 * every set of algorithms, when the helpers are busy, across objects, and
 * from several threads sharing one pool; bad pool settings are refused.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <cmocka.h>

#include "hashgate/hash.h"
#include "scan/hash_par.h"

#define MIN     (64 * 1024)             /* the smallest split size */
#define BIG     (3 * 1024 * 1024 + 12345)

static unsigned char *
random_bytes(size_t len, uint64_t seed)
{
    unsigned char  *b = malloc(len);
    uint64_t        x = seed * 0x9e3779b97f4a7c15ull + 1;
    size_t          i;

    assert_non_null(b);
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (unsigned char) x;
    }
    return b;
}

/*
 * Feed len bytes in pieces: chunk > 0 fixed, 0 seeded random sizes from 1
 * byte to 3 * MIN (pieces below, at and above the split size).
 */
static void
hash_fed(hg_hash_t *h, unsigned algs, const unsigned char *buf, size_t len,
         size_t chunk, unsigned seed, hg_digests_t *out)
{
    size_t  off = 0, n;

    assert_int_equal(hg_hash_init(h, algs), HG_OK);
    srand(seed);
    while (off < len) {
        n = chunk ? chunk : 1 + (size_t) rand() % (3 * MIN);
        if (n > len - off) {
            n = len - off;
        }
        assert_int_equal(hg_hash_update(h, buf + off, n), HG_OK);
        off += n;
    }
    assert_int_equal(hg_hash_final(h, out), HG_OK);
}

static void
assert_same_digests(const hg_digests_t *a, const hg_digests_t *b)
{
    assert_int_equal(a->algs, b->algs);
    assert_int_equal(a->size, b->size);
    assert_memory_equal(a->d, b->d, sizeof(a->d));
}

static void
test_par_digests_equal_serial_for_every_algorithm_set_and_feeding(void **state)
{
    static const size_t  chunks[] = { 0, 1000, 48 * 1024, MIN - 1, MIN,
                                      MIN + 1, 1 << 20, BIG };
    static const size_t  sizes[] = { 0, 1, MIN - 1, MIN, MIN + 1,
                                     2 * MIN + 7, BIG };
    unsigned char  *buf = random_bytes(BIG, 1);
    hg_hash_t      *s = hg_hash_new(), *p = hg_hash_new();
    hg_hash_par_t  *par;
    hg_digests_t    ds, dp;
    hg_err_t        err;
    unsigned        algs;
    uint64_t        before;
    size_t          i, j;

    (void) state;
    par = hg_hash_par_new(MIN, 1, &err);
    assert_non_null(par);
    hg_hash_set_parallel(p, par);

    for (algs = 0; algs <= HG_ALGS_ALL; algs++) {
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
                before = hg_hash_par_splits(par);
                hash_fed(s, algs, buf, sizes[i], chunks[j], 7 + j, &ds);
                hash_fed(p, algs, buf, sizes[i], chunks[j], 7 + j, &dp);
                assert_same_digests(&ds, &dp);
                /* split when it should: two algorithms or more and a
                 * large object, fed in any way; never one algorithm or
                 * an object under MIN bytes */
                if (__builtin_popcount(algs) >= 2 && sizes[i] == BIG) {
                    assert_true(hg_hash_par_splits(par) > before);
                } else if (__builtin_popcount(algs) < 2 || sizes[i] < MIN) {
                    assert_true(hg_hash_par_splits(par) == before);
                }
            }
        }
    }

    hg_hash_free(s);
    hg_hash_free(p);
    hg_hash_par_free(par);
    free(buf);
}

static void
_noop(void *arg)
{
    (void) arg;
}

/* The pool's only helper is taken: the context hashes alone, correctly. */
static void
test_par_all_helpers_busy_hashes_alone_with_the_same_digests(void **state)
{
    unsigned char    *buf = random_bytes(BIG, 2);
    hg_hash_t        *s = hg_hash_new(), *p = hg_hash_new();
    hg_hash_par_t    *par;
    hg_par_helper_t  *w;
    hg_digests_t      ds, dp;
    hg_err_t          err;

    (void) state;
    par = hg_hash_par_new(MIN, 1, &err);
    assert_non_null(par);
    hg_hash_set_parallel(p, par);

    w = hg_hash_par_take(par);
    assert_non_null(w);
    assert_null(hg_hash_par_take(par));
    hash_fed(p, HG_ALGS_ALL, buf, BIG, 0, 3, &dp);
    assert_true(hg_hash_par_splits(par) == 0);
    hash_fed(s, HG_ALGS_ALL, buf, BIG, 0, 3, &ds);
    assert_same_digests(&ds, &dp);

    /* given back, it is used again */
    hg_hash_par_start(w, _noop, NULL);
    hg_hash_par_join(par, w);
    hash_fed(p, HG_ALGS_ALL, buf, BIG, 1 << 20, 3, &dp);
    assert_same_digests(&ds, &dp);
    assert_true(hg_hash_par_splits(par) > 1);

    hg_hash_free(s);
    hg_hash_free(p);
    hg_hash_par_free(par);
    free(buf);
}

typedef struct {
    hg_hash_par_t      *par;
    const unsigned char *buf;
    unsigned            seed;
    hg_digests_t        d;
    int                 ok;
} _worker_t;

static void *
_worker(void *arg)
{
    _worker_t  *w = arg;
    hg_hash_t  *h = hg_hash_new();
    size_t      off = 0, n;
    unsigned    r = w->seed;
    int         round;

    w->ok = h != NULL;
    hg_hash_set_parallel(h, w->par);
    for (round = 0; round < 3 && w->ok; round++) {
        w->ok &= hg_hash_init(h, HG_ALG_BIT(HG_ALG_MD5)
                                 | HG_ALG_BIT(HG_ALG_SHA1)) == HG_OK;
        for (off = 0; off < BIG; off += n) {
            r = r * 1103515245 + 12345;
            n = 1 + (r >> 8) % (3 * MIN);
            if (n > BIG - off) {
                n = BIG - off;
            }
            w->ok &= hg_hash_update(h, w->buf + off, n) == HG_OK;
        }
        w->ok &= hg_hash_final(h, &w->d) == HG_OK;
    }
    hg_hash_free(h);
    return NULL;
}

/* Four threads, one helper: each gets it or hashes alone, never wrong. */
static void
test_par_threads_sharing_one_pool_get_serial_digests(void **state)
{
    unsigned char  *buf = random_bytes(BIG, 4);
    hg_hash_t      *s = hg_hash_new();
    hg_hash_par_t  *par;
    hg_digests_t    ds;
    hg_err_t        err;
    _worker_t       w[4];
    pthread_t       t[4];
    int             i;

    (void) state;
    par = hg_hash_par_new(MIN, 1, &err);
    assert_non_null(par);
    hash_fed(s, HG_ALG_BIT(HG_ALG_MD5) | HG_ALG_BIT(HG_ALG_SHA1), buf, BIG,
             BIG, 0, &ds);
    for (i = 0; i < 4; i++) {
        w[i].par = par;
        w[i].buf = buf;
        w[i].seed = (unsigned) i + 11;
        assert_int_equal(pthread_create(&t[i], NULL, _worker, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(w[i].ok);
        assert_same_digests(&ds, &w[i].d);
    }
    hg_hash_free(s);
    hg_hash_par_free(par);
    free(buf);
}

/* A pool set and then removed: the context goes back to serial. */
static void
test_par_context_can_leave_the_pool_between_objects(void **state)
{
    unsigned char  *buf = random_bytes(BIG, 5);
    hg_hash_t      *s = hg_hash_new(), *p = hg_hash_new();
    hg_hash_par_t  *par;
    hg_digests_t    ds, dp;
    hg_err_t        err;

    (void) state;
    par = hg_hash_par_new(MIN, 2, &err);
    assert_non_null(par);
    hg_hash_set_parallel(p, par);
    hash_fed(p, HG_ALGS_ALL, buf, BIG, 1000, 0, &dp);
    hg_hash_set_parallel(p, NULL);
    hg_hash_par_free(par);
    hash_fed(p, HG_ALGS_ALL, buf, BIG, 1000, 0, &dp);
    hash_fed(s, HG_ALGS_ALL, buf, BIG, 1000, 0, &ds);
    assert_same_digests(&ds, &dp);
    hg_hash_free(s);
    hg_hash_free(p);
    free(buf);
}

static void
_count(void *arg)
{
    (*(unsigned *) arg)++;
}

/*
 * A job is run once, by the helper or, not started when the caller joins,
 * taken back by the caller: never twice, never lost.
 */
static void
test_par_each_job_runs_once_whoever_runs_it(void **state)
{
    hg_hash_par_t    *par;
    hg_par_helper_t  *w;
    hg_err_t          err;
    unsigned          n = 0, i;

    (void) state;
    par = hg_hash_par_new(MIN, 1, &err);
    assert_non_null(par);
    for (i = 0; i < 3000; i++) {
        w = hg_hash_par_take(par);
        assert_non_null(w);
        hg_hash_par_start(w, _count, &n);
        if (i % 3 == 1) {
            sched_yield();
        }
        hg_hash_par_join(par, w);
        assert_int_equal(n, i + 1);
    }
    assert_true(hg_hash_par_splits(par) == 3000);
    assert_true(hg_hash_par_taken_back(par) <= 3000);
    hg_hash_par_free(par);
}

static void
test_par_pool_refuses_bad_settings(void **state)
{
    hg_err_t  err;

    (void) state;
    err.msg[0] = '\0';
    assert_null(hg_hash_par_new(MIN - 1, 1, &err));
    assert_non_null(strstr(err.msg, "at least"));
    assert_null(hg_hash_par_new(MIN, 0, &err));
    assert_null(hg_hash_par_new(MIN, HG_HASH_PAR_MAX_HELPERS + 1, &err));
    hg_hash_par_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_par_digests_equal_serial_for_every_algorithm_set_and_feeding),
        cmocka_unit_test(test_par_all_helpers_busy_hashes_alone_with_the_same_digests),
        cmocka_unit_test(test_par_threads_sharing_one_pool_get_serial_digests),
        cmocka_unit_test(test_par_context_can_leave_the_pool_between_objects),
        cmocka_unit_test(test_par_each_job_runs_once_whoever_runs_it),
        cmocka_unit_test(test_par_pool_refuses_bad_settings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_db.c - the compiled database: build, write, open, look up, walk,
 * update incrementally, and refuse every truncated, corrupted or hostile
 * file. Digests are seeded random bytes: synthetic data only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "db/db_build.h"
#include "db/db_format.h"
#include "hashgate/db.h"
#include "helper_tmpdir.h"

static uint64_t
rnd(uint64_t *s)
{
    /* xorshift64*: reproducible synthetic digests */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void
rnd_digest(uint64_t *s, unsigned char *d, size_t len)
{
    size_t    i;
    uint64_t  v = 0;

    for (i = 0; i < len; i++) {
        if (i % 8 == 0) {
            v = rnd(s);
        }
        d[i] = (unsigned char) (v >> (8 * (i % 8)));
    }
}

#define tpath(name)  hg_test_path(name)
#define tmpdir       hg_test_tmpdir
#define count_files  hg_test_tmpdir_count

static int
setup(void **state)
{
    (void) state;
    return hg_test_tmpdir_make("db");
}

static int
teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

static hg_entry_t
entry(hg_alg_t alg, const unsigned char *d)
{
    hg_entry_t  e;

    memset(&e, 0, sizeof(e));
    e.alg = alg;
    memcpy(e.digest, d, hg_alg_len(alg));
    return e;
}

static uint32_t
mklist(hg_dbb_t *b, const char *name, unsigned kind)
{
    uint32_t  id;
    hg_err_t  err;

    assert_int_equal(hg_dbb_list(b, name, NULL, kind, &id, &err), HG_OK);
    return id;
}

static hg_db_t *
write_open(hg_dbb_t *b, const char *path, unsigned flags)
{
    hg_err_t  err;
    hg_db_t  *db;

    err.msg[0] = '\0';
    if (hg_dbb_write(b, path, 1700000000, &err) != HG_OK) {
        fail_msg("write: %s", err.msg);
    }
    hg_dbb_free(b);
    if (hg_db_open(path, flags, &db, &err) != HG_OK) {
        fail_msg("open: %s", err.msg);
    }
    return db;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    struct stat     st;
    unsigned char  *p;
    int             fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    p = malloc((size_t) st.st_size + 1);
    assert_non_null(p);
    assert_int_equal(read(fd, p, (size_t) st.st_size), st.st_size);
    close(fd);
    *len = (size_t) st.st_size;
    return p;
}

static void
spit(const char *path, const unsigned char *p, size_t len)
{
    int  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t) len);
    close(fd);
}

/* Expect path to be refused with HG_EFORMAT and a message naming it. */
static void
assert_refused(const char *path, const char *what)
{
    hg_db_t   *db = NULL;
    hg_err_t   err;
    hg_status_t st;

    err.msg[0] = '\0';
    st = hg_db_open(path, 0, &db, &err);
    if (st != HG_EFORMAT) {
        hg_db_close(db);
        fail_msg("%s: open gave %d, not HG_EFORMAT", what, st);
    }
    assert_null(db);
    assert_non_null(strstr(err.msg, path));
}

static void reseal(unsigned char *p, size_t n);

/* A small database with every feature, for the corruption tests. */
static void
build_rich(const char *path)
{
    hg_dbb_t       *b = hg_dbb_new();
    uint64_t        s = 7;
    unsigned char   d[32], sha[32];
    uint32_t        l1, l2, l3;
    hg_entry_t      e;
    hg_err_t        err;
    int             i, a;
    char            lab[32];

    assert_int_equal(hg_dbb_list(b, "vendor-a", "2026-11-25", HG_LIST_BLOCK,
                                 &l1, &err), HG_OK);
    l2 = mklist(b, "team.b", HG_LIST_BLOCK);
    l3 = mklist(b, "fp_allow", HG_LIST_ALLOW);
    memset(sha, 0xab, 32);
    assert_int_equal(hg_dbb_source(b, l1, "a.hsb", sha), HG_OK);
    assert_int_equal(hg_dbb_source(b, l2, "b.txt", sha), HG_OK);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        for (i = 0; i < 20; i++) {
            rnd_digest(&s, d, 32);
            e = entry(a, d);
            if (i % 3 == 0) {
                e.has_size = 1;
                e.size = 1000 + i;
            }
            if (i % 4 == 0) {
                snprintf(lab, sizeof(lab), "label-%d", i);
                e.label = lab;
            }
            assert_int_equal(hg_dbb_add(b, i % 2 ? l1 : l2, &e), HG_OK);
            if (i % 5 == 0) {
                assert_int_equal(hg_dbb_add(b, l3, &e), HG_OK);
            }
        }
    }
    /* records: files given by two or three digests */
    for (i = 0; i < 12; i++) {
        for (a = 0; a < HG_ALG_COUNT; a++) {
            if (i % 2 && a == HG_ALG_SHA256) {
                continue;
            }
            rnd_digest(&s, d, 32);
            e = entry(a, d);
            e.record = (uint64_t) i + 1;
            assert_int_equal(hg_dbb_add(b, i % 3 ? l1 : l3, &e), HG_OK);
        }
    }
    assert_int_equal(hg_dbb_write(b, path, 1700000000, &err), HG_OK);
    hg_dbb_free(b);
}

static uint64_t
meta_end(const unsigned char *p)
{
    return hg_db_header_size(hg_le32(p + HDR_FORMAT)) + hg_le64(p + HDR_META_LEN);
}

/* ---- tests ---- */

static void
test_db_round_trip_with_no_entries(void **state)
{
    hg_db_t       *db;
    unsigned char  d[32] = { 0 };
    hg_db_hit_t    hit;
    hg_err_t       err;

    (void) state;
    db = write_open(hg_dbb_new(), tpath("empty.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_algs(db), 0);
    assert_int_equal(hg_db_nlists(db), 0);
    assert_int_equal(hg_db_count(db, HG_ALG_SHA256), 0);
    hg_db_prefetch(db, HG_ALG_SHA256, d);           /* a hint: no effect */
    hg_db_prefetch(db, (hg_alg_t) HG_ALG_COUNT, d);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d, &hit, 1), 0);
    assert_int_equal(hg_db_created(db), 1700000000);
    assert_int_equal(hg_db_version(db), HG_DB_FORMAT);
    assert_int_equal(hg_db_verify(db, &err), HG_OK);
    assert_string_equal(hg_db_path(db), tpath("empty.db"));
    hg_db_close(db);
}

static void
test_db_round_trip_with_one_entry(void **state)
{
    hg_dbb_t      *b = hg_dbb_new();
    hg_db_t       *db;
    unsigned char  d[32];
    uint64_t       s = 1;
    hg_db_hit_t    hit;
    hg_entry_t     e;
    hg_db_list_t   l;
    uint32_t       id;

    (void) state;
    rnd_digest(&s, d, 32);
    id = mklist(b, "one", HG_LIST_BLOCK);
    e = entry(HG_ALG_MD5, d);
    assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    assert_int_equal(hg_dbb_pending(b), 1);
    db = write_open(b, tpath("one.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_algs(db), HG_ALG_BIT(HG_ALG_MD5));
    assert_int_equal(hg_db_lookup(db, HG_ALG_MD5, d, &hit, 1), 1);
    assert_int_equal(hit.list, 0);
    assert_int_equal(hit.has_size, 0);
    assert_null(hit.label);
    d[15] ^= 1;
    assert_int_equal(hg_db_lookup(db, HG_ALG_MD5, d, &hit, 1), 0);
    assert_int_equal(hg_db_list(db, 0, &l), HG_OK);
    assert_string_equal(l.name, "one");
    assert_string_equal(l.version, "");
    assert_int_equal(l.entries, 1);
    assert_int_equal(l.compiled, 1700000000);
    hg_db_close(db);
}

static void
test_db_round_trip_with_a_million_entries(void **state)
{
    const size_t    n = 1000000;
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    unsigned char   d[32];
    uint64_t        s = 42;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    uint32_t        id;
    size_t          i, found = 0;

    (void) state;
    id = mklist(b, "big", HG_LIST_BLOCK);
    for (i = 0; i < n; i++) {
        rnd_digest(&s, d, 32);
        e = entry(HG_ALG_SHA256, d);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    db = write_open(b, tpath("big.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_count(db, HG_ALG_SHA256), n);
    /* compact: digests plus under one byte of index per row */
    assert_true(hg_db_file_size(db) <= 1.1 * 32 * n);

    s = 42;
    for (i = 0; i < n; i++) {
        rnd_digest(&s, d, 32);
        if (i % 2) {
            hg_db_prefetch(db, HG_ALG_SHA256, d);   /* same answers either way */
        }
        found += hg_db_lookup(db, HG_ALG_SHA256, d, &hit, 1) == 1;
    }
    assert_int_equal(found, n);
    s = 4242;
    found = 0;
    for (i = 0; i < 100000; i++) {
        rnd_digest(&s, d, 32);
        found += hg_db_lookup(db, HG_ALG_SHA256, d, &hit, 1);
    }
    assert_int_equal(found, 0);
    hg_db_close(db);
}

static void
test_db_lookup_present_and_absent_on_each_algorithm(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    unsigned char   d[32];
    uint64_t        s = 9;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    uint32_t        id;
    int             a, i;

    (void) state;
    id = mklist(b, "mixed", HG_LIST_BLOCK);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        for (i = 0; i < 3000; i++) {
            rnd_digest(&s, d, 32);
            e = entry(a, d);
            assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
        }
    }
    db = write_open(b, tpath("mixed.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_algs(db), HG_ALGS_ALL);
    s = 9;
    for (a = 0; a < HG_ALG_COUNT; a++) {
        assert_int_equal(hg_db_count(db, a), 3000);
        for (i = 0; i < 3000; i++) {
            rnd_digest(&s, d, 32);
            assert_int_equal(hg_db_lookup(db, a, d, &hit, 1), 1);
            /* the same bytes under another algorithm are not there */
            assert_int_equal(hg_db_lookup(db, (a + 1) % HG_ALG_COUNT, d,
                                          &hit, 1), 0);
            d[hg_alg_len(a) - 1] ^= 0x80;
            assert_int_equal(hg_db_lookup(db, a, d, &hit, 1), 0);
        }
    }
    assert_int_equal(hg_db_lookup(db, (hg_alg_t) 7, d, &hit, 1), 0);
    hg_db_close(db);
}

/*
 * Digests sharing long prefixes (not what a hash gives, but a list could
 * hold them): interpolation lands far off, the walk and bisection still
 * find every one.
 */
static void
test_db_lookup_finds_digests_with_shared_prefixes(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    unsigned char   d[32];
    uint64_t        s = 21;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    uint32_t        id;
    int             i;

    (void) state;
    id = mklist(b, "skewed", HG_LIST_BLOCK);
    for (i = 0; i < 20000; i++) {
        rnd_digest(&s, d, 32);
        if (i % 4 != 0) {
            memset(d, 0x42, 6 + i % 5);     /* clusters of shared prefixes */
        }
        e = entry(HG_ALG_SHA1, d);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    db = write_open(b, tpath("skewed.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_count(db, HG_ALG_SHA1), 20000);
    s = 21;
    for (i = 0; i < 20000; i++) {
        rnd_digest(&s, d, 32);
        if (i % 4 != 0) {
            memset(d, 0x42, 6 + i % 5);
        }
        assert_int_equal(hg_db_lookup(db, HG_ALG_SHA1, d, &hit, 1), 1);
        d[19] ^= 0x01;
        assert_int_equal(hg_db_lookup(db, HG_ALG_SHA1, d, &hit, 1), 0);
    }
    hg_db_close(db);
}

static void
test_db_digest_on_several_lists_is_stored_once_and_reports_every_list(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    unsigned char   d[32], other[32];
    uint64_t        s = 3;
    hg_db_hit_t     hits[4];
    hg_entry_t      e;
    hg_db_list_t    l;
    uint32_t        ids[3];
    int             i;

    (void) state;
    rnd_digest(&s, d, 32);
    rnd_digest(&s, other, 32);
    ids[0] = mklist(b, "c", HG_LIST_BLOCK);
    ids[1] = mklist(b, "a", HG_LIST_BLOCK);
    ids[2] = mklist(b, "b", HG_LIST_BLOCK);
    e = entry(HG_ALG_SHA1, d);
    for (i = 2; i >= 0; i--) {
        assert_int_equal(hg_dbb_add(b, ids[i], &e), HG_OK);
        assert_int_equal(hg_dbb_add(b, ids[i], &e), HG_OK);   /* twice */
    }
    e = entry(HG_ALG_SHA1, other);
    assert_int_equal(hg_dbb_add(b, ids[1], &e), HG_OK);
    db = write_open(b, tpath("multi.db"), 0);
    assert_int_equal(hg_db_count(db, HG_ALG_SHA1), 2);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA1, d, hits, 4), 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(hits[i].list, i);
    }
    /* max smaller than the number of lists: count still exact */
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA1, d, hits, 1), 3);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA1, other, hits, 4), 1);
    assert_int_equal(hits[0].list, 1);
    /* lists in first-use order, each counting the shared digest */
    assert_int_equal(hg_db_list(db, 0, &l), HG_OK);
    assert_string_equal(l.name, "c");
    assert_int_equal(l.entries, 1);
    assert_int_equal(hg_db_list(db, 1, &l), HG_OK);
    assert_int_equal(l.entries, 2);
    assert_int_equal(hg_db_find_list(db, "b"), 2);
    assert_int_equal(hg_db_find_list(db, "zz"), -1);
    assert_int_equal(hg_db_list(db, 3, &l), HG_ENOENT);
    hg_db_close(db);
}

static void
test_db_keeps_sizes_and_labels_per_list(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    unsigned char   d[32];
    uint64_t        s = 5;
    hg_db_hit_t     hits[3];
    hg_entry_t      e;
    uint32_t        x, y, z;

    (void) state;
    rnd_digest(&s, d, 32);
    x = mklist(b, "x", HG_LIST_BLOCK);
    y = mklist(b, "y", HG_LIST_BLOCK);
    z = mklist(b, "z", HG_LIST_BLOCK);
    e = entry(HG_ALG_MD5, d);
    e.has_size = 1;
    e.size = 123456;
    e.label = "cat-1 \"quoted\"";
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    e.has_size = 0;
    e.label = "only-label";
    assert_int_equal(hg_dbb_add(b, z, &e), HG_OK);
    e.label = NULL;
    assert_int_equal(hg_dbb_add(b, y, &e), HG_OK);
    /* the same digest again on z: the label sorting first is kept */
    e.label = "another";
    assert_int_equal(hg_dbb_add(b, z, &e), HG_OK);
    db = write_open(b, tpath("extras.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_lookup(db, HG_ALG_MD5, d, hits, 3), 3);
    assert_int_equal(hits[0].list, x);
    assert_true(hits[0].has_size);
    assert_int_equal(hits[0].size, 123456);
    assert_string_equal(hits[0].label, "cat-1 \"quoted\"");
    assert_int_equal(hits[1].list, y);
    assert_false(hits[1].has_size);
    assert_null(hits[1].label);
    assert_int_equal(hits[2].list, z);
    assert_false(hits[2].has_size);
    assert_string_equal(hits[2].label, "another");
    hg_db_close(db);
}

/*
 * Entries of one digest on one list that disagree on the size merge to the
 * entry that matches more: without a size (any size) if one of them has
 * none or two sizes differ; one size only when every entry gives that size.
 * It used to keep the smallest size, so an entry meant to match any size
 * matched only that one. Lists stay apart; the same holds when an update
 * (hg_dbb_load) meets a base entry; load then write is still the identity.
 */
static void
test_db_entry_without_size_wins_over_sized_ones(void **state)
{
    hg_dbb_t       *b = hg_dbb_new(), *re;
    hg_db_t        *db, *db2;
    unsigned char   d[5][32], *p1, *p2;
    uint64_t        s = 77;
    size_t          n1, n2;
    hg_db_hit_t     hits[2];
    hg_entry_t      e;
    hg_err_t        err;
    uint32_t        x, y;
    int             i;

    (void) state;
    for (i = 0; i < 5; i++) {
        rnd_digest(&s, d[i], 32);
    }
    x = mklist(b, "x", HG_LIST_BLOCK);
    y = mklist(b, "y", HG_LIST_BLOCK);
    /* d0: sized, then unsized; d1: unsized, then sized */
    e = entry(HG_ALG_SHA256, d[0]);
    e.has_size = 1;
    e.size = 10;
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    e.has_size = 0;
    e.label = "keep-me";
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    e = entry(HG_ALG_SHA256, d[1]);
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    e.has_size = 1;
    e.size = 10;
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    /* d2: two different sizes */
    e = entry(HG_ALG_SHA256, d[2]);
    e.has_size = 1;
    e.size = 20;
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    e.size = 10;
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    /* d3: the same size twice; and unsized on another list */
    e = entry(HG_ALG_SHA256, d[3]);
    e.has_size = 1;
    e.size = 30;
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    e.has_size = 0;
    assert_int_equal(hg_dbb_add(b, y, &e), HG_OK);
    /* d4: sized only, kept for the update below */
    e = entry(HG_ALG_SHA256, d[4]);
    e.has_size = 1;
    e.size = 40;
    assert_int_equal(hg_dbb_add(b, x, &e), HG_OK);
    db = write_open(b, tpath("sizes.db"), HG_DB_OPEN_VERIFY);

    for (i = 0; i < 3; i++) {
        assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d[i], hits, 2), 1);
        assert_false(hits[0].has_size);
    }
    assert_null(hits[0].label);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d[0], hits, 2), 1);
    assert_string_equal(hits[0].label, "keep-me");
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d[3], hits, 2), 2);
    assert_int_equal(hits[0].list, x);
    assert_true(hits[0].has_size);
    assert_int_equal(hits[0].size, 30);
    assert_int_equal(hits[1].list, y);
    assert_false(hits[1].has_size);

    /* load then write: the same bytes */
    re = hg_dbb_new();
    assert_int_equal(hg_dbb_load(re, db, &err), HG_OK);
    assert_int_equal(hg_dbb_write(re, tpath("sizes2.db"), hg_db_created(db),
                                  &err), HG_OK);
    hg_dbb_free(re);
    p1 = slurp(tpath("sizes.db"), &n1);
    p2 = slurp(tpath("sizes2.db"), &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(p1, p2, n1);
    free(p1);
    free(p2);

    /* an update giving d4 without a size makes it match any size */
    re = hg_dbb_new();
    assert_int_equal(hg_dbb_load(re, db, &err), HG_OK);
    e = entry(HG_ALG_SHA256, d[4]);
    assert_int_equal(hg_dbb_add(re, x, &e), HG_OK);
    db2 = write_open(re, tpath("sizes3.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_lookup(db2, HG_ALG_SHA256, d[4], hits, 2), 1);
    assert_false(hits[0].has_size);
    hg_db_close(db2);
    hg_db_close(db);
}

static void
test_db_keeps_allow_list_kind_version_and_sources(void **state)
{
    hg_dbb_t        *b = hg_dbb_new();
    hg_db_t         *db;
    hg_db_list_t     l;
    hg_db_source_t   src;
    unsigned char    sha1[32], sha2[32];
    uint32_t         id, again;
    hg_err_t         err;

    (void) state;
    memset(sha1, 1, 32);
    memset(sha2, 2, 32);
    assert_int_equal(hg_dbb_list(b, "fp", "v7", HG_LIST_ALLOW, &id, &err), HG_OK);
    assert_int_equal(hg_dbb_list(b, "fp", "v8", HG_LIST_BLOCK, &again, &err),
                     HG_OK);
    assert_int_equal(again, id);
    assert_int_equal(hg_dbb_source(b, id, "one.csv", sha1), HG_OK);
    assert_int_equal(hg_dbb_source(b, id, "two.csv", sha2), HG_OK);
    assert_int_equal(hg_dbb_source(b, id, "one.csv", sha1), HG_OK);  /* kept once */
    assert_int_equal(hg_dbb_source(b, 9, "x", sha1), HG_EINVAL);
    db = write_open(b, tpath("allow.db"), 0);
    assert_int_equal(hg_db_list(db, 0, &l), HG_OK);
    assert_int_equal(l.kind, HG_LIST_ALLOW);
    assert_string_equal(l.version, "v7");
    assert_int_equal(l.nsources, 2);
    assert_int_equal(hg_db_list_source(db, 0, 1, &src), HG_OK);
    assert_string_equal(src.name, "two.csv");
    assert_memory_equal(src.sha256, sha2, 32);
    assert_int_equal(hg_db_list_source(db, 0, 2, &src), HG_ENOENT);
    hg_db_close(db);
}

static void
test_dbb_list_refuses_bad_names_and_too_many_lists(void **state)
{
    hg_dbb_t  *b = hg_dbb_new();
    uint32_t   id;
    hg_err_t   err;
    char       name[80];
    int        i;

    (void) state;
    assert_int_equal(hg_dbb_list(b, "", NULL, 0, &id, &err), HG_EINVAL);
    assert_int_equal(hg_dbb_list(b, "a b", NULL, 0, &id, &err), HG_EINVAL);
    assert_int_equal(hg_dbb_list(b, "a/b", NULL, 0, &id, &err), HG_EINVAL);
    memset(name, 'x', 65);
    name[65] = '\0';
    assert_int_equal(hg_dbb_list(b, name, NULL, 0, &id, &err), HG_EINVAL);
    assert_int_equal(hg_dbb_list(b, "ok", NULL, 2, &id, &err), HG_EINVAL);
    for (i = 0; i < HG_MAX_LISTS; i++) {
        snprintf(name, sizeof(name), "l%d", i);
        assert_int_equal(hg_dbb_list(b, name, NULL, 0, &id, &err), HG_OK);
    }
    assert_int_equal(hg_dbb_list(b, "one-more", NULL, 0, &id, &err), HG_ELIMIT);
    hg_dbb_free(b);
}

static void
test_db_removals_apply_after_all_additions(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    unsigned char   d1[32], d2[32], d3[32];
    uint64_t        s = 11;
    hg_db_hit_t     hits[2];
    hg_entry_t      e;
    hg_db_list_t    l;
    uint32_t        a, c;

    (void) state;
    rnd_digest(&s, d1, 32);
    rnd_digest(&s, d2, 32);
    rnd_digest(&s, d3, 32);
    a = mklist(b, "a", HG_LIST_BLOCK);
    c = mklist(b, "c", HG_LIST_BLOCK);
    /* removal given before the addition still wins */
    e = entry(HG_ALG_SHA256, d1);
    e.remove = 1;
    assert_int_equal(hg_dbb_add(b, a, &e), HG_OK);
    e.remove = 0;
    e.has_size = 1;
    e.size = 9;
    assert_int_equal(hg_dbb_add(b, a, &e), HG_OK);
    e.has_size = 0;
    assert_int_equal(hg_dbb_add(b, c, &e), HG_OK);     /* other list keeps it */
    e = entry(HG_ALG_SHA256, d2);
    assert_int_equal(hg_dbb_add(b, a, &e), HG_OK);
    e.remove = 1;
    assert_int_equal(hg_dbb_add(b, a, &e), HG_OK);     /* d2 gone entirely */
    e = entry(HG_ALG_SHA256, d3);
    e.remove = 1;
    assert_int_equal(hg_dbb_add(b, c, &e), HG_OK);     /* removing the absent */
    e.remove = 0;
    assert_int_equal(hg_dbb_add(b, a, &e), HG_OK);
    db = write_open(b, tpath("rm.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_count(db, HG_ALG_SHA256), 2);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d1, hits, 2), 1);
    assert_int_equal(hits[0].list, c);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d2, hits, 2), 0);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d3, hits, 2), 1);
    assert_int_equal(hits[0].list, a);
    hg_db_list(db, a, &l);
    assert_int_equal(l.entries, 1);
    hg_db_close(db);
}

typedef struct {
    int             n;
    hg_alg_t        last_alg;
    unsigned char   last[32];
    int             labels;
    int             sizes;
    int             stop_at;
} walk_t;

static hg_status_t
walk_cb(void *ctx, uint32_t list, const hg_entry_t *e)
{
    walk_t  *w = ctx;

    (void) list;
    if (w->n > 0 && e->alg == w->last_alg) {
        assert_true(memcmp(w->last, e->digest, hg_alg_len(e->alg)) <= 0);
    }
    assert_true(w->n == 0 || e->alg >= w->last_alg);
    w->last_alg = e->alg;
    memcpy(w->last, e->digest, 32);
    w->labels += e->label != NULL;
    w->sizes += e->has_size;
    w->n++;
    return w->n == w->stop_at ? HG_ECANCEL : HG_OK;
}

static hg_status_t
walk_cb_any(void *ctx, uint32_t list, const hg_entry_t *e)
{
    walk_t  *w = ctx;

    (void) list;
    w->labels += e->label != NULL && strlen(e->label) < (size_t) -1;
    w->n++;
    return HG_OK;
}

static void
test_db_foreach_visits_every_pair_in_digest_order(void **state)
{
    hg_db_t  *db;
    hg_err_t  err;
    walk_t    w;

    (void) state;
    build_rich(tpath("rich.db"));
    assert_int_equal(hg_db_open(tpath("rich.db"), HG_DB_OPEN_VERIFY, &db, &err),
                     HG_OK);
    memset(&w, 0, sizeof(w));
    assert_int_equal(hg_db_foreach(db, walk_cb, &w), HG_OK);
    /* 60 digests, 12 of them also on the allow-list; 12 records of 3 or 2 */
    assert_int_equal(w.n, 72 + 6 * 3 + 6 * 2);
    /* per algorithm: 7 sized + 2 of them also allowed; 5 labelled + 1 */
    assert_int_equal(w.sizes, 3 * (7 + 2));
    assert_int_equal(w.labels, 3 * (5 + 1));
    memset(&w, 0, sizeof(w));
    w.stop_at = 5;
    assert_int_equal(hg_db_foreach(db, walk_cb, &w), HG_ECANCEL);
    assert_int_equal(w.n, 5);
    hg_db_close(db);
}

/* Fill a builder with lists a..c and the entries of seeds [from, to). */
static void
fill(hg_dbb_t *b, int from, int to, int with_lists)
{
    unsigned char   d[32], sha[32];
    uint64_t        s;
    hg_entry_t      e;
    uint32_t        id;
    hg_err_t        err;
    char            lab[16];
    int             i;

    if (with_lists) {
        memset(sha, 0x5a, 32);
        assert_int_equal(hg_dbb_list(b, "a", "1", HG_LIST_BLOCK, &id, &err),
                         HG_OK);
        assert_int_equal(hg_dbb_source(b, id, "a.txt", sha), HG_OK);
        mklist(b, "b", HG_LIST_BLOCK);
        mklist(b, "c", HG_LIST_ALLOW);
    }
    for (i = from; i < to; i++) {
        s = (uint64_t) i + 1000;
        rnd_digest(&s, d, 32);
        e = entry(i % 3, d);
        if (i % 7 == 0) {
            e.has_size = 1;
            e.size = (uint64_t) i;
        }
        if (i % 11 == 0) {
            snprintf(lab, sizeof(lab), "L%d", i % 13);
            e.label = lab;
        }
        if (i % 5 == 0) {
            e.record = (uint64_t) i + 1;
        }
        assert_int_equal(hg_dbb_add(b, (uint32_t) (i % 3), &e), HG_OK);
        if (i % 5 == 0) {
            /* a second digest of the same file, of the next algorithm */
            s = (uint64_t) i + 50000;
            rnd_digest(&s, d, 32);
            e = entry((i + 1) % 3, d);
            e.record = (uint64_t) i + 1;
            assert_int_equal(hg_dbb_add(b, (uint32_t) (i % 3), &e), HG_OK);
        }
        if (i % 4 == 0) {
            s = (uint64_t) i + 1000;
            rnd_digest(&s, d, 32);
            e = entry(i % 3, d);
            assert_int_equal(hg_dbb_add(b, (uint32_t) ((i + 1) % 3), &e), HG_OK);
        }
    }
}

static void
test_db_load_then_write_equals_full_write_byte_for_byte(void **state)
{
    hg_dbb_t       *full = hg_dbb_new(), *base = hg_dbb_new(), *inc;
    hg_db_t        *db;
    unsigned char  *p1, *p2;
    size_t          n1, n2;
    hg_err_t        err;
    unsigned char   d[32];
    uint64_t        s;
    hg_entry_t      e;
    int             i;

    (void) state;
    /* full: entries 0..2000 except those removed below */
    fill(full, 0, 2000, 1);
    for (i = 100; i < 200; i++) {
        s = (uint64_t) i + 1000;
        rnd_digest(&s, d, 32);
        e = entry(i % 3, d);
        e.remove = 1;
        assert_int_equal(hg_dbb_add(full, (uint32_t) (i % 3), &e), HG_OK);
    }
    assert_int_equal(hg_dbb_write(full, tpath("full.db"), 1700000000, &err),
                     HG_OK);
    hg_dbb_free(full);

    /* base: 0..1500, then an update adds 1500..2000 and removes 100..200 */
    fill(base, 0, 1500, 1);
    assert_int_equal(hg_dbb_write(base, tpath("base.db"), 1700000000, &err),
                     HG_OK);
    hg_dbb_free(base);
    assert_int_equal(hg_db_open(tpath("base.db"), 0, &db, &err), HG_OK);
    inc = hg_dbb_new();
    assert_int_equal(hg_dbb_load(inc, db, &err), HG_OK);
    hg_db_close(db);
    fill(inc, 1500, 2000, 0);
    for (i = 100; i < 200; i++) {
        s = (uint64_t) i + 1000;
        rnd_digest(&s, d, 32);
        e = entry(i % 3, d);
        e.remove = 1;
        assert_int_equal(hg_dbb_add(inc, (uint32_t) (i % 3), &e), HG_OK);
    }
    assert_int_equal(hg_dbb_write(inc, tpath("inc.db"), 1700000000, &err), HG_OK);
    hg_dbb_free(inc);

    p1 = slurp(tpath("full.db"), &n1);
    p2 = slurp(tpath("inc.db"), &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(p1, p2, n1);
    free(p1);
    free(p2);
}

/* ---- records: one digest per listed file ---- */

/* A digest of alg made from seed n (a synthetic file's). */
static hg_entry_t
rec_entry(hg_alg_t alg, int n, uint64_t record)
{
    unsigned char  d[32];
    uint64_t       s = (uint64_t) n * 7919 + (uint64_t) alg;
    hg_entry_t     e;

    rnd_digest(&s, d, 32);
    e = entry(alg, d);
    e.record = record;
    return e;
}

/* Add file n to list as a record of the algorithms in mask. */
static void
add_file(hg_dbb_t *b, uint32_t list, int n, unsigned mask, uint64_t record)
{
    hg_entry_t  e;
    int         a;

    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (mask & HG_ALG_BIT(a)) {
            e = rec_entry((hg_alg_t) a, n, record);
            assert_int_equal(hg_dbb_add(b, list, &e), HG_OK);
        }
    }
}

#define MD5     HG_ALG_BIT(HG_ALG_MD5)
#define SHA1    HG_ALG_BIT(HG_ALG_SHA1)
#define SHA256  HG_ALG_BIT(HG_ALG_SHA256)

static void
test_db_cover_picks_the_cheapest_set_that_covers_every_record(void **state)
{
    uint64_t  c[8];

    (void) state;
    memset(c, 0, sizeof(c));
    assert_int_equal(hg_db_cover(c), 0);                /* nothing listed */
    c[MD5 | SHA1] = 1000000;
    assert_int_equal(hg_db_cover(c), SHA1);             /* not MD5 as well */
    c[MD5 | SHA1 | SHA256] = 5;
    assert_int_equal(hg_db_cover(c), SHA1);
    c[SHA256] = 1;                                      /* one SHA-256 line */
    assert_int_equal(hg_db_cover(c), SHA1 | SHA256);
    c[MD5] = 1;                                         /* one MD5-only line */
    assert_int_equal(hg_db_cover(c), MD5 | SHA256);     /* 2560 < MD5+SHA-1+... */
    c[SHA256] = 0;
    assert_int_equal(hg_db_cover(c), MD5);              /* MD5 alone covers all */
    memset(c, 0, sizeof(c));
    c[MD5 | SHA256] = 3;
    assert_int_equal(hg_db_cover(c), SHA256);
    c[SHA1] = 3;
    assert_int_equal(hg_db_cover(c), SHA1 | SHA256);
    /* the order of the model: SHA-1 < SHA-256 < both < MD5 */
    assert_true(hg_db_cover_cost(SHA1) < hg_db_cover_cost(SHA256));
    assert_true(hg_db_cover_cost(SHA256) < hg_db_cover_cost(SHA1 | SHA256));
    assert_true(hg_db_cover_cost(SHA1 | SHA256) < hg_db_cover_cost(MD5));
}

static void
test_db_records_keep_a_files_digests_and_choose_what_a_scan_computes(void **state)
{
    hg_dbb_t      *b = hg_dbb_new();
    hg_db_t       *db;
    hg_db_list_t   l;
    hg_digests_t   dg;
    hg_entry_t     x, y;
    uint32_t       id;
    int            n;

    (void) state;
    id = mklist(b, "hotline", HG_LIST_BLOCK);
    for (n = 0; n < 100; n++) {
        add_file(b, id, n, MD5 | SHA1, (uint64_t) n + 1);
    }
    db = write_open(b, tpath("rec.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_version(db), HG_DB_FORMAT);
    assert_int_equal(hg_db_algs(db), SHA1);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5 | SHA1), 100);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5), 0);
    assert_int_equal(hg_db_list(db, 0, &l), HG_OK);
    assert_int_equal(l.entries, 200);
    assert_int_equal(l.records, 100);
    /* a match through SHA-1 gives the MD5 the list gives with it */
    x = rec_entry(HG_ALG_MD5, 42, 0);
    y = rec_entry(HG_ALG_SHA1, 42, 0);
    assert_int_equal(hg_db_listed(db, HG_ALG_SHA1, y.digest, id, &dg), MD5);
    assert_int_equal(dg.algs, MD5);
    assert_memory_equal(dg.d[HG_ALG_MD5], x.digest, 16);
    assert_int_equal(hg_db_listed(db, HG_ALG_MD5, x.digest, id, &dg), SHA1);
    assert_memory_equal(dg.d[HG_ALG_SHA1], y.digest, 20);
    /* on no other list, and not for a digest of another file */
    assert_int_equal(hg_db_listed(db, HG_ALG_SHA1, y.digest, id + 1, &dg), 0);
    y = rec_entry(HG_ALG_SHA1, 4242, 0);
    assert_int_equal(hg_db_listed(db, HG_ALG_SHA1, y.digest, id, &dg), 0);
    hg_db_close(db);

    /* one MD5-only line (a plain list) forces MD5, which then covers all */
    b = hg_dbb_new();
    id = mklist(b, "hotline", HG_LIST_BLOCK);
    for (n = 0; n < 100; n++) {
        add_file(b, id, n, MD5 | SHA1, (uint64_t) n + 1);
    }
    add_file(b, id, 1000, MD5, 0);
    db = write_open(b, tpath("rec.db"), 0);
    assert_int_equal(hg_db_algs(db), MD5);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5), 1);
    hg_db_close(db);

    /* an MD5-only allow-list entry counts too (see hg_dbb_records) */
    b = hg_dbb_new();
    id = mklist(b, "hotline", HG_LIST_BLOCK);
    add_file(b, id, 1, MD5 | SHA1, 1);
    add_file(b, mklist(b, "ok", HG_LIST_ALLOW), 2, MD5, 0);
    add_file(b, id, 3, SHA256, 0);
    db = write_open(b, tpath("rec.db"), 0);
    assert_int_equal(hg_db_algs(db), MD5 | SHA256);
    assert_int_equal(hg_db_records(db, HG_LIST_ALLOW, MD5), 1);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, SHA256), 1);
    hg_db_close(db);

    /* --all-digests: all three, whatever the records */
    b = hg_dbb_new();
    id = mklist(b, "hotline", HG_LIST_BLOCK);
    add_file(b, id, 1, MD5 | SHA1, 1);
    hg_dbb_set_all_digests(b, 1);
    db = write_open(b, tpath("rec.db"), 0);
    assert_int_equal(hg_db_algs(db), HG_ALGS_ALL);
    assert_int_equal(hg_db_all_digests(db), 1);
    hg_db_close(db);
}

/* Records never join across files (scopes), lists, or entries apart. */
static void
test_db_records_join_only_consecutive_entries_of_one_file_and_list(void **state)
{
    hg_dbb_t      *b = hg_dbb_new();
    hg_db_t       *db;
    hg_digests_t   dg;
    hg_entry_t     e;
    uint32_t       l1, l2;

    (void) state;
    l1 = mklist(b, "one", HG_LIST_BLOCK);
    l2 = mklist(b, "two", HG_LIST_BLOCK);
    add_file(b, l1, 1, MD5, 1);                 /* file 1 of a first list file */
    hg_dbb_record_scope(b);
    add_file(b, l1, 2, SHA1, 1);                /* record 1 of the next: apart */
    e = rec_entry(HG_ALG_MD5, 3, 2);
    assert_int_equal(hg_dbb_add(b, l1, &e), HG_OK);
    e = rec_entry(HG_ALG_SHA1, 3, 2);
    assert_int_equal(hg_dbb_add(b, l2, &e), HG_OK);      /* another list */
    add_file(b, l2, 4, MD5 | SHA256, 9);
    db = write_open(b, tpath("rec2.db"), 0);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5 | SHA1), 0);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5 | SHA256), 1);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5), 2);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, SHA1), 2);
    e = rec_entry(HG_ALG_MD5, 1, 0);
    assert_int_equal(hg_db_listed(db, HG_ALG_MD5, e.digest, l1, &dg), 0);
    e = rec_entry(HG_ALG_SHA256, 4, 0);
    assert_int_equal(hg_db_listed(db, HG_ALG_SHA256, e.digest, l2, &dg), MD5);
    assert_int_equal(hg_db_algs(db), MD5 | SHA1);
    hg_db_close(db);
}

/*
 * Removing one digest of a record removes that digest only: the file's
 * other digest stays listed, and what a scan computes grows to cover it.
 * An update (--base) keeps every record, and equals a full compile.
 */
static void
test_db_removal_of_one_digest_keeps_the_rest_of_its_record_covered(void **state)
{
    hg_dbb_t      *b = hg_dbb_new();
    hg_db_t       *db, *db2;
    hg_db_hit_t    hit;
    hg_digests_t   dg;
    hg_entry_t     e, x;
    uint32_t       id;
    int            n;

    (void) state;
    id = mklist(b, "hotline", HG_LIST_BLOCK);
    for (n = 0; n < 10; n++) {
        add_file(b, id, n, MD5 | SHA1, (uint64_t) n + 1);
    }
    db = write_open(b, tpath("base.db"), 0);
    assert_int_equal(hg_db_algs(db), SHA1);

    /* update: one record's SHA-1 removed, one record added */
    b = hg_dbb_new();
    assert_int_equal(hg_dbb_load(b, db, NULL), HG_OK);
    hg_db_close(db);
    hg_dbb_record_scope(b);
    e = rec_entry(HG_ALG_SHA1, 3, 0);
    e.remove = 1;
    assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    add_file(b, id, 10, MD5 | SHA1, 1);
    db = write_open(b, tpath("upd.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5 | SHA1), 10);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5), 1);
    assert_int_equal(hg_db_algs(db), MD5);
    x = rec_entry(HG_ALG_MD5, 3, 0);
    assert_int_equal(hg_db_lookup(db, HG_ALG_MD5, x.digest, &hit, 1), 1);
    assert_int_equal(hg_db_listed(db, HG_ALG_MD5, x.digest, id, &dg), 0);
    x = rec_entry(HG_ALG_MD5, 4, 0);
    assert_int_equal(hg_db_listed(db, HG_ALG_MD5, x.digest, id, &dg), SHA1);
    e = rec_entry(HG_ALG_SHA1, 10, 0);
    assert_int_equal(hg_db_listed(db, HG_ALG_SHA1, e.digest, id, &dg), MD5);

    /* the same content compiled at once gives the same bytes */
    b = hg_dbb_new();
    id = mklist(b, "hotline", HG_LIST_BLOCK);
    for (n = 0; n <= 10; n++) {
        add_file(b, id, n, MD5 | SHA1, (uint64_t) n + 1);
    }
    e = rec_entry(HG_ALG_SHA1, 3, 0);
    e.remove = 1;
    assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    db2 = write_open(b, tpath("full.db"), 0);
    assert_int_equal(hg_db_file_size(db), hg_db_file_size(db2));
    hg_db_close(db);
    hg_db_close(db2);
    {
        size_t          n1, n2;
        unsigned char  *p1 = slurp(tpath("upd.db"), &n1);
        unsigned char  *p2 = slurp(tpath("full.db"), &n2);

        assert_int_equal(n1, n2);
        assert_memory_equal(p1, p2, n1);
        free(p1);
        free(p2);
    }
}

/*
 * A version-1 database (no records, no stored choice) still opens: each
 * entry is its own record and a scan computes every algorithm with a
 * digest. Made here by turning a version-2 file without records back into
 * what version 1 wrote: the same sections, the new header fields zero.
 */
static void
test_db_version_1_file_still_opens_each_entry_its_own_record(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    hg_db_list_t    l;
    hg_db_hit_t     hit;
    hg_digests_t    dg;
    hg_entry_t      e;
    unsigned char  *p;
    size_t          n;
    uint32_t        id;
    int             a;

    (void) state;
    id = mklist(b, "old", HG_LIST_BLOCK);
    add_file(b, id, 1, MD5, 0);
    add_file(b, id, 2, SHA1, 0);
    hg_dbb_set_format(b, 2);
    hg_db_close(write_open(b, tpath("v2.db"), 0));
    p = slurp(tpath("v2.db"), &n);
    hg_put32(p + HDR_FORMAT, 1);
    memset(p + 80, 0, 48);
    memset(p + HDR_RESERVED_AT, 0, HG_DB_HEADER_SIZE - HDR_RESERVED_AT);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        memset(p + HDR_ALG(a) + ALG_NLINKS, 0, 8);
    }
    memset(p + HG_DB_HEADER_SIZE + LIST_RECORDS, 0, 8);
    {
        EVP_MD_CTX  *c = EVP_MD_CTX_new();

        assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
        EVP_DigestUpdate(c, p + HG_DB_HEADER_SIZE, n - HG_DB_HEADER_SIZE);
        EVP_DigestFinal_ex(c, p + HDR_FILE_SHA256, NULL);
        EVP_MD_CTX_free(c);
    }
    reseal(p, n);
    spit(tpath("v1.db"), p, n);
    free(p);
    assert_int_equal(hg_db_open(tpath("v1.db"), HG_DB_OPEN_VERIFY, &db, NULL),
                     HG_OK);
    assert_int_equal(hg_db_version(db), 1);
    assert_int_equal(hg_db_algs(db), MD5 | SHA1);
    assert_int_equal(hg_db_records(db, HG_LIST_BLOCK, MD5), 0);
    assert_int_equal(hg_db_list(db, 0, &l), HG_OK);
    assert_int_equal(l.records, 2);
    e = rec_entry(HG_ALG_SHA1, 2, 0);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA1, e.digest, &hit, 1), 1);
    assert_int_equal(hg_db_listed(db, HG_ALG_SHA1, e.digest, 0, &dg), 0);
    hg_db_close(db);
}

static void
test_db_open_refuses_truncated_file(void **state)
{
    unsigned char  *p;
    size_t          n, len, end;
    const char     *cut = tpath("cut.db");

    (void) state;
    build_rich(tpath("trunc-src.db"));
    p = slurp(tpath("trunc-src.db"), &n);
    end = meta_end(p);
    assert_true(end < n);
    /* every byte of header and metadata, then a sample of the data */
    for (len = 0; len < n; len += len < end ? 1 : 37) {
        spit(cut, p, len);
        assert_refused(cut, "truncated");
    }
    spit(cut, p, n - 1);
    assert_refused(cut, "one byte short");
    free(p);
}

static void
test_db_open_refuses_bit_flips_in_header_and_metadata(void **state)
{
    unsigned char  *p;
    size_t          n, i, end;
    const char     *bad = tpath("flip.db");
    int             bit;

    (void) state;
    build_rich(tpath("flip-src.db"));
    p = slurp(tpath("flip-src.db"), &n);
    end = meta_end(p);
    for (i = 0; i < end; i++) {
        /* the signature block is outside the checksums: test_db_sign.c */
        if (hg_le32(p + HDR_FORMAT) >= 3 && i >= HDR_SIG_AT
            && i < HDR_SIG_AT + HDR_SIG_LEN)
        {
            continue;
        }
        for (bit = 0; bit < 8; bit++) {
            p[i] ^= (unsigned char) (1 << bit);
            spit(bad, p, n);
            assert_refused(bad, "bit flip");
            p[i] ^= (unsigned char) (1 << bit);
        }
    }
    free(p);
}

static void
test_db_verify_refuses_bit_flips_anywhere(void **state)
{
    unsigned char  *p, d[32];
    size_t          n, i;
    const char     *bad = tpath("vflip.db");
    hg_db_t        *db;
    hg_db_hit_t     hits[4];
    hg_err_t        err;
    uint64_t        s = 99;
    walk_t          w;
    int             k;

    (void) state;
    build_rich(tpath("vflip-src.db"));
    p = slurp(tpath("vflip-src.db"), &n);
    for (i = 0; i < n; i++) {
        /* the signature block is outside the checksums: test_db_sign.c */
        if (hg_le32(p + HDR_FORMAT) >= 3 && i >= HDR_SIG_AT
            && i < HDR_SIG_AT + HDR_SIG_LEN)
        {
            continue;
        }
        p[i] ^= (unsigned char) (1 << (i % 8));
        spit(bad, p, n);
        assert_int_not_equal(hg_db_open(bad, HG_DB_OPEN_VERIFY, &db, &err), HG_OK);
        if (hg_db_open(bad, 0, &db, &err) == HG_OK) {
            assert_true(i >= meta_end(p));
            assert_int_equal(hg_db_verify(db, &err), HG_EFORMAT);
            assert_non_null(strstr(err.msg, "checksum"));
            /* wrong answers are allowed, reads outside the file are not */
            for (k = 0; k < 20; k++) {
                rnd_digest(&s, d, 32);
                (void) hg_db_lookup(db, k % 3, d, hits, 4);
            }
            memset(&w, 0, sizeof(w));
            (void) hg_db_foreach(db, walk_cb_any, &w);
            hg_db_close(db);
        }
        p[i] ^= (unsigned char) (1 << (i % 8));
    }
    free(p);
}

/* Recompute the header checksum after a deliberate edit (a hostile writer). */
static void
reseal(unsigned char *p, size_t n)
{
    uint64_t      ml = hg_le64(p + HDR_META_LEN);
    EVP_MD_CTX   *c = EVP_MD_CTX_new();
    unsigned char hdr[HG_DB_HEADER_MAX];
    uint32_t      hs = hg_db_header_size(hg_le32(p + HDR_FORMAT));

    if (hs > n || ml > n - hs) {
        EVP_MD_CTX_free(c);
        return;
    }
    memcpy(hdr, p, hs);
    memset(hdr + HDR_META_SHA256, 0, 32);
    if (hs > HDR_SIG_AT) {
        memset(hdr + HDR_SIG_AT, 0, HDR_SIG_LEN);
    }
    assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    EVP_DigestUpdate(c, hdr, hs);
    EVP_DigestUpdate(c, p + hs, ml);
    EVP_DigestFinal_ex(c, p + HDR_META_SHA256, NULL);
    EVP_MD_CTX_free(c);
}

enum { F32, F64, F16 };

/* One hostile edit: set the field at off (width) to v, reseal, expect refusal. */
static void
hostile(const unsigned char *orig, size_t n, size_t off, int width, uint64_t v,
        const char *what)
{
    unsigned char  *p = malloc(n);
    const char     *bad = tpath("hostile.db");

    assert_non_null(p);
    memcpy(p, orig, n);
    if (width == F32) {
        hg_put32(p + off, (uint32_t) v);
    } else if (width == F64) {
        hg_put64(p + off, v);
    } else {
        hg_put16(p + off, (uint16_t) v);
    }
    reseal(p, n);
    spit(bad, p, n);
    assert_refused(bad, what);
    free(p);
}

static void
test_db_open_refuses_hostile_headers(void **state)
{
    unsigned char  *p;
    size_t          n, members, strings, lists = HG_DB_HEADER_SIZE_V3;
    uint64_t        ml, sl, a2 = HDR_ALG(2);
    hg_db_t        *db;
    hg_err_t        err;
    uint32_t        nl, ns, nsets;

    (void) state;
    build_rich(tpath("h-src.db"));
    p = slurp(tpath("h-src.db"), &n);
    /* the resealed, unmodified file is fine: the edits below are the cause */
    reseal(p, n);
    spit(tpath("h-ok.db"), p, n);
    assert_int_equal(hg_db_open(tpath("h-ok.db"), HG_DB_OPEN_VERIFY, &db, &err),
                     HG_OK);
    hg_db_close(db);

    ml = hg_le64(p + HDR_META_LEN);
    sl = hg_le64(p + HDR_STRINGS_LEN);
    nl = hg_le32(p + HDR_NLISTS);
    ns = hg_le32(p + HDR_NSOURCES);
    nsets = hg_le32(p + HDR_NSETS);
    strings = lists + ml - (uint64_t) nl * LPDQ_REC - hg_db_align(sl);
    members = lists + hg_db_align(nl * LIST_REC);
    members = hg_db_align(members + ns * SOURCE_REC);
    members = hg_db_align(members + nsets * SET_REC);

    hostile(p, n, HDR_MAGIC, F32, 0x42444749, "bad magic");
    hostile(p, n, HDR_FORMAT, F32, HG_DB_FORMAT + 1, "future format");
    hostile(p, n, HDR_FORMAT, F32, 0, "format 0");
    hostile(p, n, HDR_SCAN_ALGS, F32, 8, "unknown algorithm to compute");
    hostile(p, n, HDR_FLAGS, F32, 4, "unknown flag");
    hostile(p, n, HDR_NRECORDS, F64, (uint64_t) 1 << 60, "records overflow");
    hostile(p, n, HDR_RECORDS_OFF, F64, hg_le64(p + HDR_RECORDS_OFF) + 8,
            "records moved");
    hostile(p, n, HDR_LINKS_OFF(1), F64, hg_le64(p + HDR_LINKS_OFF(1)) + 8,
            "links moved");
    hostile(p, n, HDR_HEADER_SIZE, F32, 4096, "header size");
    hostile(p, n, HDR_FILE_SIZE, F64, n + 8, "file size says longer");
    hostile(p, n, HDR_FILE_SIZE, F64, UINT64_MAX, "file size huge");
    hostile(p, n, HDR_META_LEN, F64, UINT64_MAX, "metadata length huge");
    hostile(p, n, HDR_META_LEN, F64, ml + 8, "metadata length off by 8");
    hostile(p, n, HDR_NLISTS, F32, UINT32_MAX, "huge list count");
    hostile(p, n, HDR_NLISTS, F32, nl + 1, "one list too many");
    hostile(p, n, HDR_NSOURCES, F32, UINT32_MAX, "huge source count");
    hostile(p, n, HDR_NSETS, F32, 0x7fffffff, "huge set count");
    hostile(p, n, HDR_NMEMBERS, F32, hg_le32(p + HDR_NMEMBERS) + 1, "members");
    hostile(p, n, HDR_STRINGS_LEN, F64, sl + 8, "strings length");
    hostile(p, n, HDR_STRINGS_LEN, F64, UINT64_MAX - 3, "strings overflow");
    hostile(p, n, HDR_LABELS_OFF, F64, UINT64_MAX - 7, "labels offset wraps");
    hostile(p, n, HDR_LABELS_LEN, F64, UINT64_MAX, "labels length huge");
    hostile(p, n, HDR_LABELS_LEN, F64, hg_le64(p + HDR_LABELS_LEN) + 8,
            "labels past the end");
    hostile(p, n, a2 + ALG_COUNT, F64, (uint64_t) 1 << 40, "huge row count");
    hostile(p, n, a2 + ALG_COUNT, F64, hg_le64(p + a2 + ALG_COUNT) + 1,
            "one row more");
    hostile(p, n, a2 + ALG_BUCKET_BITS, F32, 31, "bucket bits 31");
    hostile(p, n, a2 + ALG_BUCKET_BITS, F32, 27, "bucket index past the end");
    hostile(p, n, a2 + ALG_SETW, F32, 3, "set width 3");
    hostile(p, n, a2 + ALG_SETW, F32, 0, "set width 0 with extras");
    hostile(p, n, a2 + ALG_DIGESTS_OFF, F64, hg_le64(p + a2 + ALG_BUCKETS_OFF),
            "digests overlap buckets");
    hostile(p, n, a2 + ALG_SETIDX_OFF, F64, hg_le64(p + a2 + ALG_SETIDX_OFF) + 8,
            "set index moved");
    hostile(p, n, a2 + ALG_EXTRAS_OFF, F64, n + 8, "extras past the end");
    hostile(p, n, a2 + ALG_NEXTRAS, F64, (uint64_t) 1 << 60, "extras overflow");
    hostile(p, n, a2 + ALG_NLINKS, F64, (uint64_t) 1 << 60, "links overflow");
    hostile(p, n, HDR_RECORD_COUNT(1, 0), F32, 1, "reserved header byte");
    hostile(p, n, HDR_V5_RESERVED_AT + 8, F32, 1, "reserved byte after the filters");
    hostile(p, n, HDR_ALG_ROWS(2), F64, hg_le64(p + a2 + ALG_COUNT) + 1,
            "more digests than slots");
    hostile(p, n, HDR_ALG_ROWS(2), F64, 0, "slots but no digests");
    hostile(p, n, HDR_ALG_HOME(2), F64, 0, "no home range");
    hostile(p, n, HDR_ALG_BASE(2), F64, hg_le64(p + HDR_ALG_HOME(2)),
            "base past the home range");
    hostile(p, n, HDR_FILTER_BLOCKS(2), F64, 0, "no filter for the digests");
    hostile(p, n, HDR_FILTER_BLOCKS(2), F64, (uint64_t) 1 << 40,
            "filter past the end");
    hostile(p, n, HDR_FILTER_OFF(2), F64, hg_le64(p + HDR_FILTER_OFF(2)) + 64,
            "filter moved");
    hostile(p, n, lists + LIST_NAME, F32, (uint32_t) sl + 5, "name outside strings");
    hostile(p, n, lists + LIST_VERSION, F32, UINT32_MAX, "version outside strings");
    hostile(p, n, lists + LIST_KIND, F32, 7, "unknown kind");
    hostile(p, n, lists + LIST_FIRST_SOURCE, F32, 1, "sources not in order");
    hostile(p, n, lists + LIST_NSOURCES, F32, UINT32_MAX, "source count huge");
    hostile(p, n, members, F16, nl, "set member is not a list");
    hostile(p, n, lists + hg_db_align(nl * LIST_REC)
            + hg_db_align(ns * SOURCE_REC) + SET_COUNT, F32, 0, "empty set");
    hostile(p, n, strings + sl - 4, F32, 0x41414141, "strings not terminated");
    hostile(p, n, strings + hg_le32(p + lists + LIST_NAME), F16, 0x2f2f,
            "bad list name");
    /* in the data region: not covered by the header checksum */
    hostile(p, n, hg_le64(p + HDR_LABELS_OFF) + hg_le64(p + HDR_LABELS_LEN) - 1,
            F16, 0x41, "labels not terminated");
    hostile(p, n, hg_le64(p + a2 + ALG_BUCKETS_OFF), F32, 1, "first bucket");
    hostile(p, n, hg_le64(p + a2 + ALG_BUCKETS_OFF) + 4, F32, UINT32_MAX,
            "bucket bounds decrease");
    free(p);
}

/*
 * Format 4's filter: every stored digest passes it (so every one is
 * found), and most absent digests stop at it. 50,000 SHA-256 and 20,000
 * MD5 digests; 100,000 absent ones of each kind.
 */
static void
test_db_filter_keeps_every_digest_and_stops_most_absent_ones(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    unsigned char   d[32];
    uint64_t        s = 4242, pass, r;
    uint32_t        id;
    hg_err_t        err;
    const hg_alg_t  algs[2] = { HG_ALG_SHA256, HG_ALG_MD5 };
    const uint64_t  rows[2] = { 50000, 20000 };
    int             k;

    (void) state;
    id = mklist(b, "f", HG_LIST_BLOCK);
    for (k = 0; k < 2; k++) {
        for (r = 0; r < rows[k]; r++) {
            rnd_digest(&s, d, 32);
            e = entry(algs[k], d);
            assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
        }
    }
    db = write_open(b, tpath("filter.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_version(db), HG_DB_FORMAT);
    s = 4242;
    for (k = 0; k < 2; k++) {
        const hg_db_alg_t  *al = &db->alg[algs[k]];

        assert_non_null(al->filter);
        assert_int_equal(al->fblocks, hg_db_filter_blocks_for(rows[k]));
        for (r = 0; r < rows[k]; r++) {
            rnd_digest(&s, d, 32);
            assert_int_equal(hg_db_lookup(db, algs[k], d, &hit, 1), 1);
        }
    }
    for (k = 0; k < 2; k++) {
        const hg_db_alg_t  *al = &db->alg[algs[k]];

        for (pass = 0, r = 0; r < 100000; r++) {
            rnd_digest(&s, d, 32);
            assert_int_equal(hg_db_lookup(db, algs[k], d, &hit, 1), 0);
            pass += hg_db_filter_has(al->filter + HG_DB_FILTER_BLOCK
                                     * hg_db_filter_block(d, al->fblocks),
                                     hg_db_filter_key(d));
        }
        /* 10 bits and 7 probes a digest: about 1 % */
        if (pass < 100 || pass > 2500) {
            fail_msg("%s: %llu of 100000 absent digests pass the filter",
                     hg_alg_name(algs[k]), (unsigned long long) pass);
        }
    }
    assert_null(db->alg[HG_ALG_SHA1].filter);
    assert_int_equal(db->alg[HG_ALG_SHA1].fblocks, 0);
    assert_int_equal(hg_db_verify(db, &err), HG_OK);
    hg_db_close(db);
}

/* The SHA-256 of bytes hs.. into the header, as the writer does. */
static void
reseal_file(unsigned char *p, size_t n)
{
    uint32_t     hs = hg_le32(p + HDR_HEADER_SIZE);
    EVP_MD_CTX  *c = EVP_MD_CTX_new();

    assert_non_null(c);
    assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    EVP_DigestUpdate(c, p + hs, n - hs);
    EVP_DigestFinal_ex(c, p + HDR_FILE_SHA256, NULL);
    EVP_MD_CTX_free(c);
    reseal(p, n);
}

/*
 * A filter that lost a digest's bits makes lookups call the digest absent;
 * the checksums, resealed, cannot see it, so verification checks the
 * filter against every digest and names the one missing.
 */
static void
test_db_verify_finds_a_digest_missing_from_the_filter(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    unsigned char   d[32], *p;
    uint64_t        s = 99, fo, nb, blk, r;
    uint32_t        id;
    hg_err_t        err;
    size_t          n;

    (void) state;
    id = mklist(b, "f", HG_LIST_BLOCK);
    for (r = 0; r < 1000; r++) {
        rnd_digest(&s, d, 32);
        e = entry(HG_ALG_SHA256, d);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    db = write_open(b, tpath("fmiss.db"), 0);
    hg_db_close(db);
    p = slurp(tpath("fmiss.db"), &n);
    fo = hg_le64(p + HDR_FILTER_OFF(HG_ALG_SHA256));
    nb = hg_le64(p + HDR_FILTER_BLOCKS(HG_ALG_SHA256));
    /* the first stored digest's block, emptied */
    memcpy(d, p + hg_le64(p + HDR_ALG(HG_ALG_SHA256) + ALG_DIGESTS_OFF), 32);
    blk = hg_db_filter_block(d, nb);
    memset(p + fo + blk * HG_DB_FILTER_BLOCK, 0, HG_DB_FILTER_BLOCK);
    reseal_file(p, n);
    spit(tpath("fmiss2.db"), p, n);
    free(p);
    assert_int_equal(hg_db_open(tpath("fmiss2.db"), 0, &db, &err), HG_OK);
    assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d, &hit, 1), 0);
    assert_int_equal(hg_db_verify(db, &err), HG_EFORMAT);
    assert_non_null(strstr(err.msg, "sha256: digest 0 is missing from the filter"));
    hg_db_close(db);
    assert_int_equal(hg_db_open(tpath("fmiss2.db"), HG_DB_OPEN_VERIFY, &db,
                                &err), HG_EFORMAT);
}

/* The entries hg_db_foreach gives, counted. */
static hg_status_t
count_entry(void *ctx, uint32_t list, const hg_entry_t *e)
{
    (void) list;
    (void) e;
    ++*(uint64_t *) ctx;
    return HG_OK;
}

/*
 * Format 5: each digest table is key-addressed. Every digest is found
 * from its home, the free slots are not entries, and the table costs at
 * most the writer's slack in slots. 30,000 SHA-256, 20,000 SHA-1 and
 * 10,000 MD5 digests; as many absent ones.
 */
static void
test_db_keyed_tables_find_every_digest_from_its_home(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    unsigned char   d[32];
    uint64_t        s = 515, r, n = 0, rows[3] = { 10000, 20000, 30000 };
    uint32_t        id;
    int             a;

    (void) state;
    id = mklist(b, "k", HG_LIST_BLOCK);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        for (r = 0; r < rows[a]; r++) {
            rnd_digest(&s, d, 32);
            e = entry(a, d);
            assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
        }
    }
    db = write_open(b, tpath("keyed.db"), HG_DB_OPEN_VERIFY);
    assert_true(hg_db_version(db) >= 5);
    s = 515;
    for (a = 0; a < HG_ALG_COUNT; a++) {
        const hg_db_alg_t  *al = &db->alg[a];

        assert_int_equal(hg_db_count(db, (hg_alg_t) a), rows[a]);
        assert_int_equal(al->home, rows[a] + rows[a] / HG_DB_HOME_SLACK);
        assert_true(al->count > rows[a]);
        assert_true(al->count <= rows[a] + rows[a] / HG_DB_HOME_SLACK + 200);
        for (r = 0; r < rows[a]; r++) {
            rnd_digest(&s, d, 32);
            assert_int_equal(hg_db_lookup(db, (hg_alg_t) a, d, &hit, 1), 1);
            assert_int_equal(hit.list, id);
        }
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        for (r = 0; r < rows[a]; r++) {
            rnd_digest(&s, d, 32);
            assert_int_equal(hg_db_lookup(db, (hg_alg_t) a, d, &hit, 1), 0);
        }
    }
    assert_int_equal(hg_db_foreach(db, count_entry, &n), HG_OK);
    assert_int_equal(n, rows[0] + rows[1] + rows[2]);
    hg_db_close(db);
}

/*
 * Digests crowded into a few homes (a skewed list: 3,000 sharing their
 * first 7 bytes) sit far past their homes; lookups walk, then bisect,
 * and still find each of them and nothing between them.
 */
static void
test_db_keyed_table_with_crowded_homes(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    unsigned char   d[32];
    uint64_t        s = 77;
    uint32_t        id;
    hg_err_t        err;
    int             i;

    (void) state;
    id = mklist(b, "crowd", HG_LIST_BLOCK);
    for (i = 0; i < 3000; i++) {
        memset(d, 0x5a, 7);
        d[7] = (unsigned char) (i % 7);
        rnd_digest(&s, d + 8, 24);
        d[8] = (unsigned char) (2 * (i / 7));   /* even: listed */
        e = entry(HG_ALG_SHA256, d);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    for (i = 0; i < 1000; i++) {
        rnd_digest(&s, d, 32);
        e = entry(HG_ALG_SHA256, d);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    db = write_open(b, tpath("crowd.db"), HG_DB_OPEN_VERIFY);
    assert_int_equal(hg_db_verify(db, &err), HG_OK);
    s = 77;
    for (i = 0; i < 3000; i++) {
        memset(d, 0x5a, 7);
        d[7] = (unsigned char) (i % 7);
        rnd_digest(&s, d + 8, 24);
        d[8] = (unsigned char) (2 * (i / 7));
        assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d, &hit, 1), 1);
        d[8] |= 1;                              /* odd: between them */
        assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d, &hit, 1), 0);
    }
    for (i = 0; i < 1000; i++) {
        rnd_digest(&s, d, 32);
        assert_int_equal(hg_db_lookup(db, HG_ALG_SHA256, d, &hit, 1), 1);
    }
    hg_db_close(db);
}

/*
 * A keyed table whose rows are out of order, or before their homes, makes
 * lookups miss them; the checksums, resealed, cannot see it, so
 * verification walks the slots and names the first wrong one.
 */
static void
test_db_verify_refuses_a_keyed_table_out_of_place(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_db_t        *db;
    hg_entry_t      e;
    unsigned char   d[32], t[32], *p, *q;
    uint64_t        s = 31, r, doff, slots;
    uint32_t        id;
    hg_err_t        err;
    size_t          n;

    (void) state;
    id = mklist(b, "v", HG_LIST_BLOCK);
    for (r = 0; r < 2000; r++) {
        rnd_digest(&s, d, 32);
        e = entry(HG_ALG_SHA256, d);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    hg_db_close(write_open(b, tpath("place.db"), 0));
    p = slurp(tpath("place.db"), &n);
    doff = hg_le64(p + HDR_ALG(HG_ALG_SHA256) + ALG_DIGESTS_OFF);
    slots = hg_le64(p + HDR_ALG(HG_ALG_SHA256) + ALG_COUNT);

    /* the last two slots swapped (distinct: the last slot is a row) */
    q = malloc(n);
    assert_non_null(q);
    memcpy(q, p, n);
    memcpy(t, q + doff + (slots - 2) * 32, 32);
    assert_true(memcmp(t, q + doff + (slots - 1) * 32, 32) < 0);
    memcpy(q + doff + (slots - 2) * 32, q + doff + (slots - 1) * 32, 32);
    memcpy(q + doff + (slots - 1) * 32, t, 32);
    reseal_file(q, n);
    spit(tpath("place2.db"), q, n);
    assert_int_equal(hg_db_open(tpath("place2.db"), 0, &db, &err), HG_OK);
    assert_int_equal(hg_db_verify(db, &err), HG_EFORMAT);
    assert_non_null(strstr(err.msg, "out of order"));
    hg_db_close(db);

    /* homes moved past their rows: a home range twice as wide */
    memcpy(q, p, n);
    hg_put64(q + HDR_ALG_HOME(HG_ALG_SHA256),
             2 * hg_le64(q + HDR_ALG_HOME(HG_ALG_SHA256)));
    reseal_file(q, n);
    spit(tpath("place3.db"), q, n);
    assert_int_equal(hg_db_open(tpath("place3.db"), 0, &db, &err), HG_OK);
    assert_int_equal(hg_db_verify(db, &err), HG_EFORMAT);
    assert_non_null(strstr(err.msg, "before its home"));
    hg_db_close(db);
    assert_int_equal(hg_db_open(tpath("place3.db"), HG_DB_OPEN_VERIFY, &db,
                                &err), HG_EFORMAT);
    free(q);
    free(p);
}

static void
lookups_and_walk(hg_db_t *db, const unsigned char *p, uint64_t *s)
{
    unsigned char  d[32];
    hg_db_hit_t    hits[4];
    hg_digests_t   dg;
    uint64_t       bo, cnt;
    walk_t         w;
    size_t         i;
    int            a;

    for (i = 0; i < 2000; i++) {
        rnd_digest(s, d, 32);
        a = (int) (i % 3);
        cnt = hg_le64(p + HDR_ALG(a));
        if (i % 2 && cnt > 0) {
            /* a digest stored in the garbage: reaches the set index */
            bo = hg_le64(p + HDR_ALG(a) + ALG_DIGESTS_OFF);
            memcpy(d, p + bo + (i % cnt) * hg_alg_len(a), hg_alg_len(a));
        }
        (void) hg_db_lookup(db, (hg_alg_t) a, d, hits, 4);
        (void) hg_db_listed(db, (hg_alg_t) a, d, (uint32_t) (i % 4), &dg);
    }
    memset(&w, 0, sizeof(w));
    (void) hg_db_foreach(db, walk_cb_any, &w);
}

/*
 * Garbage in every data section open does not read whole (digests, set
 * index, extras, labels): lookups give wrong answers, never reads outside
 * the mapping (the ASan build checks that). Then garbage written into the
 * bucket index in place, under a live mapping, after open validated it.
 */
static void
test_db_open_refuses_bucket_index_that_decreases(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    unsigned char  *p, d[32];
    uint64_t        s = 8, bo;
    hg_entry_t      e;
    hg_db_t        *db;
    hg_err_t        err;
    uint32_t        id;
    size_t          n;
    int             i;

    (void) state;
    id = mklist(b, "x", HG_LIST_BLOCK);
    for (i = 0; i < 4000; i++) {
        rnd_digest(&s, d, 32);
        e = entry(HG_ALG_SHA256, d);
        hg_dbb_add(b, id, &e);
    }
    hg_dbb_set_format(b, 4);    /* format 5 reads no bucket index */
    hg_db_close(write_open(b, tpath("mono.db"), 0));
    p = slurp(tpath("mono.db"), &n);
    assert_true(hg_le32(p + HDR_ALG(2) + ALG_BUCKET_BITS) >= 2);
    bo = hg_le64(p + HDR_ALG(2) + ALG_BUCKETS_OFF);
    hg_put32(p + bo + 4, 3999);             /* bucket 1 starts past bucket 2 */
    spit(tpath("mono.db"), p, n);           /* data region: no checksum to redo */
    assert_int_equal(hg_db_open(tpath("mono.db"), 0, &db, &err), HG_EFORMAT);
    assert_non_null(strstr(err.msg, "bucket index decreases at bucket 2"));
    free(p);
}

static void
test_db_lookup_never_reads_outside_a_file_with_garbage_data(void **state)
{
    unsigned char  *p, *orig, junk[4096];
    size_t          n, i, end;
    hg_db_t        *db;
    hg_err_t        err;
    uint64_t        s = 123, bo, bl;
    int             a, round, fd;
    const char     *path = tpath("garbage.db");

    (void) state;
    build_rich(tpath("g-src.db"));
    orig = slurp(tpath("g-src.db"), &n);
    p = malloc(n);
    assert_non_null(p);
    end = meta_end(orig);
    for (round = 0; round < 20; round++) {
        memcpy(p, orig, n);
        for (i = end; i < n; i++) {
            p[i] = (unsigned char) rnd(&s);
        }
        /* keep what open reads whole: the bucket index, label termination */
        for (a = 0; a < HG_ALG_COUNT; a++) {
            bo = hg_le64(p + HDR_ALG(a) + ALG_BUCKETS_OFF);
            bl = hg_db_buckets_len(hg_le32(p + HDR_ALG(a) + ALG_BUCKET_BITS));
            memcpy(p + bo, orig + bo, bl);
        }
        p[hg_le64(p + HDR_LABELS_OFF) + hg_le64(p + HDR_LABELS_LEN) - 1] = 0;
        spit(path, p, n);
        assert_int_equal(hg_db_open(path, 0, &db, &err), HG_OK);
        assert_int_equal(hg_db_verify(db, &err), HG_EFORMAT);
        lookups_and_walk(db, p, &s);

        /* now the index itself, changed in place under the mapping */
        fd = open(path, O_WRONLY);
        assert_true(fd >= 0);
        for (a = 0; a < HG_ALG_COUNT; a++) {
            bo = hg_le64(p + HDR_ALG(a) + ALG_BUCKETS_OFF);
            bl = hg_db_buckets_len(hg_le32(p + HDR_ALG(a) + ALG_BUCKET_BITS));
            for (i = 0; i < bl && i < sizeof(junk); i++) {
                junk[i] = (unsigned char) rnd(&s);
            }
            assert_int_equal(pwrite(fd, junk, bl < sizeof(junk) ? bl : sizeof(junk),
                                    (off_t) bo), (ssize_t) (bl < sizeof(junk) ? bl : sizeof(junk)));
        }
        close(fd);
        lookups_and_walk(db, p, &s);
        hg_db_close(db);
    }
    free(p);
    free(orig);
}

static void
test_db_reference_keeps_mapping_after_path_is_replaced(void **state)
{
    hg_dbb_t       *b;
    hg_db_t        *old, *cur, *neu;
    unsigned char   d1[32], d2[32];
    uint64_t        s = 77;
    hg_db_hit_t     hit;
    hg_entry_t      e;
    hg_err_t        err;
    const char     *path = tpath("live.db");

    (void) state;
    rnd_digest(&s, d1, 32);
    rnd_digest(&s, d2, 32);
    b = hg_dbb_new();
    e = entry(HG_ALG_SHA256, d1);
    hg_dbb_add(b, mklist(b, "old", HG_LIST_BLOCK), &e);
    old = write_open(b, path, 0);
    cur = hg_db_ref(old);
    assert_ptr_equal(cur, old);

    b = hg_dbb_new();
    e = entry(HG_ALG_SHA256, d2);
    hg_dbb_add(b, mklist(b, "new", HG_LIST_BLOCK), &e);
    assert_int_equal(hg_dbb_write(b, path, 1700000001, &err), HG_OK);
    hg_dbb_free(b);
    hg_db_close(old);               /* the server's handle goes; a scan holds cur */

    assert_int_equal(hg_db_lookup(cur, HG_ALG_SHA256, d1, &hit, 1), 1);
    assert_int_equal(hg_db_lookup(cur, HG_ALG_SHA256, d2, &hit, 1), 0);
    assert_int_equal(hg_db_verify(cur, &err), HG_OK);
    assert_int_equal(hg_db_open(path, 0, &neu, &err), HG_OK);
    assert_int_equal(hg_db_lookup(neu, HG_ALG_SHA256, d2, &hit, 1), 1);
    assert_int_equal(hg_db_created(neu), 1700000001);
    hg_db_close(cur);
    hg_db_close(neu);
    hg_db_close(NULL);
}

typedef struct {
    hg_db_t        *db;
    unsigned char   d[32];
    long            found;
} refs_arg_t;

static void *
refs_thread(void *p)
{
    refs_arg_t   *a = p;
    hg_db_hit_t   hit;
    hg_db_t      *r;
    int           i;

    for (i = 0; i < 50000; i++) {
        r = hg_db_ref(a->db);
        a->found += (long) hg_db_lookup(r, HG_ALG_SHA256, a->d, &hit, 1);
        hg_db_close(r);
    }
    return NULL;
}

/*
 * Threads taking and dropping references while looking up: every lookup
 * answers, and the count returns to one (the ASan build's leak check
 * catches a count left high, use-after-free one dropped too far).
 */
static void
test_db_references_from_many_threads(void **state)
{
    hg_dbb_t       *b = hg_dbb_new();
    refs_arg_t      args[4];
    pthread_t       t[4];
    uint64_t        s = 31;
    hg_entry_t      e;
    hg_db_t        *db;
    int             i;

    (void) state;
    rnd_digest(&s, args[0].d, 32);
    e = entry(HG_ALG_SHA256, args[0].d);
    hg_dbb_add(b, mklist(b, "t", HG_LIST_BLOCK), &e);
    db = write_open(b, tpath("threads.db"), 0);
    for (i = 0; i < 4; i++) {
        args[i].db = db;
        args[i].found = 0;
        memcpy(args[i].d, args[0].d, 32);
        assert_int_equal(pthread_create(&t[i], NULL, refs_thread, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(args[i].found, 50000);
    }
    assert_int_equal(atomic_load(&db->refs), 1);
    hg_db_close(db);
}

static void
test_db_failed_write_leaves_target_untouched_and_no_temp_file(void **state)
{
    hg_dbb_t       *b;
    unsigned char  *before, *after, d[32];
    size_t          n1, n2;
    uint64_t        s = 5;
    struct rlimit   saved, small;
    hg_entry_t      e;
    hg_err_t        err;
    uint32_t        id;
    int             i, files;
    const char     *path = tpath("keep.db");

    (void) state;
    build_rich(path);
    before = slurp(path, &n1);
    files = count_files();

    b = hg_dbb_new();
    id = mklist(b, "big", HG_LIST_BLOCK);
    for (i = 0; i < 20000; i++) {
        rnd_digest(&s, d, 32);
        e = entry(HG_ALG_SHA256, d);
        hg_dbb_add(b, id, &e);
    }
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 64 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    err.msg[0] = '\0';
    assert_int_equal(hg_dbb_write(b, path, 0, &err), HG_EIO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
    hg_dbb_free(b);
    assert_non_null(strstr(err.msg, path));

    after = slurp(path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_int_equal(count_files(), files);
    free(before);
    free(after);

    b = hg_dbb_new();
    assert_int_equal(hg_dbb_write(b, "/nonexistent-dir/x.db", 0, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.db"));
    hg_dbb_free(b);
}

static void
test_db_open_reports_missing_file_and_non_database(void **state)
{
    hg_db_t       *db;
    hg_err_t       err;
    unsigned char  junk[4096];

    (void) state;
    assert_int_equal(hg_db_open(tpath("absent.db"), 0, &db, &err), HG_ENOENT);
    assert_non_null(strstr(err.msg, "absent.db"));
    memset(junk, 'x', sizeof(junk));
    spit(tpath("junk.db"), junk, sizeof(junk));
    assert_refused(tpath("junk.db"), "text file");
    assert_non_null(strstr(err.msg, "absent.db"));
    assert_int_equal(hg_db_open(tmpdir, 0, &db, &err), HG_EFORMAT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_round_trip_with_no_entries),
        cmocka_unit_test(test_db_round_trip_with_one_entry),
        cmocka_unit_test(test_db_round_trip_with_a_million_entries),
        cmocka_unit_test(test_db_lookup_present_and_absent_on_each_algorithm),
        cmocka_unit_test(test_db_lookup_finds_digests_with_shared_prefixes),
        cmocka_unit_test(test_db_digest_on_several_lists_is_stored_once_and_reports_every_list),
        cmocka_unit_test(test_db_keeps_sizes_and_labels_per_list),
        cmocka_unit_test(test_db_entry_without_size_wins_over_sized_ones),
        cmocka_unit_test(test_db_keeps_allow_list_kind_version_and_sources),
        cmocka_unit_test(test_dbb_list_refuses_bad_names_and_too_many_lists),
        cmocka_unit_test(test_db_removals_apply_after_all_additions),
        cmocka_unit_test(test_db_foreach_visits_every_pair_in_digest_order),
        cmocka_unit_test(test_db_load_then_write_equals_full_write_byte_for_byte),
        cmocka_unit_test(test_db_cover_picks_the_cheapest_set_that_covers_every_record),
        cmocka_unit_test(test_db_records_keep_a_files_digests_and_choose_what_a_scan_computes),
        cmocka_unit_test(test_db_records_join_only_consecutive_entries_of_one_file_and_list),
        cmocka_unit_test(test_db_removal_of_one_digest_keeps_the_rest_of_its_record_covered),
        cmocka_unit_test(test_db_version_1_file_still_opens_each_entry_its_own_record),
        cmocka_unit_test(test_db_open_refuses_truncated_file),
        cmocka_unit_test(test_db_open_refuses_bit_flips_in_header_and_metadata),
        cmocka_unit_test(test_db_verify_refuses_bit_flips_anywhere),
        cmocka_unit_test(test_db_open_refuses_hostile_headers),
        cmocka_unit_test(test_db_open_refuses_bucket_index_that_decreases),
        cmocka_unit_test(test_db_lookup_never_reads_outside_a_file_with_garbage_data),
        cmocka_unit_test(test_db_reference_keeps_mapping_after_path_is_replaced),
        cmocka_unit_test(test_db_references_from_many_threads),
        cmocka_unit_test(test_db_failed_write_leaves_target_untouched_and_no_temp_file),
        cmocka_unit_test(test_db_open_reports_missing_file_and_non_database),
        cmocka_unit_test(test_db_filter_keeps_every_digest_and_stops_most_absent_ones),
        cmocka_unit_test(test_db_verify_finds_a_digest_missing_from_the_filter),
        cmocka_unit_test(test_db_keyed_tables_find_every_digest_from_its_home),
        cmocka_unit_test(test_db_keyed_table_with_crowded_homes),
        cmocka_unit_test(test_db_verify_refuses_a_keyed_table_out_of_place),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_scan.c - the scan context: the digests a database needs, the same
 * result whatever the chunking, matches with list names and labels, sized
 * entries, allow-lists, the kept head, reuse, and its database reference;
 * hg_scan_match of digests hashed elsewhere matches as the bytes would.
 * Databases are built from seeded random bytes.
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
#include <unistd.h>

#include <cmocka.h>

#include "hashgate/db.h"
#include "hashgate/decide.h"
#include "hashgate/record.h"
#include "hashgate/scan.h"

#define OBJ_LEN   5000
#define BIG_LEN   (3 * HG_SCAN_HEAD_MAX + 17)
#define MANY      20      /* lists one digest is on, > HG_SCAN_MAX_MATCHES */

typedef struct {
    char            dir[64];
    char            path[96];
    unsigned char   a[OBJ_LEN], b[OBJ_LEN], c[OBJ_LEN], d[OBJ_LEN];
    unsigned char   e[OBJ_LEN], m[OBJ_LEN], big[BIG_LEN];
    hg_digests_t    da, db_, dc, dd, dm;
    hg_db_t        *db;
} fx_t;

static void
fill(unsigned char *p, size_t n, uint32_t seed)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char) (seed >> 24);
    }
}

static void
digests(const unsigned char *p, size_t n, hg_digests_t *out)
{
    hg_hash_t  *h = hg_hash_new();

    assert_non_null(h);
    assert_int_equal(hg_hash_init(h, HG_ALGS_ALL), HG_OK);
    assert_int_equal(hg_hash_update(h, p, n), HG_OK);
    assert_int_equal(hg_hash_final(h, out), HG_OK);
    hg_hash_free(h);
}

static void
add(hg_dbb_t *b, uint32_t list, hg_alg_t alg, const hg_digests_t *d,
    int has_size, uint64_t size, const char *label)
{
    hg_entry_t  e;

    memset(&e, 0, sizeof(e));
    e.alg = alg;
    memcpy(e.digest, d->d[alg], hg_alg_len(alg));
    e.has_size = has_size;
    e.size = size;
    e.label = label;
    assert_int_equal(hg_dbb_add(b, list, &e), HG_OK);
}

/*
 * blk (block, v1):  sha256(a) "label-a"; md5(b) sized OBJ_LEN;
 *                   md5(c) sized OBJ_LEN + 1 (never fits c)
 * blk2 (block):     sha256(a)
 * good (allow):     sha1(d)
 * m00..m19 (block): sha256(m); zz-ok (allow): sha256(m) too
 */
static int
setup(void **state)
{
    fx_t      *f = calloc(1, sizeof(*f));
    hg_dbb_t  *b;
    hg_err_t   err;
    uint32_t   blk, blk2, good, id, ok;
    hg_digests_t dz;
    char       name[16];
    int        i;

    assert_non_null(f);
    fill(f->a, OBJ_LEN, 1);
    fill(f->b, OBJ_LEN, 2);
    fill(f->c, OBJ_LEN, 3);
    fill(f->d, OBJ_LEN, 4);
    fill(f->e, OBJ_LEN, 5);
    fill(f->m, OBJ_LEN, 6);
    fill(f->big, BIG_LEN, 7);
    digests(f->a, OBJ_LEN, &f->da);
    digests(f->b, OBJ_LEN, &f->db_);
    digests(f->c, OBJ_LEN, &f->dc);
    digests(f->d, OBJ_LEN, &f->dd);
    digests(f->m, OBJ_LEN, &f->dm);

    strcpy(f->dir, "/tmp/hg-scan-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/test.hgdb", f->dir);

    b = hg_dbb_new();
    assert_non_null(b);
    assert_int_equal(hg_dbb_list(b, "blk", "v1", HG_LIST_BLOCK, &blk, &err),
                     HG_OK);
    assert_int_equal(hg_dbb_list(b, "blk2", "", HG_LIST_BLOCK, &blk2, &err),
                     HG_OK);
    assert_int_equal(hg_dbb_list(b, "good", "", HG_LIST_ALLOW, &good, &err),
                     HG_OK);
    add(b, blk, HG_ALG_SHA256, &f->da, 0, 0, "label-a");
    add(b, blk, HG_ALG_MD5, &f->db_, 1, OBJ_LEN, NULL);
    add(b, blk, HG_ALG_MD5, &f->dc, 1, OBJ_LEN + 1, NULL);
    add(b, blk2, HG_ALG_SHA256, &f->da, 0, 0, NULL);
    add(b, good, HG_ALG_SHA1, &f->dd, 0, 0, NULL);
    for (i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "m%02d", i);
        assert_int_equal(hg_dbb_list(b, name, "", HG_LIST_BLOCK, &id, &err),
                         HG_OK);
        add(b, id, HG_ALG_SHA256, &f->dm, 0, 0, NULL);
    }
    /* named to sort after m*: an allow-list must not be crowded out */
    assert_int_equal(hg_dbb_list(b, "zz-ok", "", HG_LIST_ALLOW, &ok, &err),
                     HG_OK);
    add(b, ok, HG_ALG_SHA256, &f->dm, 0, 0, NULL);
    /* the empty file's digests, as some lists carry them */
    digests(f->e, 0, &dz);
    assert_int_equal(hg_dbb_list(b, "empty", "", HG_LIST_BLOCK, &id, &err),
                     HG_OK);
    for (i = 0; i < HG_ALG_COUNT; i++) {
        assert_true(hg_digest_is_empty((hg_alg_t) i, dz.d[i]));
        assert_false(hg_digest_is_empty((hg_alg_t) i, f->dm.d[i]));
        add(b, id, (hg_alg_t) i, &dz, 0, 0, NULL);
    }
    add(b, id, HG_ALG_SHA256, &dz, 1, 0, NULL);
    if (hg_dbb_write(b, f->path, 0, &err) != HG_OK) {
        fail_msg("hg_dbb_write: %s", err.msg);
    }
    hg_dbb_free(b);
    if (hg_db_open(f->path, 0, &f->db, &err) != HG_OK) {
        fail_msg("hg_db_open: %s", err.msg);
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t  *f = *state;

    hg_db_close(f->db);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static const hg_match_t *
find(const hg_scan_result_t *r, const char *list)
{
    size_t  i;

    for (i = 0; i < r->nmatches; i++) {
        if (strcmp(r->matches[i].list_name, list) == 0) {
            return &r->matches[i];
        }
    }
    return NULL;
}

static void
test_scan_computes_db_algs_plus_extra(void **state)
{
    fx_t       *f = *state;
    hg_scan_t  *s;

    assert_int_equal(hg_db_algs(f->db), HG_ALGS_ALL);
    s = hg_scan_new(f->db, 0);
    assert_non_null(s);
    assert_int_equal(hg_scan_algs(s), HG_ALGS_ALL);
    assert_ptr_equal(hg_scan_db(s), f->db);
    hg_scan_free(s);

    s = hg_scan_new(NULL, HG_ALG_BIT(HG_ALG_MD5));
    assert_non_null(s);
    assert_int_equal(hg_scan_algs(s), HG_ALG_BIT(HG_ALG_MD5));
    assert_null(hg_scan_db(s));
    hg_scan_free(s);
}

static void
test_scan_only_needed_algs_for_single_alg_db(void **state)
{
    fx_t          *f = *state;
    hg_dbb_t      *b = hg_dbb_new();
    hg_db_t       *db;
    hg_scan_t     *s;
    hg_err_t       err;
    uint32_t       id;
    char           path[128];
    hg_scan_result_t r;

    assert_non_null(b);
    snprintf(path, sizeof(path), "%s/sha1.hgdb", f->dir);
    assert_int_equal(hg_dbb_list(b, "x", "", HG_LIST_BLOCK, &id, &err), HG_OK);
    add(b, id, HG_ALG_SHA1, &f->dd, 0, 0, NULL);
    assert_int_equal(hg_dbb_write(b, path, 0, &err), HG_OK);
    hg_dbb_free(b);
    assert_int_equal(hg_db_open(path, 0, &db, &err), HG_OK);
    s = hg_scan_new(db, 0);
    hg_db_close(db);
    assert_non_null(s);
    assert_int_equal(hg_scan_algs(s), HG_ALG_BIT(HG_ALG_SHA1));
    assert_int_equal(hg_scan_buffer(s, f->d, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.digests.algs, HG_ALG_BIT(HG_ALG_SHA1));
    assert_int_equal(r.nmatches, 1);
    assert_string_equal(r.matches[0].list_name, "x");
    hg_scan_free(s);
    unlink(path);
}

static void
test_scan_digest_on_two_lists_matches_both(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;
    const hg_match_t  *m;

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->a, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 2);
    assert_int_equal(r.nmatches_total, 2);
    m = find(&r, "blk");
    assert_non_null(m);
    assert_string_equal(m->list_version, "v1");
    assert_int_equal(m->kind, HG_LIST_BLOCK);
    assert_int_equal(m->alg, HG_ALG_SHA256);
    assert_non_null(m->label);
    assert_string_equal(m->label, "label-a");
    m = find(&r, "blk2");
    assert_non_null(m);
    assert_null(m->label);
    assert_memory_equal(r.digests.d[HG_ALG_SHA256], f->da.d[HG_ALG_SHA256],
                        32);
    assert_int_equal(r.digests.size, OBJ_LEN);
    hg_scan_free(s);
}

static void
scan_chunked(hg_scan_t *s, const unsigned char *p, size_t n, size_t step,
             uint32_t seed, hg_scan_result_t *r)
{
    size_t  off = 0, k;

    assert_int_equal(hg_scan_begin(s), HG_OK);
    while (off < n) {
        if (step == 0) {
            seed = seed * 1664525u + 1013904223u;
            k = 1 + (seed >> 8) % 7000;
        } else {
            k = step;
        }
        if (k > n - off) {
            k = n - off;
        }
        assert_int_equal(hg_scan_update(s, p + off, k), HG_OK);
        assert_int_equal(hg_scan_update(s, p, 0), HG_OK);
        off += k;
    }
    assert_int_equal(hg_scan_end(s, r), HG_OK);
}

static void
test_scan_same_result_whatever_the_chunking(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   whole, r;
    size_t             steps[] = { 1, 3, 4096, 65536, 0 };
    size_t             i;

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->big, BIG_LEN, &whole), HG_OK);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        scan_chunked(s, f->big, BIG_LEN, steps[i], (uint32_t) i, &r);
        assert_memory_equal(&r.digests, &whole.digests, sizeof(r.digests));
        assert_int_equal(r.head_len, HG_SCAN_HEAD_MAX);
        assert_memory_equal(r.head, f->big, HG_SCAN_HEAD_MAX);
        scan_chunked(s, f->a, OBJ_LEN, steps[i], (uint32_t) i, &r);
        assert_int_equal(r.nmatches, 2);
    }
    hg_scan_free(s);
}

static void
test_scan_sized_entry_matches_only_that_size(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->b, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 1);
    assert_string_equal(r.matches[0].list_name, "blk");
    assert_int_equal(r.matches[0].alg, HG_ALG_MD5);

    assert_int_equal(hg_scan_buffer(s, f->c, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    assert_int_equal(r.nmatches_total, 0);
    hg_scan_free(s);
}

static void
test_scan_absent_object_has_no_matches(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;
    hg_digests_t       d;

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->e, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    digests(f->e, OBJ_LEN, &d);
    assert_memory_equal(&r.digests, &d, sizeof(d));
    assert_int_equal(r.head_len, OBJ_LEN);
    /* an object that is a prefix of a listed one is not listed */
    assert_int_equal(hg_scan_buffer(s, f->a, OBJ_LEN - 1, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    hg_scan_free(s);
}

static void
test_scan_allow_list_match_is_reported(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->d, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 1);
    assert_string_equal(r.matches[0].list_name, "good");
    assert_int_equal(r.matches[0].kind, HG_LIST_ALLOW);
    assert_int_equal(r.matches[0].alg, HG_ALG_SHA1);
    hg_scan_free(s);
}

static void
test_scan_many_lists_are_counted_and_allow_kept(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;
    size_t             i, allow = 0;

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->m, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, HG_SCAN_MAX_MATCHES);
    assert_int_equal(r.nmatches_total, MANY + 1);
    for (i = 0; i < r.nmatches; i++) {
        allow += r.matches[i].kind == HG_LIST_ALLOW;
    }
    assert_int_equal(allow, 1);
    hg_scan_free(s);
}

/*
 * A database of its own: WIDE block lists "a000".. carry x, each with a
 * size x never has; then "b-hit" carries x with no size, and "zz-allow"
 * (an allow-list) carries y, which all WIDE lists carry too. WIDE is more
 * than any fixed scratch space of lookup hits, so the lists that decide
 * come after many that do not.
 */
#define WIDE  80

static hg_db_t *
wide_db(const char *path, const hg_digests_t *dx, const hg_digests_t *dy)
{
    hg_dbb_t  *b = hg_dbb_new();
    hg_db_t   *db;
    hg_err_t   err;
    uint32_t   id;
    char       name[16];
    int        i;

    assert_non_null(b);
    for (i = 0; i < WIDE; i++) {
        snprintf(name, sizeof(name), "a%03d", i);
        assert_int_equal(hg_dbb_list(b, name, "", HG_LIST_BLOCK, &id, &err),
                         HG_OK);
        add(b, id, HG_ALG_SHA256, dx, 1, OBJ_LEN + 1, NULL);
        add(b, id, HG_ALG_SHA256, dy, 0, 0, NULL);
    }
    assert_int_equal(hg_dbb_list(b, "b-hit", "", HG_LIST_BLOCK, &id, &err),
                     HG_OK);
    add(b, id, HG_ALG_SHA256, dx, 0, 0, NULL);
    assert_int_equal(hg_dbb_list(b, "zz-allow", "", HG_LIST_ALLOW, &id, &err),
                     HG_OK);
    add(b, id, HG_ALG_SHA256, dy, 0, 0, NULL);
    if (hg_dbb_write(b, path, 0, &err) != HG_OK) {
        fail_msg("hg_dbb_write: %s", err.msg);
    }
    hg_dbb_free(b);
    if (hg_db_open(path, 0, &db, &err) != HG_OK) {
        fail_msg("hg_db_open: %s", err.msg);
    }
    return db;
}

static void
test_scan_block_list_after_many_size_misses_still_matches(void **state)
{
    fx_t              *f = *state;
    char               path[128];
    hg_db_t           *db;
    hg_scan_t         *s;
    hg_scan_result_t   r;
    hg_policy_t        p;
    hg_verdict_t       v;

    snprintf(path, sizeof(path), "%s/wide.hgdb", f->dir);
    db = wide_db(path, &f->da, &f->dm);
    s = hg_scan_new(db, 0);
    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->a, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches_total, 1);
    assert_int_equal(r.nmatches, 1);
    assert_string_equal(r.matches[0].list_name, "b-hit");
    hg_policy_init(&p);
    v = hg_decide(&p, &r, HG_OK);
    assert_true(v.matched);
    assert_int_equal(v.action, HG_ACT_REJECT);
    hg_scan_free(s);
    hg_db_close(db);
    unlink(path);
}

static void
test_scan_allow_list_after_many_block_lists_still_allows(void **state)
{
    fx_t              *f = *state;
    char               path[128];
    hg_db_t           *db;
    hg_scan_t         *s;
    hg_scan_result_t   r;
    hg_policy_t        p;
    hg_verdict_t       v;

    snprintf(path, sizeof(path), "%s/wide.hgdb", f->dir);
    db = wide_db(path, &f->da, &f->dm);
    s = hg_scan_new(db, 0);
    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->m, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches_total, WIDE + 1);
    assert_non_null(find(&r, "zz-allow"));
    hg_policy_init(&p);
    v = hg_decide(&p, &r, HG_OK);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_non_null(v.allowed_by);
    assert_string_equal(v.allowed_by, "zz-allow");
    hg_scan_free(s);
    hg_db_close(db);
    unlink(path);
}

static void
test_scan_empty_object(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;

    assert_non_null(s);
    assert_int_equal(hg_scan_begin(s), HG_OK);
    assert_int_equal(hg_scan_end(s, &r), HG_OK);
    assert_int_equal(r.digests.size, 0);
    assert_int_equal(r.head_len, 0);
    /* the fixture lists the empty file's digests: never matched */
    assert_int_equal(r.nmatches, 0);
    assert_int_equal(r.nmatches_total, 0);
    assert_memory_equal(r.digests.d[HG_ALG_MD5],
        "\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98\xec\xf8\x42\x7e", 16);
    hg_scan_free(s);
}

static void
test_scan_calls_out_of_order_are_refused(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;

    assert_non_null(s);
    assert_int_equal(hg_scan_update(s, "x", 1), HG_EINVAL);
    assert_int_equal(hg_scan_end(s, &r), HG_EINVAL);
    assert_int_equal(r.nmatches, 0);
    assert_int_equal(hg_scan_buffer(s, f->a, OBJ_LEN, &r), HG_OK);
    assert_int_equal(hg_scan_end(s, &r), HG_EINVAL);   /* already ended */
    /* begin twice discards the first object */
    assert_int_equal(hg_scan_begin(s), HG_OK);
    assert_int_equal(hg_scan_update(s, f->e, 10), HG_OK);
    assert_int_equal(hg_scan_begin(s), HG_OK);
    assert_int_equal(hg_scan_update(s, f->a, OBJ_LEN), HG_OK);
    assert_int_equal(hg_scan_end(s, &r), HG_OK);
    assert_int_equal(r.nmatches, 2);
    hg_scan_free(s);
    hg_scan_free(NULL);
}

static void
test_scan_keeps_its_database_reference(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;

    assert_non_null(s);
    /* the server drops its handle (a reload) while the scan goes on */
    hg_db_close(f->db);
    f->db = NULL;
    unlink(f->path);
    assert_int_equal(hg_scan_buffer(s, f->a, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 2);
    assert_non_null(find(&r, "blk"));
    hg_scan_free(s);
}

static void
test_scan_without_database_matches_nothing(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(NULL, HG_ALGS_ALL);
    hg_scan_result_t   r;

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, f->a, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    assert_int_equal(r.digests.algs, HG_ALGS_ALL);
    assert_memory_equal(&r.digests, &f->da, sizeof(f->da));
    hg_scan_free(s);
}

/* hg_scan_match: digests hashed elsewhere (the inspection helper) match
 * exactly as the same bytes scanned here */
static void
assert_same_matches(const hg_scan_result_t *x, const hg_scan_result_t *y)
{
    size_t  i;

    assert_int_equal(x->nmatches, y->nmatches);
    assert_int_equal(x->nmatches_total, y->nmatches_total);
    for (i = 0; i < x->nmatches; i++) {
        assert_int_equal(x->matches[i].list, y->matches[i].list);
        assert_int_equal(x->matches[i].alg, y->matches[i].alg);
        assert_int_equal(x->matches[i].kind, y->matches[i].kind);
        assert_ptr_equal(x->matches[i].label, y->matches[i].label);
    }
}

static void
test_scan_match_of_digests_equals_scan_of_bytes(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   want, got;
    const unsigned char *objs[] = { f->a, f->b, f->c, f->d, f->e, f->m };
    hg_digests_t       d;
    size_t             i;

    assert_non_null(s);
    for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        assert_int_equal(hg_scan_buffer(s, objs[i], OBJ_LEN, &want), HG_OK);
        digests(objs[i], OBJ_LEN, &d);
        assert_int_equal(hg_scan_match(s, &d, &got), HG_OK);
        assert_same_matches(&got, &want);
        assert_memory_equal(&got.digests, &d, sizeof(d));
        assert_null(got.head);
        assert_int_equal(got.head_len, 0);
    }
    /* a and m really match something, so the comparison says something */
    digests(f->a, OBJ_LEN, &d);
    assert_int_equal(hg_scan_match(s, &d, &got), HG_OK);
    assert_int_equal(got.nmatches, 2);
    digests(f->m, OBJ_LEN, &d);
    assert_int_equal(hg_scan_match(s, &d, &got), HG_OK);
    assert_int_equal(got.nmatches_total, MANY + 1);
    assert_non_null(find(&got, "zz-ok"));
    hg_scan_free(s);
}

static void
test_scan_match_looks_up_only_the_digests_given(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;
    hg_digests_t       d;

    assert_non_null(s);
    /* a is listed by SHA-256 only */
    digests(f->a, OBJ_LEN, &d);
    d.algs = HG_ALG_BIT(HG_ALG_MD5) | HG_ALG_BIT(HG_ALG_SHA1);
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    assert_int_equal(r.digests.algs, d.algs);
    d.algs = HG_ALG_BIT(HG_ALG_SHA256);
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.nmatches, 2);
    /* bits past the known algorithms are dropped, not looked up */
    d.algs = HG_ALG_BIT(HG_ALG_SHA256) | 0x80;
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.digests.algs, HG_ALG_BIT(HG_ALG_SHA256));
    assert_int_equal(r.nmatches, 2);
    hg_scan_free(s);
}

static void
test_scan_match_keeps_size_and_empty_rules(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;
    hg_digests_t       d;

    assert_non_null(s);
    /* b is listed by MD5 with its size: a different size does not fit */
    digests(f->b, OBJ_LEN, &d);
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.nmatches, 1);
    d.size = OBJ_LEN + 1;
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    /* the empty file's digests are listed: never matched */
    digests(f->e, 0, &d);
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    assert_int_equal(r.nmatches_total, 0);
    hg_scan_free(s);
}

static void
test_scan_match_leaves_an_object_being_scanned(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(f->db, 0);
    hg_scan_result_t   r;
    hg_digests_t       d;

    assert_non_null(s);
    digests(f->m, OBJ_LEN, &d);
    assert_int_equal(hg_scan_begin(s), HG_OK);
    assert_int_equal(hg_scan_update(s, f->a, 100), HG_OK);
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.nmatches_total, MANY + 1);
    assert_int_equal(hg_scan_update(s, f->a + 100, OBJ_LEN - 100), HG_OK);
    assert_int_equal(hg_scan_end(s, &r), HG_OK);
    assert_int_equal(r.nmatches, 2);
    assert_int_equal(r.head_len, OBJ_LEN);
    hg_scan_free(s);
}

static void
test_scan_match_without_database_matches_nothing(void **state)
{
    fx_t              *f = *state;
    hg_scan_t         *s = hg_scan_new(NULL, HG_ALGS_ALL);
    hg_scan_result_t   r;
    hg_digests_t       d;

    assert_non_null(s);
    digests(f->a, OBJ_LEN, &d);
    assert_int_equal(hg_scan_match(s, &d, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    assert_memory_equal(&r.digests, &d, sizeof(d));
    hg_scan_free(s);
}

/*
 * A list giving a file's MD5 and SHA-1 together (one record): a scan
 * computes SHA-1 only, matches through it, and the match (and the evidence
 * record) carries the MD5 as the list gives it, marked listed: no top-level
 * "md5", since none was computed.
 */
static void
test_scan_match_through_sha1_reports_the_listed_md5(void **state)
{
    fx_t              *f = *state;
    hg_dbb_t          *b = hg_dbb_new();
    hg_db_t           *db;
    hg_scan_t         *s;
    hg_scan_result_t   r;
    hg_digests_t       de;
    hg_record_t        rec;
    hg_json_t          j;
    hg_entry_t         e;
    hg_err_t           err;
    uint32_t           id;
    char               path[128], hex[HG_HEX_MAX], want[160];
    int                a;

    digests(f->e, OBJ_LEN, &de);
    assert_int_equal(hg_dbb_list(b, "hotline", "", HG_LIST_BLOCK, &id, &err),
                     HG_OK);
    for (a = HG_ALG_MD5; a <= HG_ALG_SHA1; a++) {
        memset(&e, 0, sizeof(e));
        e.alg = (hg_alg_t) a;
        memcpy(e.digest, de.d[a], hg_alg_len((hg_alg_t) a));
        e.record = 1;
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    snprintf(path, sizeof(path), "%s/rec.hgdb", f->dir);
    assert_int_equal(hg_dbb_write(b, path, 0, &err), HG_OK);
    hg_dbb_free(b);
    assert_int_equal(hg_db_open(path, 0, &db, &err), HG_OK);
    s = hg_scan_new(db, 0);
    assert_non_null(s);
    assert_int_equal(hg_scan_algs(s), HG_ALG_BIT(HG_ALG_SHA1));
    assert_int_equal(hg_scan_buffer(s, f->e, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.digests.algs, HG_ALG_BIT(HG_ALG_SHA1));
    assert_int_equal(r.nmatches, 1);
    assert_int_equal(r.matches[0].alg, HG_ALG_SHA1);
    assert_int_equal(r.matches[0].listed.algs, HG_ALG_BIT(HG_ALG_MD5));
    assert_memory_equal(r.matches[0].listed.d[HG_ALG_MD5], de.d[HG_ALG_MD5], 16);

    memset(&rec, 0, sizeof(rec));
    rec.channel = "file";
    rec.res = &r;
    hg_json_init(&j);
    assert_int_equal(hg_record_format(&rec, &j), HG_OK);
    hg_hex_encode(de.d[HG_ALG_MD5], 16, hex);
    snprintf(want, sizeof(want), "\"listed\":{\"md5\":\"%s\"}", hex);
    assert_non_null(strstr(j.buf, want));
    /* the only "md5" is the listed one: none was computed */
    assert_true(strstr(j.buf, "\"md5\"") == strstr(j.buf, want)
                                             + strlen("\"listed\":{"));
    hg_json_free(&j);

    /* an object on no list: nothing listed, nothing matched */
    assert_int_equal(hg_scan_buffer(s, f->a, OBJ_LEN, &r), HG_OK);
    assert_int_equal(r.nmatches, 0);
    hg_scan_free(s);
    hg_db_close(db);
    unlink(path);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_scan_computes_db_algs_plus_extra),
        T(test_scan_only_needed_algs_for_single_alg_db),
        T(test_scan_digest_on_two_lists_matches_both),
        T(test_scan_same_result_whatever_the_chunking),
        T(test_scan_sized_entry_matches_only_that_size),
        T(test_scan_absent_object_has_no_matches),
        T(test_scan_allow_list_match_is_reported),
        T(test_scan_many_lists_are_counted_and_allow_kept),
        T(test_scan_block_list_after_many_size_misses_still_matches),
        T(test_scan_allow_list_after_many_block_lists_still_allows),
        T(test_scan_empty_object),
        T(test_scan_calls_out_of_order_are_refused),
        T(test_scan_keeps_its_database_reference),
        T(test_scan_without_database_matches_nothing),
        T(test_scan_match_of_digests_equals_scan_of_bytes),
        T(test_scan_match_looks_up_only_the_digests_given),
        T(test_scan_match_keeps_size_and_empty_rules),
        T(test_scan_match_leaves_an_object_being_scanned),
        T(test_scan_match_without_database_matches_nothing),
        T(test_scan_match_through_sha1_reports_the_listed_md5),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

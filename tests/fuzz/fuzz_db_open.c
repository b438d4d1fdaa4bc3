/*
 * fuzz_db_open.c - libFuzzer target: a hostile database file is refused or
 * read safely, never out of bounds.
 *
 * The input is written to a memfd and opened by its /proc path, with and
 * without HG_DB_OPEN_VERIFY. When a file is accepted, every accessor is
 * exercised: lists, sources, counts, lookups of digests taken from the
 * input and of every stored digest (through hg_db_foreach), PDQ searches
 * (of a hash from the input, of every stored one, with and without the
 * index's radius and dihedral hashes; the scan's vector loop against its
 * scalar one), hg_dbb_load and the whole-file checksum.
 *
 * Random changes to a header almost never keep its checksum right, which
 * would leave the offset and count checks behind it unfuzzed; so each input
 * is also opened a second time with the header's file size and both
 * checksums recomputed (with db_format.h's own layout), which sends the
 * mutated header through every validation step.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "hashgate/db.h"
#include "hashgate/db_pdq.h"
#include "db/db_format.h"

/* Enough to walk a small accepted file fully; bounds the work per input. */
#define FOREACH_MAX  4096

static int   fd = -1;
static char  path[64];

typedef struct {
    const hg_db_t  *db;
    size_t          seen;
} walk_t;

/*
 * The scan's vector loop (where the processor has one) and its scalar
 * loop find the same entries (db_pdq_heads.c): at distance 40, which
 * scans whether or not the file has an index.
 */
static void
scan_same(const hg_db_t *db, const hg_pdq_hash_t *h)
{
    size_t  vec, scalar;

    vec = hg_db_pdq_query(db, h, 40, NULL, 0);
    hg_pdq_heads_simd(0);
    scalar = hg_db_pdq_query(db, h, 40, NULL, 0);
    hg_pdq_heads_simd(1);
    if (vec != scalar) {
        abort();
    }
}

static hg_status_t
walk_cb(void *ctx, uint32_t list, const hg_entry_t *e)
{
    walk_t          *w = ctx;
    hg_db_hit_t      hits[8];
    hg_db_pdq_hit_t  ph[8];
    hg_pdq_hash_t    h;
    hg_digests_t     dg;

    if (list >= hg_db_nlists(w->db) || (unsigned) e->alg >= HG_ALG_COUNT
        || (e->pdq && (e->quality < -1 || e->quality > 100)))
    {
        abort();
    }
    if (e->label != NULL) {
        (void) strlen(e->label);
    }
    if (e->pdq) {
        memcpy(h.b, e->digest, HG_PDQ_BYTES);
        (void) hg_db_pdq_query(w->db, &h, -1, ph, 8);
        (void) hg_db_pdq_query(w->db, &h, 0, ph, 8);
        if (w->seen < 64) {
            scan_same(w->db, &h);
        }
        return ++w->seen >= FOREACH_MAX ? HG_ECANCEL : HG_OK;
    }
    /* a hostile file may be unsorted: results may be wrong, never unsafe */
    (void) hg_db_lookup(w->db, e->alg, e->digest, hits, 8);
    /* records and links are read only here, checked as they are used */
    (void) hg_db_listed(w->db, e->alg, e->digest, list, &dg);
    return ++w->seen >= FOREACH_MAX ? HG_ECANCEL : HG_OK;
}

static void
use(hg_db_t *db, const uint8_t *data, size_t size)
{
    hg_db_list_t    l;
    hg_db_source_t  src;
    hg_db_hit_t     hits[4];
    unsigned char   d[HG_DIGEST_MAX];
    size_t          i, k, n;
    int             a;
    walk_t          w;
    hg_err_t        err;
    hg_dbb_t       *b;

    (void) hg_db_path(db);
    (void) hg_db_created(db);
    (void) hg_db_file_size(db);
    (void) hg_db_version(db);
    (void) hg_db_algs(db);
    (void) hg_db_all_digests(db);
    for (a = 1; a < 8; a++) {
        (void) hg_db_records(db, HG_LIST_BLOCK, (unsigned) a);
        (void) hg_db_records(db, HG_LIST_ALLOW, (unsigned) a);
    }
    n = hg_db_nlists(db);
    for (i = 0; i < n && i < 64; i++) {
        if (hg_db_list(db, i, &l) != HG_OK) {
            continue;
        }
        (void) strlen(l.name);
        (void) strlen(l.version);
        (void) hg_db_find_list(db, l.name);
        for (k = 0; k < l.nsources && k < 8; k++) {
            if (hg_db_list_source(db, i, k, &src) == HG_OK) {
                (void) strlen(src.name);
            }
        }
    }
    (void) hg_db_list(db, n, &l);
    (void) hg_db_find_list(db, "no-such-list");
    for (a = 0; a < HG_ALG_COUNT; a++) {
        (void) hg_db_count(db, (hg_alg_t) a);
        memset(d, 0, sizeof(d));
        memcpy(d, data, size < sizeof(d) ? size : sizeof(d));
        hg_db_prefetch(db, (hg_alg_t) a, d);
        n = hg_db_lookup(db, (hg_alg_t) a, d, hits, 4);
        for (i = 0; i < n && i < 4; i++) {
            if (hits[i].label != NULL) {
                (void) strlen(hits[i].label);
            }
        }
        memset(d, 0xFF, sizeof(d));
        (void) hg_db_lookup(db, (hg_alg_t) a, d, hits, 4);
    }
    {
        hg_pdq_result_t  r;
        hg_db_pdq_hit_t  ph[4];
        int              j;

        (void) hg_db_pdq_count(db);
        (void) hg_db_pdq_indexed(db);
        for (i = 0; i <= hg_db_nlists(db) && i < 64; i++) {
            (void) hg_db_pdq_threshold(db, (uint32_t) i);
            (void) hg_db_pdq_list_count(db, (uint32_t) i);
        }
        memset(&r, 0, sizeof(r));
        for (j = 0; j < HG_PDQ_DIHEDRAL_COUNT; j++) {
            for (k = 0; k < HG_PDQ_BYTES; k++) {
                r.dihedral[j].b[k] = size ? data[(j * 32 + k) % size] : 0;
            }
        }
        r.hash = r.dihedral[0];
        (void) hg_db_pdq_query(db, &r.hash, 31, ph, 4);
        (void) hg_db_pdq_query(db, &r.hash, 40, ph, 4);
        (void) hg_db_pdq_match(db, &r, 0, ph, 4);
        n = hg_db_pdq_match(db, &r, 1, ph, 4);
        if (!hg_db_pdq_indexed(db) || db->pdq_maxthr > 31) {
            /* the 8 hashes, a scan: vector and scalar loops agree */
            hg_pdq_heads_simd(0);
            if (hg_db_pdq_match(db, &r, 1, ph, 4) != n) {
                abort();
            }
            hg_pdq_heads_simd(1);
        }
    }
    w.db = db;
    w.seen = 0;
    (void) hg_db_foreach(db, walk_cb, &w);
    (void) hg_db_verify(db, &err);

    b = hg_dbb_new();
    if (b != NULL) {
        (void) hg_dbb_load(b, db, &err);
        hg_dbb_free(b);
    }
}

static void
put_le64(unsigned char *p, uint64_t v)
{
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (unsigned char) (v >> (8 * i));
    }
}

/* Make the header's size and checksums agree with the (mutated) bytes. */
static void
fix_header(unsigned char *f, size_t size)
{
    uint64_t  meta_len = 0;
    uint32_t  hs;
    int       i;

    if (size < HG_DB_HEADER_SIZE) {
        return;
    }
    hs = hg_db_header_size(hg_le32(f + HDR_FORMAT));
    if (size < hs) {
        return;
    }
    put_le64(f + HDR_FILE_SIZE, size);
    SHA256(f + hs, size - hs, f + HDR_FILE_SHA256);
    for (i = 0; i < 8; i++) {
        meta_len |= (uint64_t) f[HDR_META_LEN + i] << (8 * i);
    }
    if (meta_len > size - hs) {
        return;
    }
    (void) hg_db_meta_sha256(f, f + hs, meta_len, f + HDR_META_SHA256);
}

static void
open_and_use(const uint8_t *data, size_t size)
{
    hg_db_t   *db;
    hg_err_t   err;
    unsigned   flags;

    if (fd < 0) {
        fd = memfd_create("fuzz-db", MFD_CLOEXEC);
        if (fd < 0) {
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t) size) {
        abort();
    }
    for (flags = 0; flags <= HG_DB_OPEN_VERIFY; flags += HG_DB_OPEN_VERIFY) {
        db = NULL;
        if (hg_db_open(path, flags, &db, &err) == HG_OK) {
            if (db == NULL) {
                abort();
            }
            use(db, data, size);
            hg_db_close(hg_db_ref(db));
            hg_db_close(db);
        } else {
            (void) strlen(err.msg);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char  *copy;

    open_and_use(data, size);
    if (size >= HG_DB_HEADER_SIZE) {
        copy = malloc(size);
        if (copy == NULL) {
            abort();
        }
        memcpy(copy, data, size);
        fix_header(copy, size);
        open_and_use(copy, size);
        free(copy);
    }
    return 0;
}

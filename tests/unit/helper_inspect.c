/*
 * helper_inspect.c - seeded bytes, digests, a database, the spool and the
 * built helper for the archive tests. Linked into every unit test binary;
 * only those tests call it. It must not call the inspection client
 * (client.c): test_mail_scan_inspect.c defines hg_inspect_run itself, and
 * pulling client.c in would define it twice.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper_inspect.h"

void
hgt_fill(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t  x = seed * 2654435761u + 1;
    size_t    i;

    /* xorshift32: never 0, or it stays 0 */
    if (x == 0) {
        x = 1;
    }
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char) x;
    }
}

void
hgt_fill_as(unsigned char *p, size_t n, uint32_t seed, const char *magic)
{
    size_t  m;

    hgt_fill(p, n, seed);
    if (magic == NULL) {
        magic = "Rn";
    }
    m = strlen(magic);
    memcpy(p, magic, m < n ? m : n);
}

unsigned char *
hgt_bytes(size_t n, uint32_t seed, const char *magic)
{
    unsigned char  *b = malloc(n);

    assert_non_null(b);
    hgt_fill_as(b, n, seed, magic);
    return b;
}

void
hgt_digests(const void *p, size_t n, hg_digests_t *d)
{
    hg_hash_t  *h = hg_hash_new();

    assert_non_null(h);
    assert_int_equal(hg_hash_init(h, HG_ALGS_ALL), HG_OK);
    assert_int_equal(hg_hash_update(h, p, n), HG_OK);
    assert_int_equal(hg_hash_final(h, d), HG_OK);
    hg_hash_free(h);
}

hg_db_t *
hgt_db_listing(const char *list, const unsigned char *const *files,
               const size_t *lens, size_t n)
{
    char          dir[] = "/tmp/hg-test-db-XXXXXX", path[64];
    hg_dbb_t     *b = hg_dbb_new();
    hg_db_t      *db;
    hg_entry_t    e;
    hg_digests_t  d;
    hg_err_t      err;
    uint32_t      id;
    size_t        i;

    assert_non_null(b);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/test.hgdb", dir);
    if (hg_dbb_list(b, list, "", HG_LIST_BLOCK, &id, &err) != HG_OK) {
        fail_msg("hg_dbb_list: %s", err.msg);
    }
    for (i = 0; i < n; i++) {
        memset(&e, 0, sizeof(e));
        e.alg = HG_ALG_SHA256;
        hgt_digests(files[i], lens[i], &d);
        memcpy(e.digest, d.d[HG_ALG_SHA256], 32);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    if (hg_dbb_write(b, path, 0, &err) != HG_OK) {
        fail_msg("hg_dbb_write: %s", err.msg);
    }
    hg_dbb_free(b);
    if (hg_db_open(path, 0, &db, &err) != HG_OK) {
        fail_msg("hg_db_open: %s", err.msg);
    }
    /* mapped: the file can go now */
    unlink(path);
    rmdir(dir);
    return db;
}

hg_status_t
hgt_spool_feed(hg_spool_t *sp, const void *b, size_t n, const size_t *chunks,
               size_t nchunks)
{
    const unsigned char  *p = b;
    hg_err_t              err;
    hg_status_t           st = HG_OK;
    size_t                off = 0, c, i = 0;

    while (off < n && st == HG_OK) {
        c = chunks[i++ % nchunks];
        if (c > n - off) {
            c = n - off;
        }
        st = hg_spool_feed(sp, p + off, c, &err);
        off += c;
    }
    return st;
}

void
hgt_assert_fd_holds(int fd, const void *want, size_t n)
{
    unsigned char  *got = malloc(n + 1);

    assert_non_null(got);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t) n);
    assert_int_equal(pread(fd, got, n + 1, 0), (ssize_t) n);
    assert_memory_equal(got, want, n);
    free(got);
}

const char *
hgt_self(void)
{
    static char  self[PATH_MAX];
    ssize_t      n;

    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    return self;
}

const char *
hgt_inspect_helper(void)
{
    static char  helper[PATH_MAX + 32];
    const char  *bin = getenv("HG_BIN");
    char         dir[PATH_MAX], *slash;

    if (bin != NULL) {
        snprintf(helper, sizeof(helper), "%s/hashgate-inspect", bin);
    } else {
        /* build/tests/test_x -> build/hashgate-inspect */
        snprintf(dir, sizeof(dir), "%s", hgt_self());
        slash = strrchr(dir, '/');
        *slash = '\0';
        snprintf(helper, sizeof(helper), "%s/../hashgate-inspect", dir);
    }
    if (access(helper, X_OK) != 0) {
        fprintf(stderr, "%s: %s\n", helper, strerror(errno));
        return NULL;
    }
    return helper;
}

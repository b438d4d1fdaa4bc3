/*
 * test_inspect_spool.c - hg_spool (common/inspect/spool.c): what is kept
 * of a part on its way to the inspection helper. A container, whatever
 * the feed sizes, comes out as a sealed memfd holding exactly its bytes;
 * an object that is not one costs nothing after the sniff (its later bytes
 * are never read); a container past max_bytes fails with HG_ELIMIT; a
 * signature deep in the head (tar at 257, iso9660 at 32769) is found.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "hashgate/inspect.h"

/* n seeded pseudo-random bytes: never a signature at offset 0 */
static unsigned char *
random_bytes(size_t n, unsigned seed)
{
    unsigned char  *b = malloc(n);
    size_t          i;
    uint32_t        x = seed * 2654435761u + 1;

    assert_non_null(b);
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char) x;
    }
    b[0] = 'R';                 /* no signature starts with R but rar's */
    b[1] = 'n';
    return b;
}

/* Feed b in chunks of the sizes in turn (cycled). */
static hg_status_t
feed(hg_spool_t *sp, const unsigned char *b, size_t n, const size_t *chunks,
     size_t nchunks)
{
    hg_err_t     err;
    hg_status_t  st = HG_OK;
    size_t       off = 0, c, i = 0;

    while (off < n && st == HG_OK) {
        c = chunks[i++ % nchunks];
        if (c > n - off) {
            c = n - off;
        }
        st = hg_spool_feed(sp, b + off, c, &err);
        off += c;
    }
    return st;
}

/* The whole content of fd must be want (n bytes). */
static void
assert_fd_holds(int fd, const unsigned char *want, size_t n)
{
    unsigned char  *got = malloc(n + 1);
    ssize_t         r;

    assert_non_null(got);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t) n);
    r = pread(fd, got, n + 1, 0);
    assert_int_equal(r, (ssize_t) n);
    assert_memory_equal(got, want, n);
    free(got);
}

static int
count_spool_fds(void)
{
    struct dirent  *de;
    DIR            *d = opendir("/proc/self/fd");
    char            path[300], link[256];
    ssize_t         n;
    int             count = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
        n = readlink(path, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            count += strncmp(link, "/memfd:hashgate-spool", 21) == 0;
        }
    }
    closedir(d);
    return count;
}

static void
test_zip_comes_out_whole_in_a_sealed_memfd(void **state)
{
    static const size_t  chunks[] = { 1, 7, 4093, 65536, 3, 200000, 9 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = random_bytes(600000, 1);
    const char          *format = NULL;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1, seals;

    (void) state;
    memcpy(b, "PK\x03\x04", 4);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(feed(sp, b, 600000, chunks, 7), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_int_equal(size, 600000);
    assert_string_equal(format, "zip");
    assert_true(fd >= 0);
    assert_fd_holds(fd, b, 600000);

    /* sealed: the helper cannot change or truncate it */
    seals = fcntl(fd, F_GET_SEALS);
    assert_int_equal(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW
                              | F_SEAL_SEAL),
                     F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW
                     | F_SEAL_SEAL);
    assert_int_equal(write(fd, "x", 1), -1);
    assert_int_equal(ftruncate(fd, 10), -1);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(count_spool_fds(), 1);

    /* the next object closes it */
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(count_spool_fds(), 0);
    hg_spool_free(sp);
    free(b);
}

static void
test_not_a_container_is_not_kept(void **state)
{
    static const size_t  chunks[] = { 1000 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = random_bytes(100000, 2);
    const char          *format = "x";
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1;

    (void) state;
    hg_spool_begin(sp, 1000);           /* a limit that does not matter */
    assert_int_equal(feed(sp, b, 100000, chunks, 1), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 0);
    assert_int_equal(fd, -1);
    assert_int_equal(count_spool_fds(), 0);
    hg_spool_free(sp);
    free(b);
}

static void
test_after_no_the_bytes_are_never_read(void **state)
{
    hg_spool_t     *sp = hg_spool_new();
    unsigned char  *b = random_bytes(HG_INSPECT_SNIFF_BYTES, 3);
    unsigned char  *guard;
    const char     *format;
    hg_status_t     st;
    hg_err_t        err;
    uint64_t        size;
    int             fd;

    (void) state;
    /* a page nobody may read: a copy or a write(2) of it would fault */
    guard = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                 0);
    assert_true(guard != MAP_FAILED);

    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hg_spool_feed(sp, b, HG_INSPECT_SNIFF_BYTES, &err),
                     HG_OK);
    assert_int_equal(hg_spool_feed(sp, guard, 1 << 20, &err), HG_OK);
    assert_int_equal(hg_spool_feed(sp, guard, 1 << 20, &err), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 0);
    munmap(guard, 1 << 20);
    hg_spool_free(sp);
    free(b);
}

static void
test_small_tar_is_found_at_the_end(void **state)
{
    static const size_t  one[] = { 1 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = random_bytes(2048, 4);
    const char          *format = NULL;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1;

    (void) state;
    /* ustar at 257: byte by byte, the sniff cannot say before the end of
     * a head this short (iso9660 is 32 KiB further) */
    memcpy(b + 257, "ustar", 5);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(feed(sp, b, 2048, one, 1), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_string_equal(format, "tar");
    assert_int_equal(size, 2048);
    assert_fd_holds(fd, b, 2048);
    hg_spool_free(sp);
    free(b);
}

static void
test_iso9660_signature_deep_in_the_head(void **state)
{
    static const size_t  chunks[] = { 5000 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = random_bytes(100000, 5);
    const char          *format = NULL;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1;

    (void) state;
    memcpy(b + 32769, "CD001", 5);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(feed(sp, b, 100000, chunks, 1), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_string_equal(format, "iso9660");
    assert_fd_holds(fd, b, 100000);
    hg_spool_free(sp);
    free(b);
}

static void
test_container_past_max_bytes_is_the_limit(void **state)
{
    static const size_t  chunks[] = { 300 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = random_bytes(5000, 6);
    const char          *format;
    hg_status_t          st = HG_OK;
    hg_err_t             err;
    uint64_t             size;
    int                  fd;

    (void) state;
    memcpy(b, "\x1f\x8b", 2);
    hg_spool_begin(sp, 1000);
    assert_int_equal(feed(sp, b, 5000, chunks, 1), HG_ELIMIT);
    /* later feeds say so again and cost nothing */
    assert_int_equal(hg_spool_feed(sp, b, 10, &err), HG_ELIMIT);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), -1);
    assert_int_equal(st, HG_ELIMIT);
    assert_string_equal(err.msg, "gzip container larger than 1000 bytes");
    assert_int_equal(count_spool_fds(), 0);

    /* exactly max_bytes is kept */
    hg_spool_begin(sp, 1000);
    assert_int_equal(feed(sp, b, 1000, chunks, 1), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_int_equal(size, 1000);

    /* a limit below the sniffed head, in one feed */
    hg_spool_begin(sp, 10);
    assert_int_equal(hg_spool_feed(sp, b, 5000, &err), HG_ELIMIT);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), -1);
    assert_int_equal(st, HG_ELIMIT);
    hg_spool_free(sp);
    free(b);
}

static void
test_empty_object_is_not_a_container(void **state)
{
    hg_spool_t   *sp = hg_spool_new();
    const char   *format;
    hg_status_t   st;
    hg_err_t      err;
    uint64_t      size;
    int           fd = -1;

    (void) state;
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 0);
    hg_spool_free(sp);
    hg_spool_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zip_comes_out_whole_in_a_sealed_memfd),
        cmocka_unit_test(test_not_a_container_is_not_kept),
        cmocka_unit_test(test_after_no_the_bytes_are_never_read),
        cmocka_unit_test(test_small_tar_is_found_at_the_end),
        cmocka_unit_test(test_iso9660_signature_deep_in_the_head),
        cmocka_unit_test(test_container_past_max_bytes_is_the_limit),
        cmocka_unit_test(test_empty_object_is_not_a_container),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

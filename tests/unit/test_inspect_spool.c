/*
 * test_inspect_spool.c - hg_spool (common/inspect/spool.c): what is kept
 * of a part on its way to the inspection helper. A container, whatever
 * the feed sizes, comes out as a sealed memfd holding exactly its bytes;
 * an object that is not one costs nothing after the sniff (its later bytes
 * are never read); a container past max_bytes fails with HG_ELIMIT; a
 * signature deep in the head (tar at 257, iso9660 at 32769) is found.
 *
 * The head is held past its first 512 bytes only while the part may be an
 * iso9660 image: text or a JPEG, PNG, ... signature there is not held
 * (its next 32 KiB are never read), a hybrid image's MBR is, and an image
 * behind a JPEG signature fails rather than pass unopened.
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
#include "helper_inspect.h"

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
    unsigned char       *b = hgt_bytes(600000, 1, "PK\x03\x04");
    const char          *format = NULL;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1, seals;

    (void) state;
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, b, 600000, chunks, 7), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_int_equal(size, 600000);
    assert_string_equal(format, "zip");
    assert_true(fd >= 0);
    hgt_assert_fd_holds(fd, b, 600000);

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
    unsigned char       *b = hgt_bytes(100000, 2, NULL);
    const char          *format = "x";
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1;

    (void) state;
    hg_spool_begin(sp, 1000);           /* a limit that does not matter */
    assert_int_equal(hgt_spool_feed(sp, b, 100000, chunks, 1), HG_OK);
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
    unsigned char  *b = hgt_bytes(HG_INSPECT_SNIFF_BYTES, 3, NULL);
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
    unsigned char       *b = hgt_bytes(2048, 4, NULL);
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
    assert_int_equal(hgt_spool_feed(sp, b, 2048, one, 1), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_string_equal(format, "tar");
    assert_int_equal(size, 2048);
    hgt_assert_fd_holds(fd, b, 2048);
    hg_spool_free(sp);
    free(b);
}

static void
test_iso9660_signature_deep_in_the_head(void **state)
{
    static const size_t  chunks[] = { 5000 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = hgt_bytes(100000, 5, NULL);
    const char          *format = NULL;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1;

    (void) state;
    memcpy(b + 32769, "CD001", 5);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, b, 100000, chunks, 1), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_string_equal(format, "iso9660");
    hgt_assert_fd_holds(fd, b, 100000);
    hg_spool_free(sp);
    free(b);
}

/* 512 bytes a part starts with, then seeded bytes up to n. */
static unsigned char *
part_with_lead(const char *lead, size_t n, unsigned seed)
{
    unsigned char  *b = hgt_bytes(n, seed, NULL);
    size_t          i;

    if (strcmp(lead, "text") == 0) {
        for (i = 0; i < 512; i++) {
            b[i] = (i % 64 == 63) ? '\n' : (unsigned char) ('a' + b[i] % 26);
        }
    } else if (strcmp(lead, "JPEG") == 0) {
        memcpy(b, "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", 12);
    } else if (strcmp(lead, "PNG") == 0) {
        memcpy(b, "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16);
    } else if (strcmp(lead, "PDF") == 0) {
        memcpy(b, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", 15);
    }
    return b;
}

/*
 * Past its first 512 bytes, a part that starts as text or a JPEG, PNG or
 * PDF is not copied: the system area an image would have there is mapped
 * PROT_NONE (a copy faults), only the page of "CD001" at 32769 can be read,
 * and everything after it is PROT_NONE again.
 */
static void
test_text_or_jpeg_part_is_not_held_past_its_first_bytes(void **state)
{
    static const char  *leads[] = { "JPEG", "PNG", "PDF", "text" };
    static const size_t chunks[] = { 1, 700, 4096, 30000, 1 << 20 };
    const size_t        page = 4096, tail = 1 << 20;
    const size_t        len = 9 * page + tail;
    unsigned char      *m, *b;
    const char         *format;
    hg_spool_t         *sp = hg_spool_new();
    hg_status_t         st;
    hg_err_t            err;
    uint64_t            size;
    size_t              i, c, off, n;
    int                 fd;

    (void) state;
    for (i = 0; i < sizeof(leads) / sizeof(leads[0]); i++) {
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            assert_true(m != MAP_FAILED);
            b = part_with_lead(leads[i], 9 * page, 7 + (unsigned) i);
            memcpy(m, b, 9 * page);
            free(b);
            assert_int_equal(mprotect(m + page, 7 * page, PROT_NONE), 0);
            assert_int_equal(mprotect(m + 9 * page, tail, PROT_NONE), 0);

            hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
            for (off = 0; off < len; off += n) {
                n = len - off < chunks[c] ? len - off : chunks[c];
                assert_int_equal(hg_spool_feed(sp, m + off, n, &err), HG_OK);
            }
            assert_int_equal(hg_spool_copied(sp), 512);
            assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st,
                                          &err), 0);
            munmap(m, len);
        }
    }
    hg_spool_free(sp);
}

/* A hybrid image: an MBR (boot code, 0x55AA at 510) in its system area. */
static unsigned char *
hybrid_iso(size_t n, unsigned seed)
{
    unsigned char  *b = hgt_bytes(n, seed, NULL);

    b[0] = 0x33;                /* isohybrid's MBR: xor %ax,%ax ... */
    b[1] = 0xed;
    b[510] = 0x55;
    b[511] = 0xaa;
    memcpy(b + 32768, "\x01" "CD001" "\x01", 7);
    return b;
}

static void
test_hybrid_iso_with_an_mbr_is_still_found(void **state)
{
    static const size_t  chunks[] = { 1, 511, 4000, 7, 65536 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = hybrid_iso(100000, 8);
    const char          *format = NULL;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1;

    (void) state;
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, b, 100000, chunks, 5), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_string_equal(format, "iso9660");
    assert_int_equal(size, 100000);
    hgt_assert_fd_holds(fd, b, 100000);       /* the MBR included */
    assert_int_equal(hg_spool_copied(sp), 100000);
    hg_spool_free(sp);
    free(b);
}

/*
 * An image whose system area starts like a JPEG or like text (anyone can
 * write that there): its first 32 KiB were let go, so it cannot be
 * opened; it fails, it does not pass unopened. "CD001" split over feeds
 * is seen; four bytes of it are not enough.
 */
static void
test_iso_behind_a_jpeg_or_text_start_fails_not_passes(void **state)
{
    static const char   *leads[] = { "JPEG", "text" };
    static const size_t  chunks[] = { 1, 3, 32770, 100000 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b;
    const char          *format;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size;
    size_t               i, c;
    int                  fd;
    char                 want[128];

    (void) state;
    for (i = 0; i < 2; i++) {
        b = part_with_lead(leads[i], 100000, 9);
        memcpy(b + 32768, "\x01" "CD001" "\x01", 7);
        snprintf(want, sizeof(want), "an iso9660 image whose first bytes "
                 "say %s: not opened (they were not kept)", leads[i]);
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
            assert_int_equal(hgt_spool_feed(sp, b, 100000, chunks + c, 1),
                             HG_EFORMAT);
            assert_int_equal(hg_spool_copied(sp), 512);
            st = HG_OK;
            assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st,
                                          &err), -1);
            assert_int_equal(st, HG_EFORMAT);
            assert_string_equal(err.msg, want);
        }

        /* "CD00" and something else: a JPEG after all */
        b[32773] = '2';
        hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
        assert_int_equal(hgt_spool_feed(sp, b, 100000, chunks, 1), HG_OK);
        assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err),
                         0);
        free(b);
    }
    hg_spool_free(sp);
}

/* What a part costs the spool beyond its hashing, for a typical mix. */
static void
test_bytes_copied_for_a_typical_mix(void **state)
{
    static const size_t  chunks[] = { 16384 };
    static const struct {
        const char  *what;
        size_t       len;
        uint64_t     want;
    } mix[] = {
        { "JPEG", 200000, 512 },
        { "text", 50000, 512 },
        { "iso9660", 100000, 100000 },
        { "hybrid iso9660", 100000, 100000 },
        { "zip", 100000, 100000 },
        { "other binary", 100000, HG_INSPECT_SNIFF_BYTES },
    };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b;
    const char          *format;
    hg_status_t          st;
    hg_err_t             err;
    uint64_t             size;
    size_t               i;
    int                  fd;

    (void) state;
    for (i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
        if (strcmp(mix[i].what, "hybrid iso9660") == 0) {
            b = hybrid_iso(mix[i].len, 10);
        } else {
            b = part_with_lead(mix[i].what, mix[i].len, 10);
        }
        if (strcmp(mix[i].what, "iso9660") == 0) {
            memset(b, 0, 32768);
            memcpy(b + 32768, "\x01" "CD001" "\x01", 7);
        } else if (strcmp(mix[i].what, "zip") == 0) {
            memcpy(b, "PK\x03\x04", 4);
        }
        hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
        assert_int_equal(hgt_spool_feed(sp, b, mix[i].len, chunks, 1),
                         HG_OK);
        print_message("# bytes copied: %-15s part of %6zu bytes: %6llu\n",
                      mix[i].what, mix[i].len,
                      (unsigned long long) hg_spool_copied(sp));
        assert_int_equal(hg_spool_copied(sp), mix[i].want);
        (void) hg_spool_end(sp, &fd, &size, &format, &st, &err);
        free(b);
    }
    hg_spool_free(sp);
}

static void
test_container_past_max_bytes_is_the_limit(void **state)
{
    static const size_t  chunks[] = { 300 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = hgt_bytes(5000, 6, "\x1f\x8b");
    const char          *format;
    hg_status_t          st = HG_OK;
    hg_err_t             err;
    uint64_t             size;
    int                  fd;

    (void) state;
    hg_spool_begin(sp, 1000);
    assert_int_equal(hgt_spool_feed(sp, b, 5000, chunks, 1), HG_ELIMIT);
    /* later feeds say so again and cost nothing */
    assert_int_equal(hg_spool_feed(sp, b, 10, &err), HG_ELIMIT);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), -1);
    assert_int_equal(st, HG_ELIMIT);
    assert_string_equal(err.msg, "gzip container larger than 1000 bytes");
    assert_int_equal(count_spool_fds(), 0);

    /* exactly max_bytes is kept */
    hg_spool_begin(sp, 1000);
    assert_int_equal(hgt_spool_feed(sp, b, 1000, chunks, 1), HG_OK);
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

/* ---- images (hg_spool_images) ---- */

static void
test_image_part_is_kept_only_with_images_on(void **state)
{
    static const size_t  chunks[] = { 1, 2, 3, 5, 4096, 65536 };
    static const struct {
        const char  *head;
        size_t       len;
        const char  *format;
    } sigs[] = {
        { "\xff\xd8\xff\xe0", 4, "jpeg" },
        { "\x89PNG\r\n\x1a\n", 8, "png" },
        { "GIF89a", 6, "gif" },
        { "RIFF\x10\x00\x00\x00WEBP", 12, "webp" },
    };
    hg_spool_t     *sp = hg_spool_new();
    unsigned char  *b;
    const char     *format = NULL;
    hg_status_t     st;
    hg_err_t        err;
    uint64_t        size = 0;
    size_t          i;
    int             fd = -1;

    (void) state;
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        b = hgt_bytes(100000, (unsigned) i + 3, NULL);
        memcpy(b, sigs[i].head, sigs[i].len);
        /* images off (the default): nothing kept past the head */
        hg_spool_images(sp, 0);
        hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
        assert_int_equal(hgt_spool_feed(sp, b, 100000, chunks, 6), HG_OK);
        assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 0);
        assert_int_equal(hg_spool_image(sp), HG_IMAGE_NONE);
        assert_true(hg_spool_copied(sp) <= 512);

        /* on: kept whole for the helper, named by its bytes */
        hg_spool_images(sp, HG_IMAGE_MAX_BYTES);
        hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
        assert_int_equal(hgt_spool_feed(sp, b, 100000, chunks, 6), HG_OK);
        assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
        assert_string_equal(format, sigs[i].format);
        assert_int_equal(hg_spool_image(sp), (hg_image_format_t) (i + 1));
        assert_int_equal(size, 100000);
        hgt_assert_fd_holds(fd, b, 100000);

        /* a short one, ended before its 12th byte, is judged whole */
        hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
        assert_int_equal(hg_spool_feed(sp, b, sigs[i].len, &err), HG_OK);
        assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err),
                         1);
        free(b);
    }

    /* not an image: a GIF signature of another version, RIFF not WebP */
    b = hgt_bytes(5000, 9, NULL);
    memcpy(b, "RIFF\x10\x00\x00\x00WAVE", 12);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, b, 5000, chunks, 6), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 0);
    memcpy(b, "GIF88a", 6);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, b, 5000, chunks, 6), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 0);

    /* a container's signature is a container's, images on or not */
    memcpy(b, "PK\x03\x04", 4);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, b, 5000, chunks, 6), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_string_equal(format, "zip");
    assert_int_equal(hg_spool_image(sp), HG_IMAGE_NONE);
    free(b);
    hg_spool_free(sp);
}

static void
test_image_past_its_byte_limit_is_the_limit(void **state)
{
    static const size_t  chunks[] = { 4096 };
    hg_spool_t          *sp = hg_spool_new();
    unsigned char       *b = hgt_bytes(50000, 4, "\x89PNG\r\n\x1a\n");
    const char          *format = NULL;
    hg_status_t          st = HG_OK;
    hg_err_t             err;
    uint64_t             size = 0;
    int                  fd = -1;

    (void) state;
    /* the image limit, not the container's */
    hg_spool_images(sp, 20000);
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, b, 50000, chunks, 1), HG_ELIMIT);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), -1);
    assert_int_equal(st, HG_ELIMIT);
    assert_int_equal(hg_spool_image(sp), HG_IMAGE_PNG);
    assert_non_null(strstr(err.msg, "png image larger than 20000 bytes"));
    assert_true(hg_spool_copied(sp) <= 20000 + 4096);
    free(b);
    hg_spool_free(sp);
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
        cmocka_unit_test(test_text_or_jpeg_part_is_not_held_past_its_first_bytes),
        cmocka_unit_test(test_hybrid_iso_with_an_mbr_is_still_found),
        cmocka_unit_test(test_iso_behind_a_jpeg_or_text_start_fails_not_passes),
        cmocka_unit_test(test_bytes_copied_for_a_typical_mix),
        cmocka_unit_test(test_container_past_max_bytes_is_the_limit),
        cmocka_unit_test(test_empty_object_is_not_a_container),
        cmocka_unit_test(test_image_part_is_kept_only_with_images_on),
        cmocka_unit_test(test_image_past_its_byte_limit_is_the_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

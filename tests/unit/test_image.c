/*
 * test_image.c - decoding images from memory for PDQ (image.h): the
 * conformance vectors through the helper's decoder, reduced JPEG scales,
 * the limits, hostile files, and the sandbox (no open, no exec pages).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <seccomp.h>
#include <zlib.h>

#include "hashgate/image.h"
#include "helper_pdqvec.h"

static hgt_pdqvec_t     vecs[128];
static unsigned char   *bytes[128];
static size_t           lens[128];
static size_t           nvecs;

static int
setup(void **state)
{
    const char *dir;
    int         n = hgt_pdqvec_load(vecs, 128, &dir);
    size_t      i;

    (void) state;
    if (n <= 0) {
        return -1;
    }
    nvecs = (size_t) n;
    for (i = 0; i < nvecs; i++) {
        bytes[i] = hgt_pdqvec_image(vecs[i].file, &lens[i]);
        if (bytes[i] == NULL) {
            return -1;
        }
    }
    return 0;
}

static int
teardown(void **state)
{
    size_t  i;

    (void) state;
    for (i = 0; i < nvecs; i++) {
        free(bytes[i]);
    }
    return 0;
}

static int
distance_to(const hgt_pdqvec_t *v, const hg_pdq_hash_t *h)
{
    hg_pdq_hash_t   want;

    assert_int_equal(hg_pdq_from_hex(v->hex, HG_PDQ_HEX_LEN, &want), 0);
    return hg_pdq_distance(&want, h);
}

/* At full scale the decoder gives the reference's pixels: every vector exact. */
static void
test_image_vectors_decoded_from_memory_hash_as_the_reference(void **state)
{
    hg_image_limits_t   lim;
    hg_image_info_t     info;
    hg_err_t            err;
    size_t              i;

    (void) state;
    hg_image_limits_default(&lim);
    lim.jpeg_min_side = 0;
    for (i = 0; i < nvecs; i++) {
        err.msg[0] = '\0';
        if (hg_image_pdq(bytes[i], lens[i], &lim, &info, &err) != HG_OK) {
            fail_msg("%s: %s", vecs[i].file, err.msg);
        }
        assert_int_equal(info.rows, vecs[i].rows);
        assert_int_equal(info.cols, vecs[i].cols);
        assert_int_equal(info.scale, 1);
        if (distance_to(&vecs[i], &info.pdq.hash) != 0
            || info.pdq.quality != vecs[i].quality) {
            fail_msg("%s: %d bits, quality %d (reference %d)", vecs[i].file,
                     distance_to(&vecs[i], &info.pdq.hash), info.pdq.quality,
                     vecs[i].quality);
        }
    }
}

/*
 * Reduced DCT scales stay within the lossy tolerance (10 bits) of the
 * reference: the vectors large enough for 1/2 once the minimum side is
 * 512 (2000 x 1500, 1920 x 1080), and a 4000 x 3000 picture with fine
 * stripes (the hard case: a DCT-domain downscale aliases them unlike
 * PDQ's filter) at the default, against itself at full scale.
 */
static unsigned char *
striped_jpeg(int w, int h, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr       e;
    unsigned char              *out = NULL, *row = malloc((size_t) w * 3);
    JSAMPROW                    rp = row;
    int                         x, y;

    assert_non_null(row);
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, len);
    c.image_width = (JDIMENSION) w;
    c.image_height = (JDIMENSION) h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            double  dx = (double) x / w - 0.3, dy = (double) y / h - 0.6;
            double  v = 128.0 + 20.0 * sin(x * 0.7) * cos(y * 0.5)
                        + 90.0 / (1.0 + 30.0 * (dx * dx + dy * dy)) - 45.0;

            v = v < 0 ? 0 : v > 255 ? 255 : v;
            row[3 * x] = (unsigned char) v;
            row[3 * x + 1] = (unsigned char) (255 - v);
            row[3 * x + 2] = (unsigned char) ((x ^ y) & 0xff);
        }
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return out;
}

static void
test_image_large_jpegs_at_reduced_scale_stay_within_10_bits(void **state)
{
    hg_image_limits_t   lim;
    hg_image_info_t     info, full;
    hg_err_t            err;
    size_t              i;
    int                 scaled = 0, d;
    unsigned long       len;
    unsigned char      *jpg;

    (void) state;
    hg_image_limits_default(&lim);
    lim.jpeg_min_side = 512;
    for (i = 0; i < nvecs; i++) {
        assert_int_equal(hg_image_pdq(bytes[i], lens[i], &lim, &info, &err), HG_OK);
        d = distance_to(&vecs[i], &info.pdq.hash);
        if (info.scale > 1) {
            printf("# %s: %ux%u decoded at 1/%u, %d bits from the reference, "
                   "quality %d (%d)\n", vecs[i].file, info.width, info.height,
                   info.scale, d, info.pdq.quality, vecs[i].quality);
            assert_true(d <= 10);
            scaled++;
        } else {
            assert_int_equal(d, 0);
        }
    }
    assert_true(scaled >= 2);

    jpg = striped_jpeg(4000, 3000, &len);
    assert_int_equal(hg_image_pdq(jpg, len, NULL, &info, &err), HG_OK);
    lim.jpeg_min_side = 0;
    assert_int_equal(hg_image_pdq(jpg, len, &lim, &full, &err), HG_OK);
    d = hg_pdq_distance(&info.pdq.hash, &full.pdq.hash);
    printf("# 4000x3000 striped JPEG at 1/%u: %d bits from full scale, quality %d (%d)\n",
           info.scale, d, info.pdq.quality, full.pdq.quality);
    assert_true(info.scale > 1);
    assert_true(full.pdq.quality >= 50);
    assert_true(d <= 10);
    free(jpg);
}

/* ---- hand-made hostile files ---- */

static size_t
png_chunk(unsigned char *o, const char *type, const unsigned char *data, uint32_t n)
{
    uLong   crc;

    o[0] = (unsigned char) (n >> 24);
    o[1] = (unsigned char) (n >> 16);
    o[2] = (unsigned char) (n >> 8);
    o[3] = (unsigned char) n;
    memcpy(o + 4, type, 4);
    if (n > 0) {
        memcpy(o + 8, data, n);
    }
    crc = crc32(0, o + 4, n + 4);
    o[8 + n] = (unsigned char) (crc >> 24);
    o[9 + n] = (unsigned char) (crc >> 16);
    o[10 + n] = (unsigned char) (crc >> 8);
    o[11 + n] = (unsigned char) crc;
    return 12 + n;
}

/* A PNG declaring w x h RGB pixels whose IDAT holds deflated zero rows. */
static unsigned char *
png_of(uint32_t w, uint32_t h, uint32_t real_rows, size_t *len)
{
    unsigned char   ihdr[13], *o, *raw, *z;
    size_t          rawlen = (size_t) real_rows * (1 + (size_t) w * 3);
    uLongf          zlen = compressBound(rawlen);
    size_t          n = 0;

    raw = calloc(1, rawlen + 1);
    z = malloc(zlen);
    o = malloc(zlen + 100);
    assert_true(raw && z && o);
    assert_int_equal(compress2(z, &zlen, raw, rawlen, 9), Z_OK);
    ihdr[0] = (unsigned char) (w >> 24); ihdr[1] = (unsigned char) (w >> 16);
    ihdr[2] = (unsigned char) (w >> 8);  ihdr[3] = (unsigned char) w;
    ihdr[4] = (unsigned char) (h >> 24); ihdr[5] = (unsigned char) (h >> 16);
    ihdr[6] = (unsigned char) (h >> 8);  ihdr[7] = (unsigned char) h;
    ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
    memcpy(o, "\x89PNG\r\n\x1a\n", 8);
    n = 8;
    n += png_chunk(o + n, "IHDR", ihdr, 13);
    n += png_chunk(o + n, "IDAT", z, (uint32_t) zlen);
    n += png_chunk(o + n, "IEND", NULL, 0);
    free(raw);
    free(z);
    *len = n;
    return o;
}

static void
expect(const unsigned char *b, size_t len, const hg_image_limits_t *lim,
       hg_status_t want, const char *in_msg)
{
    hg_image_info_t info;
    hg_err_t        err;
    hg_status_t     st;

    err.msg[0] = '\0';
    st = hg_image_pdq(b, len, lim, &info, &err);
    printf("# %s: %s\n", hg_status_str(st), err.msg);
    assert_int_equal(st, want);
    if (in_msg != NULL) {
        assert_non_null(strstr(err.msg, in_msg));
    }
}

static void
test_image_huge_dimensions_in_a_tiny_file_reach_the_pixel_limit(void **state)
{
    /* JPEG: SOI, SOF0 65000 x 65000, SOS, no data */
    static const unsigned char jpeg[] = {
        0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0xfd, 0xe8, 0xfd, 0xe8, 0x03,
        0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00,
        0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11,
        0x00, 0x3f, 0x00, 0xff, 0xd9 };
    /* GIF: a 65535 x 65535 screen */
    static const unsigned char gif[] = "GIF89a\xff\xff\xff\xff\x00\x00\x00;";
    /* WebP: VP8X canvas 16384 x 16384 */
    static const unsigned char webp[] = "RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00"
                                        "\x00\x00\x00\x00\xff\x3f\x00\xff\x3f\x00";
    unsigned char  *png;
    size_t          len;

    (void) state;
    expect(jpeg, sizeof(jpeg), NULL, HG_ELIMIT, "past the limit");
    expect(gif, sizeof(gif) - 1, NULL, HG_ELIMIT, "past the limit");
    expect(webp, sizeof(webp) - 1, NULL, HG_ELIMIT, "past the limit");
    /* a PNG bomb: 9000 x 9000 declared (81 MP), one row in the file */
    png = png_of(9000, 9000, 1, &len);
    printf("# the PNG bomb is %zu bytes\n", len);
    expect(png, len, NULL, HG_ELIMIT, "9000 x 9000");
    free(png);
}

static void
test_image_byte_and_time_limits_are_named(void **state)
{
    hg_image_limits_t   lim;
    size_t              i;
    unsigned char      *png;
    size_t              len;

    (void) state;
    hg_image_limits_default(&lim);
    lim.max_bytes = 100;
    expect(bytes[0], lens[0], &lim, HG_ELIMIT, "bytes");
    /* a 4000 x 4000 PNG of zeros: decoding takes far more than 1 ms */
    png = png_of(4000, 4000, 4000, &len);
    hg_image_limits_default(&lim);
    lim.timeout_ms = 1;
    expect(png, len, &lim, HG_ELIMIT, "time limit");
    free(png);
    for (i = 0; i < nvecs; i++) {
        hg_image_info_t info;
        hg_err_t        err;

        /* the limit is inclusive: exactly the image's pixels pass */
        hg_image_limits_default(&lim);
        lim.max_pixels = (uint64_t) vecs[i].rows * vecs[i].cols;
        assert_int_equal(hg_image_pdq(bytes[i], lens[i], &lim, &info, &err), HG_OK);
        lim.max_pixels--;
        assert_int_equal(hg_image_pdq(bytes[i], lens[i], &lim, &info, &err), HG_ELIMIT);
    }
}

/*
 * Every vector cut short at several places, and with bytes flipped (a
 * JPEG's Huffman tables among them): a status and a reason, never a crash
 * (the ASan build runs this too).
 */
static void
test_image_truncated_and_corrupt_files_fail_cleanly(void **state)
{
    hg_image_info_t info;
    hg_err_t        err;
    size_t          i, k, cut, pos;
    unsigned char  *b;
    int             ok = 0, refused = 0;
    unsigned        seed = 17;
    hg_status_t     st;

    (void) state;
    for (i = 0; i < nvecs; i++) {
        for (k = 1; k <= 7; k++) {
            cut = lens[i] * k / 8;
            b = malloc(cut + 1);
            assert_non_null(b);
            memcpy(b, bytes[i], cut);
            st = hg_image_pdq(b, cut, NULL, &info, &err);
            assert_true(st == HG_OK || st == HG_EFORMAT);
            ok += st == HG_OK;
            refused += st == HG_EFORMAT;
            free(b);
        }
        b = malloc(lens[i]);
        assert_non_null(b);
        for (k = 0; k < 20; k++) {
            memcpy(b, bytes[i], lens[i]);
            /* after the signature, in the first 1 KiB where tables live */
            pos = 8 + (size_t) rand_r(&seed) % (lens[i] > 1032 ? 1024 : lens[i] - 8);
            b[pos] ^= (unsigned char) (1 + rand_r(&seed) % 255);
            st = hg_image_pdq(b, lens[i], NULL, &info, &err);
            assert_true(st == HG_OK || st == HG_EFORMAT || st == HG_ELIMIT);
            ok += st == HG_OK;
            refused += st != HG_OK;
        }
        free(b);
    }
    printf("# %d damaged files hashed as decoded, %d refused\n", ok, refused);
    assert_true(refused > 0);
}

static void
test_image_other_bytes_are_no_image(void **state)
{
    static const unsigned char pdf[] = "%PDF-1.4\n";

    (void) state;
    assert_int_equal(hg_image_sniff(pdf, sizeof(pdf) - 1), HG_IMAGE_NONE);
    assert_int_equal(hg_image_sniff((const unsigned char *) "GIF89a", 6), HG_IMAGE_GIF);
    assert_int_equal(hg_image_sniff((const unsigned char *) "\xff\xd8\xff", 3), HG_IMAGE_JPEG);
    assert_int_equal(hg_image_sniff((const unsigned char *) "RIFF\0\0\0\0WEBP", 12), HG_IMAGE_WEBP);
    assert_int_equal(hg_image_sniff((const unsigned char *) "RIFF\0\0\0\0WAVE", 12), HG_IMAGE_NONE);
    expect(pdf, sizeof(pdf) - 1, NULL, HG_EFORMAT, "not a JPEG");
    expect((const unsigned char *) "\xff\xd8\xff", 3, NULL, HG_EFORMAT, "jpeg:");
    expect((const unsigned char *) "GIF89a", 6, NULL, HG_EFORMAT, "gif:");
}

/*
 * What the helper's sandbox refuses (docs/security.md): no file opened,
 * no program run, no process made, no executable page. The decoders need
 * none of it: every vector decodes in a child under a filter that kills
 * the process for any of those.
 */
static void
test_image_decoders_run_without_open_or_exec_pages(void **state)
{
    pid_t   pid;
    int     status;

    (void) state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        scmp_filter_ctx sc = seccomp_init(SCMP_ACT_ALLOW);
        hg_image_info_t info;
        hg_err_t        err;
        size_t          i;
        int             bad = 0;
        const int       kill[] = { SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(execve),
                                   SCMP_SYS(fork), SCMP_SYS(clone), SCMP_SYS(clone3) };

        if (sc == NULL) {
            _exit(3);
        }
        for (i = 0; i < sizeof(kill) / sizeof(kill[0]); i++) {
            if (seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS, kill[i], 0) != 0) {
                _exit(3);
            }
        }
        if (seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS, SCMP_SYS(mmap), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) != 0
            || seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS, SCMP_SYS(mprotect), 1,
                                SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) != 0
            || seccomp_load(sc) != 0) {
            _exit(3);
        }
        for (i = 0; i < nvecs; i++) {
            bad |= hg_image_pdq(bytes[i], lens[i], NULL, &info, &err) != HG_OK;
        }
        _exit(bad ? 4 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        fail_msg("decoding was killed by signal %d (a forbidden call)", WTERMSIG(status));
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The image row sent i-th in an interlaced GIF of h rows. */
static int
interlaced_row(int i, int h)
{
    static const int    start[] = { 0, 4, 2, 1 }, step[] = { 8, 8, 4, 2 };
    int                 p, n;

    for (p = 0; p < 4; p++) {
        n = (h - start[p] + step[p] - 1) / step[p];
        if (i < n) {
            return start[p] + i * step[p];
        }
        i -= n;
    }
    return -1;
}

/*
 * A GIF is its first frame on the logical screen: where the frame does not
 * cover the screen, the background colour; a second frame changes nothing.
 * The hash is compared with PDQ of the RGB built here by hand.
 */
static void
test_image_gif_is_its_first_frame_on_the_screen(void **state)
{
    enum { SW = 120, SH = 90, FX = 30, FY = 20, FW = 70, FH = 50 };
    char            path[] = "/tmp/hg-test-gif-XXXXXX";
    int             fd = mkstemp(path), err, y, x, f, i;
    GifColorType    pal[4] = { { 10, 20, 30 }, { 200, 40, 40 }, { 40, 200, 40 },
                               { 250, 250, 250 } };
    ColorMapObject *cm = GifMakeMapObject(4, pal);
    GifFileType    *g;
    GifPixelType    line[FW];
    unsigned char  *rgb = malloc(SW * SH * 3), *b;
    hg_image_info_t info;
    hg_pdq_result_t want;
    hg_err_t        e;
    size_t          len;
    FILE           *fp;
    long            n;

    (void) state;
    assert_true(fd >= 0 && cm != NULL && rgb != NULL);
    g = EGifOpenFileHandle(fd, &err);
    assert_non_null(g);
    EGifSetGifVersion(g, true);
    assert_int_equal(EGifPutScreenDesc(g, SW, SH, 2, 3, cm), GIF_OK);   /* background: index 3 */
    for (f = 0; f < 2; f++) {
        assert_int_equal(EGifPutImageDesc(g, f ? 0 : FX, f ? 0 : FY, FW, FH,
                                          f == 0, NULL), GIF_OK);
        /* the first frame interlaced: its rows go out in the 4 passes' order */
        for (i = 0; i < FH; i++) {
            y = f ? i : interlaced_row(i, FH);
            for (x = 0; x < FW; x++) {
                line[x] = (GifPixelType) (f ? 0 : ((x / 7 + y / 5) % 3));
            }
            assert_int_equal(EGifPutLine(g, line, FW), GIF_OK);
        }
    }
    assert_int_equal(EGifCloseFile(g, &err), GIF_OK);
    GifFreeMapObject(cm);

    for (y = 0; y < SH; y++) {
        for (x = 0; x < SW; x++) {
            int k = 3;

            if (x >= FX && x < FX + FW && y >= FY && y < FY + FH) {
                k = ((x - FX) / 7 + (y - FY) / 5) % 3;
            }
            rgb[(y * SW + x) * 3] = pal[k].Red;
            rgb[(y * SW + x) * 3 + 1] = pal[k].Green;
            rgb[(y * SW + x) * 3 + 2] = pal[k].Blue;
        }
    }
    assert_int_equal(hg_pdq_rgb(rgb, SH, SW, SW * 3, &want), HG_OK);

    fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    len = (size_t) n;
    b = malloc(len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, len, fp), len);
    fclose(fp);
    unlink(path);
    assert_int_equal(hg_image_pdq(b, len, NULL, &info, &e), HG_OK);
    assert_int_equal(info.cols, SW);
    assert_int_equal(info.rows, SH);
    assert_memory_equal(&info.pdq.hash, &want.hash, sizeof(want.hash));
    assert_int_equal(info.pdq.quality, want.quality);
    free(b);
    free(rgb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_vectors_decoded_from_memory_hash_as_the_reference),
        cmocka_unit_test(test_image_large_jpegs_at_reduced_scale_stay_within_10_bits),
        cmocka_unit_test(test_image_huge_dimensions_in_a_tiny_file_reach_the_pixel_limit),
        cmocka_unit_test(test_image_byte_and_time_limits_are_named),
        cmocka_unit_test(test_image_truncated_and_corrupt_files_fail_cleanly),
        cmocka_unit_test(test_image_other_bytes_are_no_image),
        cmocka_unit_test(test_image_gif_is_its_first_frame_on_the_screen),
        cmocka_unit_test(test_image_decoders_run_without_open_or_exec_pages),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

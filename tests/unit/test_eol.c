/*
 * test_eol.c - the streaming line-end converter (common/mime/eol.c): CRLF as
 * LF and bare LF as CRLF whatever the chunking, a CR held across chunk
 * ends, lone CRs, empty input, errors from the output, and the encodings
 * that count as undecoded.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hashgate/scan.h"
#include "mime/eol.h"

/* Output collected by _sink. */
typedef struct {
    unsigned char   buf[8192];
    size_t          len;
    size_t          calls;
    size_t          fail_after;     /* calls before HG_EIO; 0 = never */
} sink_t;

static hg_status_t
_sink(void *ctx, const unsigned char *buf, size_t len)
{
    sink_t  *k = ctx;

    assert_true(len > 0);           /* never asked to write nothing */
    if (k->fail_after != 0 && k->calls >= k->fail_after) {
        return HG_EIO;
    }
    assert_true(k->len + len <= sizeof(k->buf));
    memcpy(k->buf + k->len, buf, len);
    k->len += len;
    k->calls++;
    return HG_OK;
}

/* Convert in (len bytes) cut at cut1 and cut2 (cut1 <= cut2 <= len);
 * check the output and the changed flag. */
static void
_convert_cut(hg_eol_mode_t mode, const char *in, size_t len, size_t cut1,
             size_t cut2, const char *want, size_t want_len, int changed)
{
    hg_eol_t  e;
    sink_t    k;

    memset(&k, 0, sizeof(k));
    hg_eol_init(&e, mode, _sink, &k);
    assert_int_equal(hg_eol_update(&e, (const unsigned char *) in, cut1),
                     HG_OK);
    assert_int_equal(hg_eol_update(&e, (const unsigned char *) in + cut1,
                                   cut2 - cut1), HG_OK);
    assert_int_equal(hg_eol_update(&e, (const unsigned char *) in + cut2,
                                   len - cut2), HG_OK);
    assert_int_equal(hg_eol_final(&e), HG_OK);
    assert_int_equal(k.len, want_len);
    assert_memory_equal(k.buf, want, want_len);
    assert_int_equal(e.changed, changed);
}

/* The same result at every pair of cut points, so every chunk boundary
 * (between CR and LF, after a lone CR, inside a run) is crossed. */
static void
_convert_every_cut(hg_eol_mode_t mode, const char *in, const char *want,
                   int changed)
{
    size_t  len = strlen(in), i, j;

    for (i = 0; i <= len; i++) {
        for (j = i; j <= len; j++) {
            _convert_cut(mode, in, len, i, j, want, strlen(want), changed);
        }
    }
}

static void
test_eol_to_lf_drops_the_cr_of_each_crlf_at_every_chunk_boundary(void **state)
{
    (void) state;
    _convert_every_cut(HG_EOL_TO_LF, "a\r\nb\rc\r\r\nd\n\r\ne\r",
                       "a\nb\rc\r\nd\n\ne\r", 1);
    _convert_every_cut(HG_EOL_TO_LF, "\r\n\r\n", "\n\n", 1);
}

static void
test_eol_to_crlf_adds_a_cr_to_each_bare_lf_at_every_chunk_boundary(void **state)
{
    (void) state;
    _convert_every_cut(HG_EOL_TO_CRLF, "a\nb\r\nc\rd\n\n\r\r\ne\n",
                       "a\r\nb\r\nc\rd\r\n\r\n\r\r\ne\r\n", 1);
    _convert_every_cut(HG_EOL_TO_CRLF, "\n", "\r\n", 1);
}

static void
test_eol_lone_cr_is_kept_and_changes_nothing(void **state)
{
    (void) state;
    _convert_every_cut(HG_EOL_TO_LF, "\r", "\r", 0);
    _convert_every_cut(HG_EOL_TO_LF, "x\ry\r\rz\r", "x\ry\r\rz\r", 0);
    _convert_every_cut(HG_EOL_TO_CRLF, "\r", "\r", 0);
    _convert_every_cut(HG_EOL_TO_CRLF, "x\ry\r\rz\r", "x\ry\r\rz\r", 0);
}

static void
test_eol_text_already_in_the_target_form_is_unchanged(void **state)
{
    (void) state;
    _convert_every_cut(HG_EOL_TO_LF, "one\ntwo\n", "one\ntwo\n", 0);
    _convert_every_cut(HG_EOL_TO_CRLF, "one\r\ntwo\r\n", "one\r\ntwo\r\n", 0);
    _convert_every_cut(HG_EOL_TO_LF, "no line end", "no line end", 0);
}

static void
test_eol_empty_input_gives_empty_output(void **state)
{
    hg_eol_t  e;
    sink_t    k;
    int       m;

    (void) state;
    for (m = HG_EOL_TO_LF; m <= HG_EOL_TO_CRLF; m++) {
        memset(&k, 0, sizeof(k));
        hg_eol_init(&e, (hg_eol_mode_t) m, _sink, &k);
        assert_int_equal(hg_eol_update(&e, (const unsigned char *) "", 0),
                         HG_OK);
        assert_int_equal(hg_eol_final(&e), HG_OK);
        assert_int_equal(k.len, 0);
        assert_int_equal(k.calls, 0);
        assert_int_equal(e.changed, 0);
    }
}

/* A file with CRLF pairs and neither a bare CR nor a bare LF survives the
 * trip a raw attachment makes: stored with LF, read back as CRLF. */
static void
test_eol_crlf_file_round_trips_through_lf_in_random_chunks(void **state)
{
    unsigned char   file[4000];
    sink_t          lf, crlf;
    hg_eol_t        e;
    size_t          i, off, n;
    unsigned        seed = 7;

    (void) state;
    srand(seed);
    for (i = 0; i < sizeof(file); i++) {
        file[i] = (unsigned char) (rand() % 256);
        if (file[i] == '\r' || file[i] == '\n') {
            file[i] = 'x';
        }
    }
    for (i = 50; i + 1 < sizeof(file); i += 37 + (size_t) (rand() % 40)) {
        file[i] = '\r';
        file[i + 1] = '\n';
    }

    memset(&lf, 0, sizeof(lf));
    hg_eol_init(&e, HG_EOL_TO_LF, _sink, &lf);
    for (off = 0; off < sizeof(file); off += n) {
        n = 1 + (size_t) (rand() % 9);
        if (n > sizeof(file) - off) {
            n = sizeof(file) - off;
        }
        assert_int_equal(hg_eol_update(&e, file + off, n), HG_OK);
    }
    assert_int_equal(hg_eol_final(&e), HG_OK);
    assert_true(e.changed);
    assert_true(lf.len < sizeof(file));
    assert_null(memchr(lf.buf, '\r', lf.len));

    memset(&crlf, 0, sizeof(crlf));
    hg_eol_init(&e, HG_EOL_TO_CRLF, _sink, &crlf);
    for (off = 0; off < lf.len; off += n) {
        n = 1 + (size_t) (rand() % 9);
        if (n > lf.len - off) {
            n = lf.len - off;
        }
        assert_int_equal(hg_eol_update(&e, lf.buf + off, n), HG_OK);
    }
    assert_int_equal(hg_eol_final(&e), HG_OK);
    assert_true(e.changed);
    assert_int_equal(crlf.len, sizeof(file));
    assert_memory_equal(crlf.buf, file, sizeof(file));
}

static void
test_eol_output_error_is_returned(void **state)
{
    hg_eol_t  e;
    sink_t    k;

    (void) state;
    memset(&k, 0, sizeof(k));
    k.fail_after = 1;
    hg_eol_init(&e, HG_EOL_TO_CRLF, _sink, &k);
    assert_int_equal(hg_eol_update(&e, (const unsigned char *) "a\nb\n", 4),
                     HG_EIO);

    memset(&k, 0, sizeof(k));
    k.fail_after = 1;
    hg_eol_init(&e, HG_EOL_TO_LF, _sink, &k);
    assert_int_equal(hg_eol_update(&e, (const unsigned char *) "ab\r", 3),
                     HG_OK);
    /* the held CR is written at the end: the sink refuses it */
    assert_int_equal(hg_eol_final(&e), HG_EIO);
}

/* Through a scan context: the digest is the converted bytes' digest. */
static void
test_eol_out_scan_hashes_the_converted_bytes(void **state)
{
    hg_scan_t         *s = hg_scan_new(NULL, HG_ALGS_ALL);
    hg_scan_t         *ref = hg_scan_new(NULL, HG_ALGS_ALL);
    hg_scan_result_t   got, want;
    hg_eol_t           e;

    (void) state;
    assert_non_null(s);
    assert_non_null(ref);
    assert_int_equal(hg_scan_begin(s), HG_OK);
    hg_eol_init(&e, HG_EOL_TO_CRLF, hg_eol_out_scan, s);
    assert_int_equal(hg_eol_update(&e, (const unsigned char *) "l1\nl2", 5),
                     HG_OK);
    assert_int_equal(hg_eol_update(&e, (const unsigned char *) "\n", 1),
                     HG_OK);
    assert_int_equal(hg_eol_final(&e), HG_OK);
    assert_int_equal(hg_scan_end(s, &got), HG_OK);
    assert_int_equal(hg_scan_buffer(ref, "l1\r\nl2\r\n", 8, &want), HG_OK);
    assert_int_equal(got.digests.size, 8);
    assert_memory_equal(got.digests.d[HG_ALG_SHA256],
                        want.digests.d[HG_ALG_SHA256],
                        hg_alg_len(HG_ALG_SHA256));
    hg_scan_free(s);
    hg_scan_free(ref);
}

static void
test_eol_undecoded_is_every_encoding_but_the_decoded_ones(void **state)
{
    (void) state;
    assert_true(hg_eol_undecoded(NULL));
    assert_true(hg_eol_undecoded("7bit"));
    assert_true(hg_eol_undecoded("8bit"));
    assert_true(hg_eol_undecoded("binary"));
    assert_true(hg_eol_undecoded("x-unknown"));
    assert_false(hg_eol_undecoded("base64"));
    assert_false(hg_eol_undecoded("quoted-printable"));
    assert_false(hg_eol_undecoded("x-uuencode"));
    assert_false(hg_eol_undecoded("uuencode"));
    assert_false(hg_eol_undecoded("x-uue"));
    assert_false(hg_eol_undecoded("uue"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eol_to_lf_drops_the_cr_of_each_crlf_at_every_chunk_boundary),
        cmocka_unit_test(test_eol_to_crlf_adds_a_cr_to_each_bare_lf_at_every_chunk_boundary),
        cmocka_unit_test(test_eol_lone_cr_is_kept_and_changes_nothing),
        cmocka_unit_test(test_eol_text_already_in_the_target_form_is_unchanged),
        cmocka_unit_test(test_eol_empty_input_gives_empty_output),
        cmocka_unit_test(test_eol_crlf_file_round_trips_through_lf_in_random_chunks),
        cmocka_unit_test(test_eol_output_error_is_returned),
        cmocka_unit_test(test_eol_out_scan_hashes_the_converted_bytes),
        cmocka_unit_test(test_eol_undecoded_is_every_encoding_but_the_decoded_ones),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_read_csv.c - CSV with a header naming digest columns, including an
 * INTERPOL ICSE / Baseline style ';' export. All rows are synthetic.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helper_lists.h"

#define MD5_A    "0123456789abcdef0123456789abcdef"
#define MD5_B    "fedcba9876543210fedcba9876543210"
#define SHA1_A   "00112233445566778899aabbccddeeff00112233"
#define SHA1_B   "ffeeddccbbaa99887766554433221100ffeeddcc"
#define SHA256_A "f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d"

static void
test_csv_row_with_several_digests_gives_one_entry_each_of_one_record(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "list.csv",
        "Label,MD5,SHA-1,sha256,Size\r\n"
        "first," MD5_A "," SHA1_A "," SHA256_A ",42\r\n"
        "second," MD5_B ",,,\r\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0].e.alg, HG_ALG_MD5);
    assert_int_equal(r.v[1].e.alg, HG_ALG_SHA1);
    assert_int_equal(r.v[2].e.alg, HG_ALG_SHA256);
    assert_string_equal(hgt_hex(&r, 2), SHA256_A);
    assert_int_equal(r.v[2].e.has_size, 1);
    assert_int_equal(r.v[2].e.size, 42);
    assert_string_equal(r.v[0].e.label, "first");
    assert_string_equal(r.v[2].e.label, "first");
    assert_string_equal(hgt_hex(&r, 3), MD5_B);
    assert_int_equal(r.v[3].e.has_size, 0);
    assert_string_equal(r.v[3].e.label, "second");
    assert_true(r.v[0].e.record != 0);
    assert_true(r.v[0].e.record == r.v[1].e.record);
    assert_true(r.v[1].e.record == r.v[2].e.record);
    assert_true(r.v[3].e.record != r.v[2].e.record);
    assert_int_equal(r.stats.entries, 4);
    assert_int_equal(r.stats.skipped, 0);
    hgt_read_free(&r);
}

static void
test_csv_quoted_fields_hold_separators_quotes_and_line_breaks(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "list.csv",
        "\"md5\",\"name\"\n"
        "\"" MD5_A "\",\"a, \"\"quoted\"\" name\"\n"
        MD5_B ",\"two\nlines\"\n"
        SHA1_A ",after\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[0].e.label, "a, \"quoted\" name");
    assert_string_equal(r.v[1].e.label, "two\nlines");
    /* the SHA-1 in the md5 column is refused on line 5 (records span lines) */
    assert_int_equal(r.stats.skipped, 1);
    assert_true(hgt_warned(&r, "list.csv:5: column 1 (md5): a 40-digit digest, expected 32"));
    hgt_read_free(&r);
}

static void
test_csv_reads_interpol_icse_style_semicolon_export(void **state)
{
    hgt_read_t  r;

    (void) state;
    /* synthetic sample shaped like an ICSE / Baseline export, with the
     * byte order mark spreadsheets write */
    assert_int_equal(hgt_read(&r, NULL, "baseline_export.csv",
        "\xEF\xBB\xBFMD5;SHA1;PhotoDNA;Category;FileName;FileSize\r\n"
        MD5_A ";" SHA1_A ";;1;img_0001.jpg;2048\r\n"
        MD5_B ";" SHA1_B ";AAAA;2;\"img;0002.jpg\";4096\r\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 4);
    assert_string_equal(hgt_hex(&r, 0), MD5_A);
    assert_string_equal(hgt_hex(&r, 1), SHA1_A);
    assert_int_equal(r.v[1].e.size, 2048);
    assert_string_equal(r.v[1].e.label, "img_0001.jpg");
    assert_string_equal(hgt_hex(&r, 3), SHA1_B);
    assert_string_equal(r.v[3].e.label, "img;0002.jpg");
    assert_int_equal(r.v[3].e.size, 4096);
    assert_int_equal(r.stats.skipped, 0);
    hgt_read_free(&r);
}

static void
test_csv_bad_rows_are_named_with_their_line(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "list.csv",
        "md5,size\n"              /* 1 */
        MD5_A ",1\n"              /* 2 */
        "xyz,1\n"                 /* 3 */
        MD5_A ",big\n"            /* 4 */
        ",5\n"                    /* 5 */
        "\"" MD5_A "\"x,1\n"      /* 6 */
        "ab\"c,1\n"               /* 7 */
        "\n"                      /* 8: blank, fine */
        MD5_B ",2\n"              /* 9 */
        "\"unterminated,3\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.stats.skipped, 6);
    assert_true(hgt_warned(&r, "list.csv:3: column 1 (md5): digest length 3"));
    assert_true(hgt_warned(&r, "list.csv:4: column 2 (size): \"big\" is not a number"));
    assert_true(hgt_warned(&r, "list.csv:5: no digest in the row"));
    assert_true(hgt_warned(&r, "list.csv:6: text after a closing quote"));
    assert_true(hgt_warned(&r, "list.csv:7: quote inside an unquoted field"));
    assert_true(hgt_warned(&r, "list.csv:10: unterminated quoted field"));
    hgt_read_free(&r);
}

static void
test_csv_without_digest_column_is_refused(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, "csv", "list.csv",
        "name,size\nx,1\n", 0, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "list.csv:1: the CSV header names no md5"));
    hgt_read_free(&r);
    assert_int_equal(hgt_read(&r, "csv", "list.csv",
        "md5,MD5\n" MD5_A "," MD5_B "\n", 0, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "list.csv:1: the header names a digest column twice"));
    hgt_read_free(&r);
}

static void
test_csv_strict_refuses_a_bad_row(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "list.csv",
        "sha1\n" SHA1_A "\n" MD5_A "\n", 1, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "list.csv:3: column 1 (sha1): a 32-digit digest, expected 40"));
    assert_int_equal(r.n, 1);
    hgt_read_free(&r);
}

static void
test_csv_detected_by_header_whatever_the_name(void **state)
{
    (void) state;
    assert_string_equal(hgt_detect("export.dat", "id;MD5;SHA1\n1;a;b\n"), "csv");
    assert_string_equal(hgt_detect("x.csv", "md5\n" MD5_A "\n"), "csv");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_row_with_several_digests_gives_one_entry_each_of_one_record),
        cmocka_unit_test(test_csv_quoted_fields_hold_separators_quotes_and_line_breaks),
        cmocka_unit_test(test_csv_reads_interpol_icse_style_semicolon_export),
        cmocka_unit_test(test_csv_bad_rows_are_named_with_their_line),
        cmocka_unit_test(test_csv_without_digest_column_is_refused),
        cmocka_unit_test(test_csv_strict_refuses_a_bad_row),
        cmocka_unit_test(test_csv_detected_by_header_whatever_the_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

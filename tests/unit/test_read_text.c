/*
 * test_read_text.c - the plain text reader: one hex digest a line.
 * Digests are made-up hex, never from a real list.
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
#define SHA1_A   "00112233445566778899aabbccddeeff00112233"
#define SHA256_A "f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d"

static void
test_text_reads_each_digest_length_in_any_case(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "list.txt",
        "# synthetic list\r\n"
        "\r\n"
        "  0123456789ABCDEF0123456789abcdef  \r\n"
        "\t" SHA1_A "   # trailing comment\n"
        "\n"
        "F00DF00DF00DF00DF00DF00DF00DF00DF00DF00DF00DF00DF00DF00DF00DF00D", 0,
        NULL), HG_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].e.alg, HG_ALG_MD5);
    assert_string_equal(hgt_hex(&r, 0), MD5_A);
    assert_int_equal(r.v[1].e.alg, HG_ALG_SHA1);
    assert_string_equal(hgt_hex(&r, 1), SHA1_A);
    assert_int_equal(r.v[2].e.alg, HG_ALG_SHA256);
    assert_string_equal(hgt_hex(&r, 2), SHA256_A);
    assert_int_equal(r.v[0].e.has_size, 0);
    assert_null(r.v[0].e.label);
    assert_int_equal(r.v[0].e.remove, 0);
    /* one digest a line: each line is a record (a file) of its own */
    assert_true(r.v[0].e.record != 0);
    assert_true(r.v[1].e.record != r.v[0].e.record);
    assert_true(r.v[2].e.record != r.v[1].e.record);
    assert_int_equal(r.stats.entries, 3);
    assert_int_equal(r.stats.skipped, 0);
    assert_int_equal(r.nwarn, 0);
    hgt_read_free(&r);
}

static void
test_text_bad_lines_are_warned_with_file_line_and_counted(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, "text", "list.txt",
        MD5_A "\n"
        "0123456789abcdef0123456789abcdeg\n"
        "0123456789abcdef0123456789abcde\n"
        MD5_A " extra\n"
        "# fine\n"
        SHA1_A "\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.stats.entries, 2);
    assert_int_equal(r.stats.skipped, 3);
    assert_int_equal(r.nwarn, 3);
    assert_true(hgt_warned(&r, "list.txt:2: bad hex"));
    assert_true(hgt_warned(&r, "list.txt:3: digest length 31 is not 32, 40 or 64"));
    assert_true(hgt_warned(&r, "list.txt:4: more than one word"));
    hgt_read_free(&r);
}

/* The empty file's digest is kept but warned about, once per file. */
static void
test_text_empty_file_digest_is_warned_once(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, "text", "list.txt",
        MD5_A "\n"
        "d41d8cd98f00b204e9800998ecf8427e\n"
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n",
        0, NULL), HG_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.stats.skipped, 0);
    assert_int_equal(r.nwarn, 1);
    assert_true(hgt_warned(&r, "list.txt: lists the md5 of the empty file; "
                           "it is never matched"));
    hgt_read_free(&r);
}

static void
test_text_strict_refuses_the_file_at_its_first_bad_line(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, "text", "list.txt",
        MD5_A "\n\nnot-a-digest\n" SHA1_A "\n", 1, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "list.txt:3: "));
    assert_non_null(strstr(r.err.msg, "digest length 12"));
    assert_int_equal(r.nwarn, 0);
    assert_int_equal(r.stats.skipped, 0);
    hgt_read_free(&r);
}

static void
test_text_huge_line_is_one_bad_line_and_reading_goes_on(void **state)
{
    hgt_read_t  r;
    size_t      big = 100 * 1024;
    char       *s = malloc(big + 200);

    (void) state;
    memset(s, 'a', big);
    strcpy(s + big, "\n" MD5_A "\n");
    assert_int_equal(hgt_read(&r, NULL, "list.txt", s, 0, NULL), HG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(hgt_hex(&r, 0), MD5_A);
    assert_int_equal(r.stats.skipped, 1);
    assert_true(hgt_warned(&r, "list.txt:1: line longer than 65536 bytes"));
    hgt_read_free(&r);
    free(s);
}

static void
test_text_last_line_without_newline_and_empty_file(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, "text", "a.txt", MD5_A, 0, NULL), HG_OK);
    assert_int_equal(r.n, 1);
    hgt_read_free(&r);
    assert_int_equal(hgt_read(&r, "text", "empty.txt", "", 0, NULL), HG_OK);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.stats.skipped, 0);
    hgt_read_free(&r);
}

static void
test_text_missing_file_and_unknown_format_are_errors(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read_path(&r, NULL, "/nonexistent/x.txt", 0, NULL),
                     HG_ENOENT);
    assert_non_null(strstr(r.err.msg, "/nonexistent/x.txt"));
    hgt_read_free(&r);
    assert_int_equal(hgt_read(&r, "nosuch", "a.txt", MD5_A, 0, NULL),
                     HG_EINVAL);
    assert_non_null(strstr(r.err.msg, "nosuch"));
    hgt_read_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_reads_each_digest_length_in_any_case),
        cmocka_unit_test(test_text_bad_lines_are_warned_with_file_line_and_counted),
        cmocka_unit_test(test_text_strict_refuses_the_file_at_its_first_bad_line),
        cmocka_unit_test(test_text_huge_line_is_one_bad_line_and_reading_goes_on),
        cmocka_unit_test(test_text_last_line_without_newline_and_empty_file),
        cmocka_unit_test(test_text_missing_file_and_unknown_format_are_errors),
        cmocka_unit_test(test_text_empty_file_digest_is_warned_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

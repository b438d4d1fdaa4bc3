/*
 * test_read_jsonl.c - JSON Lines: one object a line. Synthetic samples.
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
#define SHA256_A "f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d"

static void
test_jsonl_reads_digests_size_and_label(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "list.jsonl",
        "{\"md5\": \"" MD5_A "\", \"sha1\": \"" SHA1_A "\", \"size\": 99,"
        " \"label\": \"caf\\u00e9 \\\"one\\\"\", \"extra\": {\"a\": [1]}}\r\n"
        "\n"
        "{\"sha256\": \"" SHA256_A "\", \"size\": null, \"label\": null}\n"
        "  {\"md5\": \"" MD5_B "\"}  \n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0].e.alg, HG_ALG_MD5);
    assert_int_equal(r.v[1].e.alg, HG_ALG_SHA1);
    assert_int_equal(r.v[1].e.size, 99);
    assert_string_equal(r.v[1].e.label, "caf\xc3\xa9 \"one\"");
    assert_int_equal(r.v[2].e.alg, HG_ALG_SHA256);
    assert_string_equal(hgt_hex(&r, 2), SHA256_A);
    assert_int_equal(r.v[2].e.has_size, 0);
    assert_null(r.v[2].e.label);
    assert_string_equal(hgt_hex(&r, 3), MD5_B);
    /* an object's digests are one record (one file), each line its own */
    assert_true(r.v[0].e.record != 0);
    assert_true(r.v[0].e.record == r.v[1].e.record);
    assert_true(r.v[2].e.record != r.v[1].e.record);
    assert_true(r.v[3].e.record != r.v[2].e.record);
    assert_int_equal(r.stats.skipped, 0);
    hgt_read_free(&r);
}

static void
test_jsonl_each_malformed_line_is_named(void **state)
{
    hgt_read_t  r;
    char       *s, *big;
    size_t      n = 70 * 1024;

    (void) state;
    big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    if (asprintf(&s,
        "{\"md5\": \"" MD5_A "\"}\n"                        /* 1 ok */
        "{\"md5\": \"" MD5_A "\"\n"                         /* 2 truncated */
        "{\"md5\": 5}\n"                                    /* 3 type */
        "{\"md5\": \"" MD5_A "\", \"md5\": \"" MD5_B "\"}\n"/* 4 dup */
        "{\"sha1\": \"" MD5_A "\"}\n"                       /* 5 length */
        "{\"md5\": \"xyz0123456789abcdef0123456789abc\"}\n" /* 6 hex */
        "{\"md5\": \"" MD5_A "\", \"size\": -3}\n"          /* 7 size */
        "{\"md5\": \"" MD5_A "\", \"size\": \"3\"}\n"       /* 8 size type */
        "{\"label\": \"x\"}\n"                              /* 9 no digest */
        "[\"" MD5_A "\"]\n"                                 /* 10 not object */
        "{\"md5\": \"" MD5_A "\"} {}\n"                     /* 11 trailing */
        "{\"md5\": \"" MD5_A "\", \"label\": 7}\n"          /* 12 label type */
        "{\"md5\": \"" MD5_A "\"%s}\n"                      /* 13 huge */
        "{\"md5\": \"" MD5_B "\"}\n", big) < 0) {           /* 14 ok */
        fail();
    }
    assert_int_equal(hgt_read(&r, NULL, "list.jsonl", s, 0, NULL), HG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.stats.skipped, 12);
    assert_true(hgt_warned(&r, "list.jsonl:2: truncated JSON: unterminated object"));
    assert_true(hgt_warned(&r, "list.jsonl:3: \"md5\" is a number, expected a string"));
    assert_true(hgt_warned(&r, "list.jsonl:4: duplicate key \"md5\""));
    assert_true(hgt_warned(&r, "list.jsonl:5: \"sha1\": a 32-digit digest, expected 40"));
    assert_true(hgt_warned(&r, "list.jsonl:6: \"md5\": bad hex"));
    assert_true(hgt_warned(&r, "list.jsonl:7: \"size\" is not an integer"));
    assert_true(hgt_warned(&r, "list.jsonl:8: \"size\" is a string"));
    assert_true(hgt_warned(&r, "list.jsonl:9: no \"md5\", \"sha1\", \"sha256\" or \"pdq\" key"));
    assert_true(hgt_warned(&r, "list.jsonl:10: the line is not a JSON object"));
    assert_true(hgt_warned(&r, "list.jsonl:11: text after the JSON value"));
    assert_true(hgt_warned(&r, "list.jsonl:12: \"label\" is a number"));
    assert_true(hgt_warned(&r, "list.jsonl:13: line longer than 65536 bytes"));
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, NULL, "list.jsonl", s, 1, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "list.jsonl:2: truncated JSON"));
    assert_int_equal(r.n, 1);
    hgt_read_free(&r);
    free(s);
    free(big);
}

/*
 * A label that is not valid UTF-8 (a Latin-1 export, a cut character) is
 * stored with one U+FFFD per maximal invalid subpart, the library's one
 * rule, so the database never holds invalid UTF-8; \u escapes and valid
 * bytes around it are kept.
 */
static void
test_jsonl_invalid_utf8_in_a_label_becomes_fffd(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, "jsonl", "list.jsonl",
        "{\"md5\": \"" MD5_A "\", \"label\": \"caf\xe9\"}\n"
        "{\"md5\": \"" MD5_B "\", \"label\": \"r\xe2\x82sum\xe2\x82\"}\n"
        "{\"md5\": \"" MD5_A "\", \"label\": \"\xc3\\u00e9\xc0\xaf\xf0\x9f\x98\x80\"}\n",
        0, NULL), HG_OK);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.v[0].e.label, "caf\xef\xbf\xbd");
    assert_string_equal(r.v[1].e.label,
                        "r\xef\xbf\xbdsum\xef\xbf\xbd");
    assert_string_equal(r.v[2].e.label, "\xef\xbf\xbd\xc3\xa9"
                        "\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x98\x80");
    assert_int_equal(r.stats.skipped, 0);
    hgt_read_free(&r);
}

static void
test_jsonl_detected_from_first_line_or_name(void **state)
{
    (void) state;
    assert_string_equal(hgt_detect("hashes.json",
                        "{\"md5\":\"" MD5_A "\"}\n{\"md5\":\"" MD5_B "\"}\n"),
                        "jsonl");
    assert_string_equal(hgt_detect("x.ndjson", "garbage"), "jsonl");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_reads_digests_size_and_label),
        cmocka_unit_test(test_jsonl_each_malformed_line_is_named),
        cmocka_unit_test(test_jsonl_invalid_utf8_in_a_label_becomes_fffd),
        cmocka_unit_test(test_jsonl_detected_from_first_line_or_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

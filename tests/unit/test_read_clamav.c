/*
 * test_read_clamav.c - ClamAV .hdb / .hsb hash signatures.
 * Digests and names are made up.
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
test_clamav_hdb_keeps_size_and_name(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "sigs.hdb",
        MD5_A ":1234:Synthetic.Test.One\r\n"
        "FEDCBA9876543210FEDCBA9876543210:*:Synthetic.Test.Two:73\n", 0, NULL),
        HG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0].e.alg, HG_ALG_MD5);
    assert_string_equal(hgt_hex(&r, 0), MD5_A);
    assert_int_equal(r.v[0].e.has_size, 1);
    assert_int_equal(r.v[0].e.size, 1234);
    assert_string_equal(r.v[0].e.label, "Synthetic.Test.One");
    assert_string_equal(hgt_hex(&r, 1), MD5_B);
    assert_int_equal(r.v[1].e.has_size, 0);
    assert_string_equal(r.v[1].e.label, "Synthetic.Test.Two");
    assert_int_equal(r.stats.skipped, 0);
    hgt_read_free(&r);
}

static void
test_clamav_hsb_reads_sha1_and_sha256(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "sigs.hsb",
        SHA1_A ":10:S1\n" SHA256_A ":20:S2:51:255\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0].e.alg, HG_ALG_SHA1);
    assert_int_equal(r.v[1].e.alg, HG_ALG_SHA256);
    assert_int_equal(r.v[1].e.size, 20);
    assert_string_equal(r.v[1].e.label, "S2");
    /* a signature a line: each its own record */
    assert_true(r.v[0].e.record != 0);
    assert_true(r.v[1].e.record != r.v[0].e.record);
    hgt_read_free(&r);
}

static void
test_clamav_each_bad_line_is_named(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "sigs.hdb",
        MD5_A ":1:Good\n"                    /* 1 */
        MD5_A ":1\n"                         /* 2: too few fields */
        MD5_A ":12x:Name\n"                  /* 3: bad size */
        "0123456789abcdef0123456789abcdeZ:1:N\n"   /* 4: bad hex */
        SHA1_A ":1:Sha1InHdb\n"              /* 5: wrong algorithm */
        MD5_A "::Name\n"                     /* 6: empty size */
        MD5_A ":1:\n"                        /* 7: empty name */
        MD5_A ":1:N:abc\n"                   /* 8: bad flevel */
        MD5_A ":1:N:1:2:3\n"                 /* 9: too many fields */
        MD5_B ":2:Good2\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.stats.skipped, 8);
    assert_true(hgt_warned(&r, "sigs.hdb:2: expected hash:size:name"));
    assert_true(hgt_warned(&r, "sigs.hdb:3: size \"12x\" is not a number"));
    assert_true(hgt_warned(&r, "sigs.hdb:4: bad hex"));
    assert_true(hgt_warned(&r, "sigs.hdb:5: sha1 digest in a .hdb file"));
    assert_true(hgt_warned(&r, "sigs.hdb:6: size \"\" is not a number"));
    assert_true(hgt_warned(&r, "sigs.hdb:7: empty signature name"));
    assert_true(hgt_warned(&r, "sigs.hdb:8: functionality level \"abc\""));
    assert_true(hgt_warned(&r, "sigs.hdb:9: more than 5"));
    hgt_read_free(&r);
}

static void
test_clamav_md5_in_hsb_is_refused_in_strict_mode(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "sigs.hsb",
        SHA1_A ":1:A\n" MD5_A ":1:B\n", 1, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "sigs.hsb:2: md5 digest in a .hsb file"));
    assert_int_equal(r.n, 1);
    hgt_read_free(&r);
}

static void
test_clamav_detected_from_content_without_extension(void **state)
{
    (void) state;
    assert_string_equal(hgt_detect("signatures",
                        MD5_A ":*:Synthetic.One:73\n"), "clamav");
    assert_string_equal(hgt_detect("x.hsb", "anything\n"), "clamav");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clamav_hdb_keeps_size_and_name),
        cmocka_unit_test(test_clamav_hsb_reads_sha1_and_sha256),
        cmocka_unit_test(test_clamav_each_bad_line_is_named),
        cmocka_unit_test(test_clamav_md5_in_hsb_is_refused_in_strict_mode),
        cmocka_unit_test(test_clamav_detected_from_content_without_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

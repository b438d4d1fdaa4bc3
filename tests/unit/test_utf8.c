/*
 * test_utf8.c - the library's one UTF-8 rule (common/util/utf8.c): RFC 3629
 * validity and one U+FFFD per maximal subpart of an invalid sequence. Each
 * case is checked three ways: the buffer repair (hg_utf8_clean, used by the
 * MIME header fields), the byte-at-a-time repair (hg_utf8_stream_*, used by
 * the JSON reader) and the validity check, so the callers cannot drift
 * apart. The expected strings are what Python's bytes.decode("utf-8",
 * "replace") gives, which follows the same Unicode practice.
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

#include "util/charset.h"
#include "util/utf8.h"

#define R "\xEF\xBF\xBD"

/* in (n bytes) repaired by both paths must give want; valid says whether
 * in was valid to begin with. */
static void
check(const char *in, size_t n, const char *want, int valid)
{
    char              *out = malloc(3 * n + 1);
    unsigned char      o[HG_UTF8_STREAM_OUT];
    char               s[512];
    size_t             w, k, i;
    hg_utf8_stream_t   u;

    assert_non_null(out);
    w = hg_utf8_clean(out, in, n, 0);
    assert_int_equal(w, strlen(want));
    assert_memory_equal(out, want, w);
    assert_int_equal(out[w], '\0');
    assert_int_equal(hg_utf8_valid(in, n), valid);
    assert_int_equal(hg_utf8_valid(out, w), 1);
    free(out);

    memset(&u, 0, sizeof(u));
    w = 0;
    for (i = 0; i < n; i++) {
        k = hg_utf8_stream_put(&u, (unsigned char) in[i], o);
        assert_true(k <= HG_UTF8_STREAM_OUT && w + k < sizeof(s));
        memcpy(s + w, o, k);
        w += k;
    }
    w += hg_utf8_stream_end(&u, (unsigned char *) s + w);
    assert_int_equal(u.len, 0);
    assert_int_equal(w, strlen(want));
    assert_memory_equal(s, want, w);
}

#define CHECK(lit, want, valid)  check(lit, sizeof(lit) - 1, want, valid)

static void
test_utf8_valid_text_is_kept_as_is(void **state)
{
    (void) state;
    CHECK("", "", 1);
    CHECK("plain ascii", "plain ascii", 1);
    CHECK("caf\xC3\xA9", "caf\xC3\xA9", 1);                    /* U+00E9 */
    CHECK("\xE2\x82\xAC", "\xE2\x82\xAC", 1);                  /* U+20AC */
    CHECK("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", 1);          /* U+1F600 */
    CHECK("\xC2\x80\xDF\xBF", "\xC2\x80\xDF\xBF", 1);          /* U+0080, U+07FF */
    CHECK("\xE0\xA0\x80\xEF\xBF\xBF", "\xE0\xA0\x80\xEF\xBF\xBF", 1);
    CHECK("\xED\x9F\xBF\xEE\x80\x80", "\xED\x9F\xBF\xEE\x80\x80", 1);
    CHECK("\xF0\x90\x80\x80", "\xF0\x90\x80\x80", 1);          /* U+10000 */
}

static void
test_utf8_u10ffff_is_the_last_and_u110000_is_refused(void **state)
{
    uint32_t  cp = 0;

    (void) state;
    CHECK("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", 1);
    assert_int_equal(hg_utf8_seq((const unsigned char *) "\xF4\x8F\xBF\xBF",
                                 4, &cp), 4);
    assert_int_equal(cp, 0x10FFFF);
    /* F4 90 is no start of anything valid: F4, then three stray bytes */
    CHECK("\xF4\x90\x80\x80", R R R R, 0);
    CHECK("\xF5\x80\x80\x80", R R R R, 0);
    CHECK("\xF7\xBF\xBF\xBF", R R R R, 0);                     /* U+1FFFFF */
}

static void
test_utf8_overlong_slash_gives_one_fffd_per_byte(void **state)
{
    (void) state;
    /* '/' in 2, 3 and 4 bytes: no prefix of these is valid */
    CHECK("\xC0\xAF", R R, 0);
    CHECK("\xE0\x80\xAF", R R R, 0);
    CHECK("\xF0\x80\x80\xAF", R R R R, 0);
    CHECK("\xC1\xBF", R R, 0);
    CHECK("\xE0\x9F\xBF", R R R, 0);                           /* U+07FF */
    CHECK("\xF0\x8F\xBF\xBF", R R R R, 0);                     /* U+FFFF */
    CHECK("a\xC0\xAF" "b", "a" R R "b", 0);
}

static void
test_utf8_surrogates_are_refused(void **state)
{
    (void) state;
    CHECK("\xED\xA0\x80", R R R, 0);                           /* U+D800 */
    CHECK("\xED\xBF\xBF", R R R, 0);                           /* U+DFFF */
    /* a CESU-8 pair (U+1F600 as two surrogates) */
    CHECK("\xED\xA0\xBD\xED\xB8\x80", R R R R R R, 0);
}

static void
test_utf8_truncated_sequence_gives_one_fffd(void **state)
{
    (void) state;
    CHECK("\xC3", R, 0);
    CHECK("\xE2\x82", R, 0);
    CHECK("\xF0\x9F\x98", R, 0);
    CHECK("\xE2\x82" "x", R "x", 0);
    CHECK("\xF0\x9F\x98" "x", R "x", 0);
    /* a new start byte ends the previous sequence */
    CHECK("\xE2\x82\xC3\xA9", R "\xC3\xA9", 0);
    CHECK("\xF0\x9F\x98\xF0\x9F\x98\x80", R "\xF0\x9F\x98\x80", 0);
    assert_int_equal(hg_utf8_seq((const unsigned char *) "\xF0\x9F\x98", 3,
                                 NULL), 0);
    assert_int_equal(hg_utf8_seq((const unsigned char *) "\xF0\x9F\x98x", 4,
                                 NULL), -3);
}

static void
test_utf8_five_and_six_byte_forms_are_refused(void **state)
{
    (void) state;
    CHECK("\xF8\x88\x80\x80\x80", R R R R R, 0);
    CHECK("\xFC\x84\x80\x80\x80\x80", R R R R R R, 0);
    CHECK("\xFE\xFF", R R, 0);
}

static void
test_utf8_stray_continuation_bytes(void **state)
{
    (void) state;
    CHECK("\x80", R, 0);
    CHECK("\x80\xBF", R R, 0);
    CHECK("\xC3\xA9\xA9", "\xC3\xA9" R, 0);
}

/* The example of the Unicode standard, section 3.9 (table 3-8). */
static void
test_utf8_unicode_table_3_8_example(void **state)
{
    (void) state;
    CHECK("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
          "a" R R R "b" R "c" R R "d", 0);
}

static void
test_utf8_nul_is_replaced_only_when_asked(void **state)
{
    char  out[16];

    (void) state;
    assert_int_equal(hg_utf8_clean(out, "a\0b", 3, 0), 3);
    assert_memory_equal(out, "a\0b", 4);
    assert_int_equal(hg_utf8_clean(out, "a\0b", 3, 1), 5);
    assert_string_equal(out, "a" R "b");
    assert_int_equal(hg_utf8_valid("a\0b", 3), 1);
}

static void
test_utf8_encode_writes_scalar_values_only(void **state)
{
    unsigned char  o[HG_UTF8_MAX];

    (void) state;
    assert_int_equal(hg_utf8_encode(0x24, o), 1);
    assert_memory_equal(o, "\x24", 1);
    assert_int_equal(hg_utf8_encode(0xE9, o), 2);
    assert_memory_equal(o, "\xC3\xA9", 2);
    assert_int_equal(hg_utf8_encode(0x7FF, o), 2);
    assert_memory_equal(o, "\xDF\xBF", 2);
    assert_int_equal(hg_utf8_encode(0x20AC, o), 3);
    assert_memory_equal(o, "\xE2\x82\xAC", 3);
    assert_int_equal(hg_utf8_encode(0xFFFD, o), 3);
    assert_memory_equal(o, R, 3);
    assert_int_equal(hg_utf8_encode(0x10348, o), 4);
    assert_memory_equal(o, "\xF0\x90\x8D\x88", 4);
    assert_int_equal(hg_utf8_encode(0x10FFFF, o), 4);
    assert_memory_equal(o, "\xF4\x8F\xBF\xBF", 4);
    assert_int_equal(hg_utf8_encode(0x110000, o), 0);
    assert_int_equal(hg_utf8_encode(0xD800, o), 0);
    assert_int_equal(hg_utf8_encode(0xDFFF, o), 0);
}

/* Every code point encoded is read back as itself, in one sequence. */
static void
test_utf8_encode_and_seq_agree_on_every_code_point(void **state)
{
    unsigned char  o[HG_UTF8_MAX];
    uint32_t       cp, back;
    size_t         n;

    (void) state;
    for (cp = 0; cp <= 0x10FFFF; cp++) {
        n = hg_utf8_encode(cp, o);
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_int_equal(hg_utf8_seq(o, n, &back), (int) n);
        assert_int_equal(back, cp);
        assert_int_equal(hg_utf8_seq(o, n - 1 ? n - 1 : 1, NULL),
                         n > 1 ? 0 : 1);
    }
}

/* Seeded random bytes: both repairs agree and always give valid UTF-8. */
static void
test_utf8_buffer_and_stream_repair_agree_on_random_bytes(void **state)
{
    unsigned char  in[64];
    char           a[3 * sizeof(in) + 1], b[3 * sizeof(in) + 8];
    unsigned char  o[HG_UTF8_STREAM_OUT];
    uint32_t       x = 12345;
    size_t         i, k, n, w, wa;
    int            round;
    hg_utf8_stream_t u;

    (void) state;
    for (round = 0; round < 20000; round++) {
        n = round % sizeof(in);
        for (i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            /* mostly high bytes, so sequences are made and broken */
            in[i] = (unsigned char) (x >> 16);
            if ((x >> 8 & 3) == 0) {
                in[i] = (unsigned char) (0x80 | (x >> 24 & 0x3F));
            }
        }
        wa = hg_utf8_clean(a, (const char *) in, n, 0);
        assert_true(hg_utf8_valid(a, wa));
        memset(&u, 0, sizeof(u));
        w = 0;
        for (i = 0; i < n; i++) {
            k = hg_utf8_stream_put(&u, in[i], o);
            memcpy(b + w, o, k);
            w += k;
        }
        w += hg_utf8_stream_end(&u, (unsigned char *) b + w);
        assert_int_equal(w, wa);
        assert_memory_equal(a, b, w);
        if (hg_utf8_valid((const char *) in, n)) {
            assert_int_equal(wa, n);
            assert_memory_equal(a, in, n);
        }
    }
}

static void
test_utf8_cut_never_splits_a_character(void **state)
{
    static const char s[] = "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";

    (void) state;
    assert_int_equal(hg_utf8_cut(s, 11, 20), 11);
    assert_int_equal(hg_utf8_cut(s, 11, 11), 11);
    assert_int_equal(hg_utf8_cut(s, 11, 2), 2);
    assert_int_equal(hg_utf8_cut(s, 11, 3), 2);        /* inside U+00E9 */
    assert_int_equal(hg_utf8_cut(s, 11, 4), 4);
    assert_int_equal(hg_utf8_cut(s, 11, 5), 4);        /* inside U+20AC */
    assert_int_equal(hg_utf8_cut(s, 11, 6), 4);
    assert_int_equal(hg_utf8_cut(s, 11, 7), 7);
    assert_int_equal(hg_utf8_cut(s, 11, 8), 7);        /* inside U+1F600 */
    assert_int_equal(hg_utf8_cut(s, 11, 10), 7);
    assert_int_equal(hg_utf8_cut(s, 11, 0), 0);
    assert_int_equal(hg_utf8_cut(s + 3, 8, 1), 1);     /* stray: cut there */
}

static void
test_charset_names_and_single_byte_tables(void **state)
{
    (void) state;
    assert_int_equal(hg_charset_find("UTF-8"), HG_CS_UTF8);
    assert_int_equal(hg_charset_find("us-ascii"), HG_CS_UTF8);
    assert_int_equal(hg_charset_find(NULL), HG_CS_UTF8);
    assert_int_equal(hg_charset_find("ISO-8859-1"), HG_CS_LATIN1);
    assert_int_equal(hg_charset_find("Latin1"), HG_CS_LATIN1);
    assert_int_equal(hg_charset_find("windows-1252"), HG_CS_CP1252);
    assert_int_equal(hg_charset_find("CP1252"), HG_CS_CP1252);
    assert_int_equal(hg_charset_find("koi8-r"), HG_CS_OTHER);
    assert_int_equal(hg_charset_byte(HG_CS_LATIN1, 0xE9), 0xE9);
    assert_int_equal(hg_charset_byte(HG_CS_LATIN1, 0x80), 0x80);
    assert_int_equal(hg_charset_byte(HG_CS_CP1252, 0xE9), 0xE9);
    assert_int_equal(hg_charset_byte(HG_CS_CP1252, 0x80), 0x20AC);
    assert_int_equal(hg_charset_byte(HG_CS_CP1252, 0x9F), 0x0178);
    assert_int_equal(hg_charset_byte(HG_CS_CP1252, 0x81), 0);   /* a hole */
    assert_int_equal(hg_charset_byte(HG_CS_CP1252, 'A'), 'A');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_text_is_kept_as_is),
        cmocka_unit_test(test_utf8_u10ffff_is_the_last_and_u110000_is_refused),
        cmocka_unit_test(test_utf8_overlong_slash_gives_one_fffd_per_byte),
        cmocka_unit_test(test_utf8_surrogates_are_refused),
        cmocka_unit_test(test_utf8_truncated_sequence_gives_one_fffd),
        cmocka_unit_test(test_utf8_five_and_six_byte_forms_are_refused),
        cmocka_unit_test(test_utf8_stray_continuation_bytes),
        cmocka_unit_test(test_utf8_unicode_table_3_8_example),
        cmocka_unit_test(test_utf8_nul_is_replaced_only_when_asked),
        cmocka_unit_test(test_utf8_encode_writes_scalar_values_only),
        cmocka_unit_test(test_utf8_encode_and_seq_agree_on_every_code_point),
        cmocka_unit_test(test_utf8_buffer_and_stream_repair_agree_on_random_bytes),
        cmocka_unit_test(test_utf8_cut_never_splits_a_character),
        cmocka_unit_test(test_charset_names_and_single_byte_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_json.c - the JSON writer escapes everything and never emits broken
 * JSON: every output here is also checked by an independent validator
 * (json_check.h).
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

#include "hashgate/json.h"
#include "json_check.h"

/* Write s[0..n) as a lone string value; return the line without '\n'. */
static char *
str_line(hg_json_t *j, const char *s, size_t n)
{
    hg_json_reset(j);
    hg_json_strn(j, s, n);
    assert_int_equal(hg_json_done(j), HG_OK);
    assert_int_equal(jc_validate(j->buf, j->len), 0);
    assert_true(j->len > 0 && j->buf[j->len - 1] == '\n');
    j->buf[j->len - 1] = '\0';
    return j->buf;
}

static void
expect_str(const char *in, size_t n, const char *want)
{
    hg_json_t  j;

    hg_json_init(&j);
    assert_string_equal(str_line(&j, in, n), want);
    hg_json_free(&j);
}

#define EXPECT(lit, want)  expect_str(lit, sizeof(lit) - 1, want)
#define FFFD "\xEF\xBF\xBD"

static void
test_json_escapes_quote_backslash_and_short_forms(void **state)
{
    (void) state;
    EXPECT("a\"b\\c", "\"a\\\"b\\\\c\"");
    EXPECT("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    EXPECT("a/b", "\"a/b\"");
    EXPECT("", "\"\"");
}

static void
test_json_control_characters_become_u00xx(void **state)
{
    (void) state;
    EXPECT("\x01\x1f", "\"\\u0001\\u001f\"");
    EXPECT("a\0b", "\"a\\u0000b\"");
    EXPECT("\x7f", "\"\\u007f\"");
    EXPECT("\x1b[31m", "\"\\u001b[31m\"");
}

static void
test_json_valid_utf8_is_copied(void **state)
{
    (void) state;
    EXPECT("caf\xC3\xA9", "\"caf\xC3\xA9\"");
    EXPECT("\xE2\x82\xAC", "\"\xE2\x82\xAC\"");             /* U+20AC */
    EXPECT("\xF0\x9D\x84\x9E", "\"\xF0\x9D\x84\x9E\"");     /* U+1D11E */
    EXPECT("\xEF\xBF\xBF", "\"\xEF\xBF\xBF\"");             /* U+FFFF */
    EXPECT("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\"");     /* U+10FFFF */
    EXPECT("\xED\x9F\xBF", "\"\xED\x9F\xBF\"");             /* U+D7FF */
}

static void
test_json_line_separators_are_escaped(void **state)
{
    (void) state;
    EXPECT("a\xE2\x80\xA8" "b\xE2\x80\xA9", "\"a\\u2028b\\u2029\"");
}

static void
test_json_stray_and_impossible_bytes_become_fffd(void **state)
{
    (void) state;
    EXPECT("\x80", "\"" FFFD "\"");
    EXPECT("a\xBF" "b", "\"a" FFFD "b\"");
    EXPECT("\xFE\xFF", "\"" FFFD FFFD "\"");
    EXPECT("\xF5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    EXPECT("\xF8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\"");
}

static void
test_json_overlong_encodings_are_invalid(void **state)
{
    (void) state;
    EXPECT("\xC0\xAF", "\"" FFFD FFFD "\"");            /* '/' in 2 bytes */
    EXPECT("\xC1\xBF", "\"" FFFD FFFD "\"");
    EXPECT("\xE0\x80\xAF", "\"" FFFD FFFD FFFD "\"");   /* '/' in 3 bytes */
    EXPECT("\xE0\x9F\xBF", "\"" FFFD FFFD FFFD "\"");
    EXPECT("\xF0\x80\x80\xAF", "\"" FFFD FFFD FFFD FFFD "\"");
    EXPECT("\xF0\x8F\xBF\xBF", "\"" FFFD FFFD FFFD FFFD "\"");
}

static void
test_json_surrogates_and_above_10ffff_are_invalid(void **state)
{
    (void) state;
    EXPECT("\xED\xA0\x80", "\"" FFFD FFFD FFFD "\"");       /* U+D800 */
    EXPECT("\xED\xBF\xBF", "\"" FFFD FFFD FFFD "\"");       /* U+DFFF */
    EXPECT("\xED\xA0\xBD\xED\xB2\xA9",
           "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"");        /* CESU pair */
    EXPECT("\xF4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
}

static void
test_json_truncated_sequences_get_one_fffd(void **state)
{
    (void) state;
    EXPECT("\xE2\x82", "\"" FFFD "\"");
    EXPECT("\xE2\x82" "A", "\"" FFFD "A\"");
    EXPECT("\xF0\x9D\x84", "\"" FFFD "\"");
    EXPECT("\xF0\x9D\x84" "\xC3\xA9", "\"" FFFD "\xC3\xA9\"");
    EXPECT("\xC3", "\"" FFFD "\"");
    EXPECT("x\xC3\"", "\"x" FFFD "\\\"\"");
}

static void
test_json_keys_are_escaped_too(void **state)
{
    hg_json_t  j;

    (void) state;
    hg_json_init(&j);
    hg_json_obj_begin(&j);
    hg_json_kv_str(&j, "k\"\n\xFF", "v");
    hg_json_obj_end(&j);
    assert_int_equal(hg_json_done(&j), HG_OK);
    assert_string_equal(j.buf, "{\"k\\\"\\n" FFFD "\":\"v\"}\n");
    hg_json_free(&j);
}

static void
test_json_builds_nested_values_with_commas(void **state)
{
    hg_json_t  j;

    (void) state;
    hg_json_init(&j);
    hg_json_obj_begin(&j);
    hg_json_kv_str(&j, "a", "x");
    hg_json_kv_uint(&j, "u", UINT64_MAX);
    hg_json_key(&j, "i");
    hg_json_int(&j, INT64_MIN);
    hg_json_key(&j, "arr");
    hg_json_arr_begin(&j);
    hg_json_bool(&j, 1);
    hg_json_bool(&j, 0);
    hg_json_null(&j);
    hg_json_str(&j, NULL);
    hg_json_obj_begin(&j);
    hg_json_obj_end(&j);
    hg_json_arr_begin(&j);
    hg_json_arr_end(&j);
    hg_json_arr_end(&j);
    hg_json_kv_str(&j, "n", NULL);
    hg_json_obj_end(&j);
    assert_int_equal(hg_json_done(&j), HG_OK);
    assert_string_equal(j.buf,
        "{\"a\":\"x\",\"u\":18446744073709551615,\"i\":-9223372036854775808,"
        "\"arr\":[true,false,null,null,{},[]],\"n\":null}\n");
    assert_int_equal(jc_validate(j.buf, j.len), 0);
    hg_json_free(&j);
}

static void
test_json_nesting_to_max_depth_is_allowed(void **state)
{
    hg_json_t  j;
    int        i;

    (void) state;
    hg_json_init(&j);
    for (i = 0; i < HG_JSON_MAX_DEPTH; i++) {
        hg_json_arr_begin(&j);
    }
    for (i = 0; i < HG_JSON_MAX_DEPTH; i++) {
        hg_json_arr_end(&j);
    }
    assert_int_equal(hg_json_done(&j), HG_OK);
    assert_int_equal(jc_validate(j.buf, j.len), 0);
    hg_json_free(&j);
}

static void
test_json_nesting_past_max_depth_is_refused(void **state)
{
    hg_json_t  j;
    int        i;

    (void) state;
    hg_json_init(&j);
    for (i = 0; i <= HG_JSON_MAX_DEPTH; i++) {
        hg_json_arr_begin(&j);
    }
    for (i = 0; i <= HG_JSON_MAX_DEPTH; i++) {
        hg_json_arr_end(&j);
    }
    assert_int_equal(hg_json_done(&j), HG_EINVAL);
    hg_json_free(&j);
}

static void
test_json_unbalanced_is_refused(void **state)
{
    hg_json_t  j;

    (void) state;
    hg_json_init(&j);

    hg_json_obj_begin(&j);                      /* never closed */
    assert_int_equal(hg_json_done(&j), HG_EINVAL);

    hg_json_reset(&j);
    hg_json_arr_begin(&j);
    hg_json_arr_end(&j);
    hg_json_arr_end(&j);                        /* one end too many */
    assert_int_equal(hg_json_done(&j), HG_EINVAL);

    hg_json_reset(&j);
    hg_json_arr_begin(&j);
    hg_json_obj_end(&j);                        /* wrong closer */
    assert_int_equal(hg_json_done(&j), HG_EINVAL);

    hg_json_reset(&j);
    assert_int_equal(hg_json_done(&j), HG_EINVAL);  /* nothing written */
    hg_json_free(&j);
}

static void
test_json_misplaced_keys_and_values_are_refused(void **state)
{
    hg_json_t  j;

    (void) state;
    hg_json_init(&j);

    hg_json_obj_begin(&j);
    hg_json_str(&j, "value without key");
    hg_json_obj_end(&j);
    assert_int_equal(hg_json_done(&j), HG_EINVAL);

    hg_json_reset(&j);
    hg_json_arr_begin(&j);
    hg_json_key(&j, "key in array");
    hg_json_str(&j, "v");
    hg_json_arr_end(&j);
    assert_int_equal(hg_json_done(&j), HG_EINVAL);

    hg_json_reset(&j);
    hg_json_obj_begin(&j);
    hg_json_key(&j, "dangling");
    hg_json_obj_end(&j);
    assert_int_equal(hg_json_done(&j), HG_EINVAL);

    hg_json_reset(&j);
    hg_json_obj_begin(&j);
    hg_json_key(&j, "a");
    hg_json_key(&j, "b");
    hg_json_uint(&j, 1);
    hg_json_obj_end(&j);
    assert_int_equal(hg_json_done(&j), HG_EINVAL);

    hg_json_reset(&j);
    hg_json_uint(&j, 1);
    hg_json_uint(&j, 2);                        /* two top-level values */
    assert_int_equal(hg_json_done(&j), HG_EINVAL);
    hg_json_free(&j);
}

static void
test_json_reset_reuses_the_buffer(void **state)
{
    hg_json_t  j;
    char      *buf;

    (void) state;
    hg_json_init(&j);
    hg_json_str(&j, "first");
    assert_int_equal(hg_json_done(&j), HG_OK);
    buf = j.buf;
    hg_json_reset(&j);
    assert_int_equal(j.len, 0);
    hg_json_str(&j, "second");
    assert_int_equal(hg_json_done(&j), HG_OK);
    assert_ptr_equal(j.buf, buf);
    assert_string_equal(j.buf, "\"second\"\n");
    hg_json_free(&j);
    hg_json_free(&j);       /* freeing twice after free is safe */
}

static void
test_json_long_hostile_string_round_trips(void **state)
{
    hg_json_t       j;
    unsigned char  *in, *back;
    size_t          n = 1 << 20, i, blen = 0;
    uint32_t        x = 12345;

    (void) state;
    in = malloc(n);
    back = malloc(6 * n + 16);
    assert_non_null(in);
    assert_non_null(back);
    /* seeded random bytes: mostly invalid UTF-8, still valid JSON out */
    for (i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (unsigned char) (x >> 16);
    }
    hg_json_init(&j);
    hg_json_strn(&j, (const char *) in, n);
    assert_int_equal(hg_json_done(&j), HG_OK);
    assert_int_equal(jc_validate(j.buf, j.len), 0);
    assert_int_equal(jc_decode_string(j.buf, j.len - 1, back, &blen), 0);
    assert_true(blen >= n / 2);

    /* valid UTF-8 in gives exactly the same bytes back */
    for (i = 0; i < n; i++) {
        in[i] = (unsigned char) (i % 0x7F);
    }
    hg_json_reset(&j);
    hg_json_strn(&j, (const char *) in, n);
    assert_int_equal(hg_json_done(&j), HG_OK);
    assert_int_equal(jc_decode_string(j.buf, j.len - 1, back, &blen), 0);
    assert_int_equal(blen, n);
    assert_memory_equal(back, in, n);

    hg_json_free(&j);
    free(in);
    free(back);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes_quote_backslash_and_short_forms),
        cmocka_unit_test(test_json_control_characters_become_u00xx),
        cmocka_unit_test(test_json_valid_utf8_is_copied),
        cmocka_unit_test(test_json_line_separators_are_escaped),
        cmocka_unit_test(test_json_stray_and_impossible_bytes_become_fffd),
        cmocka_unit_test(test_json_overlong_encodings_are_invalid),
        cmocka_unit_test(test_json_surrogates_and_above_10ffff_are_invalid),
        cmocka_unit_test(test_json_truncated_sequences_get_one_fffd),
        cmocka_unit_test(test_json_keys_are_escaped_too),
        cmocka_unit_test(test_json_builds_nested_values_with_commas),
        cmocka_unit_test(test_json_nesting_to_max_depth_is_allowed),
        cmocka_unit_test(test_json_nesting_past_max_depth_is_refused),
        cmocka_unit_test(test_json_unbalanced_is_refused),
        cmocka_unit_test(test_json_misplaced_keys_and_values_are_refused),
        cmocka_unit_test(test_json_reset_reuses_the_buffer),
        cmocka_unit_test(test_json_long_hostile_string_round_trips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_mime_header.c - the header fields the MIME parser reads, through
 * their interface (common/mime/mime_header.h): charsets, RFC 2047 encoded
 * words, RFC 2231 parameters and the fields of a part's header block. Every
 * name that comes out is valid UTF-8 without NULs, invalid bytes replaced
 * by the library's one rule (one U+FFFD per maximal subpart).
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

#include "mime/mime_header.h"

#define R "\xEF\xBF\xBD"

static void
expect_utf8(const char *charset, const char *in, size_t n, const char *want)
{
    char  *out = hg_mime_to_utf8(charset, in, n);

    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

#define TO_UTF8(cs, lit, want)  expect_utf8(cs, lit, sizeof(lit) - 1, want)

/* The filename hg_mime_fields_parse takes from a header block. */
static char *
filename_of(const char *block)
{
    hg_mime_fields_t  f;
    char             *name;

    hg_mime_fields_init(&f);
    assert_int_equal(hg_mime_fields_parse(&f, block, strlen(block)), HG_OK);
    name = f.filename;
    f.filename = NULL;
    hg_mime_fields_free(&f);
    assert_non_null(name);
    return name;
}

static void
expect_filename(const char *block, const char *want)
{
    char  *name = filename_of(block);

    assert_string_equal(name, want);
    free(name);
}

static void
test_mime_latin1_cp1252_and_utf8_are_converted_here(void **state)
{
    (void) state;
    TO_UTF8("ISO-8859-1", "caf\xe9", "caf\xc3\xa9");
    TO_UTF8("latin1", "\xa0\xff", "\xc2\xa0\xc3\xbf");
    TO_UTF8("windows-1252", "\x80uro \x93q\x94", "\xe2\x82\xacuro \xe2\x80\x9cq\xe2\x80\x9d");
    TO_UTF8("cp1252", "a\x81" "b", "a" R "b");         /* a hole */
    TO_UTF8("utf-8", "caf\xc3\xa9", "caf\xc3\xa9");
    TO_UTF8("us-ascii", "plain", "plain");
    TO_UTF8(NULL, "plain", "plain");
    /* NULs never reach a C string */
    TO_UTF8("iso-8859-1", "a\0b", "a" R "b");
    TO_UTF8("utf-8", "a\0b", "a" R "b");
}

static void
test_mime_invalid_utf8_gives_one_fffd_per_maximal_subpart(void **state)
{
    (void) state;
    /* a character cut short is one U+FFFD, not one per byte */
    TO_UTF8("utf-8", "r\xe2\x82sum\xc3.pdf", "r" R "sum" R ".pdf");
    /* an overlong '/', a surrogate, U+110000: one per byte */
    TO_UTF8("utf-8", "a\xc0\xaf" "b", "a" R R "b");
    TO_UTF8("utf-8", "\xed\xa0\x80", R R R);
    TO_UTF8("utf-8", "\xf4\x90\x80\x80", R R R R);
    TO_UTF8("utf-8", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");
    /* an unknown charset reads as UTF-8 */
    TO_UTF8("x-no-such-charset", "\xe2\x82x", R "x");

    /* the same through each way a filename is given */
    expect_filename("Content-Disposition: attachment; filename=\"r\xe2\x82sum\xc3.pdf\"\n",
                    "r" R "sum" R ".pdf");
    expect_filename("Content-Disposition: attachment;\n"
                    " filename*=utf-8''r%E2%82sum%C3.pdf\n",
                    "r" R "sum" R ".pdf");
    expect_filename("Content-Disposition: attachment;\n"
                    " filename=\"=?utf-8?q?r=E2=82sum=C3.pdf?=\"\n",
                    "r" R "sum" R ".pdf");
    expect_filename("Content-Type: application/pdf; name=\"r\xe2\x82sum\xc3.pdf\"\n",
                    "r" R "sum" R ".pdf");
}

static void
test_mime_other_charsets_go_through_iconv(void **state)
{
    (void) state;
    TO_UTF8("koi8-r", "\xd4\xc5\xd3\xd4", "\xd1\x82\xd0\xb5\xd1\x81\xd1\x82");
    TO_UTF8("utf-16le", "a\0b\0", "ab");
    /* a NUL iconv lets through is replaced too, and does not end the name */
    TO_UTF8("utf-16le", "a\0\0\0b\0", "a" R "b");
    /* an odd byte at the end is one U+FFFD */
    TO_UTF8("utf-16le", "a\0b", "a" R);
}

static void
test_mime_rfc2047_words_are_decoded_and_joined(void **state)
{
    char  *s;

    (void) state;
    s = hg_mime_decode_words("=?UTF-8?B?5pel5pys?= =?UTF-8?Q?_=E8=AA=9E.txt?=",
                             47);
    assert_string_equal(s, "\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e.txt");
    free(s);
    s = hg_mime_decode_words("a =?iso-8859-1?q?caf=E9?= b", 27);
    assert_string_equal(s, "a caf\xc3\xa9 b");
    free(s);
    /* RFC 2231 section 5: a language after the charset */
    s = hg_mime_decode_words("=?utf-8*en?q?x=C3=A9?=", 22);
    assert_string_equal(s, "x\xc3\xa9");
    free(s);
    /* not a word: kept as text */
    s = hg_mime_decode_words("=?utf-8?x?abc?=", 15);
    assert_string_equal(s, "=?utf-8?x?abc?=");
    free(s);
}

static void
test_mime_rfc2231_parameters_are_joined_and_decoded(void **state)
{
    static const char v[] = "attachment; filename*0*=UTF-8''r%C3%A9sum;\n"
                            " filename*1*=%C3%A9; filename*2=\".pdf\"; size=3";
    char  *out;
    int    ext;

    (void) state;
    assert_int_equal(hg_mime_param(v, sizeof(v) - 1, "filename", &out, &ext),
                     HG_OK);
    assert_string_equal(out, "r\xc3\xa9sum\xc3\xa9.pdf");
    assert_int_equal(ext, 1);
    free(out);
    assert_int_equal(hg_mime_param(v, sizeof(v) - 1, "size", &out, &ext),
                     HG_OK);
    assert_string_equal(out, "3");
    assert_int_equal(ext, 0);
    free(out);
    assert_int_equal(hg_mime_param(v, sizeof(v) - 1, "name", &out, &ext),
                     HG_OK);
    assert_null(out);
}

static void
test_mime_content_type_keeps_the_boundary_as_sent(void **state)
{
    static const char v1[] = "Multipart/Mixed; boundary=\"\xe9t\xe9 \"";
    static const char v2[] = "multipart/mixed; boundary=a; boundary=b";
    static const char v3[] = "multipart/mixed; boundary*=''a%00b";
    char   type[HG_MIME_TYPE_MAX + 1], *b;
    int    twice;

    (void) state;
    assert_int_equal(hg_mime_content_type(v1, sizeof(v1) - 1, type,
                                          sizeof(type), &b, &twice), HG_OK);
    assert_string_equal(type, "multipart/mixed");
    assert_string_equal(b, "\xe9t\xe9");       /* bytes, trailing blank cut */
    assert_int_equal(twice, 0);
    free(b);
    assert_int_equal(hg_mime_content_type(v2, sizeof(v2) - 1, type,
                                          sizeof(type), &b, &twice), HG_OK);
    assert_string_equal(b, "a");
    assert_int_equal(twice, 1);
    free(b);
    assert_int_equal(hg_mime_content_type(v3, sizeof(v3) - 1, type,
                                          sizeof(type), &b, &twice),
                     HG_EFORMAT);
    assert_null(b);
}

static void
test_mime_fields_first_wins_and_conflicts_are_named(void **state)
{
    static const char same[] =
        "Content-Type: application/pdf; name=a.pdf\n"
        "Content-Transfer-Encoding: Base64\n"
        "Content-Type: application/octet-stream\n";
    static const char differ[] =
        "Content-Transfer-Encoding: base64\n"
        "Content-Transfer-Encoding: quoted-printable\n";
    hg_mime_fields_t  f;

    (void) state;
    hg_mime_fields_init(&f);
    assert_int_equal(hg_mime_fields_parse(&f, same, sizeof(same) - 1), HG_OK);
    assert_string_equal(f.type, "application/pdf");
    assert_string_equal(f.encoding, "base64");
    assert_string_equal(f.filename, "a.pdf");
    assert_null(f.conflict);
    hg_mime_fields_free(&f);
    assert_int_equal(hg_mime_fields_parse(&f, differ, sizeof(differ) - 1),
                     HG_OK);
    assert_string_equal(f.conflict, "Content-Transfer-Encoding");
    hg_mime_fields_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mime_latin1_cp1252_and_utf8_are_converted_here),
        cmocka_unit_test(test_mime_invalid_utf8_gives_one_fffd_per_maximal_subpart),
        cmocka_unit_test(test_mime_other_charsets_go_through_iconv),
        cmocka_unit_test(test_mime_rfc2047_words_are_decoded_and_joined),
        cmocka_unit_test(test_mime_rfc2231_parameters_are_joined_and_decoded),
        cmocka_unit_test(test_mime_content_type_keeps_the_boundary_as_sent),
        cmocka_unit_test(test_mime_fields_first_wins_and_conflicts_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_magic.c - libmagic names an object's true type from its first bytes,
 * whatever the sender declared.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hashgate/magic.h"

static void
fill(unsigned char *p, size_t n, uint32_t seed)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char) (seed >> 24);
    }
}

static void
test_magic_names_true_types(void **state)
{
    hg_magic_t  *m;
    hg_err_t     err;
    char         t[64];
    static const unsigned char png[] =
        "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0"
        "\x90\x91\x68\x36";
    static const char pdf[] = "%PDF-1.4\n1 0 obj\n<<>>\nendobj\n";

    (void) state;
    m = hg_magic_new(&err);
    if (m == NULL) {
        fail_msg("hg_magic_new: %s", err.msg);
    }
    hg_magic_type(m, png, sizeof(png) - 1, t, sizeof(t));
    assert_string_equal(t, "image/png");
    hg_magic_type(m, pdf, sizeof(pdf) - 1, t, sizeof(t));
    assert_string_equal(t, "application/pdf");
    hg_magic_free(m);
}

static void
test_magic_unknown_bytes_are_octet_stream(void **state)
{
    hg_magic_t     *m;
    hg_err_t        err;
    char            t[64];
    unsigned char   rnd[512];

    (void) state;
    m = hg_magic_new(&err);
    assert_non_null(m);
    fill(rnd, sizeof(rnd), 9);
    rnd[0] = 0xFF;
    rnd[1] = 0x00;
    hg_magic_type(m, rnd, sizeof(rnd), t, sizeof(t));
    assert_string_equal(t, "application/octet-stream");
    hg_magic_free(m);
}

static void
test_magic_truncates_and_tolerates_null(void **state)
{
    hg_magic_t  *m;
    hg_err_t     err;
    char         t[64];
    static const char pdf[] = "%PDF-1.4\n1 0 obj\n<<>>\nendobj\n";

    (void) state;
    m = hg_magic_new(&err);
    assert_non_null(m);
    hg_magic_type(m, pdf, sizeof(pdf) - 1, t, 6);
    assert_string_equal(t, "appli");
    hg_magic_type(m, NULL, 0, t, sizeof(t));
    assert_true(t[0] != '\0');
    hg_magic_free(m);

    hg_magic_type(NULL, pdf, sizeof(pdf) - 1, t, sizeof(t));
    assert_string_equal(t, "");
    hg_magic_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic_names_true_types),
        cmocka_unit_test(test_magic_unknown_bytes_are_octet_stream),
        cmocka_unit_test(test_magic_truncates_and_tolerates_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_decode.c - the streaming transfer decoders (common/mime/decode_*.c):
 * known vectors, every chunk split of short inputs, tolerated junk and the
 * error counts that report it. Every base64 case runs through each path
 * this CPU has (scalar, AVX2, AVX-512 VBMI, forced with hg_b64_force_path)
 * and each must give what the scalar path gives; the paths the CPU lacks
 * are named as skipped.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mime/decode.h"

#define OUT_MAX 4096

typedef enum { D_B64, D_QP, D_UU } dec_kind_t;

typedef struct {
    unsigned char   out[OUT_MAX];
    size_t          len;
    uint64_t        errors;
    char            name[HG_UU_NAME_MAX + 1];
} result_t;

static const struct {
    hg_b64_path_t   path;
    const char     *name;
    const char     *cpu_flags[3];   /* /proc/cpuinfo flags the path needs */
} b64_paths[] = {
    { HG_B64_SCALAR, "scalar", { NULL } },
    { HG_B64_AVX2, "AVX2", { "avx2", NULL } },
    { HG_B64_AVX512, "AVX-512 VBMI", { "avx2", "avx512bw", "avx512vbmi" } },
};
#define B64_NPATHS  (sizeof(b64_paths) / sizeof(b64_paths[0]))

/* Decode in, split at the given offsets (cuts ascending, ncuts of them). */
static void
decode_split_once(dec_kind_t kind, const char *in, size_t len,
                  const size_t *cuts, size_t ncuts, result_t *r)
{
    hg_b64_t    b;
    hg_qp_t     q;
    hg_uu_t     u;
    size_t      start = 0, end, i, used, n;

    memset(r, 0, sizeof(*r));
    hg_b64_init(&b);
    hg_qp_init(&q);
    hg_uu_init(&u, HG_UU_SEEK, 0);
    for (i = 0; i <= ncuts; i++) {
        end = i < ncuts ? cuts[i] : len;
        const unsigned char *p = (const unsigned char *) in + start;
        n = end - start;
        switch (kind) {
        case D_B64: {
            /* exactly the promised room, so ASan sees any overrun */
            unsigned char *tight = malloc(n + 2);

            assert_non_null(tight);
            used = hg_b64_feed(&b, p, n, tight);
            assert_true(used <= n + 2);
            memcpy(r->out + r->len, tight, used);
            r->len += used;
            free(tight);
            break;
        }
        case D_QP:
            r->len += hg_qp_feed(&q, p, n, r->out + r->len);
            break;
        case D_UU:
            while (n > 0) {
                r->len += hg_uu_feed(&u, p, n, &used, r->out + r->len,
                                     OUT_MAX - r->len);
                p += used;
                n -= used;
            }
            break;
        }
        start = end;
    }
    switch (kind) {
    case D_B64:
        r->len += hg_b64_finish(&b, r->out + r->len);
        r->errors = b.errors;
        break;
    case D_QP:
        r->len += hg_qp_finish(&q, r->out + r->len);
        r->errors = q.errors;
        break;
    case D_UU:
        r->len += hg_uu_finish(&u, r->out + r->len);
        r->errors = u.errors;
        memcpy(r->name, u.name, sizeof(r->name));
        break;
    }
}

/*
 * As decode_split_once; base64 is decoded by the scalar path into r, then
 * by every vector path the CPU has, each of which must give the same bytes
 * and error count.
 */
static void
decode_split(dec_kind_t kind, const char *in, size_t len, const size_t *cuts,
             size_t ncuts, result_t *r)
{
    static result_t v;      /* static: 4 KiB is a lot for cmocka's stack */
    size_t          i;

    if (kind != D_B64) {
        decode_split_once(kind, in, len, cuts, ncuts, r);
        return;
    }
    assert_int_equal(hg_b64_force_path(HG_B64_SCALAR), 0);
    decode_split_once(kind, in, len, cuts, ncuts, r);
    for (i = 1; i < B64_NPATHS; i++) {
        if (hg_b64_force_path(b64_paths[i].path) != 0) {
            continue;
        }
        decode_split_once(kind, in, len, cuts, ncuts, &v);
        if (v.len != r->len || memcmp(v.out, r->out, r->len) != 0
            || v.errors != r->errors)
        {
            fail_msg("base64 path %s gives %zu bytes, %llu errors; scalar "
                     "gives %zu bytes, %llu errors%s", b64_paths[i].name,
                     v.len, (unsigned long long) v.errors, r->len,
                     (unsigned long long) r->errors,
                     v.len == r->len ? " (other bytes)" : "");
        }
    }
    assert_int_equal(hg_b64_force_path(HG_B64_AUTO), 0);
}

/* Whether /proc/cpuinfo lists flag; -1 if it cannot be read. */
static int
cpu_flag(const char *flag)
{
    static char     flags[8192];
    static int      loaded = 0;
    char            line[8192], *p;
    size_t          n = strlen(flag);
    FILE           *f;

    if (!loaded) {
        loaded = -1;
        f = fopen("/proc/cpuinfo", "r");
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "flags", 5) == 0 && (p = strchr(line, ':'))) {
                snprintf(flags, sizeof(flags), "%s ", p + 1);
                flags[strcspn(flags, "\n")] = ' ';
                loaded = 1;
                break;
            }
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    if (loaded < 0) {
        return -1;
    }
    for (p = flags; (p = strstr(p, flag)) != NULL; p += n) {
        if ((p == flags || p[-1] == ' ') && p[n] == ' ') {
            return 1;
        }
    }
    return 0;
}

/*
 * hg_b64_force_path takes exactly the paths the CPU has (read here from
 * /proc/cpuinfo, not from the compiler's CPU probe the decoder uses), so no
 * path is skipped on a CPU that has it; the skipped ones are named.
 */
static void
test_b64_every_path_the_cpu_has_is_forced(void **state)
{
    size_t      i, j;
    int         has, known;

    (void) state;
    for (i = 0; i < B64_NPATHS; i++) {
        has = 1;
        known = 1;
        for (j = 0; j < 3 && b64_paths[i].cpu_flags[j] != NULL; j++) {
            int f = cpu_flag(b64_paths[i].cpu_flags[j]);

            known &= f >= 0;
            has &= f > 0;
        }
#if !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)))
        has &= i == 0;      /* no vector path is built */
#endif
        if (hg_b64_force_path(b64_paths[i].path) == 0) {
            if (known && !has) {
                fail_msg("base64 path %s forced on a CPU without it",
                         b64_paths[i].name);
            }
            print_message("# base64 path %s: tested\n", b64_paths[i].name);
        } else {
            if (known && has) {
                fail_msg("base64 path %s refused on a CPU that has it",
                         b64_paths[i].name);
            }
            print_message("# base64 path %s: skipped, this CPU lacks it\n",
                          b64_paths[i].name);
        }
    }
    assert_int_equal(hg_b64_force_path(HG_B64_AUTO), 0);
    assert_int_equal(hg_b64_force_path((hg_b64_path_t) 99), -1);
}

/*
 * Decode whole, then split in two at every offset, then in three at every
 * pair, then one byte at a time: every way must give want and errors.
 */
static void
check_all_splits(dec_kind_t kind, const char *in, const char *want,
                 size_t want_len, uint64_t errors)
{
    size_t      len = strlen(in), i, j, cuts[2], *one;
    result_t    r;

    decode_split(kind, in, len, NULL, 0, &r);
    assert_int_equal(r.len, want_len);
    assert_memory_equal(r.out, want, want_len);
    assert_int_equal(r.errors, errors);
    for (i = 0; i <= len; i++) {
        cuts[0] = i;
        decode_split(kind, in, len, cuts, 1, &r);
        assert_int_equal(r.len, want_len);
        assert_memory_equal(r.out, want, want_len);
        assert_int_equal(r.errors, errors);
        for (j = i; j <= len && len < 200; j++) {
            cuts[1] = j;
            decode_split(kind, in, len, cuts, 2, &r);
            assert_int_equal(r.len, want_len);
            assert_memory_equal(r.out, want, want_len);
            assert_int_equal(r.errors, errors);
        }
    }
    one = malloc((len + 1) * sizeof(*one));
    assert_non_null(one);
    for (i = 0; i < len; i++) {
        one[i] = i + 1;
    }
    decode_split(kind, in, len, one, len, &r);
    free(one);
    assert_int_equal(r.len, want_len);
    assert_memory_equal(r.out, want, want_len);
    assert_int_equal(r.errors, errors);
}

static void
test_b64_rfc4648_vectors(void **state)
{
    (void) state;
    check_all_splits(D_B64, "", "", 0, 0);
    check_all_splits(D_B64, "Zg==", "f", 1, 0);
    check_all_splits(D_B64, "Zm8=", "fo", 2, 0);
    check_all_splits(D_B64, "Zm9v", "foo", 3, 0);
    check_all_splits(D_B64, "Zm9vYg==", "foob", 4, 0);
    check_all_splits(D_B64, "Zm9vYmE=", "fooba", 5, 0);
    check_all_splits(D_B64, "Zm9vYmFy", "foobar", 6, 0);
    check_all_splits(D_B64, "AP8A/w==", "\0\377\0\377", 4, 0);
}

static void
test_b64_whitespace_and_odd_lines_tolerated(void **state)
{
    (void) state;
    check_all_splits(D_B64, "Zm9\r\nvYm\n Fy\t\r\n", "foobar", 6, 0);
    check_all_splits(D_B64, "Z\nm\n9\nv\nY\nm\nF\ny\n", "foobar", 6, 0);
    /* missing padding still decodes what is there */
    check_all_splits(D_B64, "Zm9vYmE", "fooba", 5, 0);
    check_all_splits(D_B64, "Zm8\r\n", "fo", 2, 0);
}

static void
test_b64_junk_is_skipped_and_counted(void **state)
{
    (void) state;
    check_all_splits(D_B64, "Zm9v!YmFy", "foobar", 6, 1);
    check_all_splits(D_B64, "Z*m9v~Ym.Fy", "foobar", 6, 3);
    /* a lone character at the end cannot make a byte */
    check_all_splits(D_B64, "Zm9vY", "foo", 3, 1);
    /* after the padding the rest is ignored; non-blanks counted */
    check_all_splits(D_B64, "Zg==\r\nZm9v\r\n", "f", 1, 4);
    /* '=' where no quantum can end */
    check_all_splits(D_B64, "=Zm9v", "foo", 3, 1);
}

/* Encode ref[0..n) with a line end every linelen characters. */
static size_t
b64_encode_lines(const unsigned char *ref, size_t n, size_t linelen,
                 const char *eol, char *out)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t      i, o = 0, col = 0;
    unsigned    acc = 0, bits = 0;

    for (i = 0; i < n; i++) {
        acc = acc << 8 | ref[i];
        bits += 8;
        while (bits >= 6) {
            out[o++] = alpha[(acc >> (bits - 6)) & 63];
            bits -= 6;
            if (++col == linelen) {
                memcpy(out + o, eol, strlen(eol));
                o += strlen(eol);
                col = 0;
            }
        }
    }
    out[o] = '\0';
    return o;
}

/*
 * Long inputs take the vector paths (32-character blocks with shifted line
 * ends; AVX2 or AVX-512 line by line): every line length and line end, on
 * every path the CPU has, split anywhere, must
 * give the bytes the encoder was given; junk mid-line is still counted.
 */
static void
test_b64_long_input_matches_reference(void **state)
{
    static const size_t lens[] = { 76, 64, 60, 57, 100, 4, 32, 36, 256, 100000 };
    static const char  *eols[] = { "\r\n", "\n" };
    unsigned char       ref[900];
    char               *in = malloc(4000);
    size_t              i, n, l, e, cut[1];
    unsigned            seed = 7;
    result_t            r;

    (void) state;
    assert_non_null(in);
    for (i = 0; i < sizeof(ref); i++) {
        seed = seed * 1103515245 + 12345;
        ref[i] = (unsigned char) (seed >> 16);
    }
    for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        for (e = 0; e < 2; e++) {
            n = b64_encode_lines(ref, sizeof(ref), lens[l], eols[e], in);
            for (i = 0; i <= n; i += 7) {
                cut[0] = i;
                decode_split(D_B64, in, n, cut, 1, &r);
                assert_int_equal(r.len, sizeof(ref));
                assert_memory_equal(r.out, ref, sizeof(ref));
                assert_int_equal(r.errors, 0);
            }
            /* one junk character in the middle of a line */
            memmove(in + 501, in + 500, n - 500 + 1);
            in[500] = '*';
            decode_split(D_B64, in, n + 1, NULL, 0, &r);
            assert_int_equal(r.len, sizeof(ref));
            assert_memory_equal(r.out, ref, sizeof(ref));
            assert_int_equal(r.errors, 1);
        }
    }
    free(in);
}

static void
test_qp_hex_escapes_any_case(void **state)
{
    (void) state;
    check_all_splits(D_QP, "=41=62c=3d=3D", "Abc==", 5, 0);
    check_all_splits(D_QP, "caf=C3=A9 =e2=82=ac", "caf\xc3\xa9 \xe2\x82\xac", 9, 0);
    check_all_splits(D_QP, "no escapes at all\r\n", "no escapes at all\r\n", 19, 0);
}

static void
test_qp_soft_break_joins_lines(void **state)
{
    (void) state;
    check_all_splits(D_QP, "ab=\r\ncd=\nef\r\ngh", "abcdef\r\ngh", 10, 0);
    /* a final '=' lost its line end to the boundary: still a soft break */
    check_all_splits(D_QP, "tail=", "tail", 4, 0);
}

static void
test_qp_malformed_kept_literally_and_counted(void **state)
{
    (void) state;
    check_all_splits(D_QP, "a=ZZb", "a=ZZb", 5, 1);
    check_all_splits(D_QP, "a=4Gb", "a=4Gb", 5, 1);
    check_all_splits(D_QP, "x=4", "x=4", 3, 1);
    check_all_splits(D_QP, "1= 2", "1= 2", 4, 1);
    /* "=\r" not followed by "\n": the CR goes, counted */
    check_all_splits(D_QP, "a=\rb", "ab", 2, 1);
}

static void
test_uu_block_decodes_with_name(void **state)
{
    result_t    r;

    (void) state;
    /* "Cat" is "#0V%T"; a zero-length line and "end" close the block */
    check_all_splits(D_UU, "begin 644 cat.txt\n#0V%T\n`\nend\n", "Cat", 3, 0);
    check_all_splits(D_UU, "junk before\r\nbegin 600 a b.txt\r\n#0V%T\r\n`\r\nend\r\n"
                     "junk after\n", "Cat", 3, 0);
    decode_split(D_UU, "begin 644 cat.txt  \n#0V%T\n`\nend\n", 31, NULL, 0, &r);
    assert_string_equal(r.name, "cat.txt");
}

static void
test_uu_short_lines_padded_and_bad_chars_counted(void **state)
{
    unsigned char   out[64];
    uint64_t        errors = 0;

    (void) state;
    /* trailing spaces stripped by a mailer: padded with zero sextets */
    assert_int_equal(hg_uu_decode_line((const unsigned char *) "#0V", 3, out,
                                       &errors), 3);
    assert_memory_equal(out, "C\x60\0", 3);
    assert_int_equal(errors, 0);
    /* a character outside ' '..'`' */
    assert_int_equal(hg_uu_decode_line((const unsigned char *) "#0V%T~", 6, out,
                                       &errors), 3);
    assert_int_equal(errors, 0);    /* beyond the declared length: ignored */
    assert_int_equal(hg_uu_decode_line((const unsigned char *) "#0\x01%T", 5,
                                       out, &errors), 3);
    assert_int_equal(errors, 1);
    check_all_splits(D_UU, "begin 644 x\n#0V%T\n#0{%T\nend\n", "Cat" "@\x01t",
                     6, 1);
}

static void
test_uu_without_begin_is_an_error(void **state)
{
    (void) state;
    check_all_splits(D_UU, "#0V%T\n`\nend\n", "", 0, 1);
    check_all_splits(D_UU, "", "", 0, 0);
}

static void
test_uu_stop_at_begin(void **state)
{
    hg_uu_t         u;
    unsigned char   out[HG_UU_OUT_MIN * 2];
    const char     *in = "text\nbegin 644 f\n#0V%T\nend\nmore\n";
    size_t          used, w;

    (void) state;
    hg_uu_init(&u, HG_UU_SEEK, 1);
    w = hg_uu_feed(&u, (const unsigned char *) in, strlen(in), &used, out,
                   sizeof(out));
    assert_int_equal(w, 0);
    assert_int_equal(u.state, HG_UU_BODY);
    assert_int_equal(used, strlen("text\nbegin 644 f\n"));
    assert_string_equal(u.name, "f");
    w = hg_uu_feed(&u, (const unsigned char *) in + used, strlen(in) - used,
                   &used, out, sizeof(out));
    assert_int_equal(w, 3);
    assert_int_equal(u.state, HG_UU_DONE);
    assert_int_equal(used, strlen("#0V%T\nend\n"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_every_path_the_cpu_has_is_forced),
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_whitespace_and_odd_lines_tolerated),
        cmocka_unit_test(test_b64_junk_is_skipped_and_counted),
        cmocka_unit_test(test_b64_long_input_matches_reference),
        cmocka_unit_test(test_qp_hex_escapes_any_case),
        cmocka_unit_test(test_qp_soft_break_joins_lines),
        cmocka_unit_test(test_qp_malformed_kept_literally_and_counted),
        cmocka_unit_test(test_uu_block_decodes_with_name),
        cmocka_unit_test(test_uu_short_lines_padded_and_bad_chars_counted),
        cmocka_unit_test(test_uu_without_begin_is_an_error),
        cmocka_unit_test(test_uu_stop_at_begin),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

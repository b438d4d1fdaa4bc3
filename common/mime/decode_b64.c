/*
 * decode_b64.c - a streaming, table-driven base64 decoder.
 *
 * Attachments are mostly base64, so this is the inner loop of mail
 * scanning, and SHA-256 with SHA-NI runs at ~1.8 GB/s: to cost less than a
 * quarter of the hashing, decoding must run at several GB/s. On x86-64 with
 * AVX2 (checked at run time) 32 characters are validated and decoded at
 * once (W. Mula and D. Lemire's method, as in aklomp/base64), and a block
 * holding one line end is decoded by shifting the line end out; elsewhere
 * whole quanta of four valid characters are decoded from a 256-entry
 * table. Only padding, junk and odd line ends take the character-by-
 * character path. Mail readers are lenient, and so are we:
 * whitespace and odd line lengths are fine, other junk is skipped and
 * counted, so a scan never stops on a damaged attachment but reports it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mime/decode.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define B64_AVX2 1
#endif

#define B64_WS      0x40    /* whitespace: skipped silently */
#define B64_PAD     0x41    /* '=' */
#define B64_BAD     0x80    /* anything else: skipped and counted */

static const unsigned char b64_table[256] = {
#define B 0x80
    B, B, B, B, B, B, B, B, B, 0x40, 0x40, 0x40, 0x40, 0x40, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    0x40, B, B, B, B, B, B, B, B, B, B, 62, B, B, B, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, B, B, B, 0x41, B, B,
    B, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, B, B, B, B, B,
    B, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
#undef B
};


#ifdef B64_AVX2

/* Longest line decoded line by line (RFC 2045 says 76). */
#define B64_LINE_MAX    256

/*
 * Decode 32 characters into 24 bytes at o (32 bytes are stored: the
 * caller's buffer has room, see hg_b64_feed). Returns 0 if a character is
 * outside the alphabet: then what was stored is garbage the caller does
 * not count. Branch-free, so a line of blocks has one branch.
 */
static inline __attribute__((target("avx2"))) int
_b64_avx2_block(__m256i str, unsigned char *o)
{
    const __m256i lut_lo = _mm256_setr_epi8(
        0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
        0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
    const __m256i lut_hi = _mm256_setr_epi8(
        0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
        0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
        0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
        0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m256i lut_roll = _mm256_setr_epi8(
        0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i mask_2f = _mm256_set1_epi8(0x2f);
    __m256i hi_nib, lo_nib, hi, lo, roll, m;

    hi_nib = _mm256_and_si256(_mm256_srli_epi32(str, 4), mask_2f);
    lo_nib = _mm256_and_si256(str, mask_2f);
    hi = _mm256_shuffle_epi8(lut_hi, hi_nib);
    lo = _mm256_shuffle_epi8(lut_lo, lo_nib);
    roll = _mm256_shuffle_epi8(lut_roll,
               _mm256_add_epi8(_mm256_cmpeq_epi8(str, mask_2f), hi_nib));
    str = _mm256_add_epi8(str, roll);
    /* 00aaaaaa 00bbbbbb 00cccccc 00dddddd -> aaaaaabb bbbbcccc ccdddddd */
    m = _mm256_maddubs_epi16(str, _mm256_set1_epi32(0x01400140));
    m = _mm256_madd_epi16(m, _mm256_set1_epi32(0x00011000));
    m = _mm256_shuffle_epi8(m, _mm256_setr_epi8(
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
    m = _mm256_permutevar8x32_epi32(m, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1));
    _mm256_storeu_si256((__m256i *) (void *) o, m);
    return _mm256_testz_si256(lo, hi);
}

/* nq whole quanta from the table; 0 (and garbage in o) if one is invalid. */
static int
_b64_quads(const unsigned char *p, size_t nq, unsigned char *o)
{
    unsigned    a, b, c, e, bad = 0;

    for (; nq > 0; nq--, p += 4, o += 3) {
        a = b64_table[p[0]];
        b = b64_table[p[1]];
        c = b64_table[p[2]];
        e = b64_table[p[3]];
        bad |= a | b | c | e;
        o[0] = (unsigned char) (a << 2 | b >> 4);
        o[1] = (unsigned char) (b << 4 | c >> 2);
        o[2] = (unsigned char) (c << 6 | e);
    }
    return !(bad & 0xc0);
}

/*
 * Lines of len characters (a multiple of 4, 32..B64_LINE_MAX) each ended by
 * eol bytes (LF or CRLF), from the start of a line: each line is blocks at
 * 0, 32, ... and a last block ending at the line's end, overlapping the one
 * before on whole quanta, so a line costs one well-predicted branch. Stops
 * at the first line that differs (the last one, or junk). The stores reach
 * at most 8 bytes past a line's output, less than its line end and the
 * quarter base64 saves, so hg_b64_feed's len + 2 holds.
 */
static __attribute__((target("avx2"))) size_t
_b64_avx2_lines(const unsigned char **pp, const unsigned char *end,
                unsigned char *o, size_t len, size_t eol)
{
    const unsigned char *p = *pp;
    unsigned char       *o0 = o;
    size_t               i, nb = (len - 1) / 32;
    int                  ok;

    while ((size_t) (end - p) >= len + eol) {
        if (p[len + eol - 1] != '\n' || (eol == 2 && p[len] != '\r')) {
            break;
        }
        /* decoding outruns the hardware prefetcher on a message in DRAM */
        __builtin_prefetch(p + 2048);
        ok = 1;
        for (i = 0; i < nb; i++) {
            ok &= _b64_avx2_block(_mm256_loadu_si256(
                      (const __m256i *) (const void *) (p + 32 * i)), o + 24 * i);
        }
        ok &= _b64_avx2_block(_mm256_loadu_si256(
                  (const __m256i *) (const void *) (p + len - 32)),
                  o + (len - 32) / 4 * 3);
        if (!ok) {
            break;
        }
        p += len + eol;
        o += len / 4 * 3;
    }
    *pp = p;
    return (size_t) (o - o0);
}

/* The paths hg_b64_force_path allows (all unless forced). */
static int  b64_allowed = 3;

/* Which vector paths this CPU has: bit 0 AVX2, bit 1 AVX-512 VBMI. */
static int
_b64_cpu_has(void)
{
    static int  have = -1;
    int         h = __atomic_load_n(&have, __ATOMIC_RELAXED);

    if (h < 0) {
        __builtin_cpu_init();
        h = (__builtin_cpu_supports("avx2") ? 1 : 0)
            | (__builtin_cpu_supports("avx512bw")
               && __builtin_cpu_supports("avx512vbmi") ? 2 : 0);
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h;
}

/* The vector paths to take: those the CPU has, less any not allowed. */
static inline int
_b64_cpu(void)
{
    return _b64_cpu_has() & __atomic_load_n(&b64_allowed, __ATOMIC_RELAXED);
}

#define B64_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/*
 * As _b64_avx2_lines with 64 characters a block (lines of 64 or more):
 * a 128-entry table lookup by vpermi2b (W. Mula and D. Lemire, "Base64
 * encoding and decoding at almost the speed of a memory copy"), so a
 * 76-character line is two blocks. The stores reach at most 16 bytes past
 * a line's output, which len >= 64 leaves room for (see hg_b64_feed).
 */
static B64_VBMI size_t
_b64_vbmi_lines(const unsigned char **pp, const unsigned char *end,
                unsigned char *o, size_t len, size_t eol)
{
    const unsigned char *p = *pp;
    unsigned char       *o0 = o;
    unsigned char        pack[64];
    size_t               i, nb = (len - 1) / 64;
    __m512i              lut0, lut1, perm, t, m;
    __mmask64            bad;

    /* the table without its whitespace and padding classes: all invalid */
    lut0 = _mm512_loadu_si512((const void *) b64_table);
    lut1 = _mm512_loadu_si512((const void *) (b64_table + 64));
    lut0 = _mm512_mask_mov_epi8(lut0, _mm512_test_epi8_mask(lut0,
               _mm512_set1_epi8((char) 0xc0)), _mm512_set1_epi8((char) 0x80));
    lut1 = _mm512_mask_mov_epi8(lut1, _mm512_test_epi8_mask(lut1,
               _mm512_set1_epi8((char) 0xc0)), _mm512_set1_epi8((char) 0x80));
    for (i = 0; i < 64; i++) {
        pack[i] = (unsigned char) (i < 48 ? 4 * (i / 3) + 2 - i % 3 : 0);
    }
    perm = _mm512_loadu_si512((const void *) pack);

    while ((size_t) (end - p) >= len + eol) {
        if (p[len + eol - 1] != '\n' || (eol == 2 && p[len] != '\r')) {
            break;
        }
        __builtin_prefetch(p + 2048);
        bad = 0;
        for (i = 0; i <= nb; i++) {
            size_t off = i < nb ? 64 * i : len - 64;
            __m512i in = _mm512_loadu_si512((const void *) (p + off));

            t = _mm512_permutex2var_epi8(lut0, in, lut1);
            bad |= _mm512_movepi8_mask(_mm512_or_si512(t, in));
            m = _mm512_maddubs_epi16(t, _mm512_set1_epi32(0x01400140));
            m = _mm512_madd_epi16(m, _mm512_set1_epi32(0x00011000));
            _mm512_storeu_si512((void *) (o + off / 4 * 3),
                                _mm512_permutexvar_epi8(perm, m));
        }
        if (bad) {
            break;
        }
        p += len + eol;
        o += len / 4 * 3;
    }
    *pp = p;
    return (size_t) (o - o0);
}

/*
 * Whole blocks of 32 characters from *pp while they decode, the first run
 * of one or two CR/LF inside a block shifted out (blanks are skipped
 * anyway). Returns the bytes written.
 */
static __attribute__((target("avx2"))) size_t
_b64_avx2(const unsigned char **pp, const unsigned char *end, unsigned char *o)
{
    const unsigned char *p = *pp;
    unsigned char       *o0 = o;
    const __m256i        cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
    const __m256i        idx = _mm256_setr_epi8(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    const unsigned char *q;
    __m256i              v, w, sel;
    uint32_t             ws;
    unsigned             k, skip;
    size_t               eol, len;

    while (end - p >= 34) {
        v = _mm256_loadu_si256((const __m256i *) (const void *) p);
        ws = (uint32_t) _mm256_movemask_epi8(_mm256_or_si256(
                 _mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf)));
        if (ws == 0) {
            if (!_b64_avx2_block(v, o)) {
                break;
            }
            p += 32;
            o += 24;
            continue;
        }
        k = (unsigned) __builtin_ctz(ws);
        skip = 1 + ((ws >> k >> 1) & 1);
        if (k % 4 == 0 && _b64_quads(p, k / 4, o)) {
            /* at a line start: if lines have one length, go line by line */
            o += k / 4 * 3;
            p += k + skip;
            q = memchr(p, '\n', (size_t) (end - p) < B64_LINE_MAX + 2
                                 ? (size_t) (end - p) : B64_LINE_MAX + 2);
            if (q != NULL) {
                eol = q > p && q[-1] == '\r' ? 2 : 1;
                len = (size_t) (q - p) + 1 - eol;
                if (len >= 64 && len % 4 == 0 && len <= B64_LINE_MAX
                    && (_b64_cpu() & 2))
                {
                    o += _b64_vbmi_lines(&p, end, o, len, eol);
                } else if (len >= 32 && len % 4 == 0 && len <= B64_LINE_MAX) {
                    o += _b64_avx2_lines(&p, end, o, len, eol);
                }
            }
            continue;
        }
        /*
         * A line end inside a quantum: shift it out and take the 32
         * characters around it. (Doing this for every block, branch-free,
         * is slower: the next block's address would wait for this load.)
         */
        w = _mm256_loadu_si256((const __m256i *) (const void *) (p + skip));
        sel = _mm256_cmpgt_epi8(idx, _mm256_set1_epi8((char) ((int) k - 1)));
        v = _mm256_blendv_epi8(v, w, sel);
        if (!_b64_avx2_block(v, o)) {
            break;
        }
        p += 32 + skip;
        o += 24;
    }
    *pp = p;
    return (size_t) (o - o0);
}


#endif

int
hg_b64_force_path(hg_b64_path_t path)
{
    int     want;

    switch (path) {
    case HG_B64_AUTO:   want = 3; break;
    case HG_B64_SCALAR: want = 0; break;
    case HG_B64_AVX2:   want = 1; break;
    case HG_B64_AVX512: want = 3; break;    /* the VBMI lines sit in the AVX2 path */
    default:            return -1;
    }
#ifdef B64_AVX2
    if (path != HG_B64_AUTO && (_b64_cpu_has() & want) != want) {
        return -1;
    }
    __atomic_store_n(&b64_allowed, want, __ATOMIC_RELAXED);
    return 0;
#else
    return want == 0 || path == HG_B64_AUTO ? 0 : -1;
#endif
}

void
hg_b64_init(hg_b64_t *d)
{
    d->acc = 0;
    d->n = 0;
    d->pads = 0;
    d->done = 0;
    d->errors = 0;
}

size_t
hg_b64_feed(hg_b64_t *d, const unsigned char *in, size_t len,
            unsigned char *out)
{
    size_t  used;

    return hg_b64_feed_until(d, in, len, out, -1, &used);
}

size_t
hg_b64_feed_until(hg_b64_t *d, const unsigned char *in, size_t len,
                  unsigned char *out, int stop, size_t *used)
{
    const unsigned char *p = in, *end = in + len;
    unsigned char       *o = out;
    unsigned             c;

    while (p < end) {
        if (d->done) {
            for (; p < end; p++) {
                if (*p == stop) {
                    goto out;
                }
                if (b64_table[*p] != B64_WS) {
                    d->errors++;
                }
            }
            break;
        }

        /* the fast paths: whole quanta of valid characters */
        if (d->n == 0 && d->pads == 0) {
#ifdef B64_AVX2
            /*
             * 32 characters stored as 32 bytes: safe, since o - out stays
             * below 3/4 of what was consumed plus 2, and out has len + 2.
             */
            if (end - p >= 34 && (_b64_cpu() & 1)) {
                o += _b64_avx2(&p, end, o);
            }
#endif
            while (end - p >= 4) {
                unsigned a = b64_table[p[0]], b = b64_table[p[1]],
                         e = b64_table[p[2]], f = b64_table[p[3]];

                if ((a | b | e | f) & 0xc0) {
                    break;
                }
                o[0] = (unsigned char) (a << 2 | b >> 4);
                o[1] = (unsigned char) (b << 4 | e >> 2);
                o[2] = (unsigned char) (e << 6 | f);
                o += 3;
                p += 4;
            }
            if (p == end) {
                break;
            }
        }

        if (*p == stop) {
            break;
        }
        c = b64_table[*p++];
        if (c == B64_WS) {
            continue;
        }
        if (c == B64_BAD) {
            d->errors++;
            continue;
        }
        if (c == B64_PAD) {
            if (d->n < 2) {
                /* '=' where no data can end: junk */
                d->errors++;
                continue;
            }
            d->pads++;
            if (d->n + d->pads == 4) {
                if (d->n == 2) {
                    *o++ = (unsigned char) (d->acc >> 4);
                } else {
                    *o++ = (unsigned char) (d->acc >> 10);
                    *o++ = (unsigned char) (d->acc >> 2);
                }
                d->acc = 0;
                d->n = 0;
                d->pads = 0;
                d->done = 1;
            }
            continue;
        }
        if (d->pads > 0) {
            /* "xx=x": the padding was junk; go on with the data */
            d->errors += d->pads;
            d->pads = 0;
        }
        d->acc = d->acc << 6 | c;
        if (++d->n == 4) {
            o[0] = (unsigned char) (d->acc >> 16);
            o[1] = (unsigned char) (d->acc >> 8);
            o[2] = (unsigned char) d->acc;
            o += 3;
            d->acc = 0;
            d->n = 0;
        }
    }
out:
    *used = (size_t) (p - in);
    return (size_t) (o - out);
}

size_t
hg_b64_finish(hg_b64_t *d, unsigned char *out)
{
    size_t  n = 0;

    if (!d->done) {
        switch (d->n) {
        case 1:
            d->errors++;
            break;
        case 2:
            out[n++] = (unsigned char) (d->acc >> 4);
            break;
        case 3:
            out[n++] = (unsigned char) (d->acc >> 10);
            out[n++] = (unsigned char) (d->acc >> 2);
            break;
        default:
            break;
        }
    }
    d->acc = 0;
    d->n = 0;
    d->pads = 0;
    d->done = 1;
    return n;
}

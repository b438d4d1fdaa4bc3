/*
 * db_pdq_heads.c - the inner loop of a PDQ search without an index: which
 * rows of a block have a head (the first 16 bytes of the hash) within the
 * radius of one of the hashes searched (db_pdq.c checks those whole).
 *
 * Nearly every row is far, so this loop is the search. Two versions:
 *
 *   - scalar, two POPCNT a row and hash searched (built for POPCNT and
 *     picked at load time, like the other loops of db_pdq.c);
 *   - AVX-512 with VPOPCNTQ (AMD Zen 4, Intel Ice Lake and later), for
 *     format 6's column of heads: four heads a vector with one hash, or
 *     one head against four hashes a vector with the 8 dihedral ones.
 *     Measured on a Zen 4 core: 3 x the scalar loop at 1M entries (heads
 *     in cache), 4.5 x with 8 hashes; at 10M both wait on memory alike
 *     with one hash, and with 8 the vector loop still is 4.8 x.
 *
 * Which one runs is asked of __builtin_cpu_supports for each block.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <string.h>

#include "db/db_format.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HG_PDQ_X86  1
#include <immintrin.h>
#define HG_PDQ_AVX512   __attribute__((target("avx512f,avx512vpopcntdq")))
#endif

static int  hg_pdq_simd_allowed = 1;

void
hg_pdq_heads_simd(int on)
{
    hg_pdq_simd_allowed = on;
}

static size_t HG_PDQ_POPCNT
_hg_heads_scalar(const hg_db_t *db, uint64_t from, uint64_t n,
                 const uint64_t (*qh)[2], int nq, int radius, uint64_t *near)
{
    const unsigned char  *p = hg_pdq_head(db, from);
    uint64_t              i, step = db->pdq_step;
    size_t                k = 0;
    int                   j;

    if (nq == 1) {
        for (i = 0; i < n; i++, p += step) {
            if (__builtin_expect(hg_pdq_head_dist(p, qh[0]) <= radius, 0)) {
                near[k++] = from + i;
            }
        }
        return k;
    }
    for (i = 0; i < n; i++, p += step) {
        for (j = 0; j < nq && hg_pdq_head_dist(p, qh[j]) > radius; j++) {
        }
        if (__builtin_expect(j < nq, 0)) {
            near[k++] = from + i;
        }
    }
    return k;
}

#ifdef HG_PDQ_X86

/* Lanes 2i and 2i + 1 hold the two words of one head's distance: their
 * sum, in both lanes. */
static inline __m512i HG_PDQ_AVX512
_hg_pair_sum(__m512i v)
{
    return _mm512_add_epi64(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));
}

/* One hash: 8 heads (two vectors of 4) a step; the last few by the
 * scalar loop. */
static size_t HG_PDQ_AVX512
_hg_heads_avx512_one(const hg_db_t *db, uint64_t from, uint64_t n,
                     const uint64_t (*qh)[2], int radius, uint64_t *near)
{
    const unsigned char  *p = hg_pdq_head(db, from);
    __m512i               q, r = _mm512_set1_epi64(radius), a, b;
    __mmask8              ma, mb;
    uint64_t              i = 0;
    size_t                k = 0;
    unsigned              m, bit;

    /* the hash's head in each 128-bit lane, as the heads lie in memory */
    q = _mm512_broadcast_i32x4(_mm_loadu_si128(
            (const __m128i *) (const void *) qh[0]));

    for (; i + 8 <= n; i += 8, p += 128) {
        a = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p), q));
        b = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p + 64),
                                                 q));
        ma = _mm512_cmple_epi64_mask(_hg_pair_sum(a), r);
        mb = _mm512_cmple_epi64_mask(_hg_pair_sum(b), r);
        if (__builtin_expect((ma | mb) == 0, 1)) {
            continue;
        }
        /* even lanes: heads 0..3 of a, then 4..7 of b */
        m = (unsigned) (ma & 0x55) | (unsigned) (mb & 0x55) << 8;
        for (bit = 0; bit < 16; bit += 2) {
            if (m & (1u << bit)) {
                near[k++] = from + i + bit / 2;
            }
        }
    }
    return k + _hg_heads_scalar(db, from + i, n - i, qh, 1, radius, near + k);
}

/* 2 to 8 hashes: each head against 4 of them a vector (the list padded
 * with its last hash, which changes no answer). */
static size_t HG_PDQ_AVX512
_hg_heads_avx512_many(const hg_db_t *db, uint64_t from, uint64_t n,
                      const uint64_t (*qh)[2], int nq, int radius,
                      uint64_t *near)
{
    const unsigned char  *p = hg_pdq_head(db, from);
    uint64_t              pad[8][2], i;
    __m512i               q0, q1, x, r = _mm512_set1_epi64(radius);
    size_t                k = 0;
    int                   j;

    for (j = 0; j < 8; j++) {
        memcpy(pad[j], qh[j < nq ? j : nq - 1], HG_PDQ_HALF);
    }
    q0 = _mm512_loadu_si512(pad[0]);
    q1 = _mm512_loadu_si512(pad[4]);
    for (i = 0; i < n; i++, p += 16) {
        x = _mm512_broadcast_i32x4(_mm_loadu_si128(
                (const __m128i *) (const void *) p));
        if (__builtin_expect(
                (_mm512_cmple_epi64_mask(_hg_pair_sum(_mm512_popcnt_epi64(
                     _mm512_xor_si512(x, q0))), r)
                 | _mm512_cmple_epi64_mask(_hg_pair_sum(_mm512_popcnt_epi64(
                     _mm512_xor_si512(x, q1))), r)) != 0, 0))
        {
            near[k++] = from + i;
        }
    }
    return k;
}

/* A test of what the runtime's constructor read with cpuid: cheap, and
 * nothing to cache (or to race on) across threads. */
static int
_hg_have_avx512(void)
{
    return __builtin_cpu_supports("avx512f")
           && __builtin_cpu_supports("avx512vpopcntdq");
}

#endif

size_t
hg_pdq_heads_near(const hg_db_t *db, uint64_t from, uint64_t n,
                  const uint64_t (*qh)[2], int nq, int radius, uint64_t *near)
{
#ifdef HG_PDQ_X86
    /* the vector loops read the column of heads (format 6) */
    if (hg_pdq_simd_allowed && db->pdq_step == HG_PDQ_HALF
        && nq >= 1 && nq <= 8 && _hg_have_avx512())
    {
        if (nq == 1) {
            return _hg_heads_avx512_one(db, from, n, qh, radius, near);
        }
        return _hg_heads_avx512_many(db, from, n, qh, nq, radius, near);
    }
#endif
    return _hg_heads_scalar(db, from, n, qh, nq, radius, near);
}

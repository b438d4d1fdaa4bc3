/*
 * apibody_lazy.c - the JSON body parser's lazy path: a scanner that runs
 * ahead of the tokenizer and feeds it only where a part can be.
 *
 * Most JSON bodies hold no file at all, and the tokenizer (apibody_json.c,
 * about 1.2 GB/s) would cost more than the digest of the body. Yet only
 * three things in a body can make the tokenizer's answer differ from "no
 * part, no limit": a string that may be a part, nesting deeper than
 * max_depth, and (when parts exist) where a malformed body stops. The
 * scanner looks for the first two with 64-byte bit masks, one pass and a
 * handful of operations a block:
 *   - strings: unescaped '"' (odd runs of '\' carried across blocks and
 *     feeds, as simdjson finds them) and their prefix XOR (a carry-less
 *     multiply) give the in-string mask;
 *   - a string may be a part (apibody.c's rules), so the scanner flags it,
 *     when its raw length reaches b->need (every decoded character takes
 *     one raw byte at least, escapes more, so a raw string shorter than
 *     the base64 characters that decode to min_bytes decides no part), or
 *     when its first five raw bytes are "data:" in any case or hold a '\'
 *     (an escape may spell "data:");
 *   - brackets outside strings are counted: the depth the tokenizer would
 *     reach within a block is at most the depth before it plus the block's
 *     opening brackets, so exceeding max_depth is flagged before it can be
 *     missed.
 * Up to the first fault of a malformed body the scanner's strings are the
 * tokenizer's (a '"' outside a string opens one, an odd run of '\' escapes
 * the next byte), and after the fault the tokenizer reads nothing, so
 * every flag the tokenizer needs is raised.
 *
 * While nothing is flagged the bytes are retained (copied into chunks the
 * parser owns) and the tokenizer is not fed. On a flag, or when
 * max_retained bytes are held, the tokenizer is fed the retained bytes
 * (catch-up) and then the rest of the feed, and reads on by itself until
 * a feed ends where it is outside every string with no part open or
 * waiting for its name, unless the caller wants the body's stop
 * (hg_apibody_want_stop: it will write a record); the scanner then runs
 * ahead again from there.
 * A body, or the tail after its last part, that ends with nothing flagged
 * holds no (further) part and reached no limit: its retained bytes are
 * dropped unread, and whether it was well-formed there is not known
 * (hg_apibody_stopped() says NULL). Once the caller wants the stop, the
 * tail is read at the end all the same, so the stop it records is exact.
 * Reading the tail of every body with parts cost 1.5 ms of a 10 MiB image
 * upload, more than the rest of the parser, to place a fault that changes
 * no verdict and that only a record would show.
 *
 * The block masks come from AVX-512 BW or AVX2, chosen at run time; a
 * CPU with neither keeps the tokenizer alone (plain C masks are slower
 * than it), but tests and fuzzing force them (hg_apibody_lazy_force_path).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mime/apibody_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LZ_X86 1
#endif

#define LZ_EVEN     0x5555555555555555ULL

/*
 * The scanner's state a block changes, in a struct of its own that the
 * loops keep in registers (hg_apibody_lazy_t is reached through pointers
 * that the copies' stores may alias).
 */
typedef struct {
    uint64_t    pos, in_str, esc, str_start;
    int64_t     depth;
    uint64_t    p_open, p_d, p_a, p_bs;
} lz_hot_t;

/* The masks of one 64-byte block. */
typedef struct {
    uint64_t    q;      /* '"' */
    uint64_t    bs;     /* '\' */
    uint64_t    open;   /* '{' '[' */
    uint64_t    close;  /* '}' ']' */
    uint64_t    d;      /* 'd' 'D' */
    uint64_t    a;      /* 'a' 'A' */
} lz_masks_t;

/*
 * The '"' not escaped: an odd run of '\' escapes the byte after it
 * (simdjson's find_escaped); *esc carries a run ending the block.
 */
static inline uint64_t
_lz_quotes(uint64_t *esc, uint64_t q, uint64_t bs)
{
    uint64_t    escaped, follows, odd_starts, seq;

    if (bs == 0) {
        escaped = *esc;
        *esc = 0;
        return q & ~escaped;
    }
    bs &= ~*esc;
    follows = bs << 1 | *esc;
    odd_starts = bs & ~LZ_EVEN & ~follows;
    *esc = __builtin_add_overflow(odd_starts, bs, &seq);
    escaped = (LZ_EVEN ^ (seq << 1)) & follows;
    return q & ~escaped;
}

/* The retained byte at body offset off (a blank at hi and past it). */
static inline unsigned char
_lz_byte(const hg_apibody_lazy_t *z, uint64_t hi, uint64_t off)
{
    uint64_t    rel = off - z->start;

    if (off >= hi) {
        return ' ';
    }
    return z->chunks[rel / APIBODY_RCHUNK][rel % APIBODY_RCHUNK];
}

/*
 * Strings opening at the bits of cand (body offsets base + bit): does one
 * begin "data:" (any case) or hold a '\' in its first five bytes?
 */
static __attribute__((noinline)) int
_lz_verify(const hg_apibody_lazy_t *z, uint64_t hi, uint64_t cand,
           uint64_t base)
{
    static const char   dl[] = "data:";
    uint64_t            off;
    unsigned            i;
    unsigned char       c;

    for (; cand != 0; cand &= cand - 1) {
        off = base + (uint64_t) __builtin_ctzll(cand);
        for (i = 0; i < 5; i++) {
            c = _lz_byte(z, hi, off + 1 + i);
            if (c == '\\') {
                return 1;
            }
            if ((i < 4 ? c | 0x20 : c) != (unsigned char) dl[i]) {
                break;
            }
        }
        if (i == 5) {
            return 1;
        }
    }
    return 0;
}

/* Bits i with a '\' at i+1 .. i+5 (lo: this block, hi: the next). */
static inline uint64_t
_lz_win(uint64_t lo, uint64_t hi)
{
    return lo >> 1 | hi << 63 | lo >> 2 | hi << 62 | lo >> 3 | hi << 61
           | lo >> 4 | hi << 60 | lo >> 5 | hi << 59;
}

/*
 * The rest of a block's work, s its in-string mask (a string's opening
 * '"' in it, its closing one not). The openings of the block before are
 * looked at now, when the five bytes after each are in. 1: flagged.
 */
static inline __attribute__((always_inline)) int
_lz_block(const hg_apibody_lazy_t *z, lz_hot_t *h, const lz_masks_t *m,
          uint64_t q, uint64_t s, uint64_t need, int64_t max_depth,
          uint64_t hi)
{
    uint64_t    opens = q & s, closes = q & ~s, cand;
    int64_t     o;
    unsigned    e;
    int         flag = 0;

    if (h->in_str) {
        /* the string open since an earlier block: its length so far */
        e = closes != 0 ? (unsigned) __builtin_ctzll(closes) : 64;
        if (h->pos + e - h->str_start - 1 >= need) {
            flag = 1;
        }
    }
    h->in_str = (uint64_t) ((int64_t) s >> 63);
    if (h->in_str && opens != 0) {
        h->str_start = h->pos + 63 - (unsigned) __builtin_clzll(opens);
    }
    o = __builtin_popcountll(m->open & ~s);   /* (open, close: see the paths) */
    if (h->depth + o > max_depth) {
        flag = 1;
    }
    h->depth += o - __builtin_popcountll(m->close & ~s);
    cand = h->p_open & (h->p_d >> 1 | m->d << 63) & (h->p_a >> 2 | m->a << 62);
    if ((h->p_bs | m->bs) != 0) {
        cand |= h->p_open & _lz_win(h->p_bs, m->bs);
    }
    if (cand != 0 && _lz_verify(z, hi, cand, h->pos - 64)) {
        flag = 1;
    }
    h->p_open = opens;
    h->p_d = m->d;
    h->p_a = m->a;
    h->p_bs = m->bs;
    h->pos += 64;
    return flag;
}

static inline void
_lz_hot_get(lz_hot_t *h, const hg_apibody_lazy_t *z)
{
    h->pos = z->pos;
    h->in_str = z->in_str;
    h->esc = z->esc;
    h->str_start = z->str_start;
    h->depth = z->depth;
    h->p_open = z->p_open;
    h->p_d = z->p_d;
    h->p_a = z->p_a;
    h->p_bs = z->p_bs;
}

static inline void
_lz_hot_put(hg_apibody_lazy_t *z, const lz_hot_t *h)
{
    z->pos = h->pos;
    z->in_str = h->in_str;
    z->esc = h->esc;
    z->str_start = h->str_start;
    z->depth = h->depth;
    z->p_open = h->p_open;
    z->p_d = h->p_d;
    z->p_a = h->p_a;
    z->p_bs = h->p_bs;
}

static inline uint64_t
_lz_pxor_c(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/*
 * Each path scans nb blocks of src, copying them to dst (the vector paths
 * by streaming stores: the copy is read again only on a flag, so it need
 * not take the cache, nor be read from memory first), and returns the
 * blocks done (the flagged one included). The state is worked on in a
 * local copy: stores through dst could alias it.
 */
static size_t
_lz_scan_c(const hg_apibody_t *b, hg_apibody_lazy_t *zp,
           const unsigned char *src, unsigned char *dst, size_t nb)
{
    const uint64_t      need = b->need;
    const int64_t       maxd = (int64_t) b->lim.max_depth;
    lz_hot_t            h;
    int                 flagged = 0;
    lz_masks_t          m;
    uint64_t            q, bit;
    size_t              i, j;
    unsigned char       c;

    _lz_hot_get(&h, zp);
    for (i = 0; i < nb; i++, src += 64, dst += 64) {
        memmove(dst, src, 64);
        memset(&m, 0, sizeof(m));
        for (j = 0; j < 64; j++) {
            c = src[j];
            bit = 1ULL << j;
            m.q |= c == '"' ? bit : 0;
            m.bs |= c == '\\' ? bit : 0;
            c |= 0x20;
            m.open |= c == '{' ? bit : 0;
            m.close |= c == '}' ? bit : 0;
            m.d |= c == 'd' ? bit : 0;
            m.a |= c == 'a' ? bit : 0;
        }
        q = _lz_quotes(&h.esc, m.q, m.bs);
        if (_lz_block(zp, &h, &m, q, _lz_pxor_c(q) ^ h.in_str, need, maxd,
                      h.pos + 64))
        {
            flagged = 1;
            i++;
            break;
        }
    }
    _lz_hot_put(zp, &h);
    zp->flagged |= flagged;
    return i;
}

#ifdef LZ_X86

#define LZ_AVX2     __attribute__((target("avx2,pclmul,popcnt,lzcnt,bmi")))
#define LZ_AVX512   __attribute__((target("avx512f,avx512bw,pclmul,popcnt,lzcnt,bmi")))

/*
 * The vector paths find the masks of up to LZ_BATCH blocks, then walk
 * them: in one loop each block's masks waited for its compares and its
 * moves out of the vector unit before the block's steps could run, and
 * the scan took a third longer (110 against 80 us on 1 MiB of API JSON).
 * A batch is copied whole even when a block in it is flagged: the caller
 * gave room for nb blocks, and bytes past the flag are written again.
 */
#define LZ_BATCH    32

#define LZ_CLMUL    __attribute__((always_inline, target("pclmul,popcnt,lzcnt,bmi")))

/*
 * Walk the masks of n blocks (either vector path): 0 if none is flagged,
 * else the flagged block's number counted from 1.
 */
static inline size_t LZ_CLMUL
_lz_walk(hg_apibody_lazy_t *zp, lz_hot_t *h, const lz_masks_t *mb, size_t n,
         uint64_t need, int64_t maxd)
{
    const __m128i   ones = _mm_set1_epi8(-1);
    uint64_t        q;
    size_t          k;

    for (k = 0; k < n; k++) {
        q = _lz_quotes(&h->esc, mb[k].q, mb[k].bs);
        if (_lz_block(zp, h, &mb[k], q, (uint64_t) _mm_cvtsi128_si64(
                _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long) q), ones,
                                     0)) ^ h->in_str, need, maxd, h->pos + 64))
        {
            return k + 1;
        }
    }
    return 0;
}

static size_t LZ_AVX2
_lz_scan_avx2(const hg_apibody_t *b, hg_apibody_lazy_t *zp,
              const unsigned char *src, unsigned char *dst, size_t nb)
{
    const __m256i       vq = _mm256_set1_epi8('"'), vb = _mm256_set1_epi8('\\'),
                        vo = _mm256_set1_epi8('{'), vc = _mm256_set1_epi8('}'),
                        vd = _mm256_set1_epi8('d'), va = _mm256_set1_epi8('a'),
                        x20 = _mm256_set1_epi8(0x20);
    const uint64_t      need = b->need;
    const int64_t       maxd = (int64_t) b->lim.max_depth;
    lz_hot_t            h;
    lz_masks_t          mb[LZ_BATCH];
    __m256i             v0, v1, w0, w1;
    size_t              i = 0, j, k, n;

#define M2(a, b, t) ((uint64_t) (uint32_t) _mm256_movemask_epi8(              \
                         _mm256_cmpeq_epi8((a), (t)))                         \
                     | (uint64_t) (uint32_t) _mm256_movemask_epi8(            \
                         _mm256_cmpeq_epi8((b), (t))) << 32)
    _lz_hot_get(&h, zp);
    while (i < nb) {
        n = nb - i < LZ_BATCH ? nb - i : LZ_BATCH;
        for (j = 0; j < n; j++) {
            v0 = _mm256_loadu_si256((const __m256i *) (const void *)
                                    (src + 64 * j));
            v1 = _mm256_loadu_si256((const __m256i *) (const void *)
                                    (src + 64 * j + 32));
            _mm256_stream_si256((__m256i *) (void *) (dst + 64 * j), v0);
            _mm256_stream_si256((__m256i *) (void *) (dst + 64 * j + 32), v1);
            w0 = _mm256_or_si256(v0, x20);
            w1 = _mm256_or_si256(v1, x20);
            mb[j].q = M2(v0, v1, vq);
            mb[j].bs = M2(v0, v1, vb);
            mb[j].open = M2(w0, w1, vo);
            mb[j].close = M2(w0, w1, vc);
            mb[j].d = M2(w0, w1, vd);
            mb[j].a = M2(w0, w1, va);
        }
        if ((k = _lz_walk(zp, &h, mb, n, need, maxd)) != 0) {
            _mm_sfence();
            _lz_hot_put(zp, &h);
            zp->flagged = 1;
            return i + k;
        }
        i += n;
        src += 64 * n;
        dst += 64 * n;
    }
#undef M2
    _mm_sfence();
    _lz_hot_put(zp, &h);
    return i;
}

static size_t LZ_AVX512
_lz_scan_avx512(const hg_apibody_t *b, hg_apibody_lazy_t *zp,
                const unsigned char *src, unsigned char *dst, size_t nb)
{
    const __m512i       vq = _mm512_set1_epi8('"'), vb = _mm512_set1_epi8('\\'),
                        vo = _mm512_set1_epi8('{'), vc = _mm512_set1_epi8('}'),
                        vd = _mm512_set1_epi8('d'), va = _mm512_set1_epi8('a'),
                        x20 = _mm512_set1_epi8(0x20);
    const uint64_t      need = b->need;
    const int64_t       maxd = (int64_t) b->lim.max_depth;
    lz_hot_t            h;
    lz_masks_t          mb[LZ_BATCH];
    __m512i             v, w;
    size_t              i = 0, j, k, n;

    _lz_hot_get(&h, zp);
    while (i < nb) {
        n = nb - i < LZ_BATCH ? nb - i : LZ_BATCH;
        /* the masks of a batch first: the vector unit's latency overlaps */
        for (j = 0; j < n; j++) {
            v = _mm512_loadu_si512((const void *) (src + 64 * j));
            _mm512_stream_si512((void *) (dst + 64 * j), v);
            w = _mm512_or_si512(v, x20);
            mb[j].q = _mm512_cmpeq_epi8_mask(v, vq);
            mb[j].bs = _mm512_cmpeq_epi8_mask(v, vb);
            mb[j].open = _mm512_cmpeq_epi8_mask(w, vo);
            mb[j].close = _mm512_cmpeq_epi8_mask(w, vc);
            mb[j].d = _mm512_cmpeq_epi8_mask(w, vd);
            mb[j].a = _mm512_cmpeq_epi8_mask(w, va);
        }
        if ((k = _lz_walk(zp, &h, mb, n, need, maxd)) != 0) {
            _mm_sfence();
            _lz_hot_put(zp, &h);
            zp->flagged = 1;
            return i + k;
        }
        i += n;
        src += 64 * n;
        dst += 64 * n;
    }
    _mm_sfence();
    _lz_hot_put(zp, &h);
    return i;
}

#endif

typedef size_t (*lz_scan_fn)(const hg_apibody_t *, hg_apibody_lazy_t *,
                             const unsigned char *, unsigned char *, size_t);

static int  lz_forced = HG_APIBODY_LAZY_AUTO;

/* The path to take: the best this CPU has, unless forced. */
static lz_scan_fn
_lz_path(void)
{
#ifdef LZ_X86
    static int  have = -1;
    int         h = __atomic_load_n(&have, __ATOMIC_RELAXED), f;

    if (h < 0) {
        __builtin_cpu_init();
        h = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul")
             && __builtin_cpu_supports("popcnt") ? 1 : 0)
            | (__builtin_cpu_supports("avx512bw")
               && __builtin_cpu_supports("pclmul") ? 2 : 0);
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    f = __atomic_load_n(&lz_forced, __ATOMIC_RELAXED);
    if ((f == HG_APIBODY_LAZY_AUTO || f == HG_APIBODY_LAZY_AVX512) && (h & 2)) {
        return _lz_scan_avx512;
    }
    if ((f == HG_APIBODY_LAZY_AUTO || f == HG_APIBODY_LAZY_AVX2) && (h & 1)) {
        return _lz_scan_avx2;
    }
#endif
    return _lz_scan_c;
}

int
hg_apibody_lazy_worth(void)
{
    /* plain C finds the masks a byte at a time, slower than the tokenizer:
     * it is there for tests and other CPUs, taken only when forced */
    return __atomic_load_n(&lz_forced, __ATOMIC_RELAXED)
               == HG_APIBODY_LAZY_SCALAR
           || _lz_path() != _lz_scan_c;
}

int
hg_apibody_lazy_force_path(int path)
{
    if (path < HG_APIBODY_LAZY_AUTO || path > HG_APIBODY_LAZY_AVX512) {
        return -1;
    }
#ifdef LZ_X86
    if (path == HG_APIBODY_LAZY_AVX2 && !__builtin_cpu_supports("avx2")) {
        return -1;
    }
    if (path == HG_APIBODY_LAZY_AVX512 && !__builtin_cpu_supports("avx512bw")) {
        return -1;
    }
#else
    if (path > HG_APIBODY_LAZY_SCALAR) {
        return -1;
    }
#endif
    __atomic_store_n(&lz_forced, path, __ATOMIC_RELAXED);
    return 0;
}

/* ---- retaining and catching up ---- */

/*
 * Chunks go back to a small process-wide pool when a parser finishes:
 * memory the C library returns to the kernel and takes again costs a page
 * fault every 4 KiB, as much as the scan itself, so the pages stay mapped
 * (LZ_POOL chunks at most, 32 MiB: 16 bodies of 2 MiB read at once;
 * milter sessions run in threads, hence the lock).
 */
#define LZ_POOL     128

static pthread_mutex_t  lz_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char   *lz_pool[LZ_POOL];
static size_t           lz_npool;

static unsigned char *
_lz_chunk_get(void)
{
    unsigned char  *c = NULL;

    pthread_mutex_lock(&lz_pool_mu);
    if (lz_npool > 0) {
        c = lz_pool[--lz_npool];
    }
    pthread_mutex_unlock(&lz_pool_mu);
    /* 64-byte aligned: blocks are stored by streaming stores */
    return c != NULL ? c : aligned_alloc(64, APIBODY_RCHUNK);
}

static void
_lz_chunk_put(unsigned char *c)
{
    pthread_mutex_lock(&lz_pool_mu);
    if (lz_npool < LZ_POOL) {
        lz_pool[lz_npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&lz_pool_mu);
    free(c);
}

/* The chunks go back to the pool (the parser may take them again). */
static void
_lz_release(hg_apibody_t *b)
{
    size_t  c;

    for (c = 0; c < b->lz.nchunks; c++) {
        _lz_chunk_put(b->lz.chunks[c]);
    }
    b->lz.nchunks = 0;
    b->lz.len = 0;
}

/* Where the next retained byte goes (a new chunk when one is full). */
static unsigned char *
_lz_room(hg_apibody_t *b, size_t *room)
{
    hg_apibody_lazy_t  *z = &b->lz;
    size_t              c = (size_t) (z->len / APIBODY_RCHUNK),
                        o = (size_t) (z->len % APIBODY_RCHUNK);

    if (c == z->nchunks) {
        if (hg_apibody_reserve(b, (void **) &z->chunks, &z->chunks_cap, c + 1,
                               sizeof(*z->chunks)) != HG_OK)
        {
            return NULL;
        }
        if ((z->chunks[c] = _lz_chunk_get()) == NULL) {
            hg_apibody_fail(b, HG_ENOMEM, "out of memory");
            return NULL;
        }
        z->nchunks++;
    }
    *room = APIBODY_RCHUNK - o;
    return z->chunks[c] + o;
}

/* The tokenizer reads n bytes (the body's next). */
static void
_full(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    if (n > 0 && b->stop_why == NULL && b->st == HG_OK) {
        b->base = p;
        hg_apibody_json_feed(b, p, n);
    }
    b->off += n;
}

/* The tokenizer reads what was retained; the scanner stops. */
static void
_lz_catch_up(hg_apibody_t *b)
{
    hg_apibody_lazy_t  *z = &b->lz;
    uint64_t            left = z->len;
    size_t              c, n;

    z->on = 0;
    for (c = 0; left > 0; c++) {
        n = left < APIBODY_RCHUNK ? (size_t) left : APIBODY_RCHUNK;
        _full(b, z->chunks[c], n);
        left -= n;
    }
    z->len = 0;
}

/*
 * The scanner may run ahead again when the tokenizer is between tokens
 * or inside a number or literal, with no string, part or name under way,
 * and the caller does not want the stop: then the body is read to its
 * end for where it stops (hg_apibody_lazy_finish), so scanning its tail
 * first would only add to the reading.
 */
static void
_lz_resume(hg_apibody_t *b)
{
    hg_apibody_lazy_t  *z = &b->lz;

    if (!z->usable || b->stop_why != NULL || b->st != HG_OK || b->js == J_STR
        || b->part_open || b->pending || b->esc != 0 || b->hi != 0
        || b->want_stop)
    {
        return;
    }
    z->on = 1;
    z->start = z->pos = b->off;
    z->len = 0;
    z->in_str = 0;
    z->esc = 0;
    z->str_start = 0;
    z->depth = (int64_t) b->nframes;
    z->p_open = z->p_d = z->p_a = z->p_bs = 0;
    z->flagged = 0;
}

/*
 * Scan and retain the feed's bytes. Returns the bytes retained: all of
 * them, or those up to the end of a flagged block (*flag set).
 */
static size_t
_lz_scan(hg_apibody_t *b, const unsigned char *p, size_t n, int *flag)
{
    hg_apibody_lazy_t  *z = &b->lz;
    lz_scan_fn          scan = _lz_path();
    unsigned char      *dst;
    size_t              used = 0, room, tail, k, nb, done;

    while (used < n) {
        if ((dst = _lz_room(b, &room)) == NULL) {
            *flag = 1;
            return used;
        }
        tail = (size_t) (z->start + z->len - z->pos);
        if (tail > 0 || n - used < 64) {
            /* a block begun by an earlier feed, or the feed's last bytes */
            k = 64 - tail < n - used ? 64 - tail : n - used;
            memcpy(dst, p + used, k);
            z->len += k;
            used += k;
            if (tail + k == 64) {
                scan(b, z, dst - tail, dst - tail, 1);
                if (z->flagged) {
                    *flag = 1;
                    return used;
                }
            }
            continue;
        }
        nb = (n - used) / 64;
        if (nb > room / 64) {
            nb = room / 64;
        }
        done = scan(b, z, p + used, dst, nb);
        z->len += done * 64;
        used += done * 64;
        if (z->flagged) {
            *flag = 1;
            return used;
        }
    }
    return used;
}

/* ---- the API's JSON path ---- */

void
hg_apibody_lazy_feed(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    hg_apibody_lazy_t  *z = &b->lz;
    size_t              used = 0;
    int                 flag = 0;

    if (z->on) {
        if (z->len + n > b->lim.max_retained) {
            flag = 1;
        } else {
            used = _lz_scan(b, p, n, &flag);
        }
        if (!flag || b->st != HG_OK) {
            return;
        }
        _lz_catch_up(b);
    }
    _full(b, p + used, n - used);
    _lz_resume(b);
}

void
hg_apibody_lazy_finish(hg_apibody_t *b)
{
    hg_apibody_lazy_t  *z = &b->lz;
    unsigned char      *blk;
    size_t              tail;
    int                 flag = 0;

    if (z->on) {
        tail = (size_t) (z->start + z->len - z->pos);
        if (tail > 0) {
            /* the last block, blank-padded in its chunk's room */
            uint64_t rel = z->pos - z->start;

            blk = z->chunks[rel / APIBODY_RCHUNK] + rel % APIBODY_RCHUNK;
            memset(blk + tail, ' ', 64 - tail);
            _lz_path()(b, z, blk, blk, 1);
            flag = z->flagged;
        }
        if (!flag) {
            /* the openings of the last block, with blanks after it */
            lz_masks_t  m = { 0, 0, 0, 0, 0, 0 };
            lz_hot_t    h;

            _lz_hot_get(&h, z);
            flag = _lz_block(z, &h, &m, 0, h.in_str, b->need,
                             (int64_t) b->lim.max_depth, z->start + z->len);
            _lz_hot_put(z, &h);
        }
        /*
         * Inside a string at the end: it may be a part cut short. When
         * the caller wants the stop, the tail is read for it.
         */
        if (!flag && !z->in_str && !b->want_stop) {
            _lz_release(b);
            return;
        }
        _lz_catch_up(b);
    }
    _lz_release(b);
    hg_apibody_json_finish(b);
}

void
hg_apibody_lazy_free(hg_apibody_t *b)
{
    _lz_release(b);
    free(b->lz.chunks);
}

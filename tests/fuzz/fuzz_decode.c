/*
 * fuzz_decode.c - libFuzzer target for one transfer decoder (common/mime/decode.h),
 * chosen at build time: -DHG_FUZZ_B64, -DHG_FUZZ_QP or -DHG_FUZZ_UU
 * (fuzz_decode_b64, fuzz_decode_qp, fuzz_decode_uu).
 *
 * Differential: the input is decoded once whole and once fed in chunks
 * whose sizes come from the first input byte, each into an output buffer of
 * exactly the size the contract promises is enough (so ASan catches a
 * write one past it). Both runs must give the same bytes and the same
 * error count: a decoder's result may not depend on where the network
 * split the stream.
 *
 * base64 is also differential across its paths: the input is decoded whole
 * by the scalar path (the reference), then whole and chunked by each path
 * this CPU has (scalar, AVX2, AVX-512 VBMI, forced with hg_b64_force_path),
 * and every run must give the reference's bytes and error count. With bit 0
 * of the first byte set, chunks go through hg_b64_feed_until(..., '-') as
 * the MIME parser feeds them, which must stop at each '-' and, stepping
 * over it, decode as hg_b64_feed does. The paths taken are printed at start.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/decode.h"

/* -DHG_FUZZ_NO_ERRCMP: compare only the bytes, not the error counts. */
#ifdef HG_FUZZ_NO_ERRCMP
#define ERRS_DIFFER(a, b)  0
#else
#define ERRS_DIFFER(a, b)  ((a) != (b))
#endif

typedef struct {
    unsigned char  *p;
    size_t          n, cap;
} out_t;

static void
put(out_t *o, const unsigned char *b, size_t n)
{
    if (o->n + n > o->cap) {
        abort();                /* a decoder gave more than it was fed */
    }
    memcpy(o->p + o->n, b, n);
    o->n += n;
}

/* An exactly sized scratch buffer for one call. */
static unsigned char *
scratch(size_t n)
{
    unsigned char  *p = malloc(n ? n : 1);

    if (p == NULL) {
        abort();
    }
    return p;
}

#if defined(HG_FUZZ_B64)
static const struct {
    hg_b64_path_t   path;
    const char     *name;
} b64_paths[] = {
    { HG_B64_SCALAR, "scalar" },
    { HG_B64_AVX2, "AVX2" },
    { HG_B64_AVX512, "AVX-512 VBMI" },
};
#define B64_NPATHS  (sizeof(b64_paths) / sizeof(b64_paths[0]))
static int  b64_have[B64_NPATHS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t  i;

    (void) argc;
    (void) argv;
    fprintf(stderr, "fuzz_decode_b64: base64 paths:");
    for (i = 0; i < B64_NPATHS; i++) {
        b64_have[i] = hg_b64_force_path(b64_paths[i].path) == 0;
        fprintf(stderr, " %s (%s)", b64_paths[i].name,
                b64_have[i] ? "fuzzed" : "skipped: this CPU lacks it");
    }
    fprintf(stderr, "\n");
    if (!b64_have[0] || hg_b64_force_path(HG_B64_AUTO) != 0) {
        abort();
    }
    return 0;
}

/*
 * One chunk, through hg_b64_feed_until(..., '-') if until: it must stop at
 * the first '-' without consuming it, which is then fed alone.
 */
static void
b64_chunk(hg_b64_t *d, const uint8_t *in, size_t k, int until, out_t *o)
{
    size_t          off = 0, used, w;
    unsigned char  *buf;

    while (off < k) {
        buf = scratch(k - off + 2);     /* decode.h: room for len + 2 */
        if (until) {
            w = hg_b64_feed_until(d, in + off, k - off, buf, '-', &used);
            if (used > k - off || memchr(in + off, '-', used) != NULL
                || (used < k - off && in[off + used] != '-')) {
                abort();
            }
        } else {
            w = hg_b64_feed(d, in + off, k - off, buf);
            used = k - off;
        }
        put(o, buf, w);
        free(buf);
        off += used;
        if (off < k) {
            buf = scratch(3);
            put(o, buf, hg_b64_feed(d, in + off, 1, buf));
            free(buf);
            off++;
        }
    }
}
#endif

static uint64_t
decode(const uint8_t *in, size_t size, size_t step, unsigned flags, out_t *o)
{
    size_t          off = 0, k, w;
    unsigned char  *buf;
#if defined(HG_FUZZ_B64)
    hg_b64_t        d;

    (void) w;
    hg_b64_init(&d);
    for (off = 0; off < size; off += k) {
        k = size - off < step ? size - off : step;
        b64_chunk(&d, in + off, k, flags & 1, o);
    }
    buf = scratch(2);
    put(o, buf, hg_b64_finish(&d, buf));
    free(buf);
#elif defined(HG_FUZZ_QP)
    hg_qp_t         d;

    (void) flags;
    hg_qp_init(&d);
    for (off = 0; off < size; off += k) {
        k = size - off < step ? size - off : step;
        buf = scratch(k + 2);
        w = hg_qp_feed(&d, in + off, k, buf);
        put(o, buf, w);
        free(buf);
    }
    buf = scratch(2);
    put(o, buf, hg_qp_finish(&d, buf));
    free(buf);
#elif defined(HG_FUZZ_UU)
    static hg_uu_t  d;
    size_t          used, end, stuck = 0;

    (void) k;
    hg_uu_init(&d, (flags & 1) ? HG_UU_BODY : HG_UU_SEEK, (flags & 2) != 0);
    for (end = 0; end < size; ) {
        end = size - end < step ? size : end + step;
        while (off < end) {
            buf = scratch(HG_UU_OUT_MIN);
            w = hg_uu_feed(&d, in + off, end - off, &used, buf, HG_UU_OUT_MIN);
            put(o, buf, w);
            free(buf);
            if (used > end - off) {
                abort();
            }
            off += used;
            /* a call that neither consumes nor writes must not repeat */
            stuck = (used == 0 && w == 0) ? stuck + 1 : 0;
            if (stuck > 1) {
                abort();
            }
        }
    }
    buf = scratch(HG_UU_OUT_MIN);
    put(o, buf, hg_uu_finish(&d, buf));
    free(buf);
#else
#error "build with -DHG_FUZZ_B64, -DHG_FUZZ_QP or -DHG_FUZZ_UU"
#endif
    return d.errors;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    out_t     whole, parts;
    uint64_t  e1, e2;
    size_t    step;
    unsigned  flags;

    if (size < 1) {
        return 0;
    }
    step = (data[0] >> 2) + 1;         /* 1..64 */
    flags = data[0] & 3;
    data++;
    size--;

    /*
     * base64 and QP never give more than their input plus a final flush; a
     * uuencoded line may be shorter than its length character says (trailing
     * blanks stripped in transit) and is padded: up to 63 bytes a line.
     */
#if defined(HG_FUZZ_UU)
    whole.cap = parts.cap = size * 32 + 2 * HG_UU_OUT_MIN;
#else
    whole.cap = parts.cap = size + HG_UU_OUT_MIN + 4;
#endif
    whole.p = scratch(whole.cap);
    parts.p = scratch(parts.cap);
    whole.n = parts.n = 0;

#if defined(HG_FUZZ_B64)
    {
        size_t  i;

        /* the reference: scalar, whole, hg_b64_feed */
        if (hg_b64_force_path(HG_B64_SCALAR) != 0) {
            abort();
        }
        e1 = decode(data, size, size ? size : 1, 0, &whole);
        for (i = 0; i < B64_NPATHS; i++) {
            if (!b64_have[i]) {
                continue;
            }
            if (hg_b64_force_path(b64_paths[i].path) != 0) {
                abort();
            }
            parts.n = 0;
            e2 = decode(data, size, size ? size : 1, flags, &parts);
            if (whole.n != parts.n || memcmp(whole.p, parts.p, whole.n) != 0
                || ERRS_DIFFER(e1, e2)) {
                abort();
            }
            parts.n = 0;
            e2 = decode(data, size, step, flags, &parts);
            if (whole.n != parts.n || memcmp(whole.p, parts.p, whole.n) != 0
                || ERRS_DIFFER(e1, e2)) {
                abort();
            }
        }
    }
#else
    e1 = decode(data, size, size ? size : 1, flags, &whole);
    e2 = decode(data, size, step, flags, &parts);
    if (whole.n != parts.n || memcmp(whole.p, parts.p, whole.n) != 0
        || ERRS_DIFFER(e1, e2)) {
        abort();
    }
#endif
    free(whole.p);
    free(parts.p);
    return 0;
}

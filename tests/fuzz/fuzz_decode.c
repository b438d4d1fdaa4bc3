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
 */
#include <stdint.h>
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

static uint64_t
decode(const uint8_t *in, size_t size, size_t step, unsigned flags, out_t *o)
{
    size_t          off = 0, k, w;
    unsigned char  *buf;
#if defined(HG_FUZZ_B64)
    hg_b64_t        d;

    (void) flags;
    hg_b64_init(&d);
    for (off = 0; off < size; off += k) {
        k = size - off < step ? size - off : step;
        buf = scratch(k + 2);          /* decode.h: room for len + 2 */
        w = hg_b64_feed(&d, in + off, k, buf);
        put(o, buf, w);
        free(buf);
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

    e1 = decode(data, size, size ? size : 1, flags, &whole);
    e2 = decode(data, size, step, flags, &parts);
    if (whole.n != parts.n || memcmp(whole.p, parts.p, whole.n) != 0
        || ERRS_DIFFER(e1, e2)) {
        abort();
    }
    free(whole.p);
    free(parts.p);
    return 0;
}

/*
 * bench_apibody.c - what the JSON body parser (apibody.h) costs.
 *
 * Two generated bodies (synthetic data only):
 *   - 1 MiB of ordinary API JSON: an array of user records with ids,
 *     names, e-mails, numbers, booleans, nulls, dates, short text and
 *     nested arrays of orders; no string is a candidate, so the parser
 *     only tokenizes. Printed beside two floors of one pass over the same
 *     bytes: memchr for a byte that is not there (reading memory) and
 *     SHA-256 (what the module does to the raw body anyway). Compact and
 *     pretty-printed (2-space indents) both.
 *   - 10 MiB of JSON holding one 8 MiB base64 value (a 6 MiB "image")
 *     among 2 MiB of ordinary records: the parser decoding and hashing the
 *     image (SHA-256 of the part, as a scan does) against its floor, the
 *     image decoded by decode.h alone and hashed; and the parser alone.
 * Bodies are fed in 16 KiB slices (an nginx body buffer). Time is process
 * CPU time, best of ROUNDS, so other jobs on a shared machine disturb it
 * little. Prints RESULT lines.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hashgate/apibody.h"
#include "hashgate/hash.h"
#include "mime/decode.h"

#define FEED        (16 * 1024)
#define ROUNDS      15
#define API_BYTES   (1024 * 1024)
#define IMG_BYTES   (6 * 1024 * 1024)
#define BIG_BYTES   (10 * 1024 * 1024)

typedef struct {
    hg_hash_t      *h;          /* NULL: count bytes only */
    uint64_t        bytes;
    unsigned        parts;
} ctx_t;

static hg_status_t
b_begin(void *c, const hg_part_info_t *info)
{
    ctx_t  *x = c;

    (void) info;
    x->parts++;
    return x->h != NULL ? hg_hash_init(x->h, HG_ALG_BIT(HG_ALG_SHA256)) : HG_OK;
}

static hg_status_t
b_data(void *c, const unsigned char *buf, size_t len)
{
    ctx_t  *x = c;

    x->bytes += len;
    return x->h != NULL ? hg_hash_update(x->h, buf, len) : HG_OK;
}

static hg_status_t
b_end(void *c, const hg_part_info_t *info, const hg_part_stats_t *st)
{
    ctx_t          *x = c;
    hg_digests_t    d;

    (void) info;
    (void) st;
    return x->h != NULL ? hg_hash_final(x->h, &d) : HG_OK;
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct {
    char       *p;
    size_t      len, cap;
} buf_t;

static void
put(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int     n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t) n < b->cap - b->len) {
            b->len += (size_t) n;
            return;
        }
        b->cap = b->cap * 2 + (size_t) n + 1;
        if ((b->p = realloc(b->p, b->cap)) == NULL) {
            fprintf(stderr, "bench_apibody: out of memory\n");
            exit(1);
        }
    }
}

/* One user record; pretty: indented, a member a line. */
static void
record(buf_t *b, unsigned i, int pretty)
{
    static const char *const first[] = { "Alice", "Bob", "Chiara", "Dmitri",
        "Eun-ji", "Fatima", "Gustavo", "Hannah" };
    static const char *const words[] = { "quick", "report", "delivery",
        "customer", "invoice", "update", "weekly", "support", "ticket",
        "shipping", "the", "and", "of", "for", "with" };
    const char *nl = pretty ? "\n" : "", *i1 = pretty ? "  " : "",
               *i2 = pretty ? "    " : "", *i3 = pretty ? "      " : "",
               *sp = pretty ? " " : "";
    unsigned    k, n;

    put(b, "%s{%s%s\"id\":%s%u,%s%s\"uuid\":%s\"%08x-%04x-%04x-%04x-%012llx\",%s",
        i1, nl, i2, sp, 100000 + i, nl, i2, sp, (unsigned) next(),
        (unsigned) next() & 0xffff, (unsigned) next() & 0xffff,
        (unsigned) next() & 0xffff, (unsigned long long) (next() & 0xffffffffffffULL),
        nl);
    put(b, "%s\"name\":%s\"%s %c.\",%s%s\"email\":%s\"user%u@example.com\",%s",
        i2, sp, first[i % 8], 'A' + (int) (next() % 26), nl, i2, sp, i, nl);
    put(b, "%s\"active\":%s%s,%s%s\"score\":%s%u.%02u,%s%s\"manager\":%snull,%s",
        i2, sp, next() % 3 ? "true" : "false", nl, i2, sp,
        (unsigned) (next() % 100), (unsigned) (next() % 100), nl, i2, sp, nl);
    put(b, "%s\"created\":%s\"2026-%02u-%02uT%02u:%02u:00Z\",%s",
        i2, sp, (unsigned) (next() % 12 + 1), (unsigned) (next() % 28 + 1),
        (unsigned) (next() % 24), (unsigned) (next() % 60), nl);
    put(b, "%s\"bio\":%s\"", i2, sp);
    n = 5 + (unsigned) (next() % 25);
    for (k = 0; k < n; k++) {
        put(b, "%s%s", k ? " " : "", words[next() % 15]);
    }
    put(b, ".\",%s%s\"tags\":%s[\"alpha\",%s\"beta\"],%s", nl, i2, sp, sp, nl);
    put(b, "%s\"orders\":%s[", i2, sp);
    n = (unsigned) (next() % 4);
    for (k = 0; k < n; k++) {
        put(b, "%s%s%s{\"sku\":%s\"A-%u\",%s\"qty\":%s%u,%s\"price\":%s%u.%02u}",
            k ? "," : "", nl, i3, sp, (unsigned) (next() % 1000), sp, sp,
            (unsigned) (next() % 9 + 1), sp, sp, (unsigned) (next() % 500),
            (unsigned) (next() % 100));
    }
    put(b, "%s%s]%s%s}", n ? nl : "", n ? i2 : "", nl, i1);
}

/* Records up to about target bytes, as an array (without the brackets). */
static void
records(buf_t *b, size_t target, int pretty)
{
    unsigned    i = 0;
    size_t      start = b->len;

    while (b->len - start < target) {
        if (i > 0) {
            put(b, ",%s", pretty ? "\n" : "");
        }
        record(b, i++, pretty);
    }
}

static void
b64_put(buf_t *b, const unsigned char *d, size_t n)
{
    static const char   a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t              i;
    uint32_t            v;
    char               *o;

    if (b->cap - b->len < n / 3 * 4 + 8) {
        b->cap = b->len + n / 3 * 4 + 1024;
        if ((b->p = realloc(b->p, b->cap)) == NULL) {
            exit(1);
        }
    }
    o = b->p + b->len;
    for (i = 0; i + 3 <= n; i += 3) {
        v = (uint32_t) d[i] << 16 | (uint32_t) d[i + 1] << 8 | d[i + 2];
        *o++ = a[v >> 18];
        *o++ = a[v >> 12 & 63];
        *o++ = a[v >> 6 & 63];
        *o++ = a[v & 63];
    }
    b->len = (size_t) (o - b->p);
}

/* CPU seconds to parse body once, in FEED slices; full: by the tokenizer
 * alone (max_retained 0), else by the lazy path (the defaults). */
static double
parse_by(const char *body, size_t len, ctx_t *x, int full)
{
    hg_apibody_limits_t lim;
    hg_unpack_cb_t  cb = { b_begin, b_data, b_end };
    hg_apibody_t   *b;
    hg_err_t        err;
    double          t = now();
    size_t          off, k;

    x->bytes = 0;
    x->parts = 0;
    hg_apibody_limits_default(&lim);
    if (full) {
        lim.max_retained = 0;
    }
    b = hg_apibody_new(HG_APIBODY_JSON, &lim, &cb, x, &err);
    if (b == NULL) {
        fprintf(stderr, "bench_apibody: %s\n", err.msg);
        exit(1);
    }
    for (off = 0; off < len; off += k) {
        k = len - off < FEED ? len - off : FEED;
        if (hg_apibody_feed(b, body + off, k, &err) != HG_OK) {
            fprintf(stderr, "bench_apibody: %s\n", err.msg);
            exit(1);
        }
    }
    if (hg_apibody_finish(b, &err) != HG_OK
        || hg_apibody_stopped(b, NULL) != NULL)
    {
        fprintf(stderr, "bench_apibody: body not parsed whole\n");
        exit(1);
    }
    hg_apibody_free(b);
    return now() - t;
}

static double
parse(const char *body, size_t len, ctx_t *x)
{
    return parse_by(body, len, x, 0);
}

static volatile size_t sink;

/* memchr for a byte the body does not hold: one read of every byte */
static double
floor_memchr(const char *body, size_t len)
{
    double  t = now();
    size_t  off, k;

    for (off = 0; off < len; off += k) {
        k = len - off < FEED ? len - off : FEED;
        sink += memchr(body + off, 0x01, k) == NULL;
    }
    return now() - t;
}

static double
floor_sha256(hg_hash_t *h, const void *p, size_t len)
{
    hg_digests_t    d;
    double          t = now();
    size_t          off, k;

    hg_hash_init(h, HG_ALG_BIT(HG_ALG_SHA256));
    for (off = 0; off < len; off += k) {
        k = len - off < FEED ? len - off : FEED;
        hg_hash_update(h, (const char *) p + off, k);
    }
    hg_hash_final(h, &d);
    return now() - t;
}

/* the image's base64 decoded by decode.h alone and hashed */
static double
floor_decode_hash(hg_hash_t *h, const char *e, size_t len, unsigned char *out)
{
    hg_b64_t        d;
    hg_digests_t    dg;
    double          t = now();
    size_t          off, k, o;

    hg_b64_init(&d);
    hg_hash_init(h, HG_ALG_BIT(HG_ALG_SHA256));
    for (off = 0; off < len; off += k) {
        k = len - off < FEED ? len - off : FEED;
        o = hg_b64_feed(&d, (const unsigned char *) e + off, k, out);
        hg_hash_update(h, out, o);
    }
    hg_hash_final(h, &dg);
    return now() - t;
}

#define MBS(bytes, secs)  ((double) (bytes) / (secs) / 1e6)
#define BEST(v, t)        do { double t_ = (t); if (t_ < (v)) (v) = t_; } while (0)

static void
bench_api(hg_hash_t *h, int pretty)
{
    buf_t   b = { NULL, 0, 0 };
    ctx_t   x = { NULL, 0, 0 };
    double  tp = 1e9, tf = 1e9, tm = 1e9, th = 1e9;
    int     r;

    put(&b, "[%s", pretty ? "\n" : "");
    records(&b, API_BYTES - 600, pretty);
    put(&b, "%s]%s", pretty ? "\n" : "", pretty ? "\n" : "");
    for (r = 0; r < ROUNDS * 4; r++) {
        BEST(tp, parse(b.p, b.len, &x));
        BEST(tf, parse_by(b.p, b.len, &x, 1));
        BEST(tm, floor_memchr(b.p, b.len));
        BEST(th, floor_sha256(h, b.p, b.len));
    }
    if (x.parts != 0) {
        fprintf(stderr, "bench_apibody: the API body had a part\n");
        exit(1);
    }
    printf("RESULT apibody json 1MiB API data%s parser=%.0f MB/s (lazy path; "
           "the tokenizer alone %.0f MB/s; floors: memchr %.0f MB/s, sha256 "
           "%.0f MB/s; parser costs %.2fx a SHA-256 of the body, %.3f ms)\n",
           pretty ? " (pretty-printed)" : "", MBS(b.len, tp), MBS(b.len, tf),
           MBS(b.len, tm), MBS(b.len, th), tp / th, tp * 1e3);
    free(b.p);
}

static void
bench_image(hg_hash_t *h)
{
    buf_t           b = { NULL, 0, 0 };
    ctx_t           x = { NULL, 0, 0 }, xh = { h, 0, 0 };
    unsigned char  *img = malloc(IMG_BYTES), *out = malloc(FEED + 8);
    double          tp = 1e9, tph = 1e9, tf = 1e9, traw = 1e9, tfull = 1e9;
    size_t          i, e0, e1;
    int             r;

    if (img == NULL || out == NULL) {
        exit(1);
    }
    for (i = 0; i < IMG_BYTES; i++) {
        img[i] = (unsigned char) (next() >> 24);
    }
    put(&b, "{\"user\":{\"id\":42,\"name\":\"Alice\"},\"records\":[");
    records(&b, (BIG_BYTES - IMG_BYTES / 3 * 4) / 2, 0);
    put(&b, "],\"upload\":{\"filename\":\"photo.jpg\",\"type\":\"image/jpeg\","
        "\"data\":\"");
    e0 = b.len;
    b64_put(&b, img, IMG_BYTES);
    e1 = b.len;
    put(&b, "\"},\"more\":[");
    records(&b, BIG_BYTES - b.len - 16, 0);
    put(&b, "]}");
    for (r = 0; r < ROUNDS; r++) {
        BEST(tp, parse(b.p, b.len, &x));
        BEST(tph, parse(b.p, b.len, &xh));
        BEST(tfull, parse_by(b.p, b.len, &xh, 1));
        BEST(tf, floor_decode_hash(h, b.p + e0, e1 - e0, out));
        BEST(traw, floor_sha256(h, b.p, b.len));
    }
    if (x.parts != 1 || x.bytes != IMG_BYTES) {
        fprintf(stderr, "bench_apibody: the image was not one part of %d "
                "bytes\n", IMG_BYTES);
        exit(1);
    }
    printf("RESULT apibody json %.1fMiB with an 8MiB base64 value: parser+sha256 "
           "of the part ratio=%.2fx its floor (%.0f MB/s of body; floor: the "
           "base64 alone decoded and hashed by decode.h, %.0f MB/s of body); "
           "parser alone %.0f MB/s; sha256 of the raw body %.0f MB/s; by the "
           "tokenizer alone (max_retained 0) parser+sha256 %.2fx its floor\n",
           (double) b.len / 1048576, tf / tph, MBS(b.len, tph), MBS(b.len, tf),
           MBS(b.len, tp), MBS(b.len, traw), tf / tfull);
    free(b.p);
    free(img);
    free(out);
}

int
main(void)
{
    hg_err_t    err;
    hg_hash_t  *h;

    if (hg_hash_global_init(&err) != HG_OK || (h = hg_hash_new()) == NULL) {
        fprintf(stderr, "bench_apibody: hashing unavailable\n");
        return 1;
    }
    bench_api(h, 0);
    bench_api(h, 1);
    bench_image(h);
    hg_hash_free(h);
    return 0;
}

/*
 * fuzz_unpack.c - libFuzzer target for the streaming MIME parser.
 *
 * Built twice by tests/fuzz/build.sh: fuzz_unpack_message (RFC 5322 mail)
 * and, with -DHG_FUZZ_FORMDATA, fuzz_unpack_formdata (an HTTP body, its
 * Content-Type picked by the first input byte). The second byte sets the
 * chunk sizes the input is fed in, so every split point of headers,
 * boundaries and encoded text gets tried. The callbacks check what the
 * parser promises: strings valid during the part, every decoded byte
 * readable, decoded_bytes equal to what part_data gave, begin/end paired.
 * Differential: the same input fed whole and fed in chunks must give the
 * same parts (paths, types, names, decoded bytes) and the same status -
 * where the network splits a message may not change what is scanned.
 * Embedded parts (uuencoded blocks) and decoded copies ("P.d1") are
 * reported and checked the same way, and a copy said to have its part's
 * own bytes (same_bytes) must have exactly those.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/unpack.h"

/* Keeps one input's work bounded; the parser's own limits stay default. */
#define FUZZ_MAX_TOTAL  (4 * 1024 * 1024)

typedef struct fz_s fz_t;

struct fz_s {
    int         open;
    uint64_t    bytes;
    unsigned    parts;
    uint64_t    h;          /* FNV-1a over every event and byte */
    uint64_t    dh;         /* FNV-1a over the open part's bytes only */
    uint64_t    sub_h;      /* the same of the embedded parts, once done */
    uint64_t    copy_h[3];  /* the same of each copy ("d1".."d3"), once done */
    fz_t       *copies;     /* main parts: the three copies' states */
    int         ended;      /* copies: one ended since their part began */
    int         same;       /* ... with same_bytes */
    uint64_t    end_dh, end_bytes;
};

static void
mix(fz_t *f, const void *p, size_t n)
{
    const unsigned char  *b = p;
    size_t                i;

    for (i = 0; i < n; i++) {
        f->h = (f->h ^ b[i]) * 0x100000001b3ULL;
    }
}

static void
mix_data(fz_t *f, const unsigned char *b, size_t n)
{
    size_t  i;

    mix(f, b, n);
    for (i = 0; i < n; i++) {
        f->dh = (f->dh ^ b[i]) * 0x100000001b3ULL;
    }
}

static void
mix_str(fz_t *f, const char *s)
{
    mix(f, s ? s : "(null)", s ? strlen(s) + 1 : 7);
}

static void
check_info(const hg_part_info_t *info)
{
    if (info == NULL || info->path == NULL || info->content_type == NULL) {
        abort();
    }
    (void) strlen(info->path);
    (void) strlen(info->content_type);
    if (info->filename != NULL) {
        (void) strlen(info->filename);
    }
    if (info->field_name != NULL) {
        (void) strlen(info->field_name);
    }
    if (info->encoding != NULL) {
        (void) strlen(info->encoding);
    }
}

static hg_status_t
part_begin(void *ctx, const hg_part_info_t *info)
{
    fz_t  *f = ctx;

    if (f->open) {
        abort();                /* parts do not overlap */
    }
    check_info(info);
    f->open = 1;
    f->bytes = 0;
    f->dh = 0xcbf29ce484222325ULL;
    mix(f, "B", 1);
    mix_str(f, info->path);
    mix_str(f, info->content_type);
    mix_str(f, info->filename);
    mix_str(f, info->field_name);
    mix_str(f, info->encoding);
    return HG_OK;
}

static hg_status_t
part_data(void *ctx, const unsigned char *buf, size_t len)
{
    fz_t    *f = ctx;

    if (!f->open) {
        abort();
    }
    mix_data(f, buf, len);
    f->bytes += len;
    return HG_OK;
}

/*
 * At the end of a part, its copies have ended. One that said same_bytes
 * must hold the part's bytes, or (the third, blanks deleted and line ends
 * converted) those of the first or the second copy.
 */
static void
check_copies(fz_t *f)
{
    fz_t   *c = f->copies;
    int     k;

    for (k = 0; k < 3; k++) {
        if (c[k].ended && c[k].same
            && !(c[k].end_dh == f->dh && c[k].end_bytes == f->bytes)
            && !(k == 2 && c[0].ended && c[0].end_dh == c[2].end_dh
                 && c[0].end_bytes == c[2].end_bytes)
            && !(k == 2 && c[1].ended && c[1].end_dh == c[2].end_dh
                 && c[1].end_bytes == c[2].end_bytes))
        {
            abort();
        }
    }
    for (k = 0; k < 3; k++) {
        c[k].ended = 0;
    }
}

static hg_status_t
part_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *stats)
{
    fz_t  *f = ctx;

    if (!f->open) {
        abort();
    }
    check_info(info);
    if (stats != NULL && stats->decoded_bytes != f->bytes) {
        abort();
    }
    if (f->copies != NULL) {
        check_copies(f);
    }
    f->open = 0;
    f->parts++;
    f->ended = 1;
    f->same = stats != NULL && stats->same_bytes;
    f->end_dh = f->dh;
    f->end_bytes = f->bytes;
    mix(f, "E", 1);
    mix(f, &f->bytes, sizeof(f->bytes));
    mix(f, stats != NULL && stats->same_bytes ? "s" : "d", 1);
    return HG_OK;
}

/*
 * Embedded parts (uuencoded blocks in mail text) and decoded copies open
 * and close inside their leaf, each on a state of its own: how their
 * slices interleave with the leaf's depends on the chunking, so they are
 * hashed apart, and every hash is compared.
 */
static hg_status_t
run(const char *ct, const uint8_t *data, size_t size, size_t step, fz_t *f)
{
    hg_unpack_limits_t  lim;
    hg_unpack_cb_t      cb = { part_begin, part_data, part_end };
    hg_unpack_t        *u;
    hg_err_t            err;
    size_t              off, n;
    hg_status_t         st = HG_OK;
    fz_t                sub, copy[3];
    int                 k;

    hg_unpack_limits_default(&lim);
    lim.max_total_bytes = FUZZ_MAX_TOTAL;
    memset(f, 0, sizeof(*f));
    memset(&sub, 0, sizeof(sub));
    memset(copy, 0, sizeof(copy));
    f->h = sub.h = 0xcbf29ce484222325ULL;
    for (k = 0; k < 3; k++) {
        copy[k].h = 0xcbf29ce484222325ULL;
    }
    f->copies = copy;
    u = hg_unpack_new(
#ifdef HG_FUZZ_FORMDATA
                      HG_UNPACK_FORMDATA,
#else
                      HG_UNPACK_MESSAGE,
#endif
                      ct, &lim, &cb, f, &err);
    if (u == NULL) {
        (void) strlen(err.msg);
        return HG_EINVAL;
    }
    if (hg_unpack_set_embedded_cb(u, &cb, &sub, &err) != HG_OK
        || hg_unpack_set_copy_cb(u, &cb, &copy[0], &err) != HG_OK
        || hg_unpack_set_eol_copy_cb(u, &cb, &copy[1], &copy[2], &err) != HG_OK)
    {
        abort();
    }
    for (off = 0; off < size && st == HG_OK; off += n) {
        n = size - off < step ? size - off : step;
        st = hg_unpack_feed(u, data + off, n, &err);
    }
    if (st == HG_OK) {
        st = hg_unpack_finish(u, &err);
        if (st == HG_OK && (f->open || sub.open || copy[0].open
                            || copy[1].open || copy[2].open)) {
            abort();            /* finish closes every open part */
        }
    }
    if (st != HG_OK) {
        (void) strlen(err.msg);
    }
    if (hg_unpack_parts(u) < f->parts + sub.parts) {    /* copies uncounted */
        abort();
    }
    f->parts += sub.parts;
    for (k = 0; k < 3; k++) {
        f->parts += copy[k].parts;
        f->copy_h[k] = copy[k].h;
    }
    f->sub_h = sub.h;
    f->copies = NULL;
    hg_unpack_free(u);
    return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {
        "multipart/form-data; boundary=XyZ",
        "multipart/form-data; boundary=\"a b:c\"",
        "Multipart/Form-Data; charset=utf-8; BOUNDARY=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary*0=ab; boundary*1=cd",
        "text/plain",
    };
    const char   *ct = NULL;
    size_t        step;
    fz_t          whole, parts;
    hg_status_t   s1, s2;

    if (size < 2) {
        return 0;
    }
#ifdef HG_FUZZ_FORMDATA
    ct = types[data[0] % (sizeof(types) / sizeof(types[0]))];
#else
    (void) types;
#endif
    step = (size_t) data[1] * 37 + 1;
    data += 2;
    size -= 2;

    s1 = run(ct, data, size, size ? size : 1, &whole);
    s2 = run(ct, data, size, step, &parts);
#ifndef HG_FUZZ_NO_DIFF
    /* an error stops the parser where it is found: compare only clean runs */
    if (s1 != s2 || (s1 == HG_OK && (whole.h != parts.h
                                     || whole.sub_h != parts.sub_h
                                     || memcmp(whole.copy_h, parts.copy_h,
                                               sizeof(whole.copy_h)) != 0
                                     || whole.parts != parts.parts))) {
        abort();
    }
#endif
    return 0;
}

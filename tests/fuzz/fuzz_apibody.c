/*
 * fuzz_apibody.c - libFuzzer target for the JSON and url-encoded body
 * parser (apibody.h).
 *
 * The first input byte picks the mode (bit 0: JSON or form) and small
 * limits (bits 1-7: min_bytes from 1 to 1024, max_depth 4 or 100,
 * max_parts 3 or 1000, max_decoded 200 bytes or none), so limits are met
 * and short values become parts; the second seeds the feed sizes. The
 * rest is the body, parsed three times: whole, in slices of one size, and
 * in slices of pseudo-random sizes (1 to 4096). The callbacks check what
 * the parser promises: begin/end paired, one part at a time, strings
 * valid, decoded_bytes equal to what part_data gave, no part decoding to
 * more bytes than the body holds, paths with no raw '!' or control byte,
 * lowercase types, names within their bounds, limits kept. Differential:
 * the three runs must give the same parts (paths, names, types, bytes),
 * the same status and message, and the same stop and offset (the stop
 * asked for, hg_apibody_want_stop, as a server writing a record asks) -
 * where the network splits a body may not change what is scanned. Any
 * violation abort()s.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/apibody.h"

typedef struct {
    const hg_apibody_limits_t *lim;
    size_t      size;           /* of the body */
    int         open;
    unsigned    parts;
    uint64_t    bytes;          /* of the open part */
    uint64_t    total;          /* of every part */
    uint64_t    h;              /* FNV-1a over every event and byte */
    int         form;
} fz_t;

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
mix_str(fz_t *f, const char *s)
{
    mix(f, s ? s : "(null)", s ? strlen(s) + 1 : 7);
}

static void
check_info(fz_t *f, const hg_part_info_t *info)
{
    const char *s;

    if (info == NULL || info->path == NULL || info->content_type == NULL
        || info->encoding == NULL)
    {
        abort();
    }
    for (s = info->path; *s; s++) {
        if (*s == '!' || (unsigned char) *s < 0x20 || *s == 0x7f) {
            abort();            /* escaped as %XX, always */
        }
    }
    for (s = info->content_type; *s; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            abort();
        }
    }
    if (strlen(info->content_type) > 127
        || (info->filename != NULL && strlen(info->filename) > 255)
        || (info->field_name != NULL && strlen(info->field_name) > 256))
    {
        abort();
    }
    if (strcmp(info->encoding, "base64") != 0
        && strcmp(info->encoding, "base64url") != 0
        && strcmp(info->encoding, "url-encoded") != 0)
    {
        abort();
    }
    if (f->form && (info->depth != 0 || info->filename != NULL
                    || info->field_name == NULL))
    {
        abort();
    }
    if (!f->form && info->depth > f->lim->max_depth) {
        abort();
    }
}

static hg_status_t
part_begin(void *ctx, const hg_part_info_t *info)
{
    fz_t   *f = ctx;

    if (f->open) {
        abort();                /* parts do not overlap */
    }
    check_info(f, info);
    f->open = 1;
    f->bytes = 0;
    f->parts++;
    if (f->parts > f->lim->max_parts) {
        abort();
    }
    mix(f, "B", 1);
    mix_str(f, info->path);
    mix_str(f, info->content_type);
    mix_str(f, info->filename);
    mix_str(f, info->field_name);
    mix_str(f, info->encoding);
    mix(f, &info->depth, sizeof(info->depth));
    return HG_OK;
}

static hg_status_t
part_data(void *ctx, const unsigned char *buf, size_t len)
{
    fz_t   *f = ctx;

    if (!f->open || len == 0) {
        abort();
    }
    mix(f, buf, len);
    f->bytes += len;
    f->total += len;
    /* decoding never makes more than the body held */
    if (f->bytes > f->size
        || (f->lim->max_decoded > 0 && f->total > f->lim->max_decoded))
    {
        abort();
    }
    return HG_OK;
}

static hg_status_t
part_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *stats)
{
    fz_t   *f = ctx;

    if (!f->open) {
        abort();
    }
    check_info(f, info);
    if (stats == NULL || stats->decoded_bytes != f->bytes
        || stats->decode_errors > f->size)
    {
        abort();
    }
    f->open = 0;
    mix(f, "E", 1);
    mix_str(f, info->path);
    mix_str(f, info->filename);
    mix(f, &stats->decoded_bytes, sizeof(stats->decoded_bytes));
    mix(f, &stats->decode_errors, sizeof(stats->decode_errors));
    return HG_OK;
}

typedef struct {
    hg_status_t st;
    char        msg[HG_ERR_MAX];
    const char *why;
    uint64_t    off;
    unsigned    nparts;
    uint64_t    h;
} out_t;

/* step 0: pseudo-random slice sizes from seed */
static void
run(hg_apibody_mode_t mode, const hg_apibody_limits_t *lim,
    const uint8_t *data, size_t size, size_t step, uint32_t seed, out_t *o)
{
    hg_unpack_cb_t  cb = { part_begin, part_data, part_end };
    hg_apibody_t   *b;
    hg_err_t        err;
    fz_t            f;
    size_t          off, n;

    memset(&f, 0, sizeof(f));
    memset(o, 0, sizeof(*o));
    f.lim = lim;
    f.size = size;
    f.h = 0xcbf29ce484222325ULL;
    f.form = mode == HG_APIBODY_FORM;
    err.msg[0] = '\0';
    if ((b = hg_apibody_new(mode, lim, &cb, &f, &err)) == NULL) {
        abort();
    }
    /*
     * Where a JSON body stops is read from the first possible part on
     * only when asked (a server asks when it writes a record); unasked,
     * the lazy path may leave a fault after a candidate unread depending
     * on where feeds end, which changes no part (fuzz_apibody_lazy checks
     * that). Asked, every slicing must place the stop alike.
     */
    hg_apibody_want_stop(b);
    o->st = HG_OK;
    for (off = 0; off < size && o->st == HG_OK; off += n) {
        if (step == 0) {
            seed = seed * 1103515245u + 12345u;
            n = (seed >> 16) % 4096 + 1;
        } else {
            n = step;
        }
        n = size - off < n ? size - off : n;
        o->st = hg_apibody_feed(b, data + off, n, &err);
    }
    if (o->st == HG_OK) {
        o->st = hg_apibody_finish(b, &err);
        if (o->st == HG_OK && f.open) {
            abort();            /* finish ends every part */
        }
    }
    if (o->st != HG_OK) {
        memcpy(o->msg, err.msg, sizeof(o->msg));
        if (strlen(o->msg) == 0) {
            abort();            /* an error always says why */
        }
    }
    o->why = hg_apibody_stopped(b, &o->off);
    /* a limit reached while a stop ends the part leaves it open (apibody.h) */
    if (o->why != NULL
        && (f.form || o->off > size || (f.open && o->st == HG_OK)))
    {
        abort();                /* forms never stop; a stop ends the part */
    }
    o->nparts = hg_apibody_parts(b);
    if (o->nparts != f.parts) {
        abort();
    }
    o->h = f.h;
    hg_apibody_free(b);
}

static void
same(const out_t *a, const out_t *b)
{
    if (a->st != b->st || strcmp(a->msg, b->msg) != 0
        || (a->why == NULL) != (b->why == NULL)
        || (a->why != NULL && (strcmp(a->why, b->why) != 0 || a->off != b->off))
        || a->nparts != b->nparts || a->h != b->h)
    {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t     mins[] = { 1, 2, 3, 4, 8, 16, 100, 1024 };
    hg_apibody_limits_t     lim;
    hg_apibody_mode_t       mode;
    out_t                   whole, stepped, random;
    size_t                  step;
    uint32_t                seed;

    if (size < 2) {
        return 0;
    }
    mode = data[0] & 1 ? HG_APIBODY_FORM : HG_APIBODY_JSON;
    hg_apibody_limits_default(&lim);
    lim.min_bytes = mins[data[0] >> 1 & 7];
    lim.max_depth = data[0] & 0x10 ? 4 : 100;
    lim.max_parts = data[0] & 0x20 ? 3 : 1000;
    lim.max_decoded = data[0] & 0x40 ? 200 : 0;
    if (data[0] & 0x80) {
        lim.min_bytes = 0;
    }
    step = (size_t) data[1] % 64 + 1;
    seed = (uint32_t) data[1] * 2654435761u;
    data += 2;
    size -= 2;

    run(mode, &lim, data, size, size ? size : 1, 0, &whole);
    run(mode, &lim, data, size, step, 0, &stepped);
    run(mode, &lim, data, size, 0, seed, &random);
    same(&whole, &stepped);
    same(&whole, &random);
    return 0;
}

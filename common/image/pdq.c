/*
 * pdq.c - PDQ hashing of an image fed a row at a time (pdq.h).
 *
 * The reference filters the whole image four times (rows, columns, rows,
 * columns) and then samples 64 x 64 values. Here the four passes run as a
 * pipeline over the stream of rows, each holding only what it still needs:
 *
 *   rows in --> A: along each row  (PDQ_BATCH rows at a time)
 *           --> B: down the columns (the last window of rows kept)
 *           --> C: along each row again, only at the 64 sampled columns
 *           --> D: down those 64 columns, only at the 64 sampled rows
 *           --> 64 x 64 --> quality, DCT, bits (pdq_dct.c)
 *
 * C still runs its sum along the whole row (the sum at a sampled column
 * is the sum of everything added and taken off before it), but divides
 * only where a value is sampled; D is 64 columns wide. So a pixel costs
 * three running sums (A, B, C) and two divisions (A, B), and memory is a
 * window of rows, about 1/128 of the image.
 *
 * An image of exactly 64 x 64 is not filtered (the reference hashes such
 * an image, a frame already scaled, as it is), and one under
 * HG_PDQ_MIN_SIDE on a side hashes to zeros with quality 0.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "hashgate/hash.h"
#include "image/pdq_int.h"

struct hg_pdq_s {
    size_t          rows, cols;
    size_t          fed;            /* rows given */
    size_t          cap;            /* cols the buffers below are sized for */
    int             state;          /* 0: not inited, 1: taking rows, -1: broken */
    int             direct;         /* 64 x 64: no filter */
    int             tiny;           /* under HG_PDQ_MIN_SIDE: zeros */

    pdq_line_t      row_line;       /* along a row: cols values */
    size_t          rsel[PDQ_SIDE]; /* the rows sampled */
    size_t          csel[PDQ_SIDE]; /* the columns sampled */
    size_t          next_out;       /* the next of rsel[] to fill */

    float          *a_in;           /* A's batch: PDQ_BATCH rows of cols */
    size_t          a_n;            /* rows in it */
    float          *b_in;           /* C's batch: rows out of B */
    size_t          b_n;
    float          *a_sums;         /* PDQ_BATCH rows: A's running sums, then means */
    float          *c_sums;         /* the same for C (A's may not be all used yet) */

    pdq_colbox_t    colb;           /* B: cols wide */
    pdq_colbox_t    cold;           /* D: PDQ_SIDE wide */
    float           d_row[PDQ_SIDE];

    float           out[PDQ_SIDE][PDQ_SIDE];
};

/* The reference's window: the side over 128, rounded up. */
static size_t
window_for(size_t n)
{
    return (n + 2 * PDQ_SIDE - 1) / (2 * PDQ_SIDE);
}

/* Sample centres, not corners: (i + 0.5) n / 64, in double as the reference. */
static void
sample_at(size_t n, size_t sel[PDQ_SIDE])
{
    int     i;

    for (i = 0; i < PDQ_SIDE; i++) {
        sel[i] = (size_t) (((i + 0.5) * (double) n) / PDQ_SIDE);
    }
}

hg_pdq_t *
hg_pdq_new(void)
{
    return calloc(1, sizeof(hg_pdq_t));
}

static void
pdq_buffers_free(hg_pdq_t *p)
{
    free(p->a_in);
    free(p->b_in);
    free(p->a_sums);
    free(p->c_sums);
    p->a_in = p->b_in = p->a_sums = p->c_sums = NULL;
    p->cap = 0;
}

void
hg_pdq_free(hg_pdq_t *p)
{
    if (p == NULL) {
        return;
    }
    pdq_buffers_free(p);
    pdq_colbox_free(&p->colb);
    pdq_colbox_free(&p->cold);
    free(p);
}

hg_status_t
hg_pdq_init(hg_pdq_t *p, size_t rows, size_t cols)
{
    size_t  n;

    pdq_colbox_free(&p->colb);
    pdq_colbox_free(&p->cold);
    p->state = -1;
    if (rows == 0 || cols == 0 || rows > HG_PDQ_MAX_SIDE
        || cols > HG_PDQ_MAX_SIDE) {
        return HG_EINVAL;
    }
    p->rows = rows;
    p->cols = cols;
    p->fed = 0;
    p->a_n = p->b_n = 0;
    p->next_out = 0;
    p->tiny = rows < HG_PDQ_MIN_SIDE || cols < HG_PDQ_MIN_SIDE;
    p->direct = rows == PDQ_SIDE && cols == PDQ_SIDE;
    if (p->tiny || p->direct) {
        p->state = 1;
        return HG_OK;
    }

    if (cols > p->cap) {
        pdq_buffers_free(p);
        n = PDQ_BATCH * cols;
        p->a_in = malloc(n * sizeof(float));
        p->b_in = malloc(n * sizeof(float));
        p->a_sums = malloc(n * sizeof(float));
        p->c_sums = malloc(n * sizeof(float));
        if (p->a_in == NULL || p->b_in == NULL || p->a_sums == NULL
            || p->c_sums == NULL) {
            pdq_buffers_free(p);
            return HG_ENOMEM;
        }
        p->cap = cols;
    }
    pdq_line_set(&p->row_line, cols, window_for(cols));
    sample_at(rows, p->rsel);
    sample_at(cols, p->csel);
    if (pdq_colbox_init(&p->colb, rows, cols, window_for(rows)) != 0
        || pdq_colbox_init(&p->cold, rows, PDQ_SIDE, window_for(rows)) != 0) {
        pdq_colbox_free(&p->colb);
        return HG_ENOMEM;
    }
    p->state = 1;
    return HG_OK;
}

/* D: a row of the 64 sampled columns in; sampled rows kept. */
static void
stage_d_out(hg_pdq_t *p, size_t o)
{
    /* several samples fall on one row when the image has under 64 rows */
    while (p->next_out < PDQ_SIDE && p->rsel[p->next_out] == o) {
        memcpy(p->out[p->next_out], p->d_row, sizeof(p->d_row));
        p->next_out++;
    }
}

static void
stage_d(hg_pdq_t *p, const float *row)
{
    size_t  o;

    if (pdq_colbox_push(&p->cold, row, p->d_row, &o)) {
        stage_d_out(p, o);
    }
}

/* C: the batch of rows out of B, along each row, sampled at 64 columns. */
static void
stage_c(hg_pdq_t *p)
{
    size_t  r, i, c;
    float   v[PDQ_SIDE];

    pdq_box_sums(&p->row_line, p->b_in, p->c_sums, p->cols, p->b_n);
    for (r = 0; r < p->b_n; r++) {
        const float *s = p->c_sums + r * p->cols;

        for (i = 0; i < PDQ_SIDE; i++) {
            c = p->csel[i];
            v[i] = s[c] / (float) pdq_line_count(&p->row_line, c);
        }
        stage_d(p, v);
    }
    p->b_n = 0;
}

/* B's next output goes straight into C's batch. */
static float *
stage_c_slot(hg_pdq_t *p)
{
    return p->b_in + p->b_n * p->cols;
}

static void
stage_c_done(hg_pdq_t *p)
{
    if (++p->b_n == PDQ_BATCH) {
        stage_c(p);
    }
}

/* A then B: the batch of rows in, along each row, then down the columns. */
static void
stage_a(hg_pdq_t *p)
{
    size_t  r, o;

    pdq_box_sums(&p->row_line, p->a_in, p->a_sums, p->cols, p->a_n);
    for (r = 0; r < p->a_n; r++) {
        float *s = p->a_sums + r * p->cols;

        pdq_box_divide(&p->row_line, s);
        if (pdq_colbox_push(&p->colb, s, stage_c_slot(p), &o)) {
            stage_c_done(p);
        }
    }
    p->a_n = 0;
}

/* The next row's slot: A's batch, or the 64 x 64 image itself. */
static float *
row_slot(hg_pdq_t *p)
{
    if (p->direct) {
        return p->out[p->fed];
    }
    return p->a_in + p->a_n * p->cols;
}

static void
row_done(hg_pdq_t *p)
{
    p->fed++;
    if (!p->direct && ++p->a_n == PDQ_BATCH) {
        stage_a(p);
    }
}

hg_status_t
hg_pdq_update_luma(hg_pdq_t *p, const float *row)
{
    if (p->state != 1 || p->fed >= p->rows) {
        return HG_EINVAL;
    }
    if (p->tiny) {
        p->fed++;
        return HG_OK;
    }
    memcpy(row_slot(p), row, p->cols * sizeof(float));
    row_done(p);
    return HG_OK;
}

/* The reference's luma: float coefficients, products summed left to right. */
PDQ_WIDE static void
luma_row(float *restrict y, const unsigned char *restrict rgb, size_t n)
{
    size_t  j;

    for (j = 0; j < n; j++) {
        y[j] = 0.299f * rgb[3 * j] + 0.587f * rgb[3 * j + 1]
               + 0.114f * rgb[3 * j + 2];
    }
}

hg_status_t
hg_pdq_update_rgb(hg_pdq_t *p, const unsigned char *rgb)
{
    if (p->state != 1 || p->fed >= p->rows) {
        return HG_EINVAL;
    }
    if (p->tiny) {
        p->fed++;
        return HG_OK;
    }
    luma_row(row_slot(p), rgb, p->cols);
    row_done(p);
    return HG_OK;
}

hg_status_t
hg_pdq_final(hg_pdq_t *p, hg_pdq_result_t *out)
{
    float   dct[PDQ_DCT][PDQ_DCT];
    size_t  o;

    if (p->state != 1 || p->fed != p->rows) {
        return HG_EINVAL;
    }
    p->state = 0;
    memset(out, 0, sizeof(*out));
    if (p->tiny) {
        return HG_OK;
    }
    if (!p->direct) {
        if (p->a_n > 0) {
            stage_a(p);
        }
        while (pdq_colbox_drain(&p->colb, stage_c_slot(p), &o)) {
            stage_c_done(p);
        }
        if (p->b_n > 0) {
            stage_c(p);
        }
        while (pdq_colbox_drain(&p->cold, p->d_row, &o)) {
            stage_d_out(p, o);
        }
    }
    out->quality = pdq_quality((const float (*)[PDQ_SIDE]) p->out);
    pdq_dct((const float (*)[PDQ_SIDE]) p->out, dct);
    pdq_dihedral((const float (*)[PDQ_DCT]) dct, out->dihedral);
    out->hash = out->dihedral[HG_PDQ_ORIGINAL];
    return HG_OK;
}

hg_status_t
hg_pdq_luma(const float *luma, size_t rows, size_t cols, hg_pdq_result_t *out)
{
    hg_pdq_t    *p = hg_pdq_new();
    hg_status_t  st;
    size_t       i;

    if (p == NULL) {
        return HG_ENOMEM;
    }
    st = hg_pdq_init(p, rows, cols);
    for (i = 0; st == HG_OK && i < rows; i++) {
        st = hg_pdq_update_luma(p, luma + i * cols);
    }
    if (st == HG_OK) {
        st = hg_pdq_final(p, out);
    }
    hg_pdq_free(p);
    return st;
}

hg_status_t
hg_pdq_rgb(const unsigned char *rgb, size_t rows, size_t cols, size_t stride,
           hg_pdq_result_t *out)
{
    hg_pdq_t    *p = hg_pdq_new();
    hg_status_t  st;
    size_t       i;

    if (p == NULL) {
        return HG_ENOMEM;
    }
    st = hg_pdq_init(p, rows, cols);
    for (i = 0; st == HG_OK && i < rows; i++) {
        st = hg_pdq_update_rgb(p, rgb + i * stride);
    }
    if (st == HG_OK) {
        st = hg_pdq_final(p, out);
    }
    hg_pdq_free(p);
    return st;
}

int
hg_pdq_distance(const hg_pdq_hash_t *a, const hg_pdq_hash_t *b)
{
    uint64_t    x, y;
    int         i, d = 0;

    for (i = 0; i < HG_PDQ_BYTES; i += 8) {
        memcpy(&x, a->b + i, 8);
        memcpy(&y, b->b + i, 8);
        d += __builtin_popcountll(x ^ y);
    }
    return d;
}

int
hg_pdq_distance_dihedral(const hg_pdq_hash_t *a, const hg_pdq_result_t *r,
                         hg_pdq_dihedral_t *which)
{
    int     d, best = HG_PDQ_BYTES * 8 + 1, i;

    for (i = 0; i < HG_PDQ_DIHEDRAL_COUNT; i++) {
        d = hg_pdq_distance(a, &r->dihedral[i]);
        if (d < best) {
            best = d;
            if (which != NULL) {
                *which = (hg_pdq_dihedral_t) i;
            }
        }
    }
    return best;
}

void
hg_pdq_to_hex(const hg_pdq_hash_t *h, char *out)
{
    hg_hex_encode(h->b, HG_PDQ_BYTES, out);
}

int
hg_pdq_from_hex(const char *hex, size_t len, hg_pdq_hash_t *out)
{
    if (len != HG_PDQ_HEX_LEN) {
        return -1;
    }
    return hg_hex_decode(hex, len, out->b);
}

const char *
hg_pdq_dihedral_name(hg_pdq_dihedral_t d)
{
    switch (d) {
    case HG_PDQ_ORIGINAL:       return "original";
    case HG_PDQ_ROTATE_90:      return "rotate90";
    case HG_PDQ_ROTATE_180:     return "rotate180";
    case HG_PDQ_ROTATE_270:     return "rotate270";
    case HG_PDQ_FLIP_X:         return "flipx";
    case HG_PDQ_FLIP_Y:         return "flipy";
    case HG_PDQ_FLIP_PLUS1:     return "flipplus1";
    case HG_PDQ_FLIP_MINUS1:    return "flipminus1";
    case HG_PDQ_DIHEDRAL_COUNT: break;
    }
    return "unknown";
}

/*
 * pdq_box.c - PDQ's Jarosz filter: box filters whose sums run along a line.
 *
 * A box filter with a running sum costs two additions and a division a
 * value whatever the window, so the filter is O(pixels). Along a row the
 * sum is one chain of dependent additions; pdq_box_sums runs the chains of
 * up to PDQ_BATCH rows side by side, so the processor overlaps them, and
 * the divisions come after, in a loop the compiler vectorizes. Down the
 * columns every column has its own sum, so a row at a time is already
 * wide: pdq_colbox keeps only the last window of rows.
 *
 * The sums are the reference's, added in its order: (sum + in) - out, from
 * the first value of the line. Skipping a division never changes a sum, so
 * callers skip those whose output is not sampled.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "image/pdq_int.h"

void
pdq_line_set(pdq_line_t *l, size_t n, size_t w)
{
    l->n = n;
    l->w = w;
    l->h = (w + 2) / 2;
}

size_t
pdq_line_count(const pdq_line_t *l, size_t o)
{
    size_t  last = o + l->h - 1;            /* the newest value added */
    size_t  first;                          /* the oldest still in */

    first = last + 1 >= l->w ? last + 1 - l->w : 0;
    if (last > l->n - 1) {
        last = l->n - 1;
    }
    return last - first + 1;
}

/*
 * k rows at once; k is a constant where this is inlined, so the k sums
 * stay in registers. Phases as the reference's: add only (no output yet,
 * then outputs while the window grows), add and subtract, subtract only.
 */
static inline __attribute__((always_inline)) void
box_sums_k(const pdq_line_t *l, const float *x, float *y, size_t stride,
           size_t k)
{
    size_t  n = l->n, w = l->w, h = l->h, t, r;
    float   s[PDQ_BATCH];

    for (r = 0; r < k; r++) {
        s[r] = 0.0f;
    }
    for (t = 0; t + 1 < h; t++) {
        for (r = 0; r < k; r++) {
            s[r] += x[r * stride + t];
        }
    }
    for (; t < w; t++) {
        for (r = 0; r < k; r++) {
            s[r] += x[r * stride + t];
            y[r * stride + t - h + 1] = s[r];
        }
    }
    for (; t < n; t++) {
        for (r = 0; r < k; r++) {
            s[r] += x[r * stride + t];
            s[r] -= x[r * stride + t - w];
            y[r * stride + t - h + 1] = s[r];
        }
    }
    for (; t + 1 < n + h; t++) {
        for (r = 0; r < k; r++) {
            s[r] -= x[r * stride + t - w];
            y[r * stride + t - h + 1] = s[r];
        }
    }
}

/* Each loop over pixels is cloned for AVX2 (PDQ_WIDE) as a static
 * function: clang wants every declaration of a cloned function to say so,
 * and the exported names below stay plain calls. */
PDQ_WIDE static void
box_sums(const pdq_line_t *l, const float *x, float *y, size_t stride, size_t k)
{
    size_t  r;

    if (k == PDQ_BATCH) {
        box_sums_k(l, x, y, stride, PDQ_BATCH);
        return;
    }
    for (r = 0; r < k; r++) {
        box_sums_k(l, x + r * stride, y + r * stride, stride, 1);
    }
}

void
pdq_box_sums(const pdq_line_t *l, const float *x, float *y, size_t stride,
             size_t k)
{
    box_sums(l, x, y, stride, k);
}

PDQ_WIDE static void
box_divide(const pdq_line_t *l, float *y)
{
    size_t  o, lo, hi;
    float   wf = (float) l->w;

    /* full windows: outputs w - h + 1 .. n - h */
    lo = l->w - l->h + 1;
    hi = l->n - l->h + 1;
    for (o = 0; o < lo && o < l->n; o++) {
        y[o] /= (float) pdq_line_count(l, o);
    }
    for (o = lo; o < hi; o++) {
        y[o] /= wf;
    }
    for (o = hi > lo ? hi : lo; o < l->n; o++) {
        y[o] /= (float) pdq_line_count(l, o);
    }
}

void
pdq_box_divide(const pdq_line_t *l, float *y)
{
    box_divide(l, y);
}

int
pdq_colbox_init(pdq_colbox_t *c, size_t rows, size_t width, size_t w)
{
    memset(c, 0, sizeof(*c));
    pdq_line_set(&c->line, rows, w);
    c->width = width;
    c->sum = calloc(width, sizeof(float));
    c->ring = malloc(w * width * sizeof(float));
    if (c->sum == NULL || c->ring == NULL) {
        pdq_colbox_free(c);
        return -1;
    }
    return 0;
}

void
pdq_colbox_free(pdq_colbox_t *c)
{
    free(c->sum);
    free(c->ring);
    c->sum = NULL;
    c->ring = NULL;
}

PDQ_WIDE static void
colbox_out(const pdq_colbox_t *c, size_t o, float *out)
{
    size_t  j;
    float   cnt;

    if (out == NULL) {
        return;
    }
    cnt = (float) pdq_line_count(&c->line, o);
    for (j = 0; j < c->width; j++) {
        out[j] = c->sum[j] / cnt;
    }
}

PDQ_WIDE static void
colbox_add(float *sum, const float *row, const float *old, size_t n)
{
    size_t  j;

    if (old != NULL) {
        for (j = 0; j < n; j++) {
            sum[j] = (sum[j] + row[j]) - old[j];
        }
    } else {
        for (j = 0; j < n; j++) {
            sum[j] += row[j];
        }
    }
}

int
pdq_colbox_push(pdq_colbox_t *c, const float *row, float *out, size_t *o)
{
    size_t  t = c->fed++, n = c->width;
    float  *slot = c->ring + (t % c->line.w) * n;

    /* the row leaving the window is the one in the slot the new row takes */
    colbox_add(c->sum, row, t >= c->line.w ? slot : NULL, n);
    memcpy(slot, row, n * sizeof(float));
    if (t + 1 < c->line.h) {
        return 0;
    }
    *o = t + 1 - c->line.h;
    colbox_out(c, *o, out);
    return 1;
}

int
pdq_colbox_drain(pdq_colbox_t *c, float *out, size_t *o)
{
    size_t  t = c->line.n + c->drained, j, n = c->width;
    const float *slot;

    if (c->drained + 1 >= c->line.h) {
        return 0;
    }
    c->drained++;
    slot = c->ring + ((t - c->line.w) % c->line.w) * n;
    for (j = 0; j < n; j++) {
        c->sum[j] -= slot[j];
    }
    *o = t + 1 - c->line.h;
    colbox_out(c, *o, out);
    return 1;
}

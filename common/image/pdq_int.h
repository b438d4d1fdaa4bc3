/*
 * pdq_int.h - the pieces of PDQ shared by pdq.c, pdq_box.c and pdq_dct.c.
 *
 * Every float operation here must happen in the reference's order and
 * precision (single, no fused multiply-add: the Makefile compiles
 * common/image/ with -ffp-contract=off), or a lossless image would no
 * longer hash bit for bit as the reference hashes it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_IMAGE_PDQ_INT_H
#define HG_IMAGE_PDQ_INT_H

#include <stddef.h>

#include "hashgate/pdq.h"

/*
 * The loops over every pixel are also built for AVX2 and picked at load
 * time where the processor has it (about a third faster). The same IEEE
 * operations in the same order: the hash does not depend on the path.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PDQ_WIDE    __attribute__((target_clones("avx2", "default")))
#else
#define PDQ_WIDE
#endif

#define PDQ_SIDE    64      /* the filtered image is sampled to 64 x 64 */
#define PDQ_DCT     16      /* coefficients kept on each axis */
#define PDQ_BATCH   8       /* rows filtered together: independent sums overlap */

/*
 * The reference's box filter over one line of n values, window w, keeping
 * the sum running along the line: output o is the mean of the inputs from
 * o - (w - h) to o + h - 1 that exist, h = (w + 2) / 2. Both window and half
 * come from the line's length in pdq.c.
 */
typedef struct {
    size_t  n;          /* values along the line */
    size_t  w;          /* window */
    size_t  h;          /* (w + 2) / 2 */
} pdq_line_t;

void pdq_line_set(pdq_line_t *l, size_t n, size_t w);

/* Values the mean at output o is taken over. */
size_t pdq_line_count(const pdq_line_t *l, size_t o);

/*
 * Running sums of k rows (k <= PDQ_BATCH) along their length: y[o] gets
 * the sum output o divides. Rows are stride floats apart in x and y.
 */
void pdq_box_sums(const pdq_line_t *l, const float *x, float *y, size_t stride,
                  size_t k);

/* y[o] /= count(o) for every output: the means of pdq_box_sums. */
void pdq_box_divide(const pdq_line_t *l, float *y);

/*
 * The same filter down the columns of a stream of rows, all columns at
 * once. It keeps the last w rows (their values leave the sums later) and
 * one running sum per column.
 */
typedef struct {
    pdq_line_t  line;       /* n is the number of rows */
    size_t      width;      /* columns */
    size_t      fed;        /* rows pushed */
    size_t      drained;    /* outputs after the last row */
    float      *sum;        /* width */
    float      *ring;       /* w rows of width; row t in slot t % w */
} pdq_colbox_t;

/* Allocates for width columns; -1 when out of memory. */
int pdq_colbox_init(pdq_colbox_t *c, size_t rows, size_t width, size_t w);
void pdq_colbox_free(pdq_colbox_t *c);

/*
 * Push the next row. Returns 1 and sets *o when an output row is ready
 * (then out, width floats, holds it if out is not NULL: a caller that will
 * not use that row skips the divisions), 0 when none is yet.
 */
int pdq_colbox_push(pdq_colbox_t *c, const float *row, float *out, size_t *o);

/* After the last row: the remaining outputs, one per call; 0 when done. */
int pdq_colbox_drain(pdq_colbox_t *c, float *out, size_t *o);

/* pdq_dct.c */
int pdq_quality(const float a[PDQ_SIDE][PDQ_SIDE]);
void pdq_dct(const float a[PDQ_SIDE][PDQ_SIDE], float b[PDQ_DCT][PDQ_DCT]);
void pdq_dihedral(const float b[PDQ_DCT][PDQ_DCT], hg_pdq_hash_t out[HG_PDQ_DIHEDRAL_COUNT]);

#endif

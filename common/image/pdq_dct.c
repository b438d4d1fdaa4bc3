/*
 * pdq_dct.c - from PDQ's 64 x 64 image to its bits: quality, DCT, median,
 * the 8 dihedral hashes.
 *
 * The DCT keeps coefficients 1-16 of 64 on each axis (0, the mean, says
 * nothing about the picture), so it is two matrix products with one 16 x 64
 * table D: B = D A D^T. Each product runs with its innermost loop along a
 * row of the result, so the compiler vectorizes it, while every
 * coefficient is still summed over k from 0 up, as the reference sums it.
 *
 * Turning or mirroring the image only changes signs and order of the DCT
 * coefficients: reversing a 64-sample axis multiplies basis function u
 * (u = 1..16, kept at index u - 1) by (-1)^u, so the coefficients with an
 * even index change sign; a quarter turn swaps the axes (a transpose) and
 * reverses one of them. The 8 hashes therefore come from one DCT, each
 * with its own median.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "image/pdq_int.h"

/* D[u][k] = sqrt(2/64) cos(pi/128 (u + 1)(2k + 1)), rounded to float as the reference rounds it */
static float            dct_table[PDQ_DCT][PDQ_SIDE];
static float            dct_table_t[PDQ_SIDE][PDQ_DCT];   /* its transpose */
static pthread_once_t   dct_once = PTHREAD_ONCE_INIT;

static void
dct_table_init(void)
{
    /* the scale is a float, the product with the cosine a double */
    const float scale = (float) sqrt(2.0 / PDQ_SIDE);
    int         u, k;

    for (u = 0; u < PDQ_DCT; u++) {
        for (k = 0; k < PDQ_SIDE; k++) {
            dct_table[u][k] = (float) (scale * cos((M_PI / 2.0 / PDQ_SIDE)
                                                   * (u + 1) * (2 * k + 1)));
            dct_table_t[k][u] = dct_table[u][k];
        }
    }
}

void
pdq_dct(const float a[PDQ_SIDE][PDQ_SIDE], float b[PDQ_DCT][PDQ_DCT])
{
    float   t[PDQ_DCT][PDQ_SIDE];
    int     i, j, k;

    pthread_once(&dct_once, dct_table_init);

    /* T = D A */
    for (i = 0; i < PDQ_DCT; i++) {
        for (j = 0; j < PDQ_SIDE; j++) {
            t[i][j] = 0.0f;
        }
        for (k = 0; k < PDQ_SIDE; k++) {
            float d = dct_table[i][k];

            for (j = 0; j < PDQ_SIDE; j++) {
                t[i][j] += d * a[k][j];
            }
        }
    }
    /* B = T D^T */
    for (i = 0; i < PDQ_DCT; i++) {
        for (j = 0; j < PDQ_DCT; j++) {
            b[i][j] = 0.0f;
        }
        for (k = 0; k < PDQ_SIDE; k++) {
            float v = t[i][k];

            for (j = 0; j < PDQ_DCT; j++) {
                b[i][j] += v * dct_table_t[k][j];
            }
        }
    }
}

/*
 * The reference's heuristic: the absolute differences between neighbours,
 * each scaled to 0-100 and cut to an integer (small gradients count for
 * nothing), summed over the image and divided by 90.
 */
int
pdq_quality(const float a[PDQ_SIDE][PDQ_SIDE])
{
    int     sum = 0, i, j, d, q;

    for (i = 0; i + 1 < PDQ_SIDE; i++) {
        for (j = 0; j < PDQ_SIDE; j++) {
            d = (int) (((a[i][j] - a[i + 1][j]) * 100.0f) / 255.0f);
            sum += d < 0 ? -d : d;
        }
    }
    for (i = 0; i < PDQ_SIDE; i++) {
        for (j = 0; j + 1 < PDQ_SIDE; j++) {
            d = (int) (((a[i][j] - a[i][j + 1]) * 100.0f) / 255.0f);
            sum += d < 0 ? -d : d;
        }
    }
    q = sum / 90;
    return q > 100 ? 100 : q;
}

/* The k-th smallest of v[0..n-1] (k from 0); v is reordered. */
static float
select_kth(float *v, int n, int k)
{
    int     lo = 0, hi = n - 1, i, j;
    float   pivot, tmp;

    while (lo < hi) {
        pivot = v[lo + (hi - lo) / 2];
        i = lo;
        j = hi;
        while (i <= j) {
            while (v[i] < pivot) {
                i++;
            }
            while (v[j] > pivot) {
                j--;
            }
            if (i <= j) {
                tmp = v[i];
                v[i] = v[j];
                v[j] = tmp;
                i++;
                j--;
            }
        }
        if (k <= j) {
            hi = j;
        } else if (k >= i) {
            lo = i;
        } else {
            break;
        }
    }
    return v[k];
}

/*
 * Bit (i, j) set where b[i][j] is above the median. The reference's median
 * of 256 is the 128th smallest value (Torben's method returns that one).
 * Bit i * 16 + j lies in word i, bit j; word 15 is printed first.
 */
static void
dct_bits(const float b[PDQ_DCT][PDQ_DCT], hg_pdq_hash_t *h)
{
    float   v[PDQ_DCT * PDQ_DCT], median;
    int     i, j;

    memcpy(v, b, sizeof(v));
    median = select_kth(v, PDQ_DCT * PDQ_DCT, (PDQ_DCT * PDQ_DCT + 1) / 2 - 1);
    memset(h, 0, sizeof(*h));
    for (i = 0; i < PDQ_DCT; i++) {
        for (j = 0; j < PDQ_DCT; j++) {
            if (b[i][j] > median) {
                h->b[(15 - i) * 2 + (j < 8)] |= (unsigned char) (1u << (j & 7));
            }
        }
    }
}

/*
 * Sign of coefficient (i, j) under each transform, as a mask: bit 0 set
 * means negate when the row index i is even (the vertical axis reversed),
 * bit 1 when the column index j is even (the horizontal axis reversed);
 * and whether the axes are swapped. Which axis a quarter turn reverses
 * decides its direction.
 */
static const struct {
    unsigned char   flip_rows;      /* i even: negate */
    unsigned char   flip_cols;      /* j even: negate */
    unsigned char   transpose;
} dihedral[HG_PDQ_DIHEDRAL_COUNT] = {
    [HG_PDQ_ORIGINAL]    = { 0, 0, 0 },
    [HG_PDQ_ROTATE_90]   = { 0, 1, 1 },
    [HG_PDQ_ROTATE_180]  = { 1, 1, 0 },
    [HG_PDQ_ROTATE_270]  = { 1, 0, 1 },
    [HG_PDQ_FLIP_X]      = { 1, 0, 0 },
    [HG_PDQ_FLIP_Y]      = { 0, 1, 0 },
    [HG_PDQ_FLIP_PLUS1]  = { 0, 0, 1 },
    [HG_PDQ_FLIP_MINUS1] = { 1, 1, 1 },
};

void
pdq_dihedral(const float b[PDQ_DCT][PDQ_DCT],
             hg_pdq_hash_t out[HG_PDQ_DIHEDRAL_COUNT])
{
    float   x[PDQ_DCT][PDQ_DCT], v;
    int     d, i, j, neg;

    for (d = 0; d < HG_PDQ_DIHEDRAL_COUNT; d++) {
        for (i = 0; i < PDQ_DCT; i++) {
            for (j = 0; j < PDQ_DCT; j++) {
                neg = (dihedral[d].flip_rows && !(i & 1))
                      ^ (dihedral[d].flip_cols && !(j & 1));
                v = neg ? -b[i][j] : b[i][j];
                if (dihedral[d].transpose) {
                    x[j][i] = v;
                } else {
                    x[i][j] = v;
                }
            }
        }
        dct_bits((const float (*)[PDQ_DCT]) x, &out[d]);
    }
}

/*
 * pdq.h - PDQ, the perceptual image hash published by Meta (ThreatExchange),
 * written here from the algorithm's description.
 *
 * An exact digest misses an image once it has been resized or re-encoded;
 * PDQ gives such copies hashes a few bits apart. The steps: luma
 * Y = 0.299 R + 0.587 G + 0.114 B as floats; a Jarosz filter (two passes of
 * box filters along rows then columns, each window about 1/128 of the side)
 * sampled down to 64 x 64; the 2-D DCT of that, keeping coefficients 1-16 on
 * each axis; one bit per coefficient, set where it is above the median
 * (the 128th smallest of the 256). A quality 0-100 comes from the 64 x 64
 * image's gradients: below 50 a hash says little.
 *
 * The image is fed a row at a time (init/update/final, like hash.h), and
 * nothing holds the whole image: the filter keeps about 1/128 of the rows,
 * so a 64-megapixel image costs a few MiB here, not 256. The arithmetic is
 * the reference's, operation for operation in single precision, so a
 * lossless image hashes bit for bit as the reference hashes it
 * (tests/unit/test_pdq.c runs the conformance vectors).
 *
 * The 8 dihedral hashes (the image turned by 90, 180, 270 degrees, flipped,
 * transposed) come from the same DCT by sign changes and a transpose: an
 * image that was turned or mirrored matches through them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_PDQ_H
#define HASHGATE_PDQ_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/status.h"

#define HG_PDQ_BYTES        32      /* 256 bits */
#define HG_PDQ_HEX_LEN      64      /* hex digits, without the NUL */
#define HG_PDQ_MIN_SIDE     5       /* smaller images: all zeros, quality 0 */
#define HG_PDQ_MAX_SIDE     (1u << 20)  /* pixels on a side; a bound for sizes, not a policy */

/*
 * The hash, in the byte order of its hex form: b[0] is the first two hex
 * digits. That form is the reference's: sixteen 16-bit words, the last
 * first, word w holding the bits of DCT row w (bit j for column j).
 */
typedef struct {
    unsigned char   b[HG_PDQ_BYTES];
} hg_pdq_hash_t;

/* The 8 dihedral transforms, named by what was done to the image. */
typedef enum {
    HG_PDQ_ORIGINAL = 0,
    HG_PDQ_ROTATE_90,       /* turned a quarter, counter-clockwise */
    HG_PDQ_ROTATE_180,
    HG_PDQ_ROTATE_270,
    HG_PDQ_FLIP_X,          /* upside down: rows reversed */
    HG_PDQ_FLIP_Y,          /* mirrored: columns reversed */
    HG_PDQ_FLIP_PLUS1,      /* transposed about the main diagonal */
    HG_PDQ_FLIP_MINUS1,     /* transposed about the other diagonal */
    HG_PDQ_DIHEDRAL_COUNT
} hg_pdq_dihedral_t;

typedef struct {
    int             quality;                    /* 0-100 */
    hg_pdq_hash_t   hash;                       /* the image's PDQ hash */
    hg_pdq_hash_t   dihedral[HG_PDQ_DIHEDRAL_COUNT]; /* [HG_PDQ_ORIGINAL] == hash */
} hg_pdq_result_t;

typedef struct hg_pdq_s hg_pdq_t;

/* A hashing context; NULL when out of memory. Reusable with hg_pdq_init. */
hg_pdq_t *hg_pdq_new(void);

/* Frees the context; accepts NULL. */
void hg_pdq_free(hg_pdq_t *p);

/*
 * Start an image of rows x cols pixels. Allocates its working rows, about
 * (rows / 128 + 33) * cols floats (the batches are kept for the next image
 * of the same width or less). HG_EINVAL for a side of 0 or past HG_PDQ_MAX_SIDE,
 * HG_ENOMEM when the rows cannot be had; the context is then unusable
 * until the next successful init.
 */
hg_status_t hg_pdq_init(hg_pdq_t *p, size_t rows, size_t cols);

/*
 * Add the next row, top to bottom: cols luma values (floats, 0-255), or
 * cols pixels of 8-bit R, G, B. HG_EINVAL past the last row.
 */
hg_status_t hg_pdq_update_luma(hg_pdq_t *p, const float *row);
hg_status_t hg_pdq_update_rgb(hg_pdq_t *p, const unsigned char *rgb);

/*
 * Finish: the hash, its 8 dihedral variants and the quality. HG_EINVAL if
 * rows are missing. The context can then be inited again.
 */
hg_status_t hg_pdq_final(hg_pdq_t *p, hg_pdq_result_t *out);

/* One call for a whole image in memory (row-major; stride in bytes for RGB). */
hg_status_t hg_pdq_luma(const float *luma, size_t rows, size_t cols,
                        hg_pdq_result_t *out);
hg_status_t hg_pdq_rgb(const unsigned char *rgb, size_t rows, size_t cols,
                       size_t stride, hg_pdq_result_t *out);

/* Bits that differ, 0-256. */
int hg_pdq_distance(const hg_pdq_hash_t *a, const hg_pdq_hash_t *b);

/*
 * The least distance from a to any of the 8 dihedral hashes in r, and
 * which one gave it (which may be NULL).
 */
int hg_pdq_distance_dihedral(const hg_pdq_hash_t *a, const hg_pdq_result_t *r,
                             hg_pdq_dihedral_t *which);

/* 64 lowercase hex digits and a NUL into out (HG_PDQ_HEX_LEN + 1 bytes). */
void hg_pdq_to_hex(const hg_pdq_hash_t *h, char *out);

/* Exactly 64 hex digits (any case). Returns 0, or -1 when it is not that. */
int hg_pdq_from_hex(const char *hex, size_t len, hg_pdq_hash_t *out);

/* "original", "rotate90", ... "flipminus1". */
const char *hg_pdq_dihedral_name(hg_pdq_dihedral_t d);

#endif

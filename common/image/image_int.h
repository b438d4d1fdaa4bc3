/*
 * image_int.h - what image.c gives each format's decoder (image_*.c).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_IMAGE_INT_H
#define HG_IMAGE_INT_H

#include <stdint.h>

#include "hashgate/image.h"

typedef struct {
    const unsigned char     *buf;
    size_t                   len;
    const hg_image_limits_t *lim;
    hg_image_info_t         *info;
    hg_err_t                *err;
    hg_pdq_t                *pdq;
    uint64_t                 deadline_ns;   /* 0: none */
    uint32_t                 rows_fed;
} img_t;

/*
 * The declared size: checked against the pixel limit before anything is
 * decoded. Sets info->width/height.
 */
hg_status_t img_declared(img_t *im, uint64_t width, uint64_t height);

/* Start hashing rows x cols pixels (after any scaling). */
hg_status_t img_begin(img_t *im, uint32_t cols, uint32_t rows);

/* The next row, cols RGB pixels; checks the time limit now and then. */
hg_status_t img_row(img_t *im, const unsigned char *rgb);

/* HG_ELIMIT once the deadline has passed. */
hg_status_t img_time(img_t *im);

hg_status_t img_jpeg(img_t *im);
hg_status_t img_png(img_t *im);
hg_status_t img_gif(img_t *im);
hg_status_t img_webp(img_t *im);

#endif

/*
 * image.h - decode an image (JPEG, PNG, GIF, WebP) from memory and hash it
 * with PDQ (pdq.h), within limits.
 *
 * Image decoders have a long history of memory-safety bugs, so this runs
 * only in the sandboxed inspection helper (and in the fuzz target): never
 * in the milter or an nginx worker. It reads the bytes it is given and
 * opens nothing; decoded rows go straight into PDQ, so the only image-sized
 * buffers are those a format forces (an interlaced PNG or GIF, a WebP).
 *
 * Limits, each reached with HG_ELIMIT and a reason naming it: pixels
 * (width x height as the header declares it, before anything is decoded),
 * bytes of the encoded image, time (wall clock, checked between rows and
 * JPEG scans), JPEG scans (a progressive file of thousands of scans costs
 * time for nothing). A file that is not what its signature says, or that
 * a library refuses, is HG_EFORMAT with the library's reason; no decoder
 * error ever ends the process (libjpeg's and libpng's jump out, giflib and
 * libwebp return codes).
 *
 * Large JPEGs are decoded at a reduced DCT scale (1/2, 1/4, 1/8: libjpeg
 * skips most of the inverse DCT) as long as both sides stay at or above
 * jpeg_min_side. PDQ samples 64 x 64 after a blur over 1/64 of each side,
 * but a DCT-domain downscale aliases fine detail unlike that blur: on
 * 4000-8000 pixel pictures with 9-pixel stripes, 1/2 moved the hash 0-10
 * bits from full scale, 1/4 up to 18 and 1/8 up to 24. 1024 keeps 12-24 MP
 * photos at 1/2 (tests/unit/test_image.c: the vectors, and such a picture,
 * within the lossy tolerance of 10 bits).
 *
 * How a format becomes RGB, as the PDQ reference was fed: palette
 * expanded, alpha dropped (not composited), 16-bit samples cut to 8, grey
 * copied to R, G and B; the first frame of a GIF on its logical screen
 * (background index where the frame does not cover it), the first frame
 * of an animated WebP as it is stored.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_IMAGE_H
#define HASHGATE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/pdq.h"
#include "hashgate/status.h"

/* Defaults */
#define HG_IMAGE_MAX_PIXELS     (64ull * 1000 * 1000)   /* 64 MP: past any camera's */
#define HG_IMAGE_MAX_BYTES      (100ull << 20)          /* as one inner file of an archive */
#define HG_IMAGE_TIMEOUT_MS     30000                   /* as one container part */
#define HG_IMAGE_JPEG_MIN_SIDE  1024                    /* see above */
#define HG_IMAGE_JPEG_MAX_SCANS 1000                    /* progressive JPEGs use about 10 */

typedef enum {
    HG_IMAGE_NONE = 0,
    HG_IMAGE_JPEG,
    HG_IMAGE_PNG,
    HG_IMAGE_GIF,
    HG_IMAGE_WEBP
} hg_image_format_t;

typedef struct {
    uint64_t        max_pixels;
    uint64_t        max_bytes;
    unsigned        timeout_ms;         /* 0: none */
    unsigned        jpeg_min_side;      /* 0: JPEGs always at full scale */
} hg_image_limits_t;

typedef struct {
    hg_image_format_t format;
    uint32_t        width, height;      /* as the file declares */
    uint32_t        cols, rows;         /* as decoded and hashed */
    unsigned        scale;              /* JPEG: decoded at 1/scale; 1 otherwise */
    hg_pdq_result_t pdq;
} hg_image_info_t;

void hg_image_limits_default(hg_image_limits_t *l);

/* The format whose signature starts buf, HG_IMAGE_NONE for none. */
hg_image_format_t hg_image_sniff(const unsigned char *buf, size_t len);

/* "jpeg", "png", "gif", "webp", "none". */
const char *hg_image_format_name(hg_image_format_t f);

/*
 * Decode the image in buf and hash it. lim NULL: the defaults. On HG_OK
 * out holds the format, sizes and PDQ result. Otherwise HG_ELIMIT (a
 * limit, named in err), HG_EFORMAT (not an image we decode, or damaged:
 * the reason in err), HG_ENOMEM. out->format is set whenever the
 * signature was recognised.
 */
hg_status_t hg_image_pdq(const unsigned char *buf, size_t len,
                         const hg_image_limits_t *lim, hg_image_info_t *out,
                         hg_err_t *err);

#endif

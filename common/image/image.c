/*
 * image.c - decode an image from memory and hash it with PDQ (image.h):
 * the signature, the limits, and rows from each format's decoder into PDQ.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>
#include <time.h>

#include "image/image_int.h"

/* How often (rows) the clock is read: a row costs microseconds. */
#define IMG_TIME_EVERY  64

static uint64_t
img_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

hg_status_t
img_declared(img_t *im, uint64_t width, uint64_t height)
{
    im->info->width = (uint32_t) width;
    im->info->height = (uint32_t) height;
    if (width == 0 || height == 0) {
        return hg_err_set(im->err, HG_EFORMAT, "%s: no pixels (%llu x %llu)",
                          hg_image_format_name(im->info->format),
                          (unsigned long long) width, (unsigned long long) height);
    }
    /* both sides are under 2^32: the product cannot wrap */
    if (width > UINT32_MAX || height > UINT32_MAX
        || width * height > im->lim->max_pixels) {
        return hg_err_set(im->err, HG_ELIMIT,
                          "%s: %llu x %llu pixels, past the limit of %llu",
                          hg_image_format_name(im->info->format),
                          (unsigned long long) width, (unsigned long long) height,
                          (unsigned long long) im->lim->max_pixels);
    }
    return HG_OK;
}

hg_status_t
img_begin(img_t *im, uint32_t cols, uint32_t rows)
{
    hg_status_t st;

    im->info->cols = cols;
    im->info->rows = rows;
    st = hg_pdq_init(im->pdq, rows, cols);
    if (st == HG_EINVAL) {
        return hg_err_set(im->err, HG_EFORMAT, "%s: %u x %u pixels cannot be hashed",
                          hg_image_format_name(im->info->format), cols, rows);
    }
    if (st != HG_OK) {
        return hg_err_set(im->err, st, "pdq: out of memory for %u columns", cols);
    }
    return HG_OK;
}

hg_status_t
img_time(img_t *im)
{
    if (im->deadline_ns != 0 && img_now_ns() > im->deadline_ns) {
        return hg_err_set(im->err, HG_ELIMIT, "%s: time limit of %u ms",
                          hg_image_format_name(im->info->format),
                          im->lim->timeout_ms);
    }
    return HG_OK;
}

hg_status_t
img_row(img_t *im, const unsigned char *rgb)
{
    if (hg_pdq_update_rgb(im->pdq, rgb) != HG_OK) {
        return hg_err_set(im->err, HG_EFORMAT, "%s: more rows than declared",
                          hg_image_format_name(im->info->format));
    }
    if (++im->rows_fed % IMG_TIME_EVERY == 0) {
        return img_time(im);
    }
    return HG_OK;
}

hg_status_t
hg_image_pdq(const unsigned char *buf, size_t len, const hg_image_limits_t *lim,
             hg_image_info_t *out, hg_err_t *err)
{
    hg_image_limits_t   def;
    img_t               im;
    hg_status_t         st;

    memset(out, 0, sizeof(*out));
    out->scale = 1;
    if (lim == NULL) {
        hg_image_limits_default(&def);
        lim = &def;
    }
    out->format = hg_image_sniff(buf, len);
    if (out->format == HG_IMAGE_NONE) {
        return hg_err_set(err, HG_EFORMAT, "not a JPEG, PNG, GIF or WebP image");
    }
    if (len > lim->max_bytes) {
        return hg_err_set(err, HG_ELIMIT, "%s: %zu bytes, past the limit of %llu",
                          hg_image_format_name(out->format), len,
                          (unsigned long long) lim->max_bytes);
    }
    memset(&im, 0, sizeof(im));
    im.buf = buf;
    im.len = len;
    im.lim = lim;
    im.info = out;
    im.err = err;
    if (lim->timeout_ms > 0) {
        im.deadline_ns = img_now_ns() + (uint64_t) lim->timeout_ms * 1000000u;
    }
    im.pdq = hg_pdq_new();
    if (im.pdq == NULL) {
        return hg_err_set(err, HG_ENOMEM, "pdq: out of memory");
    }
    switch (out->format) {
    case HG_IMAGE_JPEG: st = img_jpeg(&im); break;
    case HG_IMAGE_PNG:  st = img_png(&im); break;
    case HG_IMAGE_GIF:  st = img_gif(&im); break;
    default:            st = img_webp(&im); break;
    }
    if (st == HG_OK && hg_pdq_final(im.pdq, &out->pdq) != HG_OK) {
        st = hg_err_set(err, HG_EFORMAT, "%s: fewer rows than declared",
                        hg_image_format_name(out->format));
    }
    hg_pdq_free(im.pdq);
    return st;
}

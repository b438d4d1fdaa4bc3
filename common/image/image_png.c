/*
 * image_png.c - PNG through libpng, from memory, for PDQ.
 *
 * libpng reports a fatal error through our error function, which keeps
 * the message and jumps back (libpng's own would print it first). A
 * non-interlaced image is read a row at a time into one row; an
 * interlaced one (Adam7) needs every row before any is complete, so it is
 * read whole, within the pixel limit. Ancillary chunks are skipped unread
 * (below); libpng's limit of a million pixels a side stays.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image/image_int.h"

/*
 * The chunks libpng knows beside IHDR, PLTE, IDAT, IEND. None changes the
 * RGB hashed here: gamma and colour profiles are applied only when asked
 * (we never ask), tRNS and bKGD only touch the alpha we drop. libpng reads
 * a text or profile chunk whole before anything else, up to its declared
 * length (2 GiB: a 100-byte file made it allocate 1.8 GB, found by
 * fuzz_image), so they are skipped as they are read, never held.
 */
static const png_byte png_ancillary[] =
    "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0"
    "sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0tRNS\0zTXt";

/* What one chunk may make libpng allocate otherwise (libpng's default). */
#define PNG_CHUNK_MAX   (8u << 20)

typedef struct {
    img_t      *im;
    size_t      off;
    char        msg[256];
} pngctx_t;

static void
png_err(png_structp png, png_const_charp msg)
{
    pngctx_t   *c = png_get_error_ptr(png);
    size_t      n = strlen(msg);

    if (n >= sizeof(c->msg)) {
        n = sizeof(c->msg) - 1;
    }
    memcpy(c->msg, msg, n);
    c->msg[n] = '\0';
    png_longjmp(png, 1);
}

static void
png_warn(png_structp png, png_const_charp msg)
{
    (void) png;
    (void) msg;
}

static void
png_read_mem(png_structp png, png_bytep out, size_t n)
{
    pngctx_t   *c = png_get_io_ptr(png);

    if (n > c->im->len - c->off) {
        png_error(png, "truncated");
    }
    memcpy(out, c->im->buf + c->off, n);
    c->off += n;
}

hg_status_t
img_png(img_t *im)
{
    pngctx_t                c;
    png_structp             png;
    png_infop               info = NULL;
    unsigned char *volatile px = NULL;      /* freed after a jump too */
    png_bytep *volatile     rows = NULL;
    hg_status_t             st = HG_OK;
    png_uint_32             w, h, i;
    int                     passes;
    size_t                  stride;

    memset(&c, 0, sizeof(c));
    c.im = im;
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_err, png_warn);
    if (png == NULL) {
        return hg_err_set(im->err, HG_ENOMEM, "png: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        free(px);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return hg_err_set(im->err, HG_EFORMAT, "png: %s", c.msg);
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_error(png, "out of memory");
    }
    png_set_read_fn(png, &c, png_read_mem);
    /* no ancillary chunk changes the RGB we hash: skip them all unread */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, png_ancillary,
                                (int) (sizeof(png_ancillary) / 5));
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
    png_read_info(png, info);
    w = png_get_image_width(png, info);
    h = png_get_image_height(png, info);
    st = img_declared(im, w, h);
    if (st != HG_OK) {
        goto done;
    }
    png_set_expand(png);            /* palette, grey under 8 bits, tRNS -> RGB(A) */
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    stride = png_get_rowbytes(png, info);
    if (stride != (size_t) w * 3) {
        png_error(png, "unexpected row size after conversion");
    }
    st = img_begin(im, w, h);
    if (st != HG_OK) {
        goto done;
    }
    if (passes == 1) {
        px = malloc(stride);
        if (px == NULL) {
            png_error(png, "out of memory");
        }
        for (i = 0; i < h && st == HG_OK; i++) {
            png_read_row(png, px, NULL);
            st = img_row(im, px);
        }
    } else {
        px = malloc(stride * h);
        rows = malloc(sizeof(*rows) * h);
        if (px == NULL || rows == NULL) {
            png_error(png, "out of memory");
        }
        for (i = 0; i < h; i++) {
            rows[i] = px + stride * i;
        }
        png_read_image(png, rows);
        for (i = 0; i < h && st == HG_OK; i++) {
            st = img_row(im, rows[i]);
        }
    }
    /* the rest of the file (text chunks, the end) says nothing of the picture */
done:
    free(px);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return st;
}

/*
 * image_gif.c - the first frame of a GIF through giflib, from memory, for
 * PDQ.
 *
 * Only records up to the first image are read: an animation's later
 * frames are never decoded (DGifSlurp would decode them all). The frame
 * is placed on the logical screen, whose uncovered pixels take the
 * background colour; an interlaced frame's rows arrive out of order, so
 * the frame's palette indexes are kept whole (one byte a pixel) and then
 * turned into RGB rows.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#include "image/image_int.h"

typedef struct {
    img_t      *im;
    size_t      off;
} gifctx_t;

static int
gif_read_mem(GifFileType *g, GifByteType *out, int n)
{
    gifctx_t   *c = g->UserData;
    size_t      k = (size_t) n;

    if (n < 0) {
        return 0;
    }
    if (k > c->im->len - c->off) {
        k = c->im->len - c->off;
    }
    memcpy(out, c->im->buf + c->off, k);
    c->off += k;
    return (int) k;
}

static hg_status_t
gif_fail(img_t *im, GifFileType *g, int code)
{
    const char *s = GifErrorString(code ? code : g ? g->Error : 0);

    return hg_err_set(im->err, HG_EFORMAT, "gif: %s", s ? s : "damaged");
}

/* The first image's indexes, placed on the screen (idx, sw x sh). */
static hg_status_t
gif_frame(img_t *im, GifFileType *g, unsigned char *idx, size_t sw, size_t sh)
{
    static const int    start[] = { 0, 4, 2, 1 }, step[] = { 8, 8, 4, 2 };
    const GifImageDesc *d = &g->Image;
    size_t              fw, fh, x0, y0, y, p, cw;
    GifPixelType       *line;
    hg_status_t         st = HG_OK;

    fw = (size_t) d->Width;
    fh = (size_t) d->Height;
    x0 = (size_t) d->Left;
    y0 = (size_t) d->Top;
    if (d->Width <= 0 || d->Height <= 0 || d->Left < 0 || d->Top < 0) {
        return hg_err_set(im->err, HG_EFORMAT, "gif: a frame of no pixels");
    }
    st = img_declared(im, fw, fh);      /* the frame too is within the limit */
    if (st != HG_OK) {
        return st;
    }
    im->info->width = (uint32_t) sw;
    im->info->height = (uint32_t) sh;
    line = malloc(fw);
    if (line == NULL) {
        return hg_err_set(im->err, HG_ENOMEM, "gif: out of memory");
    }
    /* what lies off the screen is read and dropped */
    cw = x0 < sw ? (fw < sw - x0 ? fw : sw - x0) : 0;
    for (p = 0; p < (d->Interlace ? 4u : 1u) && st == HG_OK; p++) {
        size_t  first = d->Interlace ? (size_t) start[p] : 0;
        size_t  inc = d->Interlace ? (size_t) step[p] : 1;

        for (y = first; y < fh; y += inc) {
            if (DGifGetLine(g, line, (int) fw) != GIF_OK) {
                st = gif_fail(im, g, 0);
                break;
            }
            if (y0 + y < sh && cw > 0) {
                memcpy(idx + (y0 + y) * sw + x0, line, cw);
            }
            if ((y & 63) == 0 && (st = img_time(im)) != HG_OK) {
                break;
            }
        }
    }
    free(line);
    return st;
}

hg_status_t
img_gif(img_t *im)
{
    gifctx_t                c = { im, 0 };
    GifFileType            *g;
    GifRecordType           rt;
    GifByteType            *ext;
    const ColorMapObject   *cm;
    unsigned char          *idx = NULL, *rgb = NULL;
    size_t                  sw, sh, x, y;
    int                     code = 0, extcode;
    hg_status_t             st;

    g = DGifOpen(&c, gif_read_mem, &code);
    if (g == NULL) {
        return gif_fail(im, NULL, code);
    }
    sw = (size_t) g->SWidth;
    sh = (size_t) g->SHeight;
    st = img_declared(im, sw, sh);
    while (st == HG_OK) {
        if (DGifGetRecordType(g, &rt) != GIF_OK) {
            st = gif_fail(im, g, 0);
            break;
        }
        if (rt == TERMINATE_RECORD_TYPE) {
            st = hg_err_set(im->err, HG_EFORMAT, "gif: no image in it");
            break;
        }
        if (rt == EXTENSION_RECORD_TYPE) {
            if (DGifGetExtension(g, &extcode, &ext) != GIF_OK) {
                st = gif_fail(im, g, 0);
                break;
            }
            while (ext != NULL) {
                if (DGifGetExtensionNext(g, &ext) != GIF_OK) {
                    st = gif_fail(im, g, 0);
                    break;
                }
            }
            continue;
        }
        if (rt != IMAGE_DESC_RECORD_TYPE) {
            continue;
        }
        if (DGifGetImageDesc(g) != GIF_OK) {
            st = gif_fail(im, g, 0);
            break;
        }
        cm = g->Image.ColorMap ? g->Image.ColorMap : g->SColorMap;
        if (cm == NULL || cm->ColorCount <= 0) {
            st = hg_err_set(im->err, HG_EFORMAT, "gif: no palette");
            break;
        }
        idx = malloc(sw * sh);
        rgb = malloc(sw * 3);
        if (idx == NULL || rgb == NULL) {
            st = hg_err_set(im->err, HG_ENOMEM, "gif: out of memory");
            break;
        }
        memset(idx, g->SBackGroundColor, sw * sh);
        st = gif_frame(im, g, idx, sw, sh);
        if (st == HG_OK) {
            st = img_begin(im, (uint32_t) sw, (uint32_t) sh);
        }
        for (y = 0; y < sh && st == HG_OK; y++) {
            for (x = 0; x < sw; x++) {
                int                 k = idx[y * sw + x];
                static const GifColorType black = { 0, 0, 0 };
                const GifColorType *col = k < cm->ColorCount ? &cm->Colors[k] : &black;

                rgb[3 * x] = col->Red;
                rgb[3 * x + 1] = col->Green;
                rgb[3 * x + 2] = col->Blue;
            }
            st = img_row(im, rgb);
        }
        break;
    }
    free(idx);
    free(rgb);
    DGifCloseFile(g, &code);
    return st;
}

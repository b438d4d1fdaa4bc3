/*
 * mkimage.c - write a synthetic image for the image tests: a seeded field
 * of soft blobs and bands (never a photograph), rendered at any size from
 * the same continuous picture, so the picture at W/2 x H/2 is that image
 * resized to half, as PDQ must still match.
 *
 * Usage: mkimage FORMAT W H SEED OUT [QUALITY]
 *   FORMAT  jpeg, png, gif or webp; QUALITY for jpeg and lossy webp
 *           (default 90; webp 0 means lossless)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#define BLOBS 12

static struct {
    double  x, y, r, c[3];
} blob[BLOBS];
static double   band_f, band_a;

static unsigned long
rnd(unsigned long *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned long) (*s >> 33);
}

static void
seed_picture(unsigned long seed)
{
    unsigned long  s = seed * 2654435761u + 1;
    int            i, k;

    for (i = 0; i < BLOBS; i++) {
        blob[i].x = (double) (rnd(&s) % 1000) / 1000.0;
        blob[i].y = (double) (rnd(&s) % 1000) / 1000.0;
        blob[i].r = 0.05 + (double) (rnd(&s) % 1000) / 4000.0;
        for (k = 0; k < 3; k++) {
            blob[i].c[k] = (double) (rnd(&s) % 256) - 128.0;
        }
    }
    band_f = 2.0 + (double) (rnd(&s) % 6);
    band_a = 20.0 + (double) (rnd(&s) % 40);
}

/* The picture at (u, v) in [0, 1)^2: RGB. */
static void
pixel(double u, double v, unsigned char *out)
{
    double  c[3] = { 128.0, 128.0, 128.0 }, d, w;
    int     i, k;

    for (i = 0; i < BLOBS; i++) {
        d = ((u - blob[i].x) * (u - blob[i].x)
             + (v - blob[i].y) * (v - blob[i].y)) / (blob[i].r * blob[i].r);
        w = exp(-d);
        for (k = 0; k < 3; k++) {
            c[k] += blob[i].c[k] * w;
        }
    }
    w = band_a * sin(band_f * 6.2831853 * (u + 0.5 * v));
    for (k = 0; k < 3; k++) {
        c[k] += w;
        out[k] = (unsigned char) (c[k] < 0 ? 0 : c[k] > 255 ? 255 : c[k]);
    }
}

static unsigned char *
render(int w, int h)
{
    unsigned char  *px = malloc((size_t) w * (size_t) h * 3);
    int             x, y;

    if (px == NULL) {
        exit(1);
    }
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            pixel((x + 0.5) / w, (y + 0.5) / h, px + ((size_t) y * w + x) * 3);
        }
    }
    return px;
}

static void
write_jpeg(FILE *f, const unsigned char *px, int w, int h, int q)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr       e;
    JSAMPROW                    rp;
    int                         y;

    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION) w;
    c.image_height = (JDIMENSION) h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, q, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (y = 0; y < h; y++) {
        rp = (JSAMPROW) (px + (size_t) y * w * 3);
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
}

static void
write_png(FILE *f, const unsigned char *px, int w, int h)
{
    png_structp  png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                               NULL, NULL);
    png_infop    info = png_create_info_struct(png);
    int          y;

    if (png == NULL || info == NULL || setjmp(png_jmpbuf(png))) {
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32) w, (png_uint_32) h, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (y = 0; y < h; y++) {
        png_write_row(png, px + (size_t) y * w * 3);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
}

static void
write_gif(const char *path, const unsigned char *px, int w, int h)
{
    GifColorType    cols[256];
    ColorMapObject *cm;
    GifFileType    *g;
    GifPixelType   *line;
    int             err, i, x, y;

    /* 6 x 6 x 6 colour cube */
    for (i = 0; i < 216; i++) {
        cols[i].Red = (GifByteType) (i / 36 * 51);
        cols[i].Green = (GifByteType) (i / 6 % 6 * 51);
        cols[i].Blue = (GifByteType) (i % 6 * 51);
    }
    for (; i < 256; i++) {
        cols[i].Red = cols[i].Green = cols[i].Blue = 0;
    }
    cm = GifMakeMapObject(256, cols);
    g = EGifOpenFileName(path, 0, &err);
    line = malloc((size_t) w);
    if (g == NULL || cm == NULL || line == NULL) {
        exit(1);
    }
    EGifSetGifVersion(g, true);
    EGifPutScreenDesc(g, w, h, 8, 0, cm);
    EGifPutImageDesc(g, 0, 0, w, h, false, NULL);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            const unsigned char *p = px + ((size_t) y * w + x) * 3;

            line[x] = (GifPixelType) ((p[0] + 25) / 51 * 36
                                      + (p[1] + 25) / 51 * 6
                                      + (p[2] + 25) / 51);
        }
        EGifPutLine(g, line, w);
    }
    EGifCloseFile(g, &err);
    GifFreeMapObject(cm);
    free(line);
}

static void
write_webp(FILE *f, const unsigned char *px, int w, int h, int q)
{
    uint8_t  *o = NULL;
    size_t    n;

    n = q == 0 ? WebPEncodeLosslessRGB(px, w, h, w * 3, &o)
               : WebPEncodeRGB(px, w, h, w * 3, (float) q, &o);
    if (n == 0 || fwrite(o, 1, n, f) != n) {
        exit(1);
    }
    WebPFree(o);
}

int
main(int argc, char **argv)
{
    unsigned char  *px;
    FILE           *f;
    int             w, h, q;

    if (argc < 6) {
        fprintf(stderr, "usage: mkimage jpeg|png|gif|webp W H SEED OUT "
                "[QUALITY]\n");
        return 2;
    }
    w = atoi(argv[2]);
    h = atoi(argv[3]);
    q = argc > 6 ? atoi(argv[6]) : 90;
    if (w < 1 || h < 1 || w > 20000 || h > 20000) {
        fprintf(stderr, "mkimage: bad size\n");
        return 2;
    }
    seed_picture(strtoul(argv[4], NULL, 10));
    px = render(w, h);
    if (strcmp(argv[1], "gif") == 0) {
        write_gif(argv[5], px, w, h);
        free(px);
        return 0;
    }
    f = fopen(argv[5], "wb");
    if (f == NULL) {
        perror(argv[5]);
        return 1;
    }
    if (strcmp(argv[1], "jpeg") == 0) {
        write_jpeg(f, px, w, h, q);
    } else if (strcmp(argv[1], "png") == 0) {
        write_png(f, px, w, h);
    } else if (strcmp(argv[1], "webp") == 0) {
        write_webp(f, px, w, h, q);
    } else {
        fprintf(stderr, "mkimage: unknown format %s\n", argv[1]);
        return 2;
    }
    free(px);
    return fclose(f) == 0 ? 0 : 1;
}

/*
 * seed_image.c - write the seeds of fuzz_image: small synthetic images
 * (seeded colour fields and stripes, never photographs) in every format
 * and variant the decoders take: PNG RGB, palette with transparency,
 * 16-bit grey with alpha, interlaced; JPEG baseline, progressive, grey,
 * 4:2:0; GIF plain, interlaced, a frame off the screen's corner, two
 * frames; WebP lossy, lossless, with alpha.
 *
 * Usage: seed_image DIR
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#define W 48
#define H 40

static unsigned char    rgb[H][W][4];       /* RGBA */
static const char      *dir;

static void
fill(unsigned seed)
{
    int     y, x;

    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            rgb[y][x][0] = (unsigned char) (x * 5 + seed * 13);
            rgb[y][x][1] = (unsigned char) (y * 6 + ((x / 8 + y / 8) & 1) * 90);
            rgb[y][x][2] = (unsigned char) ((x ^ y) * 3 + seed);
            rgb[y][x][3] = (unsigned char) (x * 255 / W);
        }
    }
}

static FILE *
out(const char *name)
{
    char    p[4096];
    FILE   *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "wb");
    if (f == NULL) {
        perror(p);
        exit(1);
    }
    return f;
}

static void
write_png(const char *name, int type, int depth, int interlace)
{
    FILE           *f = out(name);
    png_structp     png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop       info = png_create_info_struct(png);
    unsigned char   row[W * 8];
    png_color       pal[16];
    png_byte        trns[16];
    int             y, x, pass, passes, i;

    if (setjmp(png_jmpbuf(png))) {
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, depth, type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (type == PNG_COLOR_TYPE_PALETTE) {
        for (i = 0; i < 16; i++) {
            pal[i].red = (png_byte) (i * 16);
            pal[i].green = (png_byte) (255 - i * 16);
            pal[i].blue = (png_byte) (i * 7);
            trns[i] = (png_byte) (i * 17);
        }
        png_set_PLTE(png, info, pal, 16);
        png_set_tRNS(png, info, trns, 16, NULL);
    }
    png_set_text(png, info, &(png_text) { PNG_TEXT_COMPRESSION_zTXt,
                 "Comment", "synthetic", 9, 0, NULL, NULL }, 1);
    png_write_info(png, info);
    passes = interlace ? png_set_interlace_handling(png) : 1;
    for (pass = 0; pass < passes; pass++) {
        for (y = 0; y < H; y++) {
            for (x = 0; x < W; x++) {
                if (type == PNG_COLOR_TYPE_PALETTE) {
                    row[x] = (unsigned char) (rgb[y][x][0] >> 4);
                } else if (type == PNG_COLOR_TYPE_GRAY_ALPHA) {  /* 16-bit */
                    row[4 * x] = rgb[y][x][1];
                    row[4 * x + 1] = rgb[y][x][0];
                    row[4 * x + 2] = rgb[y][x][3];
                    row[4 * x + 3] = 0;
                } else {
                    memcpy(row + 3 * x, rgb[y][x], 3);
                }
            }
            png_write_row(png, row);
        }
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void
write_jpeg(const char *name, int grey, int progressive, int sub)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr       e;
    FILE                       *f = out(name);
    unsigned char               row[W * 3];
    JSAMPROW                    rp = row;
    int                         y, x;

    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = W;
    c.image_height = H;
    c.input_components = grey ? 1 : 3;
    c.in_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 70, TRUE);
    if (progressive) {
        jpeg_simple_progression(&c);
    }
    if (!grey && !sub) {
        c.comp_info[0].h_samp_factor = 1;
        c.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&c, TRUE);
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            if (grey) {
                row[x] = rgb[y][x][1];
            } else {
                memcpy(row + 3 * x, rgb[y][x], 3);
            }
        }
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void
write_gif(const char *name, int interlace, int offset, int frames)
{
    char            p[4096];
    int             err, y, x, i, fw = offset ? W / 2 : W, fh = offset ? H / 2 : H;
    GifFileType    *g;
    GifColorType    cols[16];
    ColorMapObject *cm;
    GifPixelType    line[W];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    for (i = 0; i < 16; i++) {
        cols[i].Red = (GifByteType) (i * 16);
        cols[i].Green = (GifByteType) (i * 5);
        cols[i].Blue = (GifByteType) (255 - i * 16);
    }
    cm = GifMakeMapObject(16, cols);
    g = EGifOpenFileName(p, 0, &err);
    if (g == NULL || cm == NULL) {
        exit(1);
    }
    EGifSetGifVersion(g, true);
    EGifPutScreenDesc(g, W, H, 4, 3, cm);
    for (i = 0; i < frames; i++) {
        EGifPutImageDesc(g, offset ? W / 3 : 0, offset ? H / 3 : 0, fw, fh,
                         interlace, NULL);
        for (y = 0; y < fh; y++) {
            for (x = 0; x < fw; x++) {
                line[x] = (GifPixelType) ((rgb[y][x][0] >> 4) ^ i);
            }
            EGifPutLine(g, line, fw);
        }
    }
    EGifCloseFile(g, &err);
    GifFreeMapObject(cm);
}

static void
write_webp(const char *name, int lossless, int alpha)
{
    FILE           *f = out(name);
    uint8_t        *o = NULL;
    unsigned char   px[H][W][3];
    size_t          n;
    int             y;

    for (y = 0; y < H; y++) {
        int x;

        for (x = 0; x < W; x++) {
            memcpy(px[y][x], rgb[y][x], 3);
        }
    }
    if (alpha) {
        n = lossless ? WebPEncodeLosslessRGBA(&rgb[0][0][0], W, H, W * 4, &o)
                     : WebPEncodeRGBA(&rgb[0][0][0], W, H, W * 4, 60, &o);
    } else {
        n = lossless ? WebPEncodeLosslessRGB(&px[0][0][0], W, H, W * 3, &o)
                     : WebPEncodeRGB(&px[0][0][0], W, H, W * 3, 60, &o);
    }
    if (n == 0 || fwrite(o, 1, n, f) != n) {
        exit(1);
    }
    WebPFree(o);
    fclose(f);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_image DIR\n");
        return 2;
    }
    dir = argv[1];
    fill(1);
    write_png("rgb.png", PNG_COLOR_TYPE_RGB, 8, 0);
    write_png("rgb-interlaced.png", PNG_COLOR_TYPE_RGB, 8, 1);
    write_png("palette-trns.png", PNG_COLOR_TYPE_PALETTE, 8, 0);
    write_png("grey16-alpha.png", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0);
    fill(2);
    write_jpeg("baseline.jpg", 0, 0, 0);
    write_jpeg("progressive.jpg", 0, 1, 1);
    write_jpeg("grey.jpg", 1, 0, 0);
    write_jpeg("420.jpg", 0, 0, 1);
    fill(3);
    write_gif("plain.gif", 0, 0, 1);
    write_gif("interlaced.gif", 1, 0, 1);
    write_gif("offset.gif", 0, 1, 1);
    write_gif("two-frames.gif", 0, 0, 2);
    fill(4);
    write_webp("lossy.webp", 0, 0);
    write_webp("lossless.webp", 1, 0);
    write_webp("alpha.webp", 0, 1);
    return 0;
}

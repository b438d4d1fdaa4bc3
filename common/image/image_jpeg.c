/*
 * image_jpeg.c - JPEG through libjpeg-turbo, from memory, for PDQ.
 *
 * libjpeg reports a fatal error by calling error_exit, which by default
 * prints and exits: ours keeps the message and jumps back here, and
 * jpeg_destroy_decompress frees everything the library allocated (our row
 * buffer too: it comes from the library's image pool). Warnings (corrupt
 * data the library steps over, a truncated file whose missing rows it
 * fills) are not printed: the picture decoded is the one viewers show,
 * and it is hashed. A progress monitor bounds the scans of a progressive
 * file and checks the time limit between them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

#include "image/image_int.h"

typedef struct {
    struct jpeg_error_mgr       pub;
    jmp_buf                     jb;
    char                        msg[JMSG_LENGTH_MAX];
    hg_status_t                 st;         /* why we jumped */
} jerr_t;

typedef struct {
    struct jpeg_progress_mgr    pub;
    img_t                      *im;
    hg_status_t                 st;
} jprog_t;

static void
jerr_exit(j_common_ptr cinfo)
{
    jerr_t *e = (jerr_t *) cinfo->err;

    (*cinfo->err->format_message)(cinfo, e->msg);
    e->st = HG_EFORMAT;
    longjmp(e->jb, 1);
}

static void
jerr_output(j_common_ptr cinfo)
{
    (void) cinfo;
}

static void
jprogress(j_common_ptr cinfo)
{
    j_decompress_ptr         d = (j_decompress_ptr) cinfo;
    jprog_t                 *p = (jprog_t *) cinfo->progress;
    jerr_t                  *e = (jerr_t *) cinfo->err;

    if (d->input_scan_number > HG_IMAGE_JPEG_MAX_SCANS) {
        snprintf(e->msg, sizeof(e->msg), "more than %d scans",
                 HG_IMAGE_JPEG_MAX_SCANS);
        e->st = HG_ELIMIT;
        longjmp(e->jb, 1);
    }
    if (img_time(p->im) != HG_OK) {
        e->st = HG_ELIMIT;
        e->msg[0] = '\0';           /* img_time wrote the message */
        longjmp(e->jb, 1);
    }
}

hg_status_t
img_jpeg(img_t *im)
{
    struct jpeg_decompress_struct   cinfo;
    jerr_t                          jerr;
    jprog_t                         prog;
    JSAMPARRAY                      row;
    hg_status_t                     st;
    unsigned                        s;

    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jerr_exit;
    jerr.pub.output_message = jerr_output;
    jerr.msg[0] = '\0';
    jerr.st = HG_OK;
    if (setjmp(jerr.jb)) {
        jpeg_destroy_decompress(&cinfo);
        if (jerr.st == HG_ELIMIT && jerr.msg[0] == '\0') {
            return HG_ELIMIT;
        }
        return hg_err_set(im->err, jerr.st, "jpeg: %s", jerr.msg);
    }
    jpeg_create_decompress(&cinfo);
    prog.pub.progress_monitor = jprogress;
    prog.im = im;
    cinfo.progress = &prog.pub;
    jpeg_mem_src(&cinfo, im->buf, (unsigned long) im->len);
    jpeg_read_header(&cinfo, TRUE);

    st = img_declared(im, cinfo.image_width, cinfo.image_height);
    if (st != HG_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    cinfo.out_color_space = JCS_RGB;    /* CMYK cannot be: the library refuses */
    /* the smallest scale that keeps both sides at or above the minimum */
    cinfo.scale_num = 1;
    cinfo.scale_denom = 1;
    for (s = 8; s > 1 && im->lim->jpeg_min_side > 0; s /= 2) {
        if (cinfo.image_width / s >= im->lim->jpeg_min_side
            && cinfo.image_height / s >= im->lim->jpeg_min_side) {
            cinfo.scale_denom = s;
            break;
        }
    }
    im->info->scale = cinfo.scale_denom;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) {
        snprintf(jerr.msg, sizeof(jerr.msg), "%d components after conversion",
                 cinfo.output_components);
        jerr.st = HG_EFORMAT;
        longjmp(jerr.jb, 1);
    }
    st = img_begin(im, cinfo.output_width, cinfo.output_height);
    if (st != HG_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    row = (*cinfo.mem->alloc_sarray)((j_common_ptr) &cinfo, JPOOL_IMAGE,
                                     cinfo.output_width * 3, 1);
    while (cinfo.output_scanline < cinfo.output_height) {
        if (jpeg_read_scanlines(&cinfo, row, 1) != 1) {
            break;                  /* suspension cannot happen from memory */
        }
        st = img_row(im, row[0]);
        if (st != HG_OK) {
            jpeg_destroy_decompress(&cinfo);
            return st;
        }
    }
    /* trailing garbage or a missing EOI is no reason to drop the picture */
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return HG_OK;
}

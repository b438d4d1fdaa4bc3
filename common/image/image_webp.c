/*
 * image_webp.c - WebP through libwebp, from memory, for PDQ.
 *
 * libwebp decodes a still image whole, into one buffer (within the pixel
 * limit, checked from the header first). An animation's first frame is
 * found with the demuxer and decoded as it is stored (not composed on the
 * canvas).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "image/image_int.h"

static hg_status_t
webp_still(img_t *im, const uint8_t *b, size_t len)
{
    WebPBitstreamFeatures   f;
    uint8_t                *px;
    int                     w, h, i;
    hg_status_t             st;

    if (WebPGetFeatures(b, len, &f) != VP8_STATUS_OK) {
        return hg_err_set(im->err, HG_EFORMAT, "webp: damaged header");
    }
    st = img_declared(im, (uint64_t) f.width, (uint64_t) f.height);
    if (st != HG_OK) {
        return st;
    }
    px = WebPDecodeRGB(b, len, &w, &h);
    if (px == NULL) {
        return hg_err_set(im->err, HG_EFORMAT, "webp: cannot be decoded");
    }
    st = img_begin(im, (uint32_t) w, (uint32_t) h);
    for (i = 0; i < h && st == HG_OK; i++) {
        st = img_row(im, px + (size_t) i * (size_t) w * 3);
    }
    WebPFree(px);
    return st;
}

hg_status_t
img_webp(img_t *im)
{
    WebPBitstreamFeatures   f;
    WebPData                data;
    WebPDemuxer            *dmx;
    WebPIterator            it;
    hg_status_t             st;

    if (WebPGetFeatures(im->buf, im->len, &f) != VP8_STATUS_OK) {
        return hg_err_set(im->err, HG_EFORMAT, "webp: damaged header");
    }
    if (!f.has_animation) {
        return webp_still(im, im->buf, im->len);
    }
    data.bytes = im->buf;
    data.size = im->len;
    dmx = WebPDemux(&data);
    if (dmx == NULL) {
        return hg_err_set(im->err, HG_EFORMAT, "webp: damaged animation");
    }
    if (!WebPDemuxGetFrame(dmx, 1, &it)) {
        WebPDemuxDelete(dmx);
        return hg_err_set(im->err, HG_EFORMAT, "webp: an animation without frames");
    }
    st = webp_still(im, it.fragment.bytes, it.fragment.size);
    WebPDemuxReleaseIterator(&it);
    WebPDemuxDelete(dmx);
    return st;
}

/*
 * image_sniff.c - which image format an object's leading bytes say, the
 * formats' names and the default limits (image.h): the parts of image.h the
 * callers use (the milter, the nginx module and the CLI decide by these
 * bytes what goes to the inspection helper), apart from the decoders, so
 * linking them brings in no image library.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "hashgate/image.h"

void
hg_image_limits_default(hg_image_limits_t *l)
{
    l->max_pixels = HG_IMAGE_MAX_PIXELS;
    l->max_bytes = HG_IMAGE_MAX_BYTES;
    l->timeout_ms = HG_IMAGE_TIMEOUT_MS;
    l->jpeg_min_side = HG_IMAGE_JPEG_MIN_SIDE;
}

hg_image_format_t
hg_image_sniff(const unsigned char *b, size_t len)
{
    if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
        return HG_IMAGE_JPEG;
    }
    if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
        return HG_IMAGE_PNG;
    }
    if (len >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) {
        return HG_IMAGE_GIF;
    }
    if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
        return HG_IMAGE_WEBP;
    }
    return HG_IMAGE_NONE;
}

const char *
hg_image_format_name(hg_image_format_t f)
{
    switch (f) {
    case HG_IMAGE_JPEG: return "jpeg";
    case HG_IMAGE_PNG:  return "png";
    case HG_IMAGE_GIF:  return "gif";
    case HG_IMAGE_WEBP: return "webp";
    case HG_IMAGE_NONE: break;
    }
    return "none";
}

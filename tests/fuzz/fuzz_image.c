/*
 * fuzz_image.c - libFuzzer target for image decoding and PDQ as they run
 * in the inspection helper: hg_image_pdq on the input (JPEG, PNG, GIF,
 * WebP by their signatures), with a pixel limit small enough that every
 * input decodes in milliseconds.
 *
 * Checks what image.h promises: a status it may give; on HG_OK a size
 * within the limit, a quality 0-100, the hash equal to the first dihedral
 * one, zeros for an image under 5 pixels a side; otherwise a reason.
 *
 * Then the same bytes go the helper's way (issue 17): hg_inspect_walk with
 * images asked for (and the dihedral hashes), the path a part that is an
 * image takes in hashgate-inspect (hg_walk_image, its limits and its
 * result), and the result must be the one hg_image_pdq gave.
 * Seeds: small synthetic images in every format and variant, written by
 * seed_image (tests/fuzz/seed_image.c).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/image.h"
#include "hashgate/inspect.h"

static hg_image_limits_t    lim;
static hg_inspect_limits_t  wlim;

static hg_status_t
no_entries(void *ctx, const hg_inspect_entry_t *e)
{
    (void) ctx;
    (void) e;
    return HG_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    hg_image_limits_default(&lim);
    lim.max_pixels = 1u << 20;
    lim.max_bytes = 1u << 20;
    lim.timeout_ms = 0;         /* libFuzzer's -timeout catches a hang */
    lim.jpeg_min_side = 64;     /* reduced scales reached with small seeds */
    if (hg_inspect_walk_init() != HG_OK) {
        abort();
    }
    hg_inspect_limits_default(&wlim);
    wlim.timeout_ms = 0;
    wlim.max_depth = 2;
    wlim.max_files = 16;
    wlim.max_bytes = 4u << 20;
    wlim.max_file_bytes = 2u << 20;
    wlim.images = HG_INSPECT_IMAGES | HG_INSPECT_DIHEDRAL;
    wlim.image = lim;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hg_image_info_t info;
    hg_err_t        err;
    hg_status_t     st;
    hg_pdq_hash_t   zero;

    err.msg[0] = '\0';
    st = hg_image_pdq(data, size, &lim, &info, &err);
    switch (st) {
    case HG_OK:
        if (info.format == HG_IMAGE_NONE || info.rows == 0 || info.cols == 0
            || (uint64_t) info.width * info.height > lim.max_pixels
            || info.pdq.quality < 0 || info.pdq.quality > 100
            || memcmp(&info.pdq.hash, &info.pdq.dihedral[HG_PDQ_ORIGINAL],
                      sizeof(info.pdq.hash)) != 0) {
            abort();
        }
        memset(&zero, 0, sizeof(zero));
        if ((info.rows < HG_PDQ_MIN_SIDE || info.cols < HG_PDQ_MIN_SIDE)
            && (info.pdq.quality != 0
                || memcmp(&info.pdq.hash, &zero, sizeof(zero)) != 0)) {
            abort();
        }
        break;
    case HG_EFORMAT:
    case HG_ELIMIT:
    case HG_ENOMEM:
        if (err.msg[0] == '\0') {
            abort();
        }
        break;
    default:
        abort();
    }

    /* the helper's way: the part is an image (not also a container) */
    if (hg_image_sniff(data, size) != HG_IMAGE_NONE
        && hg_inspect_sniff(data, size, 1, NULL) != HG_SNIFF_YES)
    {
        hg_inspect_done_t  done;

        hg_inspect_walk(data, size, HG_ALGS_ALL, &wlim, no_entries, NULL,
                        &done);
        if (st == HG_ENOMEM) {
            return 0;
        }
        if (done.st != HG_OK || done.files != 0
            || done.image.format != hg_image_sniff(data, size)
            || done.image.st != (st == HG_OK ? HG_OK : st)
            || (st == HG_OK
                && (!done.image.dihedral
                    || done.image.pdq.quality != info.pdq.quality
                    || memcmp(&done.image.pdq, &info.pdq,
                              sizeof(info.pdq)) != 0))
            || (st != HG_OK && done.image.why[0] == '\0'))
        {
            abort();
        }
    }
    return 0;
}

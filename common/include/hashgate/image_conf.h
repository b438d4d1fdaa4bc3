/*
 * image_conf.h - the settings of image matching (issue 17, docs/images.md),
 * parsed and checked here once for every wrapper: the milter's PdqImages,
 * PdqMinQuality, PdqDihedral, ImageMaxPixels, ImageMaxBytes, ImageTimeout
 * and ImageLimit, nginx's hashgate_pdq_images, hashgate_pdq_min_quality,
 * hashgate_pdq_dihedral, hashgate_image_max_pixels, _max_bytes, _timeout
 * and _limit take the same values. Each parser takes a value (len bytes,
 * not NUL-terminated) and returns HG_EINVAL with err saying what was
 * expected; the wrapper adds its key, file and line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_IMAGE_CONF_H
#define HASHGATE_IMAGE_CONF_H

#include <stddef.h>

#include "hashgate/db.h"
#include "hashgate/decide.h"
#include "hashgate/image.h"
#include "hashgate/status.h"

/* Below this quality (0-100) PDQ says a hash says little (pdq.h). */
#define HG_PDQ_MIN_QUALITY      50

typedef enum {
    HG_PDQ_IMAGES_AUTO = 0,     /* when the database holds PDQ entries */
    HG_PDQ_IMAGES_ON,
    HG_PDQ_IMAGES_OFF
} hg_pdq_images_t;

typedef struct {
    hg_pdq_images_t     images;         /* PdqImages, default auto */
    int                 min_quality;    /* PdqMinQuality, default 50 */
    int                 dihedral;       /* PdqDihedral, default off */
    hg_image_limits_t   limits;         /* ImageMaxPixels, ImageMaxBytes,
                                         * ImageTimeout */
} hg_image_conf_t;

void hg_image_conf_default(hg_image_conf_t *c);

/* on | off | auto */
hg_status_t hg_image_conf_images(hg_image_conf_t *c, const char *v,
                                 size_t len, hg_err_t *err);
/* 0-100 */
hg_status_t hg_image_conf_min_quality(hg_image_conf_t *c, const char *v,
                                      size_t len, hg_err_t *err);
/* on | off */
hg_status_t hg_image_conf_dihedral(hg_image_conf_t *c, const char *v,
                                   size_t len, hg_err_t *err);
/* pixels, 10000 to 1000M, suffix k or M (thousands, millions: "64M") */
hg_status_t hg_image_conf_max_pixels(hg_image_conf_t *c, const char *v,
                                     size_t len, hg_err_t *err);
/* bytes, 1k to 1G, suffix k, M or G (1024s) */
hg_status_t hg_image_conf_max_bytes(hg_image_conf_t *c, const char *v,
                                    size_t len, hg_err_t *err);
/* seconds, 1 to 3600 */
hg_status_t hg_image_conf_timeout(hg_image_conf_t *c, const char *v,
                                  size_t len, hg_err_t *err);

/*
 * The verdict of an image past a limit (hg_policy_t.image_limit): "fail"
 * (the fail verdict, as for archive limits: HG_ACT_TEMPFAIL), "accept",
 * or one of the actions in allowed (HG_LIST_ACTIONS_*).
 */
hg_status_t hg_image_conf_limit_action(const char *v, size_t len,
                                       unsigned allowed, hg_action_t *out,
                                       hg_err_t *err);

/* Images are decoded and matched with db: on, or auto and db holds PDQ
 * entries (a database without them costs nothing more). */
int hg_image_conf_active(const hg_image_conf_t *c, const hg_db_t *db);

/* "on", "off", "auto" */
const char *hg_image_conf_images_name(hg_pdq_images_t i);

#endif

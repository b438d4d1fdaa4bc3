/*
 * image_conf.c - the settings of image matching, parsed and checked once
 * for the milter and the nginx module (image_conf.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hashgate/db_pdq.h"
#include "hashgate/image_conf.h"
#include "hashgate/list_actions.h"

void
hg_image_conf_default(hg_image_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->images = HG_PDQ_IMAGES_AUTO;
    c->min_quality = HG_PDQ_MIN_QUALITY;
    c->dihedral = 0;
    hg_image_limits_default(&c->limits);
}

static int
_is(const char *v, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(v, word, len) == 0;
}

/* A decimal number with an optional suffix (k, M, G: times unit, unit^2,
 * unit^3) within [lo, hi]. Returns 0, or -1. */
static int
_number(const char *v, size_t len, uint64_t unit, int allow_g, uint64_t lo,
        uint64_t hi, uint64_t *out)
{
    uint64_t  n = 0, mul = 1;
    size_t    i;

    if (len == 0) {
        return -1;
    }
    switch (v[len - 1]) {
    case 'k': case 'K': mul = unit; len--; break;
    case 'm': case 'M': mul = unit * unit; len--; break;
    case 'g': case 'G':
        if (!allow_g) {
            return -1;
        }
        mul = unit * unit * unit;
        len--;
        break;
    }
    if (len == 0 || len > 12) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        n = n * 10 + (uint64_t) (v[i] - '0');
    }
    /* 12 digits times G (1024^3) can pass 2^64: 17179869185G would wrap
     * to exactly 1G and be taken */
    if (n > UINT64_MAX / mul) {
        return -1;
    }
    n *= mul;
    if (n < lo || n > hi) {
        return -1;
    }
    *out = n;
    return 0;
}

static hg_status_t
_bad(hg_err_t *err, const char *v, size_t len, const char *want)
{
    return hg_err_set(err, HG_EINVAL, "bad value \"%.*s\": expected %s",
                      (int) (len > 80 ? 80 : len), v != NULL ? v : "", want);
}

hg_status_t
hg_image_conf_images(hg_image_conf_t *c, const char *v, size_t len,
                     hg_err_t *err)
{
    if (_is(v, len, "on") || _is(v, len, "yes")) {
        c->images = HG_PDQ_IMAGES_ON;
    } else if (_is(v, len, "off") || _is(v, len, "no")) {
        c->images = HG_PDQ_IMAGES_OFF;
    } else if (_is(v, len, "auto")) {
        c->images = HG_PDQ_IMAGES_AUTO;
    } else {
        return _bad(err, v, len, "on, off or auto");
    }
    return HG_OK;
}

hg_status_t
hg_image_conf_min_quality(hg_image_conf_t *c, const char *v, size_t len,
                          hg_err_t *err)
{
    uint64_t  n;

    if (_number(v, len, 1, 0, 0, 100, &n) != 0 || (len > 0
        && (v[len - 1] < '0' || v[len - 1] > '9')))
    {
        return _bad(err, v, len, "a quality from 0 to 100");
    }
    c->min_quality = (int) n;
    return HG_OK;
}

hg_status_t
hg_image_conf_dihedral(hg_image_conf_t *c, const char *v, size_t len,
                       hg_err_t *err)
{
    if (_is(v, len, "on") || _is(v, len, "yes")) {
        c->dihedral = 1;
    } else if (_is(v, len, "off") || _is(v, len, "no")) {
        c->dihedral = 0;
    } else {
        return _bad(err, v, len, "on or off");
    }
    return HG_OK;
}

hg_status_t
hg_image_conf_max_pixels(hg_image_conf_t *c, const char *v, size_t len,
                         hg_err_t *err)
{
    uint64_t  n;

    if (_number(v, len, 1000, 0, 10000, 1000ull * 1000 * 1000, &n) != 0) {
        return _bad(err, v, len, "pixels from 10000 to 1000M "
                    "(suffix k or M: thousands, millions)");
    }
    c->limits.max_pixels = n;
    return HG_OK;
}

hg_status_t
hg_image_conf_max_bytes(hg_image_conf_t *c, const char *v, size_t len,
                        hg_err_t *err)
{
    uint64_t  n;

    if (_number(v, len, 1024, 1, 1024, 1ull << 30, &n) != 0) {
        return _bad(err, v, len, "bytes from 1k to 1G (suffix k, M or G)");
    }
    c->limits.max_bytes = n;
    return HG_OK;
}

hg_status_t
hg_image_conf_timeout(hg_image_conf_t *c, const char *v, size_t len,
                      hg_err_t *err)
{
    uint64_t  n;

    if (_number(v, len, 1, 0, 1, 3600, &n) != 0 || (len > 0
        && (v[len - 1] < '0' || v[len - 1] > '9')))
    {
        return _bad(err, v, len, "seconds from 1 to 3600");
    }
    c->limits.timeout_ms = (unsigned) n * 1000;
    return HG_OK;
}

hg_status_t
hg_image_conf_limit_action(const char *v, size_t len, unsigned allowed,
                           hg_action_t *out, hg_err_t *err)
{
    hg_err_t  e;

    if (_is(v, len, "fail")) {
        *out = HG_ACT_TEMPFAIL;
        return HG_OK;
    }
    if (hg_not_checked_action_parse(v, len, allowed, out, &e) != HG_OK) {
        return hg_err_set(err, HG_EINVAL, "%s (or fail: the fail verdict)",
                          e.msg);
    }
    return HG_OK;
}

int
hg_image_conf_active(const hg_image_conf_t *c, const hg_db_t *db)
{
    switch (c->images) {
    case HG_PDQ_IMAGES_ON:
        return 1;
    case HG_PDQ_IMAGES_OFF:
        return 0;
    case HG_PDQ_IMAGES_AUTO:
        break;
    }
    return db != NULL && hg_db_pdq_count(db) > 0;
}

const char *
hg_image_conf_images_name(hg_pdq_images_t i)
{
    switch (i) {
    case HG_PDQ_IMAGES_ON:   return "on";
    case HG_PDQ_IMAGES_OFF:  return "off";
    case HG_PDQ_IMAGES_AUTO: break;
    }
    return "auto";
}

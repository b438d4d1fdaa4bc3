/*
 * read_clamav.c - ClamAV hash signatures: .hdb (MD5) and .hsb (SHA-1 and
 * SHA-256).
 *
 * One signature a line, HashString:FileSize:MalwareName[:FLevel[:MaxFLevel]]
 * (ClamAV's signatures documentation). FileSize "*" means any size (then the
 * entry has no size); the name becomes the entry's label. The extension pins
 * the algorithm: an .hdb line holding a SHA digest, or an .hsb line holding
 * an MD5, is a bad line, as ClamAV would not load it either. Blank lines
 * and "#" lines are allowed, as lists are often annotated by hand.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "hashgate/list.h"
#include "lists/list_util.h"

/* Fields of a line: hash, size, name, flevel, maxflevel. */
#define CLAMAV_FIELDS_MAX  5

/* First complete line looks like hex:digits-or-*:name. */
static int
clamav_head_looks_right(const unsigned char *head, size_t len)
{
    const unsigned char  *p = head, *end = head + len;
    size_t                hex = 0, digits = 0;

    p += hg_list_bom_len(head, len);
    while (p < end && hg_list_is_hex(*p)) {
        p++;
        hex++;
    }
    if (hg_alg_from_hexlen(hex) < 0 || p >= end || *p++ != ':') {
        return 0;
    }
    if (p < end && *p == '*') {
        p++;
        digits = 1;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (digits == 0 || p >= end || *p++ != ':') {
        return 0;
    }
    return p < end && *p != ':' && *p != '\n' && *p != '\r';
}

/* 90 for the extension (ClamAV's own naming), 75 from content alone. */
static int
clamav_probe(const char *path, const unsigned char *head, size_t head_len)
{
    if (hg_list_has_ext(path, ".hdb") || hg_list_has_ext(path, ".hsb")
        || hg_list_has_ext(path, ".hdu") || hg_list_has_ext(path, ".hsu"))
    {
        return 90;
    }
    return clamav_head_looks_right(head, head_len) ? 75 : 0;
}

static hg_status_t
clamav_line(hg_lctx_t *c, void *ctx, uint64_t lineno, char *line, size_t len)
{
    unsigned     algs = *(unsigned *) ctx;
    const char  *f[CLAMAV_FIELDS_MAX], *why;
    size_t       fl[CLAMAV_FIELDS_MAX];
    size_t       n = 0, i;
    char        *p = line, *end = line + len, *colon;
    uint64_t     v;
    hg_entry_t   e;

    if (line[0] == '#') {
        return HG_OK;
    }
    for ( ;; ) {
        colon = memchr(p, ':', end - p);
        if (n == CLAMAV_FIELDS_MAX) {
            return hg_lctx_bad(c, lineno, "more than %d ':'-separated fields",
                               CLAMAV_FIELDS_MAX);
        }
        f[n] = p;
        fl[n] = colon ? (size_t) (colon - p) : (size_t) (end - p);
        n++;
        if (colon == NULL) {
            break;
        }
        p = colon + 1;
    }
    if (n < 3) {
        return hg_lctx_bad(c, lineno, "expected hash:size:name[:flevel]");
    }

    memset(&e, 0, sizeof(e));
    if (hg_entry_parse_hex(&e, f[0], fl[0], &why) != 0) {
        return hg_lctx_bad(c, lineno, "%s", why);
    }
    if (!(algs & HG_ALG_BIT(e.alg))) {
        return hg_lctx_bad(c, lineno, "%s digest in a %s file (expected %s)",
                           hg_alg_name(e.alg),
                           algs == HG_ALG_BIT(HG_ALG_MD5) ? ".hdb" : ".hsb",
                           algs == HG_ALG_BIT(HG_ALG_MD5) ? "MD5"
                           : "SHA-1 or SHA-256");
    }
    if (fl[1] == 1 && f[1][0] == '*') {
        e.has_size = 0;
    } else if (hg_list_parse_u64(f[1], fl[1], &e.size) == 0) {
        e.has_size = 1;
    } else {
        return hg_lctx_bad(c, lineno, "size \"%.*s\" is not a number or *",
                           (int) (fl[1] > 32 ? 32 : fl[1]), f[1]);
    }
    if (fl[2] == 0) {
        return hg_lctx_bad(c, lineno, "empty signature name");
    }
    for (i = 3; i < n; i++) {
        if (hg_list_parse_u64(f[i], fl[i], &v) != 0) {
            return hg_lctx_bad(c, lineno, "functionality level \"%.*s\" is "
                               "not a number",
                               (int) (fl[i] > 32 ? 32 : fl[i]), f[i]);
        }
    }
    line[f[2] - line + fl[2]] = '\0';
    e.label = f[2];
    return hg_lctx_emit(c, &e);
}

static hg_status_t
clamav_read(FILE *fp, const char *path, const hg_read_opts_t *opts,
            hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats,
            hg_err_t *err)
{
    hg_lctx_t  c;
    unsigned   algs = HG_ALGS_ALL;

    if (hg_list_has_ext(path, ".hdb") || hg_list_has_ext(path, ".hdu")) {
        algs = HG_ALG_BIT(HG_ALG_MD5);
    } else if (hg_list_has_ext(path, ".hsb") || hg_list_has_ext(path, ".hsu")) {
        algs = HG_ALG_BIT(HG_ALG_SHA1) | HG_ALG_BIT(HG_ALG_SHA256);
    }
    hg_lctx_init(&c, path, opts, cb, cb_ctx, stats, err);
    return hg_list_each_line(fp, &c, clamav_line, &algs);
}

const hg_reader_t hg_reader_clamav = {
    "clamav",
    "ClamAV hash signatures .hdb (MD5) / .hsb (SHA-1, SHA-256): "
    "hash:size:name[:flevel]",
    clamav_probe,
    clamav_read
};

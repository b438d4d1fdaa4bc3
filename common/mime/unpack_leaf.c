/*
 * unpack_leaf.c - the MIME parser's leaves: transfer decoding, uuencoded
 * blocks inside text, and the limit a part's bytes meet.
 *
 * A leaf of mail is decoded as its Content-Transfer-Encoding says
 * (base64, quoted-printable as Python reads it, uuencode; anything else
 * passes as it is); a form-data part is reported as sent. Decoded bytes
 * reach the callbacks in slices of UNPACK_OUT_MAX, each checked against
 * max_part_bytes first (hg_unpack_part_bytes, which the copies use too).
 * A base64 leaf is decoded up to a '-' that starts a line, the only place
 * a boundary can be, so its body is read once. A text/plain leaf of mail
 * is watched for uuencoded blocks ("P.uN") when the caller set embedded
 * callbacks. Why a part labelled uuencoded without "begin" is hashed as
 * it is, and why form parts are not decoded: docs/mime.md.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/unpack_int.h"

static hg_status_t _scan_text(hg_unpack_t *u, const unsigned char *p, size_t n);

/*
 * Hand n decoded bytes of the part at path to its data callback, after
 * checking max_part_bytes against what the part has had so far (stats):
 * the one place both main and embedded parts are counted and limited.
 */
hg_status_t
hg_unpack_part_bytes(hg_unpack_t *u, const hg_unpack_cb_t *cb, void *ctx,
                     hg_part_stats_t *stats, const char *path,
                     const unsigned char *buf, size_t n)
{
    hg_status_t st;

    if (u->lim.max_part_bytes > 0
        && n > u->lim.max_part_bytes - stats->decoded_bytes)
    {
        return hg_unpack_fail(u, HG_ELIMIT, "part %s: larger than %llu bytes "
                              "(max_part_bytes)", path,
                              (unsigned long long) u->lim.max_part_bytes);
    }
    stats->decoded_bytes += n;
    if ((st = cb->part_data(ctx, buf, n)) != HG_OK) {
        return hg_unpack_cb_fail(u, st, "data", path);
    }
    return HG_OK;
}

static hg_status_t
_emit(hg_unpack_t *u, const unsigned char *buf, size_t n)
{
    hg_status_t st;

    if (n == 0) {
        return HG_OK;
    }
    st = hg_unpack_part_bytes(u, &u->cb, u->ctx, &u->stats, u->info.path,
                              buf, n);
    if (st != HG_OK) {
        return st;
    }
    return u->scan ? _scan_text(u, buf, n) : HG_OK;
}

/*
 * A part declared uuencoded must start with its "begin" line (or blank
 * lines). One that does not is hashed as it is, with one decode error,
 * rather than decoded to nothing: a mail reader that ignores the label
 * would show those bytes. (Python skips text until a "begin"; that needs
 * the whole part.) Called with the part's first bytes until 6 are seen
 * (n == 0: the part ended sooner).
 */
static hg_status_t
_uu_probe(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      k = sizeof(u->probe) - u->probe_len;
    hg_status_t st;

    if (k > n) {
        k = n;
    }
    if (k > 0) {
        memcpy(u->probe + u->probe_len, p, k);
        u->probe_len += k;
    }
    if (u->probe_len < sizeof(u->probe) && n > 0) {
        return HG_OK;
    }
    u->uu_probe = 0;
    if (u->probe_len > 0 && u->probe[0] != '\r' && u->probe[0] != '\n'
        && (u->probe_len < 6 || memcmp(u->probe, "begin ", 6) != 0))
    {
        u->dec = DEC_NONE;
        u->uu_raw = 1;
    }
    if ((st = hg_unpack_leaf_data(u, u->probe, u->probe_len)) != HG_OK
        || n == k)
    {
        return st;
    }
    return hg_unpack_leaf_data(u, p + k, n - k);
}

hg_status_t
hg_unpack_leaf_data(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      k, w, used;
    hg_status_t st;

    if (u->uu_probe) {
        return _uu_probe(u, p, n);
    }
    if (u->copying && (st = hg_unpack_copy_raw(u, p, n)) != HG_OK) {
        return st;
    }
    if (u->dec == DEC_NONE) {
        return _emit(u, p, n);
    }
    while (n > 0) {
        switch (u->dec) {
        case DEC_B64:
            k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
            w = hg_b64_feed(&u->b64, p, k, u->out);
            break;
        case DEC_QP:
            k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
            w = hg_qp_feed(&u->qp, p, k, u->out);
            break;
        default:
            w = hg_uu_feed(&u->uu, p, n, &used, u->out, UNPACK_OUT_MAX);
            k = used;
            break;
        }
        if ((st = _emit(u, u->out, w)) != HG_OK) {
            return st;
        }
        p += k;
        n -= k;
    }
    return HG_OK;
}

/*
 * Body bytes of a base64 leaf, decoded up to a '-' that starts a line (a
 * possible boundary; *usedp stops there) or the end. Line ends are base64
 * whitespace, so the decoder may have them: nothing is held back, and the
 * boundary is found by the decoder's own scan instead of a second pass.
 */
hg_status_t
hg_unpack_b64_run(hg_unpack_t *u, const unsigned char *p, size_t n,
                  size_t *usedp)
{
    const unsigned char *start = p;
    size_t               k, w, used;
    hg_status_t          st;
    unsigned char        prev;

    *usedp = 0;
    while (n > 0) {
        k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
        w = hg_b64_feed_until(&u->b64, p, k, u->out, '-', &used);
        if ((st = _emit(u, u->out, w)) != HG_OK) {
            return st;
        }
        prev = used > 0 ? p[used - 1] : p > start ? p[-1] : u->prev_byte;
        p += used;
        n -= used;
        if (used < k) {
            if (prev == '\n') {
                break;
            }
            /* a '-' inside a line: junk, counted by the decoder */
            w = hg_b64_feed(&u->b64, p, 1, u->out);
            p++;
            n--;
        }
    }
    if (p > start) {
        u->prev_byte = p[-1];
    }
    *usedp = (size_t) (p - start);
    return HG_OK;
}

static hg_status_t
_part_count(hg_unpack_t *u, const char *path)
{
    if (u->nparts >= u->lim.max_parts) {
        return hg_unpack_fail(u, HG_ELIMIT, "part %s: more than %u parts "
                              "(max_parts)", path, u->lim.max_parts);
    }
    u->nparts++;
    return HG_OK;
}

/* Begin an embedded part of the open leaf: a uuencoded block ("P.uN"). */
static hg_status_t
_sub_begin(hg_unpack_t *u)
{
    hg_status_t st;
    size_t      need = strlen(u->info.path) + UNPACK_COMPONENT + 1;
    char       *np;

    if ((np = realloc(u->sub_path, need)) == NULL) {
        return hg_unpack_fail(u, HG_ENOMEM, "out of memory");
    }
    u->sub_path = np;
    snprintf(u->sub_path, need, "%s.u%u", u->info.path, ++u->nsub);
    if ((st = _part_count(u, u->sub_path)) != HG_OK) {
        return st;
    }
    memset(&u->sub_info, 0, sizeof(u->sub_info));
    memset(&u->sub_stats, 0, sizeof(u->sub_stats));
    u->sub_info.path = u->sub_path;
    u->sub_info.content_type = "application/octet-stream";
    u->sub_info.filename = u->suu.name[0] != '\0' ? u->suu.name : NULL;
    u->sub_info.encoding = "x-uuencode";
    u->sub_info.depth = u->info.depth + 1;
    u->sub_open = 1;
    if ((st = u->ecb.part_begin(u->ectx, &u->sub_info)) != HG_OK) {
        return hg_unpack_cb_fail(u, st, "begin", u->sub_path);
    }
    return HG_OK;
}

static hg_status_t
_sub_data(hg_unpack_t *u, size_t w)
{
    if (w == 0) {
        return HG_OK;
    }
    return hg_unpack_part_bytes(u, &u->ecb, u->ectx, &u->sub_stats, u->sub_path,
                                u->sub_out, w);
}

static hg_status_t
_sub_end(hg_unpack_t *u)
{
    hg_status_t st;

    u->sub_open = 0;
    u->sub_stats.decode_errors = u->suu.errors;
    if ((st = u->ecb.part_end(u->ectx, &u->sub_info, &u->sub_stats)) != HG_OK) {
        return hg_unpack_cb_fail(u, st, "end", u->sub_path);
    }
    return HG_OK;
}

/* Look for "begin" ... "end" blocks in a text leaf's decoded bytes. */
static hg_status_t
_scan_text(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      used, w;
    hg_status_t st;

    while (n > 0) {
        w = hg_uu_feed(&u->suu, p, n, &used, u->sub_out, UNPACK_OUT_MAX);
        p += used;
        n -= used;
        switch (u->suu.state) {
        case HG_UU_SEEK:
            break;
        case HG_UU_BODY:
            if (!u->sub_open) {
                if ((st = _sub_begin(u)) != HG_OK) {
                    return st;
                }
            } else if ((st = _sub_data(u, w)) != HG_OK) {
                return st;
            }
            break;
        case HG_UU_DONE:
            if ((st = _sub_data(u, w)) != HG_OK || (st = _sub_end(u)) != HG_OK) {
                return st;
            }
            hg_uu_init(&u->suu, HG_UU_SEEK, 1);
            break;
        }
    }
    return HG_OK;
}

hg_status_t
hg_unpack_leaf_begin(hg_unpack_t *u)
{
    hg_status_t st;
    const char *e = u->fields.encoding;

    if ((st = _part_count(u, u->path)) != HG_OK) {
        return st;
    }
    snprintf(u->encoding, sizeof(u->encoding), "%s",
             e[0] != '\0' ? e : u->mode == HG_UNPACK_FORMDATA ? "binary" : "7bit");
    u->dec = DEC_NONE;
    u->uu_probe = 0;
    if (u->mode == HG_UNPACK_MESSAGE) {
        if (strcmp(e, "base64") == 0) {
            u->dec = DEC_B64;
            hg_b64_init(&u->b64);
        } else if (strcmp(e, "quoted-printable") == 0) {
            u->dec = DEC_QP;
            hg_qp_init(&u->qp);
        } else if (strcmp(e, "x-uuencode") == 0 || strcmp(e, "uuencode") == 0
                   || strcmp(e, "x-uue") == 0 || strcmp(e, "uue") == 0)
        {
            u->dec = DEC_UU;
            hg_uu_init(&u->uu, HG_UU_SEEK, 0);
            u->uu_probe = 1;
            u->probe_len = 0;
        }
    }
    u->uu_raw = 0;
    memset(&u->info, 0, sizeof(u->info));
    memset(&u->stats, 0, sizeof(u->stats));
    u->info.path = u->path;
    u->info.content_type = u->type;
    u->info.filename = u->fields.filename;
    u->info.field_name = u->mode == HG_UNPACK_FORMDATA ? u->fields.field_name
                                                       : NULL;
    u->info.encoding = u->encoding;
    u->info.depth = u->depth;
    u->scan = u->has_ecb && u->mode == HG_UNPACK_MESSAGE && u->dec != DEC_UU
              && strcmp(u->type, "text/plain") == 0;
    u->nsub = 0;
    u->sub_open = 0;
    if (u->scan) {
        hg_uu_init(&u->suu, HG_UU_SEEK, 1);
    }
    u->leaf_open = 1;
    if ((st = u->cb.part_begin(u->ctx, &u->info)) != HG_OK) {
        return hg_unpack_cb_fail(u, st, "begin", u->path);
    }
    if ((st = hg_unpack_copies_begin(u, e)) != HG_OK) {
        return st;
    }
    u->state = ST_BODY;
    u->sink = SINK_LEAF;
    return HG_OK;
}

hg_status_t
hg_unpack_leaf_end(hg_unpack_t *u)
{
    size_t      w = 0;
    hg_status_t st;

    if (u->uu_probe && (st = _uu_probe(u, NULL, 0)) != HG_OK) {
        return st;
    }
    switch (u->dec) {
    case DEC_B64:
        w = hg_b64_finish(&u->b64, u->out);
        u->stats.decode_errors = u->b64.errors;
        break;
    case DEC_QP:
        w = hg_qp_finish(&u->qp, u->out);
        u->stats.decode_errors = u->qp.errors;
        break;
    case DEC_UU:
        w = hg_uu_finish(&u->uu, u->out);
        u->stats.decode_errors = u->uu.errors;
        break;
    default:
        u->stats.decode_errors = u->uu_raw;
        break;
    }
    if ((st = _emit(u, u->out, w)) != HG_OK) {
        return st;
    }
    if (u->sub_open) {
        w = hg_uu_finish(&u->suu, u->sub_out);
        if ((st = _sub_data(u, w)) != HG_OK || (st = _sub_end(u)) != HG_OK) {
            return st;
        }
    }
    if ((st = hg_unpack_copies_end(u)) != HG_OK) {
        return st;
    }
    u->leaf_open = 0;
    u->scan = 0;
    if ((st = u->cb.part_end(u->ctx, &u->info, &u->stats)) != HG_OK) {
        return hg_unpack_cb_fail(u, st, "end", u->path);
    }
    hg_mime_fields_free(&u->fields);
    u->sink = SINK_DISCARD;
    return HG_OK;
}

/* ---- the API (unpack.h) ---- */

hg_status_t
hg_unpack_set_embedded_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                          void *cb_ctx, hg_err_t *err)
{
    if (cb == NULL || cb->part_begin == NULL || cb->part_data == NULL
        || cb->part_end == NULL)
    {
        return hg_err_set(err, HG_EINVAL, "unpack: every callback must be set");
    }
    if (u->sub_out == NULL) {
        u->sub_out = malloc(UNPACK_OUT_MAX + HG_UU_OUT_MIN);
        if (u->sub_out == NULL) {
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
    }
    u->ecb = *cb;
    u->ectx = cb_ctx;
    u->has_ecb = 1;
    return HG_OK;
}

/*
 * unpack_copy.c - a leaf's other readings ("P.d1" to "P.d3"), made as it
 * streams by.
 *
 * Readers disagree on some parts' bytes, and a filter must hash every
 * reading a reader may save (docs/mime.md): a form part sent base64 or
 * quoted-printable, which RFC 7578 readers keep raw and others decode
 * ("P.d1"); a quoted-printable mail part read as RFC 2045 says, the
 * blanks ending its lines deleted ("P.d1"), with its hard line breaks in
 * the line-end form the message did not come in ("P.d2"), and both
 * ("P.d3"). Each copy is fed the leaf's raw bytes and decodes them with
 * its own decoder; at its end its stats say whether it held anything new
 * (same_bytes), so the caller judges one file once.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/unpack_int.h"

/* Begin copy i of the open leaf ("P.d1" ...): the same file, read otherwise. */
static hg_status_t
_copy_begin(hg_unpack_t *u, _copy_t *c, unsigned i)
{
    hg_status_t st;
    size_t      need = strlen(u->info.path) + UNPACK_COMPONENT + 1;
    char       *np;

    if ((np = realloc(c->path, need)) == NULL) {
        return hg_unpack_fail(u, HG_ENOMEM, "out of memory");
    }
    c->path = np;
    /* not counted against max_parts: at most three per part, which was */
    snprintf(c->path, need, "%s.d%u", u->info.path, i + 1);
    memset(&c->stats, 0, sizeof(c->stats));
    c->info = u->info;
    c->info.path = c->path;
    c->info.depth = u->info.depth + 1;
    c->ws_len = 0;
    c->last = 0;
    c->dropped = c->converted = 0;
    c->in = 0;
    if (c->dec == DEC_B64) {
        hg_b64_init(&c->b64);
    } else {
        hg_qp_init(&c->qp);
    }
    c->on = 1;
    u->copying = 1;
    if ((st = c->cb->part_begin(c->ctx, &c->info)) != HG_OK) {
        return hg_unpack_cb_fail(u, st, "begin", c->path);
    }
    return HG_OK;
}

/* Raw bytes decoded into copy c, in slices copy_out holds. */
static hg_status_t
_copy_feed(hg_unpack_t *u, _copy_t *c, const unsigned char *p, size_t n)
{
    size_t      k, w;
    hg_status_t st;

    c->in += n;
    while (n > 0) {
        k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
        if (c->dec == DEC_B64) {
            w = hg_b64_feed(&c->b64, p, k, u->copy_out);
        } else {
            w = hg_qp_feed(&c->qp, p, k, u->copy_out);
        }
        if (w > 0) {
            st = hg_unpack_part_bytes(u, c->cb, c->ctx, &c->stats, c->path,
                                      u->copy_out, w);
            if (st != HG_OK) {
                return st;
            }
        }
        p += k;
        n -= k;
    }
    return HG_OK;
}

/*
 * Queue n bytes for copy c's decoder: fed in slices of UNPACK_OUT_MAX,
 * the rest by _copy_stage_flush before another copy uses the stage.
 */
static hg_status_t
_copy_stage(hg_unpack_t *u, _copy_t *c, const unsigned char *p, size_t n)
{
    size_t      k;
    hg_status_t st;

    if (n > 0) {
        c->last = p[n - 1];
    }
    while (n > 0) {
        k = UNPACK_OUT_MAX - u->stage_len;
        k = k < n ? k : n;
        memcpy(u->copy_stage + u->stage_len, p, k);
        u->stage_len += k;
        p += k;
        n -= k;
        if (u->stage_len == UNPACK_OUT_MAX) {
            u->stage_len = 0;
            st = _copy_feed(u, c, u->copy_stage, UNPACK_OUT_MAX);
            if (st != HG_OK) {
                return st;
            }
        }
    }
    return HG_OK;
}

static hg_status_t
_copy_stage_flush(hg_unpack_t *u, _copy_t *c)
{
    size_t  n = u->stage_len;

    u->stage_len = 0;
    return n > 0 ? _copy_feed(u, c, u->copy_stage, n) : HG_OK;
}

/*
 * Blanks q[0..k) continuing the held run: all but its last
 * ((len - 1) % UNPACK_QP_WS_MAX) + 1 bytes are passed on, the rest held
 * for what the line end (if one follows) makes of them. The same bytes
 * pass whatever the chunking: a run is held up to UNPACK_QP_WS_MAX,
 * passed on when it grows past that.
 */
static hg_status_t
_qp_blanks(hg_unpack_t *u, _copy_t *c, const unsigned char *q, size_t k)
{
    size_t      total = c->ws_len + k, pass, from_held;
    hg_status_t st;

    if (total == 0) {
        return HG_OK;
    }
    pass = total - ((total - 1) % UNPACK_QP_WS_MAX + 1);
    from_held = pass < c->ws_len ? pass : c->ws_len;
    if ((st = _copy_stage(u, c, c->ws, from_held)) != HG_OK
        || (st = _copy_stage(u, c, q, pass - from_held)) != HG_OK)
    {
        return st;
    }
    memmove(c->ws, c->ws + from_held, c->ws_len - from_held);
    c->ws_len -= from_held;
    memcpy(c->ws + c->ws_len, q + (pass - from_held), k - (pass - from_held));
    c->ws_len += k - (pass - from_held);
    return HG_OK;
}

static int
_qp_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/*
 * At a line end of copy c: the blanks held before it, and the line end
 * itself. A CR last among them belongs to the line end (CRLF). strip
 * deletes the rest (RFC 2045 6.7 (3)); eol writes the line end as it came,
 * as LF or as CRLF. A line end after "=" is a soft break either way, so
 * converting it changes no decoded byte; converting any other does.
 */
static hg_status_t
_copy_line_end(hg_unpack_t *u, _copy_t *c)
{
    int          crlf = c->ws_len > 0 && c->ws[c->ws_len - 1] == '\r';
    const char  *le;
    hg_status_t  st;

    if (c->strip) {
        if (c->ws_len > (size_t) crlf) {
            c->dropped = 1;
        }
    } else if ((st = _copy_stage(u, c, c->ws, c->ws_len - (size_t) crlf))
               != HG_OK)
    {
        return st;
    }
    c->ws_len = 0;
    switch (c->eol) {
    case COPY_EOL_LF:
        le = "\n";
        c->converted |= crlf && c->last != '=';
        break;
    case COPY_EOL_CRLF:
        le = "\r\n";
        c->converted |= !crlf && c->last != '=';
        break;
    default:
        le = crlf ? "\r\n" : "\n";
        break;
    }
    return _copy_stage(u, c, (const unsigned char *) le, strlen(le));
}

/*
 * Raw bytes of the leaf, for copy c. Quoted-printable is staged a line
 * at a time with its blanks and line ends as the copy reads them
 * (_copy_line_end), then decoded in large slices: a callback per line
 * would cost more than the hashing.
 */
static hg_status_t
_copy_raw_one(hg_unpack_t *u, _copy_t *c, const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n, *nl;
    size_t               j, e;
    hg_status_t          st;

    if (c->dec == DEC_B64) {
        return _copy_feed(u, c, p, n);
    }
    while (p < end) {
        nl = memchr(p, '\n', (size_t) (end - p));
        j = nl != NULL ? (size_t) (nl - p) : (size_t) (end - p);
        for (e = j; e > 0 && _qp_blank(p[e - 1]); e--) {
            /* the blanks ending this piece */
        }
        if (e > 0) {
            /* text follows the held blanks: they stay */
            st = _copy_stage(u, c, c->ws, c->ws_len);
            c->ws_len = 0;
            if (st != HG_OK || (st = _copy_stage(u, c, p, e)) != HG_OK) {
                return st;
            }
        }
        if ((st = _qp_blanks(u, c, p + e, j - e)) != HG_OK) {
            return st;
        }
        if (nl == NULL) {
            break;
        }
        if ((st = _copy_line_end(u, c)) != HG_OK) {
            return st;
        }
        p = nl + 1;
    }
    return _copy_stage_flush(u, c);
}

/* Raw bytes of the leaf, for each of its copies in turn. */
hg_status_t
hg_unpack_copy_raw(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    unsigned    i;
    hg_status_t st;

    for (i = 0; i < UNPACK_COPIES; i++) {
        if (u->copies[i].on
            && (st = _copy_raw_one(u, &u->copies[i], p, n)) != HG_OK)
        {
            return st;
        }
    }
    return HG_OK;
}

/*
 * End copy i. same_bytes tells the caller the copy holds nothing new, so
 * one file is not judged twice: its bytes are the leaf's own, or an
 * earlier copy's. "P.d1" (blanks deleted) is the leaf's bytes if no blank
 * went (and, for a form part, nothing was decoded); "P.d2" (line ends
 * converted) if no hard line end was; "P.d3" (both) is "P.d1" if no hard
 * line end was converted, "P.d2" if no blank went.
 */
static hg_status_t
_copy_end(hg_unpack_t *u, _copy_t *c, unsigned i)
{
    size_t      w;
    hg_status_t st;

    if (c->dec == DEC_B64) {
        w = hg_b64_finish(&c->b64, u->copy_out);
        c->stats.decode_errors = c->b64.errors;
    } else {
        /* blanks ending the last line: no line end follows */
        if (c->strip) {
            c->dropped |= c->ws_len > 0;
        } else if ((st = _copy_stage(u, c, c->ws, c->ws_len)) != HG_OK
                   || (st = _copy_stage_flush(u, c)) != HG_OK)
        {
            return st;
        }
        c->ws_len = 0;
        w = hg_qp_finish(&c->qp, u->copy_out);
        c->stats.decode_errors = c->qp.errors;
    }
    if (w > 0) {
        st = hg_unpack_part_bytes(u, c->cb, c->ctx, &c->stats, c->path,
                                  u->copy_out, w);
        if (st != HG_OK) {
            return st;
        }
    }
    c->on = 0;
    switch (i) {
    case 0:
        c->stats.same_bytes = c->dec == DEC_QP && !c->dropped
            && (u->mode == HG_UNPACK_MESSAGE || c->stats.decoded_bytes == c->in);
        break;
    case 1:
        c->stats.same_bytes = !c->converted;
        break;
    default:
        c->stats.same_bytes = !c->converted || !c->dropped;
        break;
    }
    if ((st = c->cb->part_end(c->ctx, &c->info, &c->stats)) != HG_OK) {
        return hg_unpack_cb_fail(u, st, "end", c->path);
    }
    return HG_OK;
}

/* End the open leaf's copies, each in turn, before the leaf ends. */
hg_status_t
hg_unpack_copies_end(hg_unpack_t *u)
{
    unsigned    i;
    hg_status_t st;

    for (i = 0; i < UNPACK_COPIES; i++) {
        if (u->copies[i].on && (st = _copy_end(u, &u->copies[i], i)) != HG_OK) {
            return st;
        }
    }
    u->copying = 0;
    return HG_OK;
}

/*
 * The copies a leaf with transfer encoding e gets: a form part sent base64
 * or quoted-printable, decoded ("P.d1"); a quoted-printable part, without
 * the blanks ending its lines ("P.d1"), with its line ends in the form the
 * message did not come in ("P.d2"; CRLF as LF for mail as SMTP carries
 * it), and both ("P.d3").
 */
hg_status_t
hg_unpack_copies_begin(hg_unpack_t *u, const char *e)
{
    static const struct {
        int  strip, other_eol, mail_only;
    } kinds[UNPACK_COPIES] = { { 1, 0, 0 }, { 0, 1, 1 }, { 1, 1, 1 } };
    int         dec = DEC_NONE;
    unsigned    i;
    _copy_t    *c;
    hg_status_t st;

    if (strcmp(e, "quoted-printable") == 0) {
        dec = DEC_QP;
    } else if (u->mode == HG_UNPACK_FORMDATA && strcmp(e, "base64") == 0) {
        dec = DEC_B64;
    }
    for (i = 0; dec != DEC_NONE && i < UNPACK_COPIES; i++) {
        c = &u->copies[i];
        if (c->cb == NULL || (kinds[i].mail_only
                              && (dec != DEC_QP || u->mode != HG_UNPACK_MESSAGE)))
        {
            continue;
        }
        c->dec = dec;
        c->strip = kinds[i].strip;
        c->eol = !kinds[i].other_eol ? COPY_EOL_ASIS
                 : hg_unpack_lf_message(u) ? COPY_EOL_CRLF : COPY_EOL_LF;
        if ((st = _copy_begin(u, c, i)) != HG_OK) {
            return st;
        }
    }
    return HG_OK;
}

/* ---- the API (unpack.h) ---- */

static hg_status_t
_copy_buffers(hg_unpack_t *u, const hg_unpack_cb_t *cb, hg_err_t *err)
{
    if (cb == NULL || cb->part_begin == NULL || cb->part_data == NULL
        || cb->part_end == NULL)
    {
        return hg_err_set(err, HG_EINVAL, "unpack: every callback must be set");
    }
    if (u->copy_out == NULL) {
        u->copy_out = malloc(UNPACK_OUT_MAX);
    }
    if (u->copy_stage == NULL) {
        u->copy_stage = malloc(UNPACK_OUT_MAX);
    }
    if (u->copy_out == NULL || u->copy_stage == NULL) {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    return HG_OK;
}

hg_status_t
hg_unpack_set_copy_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb, void *cb_ctx,
                      hg_err_t *err)
{
    hg_status_t st;

    if ((st = _copy_buffers(u, cb, err)) != HG_OK) {
        return st;
    }
    u->ccb = *cb;
    u->copies[0].cb = &u->ccb;
    u->copies[0].ctx = cb_ctx;
    return HG_OK;
}

hg_status_t
hg_unpack_set_eol_copy_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                          void *keep_ctx, void *strip_ctx, hg_err_t *err)
{
    hg_status_t st;

    if ((st = _copy_buffers(u, cb, err)) != HG_OK) {
        return st;
    }
    u->lcb = *cb;
    u->copies[1].cb = u->copies[2].cb = &u->lcb;
    u->copies[1].ctx = keep_ctx;
    u->copies[2].ctx = strip_ctx;
    return HG_OK;
}

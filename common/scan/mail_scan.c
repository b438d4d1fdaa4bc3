/*
 * mail_scan.c - a mail message's fan-out: each object the parser finds
 * (leaf part, uuencoded block, other reading) into a scan context of its
 * own, each finished object handed to the caller with its result.
 *
 * The parser begins a block and the copies of a part while the part is
 * still open, and the part's converted reading runs beside it, so up to
 * six objects are hashed at once, each in its own context (a slot). A scan
 * that fails does not stop the parser: the object is handed over with
 * that status, and the caller says whether the message goes on (the CLI
 * reports the part and goes on, the milter applies OnFail). Every
 * reading of a part is handed over in one object, so a caller sees the
 * part once, knowing all it matched.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "hashgate/mail_scan.h"
#include "mime/eol.h"

/* The parser's contexts: a main part, a block, three copies. */
#define MAIL_SLOTS      5

typedef struct {
    hg_mail_scan_t     *ms;
    hg_scan_t          *scan;
    hg_mail_kind_t      kind;
    hg_status_t         st;         /* the open object's scan so far */
} _slot_t;

struct hg_mail_scan_s {
    _slot_t             slot[MAIL_SLOTS];   /* in hg_mail_kind_t order */
    hg_scan_t          *eol_scan;   /* the open part, line ends converted */
    hg_eol_t            eol;
    int                 eol_open;   /* the open part is undecoded */
    hg_status_t         eol_st;
    hg_unpack_t        *u;          /* the open message, or NULL */
    hg_mail_scan_cb_t   cb;
    void               *ctx;
};

hg_mail_scan_t *
hg_mail_scan_new(hg_db_t *db, unsigned extra_algs)
{
    hg_mail_scan_t *ms = calloc(1, sizeof(*ms));
    int             i;

    if (ms == NULL) {
        return NULL;
    }
    for (i = 0; i < MAIL_SLOTS; i++) {
        ms->slot[i].ms = ms;
        ms->slot[i].kind = (hg_mail_kind_t) i;
        if ((ms->slot[i].scan = hg_scan_new(db, extra_algs)) == NULL) {
            hg_mail_scan_free(ms);
            return NULL;
        }
    }
    if ((ms->eol_scan = hg_scan_new(db, extra_algs)) == NULL) {
        hg_mail_scan_free(ms);
        return NULL;
    }
    return ms;
}

void
hg_mail_scan_free(hg_mail_scan_t *ms)
{
    int i;

    if (ms == NULL) {
        return;
    }
    hg_unpack_free(ms->u);
    for (i = 0; i < MAIL_SLOTS; i++) {
        hg_scan_free(ms->slot[i].scan);
    }
    hg_scan_free(ms->eol_scan);
    free(ms);
}

hg_db_t *
hg_mail_scan_db(const hg_mail_scan_t *ms)
{
    return hg_scan_db(ms->slot[HG_MAIL_PART].scan);
}

/* ---- the parser's callbacks; ctx is the slot the object goes into ---- */

static hg_status_t
_begin(void *ctx, const hg_part_info_t *info)
{
    _slot_t        *s = ctx;
    hg_mail_scan_t *ms = s->ms;

    s->st = hg_scan_begin(s->scan);
    if (s->kind != HG_MAIL_PART) {
        return HG_OK;
    }
    /* decoded bytes are the same however the mail was stored */
    ms->eol_open = hg_eol_undecoded(info->encoding);
    if (ms->eol_open) {
        hg_eol_init(&ms->eol,
                    hg_unpack_lf_message(ms->u) ? HG_EOL_TO_CRLF
                                                : HG_EOL_TO_LF,
                    hg_eol_out_scan, ms->eol_scan);
        ms->eol_st = hg_scan_begin(ms->eol_scan);
    }
    return HG_OK;
}

static hg_status_t
_data(void *ctx, const unsigned char *buf, size_t len)
{
    _slot_t        *s = ctx;
    hg_mail_scan_t *ms = s->ms;

    if (s->st == HG_OK) {
        s->st = hg_scan_update(s->scan, buf, len);
    }
    if (s->kind == HG_MAIL_PART && ms->eol_open && ms->eol_st == HG_OK) {
        ms->eol_st = hg_eol_update(&ms->eol, buf, len);
    }
    return HG_OK;
}

/*
 * End the open part's converted reading into r. Returns 1 if it is one
 * to hand over: its bytes differ from the part's, or it failed (a
 * reading that was not checked is never dropped).
 */
static int
_eol_end(hg_mail_scan_t *ms, hg_mail_reading_t *r)
{
    hg_status_t st = ms->eol_st;

    ms->eol_open = 0;
    if (st == HG_OK) {
        st = hg_eol_final(&ms->eol);
    }
    if (st == HG_OK) {
        st = hg_scan_end(ms->eol_scan, &r->res);
    }
    r->st = st;
    r->line_ends = ms->eol.mode == HG_EOL_TO_LF ? "LF" : "CRLF";
    return st != HG_OK || ms->eol.changed;
}

static hg_status_t
_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *stats)
{
    _slot_t            *s = ctx;
    hg_mail_scan_t     *ms = s->ms;
    hg_mail_object_t    obj;
    hg_mail_reading_t  *r = &obj.reading[0];

    r->st = s->st;
    r->line_ends = NULL;
    if (r->st == HG_OK) {
        r->st = hg_scan_end(s->scan, &r->res);
    }
    if (s->kind >= HG_MAIL_COPY_STRIP && stats->same_bytes) {
        return HG_OK;           /* judged with its part or a copy before */
    }
    obj.kind = s->kind;
    obj.info = info;
    obj.stats = stats;
    obj.nreadings = 1;
    if (s->kind == HG_MAIL_PART && ms->eol_open
        && _eol_end(ms, &obj.reading[1]))
    {
        obj.nreadings = 2;
    }
    return ms->cb(ms->ctx, &obj);
}

static const hg_unpack_cb_t _mail_cb = { _begin, _data, _end };

/* ---- a message ---- */

hg_status_t
hg_mail_scan_begin(hg_mail_scan_t *ms, const hg_unpack_limits_t *limits,
                   hg_mail_scan_cb_t cb, void *ctx, hg_err_t *err)
{
    _slot_t    *sl = ms->slot;
    hg_status_t st;

    hg_mail_scan_abort(ms);
    ms->cb = cb;
    ms->ctx = ctx;
    ms->u = hg_unpack_new(HG_UNPACK_MESSAGE, NULL, limits, &_mail_cb,
                          &sl[HG_MAIL_PART], err);
    if (ms->u == NULL) {
        return HG_ENOMEM;       /* a message has no boundary to refuse */
    }
    st = hg_unpack_set_embedded_cb(ms->u, &_mail_cb, &sl[HG_MAIL_BLOCK], err);
    if (st == HG_OK) {
        st = hg_unpack_set_copy_cb(ms->u, &_mail_cb, &sl[HG_MAIL_COPY_STRIP],
                                   err);
    }
    if (st == HG_OK) {
        st = hg_unpack_set_eol_copy_cb(ms->u, &_mail_cb,
                                       &sl[HG_MAIL_COPY_EOL],
                                       &sl[HG_MAIL_COPY_BOTH], err);
    }
    if (st != HG_OK) {
        hg_mail_scan_abort(ms);
    }
    return st;
}

hg_status_t
hg_mail_scan_feed(hg_mail_scan_t *ms, const void *buf, size_t len,
                  hg_err_t *err)
{
    if (ms->u == NULL) {
        return hg_err_set(err, HG_EINVAL, "mail scan: no message begun");
    }
    return hg_unpack_feed(ms->u, buf, len, err);
}

hg_status_t
hg_mail_scan_finish(hg_mail_scan_t *ms, hg_err_t *err)
{
    hg_status_t st;

    if (ms->u == NULL) {
        return hg_err_set(err, HG_EINVAL, "mail scan: no message begun");
    }
    st = hg_unpack_finish(ms->u, err);
    hg_mail_scan_abort(ms);
    return st;
}

void
hg_mail_scan_abort(hg_mail_scan_t *ms)
{
    if (ms == NULL) {
        return;
    }
    hg_unpack_free(ms->u);
    ms->u = NULL;
    ms->eol_open = 0;
}

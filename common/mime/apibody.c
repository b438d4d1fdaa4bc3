/*
 * apibody.c - files inside JSON and url-encoded request bodies: the API,
 * parts and limits, and the value reader both syntaxes feed.
 *
 * apibody_json.c and apibody_form.c find the values (JSON strings, form
 * field values) and hand their content here, escapes undone, in runs of
 * any size. The value reader decides whether a value is a part while
 * holding only its first characters (b->hold):
 *   - "data:" first: the header up to ',' (APIBODY_HDR_MAX at most) says
 *     whether it is base64 and its type; then up to APIBODY_PEEK payload
 *     characters are held until one of "+/" or "-_" tells the alphabet
 *     (standard when none came), and the part begins;
 *   - JSON, else: the first ceil(min_bytes * 4 / 3) base64 characters
 *     (what decodes to min_bytes; line ends, "\n" escapes included,
 *     skipped) must all be of one alphabet; the first other character (a
 *     blank too: words and spaces are not base64), or '=' before them,
 *     and the value is no part (its rest is not looked at);
 *   - forms, else: the first min_bytes bytes of the value make it a part;
 *     it is decoded as base64 if they all read as base64 (a ' ', which is
 *     how a '+' sent unescaped arrives, read as '+'), else kept as sent.
 * Once a part, the value streams: base64 through decode.h's decoder (the
 * URL-safe alphabet translated to the standard one in APIBODY_CHUNK
 * slices), characters it cannot decode counted in decode_errors.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/apibody_int.h"

/* ---- tables ---- */

#define D_  CL_DATA
#define S_  CL_STD
#define U_  CL_URL
#define P_  CL_PAD
#define W_  CL_WS
#define X_  CL_BAD

/*
 * JSON: line ends are skipped (MIME-style lines); a blank is no base64
 * here, or text of words and spaces would read as base64 (the decoder
 * still skips one once a string is a part).
 */
static const unsigned char _cls_json[256] = {
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, W_, X_, X_, W_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, S_, X_, U_, X_, S_,
    D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, X_, X_, X_, P_, X_, X_,
    X_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_,
    D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, X_, X_, X_, X_, U_,
    X_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_,
    D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
};

/* Forms: a ' ' is a '+' sent unescaped (applications put it back). */
static const unsigned char _cls_form[256] = {
    X_, X_, X_, X_, X_, X_, X_, X_, X_, W_, W_, X_, X_, W_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    S_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, S_, X_, U_, X_, S_,
    D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, X_, X_, X_, P_, X_, X_,
    X_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_,
    D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, X_, X_, X_, X_, U_,
    X_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_,
    D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
    X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_, X_,
};

#undef D_
#undef S_
#undef U_
#undef P_
#undef W_
#undef X_

/*
 * Translations to the standard alphabet before decoding: URL-safe "-_"
 * become "+/", and the other alphabet's two characters become '*', which
 * the decoder counts as undecodable (a value mixing both is damaged).
 * Forms also take ' ' for '+'. JSON's standard alphabet needs none.
 */
static unsigned char    _tr_tab[3][256];
static pthread_once_t   _tr_once = PTHREAD_ONCE_INIT;

enum { TR_JSON_URL = 0, TR_FORM_STD, TR_FORM_URL };

static void
_tr_init(void)
{
    int     t, c;

    for (t = 0; t < 3; t++) {
        for (c = 0; c < 256; c++) {
            _tr_tab[t][c] = (unsigned char) c;
        }
    }
    _tr_tab[TR_JSON_URL]['-'] = '+';
    _tr_tab[TR_JSON_URL]['_'] = '/';
    _tr_tab[TR_JSON_URL]['+'] = '*';
    _tr_tab[TR_JSON_URL]['/'] = '*';
    _tr_tab[TR_FORM_STD][' '] = '+';
    _tr_tab[TR_FORM_URL]['-'] = '+';
    _tr_tab[TR_FORM_URL]['_'] = '/';
    _tr_tab[TR_FORM_URL]['+'] = '*';
    _tr_tab[TR_FORM_URL]['/'] = '*';
    _tr_tab[TR_FORM_URL][' '] = '*';
}

/* ---- errors, stops, memory ---- */

hg_status_t
hg_apibody_fail(hg_apibody_t *b, hg_status_t st, const char *fmt, ...)
{
    va_list ap;

    if (b->st != HG_OK) {
        return b->st;
    }
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
    va_end(ap);
    b->st = st;
    return st;
}

static hg_status_t
_cb_fail(hg_apibody_t *b, hg_status_t st, const char *what)
{
    if (st == HG_ECANCEL) {
        return hg_apibody_fail(b, st, "part %s: stopped by the caller",
                               b->info.path);
    }
    return hg_apibody_fail(b, st, "part %s: %s callback failed: %s",
                           b->info.path, what, hg_status_str(st));
}

hg_status_t
hg_apibody_reserve(hg_apibody_t *b, void **buf, size_t *cap, size_t need,
                   size_t elem)
{
    size_t  ncap = *cap ? *cap : 16;
    void   *nb;

    if (need <= *cap) {
        return HG_OK;
    }
    while (ncap < need) {
        ncap *= 2;
    }
    if ((nb = realloc(*buf, ncap * elem)) == NULL) {
        return hg_apibody_fail(b, HG_ENOMEM, "out of memory");
    }
    *buf = nb;
    *cap = ncap;
    return HG_OK;
}

hg_status_t
hg_apibody_stop(hg_apibody_t *b, const char *why, uint64_t off)
{
    if (b->stop_why != NULL || b->st != HG_OK) {
        return b->st;
    }
    b->stop_why = why;
    b->stop_off = off;
    if (b->v.on && hg_apibody_val_end(b) != HG_OK) {
        return b->st;
    }
    return hg_apibody_part_end(b);
}

size_t
hg_apibody_utf8_trim(const unsigned char *s, size_t n)
{
    size_t          i, len;
    unsigned char   c;

    for (i = 1; i <= 3 && i <= n; i++) {
        c = s[n - i];
        if ((c & 0xc0) == 0x80) {
            continue;
        }
        if (c >= 0xc0) {
            len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            return len > i ? n - i : n;
        }
        return n;
    }
    return n;
}

hg_status_t
hg_apibody_path_put(hg_apibody_t *b, size_t *len, const unsigned char *s,
                    size_t n, int ptr)
{
    static const char   hex[] = "0123456789ABCDEF";
    size_t              i, l = *len;
    unsigned char       c;
    char               *o;

    if (hg_apibody_reserve(b, (void **) &b->ppath, &b->ppath_cap,
                           l + 3 * n + 1, 1) != HG_OK)
    {
        return b->st;
    }
    o = b->ppath;
    for (i = 0; i < n; i++) {
        c = s[i];
        if (ptr && c == '~') {
            o[l++] = '~';
            o[l++] = '0';
        } else if (ptr && c == '/') {
            o[l++] = '~';
            o[l++] = '1';
        } else if (c == '!' || c == '%' || c < 0x20 || c == 0x7f) {
            o[l++] = '%';
            o[l++] = hex[c >> 4];
            o[l++] = hex[c & 15];
        } else {
            o[l++] = (char) c;
        }
    }
    o[l] = '\0';
    *len = l;
    return HG_OK;
}

/* ---- parts ---- */

static hg_status_t
_emit(hg_apibody_t *b, const unsigned char *buf, size_t n)
{
    hg_status_t st;

    if (n == 0) {
        return HG_OK;
    }
    if (b->lim.max_decoded > 0 && n > b->lim.max_decoded - b->decoded) {
        /* the bytes up to the limit are checked, wherever the feeds split */
        size_t room = (size_t) (b->lim.max_decoded - b->decoded);

        if (room > 0 && _emit(b, buf, room) != HG_OK) {
            return b->st;
        }
        return hg_apibody_fail(b, HG_ELIMIT, "part %s: more than %llu bytes "
                               "decoded in the body (max_decoded)",
                               b->info.path,
                               (unsigned long long) b->lim.max_decoded);
    }
    b->decoded += n;
    b->stats.decoded_bytes += n;
    if ((st = b->cb.part_data(b->ctx, buf, n)) != HG_OK) {
        return _cb_fail(b, st, "data");
    }
    return HG_OK;
}

hg_status_t
hg_apibody_part_end(hg_apibody_t *b)
{
    hg_status_t st;

    if (!b->part_open) {
        return HG_OK;
    }
    if (b->pending) {
        hg_apibody_json_pending_name(b);
    }
    b->part_open = 0;
    b->pending = 0;
    if ((st = b->cb.part_end(b->ctx, &b->info, &b->stats)) != HG_OK) {
        return _cb_fail(b, st, "end");
    }
    return HG_OK;
}

/* A part begins: the value being read (type: a data: URL's, or NULL). */
static hg_status_t
_part_begin(hg_apibody_t *b, const char *encoding, const char *type)
{
    char        t[APIBODY_TYPE_MAX + 1];
    hg_status_t st;

    /* the type is in the hold, which ending a pending part does not touch */
    snprintf(t, sizeof(t), "%s", type != NULL ? type
                                              : "application/octet-stream");
    if (b->part_open && hg_apibody_part_end(b) != HG_OK) {
        return b->st;
    }
    if (b->nparts >= b->lim.max_parts) {
        /* name the value that was one too many */
        st = b->mode == HG_APIBODY_JSON ? hg_apibody_json_info(b)
                                        : hg_apibody_form_info(b);
        return hg_apibody_fail(b, HG_ELIMIT, "part %s: more than %u parts "
                               "(max_parts)", st == HG_OK ? b->info.path : "?",
                               b->lim.max_parts);
    }
    memset(&b->info, 0, sizeof(b->info));
    memset(&b->stats, 0, sizeof(b->stats));
    st = b->mode == HG_APIBODY_JSON ? hg_apibody_json_info(b)
                                    : hg_apibody_form_info(b);
    if (st != HG_OK) {
        return st;
    }
    memcpy(b->ptype, t, sizeof(b->ptype));
    b->info.content_type = b->ptype;
    b->info.encoding = encoding;
    b->nparts++;
    b->part_open = 1;
    if ((st = b->cb.part_begin(b->ctx, &b->info)) != HG_OK) {
        return _cb_fail(b, st, "begin");
    }
    return HG_OK;
}

/* ---- the value reader ---- */

void
hg_apibody_val_begin(hg_apibody_t *b)
{
    hg_apibody_val_t   *v = &b->v;

    v->state = V_HEAD;
    v->on = 1;
    v->dpos = 0;
    v->cls = 0;
    v->bad = 0;
    v->pad = 0;
    v->url = 0;
    v->is_data = 0;
    v->hold_len = 0;
    v->hdr_start = 0;
    v->errors = 0;
}

/* Decode n base64 characters of the open part. */
static hg_status_t
_b64(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    hg_apibody_val_t       *v = &b->v;
    const unsigned char    *src, *tr = NULL;
    size_t                  k, i, o;

    if (v->url) {
        tr = _tr_tab[b->mode == HG_APIBODY_FORM ? TR_FORM_URL : TR_JSON_URL];
    } else if (b->mode == HG_APIBODY_FORM) {
        tr = _tr_tab[TR_FORM_STD];
    }
    while (n > 0) {
        k = n < APIBODY_CHUNK ? n : APIBODY_CHUNK;
        src = p;
        if (tr != NULL) {
            for (i = 0; i < k; i++) {
                b->tr[i] = tr[p[i]];
            }
            src = b->tr;
        }
        o = hg_b64_feed(&v->dec, src, k, b->out);
        if (_emit(b, b->out, o) != HG_OK) {
            return b->st;
        }
        p += k;
        n -= k;
    }
    return HG_OK;
}

/* The value is a base64 part: begin it and decode what was held. */
static hg_status_t
_to_b64(hg_apibody_t *b, int url)
{
    hg_apibody_val_t   *v = &b->v;
    const char         *type = NULL;

    /* the decoder's buffers, taken by the first base64 part only: most
     * bodies have none, and 112 KiB a request churns the heap */
    if (b->out == NULL
        && ((b->out = malloc(APIBODY_CHUNK / 4 * 3 + 8)) == NULL
            || (b->tr = malloc(APIBODY_CHUNK)) == NULL))
    {
        return hg_apibody_fail(b, HG_ENOMEM, "out of memory");
    }

    if (v->is_data) {
        /* the type was left at the hold's end by _data_header */
        type = (const char *) b->hold + b->hold_cap - APIBODY_TYPE_MAX - 1;
    }
    if (_part_begin(b, url ? "base64url" : "base64", type) != HG_OK) {
        return b->st;
    }
    v->url = url;
    v->state = V_B64;
    hg_b64_init(&v->dec);
    return _b64(b, b->hold, v->hold_len);
}

/* A form value kept as sent: begin it and pass on what was held. */
static hg_status_t
_to_raw(hg_apibody_t *b)
{
    if (_part_begin(b, "url-encoded", NULL) != HG_OK) {
        return b->st;
    }
    b->v.state = V_RAW;
    return _emit(b, b->hold, b->v.hold_len);
}

/*
 * The header of a data: URL (hold[hdr_start..hold_len)): 1 if it says
 * base64, its media type (lowercase; RFC 2397's text/plain when empty)
 * left at the hold's end for _to_b64.
 */
static int
_data_header(hg_apibody_t *b)
{
    const unsigned char    *h = b->hold + b->v.hdr_start;
    size_t                  n = b->v.hold_len - b->v.hdr_start, i, s, e, t;
    char                   *type = (char *) b->hold + b->hold_cap
                                   - APIBODY_TYPE_MAX - 1;
    int                     b64 = 0, first = 1;

    for (s = 0; s <= n; s = i + 1) {
        for (i = s; i < n && h[i] != ';'; i++) {
        }
        for (e = i; e > s && (h[e - 1] == ' ' || h[e - 1] == '\t'); e--) {
        }
        while (s < e && (h[s] == ' ' || h[s] == '\t')) {
            s++;
        }
        if (first) {
            for (t = 0; t < e - s && t < APIBODY_TYPE_MAX; t++) {
                unsigned char c = h[s + t];

                type[t] = (char) (c >= 'A' && c <= 'Z' ? c + 32 : c);
                if (c < 0x21 || c > 0x7e || c == '"') {
                    t = 0;      /* not a type: say so rather than echo it */
                    break;
                }
            }
            type[t] = '\0';
            if (t == 0) {
                snprintf(type, APIBODY_TYPE_MAX + 1, "%s", e > s
                         ? "application/octet-stream" : "text/plain");
            }
            first = 0;
        } else if (e - s == 6 && strncasecmp((const char *) h + s, "base64",
                                             6) == 0)
        {
            b64 = 1;
        }
    }
    return b64;
}

/*
 * Enough of a value is held to decide (JSON: base64 characters that
 * decode to min_bytes; forms: min_bytes). Not while it may still begin
 * "data:" (a min_bytes under 5).
 */
static inline int
_head_ready(const hg_apibody_t *b)
{
    return b->v.hold_len >= (b->mode == HG_APIBODY_JSON ? b->need
                                                        : b->min_bytes);
}

/* The value is a part: base64 if it read as base64 (JSON: it did). */
static void
_head_decide(hg_apibody_t *b)
{
    if (b->v.bad) {
        _to_raw(b);
    } else {
        _to_b64(b, (b->v.cls & CL_URL) != 0);
    }
}

/* V_HEAD: the first characters of a value. Returns the bytes used. */
static size_t
_head(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    static const char       dl[] = "data:", du[] = "DATA:";
    hg_apibody_val_t       *v = &b->v;
    const unsigned char    *cls = b->mode == HG_APIBODY_JSON ? _cls_json
                                                             : _cls_form;
    size_t                  i;
    unsigned                k;
    unsigned char           c;

    for (i = 0; i < n; i++) {
        c = p[i];
        if (v->dpos < 5) {
            if (c == (unsigned char) dl[v->dpos]
                || c == (unsigned char) du[v->dpos])
            {
                if (++v->dpos == 5) {
                    if (b->mode == HG_APIBODY_JSON) {
                        v->hold_len = 0;
                    } else {
                        b->hold[v->hold_len++] = c;
                    }
                    v->hdr_start = v->hold_len;
                    v->state = V_DHDR;
                    return i + 1;
                }
            } else {
                v->dpos = 6;
            }
        }
        k = cls[c];
        if (b->mode == HG_APIBODY_JSON) {
            if (k & CL_WS) {
                continue;
            }
            v->cls |= k;
            /* '=' before enough characters: it decodes to too few */
            if ((k & (CL_BAD | CL_PAD))
                || (v->cls & (CL_STD | CL_URL)) == (CL_STD | CL_URL))
            {
                v->state = V_SKIP;
                return n;
            }
            b->hold[v->hold_len++] = c;
            if (v->dpos > 5 && _head_ready(b)) {
                _head_decide(b);
                return i + 1;
            }
            continue;
        }
        b->hold[v->hold_len++] = c;
        if (k & CL_BAD) {
            v->bad = 1;
        } else if (k & CL_PAD) {
            v->pad = 1;
        } else if (!(k & CL_WS)) {
            v->cls |= k;
            if (v->pad || (v->cls & (CL_STD | CL_URL)) == (CL_STD | CL_URL)) {
                v->bad = 1;
            }
        }
        if (v->dpos > 5 && _head_ready(b)) {
            _head_decide(b);
            return i + 1;
        }
    }
    return n;
}

/* A data: URL that is not base64 (or whose header never ended): JSON
 * skips it, a form reads it on as a value. */
static void
_not_data(hg_apibody_t *b)
{
    hg_apibody_val_t   *v = &b->v;

    if (b->mode == HG_APIBODY_JSON) {
        v->state = V_SKIP;
        return;
    }
    v->dpos = 6;
    v->bad = 1;
    v->state = V_HEAD;
    if (v->hold_len >= b->min_bytes) {
        _to_raw(b);
    }
}

/* V_DHDR: a data: URL's header, up to ','. Returns the bytes used. */
static size_t
_dhdr(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    hg_apibody_val_t   *v = &b->v;
    size_t              i;

    for (i = 0; i < n; i++) {
        if (v->hold_len - v->hdr_start >= APIBODY_HDR_MAX) {
            _not_data(b);
            return i;
        }
        if (p[i] == ',') {
            if (_data_header(b)) {
                v->is_data = 1;
                v->hold_len = 0;
                v->cls = 0;
                v->state = V_DPEEK;
                return i + 1;
            }
            if (b->mode == HG_APIBODY_FORM) {
                b->hold[v->hold_len++] = p[i];
            }
            _not_data(b);
            return i + 1;
        }
        b->hold[v->hold_len++] = p[i];
    }
    return n;
}

/* V_DPEEK: a base64 data: URL's first characters, until one tells the
 * alphabet. Returns the bytes used. */
static size_t
_dpeek(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    hg_apibody_val_t       *v = &b->v;
    const unsigned char    *cls = b->mode == HG_APIBODY_JSON ? _cls_json
                                                             : _cls_form;
    size_t                  i;
    unsigned                k;

    for (i = 0; i < n; i++) {
        k = cls[p[i]];
        if (k & CL_WS) {
            continue;
        }
        b->hold[v->hold_len++] = p[i];
        if ((k & (CL_STD | CL_URL)) || v->hold_len >= APIBODY_PEEK) {
            _to_b64(b, (k & CL_URL) != 0);
            return i + 1;
        }
    }
    return n;
}

hg_status_t
hg_apibody_val_feed(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    size_t  used;

    while (n > 0 && b->st == HG_OK) {
        switch (b->v.state) {
        case V_B64:
            return _b64(b, p, n);
        case V_RAW:
            return _emit(b, p, n);
        case V_SKIP:
            return HG_OK;
        case V_HEAD:
            used = _head(b, p, n);
            break;
        case V_DHDR:
            used = _dhdr(b, p, n);
            break;
        default:
            used = _dpeek(b, p, n);
            break;
        }
        p += used;
        n -= used;
    }
    return b->st;
}

hg_status_t
hg_apibody_val_end(hg_apibody_t *b)
{
    hg_apibody_val_t   *v = &b->v;
    unsigned char       tail[4];
    size_t              o;

    if (!v->on) {
        return b->st;
    }
    v->on = 0;
    if (b->st != HG_OK) {
        return b->st;
    }
    switch (v->state) {
    case V_HEAD:
        if (!_head_ready(b)) {
            return HG_OK;
        }
        _head_decide(b);
        break;
    case V_DHDR:
        if (b->mode == HG_APIBODY_FORM && v->hold_len >= b->min_bytes) {
            _to_raw(b);
            break;
        }
        return HG_OK;
    case V_DPEEK:
        if (_to_b64(b, 0) != HG_OK) {
            return b->st;
        }
        break;
    case V_B64:
    case V_RAW:
        break;
    default:
        return HG_OK;
    }
    if (b->st != HG_OK) {
        return b->st;
    }
    /*
     * A bad %-escape is kept as it is: in a base64 value the decoder
     * counts its '%', so it is counted once either way.
     */
    if (v->state == V_B64) {
        o = hg_b64_finish(&v->dec, tail);
        if (_emit(b, tail, o) != HG_OK) {
            return b->st;
        }
        b->stats.decode_errors = v->dec.errors;
    } else {
        b->stats.decode_errors = v->errors;
    }
    v->state = V_SKIP;
    /*
     * JSON: a part that is a member of an object with no name yet waits
     * for one (a "name" after it) until the object closes.
     */
    if (b->mode == HG_APIBODY_JSON && b->stop_why == NULL && b->nframes > 0
        && b->frames[b->nframes - 1].obj && !b->frames[b->nframes - 1].has_name)
    {
        b->pending = 1;
        b->pend_frame = b->nframes - 1;
        return HG_OK;
    }
    return hg_apibody_part_end(b);
}

/* ---- the API ---- */

void
hg_apibody_limits_default(hg_apibody_limits_t *l)
{
    l->min_bytes = HG_APIBODY_MIN_BYTES;
    l->max_depth = HG_APIBODY_MAX_DEPTH;
    l->max_parts = HG_APIBODY_MAX_PARTS;
    l->max_decoded = HG_APIBODY_MAX_DECODED;
    l->max_retained = HG_APIBODY_MAX_RETAINED;
}

hg_apibody_mode_t
hg_apibody_mode_of(const char *ct, size_t len)
{
    size_t  s = 0, e, slash = 0, i;

    if (ct == NULL) {
        return HG_APIBODY_NONE;
    }
    while (s < len && (ct[s] == ' ' || ct[s] == '\t')) {
        s++;
    }
    for (e = s; e < len && ct[e] != ';'; e++) {
        if (ct[e] == '/' && slash == 0) {
            slash = e;
        }
    }
    while (e > s && (ct[e - 1] == ' ' || ct[e - 1] == '\t')) {
        e--;
    }
    if (slash == 0 || slash == s || slash + 1 >= e) {
        return HG_APIBODY_NONE;
    }
    for (i = s; i < e; i++) {
        /* a token: no blanks, controls or separators inside */
        unsigned char c = (unsigned char) ct[i];

        if (c <= ' ' || c >= 0x7f || strchr("()<>@,:\\\"[]?={}", c) != NULL
            || (c == '/' && i != slash))
        {
            return HG_APIBODY_NONE;
        }
    }
    if (e - s == 16 && strncasecmp(ct + s, "application/json", 16) == 0) {
        return HG_APIBODY_JSON;
    }
    if (e - slash - 1 >= 5 && strncasecmp(ct + e - 5, "+json", 5) == 0) {
        return HG_APIBODY_JSON;
    }
    if (e - s == 33 && strncasecmp(ct + s, "application/x-www-form-urlencoded",
                                   33) == 0)
    {
        return HG_APIBODY_FORM;
    }
    return HG_APIBODY_NONE;
}

hg_apibody_t *
hg_apibody_new(hg_apibody_mode_t mode, const hg_apibody_limits_t *limits,
               const hg_unpack_cb_t *cb, void *cb_ctx, hg_err_t *err)
{
    hg_apibody_t   *b;
    size_t          min, need;

    if (mode != HG_APIBODY_JSON && mode != HG_APIBODY_FORM) {
        hg_err_set(err, HG_EINVAL, "api body: neither JSON nor a form");
        return NULL;
    }
    if (cb == NULL || cb->part_begin == NULL || cb->part_data == NULL
        || cb->part_end == NULL)
    {
        hg_err_set(err, HG_EINVAL, "api body: every callback must be set");
        return NULL;
    }
    /* a milter's sessions may make parsers in threads of their own */
    pthread_once(&_tr_once, _tr_init);
    if ((b = calloc(1, sizeof(*b))) == NULL) {
        goto nomem;
    }
    b->mode = mode;
    if (limits != NULL) {
        b->lim = *limits;
    } else {
        hg_apibody_limits_default(&b->lim);
    }
    /* a part holds one byte at least; a hold past 1 GiB is no setting */
    min = b->lim.min_bytes > 0 ? b->lim.min_bytes : 1;
    if (min > (1u << 30)) {
        min = 1u << 30;
    }
    b->min_bytes = min;
    need = (min * 4 + 2) / 3;
    b->need = need;
    b->hold_cap = need + APIBODY_HDR_MAX + APIBODY_PEEK + APIBODY_TYPE_MAX + 16;
    b->v.state = V_SKIP;
    b->js = J_VALUE;
    /*
     * The scanner finds long strings by blocks: one that opens and closes
     * in a block of 64 bytes must be too short to be a part.
     */
    b->lz.usable = mode == HG_APIBODY_JSON && b->lim.max_retained > 0
                   && need >= 64 && hg_apibody_lazy_worth();
    b->lz.on = b->lz.usable;
    if ((b->hold = malloc(b->hold_cap)) == NULL
        || (b->ppath = malloc(64)) == NULL)
    {
        goto nomem;
    }
    b->ppath_cap = 64;
    b->ppath[0] = '\0';
    b->cb = *cb;
    b->ctx = cb_ctx;
    return b;

nomem:
    hg_apibody_free(b);
    hg_err_set(err, HG_ENOMEM, "out of memory");
    return NULL;
}

void
hg_apibody_free(hg_apibody_t *b)
{
    if (b == NULL) {
        return;
    }
    free(b->hold);
    free(b->out);
    free(b->tr);
    free(b->ppath);
    free(b->frames);
    free(b->names);
    free(b->fbuf);
    hg_apibody_lazy_free(b);
    free(b);
}

static hg_status_t
_sticky(hg_apibody_t *b, hg_err_t *err)
{
    return hg_err_set(err, b->st, "%s", b->msg);
}

hg_status_t
hg_apibody_feed(hg_apibody_t *b, const void *buf, size_t len, hg_err_t *err)
{
    if (b->st != HG_OK) {
        return _sticky(b, err);
    }
    if (b->finished) {
        hg_apibody_fail(b, HG_EINVAL, "api body: fed after finish");
        return _sticky(b, err);
    }
#ifdef HG_APIBODY_BENCH_FLOOR
    /*
     * Benchmarks only (tests/bench/bench_nginx_json.py's floor build): a
     * JSON body is read once, as memchr reads it, and nothing else: what
     * any scanner costs at the least. No part is ever found.
     */
    if (b->mode == HG_APIBODY_JSON) {
        static volatile size_t floor_sink;

        floor_sink += memchr(buf, 0x01, len) != NULL;
        return HG_OK;
    }
#endif
    if (b->lz.usable) {
        /* the scanner or the tokenizer; b->off is the tokenizer's */
        if (len > 0) {
            hg_apibody_lazy_feed(b, buf, len);
        }
        return b->st != HG_OK ? _sticky(b, err) : HG_OK;
    }
    if (b->stop_why == NULL && len > 0) {
        b->base = buf;
        if (b->mode == HG_APIBODY_JSON) {
            hg_apibody_json_feed(b, buf, len);
        } else {
            hg_apibody_form_feed(b, buf, len);
        }
    }
    b->off += len;
    if (b->st != HG_OK) {
        return _sticky(b, err);
    }
    return HG_OK;
}

hg_status_t
hg_apibody_finish(hg_apibody_t *b, hg_err_t *err)
{
    if (b->st != HG_OK) {
        return _sticky(b, err);
    }
    if (b->finished) {
        return HG_OK;
    }
    b->finished = 1;
#ifdef HG_APIBODY_BENCH_FLOOR
    if (b->mode == HG_APIBODY_JSON) {
        return HG_OK;
    }
#endif
    if (b->lz.usable) {
        if (b->stop_why == NULL) {
            hg_apibody_lazy_finish(b);
        }
    } else if (b->stop_why == NULL) {
        if (b->mode == HG_APIBODY_JSON) {
            hg_apibody_json_finish(b);
        } else {
            hg_apibody_form_finish(b);
        }
    }
    if (b->st == HG_OK) {
        hg_apibody_part_end(b);
    }
    if (b->st != HG_OK) {
        return _sticky(b, err);
    }
    return HG_OK;
}

void
hg_apibody_want_stop(hg_apibody_t *b)
{
    b->want_stop = 1;
}

unsigned
hg_apibody_parts(const hg_apibody_t *b)
{
    return b->nparts;
}

const char *
hg_apibody_stopped(const hg_apibody_t *b, uint64_t *offset)
{
    if (offset != NULL) {
        *offset = b->stop_why != NULL ? b->stop_off : 0;
    }
    return b->stop_why;
}

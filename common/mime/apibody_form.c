/*
 * apibody_form.c - url-encoded form bodies for the API body parser.
 *
 * application/x-www-form-urlencoded (the WHATWG URL standard's parser):
 * fields separated by '&', the first '=' splitting name from value, '+' a
 * space, %XX a byte. A '%' not followed by two hex digits is kept as it
 * is (as the standard and PHP do) and, in a value, counted in the part's
 * decode_errors. Every byte sequence is a form, so a form never stops.
 * A value is decoded into b->fbuf a run at a time and handed to the value
 * reader (apibody.c), which decides whether the field is a part; a value
 * that is not one is skipped to the next '&' with memchr.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "mime/apibody_int.h"

/* Value runs decoded at once (output: at most two bytes more). */
#define FORM_RUN    (APIBODY_CHUNK - 4)

static inline int
_hex(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
           : -1;
}

/*
 * Decode n bytes into o (room for n + 2): "+" as ' ', "%XX" as a byte, a
 * bad escape literally, counted in *errs. The state of an escape cut by
 * the end of the run stays in b->pct.
 */
static size_t
_pct(hg_apibody_t *b, const unsigned char *p, size_t n, unsigned char *o,
     uint64_t *errs)
{
    size_t          i = 0, m = 0;
    unsigned char   c;

    while (i < n) {
        c = p[i];
        if (b->pct == 0) {
            /* the common case: bytes as they are */
            while (c != '%' && c != '+') {
                o[m++] = c;
                if (++i == n) {
                    return m;
                }
                c = p[i];
            }
            if (c == '+') {
                o[m++] = ' ';
            } else {
                b->pct = 1;
            }
            i++;
        } else if (b->pct == 1) {
            if (_hex(c) >= 0) {
                b->pct_hi = c;
                b->pct = 2;
                i++;
            } else {
                o[m++] = '%';       /* c is read again as itself */
                (*errs)++;
                b->pct = 0;
            }
        } else {
            if (_hex(c) >= 0) {
                o[m++] = (unsigned char) (_hex(b->pct_hi) << 4 | _hex(c));
                i++;
            } else {
                o[m++] = '%';
                o[m++] = b->pct_hi;
                (*errs)++;
            }
            b->pct = 0;
        }
    }
    return m;
}

/* An escape cut by the end of the name or value: kept literally. */
static size_t
_pct_flush(hg_apibody_t *b, unsigned char *o, uint64_t *errs)
{
    size_t  m = 0;

    if (b->pct >= 1) {
        o[m++] = '%';
        if (b->pct == 2) {
            o[m++] = b->pct_hi;
        }
        (*errs)++;
    }
    b->pct = 0;
    return m;
}

static void
_name_add(hg_apibody_t *b, const unsigned char *s, size_t n)
{
    size_t  room = APIBODY_KEY_MAX - b->fname_len;

    if (n > room) {
        b->fname_cut = 1;
        n = room;
    }
    memcpy(b->fname + b->fname_len, s, n);
    b->fname_len += n;
}

/* The field's name: decoded in small runs, kept to APIBODY_KEY_MAX. */
static void
_name(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    unsigned char   o[256 + 2];
    uint64_t        errs = 0;
    size_t          k;

    while (n > 0 && !b->fname_cut) {
        k = n < 256 ? n : 256;
        _name_add(b, o, _pct(b, p, k, o, &errs));
        p += k;
        n -= k;
    }
}

static void
_value(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    size_t  k, m;

    while (n > 0 && b->v.state != V_SKIP && b->st == HG_OK) {
        k = n < FORM_RUN ? n : FORM_RUN;
        m = _pct(b, p, k, b->fbuf, &b->v.errors);
        hg_apibody_val_feed(b, b->fbuf, m);
        p += k;
        n -= k;
    }
}

/* The end of a field ('&' or the body's end). */
static void
_field_end(hg_apibody_t *b)
{
    unsigned char   o[2];
    size_t          m;

    if (b->fs == 1) {
        m = _pct_flush(b, o, &b->v.errors);
        if (m > 0 && b->v.state != V_SKIP) {
            hg_apibody_val_feed(b, o, m);
        }
        hg_apibody_val_end(b);
    }
    b->fs = 0;
    b->pct = 0;
    b->fname_len = 0;
    b->fname_cut = 0;
}

hg_status_t
hg_apibody_form_feed(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    const unsigned char    *end = p + n, *amp, *eq;
    unsigned char           o[2];
    uint64_t                errs = 0;

    if (b->fbuf == NULL
        && (b->fbuf = malloc(APIBODY_CHUNK)) == NULL)
    {
        return hg_apibody_fail(b, HG_ENOMEM, "out of memory");
    }
    while (p < end && b->st == HG_OK) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }
        if (b->fs == 0) {
            eq = memchr(p, '=', (size_t) (amp - p));
            _name(b, p, (size_t) ((eq != NULL ? eq : amp) - p));
            if (eq == NULL) {
                if (amp < end) {
                    _field_end(b);      /* a name alone: no value */
                }
                p = amp < end ? amp + 1 : end;
                continue;
            }
            _name_add(b, o, _pct_flush(b, o, &errs));
            b->fs = 1;
            hg_apibody_val_begin(b);
            p = eq + 1;
        }
        _value(b, p, (size_t) (amp - p));
        if (amp < end) {
            _field_end(b);
            p = amp + 1;
        } else {
            p = end;
        }
    }
    return b->st;
}

hg_status_t
hg_apibody_form_finish(hg_apibody_t *b)
{
    _field_end(b);
    return b->st;
}

hg_status_t
hg_apibody_form_info(hg_apibody_t *b)
{
    size_t  len = 0;

    b->ppath[0] = '\0';
    if (hg_apibody_path_put(b, &len, b->fname, b->fname_len, 0) != HG_OK) {
        return b->st;
    }
    if (b->fname_cut) {
        len = 0;
        b->fname_len = hg_apibody_utf8_trim(b->fname, b->fname_len);
        if (hg_apibody_path_put(b, &len, b->fname, b->fname_len, 0) != HG_OK
            || hg_apibody_reserve(b, (void **) &b->ppath, &b->ppath_cap,
                               len + 4, 1) != HG_OK)
        {
            return b->st;
        }
        memcpy(b->ppath + len, "...", 4);
    }
    b->info.path = b->ppath;
    memcpy(b->pfield, b->fname, b->fname_len);
    b->pfield[b->fname_len] = '\0';
    b->info.field_name = b->pfield;
    b->info.filename = NULL;
    b->info.depth = 0;
    return HG_OK;
}
